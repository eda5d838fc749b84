"""Text and HTML to one representation: a flat list of cell tokens, each tagged with its row.

Every input shape ends up here. A text line with several TAB-separated fields, an HTML `<tr>`
and a TSV line inside `<pre>` are *delimited rows*: their cells are known to belong together.
A line holding one cell (TAB-prefixed, blank-line separated, an HTML paragraph) is a row of one;
the matcher then groups cells by labels and the template's column counts instead. Line breaks
inside a label are not repaired here: the matcher joins consecutive cells whose text only forms
a label together, which covers '本年新\\n公开数量' in every shape alike.
"""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass, field

from lxml import etree

from crawler.report.schema import heading_of, norm_label, norm_text
from crawler.report.values import NOT_A_VALUE, clean_raw, parse_value

IMAGE = "\x00IMG"  # token standing for an <img>: a table published as a picture
COVERED = "\x00SPAN"  # a grid position a rowspan/colspan cell covers: no cell of its own
_MAX_SPAN = 1000  # a span beyond this is hostile markup, not a table
_MAX_WIDTH = 256  # grid columns; a template table has at most 18

# Prose, not a cell: sentence punctuation or more text than any template label holds.
_MAX_LABEL = 48


@dataclass(slots=True)
class Token:
    """One cell of text with what the matcher needs precomputed once."""

    raw: str  # trimmed published text
    row: int  # index of the row it came from
    blank_is_null: bool = False  # an empty HTML <td> is a published blank cell
    label: str = field(init=False)  # normalised, numbering stripped
    value: object = field(init=False)  # parse_value(raw) without money scaling
    heading: str | None = field(init=False)
    prose: bool = field(init=False)

    def __post_init__(self) -> None:
        raw = self.raw
        size = len(raw)
        self.heading = None
        self.value = NOT_A_VALUE
        self.label = ""
        self.prose = size > 2 * _MAX_LABEL or "。" in raw
        if not self.prose and size > _MAX_LABEL:
            self.prose = len(norm_text(raw)) > _MAX_LABEL
        if self.prose or raw == IMAGE:
            return  # sentences are never labels or values: skip the costly normalisation
        if raw or self.blank_is_null:
            self.value = parse_value(raw) if size <= 40 else NOT_A_VALUE
        if self.value is NOT_A_VALUE:
            self.label = norm_label(raw)
            self.heading = heading_of(self.label)

    @property
    def is_value(self) -> bool:
        return self.value is not NOT_A_VALUE

    @property
    def is_image(self) -> bool:
        return self.raw == IMAGE


@dataclass
class Doc:
    """Tokens of a document plus the rows they form (row id -> token indices)."""

    tokens: list[Token]
    row_len: dict[int, int]  # number of tokens in each row

    def delimited(self, row: int) -> bool:
        return self.row_len.get(row, 0) > 1


def rows_to_doc(rows: list[list[str]], blanks_null: list[bool] | None = None) -> Doc:
    """Flatten rows of cell texts into tokens; blank text cells are dropped.

    Blank cells carry no information in text (a TAB-only line, a spanned label's empty twin),
    but a blank HTML table cell is a published empty cell: `blanks_null[i]` keeps those.
    """
    tokens: list[Token] = []
    row_len: dict[int, int] = {}
    for index, cells in enumerate(rows):
        keep_blank = bool(blanks_null and blanks_null[index])
        count = 0
        for cell in cells:
            if cell == COVERED:
                continue  # the spanning cell was read where it starts
            raw = clean_raw(cell)
            if raw or keep_blank:
                tokens.append(Token(raw, index, blank_is_null=keep_blank))
                count += 1
        if count:
            row_len[index] = count
    return Doc(tokens, row_len)


# A page footer left in text taken from a PDF or Word file ('- 4 -', '— 4 —', '第 4 页 共 9 页'):
# inside a table it would split a row's values in two. A bare '4' is a cell, never dropped.
_PAGE_FOOTER = re.compile(
    r"[-—–―－]\s*\d{1,4}\s*[-—–―－]|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?"
)


def text_rows(text: str) -> list[list[str]]:
    """Plain text to rows: one row per line, fields split on TABs; page footers left out."""
    return [
        line.split("\t")
        for line in text.splitlines()
        if line.strip() and not _PAGE_FOOTER.fullmatch(line.strip())
    ]


# ----- HTML -----------------------------------------------------------------------------------

_BLOCK = frozenset(
    {
        "p",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "section",
        "article",
        "header",
        "footer",
        "main",
        "aside",
        "nav",
        "blockquote",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "caption",
        "center",
        "form",
        "address",
        "figure",
        "hr",
    }
)
_SKIP = frozenset({"script", "style", "head", "title", "noscript", "template", "iframe", "object"})
_CELL = frozenset({"td", "th"})


def _span(value: str | None) -> int:
    try:
        return min(max(int((value or "1").strip() or 1), 1), _MAX_SPAN)
    except ValueError:
        return 1


class _Grid:
    """Rows of one `<table>` laid out on a grid: a rowspan/colspan cell covers its positions.

    Covered positions hold COVERED, so every row of a table has its cells in their true columns
    while the matcher, which reads a spanning cell once, simply skips them.
    """

    def __init__(self) -> None:
        self.below: dict[int, int] = {}  # column -> rows still covered by a rowspan from above

    def place(self, cells: list[tuple[str, int, int]]) -> list[str]:
        row: list[str] = []
        for text, colspan, rowspan in cells:
            while self.below.get(len(row), 0) > 0:
                row.append(COVERED)
            start = len(row)
            row.append(text)
            end = min(start + colspan, max(_MAX_WIDTH, start + 1))
            row.extend([COVERED] * (end - start - 1))
            if rowspan > 1:
                for col in range(start, end):
                    self.below[col] = max(self.below.get(col, 0), rowspan)
        width = max(self.below, default=-1) + 1
        while len(row) < width and self.below.get(len(row), 0) > 0:
            row.append(COVERED)
        self.below = {c: n - 1 for c, n in self.below.items() if n > 1}
        return row


class _Collector:
    """Walks the tree once (iteratively: 5000 nested divs are fine) and emits rows.

    A cell that holds a table is layout, not data (old Hanweb pages put the whole article in
    `<td class="bt_content">`): its content is read as if the cell were a `<div>`, with the
    enclosing row's state set aside until the cell ends, so headings and text inside it stay
    lines and the tables inside it stay tables.
    """

    def __init__(self, layout: frozenset[object] = frozenset()) -> None:
        self.layout = layout  # cells holding a table
        self.outer: list[tuple[object, list[tuple[str, int, int]] | None, tuple[int, int]]] = []
        self.rows: list[list[str]] = []
        self.blank_null: list[bool] = []
        self.line: list[str] = []  # text of the current paragraph
        self.cell: list[str] | None = None  # text of the current <td>
        self.tr: list[tuple[str, int, int]] | None = None  # cells of the current <tr>, spans
        self.span = (1, 1)  # colspan, rowspan of the current <td>
        self.grids: list[_Grid] = [_Grid()]  # one per open <table> (tables nest)
        self.pre = 0
        self.skip = 0

    def text(self, chunk: str | None) -> None:
        if not chunk or self.skip:
            return
        if self.cell is not None:
            self.cell.append(chunk)
        else:
            self.line.append(chunk)

    def flush_line(self) -> None:
        if self.line:
            joined = "".join(self.line)
            self.line = []
            if self.pre:
                self.rows.extend(text_rows(joined))
                self.blank_null.extend(False for _ in text_rows(joined))
            elif joined.strip():
                self.rows.append([joined])
                self.blank_null.append(False)

    def start(self, tag: str, element: object = None) -> None:
        """`element`: the tag's element (a cell's colspan/rowspan are read from it)."""
        if tag in _SKIP:
            self.skip += 1
            return
        if self.skip:
            return
        if tag == "table":
            self.grids.append(_Grid())
        if tag in _CELL:
            get = element.get  # type: ignore[attr-defined]
            self.span = (_span(get("colspan")), _span(get("rowspan")))
            if element in self.layout:
                self.open_layout(element)
                return
        if tag == "tr":
            self.flush_line()
            self.tr = []
        elif tag in _CELL:
            if self.tr is None:  # a stray cell outside <tr>
                self.flush_line()
                self.tr = []
            self.cell = []
        elif tag == "img":
            self.image()
        elif tag == "br" and self.cell is None:
            self.flush_line()
        elif tag == "pre":
            self.flush_line()
            self.pre += 1
        elif tag in _BLOCK and self.cell is None:
            self.flush_line()

    def end(self, tag: str, element: object = None) -> None:
        if tag in _SKIP:
            self.skip -= 1
            return
        if self.skip:
            return
        if self.outer and self.outer[-1][0] is element:
            self.close_layout()
        elif tag in _CELL and self.cell is not None and self.tr is not None:
            self.tr.append(("".join(self.cell), *self.span))
            self.cell = None
        elif tag == "tr" and self.tr is not None:
            self.end_row()
        elif tag == "pre":
            self.flush_line()
            self.pre -= 1
        elif tag in _BLOCK and self.cell is None:
            if tag == "table" and self.tr is not None:
                self.end_row()
            if tag == "table" and len(self.grids) > 1:
                self.grids.pop()
            self.flush_line()

    def open_layout(self, cell: object) -> None:
        """Set the enclosing row aside: the cell's content flows as lines and tables."""
        self.flush_line()
        if self.tr is None:  # a stray cell outside <tr>
            self.tr = []
        self.outer.append((cell, self.tr, self.span))
        self.tr, self.cell = None, None

    def close_layout(self) -> None:
        """Back in the enclosing row; the layout cell keeps its grid position, but no text."""
        self.flush_line()
        if self.tr is not None:
            self.end_row()
        _, self.tr, span = self.outer.pop()
        self.tr.append((COVERED, *span))  # type: ignore[union-attr]

    def end_row(self) -> None:
        if self.cell is not None and self.tr is not None:
            self.tr.append(("".join(self.cell), *self.span))
            self.cell = None
        if self.tr:
            self.rows.append(self.grids[-1].place(self.tr))
            self.blank_null.append(True)
        self.tr = None

    def image(self) -> None:
        if self.cell is not None:
            self.cell.append(IMAGE)
            return
        self.flush_line()
        self.rows.append([IMAGE])
        self.blank_null.append(False)


def html_rows(root: etree._Element) -> tuple[list[list[str]], list[bool]]:
    """Rows of a parsed page: table rows (blank cells kept), paragraphs, <pre> TSV lines."""
    collector = _Collector(_layout_cells(root))
    start, end, text = collector.start, collector.end, collector.text
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = _tag_name(el.tag)
        if event == "start":
            if tag in _STRUCTURE:
                start(tag, el)
            if tag:
                text(el.text)
        else:
            if tag in _STRUCTURE:
                end(tag, el)
            text(el.tail)
    collector.flush_line()
    if collector.tr is not None:
        collector.end_row()
    rows = [[IMAGE] if IMAGE in "".join(r) and len(r) == 1 else r for r in collector.rows]
    return rows, collector.blank_null


# Tags the collector acts on; any other (span, a, font, strong…) only carries text, so the walk
# does not call it for them: most elements of a Word-pasted report are such inline tags.
_STRUCTURE = _SKIP | _BLOCK | _CELL | {"tr", "img", "br", "pre"}


def _tag_name(tag: object) -> str:
    """An element's lower-case local name; '' for comments, entities and processing
    instructions (whose `tag` is a function)."""
    if not isinstance(tag, str):
        return ""
    if tag.islower() and "}" not in tag:
        return tag
    return tag.rsplit("}", 1)[-1].lower()


def _layout_cells(root: etree._Element) -> frozenset[object]:
    """Cells that hold a table: for each table, the nearest enclosing <td>/<th>."""
    cells = set()
    for table in root.iter("table"):
        cell = next(table.iterancestors("td", "th"), None)
        if cell is not None:
            cells.add(cell)
    return frozenset(cells)


def parse_tree(markup: str) -> etree._Element | None:
    """Parse HTML leniently; None when nothing usable comes out (empty, binary, hostile)."""
    if not markup or not markup.strip():
        return None
    # lxml's own HTML parser, not lxml.html's: that one looks up a Python element class for
    # every element the walk touches, a third of the walk's time; nothing here needs its methods.
    parser = etree.HTMLParser(huge_tree=True, remove_comments=True, remove_pis=True)
    try:
        return etree.fromstring(markup, parser=parser)
    except (etree.ParserError, ValueError, etree.XMLSyntaxError):
        return None


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*>|<!--.*?-->", re.S)
_SKIP_BLOCK = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.S | re.I)


def flat_html_rows(markup: str) -> tuple[list[list[str]], list[bool]]:
    """Fallback for pages lxml cannot hold (nesting deeper than libxml2 allows): tags read flat.

    Cells become TAB-separated fields, rows and blocks become lines; then the text rules apply.
    """
    body = _SKIP_BLOCK.sub(" ", markup)

    def replace(found: re.Match[str]) -> str:
        tag = (found.group(2) or "").lower()
        if tag in _CELL and not found.group(1):
            return "\t"
        if tag == "tr" or tag in _BLOCK or tag == "br":
            return "\n"
        if tag == "img":
            return f"\n{IMAGE}\n"
        return ""

    text = htmllib.unescape(_TAG.sub(replace, body))
    rows = text_rows(text)
    return rows, [False] * len(rows)
