"""Random tables that satisfy every identity survive rendering in every shape and parse back.

Tables are drawn per format; rendered as HTML (template rowspan/colspan plus random extra
spans, Word runs split mid-word, split tables, paragraph cells, <pre> TSV) or as text (TSV with
shifted rows, TAB-prefixed cells with broken labels, blank-line paragraphs). The parser must
return exactly the drawn cells; breaking one identity must trip the matching named check.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.report import Report, parse_html, parse_text
from crawler.report.render import Data, Style, render_html, render_text
from crawler.report.schema import (
    ACTIVE_COLS,
    APPLICANT_COLS,
    REQUEST_ROW_ORDER,
    RESULT_ROWS,
    REVIEW_COLS,
)
from crawler.report.values import parse_value

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LAYOUTS = ("table", "word", "split", "spans", "paragraphs", "pre", "tsv", "tab_lines", "blank")

count = st.integers(0, 40) | st.just(0)
plain = count.map(str)
change = st.sampled_from(["减22", "+1", "-113", "增6769件", "无增减", "0", "1670", "+245"])
money = st.sampled_from(["80977.16万", "131300万元", "27.88亿", "2896", "251000元", "1210.06"])
nulls = st.sampled_from(["-", "/", "——", "无"])
with_unit = st.integers(0, 999).map(lambda n: f"{n}个")


def active_raw(col: str) -> st.SearchStrategy[str]:
    if col == "items_change":
        return change | nulls
    if col in ("procurement_amount", "fee_amount"):
        return money
    return plain | with_unit | nulls


@st.composite
def tables(draw: st.DrawFn) -> tuple[str, Data]:
    fmt = draw(st.sampled_from(["2019", "2021"]))
    data: Data = {}
    for row, cols in ACTIVE_COLS[fmt].items():
        for col in cols:
            data[("active", row, col)] = draw(active_raw(col))
    grid: dict[tuple[str, str], int] = {}
    for col in APPLICANT_COLS:
        results = {row: draw(count) for row in RESULT_ROWS[fmt]}
        processed = sum(results.values())
        forward = draw(st.integers(0, 10))
        carried = draw(st.integers(0, processed + forward))
        grid.update({(row, col): v for row, v in results.items()})
        grid[("total_processed", col)] = processed
        grid[("carried_forward", col)] = forward
        grid[("carried_over", col)] = carried
        grid[("new", col)] = processed + forward - carried
    for row in REQUEST_ROW_ORDER[fmt]:
        grid[(row, "total")] = sum(grid[(row, c)] for c in APPLICANT_COLS)
    data.update({("requests", r, c): str(v) for (r, c), v in grid.items()})
    for row in ("review", "litigation_direct", "litigation_after_review"):
        parts = [draw(count) for _ in range(4)]
        for col, v in zip(REVIEW_COLS, [*parts, sum(parts)], strict=True):
            data[("review_litigation", row, col)] = str(v)
    return fmt, data


def render(fmt: str, data: Data, layout: str, seed: int) -> Report:
    title = "临沂市兰山区2021年政府信息公开工作年度报告"
    styles = {
        "table": Style(seed=seed),
        "word": Style(seed=seed, word=True),
        "split": Style(seed=seed, split_tables=True),
        "spans": Style(seed=seed, label_spans=True, word=True, split_tables=True),
    }
    if layout in styles:
        return parse_html(render_html(fmt, data, title, "table", styles[layout]))
    if layout in ("paragraphs", "pre"):
        return parse_html(render_html(fmt, data, title, layout, Style(seed=seed, word=True)))
    shape = {"tsv": "tsv", "tab_lines": "tab_lines", "blank": "blank_lines"}[layout]
    style = Style(seed=seed, shifted=True, broken_labels=True)
    return parse_text(render_text(fmt, data, title, shape, style))


def assert_same_cells(report: Report, data: Data) -> None:
    got = {(c.section, c.row_key, c.col_key): c for c in report.cells}
    assert len(got) == len(report.cells)
    assert set(got) == set(data), (set(data) ^ set(got), report.notes)
    for key, raw in data.items():
        money = key[2] in ("procurement_amount", "fee_amount")
        assert got[key].raw == raw, key
        assert got[key].value == parse_value(raw, money=money), key


@SETTINGS
@given(tables(), st.sampled_from(LAYOUTS), st.integers(0, 10_000))
def test_roundtrip_every_shape(table: tuple[str, Data], layout: str, seed: int) -> None:
    fmt, data = table
    report = render(fmt, data, layout, seed)
    assert_same_cells(report, data)
    assert report.format == fmt
    assert report.sections == ["active", "requests", "review_litigation"]
    assert report.checks and all(c.ok for c in report.checks)
    assert report.consistent == 1


@SETTINGS
@given(tables(), st.sampled_from(LAYOUTS), st.integers(0, 10_000), st.data())
def test_broken_identity_is_caught(
    table: tuple[str, Data], layout: str, seed: int, data_: st.DataObject
) -> None:
    fmt, data = table
    section = data_.draw(st.sampled_from(["requests", "review_litigation"]))
    if section == "requests":
        row = data_.draw(st.sampled_from(REQUEST_ROW_ORDER[fmt]))
        col = data_.draw(st.sampled_from(APPLICANT_COLS))
        expected = f"requests.row_total[{row}]"
    else:
        row = data_.draw(
            st.sampled_from(["review", "litigation_direct", "litigation_after_review"])
        )
        col = data_.draw(st.sampled_from(REVIEW_COLS[:4]))
        expected = f"review_litigation.row_total[{row}]"
    key = (section, row, col)
    data = {**data, key: str(int(data[key]) + 1)}
    report = render(fmt, data, layout, seed)
    assert_same_cells(report, data)
    failed = {c.check: c for c in report.checks if not c.ok}
    assert expected in failed, (expected, sorted(failed))
    assert row in failed[expected].detail
    assert report.consistent == 0


def test_balance_and_results_sum_checks_name_the_column() -> None:
    fmt, data = "2021", {}
    for row in REQUEST_ROW_ORDER[fmt]:
        for col in (*APPLICANT_COLS, "total"):
            data[("requests", row, col)] = "0"
    data[("requests", "new", "natural_person")] = "1"
    data[("requests", "new", "total")] = "1"
    report = parse_html(render_html(fmt, data, "2021年报告"))
    failed = {c.check: c.detail for c in report.checks if not c.ok}
    assert set(failed) == {"requests.balance[natural_person]", "requests.balance[total]"}
    assert "new+carried_over = 1+0 = 1" in failed["requests.balance[natural_person]"]
    assert report.consistent == 0
    data[("requests", "total_processed", "natural_person")] = "1"
    data[("requests", "total_processed", "total")] = "1"
    report = parse_html(render_html(fmt, data, "2021年报告"))
    failed = {c.check for c in report.checks if not c.ok}
    assert failed == {"requests.results_sum[natural_person]", "requests.results_sum[total]"}
