"""One published cell text -> a number or null, by the schema's value rules.

Publishers write the same number many ways ('减22', '+1', '增6769件', '0　　', '27.88亿', '-').
`parse_value` accepts exactly the shapes a table cell can take and nothing else, so a word or a
sentence is never mistaken for a cell: the matcher relies on that to tell labels from values.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from crawler.report.schema import nfkc

Number = int | float

NULL_MARKERS = frozenset({"", "/", "//", "无", "\\", "空"})
_DASH_RUN = re.compile(r"[-—–―－]{1,6}")  # '-', '——', '―', '———', '---': a blank cell
NO_CHANGE = frozenset({"无增减", "持平", "不变", "无变化", "0增减"})

_SPACES = re.compile(r"[\s\u3000\xa0\u200b\ufeff]+")
_VALUE = re.compile(
    r"(?P<word>增加|减少|增|减)?(?P<sign>[+\-])?"
    r"(?P<num>\d+(?:\.\d+)?)"
    r"(?P<unit>万元|亿元|(?P<scale>万|亿)?(?:件|个|项|条|次|家|宗)|万|亿|元)?"
)  # a scale before a count's unit: '2万件', '1.2万条'; before 元 it is the money unit 万元
_MONEY_FACTOR = {  # to 万元, the template's unit for amounts
    "万元": Decimal(1),
    "万": Decimal(1),
    "亿元": Decimal(10000),
    "亿": Decimal(10000),
    "元": Decimal("0.0001"),
}
_COUNT_FACTOR = {"万": Decimal(10000), "亿": Decimal(100_000_000)}  # '3.9473万' decisions
_MINUS = str.maketrans({"−": "-", "﹣": "-", "‐": "-", "‑": "-"})


class _NotAValue:
    """Sentinel type: the text is not a table cell value."""


NOT_A_VALUE = _NotAValue()


def clean_raw(text: str) -> str:
    """The published text trimmed of surrounding whitespace (ASCII, U+3000, NBSP)."""
    return text.strip().strip("\u200b\ufeff").strip()


@lru_cache(maxsize=8192)
def parse_value(text: str, money: bool = False) -> Number | _NotAValue | None:
    """Value of one cell: a number, None for a null marker, or NOT_A_VALUE (cached: '0' recurs).

    `money` applies the 万元 normalisation (亿 ×10000, 元 ÷10000, bare = 万元); a count takes
    万/亿 at their word (3.9473万 -> 39473, 2万件 -> 20000) and drops a unit word (件, 个 …).
    Numbers keep their type: integral results are ints.
    """
    compact = _SPACES.sub("", nfkc(text)).translate(_MINUS)
    if compact in NULL_MARKERS or _DASH_RUN.fullmatch(compact):
        return None
    if compact in NO_CHANGE:
        return 0
    match = _VALUE.fullmatch(compact.replace(",", "") if "," in compact else compact)
    if match is None:
        return NOT_A_VALUE
    word, sign, num, unit, scale = match.group("word", "sign", "num", "unit", "scale")
    if word and sign:
        return NOT_A_VALUE
    try:
        amount = Decimal(num)
    except InvalidOperation:  # pragma: no cover - the regex admits only digits
        return NOT_A_VALUE
    amount *= (_MONEY_FACTOR if money else _COUNT_FACTOR).get(scale or unit or "", Decimal(1))
    if sign == "-" or (word and word.startswith("减")):
        amount = -amount
    return _number(amount)


def _number(amount: Decimal) -> Number:
    """Decimal -> int when integral (27.88亿 is exactly 278800), else float."""
    if amount == amount.to_integral_value():
        return int(amount)
    return float(amount.normalize())


def is_value(text: str) -> bool:
    """True if `text` can be a table cell value (a number or a null marker)."""
    return parse_value(text) is not NOT_A_VALUE
