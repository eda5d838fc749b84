"""The five real seed reports parse to exactly their hand-checked truth (text and HTML)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.report import Report, parse_html, parse_text
from crawler.report.render import Style, render_html, truth_data

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
