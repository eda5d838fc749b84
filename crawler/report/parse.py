"""The matcher: tokens -> sections -> labelled rows -> cells; and the two public entry points.

A section runs from its heading to the next report heading. Inside it, a cell whose text (alone
or joined with the following cells) is a row label of the template takes the value cells that
follow it: within its own row when the row is delimited (TSV line, <tr>), else the run of value
cells up to the next label. The count must fit the template: surplus cells are dropped only when
every placement gives the same numbers, otherwise the row is left out with a note. Numbers are
only ever read from cells that are numbers as a whole, never out of sentences.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from crawler.report import meta
from crawler.report.checks import UNCHECKED, evaluate
from crawler.report.model import Cell, Report
from crawler.report.schema import (
    ACTIVE_COLS,
    FORMAT_SIGNALS,
    LABELS,
    MONEY_COLS,
    REQUEST_COLS,
    REQUEST_ROW_ORDER,
    REVIEW_COLS,
    REVIEW_ROWS,
    SECTIONS,
    Entry,
    label_prefixes,
    norm_label,
)
from crawler.report.tables import (
    COVERED,
    Doc,
    Token,
    flat_html_rows,
    html_rows,
    parse_tree,
    rows_to_doc,
    text_rows,
)
from crawler.report.values import NOT_A_VALUE, parse_value

MAX_INPUT = 20_000_000  # characters; beyond this the input is not a report page
MAX_ROWS = 100_000  # a real report has a few thousand lines/cells; bounds the time on junk
_JOIN_LIMIT = 6  # a label is never broken into more cells than this

# Cells run together with no separator (pingtan pages): label immediately followed by digits.
_GLUED = {
    "active": re.compile(
        r"(?:规章|规范性文件|行政许可|行政处罚|行政强制|行政事业性收费)\d[\d.]{2,}"
    ),
    "requests": re.compile(r"(?:本年新收政府信息公开申请数量|结转下年度继续办理)\d{7,}"),
    "review_litigation": re.compile(r"尚未审结总计\d{15,}"),
}


_GLUED_HINTS = {
    "active": ("规章", "行政许可", "行政处罚", "行政强制", "行政事业性收费"),
    "requests": ("申请数量", "继续办理"),
    "review_litigation": ("审结",),
}


@dataclass
class _Placed:
    """Values found for one row label, before they are turned into cells."""

    key: str
    tokens: list[Token]


# ----- public API ------------------------------------------------------------------------------


def parse_text(text: str) -> Report:
    """Parse the plain text of a report (any of the seed shapes). Never raises on bad input."""
    if not isinstance(text, str):
        raise TypeError("parse_text expects str")
    if len(text) > MAX_INPUT:
        return Report(notes=[f"input too large ({len(text)} characters); not parsed"])
    rows, note = _bounded(text_rows(text))
    report = _parse_doc(rows_to_doc(rows))
    report.notes[:0] = note
    meta.fill_from_text(report, text)
    return report


def parse_html(markup: str, url: str | None = None) -> Report:
    """Parse a report page or fragment (tables, Word HTML, paragraphs, <pre>). Never raises."""
    if not isinstance(markup, str):
        raise TypeError("parse_html expects str")
    if len(markup) > MAX_INPUT:
        return Report(notes=[f"input too large ({len(markup)} characters); not parsed"])
    root = parse_tree(markup)
    if root is None:
        return Report(notes=["empty or unparseable HTML; no tables"])
    rows, blank_null = html_rows(root)
    if not rows:  # libxml2 drops content nested deeper than it allows: read the tags flat
        rows, blank_null = flat_html_rows(markup)
    rows, note = _bounded(rows)
    report = _parse_doc(rows_to_doc(rows, blank_null[: len(rows)]))
    report.notes[:0] = note
    body_text = "\n".join("\t".join(c for c in r if c != COVERED) for r in rows[:400])
    meta.fill_from_html(report, root, body_text)
    return report


def _bounded(rows: list[list[str]]) -> tuple[list[list[str]], list[str]]:
    if len(rows) <= MAX_ROWS:
        return rows, []
    return rows[:MAX_ROWS], [f"input has {len(rows)} lines; only the first {MAX_ROWS} were read"]


# ----- sections ----------------------------------------------------------------------------


def _section_ranges(doc: Doc) -> dict[str, list[tuple[int, int]]]:
    """Every (start, end) token range that follows a heading of each section."""
    marks = [(i, t.heading) for i, t in enumerate(doc.tokens) if t.heading]
    ranges: dict[str, list[tuple[int, int]]] = {s: [] for s in SECTIONS}
    for n, (start, section) in enumerate(marks):
        end = marks[n + 1][0] if n + 1 < len(marks) else len(doc.tokens)
        if section in ranges:
            ranges[section].append((start + 1, end))
    return ranges


def _detect_format(
    doc: Doc, ranges: dict[str, list[tuple[int, int]]], sections: tuple[str, ...]
) -> str | None:
    """'2019' or '2021' from the column/row wording inside the given table sections."""
    text = "".join(
        doc.tokens[i].label
        for section in sections
        for start, end in ranges[section]
        for i in range(start, end)
        if not doc.tokens[i].prose
    )
    scores = {fmt: sum(text.count(s) for s in signals) for fmt, signals in FORMAT_SIGNALS.items()}
    if scores["2019"] == scores["2021"]:
        return None
    return max(scores, key=scores.__getitem__)


def _requests_format(keys: Iterable[str], fallback: str | None) -> str | None:
    """The template of a requests table, from its own result rows: 2021 split （六）其他处理.

    Some 2021 reports reuse the 2019 active table over a 2021 requests table (or the other way
    round), so the rows kept and the identities checked follow this table, not the report.
    """
    keys = set(keys)
    if keys & {"other_no_correction", "other_unpaid_fee"}:
        return "2021"
    if "other" in keys:  # before other_other: a bare '其他' may be a column header cell
        return "2019"
    return "2021" if "other_other" in keys else fallback


# ----- label matching ----------------------------------------------------------------------


def _match_label(doc: Doc, i: int, end: int, section: str) -> tuple[int, Entry | None]:
    """Longest run of cells from i whose joined text is a label; returns (last index, entry)."""
    labels, prefixes = LABELS[section], label_prefixes(section)
    raw = ""
    best: tuple[int, Entry | None] = (i, None)
    for j in range(i, min(end, i + _JOIN_LIMIT)):
        token = doc.tokens[j]
        if token.is_value or token.prose or token.is_image:
            break
        raw += token.raw
        label = token.label if j == i else norm_label(raw)
        if label in labels:
            best = (j, labels[label])
        if label not in prefixes:
            break
    return best


def _values_after(doc: Doc, j: int, end: int) -> tuple[list[Token], int]:
    """Value cells belonging to the label at j, and the index where scanning resumes."""
    tokens = doc.tokens
    row = tokens[j].row
    k = j + 1
    if doc.delimited(row) and k < end and tokens[k].row == row and tokens[k].is_value:
        out = []
        while k < end and tokens[k].row == row and tokens[k].is_value:
            out.append(tokens[k])
            k += 1
        return out, k
    out = []
    while k < end and tokens[k].is_value:
        out.append(tokens[k])
        k += 1
    return out, k


def _fit(values: list[Token], n: int) -> tuple[list[Token] | None, str | None]:
    """Exactly n values out of the cells found, or None with the reason."""
    while len(values) > n and values[-1].raw == "":
        values = values[:-1]
    while len(values) > n and values[0].raw == "":
        values = values[1:]
    if len(values) == n:
        return values, None
    if len(values) < n:
        return None, f"found {len(values)} values, expected {n}"
    windows = [values[k : k + n] for k in range(len(values) - n + 1)]
    if len({tuple(t.raw for t in w) for w in windows}) == 1:
        return windows[0], f"{len(values)} values for {n} columns; surplus dropped (all equal)"
    return None, f"{len(values)} values for {n} columns; placement ambiguous, not guessed"


# ----- section parsers ------------------------------------------------------------------------


def _scan(doc: Doc, start: int, end: int, section: str) -> tuple[list[_Placed], list[list[Token]]]:
    """Labelled rows of one range, plus runs of value cells no label claimed.

    The unclaimed runs matter for review_litigation, whose 15 numbers usually sit in one row
    under a three-level header with no row label at all.
    """
    placed: list[_Placed] = []
    runs: list[list[Token]] = [[]]
    i = start
    while i < end:
        token = doc.tokens[i]
        if token.is_value:
            runs[-1].append(token)
            i += 1
            continue
        if runs[-1]:
            runs.append([])
        if token.prose:
            if placed or any(len(r) >= 15 for r in runs):
                break  # narrative after the table: its numbers are not cells
            i += 1
            continue
        j, entry = _match_label(doc, i, end, section)
        if entry is not None and entry.kind == "row":
            values, k = _values_after(doc, j, end)
            # One blank cell after a label is Word's spacer, not an all-null row.
            if values and (len(values) > 1 or values[0].raw):
                placed.append(_Placed(entry.key or "", values))
                i = k
                continue
        i = j + 1
    return placed, [r for r in runs if r]


def _cells_from_rows(section: str, placed: list[_Placed], cols_of, notes: list[str]) -> list[Cell]:
    """Turn labelled value runs into cells; unknown rows or bad counts become notes."""
    cells: list[Cell] = []
    seen: set[str] = set()
    for item in placed:
        cols = cols_of(item.key)
        if cols is None or item.key in seen:
            continue
        values, problem = _fit(item.tokens, len(cols))
        if problem:
            notes.append(f"{section}.{item.key}: {problem}")
        if values is None:
            continue
        seen.add(item.key)
        cells.extend(
            _cell(section, item.key, col, tok) for col, tok in zip(cols, values, strict=True)
        )
    return cells


def _cell(section: str, row: str, col: str, token: Token) -> Cell:
    value = parse_value(token.raw, money=col in MONEY_COLS) if col in MONEY_COLS else token.value
    assert value is not NOT_A_VALUE
    return Cell(section, row, col, value, token.raw)  # type: ignore[arg-type]


def _parse_active(placed: list[_Placed], fmt: str | None, notes: list[str]) -> list[Cell]:
    if fmt is None:
        if placed:
            notes.append("active: table found but its format (2019/2021) is unclear; not mapped")
        return []
    return _cells_from_rows("active", placed, ACTIVE_COLS[fmt].get, notes)


def _parse_requests(placed: list[_Placed], fmt: str | None, notes: list[str]) -> list[Cell]:
    """Rows of the table's template; with it undecided, the rows common to both are still sure."""
    fmt = _requests_format((p.key for p in placed), fmt)
    allowed = (
        set(REQUEST_ROW_ORDER[fmt])
        if fmt
        else set(REQUEST_ROW_ORDER["2019"]) & set(REQUEST_ROW_ORDER["2021"])
    )
    return _cells_from_rows(
        "requests", placed, lambda k: REQUEST_COLS if k in allowed else None, notes
    )


def _parse_review(placed: list[_Placed], runs: list[list[Token]], notes: list[str]) -> list[Cell]:
    """Labelled rows if all three fit, else the 15-number run under the three-level header.

    Header labels (未经复议直接起诉, 复议后起诉) followed by Word's empty cells look like rows
    with too few values; then the unlabelled run of 15 is the table, not those labels.
    """
    row_notes: list[str] = []
    cells = _cells_from_rows("review_litigation", placed, lambda k: REVIEW_COLS, row_notes)
    if len(cells) == len(REVIEW_ROWS) * len(REVIEW_COLS):
        notes.extend(row_notes)
        return cells
    problem = None
    for run in runs:
        values, problem = _fit(run, 15)
        if values is not None:
            keys = list(REVIEW_ROWS)
            return [
                _cell("review_litigation", keys[n // 5], REVIEW_COLS[n % 5], tok)
                for n, tok in enumerate(values)
            ]
    notes.extend(row_notes)
    if problem and any(len(r) > 1 for r in runs):
        notes.append(f"review_litigation: {problem}")
    return cells


def _parse_doc(doc: Doc) -> Report:
    report = Report()
    ranges = _section_ranges(doc)
    overall = _detect_format(doc, ranges, ("active", "requests"))
    formats = {
        section: _detect_format(doc, ranges, (section,)) or overall
        for section in ("active", "requests")
    }
    for section in SECTIONS:
        cells, notes = _best_section(doc, section, ranges[section], formats.get(section))
        if cells:
            report.cells.extend(cells)
            report.sections.append(section)
            report.notes.extend(notes)
        else:
            report.notes.append(_absent_note(doc, section, ranges[section], notes))
    if "requests" in report.sections:  # format = the requests table's template
        keys = (c.row_key for c in report.cells if c.section == "requests")
        report.format = _requests_format(keys, formats["requests"])
    elif report.sections:
        report.format = formats["active"]
    report.checks, check_notes = evaluate(report.cells, report.format)
    report.notes.extend(check_notes)
    unchecked = any(n.startswith(UNCHECKED) for n in check_notes)
    report.consistent = _consistent(report, unchecked)
    return report


def _best_section(
    doc: Doc, section: str, ranges: Iterable[tuple[int, int]], fmt: str | None
) -> tuple[list[Cell], list[str]]:
    """Cells of the occurrence of a heading that holds the most cells (a TOC holds none)."""
    best: list[Cell] = []
    best_notes: list[str] = []
    for start, end in ranges:
        notes: list[str] = []
        placed, runs = _scan(doc, start, end, section)
        if section == "active":
            cells = _parse_active(placed, fmt, notes)
        elif section == "requests":
            cells = _parse_requests(placed, fmt, notes)
        else:
            cells = _parse_review(placed, runs, notes)
        if len(cells) > len(best) or (not best and notes and not best_notes):
            best, best_notes = cells, notes
    return best, best_notes


def _absent_note(doc: Doc, section: str, ranges: list[tuple[int, int]], extra: list[str]) -> str:
    """Why a section has no cells: no heading, an image, glued cells, or nothing after it."""
    detail = f" ({'; '.join(extra)})" if extra else ""
    glued = _glued(doc, section)
    if glued:
        return (
            f"{section}: table cells run together without separators (e.g. '{glued}'); not guessed"
        )
    if not ranges:
        return f"{section}: section heading not found; no table"
    for start, end in reversed(ranges):
        if any(doc.tokens[i].is_image for i in range(start, end)):
            return f"{section}: table published as an image; no cells{detail}"
    return f"{section}: heading found but no table follows (image or missing){detail}"


def _glued(doc: Doc, section: str) -> str | None:
    """A label with its numbers glued on ('规章007规范性文件7777166'), if the text has one."""
    pattern, hints = _GLUED[section], _GLUED_HINTS[section]
    for token in doc.tokens:
        raw = token.raw
        if token.is_value or len(raw) < 8 or not any(h in raw for h in hints):
            continue
        found = pattern.search(norm_label(raw))
        if found:
            return found.group(0)[:40]
    return None


def _consistent(report: Report, unchecked: bool) -> int | None:
    """0 if an identity fails; 1 only if every identity was evaluated and holds; else None.

    The schema makes a blank/'-' cell null, not 0, and an identity with a null term is not
    checkable: such a report, like one with a table or row missing, is neither 0 nor 1.
    """
    if any(not c.ok for c in report.checks):
        return 0
    if unchecked or any(s not in report.sections for s in SECTIONS):
        return None
    return 1
