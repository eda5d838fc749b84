"""Store what the crawl finds: pages as they are archived, reports as spiders yield them.

Nothing is stored as a report that is not in the archive: a capture without a WARC location is
dropped and counted, and the run's exit status becomes non-zero.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem

from archive.signals import document_converted, response_archived
from crawler.capture import content_location, revisit_extra
from crawler.items import Capture
from crawler.process import outcome_keys, page_row, process_capture
from crawler.store import open_db, save_page, save_rows

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class StorePipeline:
    """Runs `process_capture` on every Capture item and saves the rows with sqlite-utils."""

    def __init__(self, crawler: Crawler, db_path: str, require_archive: bool = True) -> None:
        self.crawler = crawler
        self.db_path = db_path
        self.require_archive = require_archive  # off only when WARC writing is switched off
        self.crawl_id = crawler.settings.getint("NIANBAO_CRAWL_ID") or None  # its `crawls` row
        self.db = None
        self.made: set[int] = set()  # reports this run added (outcome_keys)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        settings = crawler.settings
        pipeline = cls(crawler, settings.get("NIANBAO_DB"), settings.getbool("WARC_ENABLED", True))
        crawler.signals.connect(pipeline.record_page, signal=response_archived)
        return pipeline

    def open_spider(self) -> None:
        self.db = open_db(self.db_path)

    def close_spider(self) -> None:
        if self.db is not None:
            self.db.close()

    @property
    def stats(self):
        return self.crawler.stats

    def record_page(self, response: Any, request: Any, location: dict, spider: Any = None) -> None:
        """Every archived response becomes a `pages` row, whatever its status."""
        if self.db is None:
            self.db = open_db(self.db_path)
        filename, offset, digest = content_location(location)
        capture = Capture(
            url=response.url,
            status=response.status,
            headers=[
                (k.decode("latin-1"), v.decode("latin-1"))
                for k, vs in response.headers.items()
                for v in vs
            ],
            body=b"",
            fetched_at=location.get("date") or "",
            warc_filename=filename,
            warc_record_offset=offset,
            payload_digest=digest,
            extra=revisit_extra(location),
        )
        if request.method != "GET":
            capture.extra["method"] = request.method  # a form's answer: not the URL's own page
        save_page(self.db, self.of_this_run(page_row(capture)))
        self.stats.inc_value("nianbao/pages")

    def of_this_run(self, page: dict) -> dict:
        """A `pages` row noting the run that fetched it: if that run is killed, the next one
        knows which pages it may have left half done."""
        return {**page, "crawl_id": self.crawl_id} if self.crawl_id else page

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Capture):
            return item
        if item.extra.get("archived_copy"):
            # A stored report's copy a 304 stands for, handed to the spider only for its links
            # (a killed run's page): it was processed by the replay the run began with.
            self.stats.inc_value("nianbao/archived_copies")
            return item
        unarchived = not item.warc_filename or item.extra.get("warc_error")
        if unarchived and self.require_archive:
            self.stats.inc_value("nianbao/not_archived")
            raise DropItem(f"not archived, not stored: {item.url}")
        try:
            rows = process_capture(item)
            rows.page = self.of_this_run(rows.page)
            result = save_rows(self.db, rows)
        except Exception as exc:
            self.stats.inc_value(f"nianbao/errors/process/{type(exc).__name__}")
            logger.exception("could not process %s", item.url)
            raise DropItem(f"processing failed: {item.url}: {exc}") from exc
        for key in outcome_keys(rows, result, self.made):
            self.stats.inc_value(key)
        self.archive_conversion(item, rows)
        return item

    def archive_conversion(self, item: Capture, rows: Any) -> None:
        """Hand a costly conversion to the archive, to be kept beside the response it came
        from (a revisit's original has its own already)."""
        conversion = rows.conversion
        if conversion is None or not item.extra.get("record_id"):
            return
        self.crawler.signals.send_catch_log(
            document_converted,
            url=item.url,
            refers_to=item.extra["record_id"],
            content_type=conversion.content_type,
            text=conversion.text,
            converter=conversion.converter,
        )
