"""Scrapy requests and responses → warcio records (pure: no files, no Scrapy state).

Scrapy hands us parsed headers and a de-chunked body, not wire bytes, so records are rebuilt as
faithfully as that allows: the real HTTP version and reason phrase, every repeated header in
Scrapy's order, the query string in the request line, a `Host` header (Twisted adds it on the
wire only), no `Transfer-Encoding` (the body is no longer chunked) and a `Content-Length` equal
to the stored body. The body is taken before decompression, so `Content-Encoding` stays true.
"""

from __future__ import annotations

from http.client import responses as REASONS
from io import BytesIO
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders

if TYPE_CHECKING:
    from scrapy.http import Request, Response
    from warcio.warcwriter import BaseWARCWriter

PROFILE_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
PROFILE_IDENTICAL = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
DROPPED_RESPONSE_HEADERS = {"transfer-encoding", "content-length", "connection", "keep-alive"}


def header_pairs(headers: Any) -> list[tuple[str, str]]:
    """Every (name, value) of Scrapy Headers, repeated names kept, as latin-1 text."""
    pairs = []
    for name, values in headers.items():
        key = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        for value in values:
            pairs.append((key, value.decode("latin-1") if isinstance(value, bytes) else str(value)))
    return pairs


def request_line(request: Request) -> str:
    parts = urlsplit(request.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return f"{request.method} {target} HTTP/1.1"


def http_version(response: Response) -> str:
    protocol = getattr(response, "protocol", None) or "HTTP/1.1"
    return protocol if protocol.upper().startswith("HTTP/") else "HTTP/1.1"


def response_headers(response: Response) -> StatusAndHeaders:
    reason = REASONS.get(response.status, "Unknown")
    pairs = [
        (k, v)
        for k, v in header_pairs(response.headers)
        if k.lower() not in DROPPED_RESPONSE_HEADERS
    ]
    pairs.append(("Content-Length", str(len(response.body))))
    return StatusAndHeaders(f"{response.status} {reason}", pairs, protocol=http_version(response))


def request_headers(request: Request) -> StatusAndHeaders:
    pairs = header_pairs(request.headers)
    if not any(k.lower() == "host" for k, _ in pairs):
        pairs.insert(0, ("Host", urlsplit(request.url).netloc))
    if request.body and not any(k.lower() == "content-length" for k, _ in pairs):
        pairs.append(("Content-Length", str(len(request.body))))
    return StatusAndHeaders(request_line(request), pairs, is_http_request=True)


def ip_headers(response: Response) -> dict[str, str]:
    address = getattr(response, "ip_address", None)
    return {"WARC-IP-Address": str(address)} if address else {}


# A WARC extension field on what the headless browser fetched while rendering a page: the crawl
# stores such a record as a page only (the page it rendered was processed as Scrapy fetched it),
# and so does a replay.
FETCHED_BY_HEADER = "Nianbao-Fetched-By"


def extra_headers(response: Response) -> dict[str, str]:
    headers = ip_headers(response)
    if "browser" in response.flags:
        headers[FETCHED_BY_HEADER] = "browser"
    return headers


def response_record(writer: BaseWARCWriter, response: Response) -> ArcWarcRecord:
    return writer.create_warc_record(
        response.url,
        "response",
        payload=BytesIO(response.body),
        length=len(response.body),
        http_headers=response_headers(response),
        warc_headers_dict=extra_headers(response),
    )


def revisit_record(
    writer: BaseWARCWriter, response: Response, profile: str, refers_to: dict[str, Any], digest: str
) -> ArcWarcRecord:
    """A revisit: the HTTP headers of this fetch, no payload, pointing at the original capture.

    The headers stay as received, `Content-Length` too (the payload's, as in the original):
    pywb answers an identical-payload revisit with these headers and the original's payload,
    so a `Content-Length: 0` here replayed every unchanged page as an empty one.
    """
    headers = response_headers(response)
    extra = extra_headers(response)
    if refers_to.get("record_id"):
        extra["WARC-Refers-To"] = refers_to["record_id"]
    record = writer.create_revisit_record(
        response.url,
        digest,
        refers_to["uri"],
        refers_to["date"],
        http_headers=headers,
        warc_headers_dict=extra,
    )
    record.rec_headers.replace_header("WARC-Profile", profile)
    return record


def request_record(writer: BaseWARCWriter, request: Request, concurrent_to: str) -> ArcWarcRecord:
    body = request.body or b""
    return writer.create_warc_record(
        request.url,
        "request",
        payload=BytesIO(body),
        length=len(body),
        http_headers=request_headers(request),
        warc_headers_dict={"WARC-Concurrent-To": concurrent_to},
    )


CONVERTER_HEADER = "Nianbao-Converter"  # a WARC extension field: which converter made it


def conversion_record(
    writer: BaseWARCWriter,
    url: str,
    refers_to: str,
    content_type: str,
    text: str,
    converter: str,
) -> ArcWarcRecord:
    """A `conversion` record: what an archival process derived from the response `refers_to`
    names (WARC 1.1 §6.8), as Browsertrix keeps a page's extracted text. pywb and the CDXJ
    index leave conversions out, so the page itself still replays."""
    data = text.encode("utf-8")
    return writer.create_warc_record(
        url,
        "conversion",
        payload=BytesIO(data),
        length=len(data),
        warc_content_type=f"{content_type}; charset=utf-8",
        warc_headers_dict={"WARC-Refers-To": refers_to, CONVERTER_HEADER: converter},
    )
