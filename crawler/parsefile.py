"""`nianbao parse FILE`: read one saved report from disk and parse it.

HTML, text, and the attachment kinds a crawl meets (PDF, DOCX, DOC, WPS, XLSX, XLS). Unreadable
input (missing file, not text, a corrupt document, an unsupported kind) is a typed error the
command line turns into exit status 2 with a one-line reason.
"""

from __future__ import annotations

import codecs
import json
import sqlite3
from pathlib import Path

from crawler.attachments import KINDS, AttachmentError, parse_attachment
from crawler.extract import WIDE_BOMS, article_text, decode_html, wide_unicode
from crawler.report import Report, parse_html, parse_text
from crawler.store import Rows, now_iso, open_db, save_rows

HTML_SUFFIXES = {".html", ".htm", ".shtml", ".xhtml"}
TEXT_SUFFIXES = {".txt", ".text", ""}


class UnreadableInput(Exception):
    """The file cannot be read as a report at all."""


class UnusableDatabase(Exception):
    """`--db` names something that is not (and cannot become) a nianbao SQLite database."""


BOMS = (*WIDE_BOMS, (codecs.BOM_UTF8, "utf-8-sig"))


def read_text_file(data: bytes) -> str:
    """Decode a text report: by its BOM (Notepad saves UTF-16 ones), else utf-8, else gb18030.

    NUL bytes mean binary data only once no BOM has said they are UTF-16/32 text.
    """
    bom = next((encoding for mark, encoding in BOMS if data.startswith(mark)), None)
    if bom is not None:
        try:
            return data.decode(bom)
        except UnicodeDecodeError as exc:
            raise UnreadableInput(f"not valid {bom.removesuffix('-sig').upper()} text") from exc
    if b"\x00" in data[:8192]:
        raise UnreadableInput("binary data, not a text file")
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableInput("not valid UTF-8 or GB18030 text")


def parse_file(path: Path) -> tuple[Report, str]:
    """Parse a saved report; returns the Report and the document's clean text."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableInput(exc.strerror or str(exc)) from exc
    suffix = path.suffix.lower()
    if suffix in HTML_SUFFIXES:
        if b"\x00" in data[:8192] and not wide_unicode(data):
            raise UnreadableInput("binary data, not an HTML file")
        html, _ = decode_html(data)
        return parse_html(html, path.resolve().as_uri()), article_text(data, html)
    if suffix in TEXT_SUFFIXES:
        text = read_text_file(data)
        return parse_text(text), text
    if suffix.lstrip(".") in KINDS:
        try:
            return parse_attachment(data, suffix.lstrip("."), path.resolve().as_uri())
        except AttachmentError as exc:
            raise UnreadableInput(str(exc)) from exc
    kinds = ", ".join(f".{kind}" for kind in KINDS)
    raise UnreadableInput(f"unsupported file type {suffix!r} (use .html, .htm, .txt, {kinds})")


def source_type(suffix: str) -> str:
    """`reports.source_type` of a parsed file: html, text, or the attachment kind."""
    if suffix in HTML_SUFFIXES:
        return "html"
    return suffix.lstrip(".") if suffix.lstrip(".") in KINDS else "text"


def store_parsed(db_path: Path, file: Path, report: Report, text: str) -> None:
    """Store a parsed file under its file: URI, replacing an earlier parse of the same file."""
    url = file.resolve().as_uri()
    suffix = file.suffix.lower()
    rows = Rows(
        page={"url": url, "status": 200, "fetched_at": now_iso(), "content_type": None},
        report={
            "url": url,
            "title": report.title,
            "organization": report.organization,
            "year": report.year,
            "format": report.format,
            "published": report.published,
            "site": None,
            "source_type": source_type(suffix),
            "text": text,
            "consistent": report.consistent,
            "fetched_at": now_iso(),
            "notes": json.dumps(report.notes, ensure_ascii=False) if report.notes else None,
        },
        cells=report.cell_rows(),
        checks=report.check_rows(),
    )
    try:
        db = open_db(db_path)
        try:
            save_rows(db, rows)
        finally:
            db.close()
    except (sqlite3.DatabaseError, OSError) as exc:
        raise UnusableDatabase(f"{exc} (not a usable SQLite database)") from exc
