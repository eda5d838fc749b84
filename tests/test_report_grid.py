"""HTML tables are laid out on a grid: rowspan/colspan cells cover positions, blanks stay blank."""

from __future__ import annotations

import time

from crawler.report import parse_html
from crawler.report.tables import COVERED, html_rows, parse_tree

C = COVERED


def grid(markup: str) -> list[list[str]]:
    root = parse_tree(f"<html><body>{markup}</body></html>")
    assert root is not None
    rows, _ = html_rows(root)
    return rows


def test_spans_are_expanded_into_a_grid() -> None:
    rows = grid(
        "<table>"
        "<tr><td rowspan=2 colspan=2>a</td><td>b</td></tr>"
        "<tr><td>c</td></tr>"
        "<tr><td>d</td><td colspan=2>e</td></tr>"
        "<tr><td rowspan='3'>f</td><td>g</td><td></td></tr>"
        "<tr><td>h</td></tr>"
        "</table>"
    )
    assert rows == [
        ["a", C, "b"],
        [C, C, "c"],
        ["d", "e", C],
        ["f", "g", ""],  # a published blank cell stays a blank cell
        [C, "h"],  # the rowspan still covers column 0 in the next row
    ]


def test_nested_and_consecutive_tables_keep_their_own_grids() -> None:
    rows = grid(
        "<table><tr><td rowspan=3>x</td><td>1</td></tr></table>"
        "<table><tr><td>y</td><td>2</td></tr></table>"
    )
    assert rows == [["x", "1"], ["y", "2"]]


def test_hostile_spans_are_bounded() -> None:
    cells = "".join("<td colspan=99999999 rowspan=abc>1</td>" for _ in range(2000))
    started = time.perf_counter()
    rows = grid(f"<table><tr>{cells}</tr><tr>{cells}</tr></table>")
    assert time.perf_counter() - started < 5
    assert all(len(row) < 2000 + 256 for row in rows)


def test_a_spanned_requests_table_parses_to_the_same_cells_as_a_plain_one() -> None:
    head = "<p>三、收到和处理政府信息公开申请情况</p>"
    numbers = ["5", "1", "0", "0", "0", "0", "6"]
    plain = "".join(f"<td>{n}</td>" for n in numbers)
    spanned = (
        "<table><tr><td colspan=3 rowspan=2>一、本年新收政府信息公开申请数量</td>"
        f"{plain}</tr><tr>{plain}</tr></table>"
    )
    flat = f"<table><tr><td>一、本年新收政府信息公开申请数量</td>{plain}</tr></table>"
    got = parse_html(head + spanned).cell_rows()
    assert got == parse_html(head + flat).cell_rows()
    assert [c["value"] for c in got] == [5, 1, 0, 0, 0, 0, 6]
