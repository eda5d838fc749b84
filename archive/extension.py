"""WarcArchiver: a Scrapy extension that archives every downloaded response as WARC.

It listens on `response_downloaded`, which the downloader sends as soon as a response comes off
the wire, before any downloader middleware: the body is still compressed as the server sent it,
redirects, 404s, 5xx and robots.txt all pass through it, and responses served from a cache never
do. Each fetch becomes a `response` (or `revisit`) record plus its `request` record; the location
goes into `request.meta["warc"]` for the callbacks, and `response_archived` tells the database.
A failure is logged and counted (`warc/write_failed`); the run's exit status reports it.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from archive import records
from archive.index import index_parts, write_cdxj
from archive.signals import browser_response, document_converted, response_archived
from archive.writer import RotatingWarcWriter, payload_digest

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WarcConfig:
    """The WARC_* settings, read once."""

    directory: Path
    prefix: str
    max_size: int
    index_path: Path | None
    operator: str
    software: str
    conversions: bool = True

    @classmethod
    def from_settings(cls, settings: Any) -> WarcConfig:
        if not settings.getbool("WARC_ENABLED", True):
            raise NotConfigured("WARC_ENABLED is off")
        directory = settings.get("WARC_DIR")
        if not directory:
            raise NotConfigured("WARC_DIR is not set")
        index = settings.get("WARC_INDEX_PATH")
        return cls(
            directory=Path(directory),
            prefix=settings.get("WARC_PREFIX", "nianbao"),
            max_size=settings.getint("WARC_MAX_SIZE", 1_000_000_000),
            index_path=Path(index) if index else None,
            operator=settings.get("WARC_OPERATOR", ""),
            software=settings.get("USER_AGENT", "nianbao"),
            conversions=settings.getbool("WARC_CONVERSIONS", True),
        )


class WarcArchiver:
    """Writes request/response pairs on `response_downloaded`."""

    def __init__(self, crawler: Crawler, config: WarcConfig) -> None:
        self.crawler = crawler
        self.config = config
        self.writer: RotatingWarcWriter | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchiver:
        ext = cls(crawler, WarcConfig.from_settings(crawler.settings))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(ext.browser_response, signal=browser_response)
        crawler.signals.connect(ext.document_converted, signal=document_converted)
        return ext

    def spider_opened(self, spider: Any = None) -> None:
        info = {
            "software": self.config.software,
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            "hostname": socket.gethostname(),
            "isPartOf": getattr(spider, "name", "nianbao"),
        }
        if self.config.operator:
            info["operator"] = self.config.operator
        self.writer = RotatingWarcWriter(
            self.config.directory, self.config.prefix, self.config.max_size, info
        )

    def spider_closed(self, spider: Any = None, reason: str = "") -> None:
        if self.writer is not None:
            self.writer.close()
        if self.config.index_path is not None:
            try:
                index = self.config.index_path
                write_cdxj(self.config.directory, index, parts=index_parts(index))
            except Exception:
                self.crawler.stats.inc_value("warc/index_failed")
                logger.exception("could not write the CDXJ index %s", self.config.index_path)

    def response_downloaded(self, response: Response, request: Request, spider: Any = None) -> None:
        stats = self.crawler.stats
        if "playwright" in response.flags:
            # A rendered DOM is not what the server sent; never store it as a `response`.
            # What the browser received comes through `browser_response` instead.
            stats.inc_value("warc/skipped_rendered")
            return
        self._archive_and_announce(response, request, spider)

    def browser_response(self, response: Response, request: Request, spider: Any = None) -> None:
        """A network response the headless browser received: archived like any other."""
        self.crawler.stats.inc_value("warc/browser_responses")
        self._archive_and_announce(response, request, spider)

    def document_converted(
        self, url: str, refers_to: str, content_type: str, text: str, converter: str, **_: Any
    ) -> None:
        """Keep a conversion beside its response: a replay under the same converter reads it
        instead of converting the file again. Losing one costs only that time, so a failure is
        counted (`warc/conversion_failed`) but does not fail the run."""
        stats = self.crawler.stats
        if self.writer is None or not self.config.conversions:
            return
        try:
            record = records.conversion_record(
                self.writer.writer, url, refers_to, content_type, text, converter
            )
            (at,) = self.writer.write(record)
        except Exception:
            stats.inc_value("warc/conversion_failed")
            logger.exception("could not archive the conversion of %s", url)
            return
        stats.inc_value("warc/conversions")
        stats.inc_value("warc/records")
        stats.inc_value("warc/bytes", at.length)

    def _archive_and_announce(self, response: Response, request: Request, spider: Any) -> None:
        stats = self.crawler.stats
        try:
            location = self._archive(response, request)
        except Exception as exc:
            stats.inc_value("warc/write_failed")
            request.meta["warc_error"] = str(exc)
            logger.exception("could not archive %s", response.url)
            return
        request.meta["warc"] = location
        stats.inc_value("warc/records", 2)
        stats.inc_value("warc/bytes", location["bytes_written"])
        self.crawler.signals.send_catch_log(
            response_archived,
            response=response,
            request=request,
            location=location,
            spider=spider,
        )

    def _archive(self, response: Response, request: Request) -> dict[str, Any]:
        assert self.writer is not None, "spider not opened"
        digest = payload_digest(response.body)
        refers_to = request.meta.get("revisit_of")
        profile = revisit_profile(response, refers_to, digest)
        if profile is not None:
            assert refers_to is not None
            main = records.revisit_record(
                self.writer.writer,
                response,
                profile,
                refers_to,
                refers_to.get("payload_digest") or digest,
            )
            self.crawler.stats.inc_value("warc/revisits")
        else:
            main = records.response_record(self.writer.writer, response)
        record_id = main.rec_headers.get_header("WARC-Record-ID")
        req = records.request_record(self.writer.writer, request, record_id)
        response_at, request_at = self.writer.write(main, req)
        location: dict[str, Any] = {
            "filename": response_at.filename,
            "offset": response_at.offset,
            "length": response_at.length,
            "payload_digest": main.rec_headers.get_header("WARC-Payload-Digest"),
            "date": main.rec_headers.get_header("WARC-Date"),
            "record_id": record_id,
            "revisit": profile is not None,
            "bytes_written": response_at.length + request_at.length,
        }
        if profile is not None:
            location["refers_to"] = dict(refers_to or {}, profile=profile)
        return location


def revisit_profile(
    response: Response, refers_to: dict[str, Any] | None, digest: str
) -> str | None:
    """Which revisit a fetch is, if any: a 304, or a payload identical to the stored one.

    Only of the URL's own capture: a redirect carries the first URL's meta along.
    """
    if not refers_to or not refers_to.get("uri") or not refers_to.get("date"):
        return None
    if refers_to["uri"] != response.url:
        return None
    if response.status == 304:
        return records.PROFILE_NOT_MODIFIED
    if response.status == 200 and refers_to.get("payload_digest") == digest:
        return records.PROFILE_IDENTICAL
    return None
