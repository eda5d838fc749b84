"""`consistent` (interface.md): 1 only when every identity was evaluated and holds, 0 when one
fails, null otherwise. The schema makes a blank or '-' cell null, not 0, so an identity with a
null or missing term is not checkable, and the report is then neither consistent nor not."""

from __future__ import annotations

import json
from pathlib import Path

from crawler.report import parse_html, parse_text
from crawler.report.render import Data, render_html
from crawler.report.schema import ACTIVE_COLS, REQUEST_COLS, REQUEST_ROW_ORDER, REVIEW_COLS

SEEDS = Path(__file__).resolve().parent / "seeds"
SEED = "001_b48d038ea651e507.txt"  # complete and consistent; 2019 format, one cell per line


def _blank_template() -> Data:
    data: Data = {("active", r, c): "" for r, cols in ACTIVE_COLS["2021"].items() for c in cols}
    data |= {("requests", r, c): "" for r in REQUEST_ROW_ORDER["2021"] for c in REQUEST_COLS}
    rows = ("review", "litigation_direct", "litigation_after_review")
    return data | {("review_litigation", r, c): "" for r in rows for c in REVIEW_COLS}


def test_blank_template_is_not_consistent() -> None:
    report = parse_html(render_html("2021", _blank_template(), "2021年政府信息公开工作年度报告"))
    assert report.sections == ["active", "requests", "review_litigation"]
    assert report.cells and all(c.value is None for c in report.cells)
    assert report.checks == []
    assert report.consistent is None


def _seed_without(label: str, count: int) -> str:
    """The seed text with a labelled line and the `count` value lines after it removed."""
    lines = (SEEDS / SEED).read_text(encoding="utf-8").split("\n")
    at = next(n for n, line in enumerate(lines) if label in line)
    values = [n for n in range(at + 1, len(lines)) if lines[n].strip()][:count]
    return "\n".join(line for n, line in enumerate(lines) if n != at and n not in values)


def test_complete_seed_is_consistent() -> None:
    assert parse_text((SEEDS / SEED).read_text(encoding="utf-8")).consistent == 1


def test_missing_requests_row_is_not_consistent() -> None:
    report = parse_text(_seed_without("属于国家秘密", 7))
    assert not {c for c in report.cells if c.row_key == "withheld_state_secret"}
    assert all(c.ok for c in report.checks)
    assert any("results_sum" in n and "not checkable" in n for n in report.notes)
    assert report.consistent is None


def test_missing_review_row_is_not_consistent() -> None:
    page = (
        "<h2>四、政府信息公开行政复议、行政诉讼情况</h2><table>"
        "<tr><td>行政复议</td>" + "<td>1</td>" * 4 + "<td>4</td></tr>"
        "<tr><td>未经复议直接起诉</td>" + "<td>0</td>" * 5 + "</tr></table>"
    )
    report = parse_html(page)
    assert {c.row_key for c in report.cells} == {"review", "litigation_direct"}
    assert {c.check for c in report.checks if c.ok} == {
        "review_litigation.row_total[review]",
        "review_litigation.row_total[litigation_direct]",
    }
    assert any("row_total[litigation_after_review]" in n for n in report.notes)
    assert report.consistent is None


def test_failed_identity_wins_over_unchecked() -> None:
    text = _seed_without("属于国家秘密", 7)
    truth = json.loads((SEEDS / "truth.json").read_text(encoding="utf-8"))[SEED]["tables"]
    new_total = str(truth["requests"]["new"]["total"])
    lines = text.split("\n")
    at = next(n for n, line in enumerate(lines) if "本年新收" in line)
    total = next(n for n in range(at + 1, at + 20) if lines[n].strip() == new_total)
    lines[total] = lines[total].replace(new_total, str(int(new_total) + 1))
    report = parse_text("\n".join(lines))
    assert "requests.row_total[new]" in {c.check for c in report.checks if not c.ok}
    assert report.consistent == 0
