"""The five real seed reports parse to exactly their hand-checked truth (text and HTML)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from crawler.report import Report, parse_html, parse_text
from crawler.report.render import (
    HEADINGS,
    Style,
    active_table,
    html_table,
    render_html,
    requests_table,
    review_table,
    truth_data,
)

SEEDS = Path(__file__).resolve().parent / "seeds"
TRUTH: dict = json.loads((SEEDS / "truth.json").read_text(encoding="utf-8"))
NAMES = sorted(TRUTH)


def expected_cells(name: str) -> dict[tuple[str, str, str], tuple[object, str]]:
    """(section, row, col) -> (value, raw); a plain number's raw is its own text."""
    out = {}
    for section, rows in TRUTH[name]["tables"].items():
        for row, cols in (rows or {}).items():
            for col, v in cols.items():
                out[(section, row, col)] = (
                    (v["value"], v["raw"]) if isinstance(v, dict) else (v, str(v))
                )
    return out


def got_cells(report: Report) -> dict[tuple[str, str, str], tuple[object, str]]:
    cells = {(c.section, c.row_key, c.col_key): (c.value, c.raw) for c in report.cells}
    assert len(cells) == len(report.cells), "a cell was emitted twice"
    return cells


@pytest.fixture(scope="module")
def parsed() -> dict[str, Report]:
    return {name: parse_text((SEEDS / name).read_text(encoding="utf-8")) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_seed_text_cells_exact(parsed: dict[str, Report], name: str) -> None:
    got, want = got_cells(parsed[name]), expected_cells(name)
    assert set(got) - set(want) == set(), "extra cells"
    assert set(want) - set(got) == set(), "missing cells"
    wrong = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
    assert wrong == {}
    for key, (value, _raw) in want.items():  # ints stay ints, floats stay floats
        assert type(got[key][0]) is type(value), key


@pytest.mark.parametrize("name", NAMES)
def test_seed_identity(parsed: dict[str, Report], name: str) -> None:
    report, truth = parsed[name], TRUTH[name]
    assert report.organization == truth["organization"]
    assert report.year == truth["year"]
    assert report.format == truth["format"]
    if truth.get("published"):
        assert report.published == truth["published"]
    assert report.title and str(truth["year"]) in report.title


@pytest.mark.parametrize("name", NAMES)
def test_seed_checks(parsed: dict[str, Report], name: str) -> None:
    report = parsed[name]
    assert report.checks, "identities were evaluated"
    assert all(c.ok for c in report.checks), [c for c in report.checks if not c.ok]
    names = {c.check for c in report.checks}
    assert "requests.balance[natural_person]" in names
    assert "requests.results_sum[total]" in names
    assert "requests.row_total[new]" in names


def test_seed_000_review_absent(parsed: dict[str, Report]) -> None:
    report = parsed["000_2ea0d66d96be98c1.txt"]
    assert report.sections == ["active", "requests"]
    assert not [c for c in report.cells if c.section == "review_litigation"]
    assert report.consistent is None
    assert any(n.startswith("review_litigation:") for n in report.notes)
    assert not any(c.check.startswith("review_litigation") for c in report.checks)


def test_seeds_complete_are_consistent(parsed: dict[str, Report]) -> None:
    for name in NAMES[1:]:
        assert parsed[name].consistent == 1, name
        assert parsed[name].sections == ["active", "requests", "review_litigation"]


STYLES = {
    "clean": Style(),
    "word": Style(seed=7, word=True, split_tables=True, label_spans=True),
}


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("name", NAMES)
def test_seed_truth_as_html(name: str, style: str) -> None:
    truth = TRUTH[name]
    page = render_html(
        truth["format"], truth_data(truth["tables"]), f"{truth['year']}年报告", style=STYLES[style]
    )
    assert "rowspan" in page and "colspan" in page
    report = parse_html(page)
    assert got_cells(report) == expected_cells(name)
    assert report.format == truth["format"]


def _seed_page(name: str) -> str:
    truth = TRUTH[name]
    title = f"{truth['organization']}{truth['year']}年政府信息公开工作年度报告"
    return render_html(truth["format"], truth_data(truth["tables"]), title)


def _body(page: str) -> str:
    return page.split("<body>", 1)[1].split("</body>", 1)[0]


@pytest.mark.parametrize("name", NAMES)
def test_seed_inside_layout_table(name: str) -> None:
    """Old Hanweb pages put the whole article in one <td>: its tables nest in that cell."""
    page = _seed_page(name)
    head = page.split("<body>", 1)[0]
    wrapped = f'{head}<body><table><tr><td class="bt_content">{_body(page)}</td></tr></table>'
    flat, nested = parse_html(page), parse_html(wrapped)
    assert got_cells(nested) == got_cells(flat) == expected_cells(name)
    assert nested.sections == flat.sections
    assert (nested.consistent, nested.year) == (flat.consistent, TRUTH[name]["year"])


def test_seed_in_real_hanweb_page() -> None:
    """The report in #zoom of a real Hanweb article page (layout tables around it)."""
    name = "002_3a84f19c68f60ef6.txt"
    page = (Path(__file__).parent / "pages" / "hanweb_zj_jyt_art.html").read_text("utf-8")
    start = page.index(">", page.index('<div id="zoom"')) + 1
    page = page[:start] + _body(_seed_page(name)) + page[page.index("</div>", start) :]
    report = parse_html(page)
    assert got_cells(report) == expected_cells(name)
    assert report.year == 2021
    assert report.organization == TRUTH[name]["organization"]
    assert report.consistent == 1


def test_2019_active_table_over_2021_requests_table() -> None:
    """A 2021 report reusing the 2019 active table: the requests rows follow their own table."""
    old, new = "003_d058f0def9fe5f52.txt", "002_3a84f19c68f60ef6.txt"
    old_data, new_data = truth_data(TRUTH[old]["tables"]), truth_data(TRUTH[new]["tables"])
    style = Style()
    page = "".join(
        [
            "<h1>某县2021年政府信息公开工作年度报告</h1><h2>一、总体情况</h2><p>略。</p>",
            f"<h2>{HEADINGS['active']}</h2>{html_table(active_table('2019', old_data), style)}",
            f"<h2>{HEADINGS['requests']}</h2>{html_table(requests_table('2021', new_data), style)}",
            f"<h2>{HEADINGS['review_litigation']}</h2>{html_table(review_table(new_data), style)}",
            "<h2>五、存在的主要问题及改进情况</h2><p>无。</p>",
        ]
    )
    report = parse_html(page)
    got = got_cells(report)
    want = {k: v for k, v in expected_cells(old).items() if k[0] == "active"}
    want |= {k: v for k, v in expected_cells(new).items() if k[0] != "active"}
    assert got == want
    assert got[("requests", "other_other", "total")] == want[("requests", "other_other", "total")]
    assert report.format == "2021"
    assert "requests.results_sum[total]" in {c.check for c in report.checks}
    assert report.consistent == 1


_LITIGATION_HEADER = '<td colspan="5">未经复议直接起诉</td><td colspan="5">复议后起诉</td>'


@pytest.mark.parametrize(
    "header",
    [
        "<td>未经复议直接起诉</td>" + "<td></td>" * 4 + "<td>复议后起诉</td>" + "<td></td>" * 4,
        _LITIGATION_HEADER + "<td></td><td></td>",
    ],
    ids=["unmerged-header-cells", "trailing-word-cells"],
)
def test_review_header_labels_with_blank_cells(header: str) -> None:
    """Blank cells after a header label are not that row's values: the 15-number run is."""
    name = "002_3a84f19c68f60ef6.txt"
    page = _seed_page(name)
    assert _LITIGATION_HEADER in page
    report = parse_html(page.replace(_LITIGATION_HEADER, header))
    want = {k: v for k, v in expected_cells(name).items() if k[0] == "review_litigation"}
    got = {k: v for k, v in got_cells(report).items() if k[0] == "review_litigation"}
    assert len(want) == 15 and got == want
    assert report.consistent == 1


@pytest.mark.parametrize("site_title", ["兰州市人民政府门户网站", "政府信息公开_兰州市人民政府"])
def test_site_name_in_title_tag_does_not_win(site_title: str) -> None:
    """<title> holding only the portal's name: the report title printed in the page wins."""
    name = "004_7f5a90e893934992.txt"
    page = _seed_page(name)
    page = re.sub(r'<meta name="ArticleTitle"[^>]*>', "", page)
    page = re.sub(r"<title>.*?</title>", f"<title>{site_title}</title>", page)
    report = parse_html(page)
    assert report.title == "兰州市人民政府2020年政府信息公开工作年度报告"
    assert (report.organization, report.year) == ("兰州市人民政府", 2020)


def test_site_name_title_kept_when_page_names_no_report() -> None:
    report = parse_html("<title>兰州市人民政府门户网站</title><p>通知</p>")
    assert report.title == "兰州市人民政府门户网站"


def _seed_lines(name: str) -> tuple[list[str], int]:
    lines = (SEEDS / name).read_text(encoding="utf-8").split("\n")
    return lines, next(n for n, line in enumerate(lines) if "属于国家秘密" in line)


@pytest.mark.parametrize("footer", ["- 4 -", "— 4 —", "第 4 页", "第4页 共12页"])
def test_page_footer_inside_table_text(footer: str) -> None:
    """A PDF's page footer between two cells of a row does not split that row."""
    name = "001_b48d038ea651e507.txt"
    lines, at = _seed_lines(name)
    lines[at + 3 : at + 3] = ["", footer]
    report = parse_text("\n".join(lines))
    assert got_cells(report) == expected_cells(name)
    assert report.consistent == 1


def test_count_in_wan_and_dash_run_null_in_text() -> None:
    name = "001_b48d038ea651e507.txt"
    text = (SEEDS / name).read_text(encoding="utf-8")
    assert "\t39473\n" in text
    report = parse_text(text.replace("\t39473\n", "\t3.9473万\n", 1))
    assert got_cells(report)[("active", "licensing", "decisions")] == (39473, "3.9473万")
    lines, at = _seed_lines("002_3a84f19c68f60ef6.txt")
    zero = next(n for n in range(at + 1, at + 20) if lines[n].strip() == "0")
    lines[zero] = lines[zero].replace("0", "———")
    cells = got_cells(parse_text("\n".join(lines)))
    row = {c: v for (_, r, c), v in cells.items() if r == "withheld_state_secret"}
    assert len(row) == 7
    assert [raw for value, raw in row.values() if value is None] == ["———"]
