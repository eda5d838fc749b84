"""Nightly crawls cost little: known reports and attachments are re-fetched only conditionally.

List pages are always fetched again in full (that is where new reports appear, and the spider
needs their links). A URL already stored as a report, a report alias or an attachment is skipped
while it is fresher than `NIANBAO_REFRESH_DAYS`, and otherwise asked for with `If-None-Match` /
`If-Modified-Since`. Every request for a URL fetched before carries `meta["revisit_of"]`, so the
archiver stores a 304, or a payload identical to the stored one, as a WARC `revisit` record
instead of a second copy: an unchanged list page costs a download but almost no archive space.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured

from crawler.store import open_db

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

KNOWN_SQL = """
select p.url, p.etag, p.last_modified, p.payload_digest, p.fetched_at, p.content_date,
       p.warc_filename, p.warc_record_offset,
       p.url in (select url from reports union select url from report_aliases
                 union select url from attachments) as document
from pages p
where p.status in (200, 304) and p.payload_digest is not null
"""


@dataclass(frozen=True)
class Known:
    """What we stored of a URL the last time it was fetched in full."""

    url: str
    etag: str | None
    last_modified: str | None
    payload_digest: str | None
    fetched_at: str | None
    content_date: str | None
    warc_filename: str | None = None  # where the whole capture is
    warc_record_offset: int | None = None
    document: bool = False  # a report or an attachment, not a list page


def load_known(db_path: str | Path) -> dict[str, Known]:
    """Every URL fetched whole before (200, or 304 to a whole copy): validators and digest."""
    if not Path(db_path).exists():
        return {}
    db = open_db(db_path)
    try:
        return {
            row["url"]: Known(**{**row, "document": bool(row["document"])})
            for row in db.query(KNOWN_SQL)
        }
    finally:
        db.close()


def is_fresh(known: Known, refresh: timedelta, now: datetime) -> bool:
    """Fetched within the refresh period (a zero period never skips)."""
    if not refresh or not known.fetched_at:
        return False
    try:
        fetched = datetime.fromisoformat(known.fetched_at.replace("Z", "+00:00"))
    except ValueError:
        return False
    if fetched.tzinfo is None:
        fetched = fetched.replace(tzinfo=UTC)
    return now - fetched < refresh


class IncrementalMiddleware:
    """Downloader middleware: skip fresh known pages, ask conditionally for the others."""

    def __init__(self, crawler: Crawler, db_path: str, refresh: timedelta) -> None:
        self.crawler = crawler
        self.db_path = db_path
        self.refresh = refresh
        self.known: dict[str, Known] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalMiddleware:
        settings = crawler.settings
        if not settings.getbool("NIANBAO_INCREMENTAL", True):
            raise NotConfigured
        refresh = timedelta(days=settings.getfloat("NIANBAO_REFRESH_DAYS", 0.0))
        middleware = cls(crawler, settings.get("NIANBAO_DB"), refresh)
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        return middleware

    def spider_opened(self, spider: Any = None) -> None:
        self.known = load_known(self.db_path)
        logger.info("incremental: %d known report and attachment URLs", len(self.known))

    def process_request(self, request: Request) -> None:
        if request.method != "GET":
            return None
        known = self.known.get(request.url)
        if known is None:
            return None
        request.meta["revisit_of"] = {
            "uri": known.url,
            "date": known.content_date or known.fetched_at,
            "payload_digest": known.payload_digest,
            "filename": known.warc_filename,
            "offset": known.warc_record_offset,
        }
        if not known.document:
            return None
        stats = self.crawler.stats
        if is_fresh(known, self.refresh, datetime.now(UTC)):
            stats.inc_value("incremental/skipped_fresh")
            raise IgnoreRequest(f"fetched within the refresh period: {request.url}")
        if known.etag:
            request.headers.setdefault("If-None-Match", known.etag)
        if known.last_modified:
            request.headers.setdefault("If-Modified-Since", known.last_modified)
        stats.inc_value("incremental/conditional")
        return None
