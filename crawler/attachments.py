"""Report attachments (PDF, DOCX, DOC, WPS, XLS, XLSX) → one HTML document → the table parser.

Every format is turned into the same thing: paragraphs of text and `<table>`s in reading order,
a merged cell written once (as a web page's colspan/rowspan cell is) and a blank cell kept blank.
The parser then treats it exactly like a web page, so an attachment gives the same cells as the
same report published as HTML. Tables split across PDF pages stay separate `<table>`s, which the
parser joins. DOC, WPS and XLS go through LibreOffice headless (a Debian package).
"""

from __future__ import annotations

import hashlib
import html
import io
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from crawler.report import Report, parse_html

logger = logging.getLogger(__name__)

KINDS = ("pdf", "docx", "doc", "wps", "xlsx", "xls")


class AttachmentError(Exception):
    """The attachment cannot be read (corrupt file, missing converter)."""


class ConversionInterrupted(AttachmentError):
    """LibreOffice timed out or was killed: the file may be sound, and worth another try."""


class ScannedDocument(AttachmentError):
    """A PDF of page images with no text layer: readable, but nothing to parse without OCR."""


def parse_attachment(data: bytes, kind: str, url: str | None = None) -> tuple[Report, str]:
    """Parse an attachment's tables; returns the Report and the document's plain text.

    A scanned PDF is not an error: it is a report with no cells and a note saying why.
    """
    report, text, _document = read_attachment(data, kind, url)
    return report, text


def read_attachment(
    data: bytes, kind: str, url: str | None = None, document: str | None = None
) -> tuple[Report, str, str | None]:
    """`parse_attachment`, plus the HTML document the file was converted to (None for a scanned
    PDF). Given the `document` an earlier conversion made, the file is not converted again."""
    if document is None:
        try:
            document = document_html(data, kind)
        except ScannedDocument as exc:
            return Report(notes=[str(exc)]), "", None
    return parse_html(document, url), html_text(document), document


OFFICE_KINDS = {"doc", "wps", "xls"}  # converted by LibreOffice first: its version matters


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
    """A grid of cell texts as a `<table>`.

    None is a position a merged cell covers: it is left out, as a web page's colspan/rowspan
    leaves it out, while "" is a cell published empty (a null value to the parser).
    """
    lines = ["<table>"]
    for row in rows:
        cells = "".join(f"<td>{html.escape(cell)}</td>" for cell in row if cell is not None)
        lines.append(f"<tr>{cells}</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def paragraphs_html(text: str) -> str:
    return "\n".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line.strip())


def wrap(parts: list[str]) -> str:
    return (
        "<html><head><meta charset='utf-8'></head><body>\n" + "\n".join(parts) + "\n</body></html>"
    )


PAGE_NUMBER = re.compile(r"^[-—–第\s]*\d+[\s页]*[-—–]*$|^第\s*\d+\s*页.*$")


def pdf_html(data: bytes) -> str:
    """PDF pages in reading order: text lines and tables sorted by their place on the page.

    Page numbers ("- 4 -") are dropped so a table split across pages joins up again, and a
    one-column "table" (a boxed paragraph) becomes paragraphs.
    """
    import pdfplumber

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except Exception as exc:
        raise AttachmentError(f"unreadable PDF: {exc}") from exc
    parts: list[str] = []
    with pdf:
        chars = 0
        try:
            for page in pdf.pages:
                chars += len(page.chars)
                parts.extend(_pdf_page_parts(page))
        except Exception as exc:
            raise AttachmentError(f"unreadable PDF: {exc}") from exc
        if chars == 0:
            raise ScannedDocument("scanned PDF: no text layer, tables not read (no OCR)")
    return wrap(parts)


def _pdf_page_parts(page: Any) -> list[str]:
    """One page's paragraphs and tables, top to bottom."""
    placed: list[tuple[float, str]] = []
    tables = page.find_tables()
    outside = page
    for table in tables:
        outside = outside.outside_bbox(table.bbox)
        rows = table.extract()
        if max((len(row) for row in rows), default=0) <= 1:
            text = "\n".join(row[0] or "" for row in rows if row)
            placed.append((table.bbox[1], paragraphs_html(text)))
        else:
            placed.append((table.bbox[1], table_html(rows)))
    for line in outside.extract_text_lines():
        text = line["text"].strip()
        if text and not PAGE_NUMBER.match(text):
            placed.append((line["top"], f"<p>{html.escape(text)}</p>"))
    placed.sort(key=lambda item: item[0])
    return [part for _, part in placed]


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


MAX_SPAN = 64  # columns one Word cell may cover; no report table is wider


def _docx_table(table: Any, qn: Any) -> str:
    """A Word table as a grid: a gridSpan cell covers the columns to its right, a continued
    vMerge cell is covered by the cell above (None: left out, as a web page's spans are)."""
    grid_width = len(table.findall(f"{qn('w:tblGrid')}/{qn('w:gridCol')}"))
    widest = min(grid_width or MAX_SPAN, MAX_SPAN)
    rows = []
    for tr in table.iter(qn("w:tr")):
        cells: list[str | None] = []
        for tc in tr.iter(qn("w:tc")):
            text = "\n".join(
                "".join(t.text or "" for t in p.iter(qn("w:t"))) for p in tc.iter(qn("w:p"))
            ).strip()
            span, merged = 1, False
            props = tc.find(qn("w:tcPr"))
            if props is not None:
                grid = props.find(qn("w:gridSpan"))
                if grid is not None:
                    span = grid_span(grid.get(qn("w:val")), widest)
                vmerge = props.find(qn("w:vMerge"))
                merged = vmerge is not None and vmerge.get(qn("w:val")) != "restart"
            cells.append(None if merged else text)
            cells.extend([None] * (span - 1))
        rows.append(cells)
    return table_html(rows)


def grid_span(value: str | None, widest: int) -> int:
    """A cell's gridSpan, from 1 to the table's width: a hostile file's "3.0" or 300000000
    must neither stop the parse nor fill memory with hundreds of millions of covered cells."""
    try:
        span = int(value or 1)
    except ValueError:
        return 1
    return max(1, min(span, widest))


def xlsx_html(data: bytes) -> str:
    """Every sheet as a table; cells a merged range covers are left out like a colspan's."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:
        raise AttachmentError(f"unreadable spreadsheet: {exc}") from exc
    return wrap([table_html(_sheet_rows(sheet)) for sheet in book.worksheets])


def _sheet_rows(sheet: Any) -> list[list[str | None]]:
    covered = {
        (row, col)
        for merged in sheet.merged_cells.ranges
        for row in range(merged.min_row, merged.max_row + 1)
        for col in range(merged.min_col, merged.max_col + 1)
        if (row, col) != (merged.min_row, merged.min_col)
    }
    rows = []
    for cells in sheet.iter_rows():
        row: list[str | None] = [
            None if (cell.row, cell.column) in covered else _cell_text(cell.value) or ""
            for cell in cells
        ]
        while row and not row[-1]:  # a sheet's trailing empty columns say nothing
            row.pop()
        rows.append(row)
    return rows


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def find_libreoffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def libreoffice_identity() -> str:
    """Which LibreOffice converts DOC/WPS/XLS here, cheaply (no start-up, unlike --version):
    a digest of its `versionrc` with the file's size and time, which every upgrade rewrites.
    "-" when there is none (those files then fail: installing it changes the rows too)."""
    office = find_libreoffice()
    if office is None:
        return "-"
    program = Path(office).resolve().parent
    versionrc = next(
        (p for p in (program / "versionrc", program / "version.ini") if p.exists()), None
    )
    if versionrc is None:
        return f"{program} (no versionrc)"
    stat = versionrc.stat()
    digest = hashlib.sha256(versionrc.read_bytes()).hexdigest()[:16]
    return f"{digest} {stat.st_size} {stat.st_mtime_ns}"


CONVERSION_TIMEOUT = 120.0  # seconds LibreOffice may take over one file


def conversion_timeout() -> float:
    """Seconds LibreOffice may take over one file: NIANBAO_CONVERSION_TIMEOUT, for a machine
    too slow (or too busy) for the default. A conversion cut short is tried again next run."""
    setting = os.environ.get("NIANBAO_CONVERSION_TIMEOUT", "")
    try:
        return float(setting) if setting else CONVERSION_TIMEOUT
    except ValueError:
        logger.warning(
            "NIANBAO_CONVERSION_TIMEOUT is not a number (%r): using %s", setting, CONVERSION_TIMEOUT
        )
        return CONVERSION_TIMEOUT


def convert_with_libreoffice(
    data: bytes, kind: str, target: str, timeout: float | None = None
) -> bytes:
    """Convert a legacy DOC/WPS/XLS file with LibreOffice headless (Debian package)."""
    office = find_libreoffice()
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
            limit = timeout or conversion_timeout()
            done = subprocess.run(command, capture_output=True, timeout=limit, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ConversionInterrupted(f"LibreOffice timed out converting a {kind} file") from exc
        if done.returncode < 0:  # killed by a signal (out of memory, a crash)
            raise ConversionInterrupted(
                f"LibreOffice was stopped by signal {-done.returncode} converting a {kind} file"
            )
        result = source.with_suffix(f".{target}")
        if not result.exists():
            raise AttachmentError(f"LibreOffice could not convert this {kind} file")
        return result.read_bytes()


def html_text(document: str) -> str:
    """Plain text of a generated document (for `reports.text` and full-text search)."""
    import lxml.html

    root = lxml.html.fromstring(document)
    return "\n".join(part.strip() for part in root.itertext() if part.strip())
