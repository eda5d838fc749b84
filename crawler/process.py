"""What to do with one archived response: the single path the crawl and replay share.

`process_capture(capture) -> Rows` decides whether the response is a report, extracts its text,
parses its tables and returns the database rows. It reads nothing but the capture, so replaying
the WARC of a crawl gives exactly the rows the crawl gave.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache, lru_cache
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

from crawler.attachments import (
    OFFICE_KINDS,
    AttachmentError,
    ConversionInterrupted,
    libreoffice_identity,
    read_attachment,
)
from crawler.extract import article_text, attachment_type, decode_html, headings, published_date
from crawler.items import Capture, Conversion
from crawler.report import Report, parse_html
from crawler.scope import is_report_title
from crawler.store import Rows, SaveResult

HTML_TYPES = {"text/html", "application/xhtml+xml", ""}

# What decides the rows a capture gives: this code and the libraries it parses with.
PARSING_CODE = ("process.py", "extract.py", "attachments.py", "scope.py", "store.py", "items.py")
PARSING_CODE += ("replay.py", "report", "layouts", "../archive/reader.py")
PARSING_LIBRARIES = ("trafilatura", "htmldate", "lxml", "parsel", "w3lib")
PARSING_LIBRARIES += ("pdfplumber", "pdfminer.six", "python-docx", "openpyxl")


@lru_cache(maxsize=1)
def parser_fingerprint() -> str:
    """A digest of the parsing code and library versions: rows made under the same fingerprint
    are the rows a new parse would give, so a replay need not parse their records again.

    Any edit to the parsing code changes it (a comment too: safe rather than clever).
    """
    return code_digest(PARSING_CODE, PARSING_LIBRARIES, f"libreoffice={libreoffice_identity()}")


# What decides a conversion (crawler.items.Conversion): a page's clean text, a file's document.
TEXT_CONVERTER = (("extract.py", "layouts"), ("trafilatura", "lxml"))
DOCUMENT_CONVERTER = (
    ("attachments.py",),
    ("pdfplumber", "pdfminer.six", "python-docx", "openpyxl"),
)


@cache
def converter_fingerprint(kind: str) -> str:
    """Which converter made a conversion of `kind` ("html", "pdf", "doc", …): one archived under
    another (a new trafilatura, an edited extractor, another LibreOffice for DOC/WPS/XLS) is
    not used, and the capture is converted again."""
    if kind == "html":
        return "html:" + code_digest(*TEXT_CONVERTER)
    office = f"libreoffice={libreoffice_identity()}" if kind in OFFICE_KINDS else ""
    return f"{kind}:" + code_digest(*DOCUMENT_CONVERTER, office)


def code_digest(code: tuple[str, ...], libraries: tuple[str, ...], extra: str = "") -> str:
    """A digest of source files or folders (relative to this package) and library versions."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in code:
        path = here / name
        sources = sorted([*path.rglob("*.py"), *path.rglob("*.json")]) if path.is_dir() else [path]
        for source in sources:
            digest.update(f"{source.relative_to(path.parent)}\0".encode() + source.read_bytes())
    for library in libraries:
        try:
            version = metadata.version(library)
        except metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"{library}={version}".encode())
    digest.update(extra.encode())
    return digest.hexdigest()[:16]


def archived_conversion(capture: Capture, kind: str) -> str | None:
    """The text of the conversion archived beside a capture, if the converter here made it."""
    conversion = capture.conversion
    if conversion is None or conversion.converter != converter_fingerprint(kind):
        return None
    return conversion.text


def site_of(url: str) -> str:
    """The portal a URL belongs to, as scheme://host/ (derivable from the URL alone)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def page_row(capture: Capture) -> dict:
    """The `pages` row of any fetch: every status, every content type."""
    return {
        "url": capture.url,
        "status": capture.status,
        "fetched_at": capture.fetched_at,
        "content_type": capture.content_type or None,
        "warc_filename": capture.warc_filename,
        "warc_record_offset": capture.warc_record_offset,
        "payload_digest": capture.payload_digest,
        "record_type": capture.extra.get("record_type", "response"),
        "etag": capture.header("ETag"),
        "last_modified": capture.header("Last-Modified"),
        "site": site_of(capture.url),
        "content_date": capture.extra.get("content_date") or capture.fetched_at,
        "method": capture.extra.get("method"),  # None for GET
    }


def process_capture(capture: Capture) -> Rows:
    """Rows for one archived response: always a page; a report or attachment when it is one."""
    rows = Rows(page=page_row(capture))
    if capture.status != 200 or not capture.body:
        return rows
    kind = capture_attachment_type(capture)
    if kind is not None:
        rows.attachment = attachment_row(capture, kind)
        return add_attachment_report(rows, capture, kind)
    if capture.content_type not in HTML_TYPES:
        return rows
    archived = archived_conversion(capture, "html")
    content_type = capture.header("Content-Type") or ""
    analysed = analyse_html(capture.body, content_type, capture.url, archived)
    if analysed is None:
        return rows
    report, text, published = analysed
    if archived is None:
        rows.conversion = Conversion("text/plain", text, converter_fingerprint("html"))
    rows.report = report_row(capture, report, source_type="html", text=text)
    if not rows.report["published"]:
        rows.report["published"] = published
    rows.cells, rows.checks = report.cell_rows(), report.check_rows()
    return rows


def capture_attachment_type(capture: Capture) -> str | None:
    """The attachment type of a response, by MIME type, file name (Content-Disposition or URL)
    and the bytes themselves: download handlers send octet-stream with only a file name."""
    disposition = capture.header("Content-Disposition")
    return attachment_type(capture.url, capture.content_type, disposition, capture.body)


@lru_cache(maxsize=256)
def analyse_html(
    body: bytes, content_type: str, url: str, text: str | None = None
) -> tuple[Report, str, str] | None:
    """(report, clean text, published date) of a report page, or None for any other page; the
    clean text is extracted unless given (archived from an earlier run's extraction).

    Pure and cached: the same bytes at the same URL (an unchanged page seen again, or a revisit
    resolved to its original during a replay) are parsed once.
    """
    html, _encoding = decode_html(body, content_type)
    if not any(is_report_title(h) for h in headings(html)):
        return None
    if text is None:
        text = article_text(body, html)
    return parse_html(html, url), text, published_date(html)


def report_row(capture: Capture, report: Report, source_type: str, text: str) -> dict:
    """The `reports` row of a parsed report held by `capture`."""
    return {
        "url": capture.url,
        "title": report.title,
        "organization": report.organization,
        "year": report.year,
        "format": report.format,
        "published": report.published,
        "site": site_of(capture.url),
        "source_type": source_type,
        "warc_filename": capture.warc_filename,
        "warc_record_offset": capture.warc_record_offset,
        "text": text,
        "consistent": report.consistent,
        "payload_digest": capture.payload_digest,
        "fetched_at": capture.fetched_at,
        "notes": json.dumps(report.notes, ensure_ascii=False) if report.notes else None,
    }


def add_attachment_report(rows: Rows, capture: Capture, kind: str) -> Rows:
    """An attachment whose tables parse becomes the report (or a copy of its article's report).

    A scanned PDF or a broken file is recorded on the attachment row with the reason.
    """
    archived = archived_conversion(capture, kind)
    try:
        report, text, document = analyse_attachment(capture.body, kind, capture.url, archived)
    except AttachmentError as exc:
        rows.attachment["error"] = str(exc)
        if isinstance(exc, ConversionInterrupted):
            rows.interrupted = rows.attachment["interrupted"] = type(exc).__name__
        return rows
    if archived is None and document is not None:
        rows.conversion = Conversion("text/html", document, converter_fingerprint(kind))
    if not report.cells:
        rows.attachment["error"] = "; ".join(report.notes) or "no report tables"
        return rows
    rows.report = report_row(capture, report, source_type=kind, text=text)
    rows.report["article_url"] = rows.attachment["report_url"]
    rows.cells, rows.checks = report.cell_rows(), report.check_rows()
    return rows


@lru_cache(maxsize=8)
def analyse_attachment(
    body: bytes, kind: str, url: str, document: str | None = None
) -> tuple[Report, str, str | None]:
    """`read_attachment`, cached like `analyse_html` (few entries: attachments are large)."""
    return read_attachment(body, kind, url, document)


def attachment_row(capture: Capture, kind: str) -> dict:
    """An attachment (PDF, DOC, …) of a report page: archived and linked to its article."""
    return {
        "url": capture.url,
        "report_url": capture.referer,  # the article that links it (crawl and replay alike)
        "source_type": kind,
        "status": capture.status,
        "content_type": capture.content_type or None,
        "fetched_at": capture.fetched_at,
        "warc_filename": capture.warc_filename,
        "warc_record_offset": capture.warc_record_offset,
        "payload_digest": capture.payload_digest,
        "site": site_of(capture.url),
        "error": None,  # a file that failed before and converts now loses its old error
        "interrupted": None,  # set when the conversion was cut short: the next run tries again
    }


def outcome_keys(rows: Rows, result: SaveResult, made: set[int]) -> list[str]:
    """The stats keys one processed response adds to a run's summary (crawl and replay alike).

    `made`: the reports this run added, so that one it added and then joined to a report found
    elsewhere (an article without tables, whose file is that report) is not left counted new.
    """
    keys = []
    if result.folded is not None and result.folded in made:
        keys.append("nianbao/reports_folded")
    if rows.attachment is not None:
        keys.append("nianbao/attachments")
    if rows.report is None:
        return keys
    keys.append("nianbao/reports_found")
    if result.new:
        keys.append("nianbao/reports_new")
        made.add(result.report_id or 0)
    if result.changed:
        keys.append("nianbao/reports_changed")
    if result.duplicate_of is not None:
        keys.append("nianbao/reports_duplicate")
    if not rows.cells:
        keys.append("nianbao/reports_unparsed")
    if rows.report.get("consistent") == 0:
        keys.append("nianbao/reports_inconsistent")
    return keys
