"""Bad input gives a clear result (no cells + a note, or only the certain cells), never a crash
or a hang; each case is bounded in time."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from crawler.report import Report, parse_html, parse_text
from crawler.report.render import render_html, render_text

CORPUS = Path("/work/shared/corpus/reports")
LIMIT = 5.0  # seconds per case


def timed(fn, arg: str) -> Report:
    start = time.perf_counter()
    report = fn(arg)
    assert time.perf_counter() - start < LIMIT
    assert isinstance(report, Report)
    return report


def no_cells_with_note(report: Report) -> None:
    assert report.cells == []
    assert report.sections == []
    assert report.notes, "a note says why"
    assert report.consistent is None
    assert report.format is None


@pytest.mark.parametrize("fn", [parse_text, parse_html])
@pytest.mark.parametrize("text", ["", "   \n\t\n", "\x00\x00", "<", "<<<>>>", "]]>"])
def test_empty_and_trivial(fn, text: str) -> None:
    no_cells_with_note(timed(fn, text))


@pytest.mark.parametrize("fn", [parse_text, parse_html])
def test_binary_garbage(fn) -> None:
    garbage = random.Random(1).randbytes(200_000) + os.urandom(1000)
    no_cells_with_note(timed(fn, garbage.decode("utf-8", errors="replace")))


def test_ten_megabyte_page() -> None:
    filler = "<div><p>政务公开工作稳步推进，全年共发布信息12条。</p></div>\n" * 180_000
    page = f"<html><body>{filler}</body></html>"
    assert len(page.encode()) > 10_000_000
    no_cells_with_note(timed(parse_html, page))


def test_ten_megabyte_text() -> None:
    no_cells_with_note(timed(parse_text, "政务公开工作稳步推进。\n12\t13\n" * 600_000))


def test_deeply_nested_html() -> None:
    page = "<div>" * 5000 + "<p>二、主动公开政府信息情况</p>" + "</div>" * 5000
    report = timed(parse_html, page)
    no_cells_with_note(report)
    assert any(n.startswith("active: heading found") for n in report.notes)


def test_deeply_nested_tables() -> None:
    page = "<table><tr><td>" * 2000 + "规章" + "</td></tr></table>" * 2000
    no_cells_with_note(timed(parse_html, page))


def test_report_without_tables() -> None:
    text = "\n".join(
        [
            "某县2021年政府信息公开工作年度报告",
            "一、总体情况",
            "2021年共收到申请70件，办结69件。",
            "二、主动公开政府信息情况",
            "全年主动公开信息2645条。",
            "三、收到和处理政府信息公开申请情况",
            "共收到申请70件，予以公开27件。",
            "四、政府信息公开行政复议、行政诉讼情况",
            "被申请行政复议3件，行政诉讼12件。",
            "五、存在的主要问题及改进情况",
        ]
    )
    report = timed(parse_text, text)
    no_cells_with_note(report)
    assert report.year == 2021
    assert report.organization == "某县人民政府"
    assert all("heading found but no table" in n for n in report.notes)


def test_table_as_image() -> None:
    page = (
        "<h2>二、主动公开政府信息情况</h2><p><img src='t1.png'></p>"
        "<h2>三、收到和处理政府信息公开申请情况</h2><img src='t2.png'>"
        "<h2>四、政府信息公开行政复议、行政诉讼情况</h2><p>见下表。</p>"
        "<h2>五、存在的主要问题及改进情况</h2>"
    )
    report = timed(parse_html, page)
    no_cells_with_note(report)
    assert [n.split(":")[0] for n in report.notes if "image" in n and "published" in n] == [
        "active",
        "requests",
    ]


@pytest.mark.parametrize("name", ["pingtan_2020_page.txt", "pingtan_2021_page.txt"])
def test_concatenated_cells_are_not_guessed(name: str) -> None:
    path = CORPUS / name
    if not path.exists():
        pytest.skip("shared corpus not available")
    report = timed(parse_text, path.read_text(encoding="utf-8"))
    no_cells_with_note(report)
    glued = [n for n in report.notes if "run together without separators" in n]
    assert [n.split(":")[0] for n in glued] == ["active", "requests", "review_litigation"]


def _table(rows: list[list[str]]) -> str:
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table>{body}</table>"


def test_row_with_missing_column_is_left_out() -> None:
    page = "<h2>二、主动公开政府信息情况</h2>" + _table(
        [
            ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"],
            ["规章", "1", "2", "3"],
            ["行政规范性文件", "4", "5"],  # a column missing
            ["行政许可", "9"],
        ]
    )
    report = timed(parse_html, page)
    keys = {(c.row_key, c.col_key): c.value for c in report.cells}
    assert keys == {
        ("regulations", "issued"): 1,
        ("regulations", "repealed"): 2,
        ("regulations", "in_force"): 3,
        ("licensing", "decisions"): 9,
    }
    assert "active.normative_documents: found 2 values, expected 3" in report.notes


def test_row_with_extra_differing_column_is_not_guessed() -> None:
    rows = [["（本列数据的勾稽关系为：…）", "申请人情况"], ["一、本年新收政府信息公开申请数量"]]
    rows[1] += ["1", "2", "3", "4", "5", "6", "21", "9"]  # 8 different numbers for 7 columns
    page = "<h2>三、收到和处理政府信息公开申请情况</h2>" + _table(rows)
    report = timed(parse_html, page)
    assert report.cells == []
    assert any("placement ambiguous, not guessed" in n for n in report.notes)


def test_blank_html_cells_are_nulls_and_make_checks_uncheckable() -> None:
    page = "<h2>四、政府信息公开行政复议、行政诉讼情况</h2>" + _table(
        [["行政复议", "1", "", "0", "0", "1"]]
    )
    report = timed(parse_html, page)
    cells = {(c.row_key, c.col_key): (c.value, c.raw) for c in report.cells}
    assert cells[("review", "corrected")] == (None, "")
    assert report.checks == []
    assert any(
        n.startswith("not checkable: review_litigation.row_total[review]") for n in report.notes
    )


def test_narrative_numbers_after_table_are_not_cells() -> None:
    text = render_text(
        "2021",
        {
            ("review_litigation", "review", c): "1"
            for c in ("upheld", "corrected", "other", "pending")
        }
        | {("review_litigation", "review", "total"): "4"},
        "2021年报告",
        "tab_lines",
    )
    report = timed(parse_text, text)
    assert report.cells == []  # 5 numbers where 15 are expected: nothing is guessed
    page = render_html("2021", {}, "2021年报告")
    assert timed(parse_html, page).cells == []
