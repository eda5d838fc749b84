"""A Scrapy response (plus the WARC location the archiver put in its meta) → a Capture."""

from __future__ import annotations

from datetime import UTC, datetime

from scrapy.http import Response

from archive.records import header_pairs
from crawler.items import Capture


def revisit_extra(location: dict) -> dict:
    """Capture extras for a WARC record: its type and, for a revisit, the original's date."""
    if not location.get("revisit"):
        return {"record_type": "response"}
    refers_to = location.get("refers_to") or {}
    return {"record_type": "revisit", "content_date": refers_to.get("date")}


def content_location(location: dict) -> tuple[str | None, int | None, str | None]:
    """(file, offset, payload digest) of the record that holds the content.

    A revisit holds none: the database points at the whole capture it refers to, so a report
    seen again unchanged (or first stored after a killed run) still reads back its payload.
    """
    refers_to = location.get("refers_to") or {}
    if location.get("revisit") and refers_to.get("filename"):
        return refers_to["filename"], refers_to.get("offset"), refers_to.get("payload_digest")
    digest = location.get("payload_digest") or refers_to.get("payload_digest")
    return location.get("filename"), location.get("offset"), digest


def capture_from_response(response: Response, site: str | None = None) -> Capture:
    """The Capture the pipeline processes; its WARC location comes from `meta["warc"]`."""
    warc = response.meta.get("warc") or {}
    referer = response.request.headers.get(b"Referer") if response.request is not None else None
    extra = revisit_extra(warc)
    filename, offset, digest = content_location(warc)
    if response.meta.get("warc_error"):
        extra["warc_error"] = response.meta["warc_error"]
    if warc.get("record_id") and not warc.get("revisit"):
        extra["record_id"] = warc["record_id"]  # what a conversion archived beside it refers to
    if "archived_copy" in response.flags and response.meta.get("document_copy"):
        extra["archived_copy"] = True  # a stored report's copy, for its links (incremental)
    return Capture(
        url=response.url,
        status=response.status,
        headers=header_pairs(response.headers),
        body=response.body,
        fetched_at=warc.get("date") or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        warc_filename=filename,
        warc_record_offset=offset,
        payload_digest=digest,
        site=site,
        referer=referer.decode("latin-1") if referer else None,
        link_text=response.meta.get("link_text"),
        extra=extra,
    )
