"""Nightly crawls cost little: whatever was fetched before is asked for conditionally.

A known leaf page (a report, a report alias, an attachment, or any page at a CMS article URL)
is skipped while it is fresher than `NIANBAO_REFRESH_DAYS`, and so is a link that was dead
(404, 410); otherwise a known page is asked for with `If-None-Match` / `If-Modified-Since`.
List pages are fetched every night (that is where new reports appear), conditionally too: a 304
is answered to the spider with the copy stored in the archive, so it still follows every link
while the server sends only headers. Every request for a URL fetched before carries
`meta["revisit_of"]`, so the archiver stores a 304, or a payload identical to the stored one, as
a WARC `revisit` record instead of a second copy.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Headers
from scrapy.responsetypes import responsetypes

from archive.reader import read_record
from crawler.layouts import is_article_url
from crawler.process import site_of
from crawler.store import open_db

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

KNOWN_SQL = """
select p.url, p.etag, p.last_modified, p.payload_digest, p.fetched_at, p.content_date,
       p.warc_filename, p.warc_record_offset,
       p.url in (select url from reports union select url from report_aliases
                 union select url from attachments) as document,
       p.url in (select url from attachments where interrupted is not null) as retry,
       p.crawl_id in (select id from crawls where ended is null and id != :this_run)
         as unfinished,
       p.url in (select r.url from reports r
                 where not exists (select 1 from report_cells c where c.report_id = r.id)
                   and not exists (select 1 from attachments a where a.report_url = r.url))
         as unparsed
from pages p
where p.status in (200, 304) and p.payload_digest is not null and p.method is null
"""
GONE_SQL = "select url, fetched_at from pages where status in (404, 410)"


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
    retry: bool = False  # an attachment whose conversion was cut short: fetched whole again
    ours: bool = True  # from this data folder's database, not the workers' shared history
    unfinished: bool = False  # fetched by a run that was killed: maybe never followed
    # A report page that gave no cells and no file: fetched whole when due, not conditionally,
    # so it is parsed again (its tables may be in a file a browser shows, or a parser reads now)
    unparsed: bool = False


def load_known(
    db_path: str | Path, this_run: int | None = None
) -> tuple[dict[str, Known], dict[str, str]]:
    """Every URL fetched whole before (200, or 304 to a whole copy) with its validators and
    digest; and every dead link (404, 410) with when it was found dead. A page fetched by a run
    that never ended, other than `this_run`, is `unfinished`."""
    if not Path(db_path).exists():
        return {}, {}
    db = open_db(db_path)
    try:
        flags = ("document", "retry", "unfinished", "unparsed")
        known = {
            row["url"]: Known(**{**row, **{flag: bool(row[flag]) for flag in flags}})
            for row in db.query(KNOWN_SQL, {"this_run": this_run or 0})
        }
        gone = {row["url"]: row["fetched_at"] for row in db.query(GONE_SQL)}
        return known, gone
    finally:
        db.close()


History = tuple[dict[str, Known], dict[str, str]]  # (known pages, dead links)


def merge_history(ours: History, theirs: History) -> History:
    """One history from two (this worker's database and the workers' shared one): per URL the
    later finding stands, and a URL once known as a report or attachment stays one.

    Except for a list page we fetched ourselves: lists are fetched every night anyway, and only
    our own copy (in our folder) can stand in for a 304, so our validators are the ones to send.
    """
    known, gone = dict(ours[0]), dict(ours[1])
    for url, their in theirs[0].items():
        our = known.get(url)
        document = their.document or (our is not None and our.document)
        if our is not None and not document and not is_leaf(our):
            continue  # a list page of ours
        if our is None or (their.fetched_at or "") > (our.fetched_at or ""):
            known[url] = replace(their, document=document)
        elif document != our.document:
            known[url] = replace(our, document=document)
    for url, dead_since in theirs[1].items():
        if dead_since > gone.get(url, ""):
            gone[url] = dead_since
    for url in set(known) & set(gone):  # fetched by one worker, found dead by another
        if (known[url].fetched_at or "") >= gone[url]:
            del gone[url]
        else:
            del known[url]
    return known, gone


def is_leaf(known: Known) -> bool:
    """A page that lists nothing new: a report, an attachment or a CMS article."""
    return known.document or is_article_url(known.url)


def period_of(url: str, refresh: timedelta) -> timedelta:
    """The URL's own refresh period: between 1 and 1.5 times the setting, fixed per URL.

    Everything a first crawl found was fetched the same night; with one period for all, it
    would all come due again on one night each week (a night ten times the usual size). Spread
    by a hash of the URL, the re-checks take several nights and stay spread, and no page is
    asked for sooner than the setting says.
    """
    spread = int.from_bytes(hashlib.blake2b(url.encode(), digest_size=2).digest(), "big")
    return refresh * (1 + 0.5 * spread / 0xFFFF)


def is_fresh(url: str, fetched_at: str | None, refresh: timedelta, now: datetime) -> bool:
    """Fetched within the URL's refresh period (a zero period never skips)."""
    if not refresh or not fetched_at:
        return False
    try:
        fetched = datetime.fromisoformat(fetched_at.replace("Z", "+00:00"))
    except ValueError:
        return False
    if fetched.tzinfo is None:
        fetched = fetched.replace(tzinfo=UTC)
    return now - fetched < period_of(url, refresh)


def revisit_of(known: Known) -> dict[str, Any]:
    """What the archiver needs to store a fetch of a known URL as a revisit of its capture."""
    return {
        "uri": known.url,
        "date": known.content_date or known.fetched_at,
        "payload_digest": known.payload_digest,
        "filename": known.warc_filename,
        "offset": known.warc_record_offset,
    }


class IncrementalMiddleware:
    """Downloader middleware: skip fresh known leaves, ask conditionally for the rest.

    It sits after HttpCompressionMiddleware (590) on the way in, so the stored copy it hands
    back for a 304 still passes the charset fix (580) like any fresh response.
    """

    def __init__(self, crawler: Crawler, db_path: str, refresh: timedelta) -> None:
        self.crawler = crawler
        self.db_path = db_path
        self.refresh = refresh
        self.known: dict[str, Known] = {}
        self.gone: dict[str, str] = {}
        self.warc_dir: Path | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalMiddleware:
        settings = crawler.settings
        if not settings.getbool("NIANBAO_INCREMENTAL", True):
            raise NotConfigured
        refresh = timedelta(days=settings.getfloat("NIANBAO_REFRESH_DAYS", 0.0))
        middleware = cls(crawler, settings.get("NIANBAO_DB"), refresh)
        middleware.warc_dir = Path(settings["WARC_DIR"]) if settings.get("WARC_DIR") else None
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        return middleware

    @classmethod
    def of(cls, crawler: Crawler) -> IncrementalMiddleware | None:
        """The crawl's instance (the browser's traffic does not pass the downloader
        middlewares, but is archived against the same history)."""
        engine = getattr(crawler, "engine", None)
        downloader = getattr(engine, "downloader", None)
        for middleware in getattr(getattr(downloader, "middleware", None), "middlewares", ()):
            if isinstance(middleware, cls):
                return middleware
        return None

    def spider_opened(self, spider: Any = None) -> None:
        this_run = self.crawler.settings.getint("NIANBAO_CRAWL_ID") or None
        self.known, self.gone = load_known(self.db_path, this_run)
        from crawler.distributed.history import SharedHistory  # Redis only with --redis

        shared = SharedHistory.of(self.crawler)
        if shared is not None:  # what the other workers fetched, tonight and before
            self.known, self.gone = merge_history((self.known, self.gone), shared.load())
        leaves = sum(is_leaf(k) for k in self.known.values())
        logger.info(
            "incremental: %d known URLs, %d of them reports, attachments or articles; "
            "%d dead links (refresh period %s)",
            len(self.known),
            leaves,
            len(self.gone),
            self.refresh,
        )

    def process_request(self, request: Request) -> None:
        if request.method != "GET":
            return None
        forget_another_url(request)
        stats = self.crawler.stats
        now = datetime.now(UTC)
        asked_for = request.url == request.meta.get("portal")  # a start URL is always fetched
        dead_since = self.gone.get(request.url)
        if dead_since and not asked_for and is_fresh(request.url, dead_since, self.refresh, now):
            stats.inc_value("incremental/skipped_dead")
            raise IgnoreRequest(f"dead link checked within the refresh period: {request.url}")
        known = self.known.get(request.url)
        if known is None or request.meta.get("unconditional"):
            return None  # new, or fetched whole again because its stored copy is unreadable
        if not known.document and known.ours and self.copy_lost(known):
            stats.inc_value("incremental/stored_copy_lost")
            return None  # archived whole again: a revisit would name a capture no longer here
        request.meta["revisit_of"] = revisit_of(known)
        if known.retry:  # its conversion was cut short: the whole file, parsed again
            stats.inc_value("incremental/retried")
            return None
        resumed = known.unfinished
        if resumed:
            request.meta["resumed"] = True  # a 304 hands the spider the stored copy to follow
            stats.inc_value("incremental/resumed")
        if (
            is_leaf(known)
            and not asked_for
            and not resumed
            and is_fresh(request.url, known.fetched_at, self.refresh, now)
        ):
            stats.inc_value("incremental/skipped_fresh")
            raise IgnoreRequest(f"fetched within the refresh period: {request.url}")
        if not self.may_ask_conditionally(request, known):
            return None
        if known.etag:
            request.headers.setdefault("If-None-Match", known.etag)
        if known.last_modified:
            request.headers.setdefault("If-Modified-Since", known.last_modified)
        stats.inc_value("incremental/conditional")
        return None

    def may_ask_conditionally(self, request: Request, known: Known) -> bool:
        """Documents; a list page when its stored copy can stand in for a 304.

        Never a report page that gave no cells and no file, a page for the browser (a report
        page shown for its files too: a browser shown a 304 renders nothing), robots.txt
        (Scrapy would read a 304's empty body as "allow everything"), or a list page asked for
        again because its stored copy was unreadable.
        """
        if request.meta.get("playwright") or request.meta.get("unconditional"):
            return False
        if known.unparsed:
            return False  # a 304 would leave it unparsed for good
        if known.document:
            return True
        if urlsplit(request.url).path == "/robots.txt":
            return False
        return self.has_stored_copy(known)

    def has_stored_copy(self, known: Known) -> bool:
        """Whether the whole capture is in this data folder (not another worker's, not moved)."""
        if not self.warc_dir or not known.warc_filename or known.warc_record_offset is None:
            return False
        return (self.warc_dir / known.warc_filename).is_file()

    def copy_lost(self, known: Known) -> bool:
        """Whether the WARC file that held our whole capture has left the data folder."""
        if not self.warc_dir or not known.warc_filename:
            return False
        return not (self.warc_dir / known.warc_filename).is_file()

    def process_response(self, request: Request, response: Response) -> Request | Response:
        """A 304 to a list page: hand the spider the stored copy (the archive keeps the 304)."""
        if response.status != 304 or request.method != "GET":
            return response
        known = self.known.get(request.url)
        if known is None or request.meta.get("unconditional"):
            return response
        if known.document and not request.meta.get("resumed"):
            return response  # a report or attachment done before: nothing to follow again
        stats = self.crawler.stats
        stored = self.stored_copy(known)
        if stored is None and known.document:
            return response  # processed by the replay this run began with; its links are lost
        if stored is None:
            stats.inc_value("incremental/stored_copy_unreadable")
            logger.warning("stored copy unreadable, fetching again: %s", request.url)
            headers = {k: v for k, v in request.headers.items() if k.lower() not in CONDITIONAL}
            meta = {**request.meta, "unconditional": True}
            meta.pop("revisit_of", None)
            return request.replace(headers=headers, meta=meta, dont_filter=True)
        stats.inc_value("incremental/list_not_modified")
        if known.document:  # fetched by a killed run: its copy is for following links only
            request.meta["document_copy"] = True
        return copy_as_response(stored, request)

    def stored_copy(self, known: Known) -> Any | None:
        """The whole response stored for a URL, read back from its WARC file."""
        if not self.warc_dir or not known.warc_filename or known.warc_record_offset is None:
            return None
        try:
            stored = read_record(self.warc_dir / known.warc_filename, known.warc_record_offset)
        except Exception:  # a moved, cut or damaged file: fetch the page again instead
            return None
        if stored is None or stored.url != known.url or stored.status != 200:
            return None
        return stored


CONDITIONAL = {b"if-none-match", b"if-modified-since"}


def forget_another_url(request: Request) -> None:
    """A request redirected here carries the first URL's validators and stored capture (Scrapy
    copies headers and meta): they say nothing about this URL, so they go."""
    revisit_of = request.meta.get("revisit_of")
    if revisit_of is None or revisit_of.get("uri") == request.url:
        return
    del request.meta["revisit_of"]
    for name in CONDITIONAL:
        request.headers.pop(name, None)


DROPPED = {"content-encoding", "content-length", "transfer-encoding"}  # the body is decoded


def copy_as_response(stored: Any, request: Request) -> Response:
    """A stored capture as the response the spider would have got (flagged `archived_copy`)."""
    headers = Headers([(k, v) for k, v in stored.headers if k.lower() not in DROPPED])
    cls = responsetypes.from_args(headers=headers, url=request.url, body=stored.body)
    return cls(
        url=request.url,
        status=200,
        headers=headers,
        body=stored.body,
        request=request,
        flags=["archived_copy"],
    )


RETRY_SQL = "select url, report_url from attachments where interrupted is not null"


class RetryCutShort:
    """Spider middleware: an attachment whose conversion was cut short (LibreOffice ran out of
    time) is asked for again at the start of the next run.

    Its article is known, so within the refresh period it is not fetched and its links would
    not lead there; the request goes with the article as Referer, like the first one did.
    """

    def __init__(self, crawler: Crawler, db_path: str | None) -> None:
        self.crawler = crawler
        self.db_path = db_path

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryCutShort:
        settings = crawler.settings
        if not settings.getbool("NIANBAO_INCREMENTAL", True):
            raise NotConfigured
        return cls(crawler, settings.get("NIANBAO_DB"))

    async def process_start(self, start: Any) -> Any:
        async for item_or_request in start:
            yield item_or_request
        for request in self.retries():
            yield request

    def retries(self) -> list[Request]:
        """One request per cut-short attachment of this run's portals."""
        import scrapy

        spider = self.crawler.spider
        if not self.db_path or not Path(self.db_path).exists() or spider is None:
            return []
        portals = {site_of(s["url"]): s["url"] for s in getattr(spider, "sites", [])}
        db = open_db(self.db_path)
        try:
            rows = list(db.query(RETRY_SQL))
        finally:
            db.close()
        requests = []
        for row in rows:
            portal = portals.get(site_of(row["report_url"] or row["url"]))
            if portal is None:
                continue  # another portal's attachment: its own run retries it
            requests.append(
                scrapy.Request(
                    row["url"],
                    callback=spider.parse_attachment,
                    errback=spider.failed,
                    priority=200,
                    headers={"Referer": row["report_url"]} if row["report_url"] else None,
                    meta={"portal": portal, "link_text": ""},
                )
            )
        if requests:
            logger.info(
                "%d attachment(s) whose conversion was cut short: asked again", len(requests)
            )
        return requests
