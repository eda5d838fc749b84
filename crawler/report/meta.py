"""Report identity: title, publishing organisation, year reported on, publication date.

Rules, in order of trust:
- title: the ArticleTitle meta, else the part of <title> naming a 政府信息公开工作年度报告, else
  the first line of the text naming one, else the first part of <title> (a site name at worst).
- organization: the name in front of the year in the title (or on its own line just above the
  title, as many reports print it). A bare place name (兰州市, 临沂市兰山区) stands for its
  people's government, so 人民政府 is appended; a name that already ends in an organ word
  (政府, 局, 委员会, 办公室 …) is kept. Else the ContentSource meta, else the signature line at
  the end of the text.
- year: the year in the title ('2020年政府信息公开…', '2021年度…'), else the 统计期限, never the
  publication date (reports come out the following year).
- published: the PubDate-type meta, a '发布日期/发布时间/时间:' stamp, or a date standing alone
  on a line near the top or at the end (the signature date).
"""

from __future__ import annotations

import re

from lxml import etree

from crawler.report.model import Report
from crawler.report.schema import nfkc

_SPACE = re.compile(r"[\s\u3000\xa0]+")
_TITLE_WORDS = re.compile(r"政府信息公开.{0,6}年度?报告|信息公开.{0,4}年报")
_TITLE_YEAR = re.compile(r"((?:19|20)\d{2})\s*年度?")
_PERIOD_YEAR = re.compile(r"统计期限[^0-9]{0,6}((?:19|20)\d{2})\s*年")
_ORGAN = re.compile(
    r"(?:政府|局|委员会|委|办公室|办公厅|办|厅|部|院|中心|所|署|会|处|站|队|馆|社|公司|集团|"
    r"管委会|管理委员会|办事处|法院|检察院|银行|大学|学院)$"
)
_PLACE = re.compile(r"(?:省|市|区|县|旗|州|盟|镇|乡|自治区|自治州|自治县|新区|特区)$")
_ORG_CHARS = re.compile(r"^[\u4e00-\u9fff（）()]{2,40}$")
_STAMP = re.compile(
    r"(?:发布日期|发布时间|发文日期|成文日期|日期|时间)\s*[:：]\s*"
    r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})"
)
_DATE_LINE = re.compile(
    r"^((?:19|20)\d{2})\s*[年\-/.]\s*(\d{1,2})\s*月?(?:\s*[\-/.]?\s*(\d{1,2})\s*日?)?$"
)
_ISO = re.compile(r"((?:19|20)\d{2})[-/.年](\d{1,2})[-/.月](\d{1,2})")
_META_DATE = (
    "pubdate",
    "publishdate",
    "firstpublishedtime",
    "publishtime",
    "article:published_time",
)


def fill_from_text(report: Report, text: str) -> None:
    """Metadata from plain text only."""
    lines = _lines(text)
    title, above = _title_line(lines)
    report.title = title
    report.organization = _org_from_title(title, above) or _signature(lines)
    report.year = _year(title, text)
    report.published = _stamp(text[:3000]) or _date_line(lines)


def fill_from_html(report: Report, root: etree._Element, body_text: str) -> None:
    """Metadata from a page: meta tags first, then the same rules as for text."""
    metas = _metas(root)
    lines = _lines(body_text)
    text_title, above = _title_line(lines)
    title = (
        metas.get("articletitle")
        or _page_title(root, report_only=True)
        or text_title
        or _page_title(root, report_only=False)
    )
    report.title = title
    report.organization = (
        _org_from_title(title, None)
        or (_org_from_title(text_title, above) if text_title else None)
        or _clean_org(metas.get("contentsource", ""))
        or _signature(lines)
    )
    report.year = _year(title, body_text) or _year(text_title, body_text)
    meta_date = next((metas[k] for k in _META_DATE if metas.get(k)), None)
    report.published = _iso(meta_date) or _stamp(body_text[:3000]) or _date_line(lines)


def _lines(text: str) -> list[str]:
    return [s for s in (line.strip().strip("\t") for line in text.splitlines()) if s]


def _title_line(lines: list[str]) -> tuple[str | None, str | None]:
    """The first early line naming the report, and the short line just above it."""
    for n, line in enumerate(lines[:40]):
        if len(line) <= 80 and _TITLE_WORDS.search(_SPACE.sub("", line)):
            return line, (lines[n - 1] if n else None)
    return None, None


def _org_from_title(title: str | None, above: str | None) -> str | None:
    if not title:
        return None
    compact = _SPACE.sub("", nfkc(title))
    found = _TITLE_YEAR.search(compact)
    head = compact[: found.start()] if found else ""
    head = re.split(r"[:：]", head)[-1]  # '标题: …' prefixes of archived page dumps
    head = re.sub(r"^关于", "", head)
    org = _clean_org(head)
    if org is None and above is not None:
        org = _clean_org(_SPACE.sub("", above))
    return org


def _clean_org(name: str) -> str | None:
    """A publishing body's name, with 人民政府 added to a bare place name."""
    name = _SPACE.sub("", name or "").strip("：:，,。")
    if not _ORG_CHARS.match(name):
        return None
    if _ORGAN.search(name):
        return name
    if _PLACE.search(name):
        return name + "人民政府"
    return None


def _signature(lines: list[str]) -> str | None:
    for line in reversed(lines[-8:]):
        org = _clean_org(line)
        if org and _ORGAN.search(line.strip()):
            return org
    return None


def _year(title: str | None, text: str) -> int | None:
    if title:
        found = _TITLE_YEAR.search(_SPACE.sub("", nfkc(title)))
        if found:
            return int(found.group(1))
    period = _PERIOD_YEAR.search(nfkc(text[:20000]))
    return int(period.group(1)) if period else None


def _stamp(text: str) -> str | None:
    found = _STAMP.search(nfkc(text))
    return _ymd(*found.groups()) if found else None


def _date_line(lines: list[str]) -> str | None:
    """A date alone on a line in the header (first lines) or the signature (last lines)."""
    for line in lines[:10] + lines[-6:]:
        found = _DATE_LINE.match(_SPACE.sub("", nfkc(line)))
        if found:
            year, month, day = found.groups()
            return _ymd(year, month, day)
    return None


def _ymd(year: str, month: str, day: str | None) -> str | None:
    if not 1 <= int(month) <= 12 or (day and not 1 <= int(day) <= 31):
        return None
    return f"{year}-{int(month):02d}" + (f"-{int(day):02d}" if day else "")


def _iso(value: str | None) -> str | None:
    if not value:
        return None
    found = _ISO.search(nfkc(value))
    return _ymd(*found.groups()) if found else None


def _metas(root: etree._Element) -> dict[str, str]:
    out: dict[str, str] = {}
    for el in root.iter("meta"):
        name = (el.get("name") or el.get("property") or "").strip().lower()
        content = (el.get("content") or "").strip()
        if name and content and name not in out:
            out[name] = content
    return out


def _page_title(root: etree._Element, report_only: bool) -> str | None:
    """The part of <title> naming the report; else, unless `report_only`, its first part.

    A portal's <title> is often only the site ('兰州市人民政府门户网站', '政府信息公开_兰州市…'):
    such a part must not win over the report title printed in the page.
    """
    for el in root.iter("title"):
        text = _SPACE.sub(" ", "".join(el.itertext())).strip()
        if not text:
            continue
        parts = [p.strip() for p in re.split(r"\s*[_|｜]\s*|\s+-\s+", text) if p.strip()]
        for part in parts:
            if _TITLE_WORDS.search(_SPACE.sub("", part)):
                return part
        return None if report_only or not parts else parts[0]
    return None
