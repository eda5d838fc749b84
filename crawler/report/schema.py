"""The two official table templates as data: keys, label aliases, column orders, headings.

Everything the matcher knows about 国办公开办函〔2019〕60号 and 〔2021〕30号 lives here, so the
matcher itself stays template-agnostic. Labels are compared after `norm_label`, which erases
the differences publishers introduce (full-width vs ASCII brackets, spaces, line breaks, quotes,
numbering such as 三、/（一）/1.), so one alias covers every spelling seen in the wild.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("report-schema.json")

SECTIONS = ("active", "requests", "review_litigation")
FORMATS = ("2019", "2021")

# Brackets, quotes, punctuation and every kind of space: noise in a label, never meaning.
_NOISE = re.compile(
    r"[\s\u3000\xa0\u200b\ufeff()\[\]【】〔〕<>《》“”\"'‘’「」『』,，、.。．:;!?·•\-—–_/|~]+"
)
# Numbering in front of a label: 三、 （一） 1. (after _NOISE removed the punctuation).
_NUMBERING = re.compile(r"^[一二三四五六七八九十0-9]+")


def nfkc(text: str) -> str:
    """Full-width digits, letters, brackets and spaces to ASCII; the first step of every rule."""
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=32768)
def norm_text(text: str) -> str:
    """A label with all formatting noise removed (keeps numbering)."""
    return _NOISE.sub("", nfkc(text))


@lru_cache(maxsize=32768)
def norm_label(text: str) -> str:
    """`norm_text` without the leading numbering: '（三）\\n不予公开' -> '不予公开'."""
    return _NUMBERING.sub("", norm_text(text))


@dataclass(frozen=True)
class Entry:
    """What a normalised label means inside one section."""

    kind: str  # "row" (a row with numbers), "group" (a merged row header), "header"
    key: str | None = None


# Active section: row key -> aliases (normalised).
ACTIVE_ROWS: dict[str, tuple[str, ...]] = {
    "regulations": ("规章",),
    "normative_documents": ("行政规范性文件", "规范性文件"),
    "licensing": ("行政许可",),
    "other_services": ("其他对外管理服务事项",),
    "penalty": ("行政处罚",),
    "coercion": ("行政强制",),
    "fees": ("行政事业性收费",),
    "procurement": ("政府集中采购",),
}

# Requests rows: key -> aliases. Numbering is stripped, so aliases are the label cores.
REQUEST_ROWS: dict[str, tuple[str, ...]] = {
    "new": ("本年新收政府信息公开申请数量",),
    "carried_over": ("上年结转政府信息公开申请数量",),
    "disclosed": ("予以公开",),
    "partially_disclosed": ("部分公开区分处理的只计这一情形不计其他情形", "部分公开"),
    "withheld_state_secret": ("属于国家秘密",),
    "withheld_prohibited_by_law": ("其他法律行政法规禁止公开",),
    "withheld_three_safeties": ("危及三安全一稳定",),
    "withheld_third_party": ("保护第三方合法权益",),
    "withheld_internal_affairs": ("属于三类内部事务信息",),
    "withheld_process_info": ("属于四类过程性信息",),
    "withheld_enforcement_files": ("属于行政执法案卷",),
    "withheld_inquiry": ("属于行政查询事项",),
    "unavailable_not_held": ("本机关不掌握相关政府信息",),
    "unavailable_needs_creation": ("没有现成信息需要另行制作",),
    "unavailable_unclear": ("补正后申请内容仍不明确",),
    "unprocessed_petition": ("信访举报投诉类申请",),
    "unprocessed_duplicate": ("重复申请",),
    "unprocessed_publication": ("要求提供公开出版物",),
    "unprocessed_mass_repetitive": ("无正当理由大量反复申请",),
    "unprocessed_confirm_reissue": ("要求行政机关确认或重新出具已获取信息",),
    "other": ("其他处理",),
    "other_no_correction": ("申请人无正当理由逾期不补正行政机关不再处理其政府信息公开申请",),
    "other_unpaid_fee": ("申请人逾期未按收费通知要求缴纳费用行政机关不再处理其政府信息公开申请",),
    "other_other": ("其他",),
    "total_processed": ("总计",),
    "carried_forward": ("结转下年度继续办理",),
}
REQUEST_GROUPS = ("本年度办理结果", "不予公开", "无法提供", "不予处理")
REQUEST_COLS = (
    "natural_person",
    "commercial_enterprise",
    "research_institution",
    "social_welfare_org",
    "legal_service_org",
    "other_org",
    "total",
)
APPLICANT_COLS = REQUEST_COLS[:6]
_COMMON_RESULTS = tuple(REQUEST_ROWS)[2:20]  # disclosed .. unprocessed_confirm_reissue
RESULT_ROWS: dict[str, tuple[str, ...]] = {
    "2019": (*_COMMON_RESULTS, "other"),
    "2021": (*_COMMON_RESULTS, "other_no_correction", "other_unpaid_fee", "other_other"),
}
REQUEST_ROW_ORDER: dict[str, tuple[str, ...]] = {
    fmt: ("new", "carried_over", *rows, "total_processed", "carried_forward")
    for fmt, rows in RESULT_ROWS.items()
}

REVIEW_ROWS: dict[str, tuple[str, ...]] = {
    "review": ("行政复议",),
    "litigation_direct": ("未经复议直接起诉", "行政诉讼未经复议直接起诉"),
    "litigation_after_review": ("复议后起诉", "行政诉讼复议后起诉"),
}
REVIEW_COLS = ("upheld", "corrected", "other", "pending", "total")

# Active columns per format and row, in template order.
_C19_DOCS = ("made", "published", "total_published")
_C19_ITEMS = ("items_last_year", "items_change", "decisions")
_C21_DOCS = ("issued", "repealed", "in_force")
ACTIVE_COLS: dict[str, dict[str, tuple[str, ...]]] = {
    "2019": {
        "regulations": _C19_DOCS,
        "normative_documents": _C19_DOCS,
        "licensing": _C19_ITEMS,
        "other_services": _C19_ITEMS,
        "penalty": _C19_ITEMS,
        "coercion": _C19_ITEMS,
        "fees": ("items_last_year", "items_change"),
        "procurement": ("procurement_items", "procurement_amount"),
    },
    "2021": {
        "regulations": _C21_DOCS,
        "normative_documents": _C21_DOCS,
        "licensing": ("decisions",),
        "penalty": ("decisions",),
        "coercion": ("decisions",),
        "fees": ("fee_amount",),
    },
}
MONEY_COLS = frozenset({"procurement_amount", "fee_amount"})
SIGNED_COLS = frozenset({"items_change"})

# Column-header wording unique to one template: the format is decided from these, not the year.
FORMAT_SIGNALS: dict[str, tuple[str, ...]] = {
    "2019": (
        "本年新制作数量",
        "本年新公开数量",
        "对外公开总数量",
        "上一年项目数量",
        "其他对外管理服务事项",
        "采购项目数量",
        "采购总金额",
        "政府集中采购",
    ),
    "2021": (
        "本年制发件数",
        "本年废止件数",
        "现行有效件数",
        "本年处理决定数量",
        "本年收费金额",
        "申请人无正当理由逾期不补正",
        "申请人逾期未按收费通知要求缴纳费用",
    ),
}

# Section headings (normalised, numbering stripped). Sections 一/五/六 only end a range.
_HEADING_EXACT = {
    "主动公开政府信息情况": "active",
    "收到和处理政府信息公开申请情况": "requests",
    "总体情况": "_other",
}


def heading_of(label: str) -> str | None:
    """Section key if a whole cell/line is a report section heading, else None.

    Only a short, whole-line match counts: the same words inside a sentence (an intro listing
    the six parts) or glued to table cells (pingtan pages) are not headings.
    """
    if len(label) > 30:
        return None
    if label in _HEADING_EXACT:
        return _HEADING_EXACT[label]
    if "行政复议" in label and "行政诉讼" in label and label.endswith("情况"):
        return "review_litigation"
    if "存在的" in label and "问题" in label:
        return "_other"
    if "其他需要报告的事项" in label:
        return "_other"
    return None


def _entries(rows: dict[str, tuple[str, ...]], groups: tuple[str, ...] = ()) -> dict[str, Entry]:
    table = {alias: Entry("row", key) for key, aliases in rows.items() for alias in aliases}
    for group in groups:
        table.setdefault(group, Entry("group"))
    return table


LABELS: dict[str, dict[str, Entry]] = {
    "active": _entries(ACTIVE_ROWS),
    "requests": _entries(REQUEST_ROWS, REQUEST_GROUPS),
    "review_litigation": _entries(REVIEW_ROWS, ("行政诉讼",)),
}


@cache
def label_prefixes(section: str) -> frozenset[str]:
    """Every prefix of every alias: lets the matcher join a label broken over several cells."""
    return frozenset(alias[:n] for alias in LABELS[section] for n in range(len(alias) + 1))


@lru_cache(maxsize=1)
def schema() -> dict:
    """The canonical schema JSON (shipped with the package); tests take examples from it."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def active_row_order(fmt: str) -> tuple[str, ...]:
    """Active rows of a format in template order."""
    return tuple(ACTIVE_COLS[fmt])
