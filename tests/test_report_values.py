"""Value rules of report-schema.json, parametrised from the schema's own examples."""

from __future__ import annotations

import re

import pytest

from crawler.report.schema import schema
from crawler.report.values import NOT_A_VALUE, clean_raw, parse_value

RULES = schema()["value_rules"]
_PAIR = re.compile(r"'([^']*)' -> (-?[\d.]+)")


def _examples(keyword: str) -> list[tuple[str, float]]:
    rule = next(r for r in RULES if r.startswith(keyword))
    return [(raw, float(v)) for raw, v in _PAIR.findall(rule)]


@pytest.mark.parametrize(("raw", "value"), _examples("items_change"))
def test_items_change_examples(raw: str, value: float) -> None:
    assert parse_value(raw) == value


@pytest.mark.parametrize(("raw", "value"), _examples("amounts"))
def test_amount_examples(raw: str, value: float) -> None:
    assert parse_value(raw, money=True) == value


NULLS = re.findall(r"'([^']+)'", next(r for r in RULES if "null" in r))


@pytest.mark.parametrize("raw", [*NULLS, "", "  ", "\u3000", "－"])
def test_null_markers(raw: str) -> None:
    assert NULLS and parse_value(raw) is None


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("481个", 481),
        ("6769件", 6769),
        ("12项", 12),
        ("3条", 3),
        ("０１２", 12),  # full-width digits
        ("１ ２", 12),  # full-width digits with a space inside
        ("1,432,816", 1432816),
        ("+245", 245),
        ("-113\u3000", -113),
        ("增加5", 5),
        ("减少7件", -7),
        ("持平", 0),
        ("0\u3000\u3000", 0),
    ],
)
def test_units_widths_signs(raw: str, value: int) -> None:
    got = parse_value(raw)
    assert got == value and type(got) is int


@pytest.mark.parametrize(
    ("raw", "value"),
    [("251000元", 25.1), ("573802895.90元", 57380.28959), ("1210.06", 1210.06), ("3亿元", 30000)],
)
def test_money_normalised_to_wanyuan(raw: str, value: float) -> None:
    assert parse_value(raw, money=True) == pytest.approx(value, abs=1e-9)


def test_integral_amount_is_int() -> None:
    got = parse_value("27.88亿", money=True)
    assert got == 278800 and type(got) is int


@pytest.mark.parametrize(
    "raw", ["规章", "共收到70件申请", "66.7%", "2021年1月", "增+3", "1.2.3", "一"]
)
def test_not_values(raw: str) -> None:
    assert parse_value(raw) is NOT_A_VALUE


def test_raw_trim_keeps_published_text() -> None:
    assert clean_raw("\t  0\xa0") == "0"
    assert clean_raw("\u3000减22件 ") == "减22件"


@pytest.mark.parametrize("raw", ["———", "―", "――", "---", "— —"])
def test_dash_runs_are_null(raw: str) -> None:
    assert parse_value(raw) is None and parse_value(raw, money=True) is None


@pytest.mark.parametrize(
    ("raw", "value"),
    [("3.9473万", 39473), ("1.2亿", 120000000), ("2万件", 20000), ("增加1.5万条", 15000)],
)
def test_count_takes_wan_and_yi_at_their_word(raw: str, value: int) -> None:
    got = parse_value(raw)
    assert got == value and type(got) is int


def test_money_keeps_wan_as_its_unit() -> None:
    assert parse_value("3.9473万", money=True) == pytest.approx(3.9473)
    assert parse_value("2万元", money=True) == 2
    assert parse_value("1.5亿元", money=True) == 15000
