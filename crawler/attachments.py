"""Report attachments (PDF, DOCX, DOC, WPS, XLS, XLSX) → one HTML document → the table parser.

Every format is turned into the same thing: paragraphs of text and `<table>`s whose merged cells
are empty fillers, in reading order. The parser then treats it exactly like a web page, so an
attachment gives the same cells as the same report published as HTML. Tables split across PDF
pages stay separate `<table>`s, which the parser joins. DOC and WPS go through LibreOffice.
"""

from __future__ import annotations

import html
import io
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from crawler.report import Report, parse_html

KINDS = ("pdf", "docx", "doc", "wps", "xlsx", "xls")


class AttachmentError(Exception):
    """The attachment cannot be read (corrupt file, missing converter, scanned PDF)."""


def parse_attachment(data: bytes, kind: str, url: str | None = None) -> tuple[Report, str]:
    """Parse an attachment's tables; returns the Report and the document's plain text."""
    document = document_html(data, kind)
    report = parse_html(document, url)
    return report, html_text(document)


def document_html(data: bytes, kind: str) -> str:
    """The attachment as one HTML document (paragraphs and tables in reading order)."""
    if kind == "pdf":
        return pdf_html(data)
    if kind == "docx":
        return docx_html(data)
    if kind in ("doc", "wps"):
        return docx_html(convert_with_libreoffice(data, kind, "docx"))
    if kind == "xlsx":
        return xlsx_html(data)
    if kind == "xls":
        return xlsx_html(convert_with_libreoffice(data, kind, "xlsx"))
    raise AttachmentError(f"unsupported attachment type: {kind}")


def table_html(rows: Iterable[Sequence[str | None]]) -> str:
    """A grid of cell texts as a `<table>`; None (a merged-over cell) becomes an empty cell."""
    lines = ["<table>"]
    for row in rows:
        cells = "".join(f"<td>{html.escape(cell or '')}</td>" for cell in row)
        lines.append(f"<tr>{cells}</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def paragraphs_html(text: str) -> str:
    return "\n".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line.strip())


def wrap(parts: list[str]) -> str:
    return (
        "<html><head><meta charset='utf-8'></head><body>\n" + "\n".join(parts) + "\n</body></html>"
    )


def pdf_html(data: bytes) -> str:
    """PDF pages: the text outside tables as paragraphs, each table as a grid."""
    import pdfplumber

    parts: list[str] = []
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except Exception as exc:
        raise AttachmentError(f"unreadable PDF: {exc}") from exc
    with pdf:
        chars = 0
        for page in pdf.pages:
            chars += len(page.chars)
            tables = page.find_tables()
            outside = page
            for table in tables:
                outside = outside.outside_bbox(table.bbox)
            parts.append(paragraphs_html(outside.extract_text() or ""))
            parts.extend(table_html(table.extract()) for table in tables)
        if chars == 0:
            raise AttachmentError("scanned PDF without a text layer (no OCR)")
    return wrap(parts)


def docx_html(data: bytes) -> str:
    """DOCX body in order; merged cells (gridSpan, vMerge) become colspan / empty fillers."""
    import docx
    from docx.oxml.ns import qn

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise AttachmentError(f"unreadable DOCX: {exc}") from exc
    parts: list[str] = []
    for element in document.element.body.iterchildren():
        if element.tag == qn("w:p"):
            text = "".join(t.text or "" for t in element.iter(qn("w:t")))
            if text.strip():
                parts.append(f"<p>{html.escape(text)}</p>")
        elif element.tag == qn("w:tbl"):
            parts.append(_docx_table(element, qn))
    return wrap(parts)


def _docx_table(table: object, qn: object) -> str:
    rows = []
    for tr in table.iter(qn("w:tr")):  # type: ignore[attr-defined]
        cells = []
        for tc in tr.iter(qn("w:tc")):  # type: ignore[operator]
            text = "\n".join(
                "".join(t.text or "" for t in p.iter(qn("w:t")))  # type: ignore[operator]
                for p in tc.iter(qn("w:p"))  # type: ignore[operator]
            ).strip()
            props = tc.find(qn("w:tcPr"))  # type: ignore[operator]
            span = 1
            merged = False
            if props is not None:
                grid = props.find(qn("w:gridSpan"))  # type: ignore[operator]
                if grid is not None:
                    span = int(grid.get(qn("w:val")) or 1)  # type: ignore[operator]
                vmerge = props.find(qn("w:vMerge"))  # type: ignore[operator]
                merged = vmerge is not None and vmerge.get(qn("w:val")) != "restart"  # type: ignore[operator]
            cells.append(None if merged else text)
            cells.extend([None] * (span - 1))
        rows.append(cells)
    return table_html(rows)


def xlsx_html(data: bytes) -> str:
    """Every sheet as a table of cell values (merged cells left empty)."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise AttachmentError(f"unreadable spreadsheet: {exc}") from exc
    parts = []
    for sheet in book.worksheets:
        rows = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        parts.append(table_html(rows))
    return wrap(parts)


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def convert_with_libreoffice(data: bytes, kind: str, target: str, timeout: float = 120) -> bytes:
    """Convert a legacy DOC/WPS/XLS file with LibreOffice headless (Debian package)."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        raise AttachmentError(
            "LibreOffice is not installed (apt-get install libreoffice-writer-nogui)"
        )
    with tempfile.TemporaryDirectory(prefix="nianbao-office-") as tmp:
        source = Path(tmp) / f"attachment.{'doc' if kind == 'wps' else kind}"
        source.write_bytes(data)
        command = [
            office,
            f"-env:UserInstallation=file://{tmp}/profile",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            tmp,
            str(source),
        ]
        try:
            subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise AttachmentError(f"LibreOffice timed out converting a {kind} file") from exc
        result = source.with_suffix(f".{target}")
        if not result.exists():
            raise AttachmentError(f"LibreOffice could not convert this {kind} file")
        return result.read_bytes()


def html_text(document: str) -> str:
    """Plain text of a generated document (for `reports.text` and full-text search)."""
    import lxml.html

    root = lxml.html.fromstring(document)
    return "\n".join(part.strip() for part in root.itertext() if part.strip())
