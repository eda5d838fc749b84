"""The template's arithmetic identities (勾稽关系) as named checks over parsed cells.

A failed check means a mis-parse or a publisher's error; either way the values are kept as
published and the check says where (row/column, expected vs found). An identity with a null or
missing term cannot be evaluated: it is not emitted as a check but named in a note, so that a
report with '-' cells is never called inconsistent by accident (nor consistent: the report's
`consistent` is then null, as it is when a table is missing).
"""

from __future__ import annotations

from collections.abc import Sequence

from crawler.report.model import Cell, Check
from crawler.report.schema import (
    APPLICANT_COLS,
    REQUEST_COLS,
    RESULT_ROWS,
    REVIEW_COLS,
    REVIEW_ROWS,
)

UNCHECKED = "not checkable"  # prefix of the note naming an identity that was not evaluated
Grid = dict[tuple[str, str], int | float | None]
_ABSENT = object()


def evaluate(cells: Sequence[Cell], fmt: str | None) -> tuple[list[Check], list[str]]:
    """All checks for the sections present, plus 'not checkable: ...' notes."""
    checks: list[Check] = []
    notes: list[str] = []
    requests = _grid(cells, "requests")
    review = _grid(cells, "review_litigation")
    if requests:
        _requests_checks(requests, fmt, checks, notes)
    if review:
        for row in REVIEW_ROWS:  # a row left out is an identity not checked
            terms = [(row, c) for c in REVIEW_COLS[:4]]
            _sum_check(
                review,
                f"review_litigation.row_total[{row}]",
                (row, "total"),
                terms,
                f"row {row}: total",
                checks,
                notes,
            )
    return checks, notes


def _grid(cells: Sequence[Cell], section: str) -> Grid:
    return {(c.row_key, c.col_key): c.value for c in cells if c.section == section}


def _requests_checks(grid: Grid, fmt: str | None, checks: list[Check], notes: list[str]) -> None:
    for col in REQUEST_COLS:
        _balance(grid, col, checks, notes)
    if fmt not in RESULT_ROWS:
        notes.append(f"{UNCHECKED}: requests.results_sum[*] (format 2019/2021 undecided)")
    for col in REQUEST_COLS if fmt in RESULT_ROWS else ():
        terms = [(row, col) for row in RESULT_ROWS[fmt or ""]]
        _sum_check(
            grid,
            f"requests.results_sum[{col}]",
            ("total_processed", col),
            terms,
            f"column {col}: （七）总计",
            checks,
            notes,
        )
    for row in sorted({r for r, _ in grid}):
        terms = [(row, c) for c in APPLICANT_COLS]
        _sum_check(
            grid,
            f"requests.row_total[{row}]",
            (row, "total"),
            terms,
            f"row {row}: 总计",
            checks,
            notes,
        )


def _balance(grid: Grid, col: str, checks: list[Check], notes: list[str]) -> None:
    """new + carried_over == total_processed + carried_forward, in one column."""
    name = f"requests.balance[{col}]"
    keys = [(r, col) for r in ("new", "carried_over", "total_processed", "carried_forward")]
    values = [grid.get(k, _ABSENT) for k in keys]
    missing = [f"{r}" for (r, _), v in zip(keys, values, strict=True) if v is None or v is _ABSENT]
    if missing:
        notes.append(f"{UNCHECKED}: {name} (null or missing: {', '.join(missing)})")
        return
    new, carried, processed, forward = values
    left, right = new + carried, processed + forward  # type: ignore[operator]
    ok = _equal(left, right)
    detail = (
        f"column {col}: new+carried_over = {_fmt(new)}+{_fmt(carried)} = {_fmt(left)}, "
        f"total_processed+carried_forward = {_fmt(processed)}+{_fmt(forward)} = {_fmt(right)}"
    )
    checks.append(Check(name, ok, detail if not ok else detail + " (ok)"))


def _sum_check(
    grid: Grid,
    name: str,
    total_key: tuple[str, str],
    terms: list[tuple[str, str]],
    where: str,
    checks: list[Check],
    notes: list[str],
) -> None:
    """grid[total_key] == sum of grid[terms]; skipped with a note when a term is null/missing."""
    total = grid.get(total_key, _ABSENT)
    values = [grid.get(k, _ABSENT) for k in terms]
    missing = [
        "/".join(k)
        for k, v in zip([total_key, *terms], [total, *values], strict=True)
        if v is None or v is _ABSENT
    ]
    if missing:
        shown = ", ".join(missing[:4]) + (" …" if len(missing) > 4 else "")
        notes.append(f"{UNCHECKED}: {name} (null or missing: {shown})")
        return
    found = sum(values)  # type: ignore[arg-type]
    ok = _equal(total, found)  # type: ignore[arg-type]
    detail = f"{where} = {_fmt(total)}, sum of {len(terms)} terms = {_fmt(found)}"
    checks.append(Check(name, ok, detail if not ok else detail + " (ok)"))


def _equal(a: float, b: float) -> bool:
    return abs(a - b) < 1e-6


def _fmt(value: object) -> str:
    return str(value)
