"""`nianbao replay`: rebuild the database from WARC files alone, with no network.

Every response and revisit record goes through the same `process_capture` the crawl used, in the
order the records were written, so a replay gives the crawl's reports and cells; a revisit is
resolved to the full record it refers to. Damaged records are reported and skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from archive.reader import iter_captures, read_record
from crawler.extract import decode_html
from crawler.items import Capture
from crawler.layouts import page_links
from crawler.process import outcome_keys, process_capture
from crawler.run import DataFolderLocked, DataPaths, Summary, data_lock
from crawler.scope import canonical_url, is_attachment
from crawler.store import now_iso, open_db, save_rows

logger = logging.getLogger(__name__)


class Originals:
    """Where the whole response records seen so far are, to resolve revisits.

    Only locations are kept, never bodies: a revisit reads its original back from disk, so
    replaying a large archive takes memory for its URLs, not for its payloads.
    """

    def __init__(self) -> None:
        self.by_digest: dict[tuple[str, str], tuple[Path, int]] = {}
        self.latest: dict[str, tuple[Path, int]] = {}

    def remember(self, record: Any) -> None:
        if record.path is None:
            return
        where = (record.path, record.offset)
        self.latest[record.url] = where
        if record.payload_digest:
            self.by_digest[(record.url, record.payload_digest)] = where

    def resolve(self, revisit: Any) -> Any | None:
        refers = revisit.refers_to or {}
        uri = refers.get("uri") or revisit.url
        digest = refers.get("payload_digest") or revisit.payload_digest
        where = self.by_digest.get((uri, digest or "")) or self.latest.get(uri)
        return read_record(*where) if where else None


def capture_of(record: Any, original: Any | None = None) -> Capture:
    """The Capture of a WARC record; a revisit takes its payload from the original."""
    source = original or record
    extra: dict[str, Any] = {"record_type": record.record_type}
    refers = getattr(record, "refers_to", None) or {}
    if record.record_type == "revisit":
        extra["content_date"] = refers.get("date") or (original.date if original else None)
    return Capture(
        url=record.url,
        status=record.status,
        headers=list(record.headers),
        body=source.body if source is not None else b"",
        fetched_at=record.date,
        # A revisit holds no content: point at the whole record it refers to, as the crawl does.
        warc_filename=source.filename,
        warc_record_offset=source.offset,
        payload_digest=record.payload_digest or refers.get("payload_digest"),
        referer=_header(getattr(record, "request_headers", None) or [], "Referer"),
        extra=extra,
    )


def _header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name.lower():
            return value
    return None


def attachment_links(capture: Capture) -> dict[str, str]:
    """{attachment URL: report page URL} for the attachments a report page links to."""
    html, _ = decode_html(capture.body, capture.content_type)
    links = (canonical_url(link.url) for link in page_links(html, capture.url))
    return {url: capture.url for url in links if is_attachment(url)}


def replay_paths(paths: list[Path], data: DataPaths, verbose: bool = False) -> Summary:
    """Replay WARC files or folders into the data folder's database."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO)
    summary = Summary(command="replay", started=now_iso())
    try:
        with data_lock(data):
            summary.stats = replay_into(paths, data.db)
    except DataFolderLocked as exc:
        summary.stats = {"nianbao/errors/locked": 1}
        logger.error("%s", exc)
    summary.ended = now_iso()
    return summary


def replay_into(paths: list[Path], db_path: Path) -> dict[str, int]:
    """Process every record of `paths` into the database; returns stats-style counts."""
    db = open_db(db_path)
    stats: dict[str, int] = {}
    errors: list[Any] = []
    originals = Originals()
    # Attachment URL -> the report page linking it: the fallback when a WARC lost the
    # attachment's request record (and its Referer), so it still joins its article's report.
    linked_from: dict[str, str] = {}

    def inc(key: str) -> None:
        stats[key] = stats.get(key, 0) + 1

    try:
        for record in iter_captures(paths, errors=errors):
            inc("replay/records")
            original = None
            if record.record_type == "revisit":
                original = originals.resolve(record)
                if original is None:
                    inc("nianbao/errors/revisit_unresolved")
            else:
                originals.remember(record)
            capture = capture_of(record, original)
            if capture.referer is None:
                capture.referer = linked_from.get(canonical_url(capture.url))
            rows = process_capture(capture)
            result = save_rows(db, rows)
            if rows.report is not None and rows.attachment is None:
                linked_from.update(attachment_links(capture))
            inc("nianbao/pages")
            for key in outcome_keys(rows, result):
                inc(key)
    finally:
        db.close()
    for error in errors:
        logger.warning("skipped damaged WARC data: %s", error)
        inc("nianbao/errors/warc_damaged")
    return stats
