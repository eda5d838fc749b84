"""Which pages are reports, which links lead to them, and which URLs are in scope (pure).

The rules come from how portals name things (research notes: cms-layouts §7): a report's title
says `YYYY年(度)…政府信息公开(工作)年(度)报(告)` or a variant (工作报告, 年度工作报告, 工作情况报告,
政务公开工作年报, 政府信息公开工作YYYY年度报告); the path to it runs through 政府信息公开 /
政务公开 / 法定主动公开内容 / 政府信息公开年报 columns, whose URLs carry xxgk, zfxxgk, nb, ….
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit, urlunsplit

YEAR_NUMBER = r"(?:(?:19|20)\d\d|二[〇○零O][〇○零O一二三四五六七八九]{2})"  # 2022, 二〇二二
YEAR = rf"{YEAR_NUMBER}年度?"
# 政府信息公开 / 政务公开; a bare 信息公开 only right after the year (pre-2008 style), since
# 环境信息公开 / 预决算信息公开 reports are other disclosures
SUBJECT = r"(?:政府信息|政务信息|政务)公开"
REPORT = r"(?:工作)?(?:情况)?的?(?:(?:年度|年)报告?|(?:年度)?(?:工作)?(?:情况)?报告)"
REPORT_TITLE = re.compile(
    rf"{YEAR}.{{0,40}}?{SUBJECT}{REPORT}"  # …2022年(度)政府信息公开工作(年度|情况)报告 / 年报
    rf"|{YEAR}信息公开{REPORT}"  # 地方税务局2013年信息公开年度报告
    rf"|{SUBJECT}(?:工作)?{YEAR}{REPORT}"  # XX区政府信息公开工作2022年度报告
    rf"|{SUBJECT}(?:工作)?年度报告.{{0,6}}?{YEAR_NUMBER}",  # 政府信息公开年度报告（2022年）
    re.DOTALL,
)
# Documents about reports, not reports: notices, plans, templates, explanations, evaluations.
# Only words that never occur in an organization's name (编制 does: 机构编制委员会办公室).
NOT_A_REPORT = re.compile(
    r"通知|通报|关于做好|关于印发|关于报送|关于开展|工作要点|编制说明|编制发布|编制工作|报送"
    r"|发布工作|格式|模板|解读|图解|征求意见|评估|的说明|更正说明|的更正|的函"
)
# Other yearly documents: they never have a report title's shape, so they only lower a link's
# score; 审计局 / 统计局 / 预算绩效管理中心 are organizations and must not.
OTHER_REPORT = re.compile(
    r"审计(?:工作)?报告|审计结果|部门预算|预算公开|预决算|预算执行|预算草案|决算|统计公报"
    r"|统计年报|国民经济|法治政府|政府工作报告"
)
FILE_TYPES = r"pdf|docx?|wps|xlsx?|et"  # the attachment types a link may name
ATTACHMENT = re.compile(rf"\.({FILE_TYPES})(?:$|[?#&])", re.IGNORECASE)

POSITIVE_TEXT = [
    ("政府信息公开年报", 60),
    ("信息公开年报", 55),
    ("年度报告", 50),
    ("年报", 45),
    ("法定主动公开内容", 35),
    ("政府信息公开", 30),
    ("政务公开", 28),
    ("信息公开", 25),
    ("主动公开", 20),
    ("部门", 12),
    ("乡镇", 12),
    ("街道", 10),
    ("镇", 4),
    ("公开目录", 15),
]
POSITIVE_URL = [
    ("zfxxgknb", 60),
    ("xxgknb", 55),
    ("ndbg", 50),
    ("gknb", 50),
    ("/nb", 35),
    ("nb/", 35),
    ("zfxxgk", 30),
    ("xxgk", 25),
    ("zwgk", 22),
    ("gkml", 15),
    ("/col/col", 5),
    ("jpage/dataproxy", 40),
]
# Words of URLs that lead away from reports, matched at the start of a URL's words (host labels,
# path segments, names): `rss` must not match the 人社 hosts `hrss.yn.gov.cn`
NEGATIVE_URL = (
    "english",
    "login",
    "search",
    "jsearch",
    "rss",
    "weibo",
    "weixin",
    "video",
    "photo",
    "tupian",
    "picture",
    "print",
    "wza",
    "zxft",
    "hudong",
    "xinwen",
    "xwzx",
)
NEGATIVE_TEXT = (
    "登录",
    "注册",
    "搜索",
    "无障碍",
    "English",
    "视频",
    "图片",
    "留言",
    "投诉",
    "新闻",
)
# What a list shows of a long title: `南京市江宁区发展和改革委员会2023年政府信...`
ELLIPSIS = re.compile(r"(?:\.{2,}|…+|。{3,})$")
REPORT_PHRASES = (
    "政府信息公开工作年度报告",
    "政府信息公开年报",
    "政务公开工作年度报告",
    "信息公开年度报告",
)


def is_report_title(title: str | None) -> bool:
    """A page titled like an annual report, not a notice about one nor another yearly report."""
    text = _compact(title or "")
    return bool(REPORT_TITLE.search(text)) and not NOT_A_REPORT.search(text)


def _compact(text: str) -> str:
    """Full-width digits and brackets folded (NFKC), whitespace dropped: `2022年 年度报告`."""
    return "".join(unicodedata.normalize("NFKC", text).split())


# Any link `is_attachment` accepts names its file type in the markup (a percent-encoded dot too).
_NAMES_A_FILE = re.compile(rf"\.(?:{FILE_TYPES})\b|%2e", re.IGNORECASE)


def may_link_attachments(markup: str) -> bool:
    """False when markup cannot link an attachment: a cheap test that saves parsing its links."""
    return _NAMES_A_FILE.search(markup) is not None


def is_attachment(url: str) -> str | None:
    """The attachment type of a link (pdf, doc, docx, wps, xls, xlsx), else None."""
    match = ATTACHMENT.search(url)
    if match:
        return match.group(1).lower()
    lowered = url.lower()
    if "downfile" in lowered or "download" in lowered:
        name = re.search(r"filename=([^&]+)", lowered)
        if name:
            return is_attachment(name.group(1))
    return None


def link_score(text: str, url: str) -> int:
    """How likely a link leads towards annual reports (higher first; ≤ 0: not worth it)."""
    if is_report_title(text):
        return 100
    score = 0
    for word, weight in POSITIVE_TEXT:
        if word in text:
            score = max(score, weight)
    lowered = url.lower()
    for fragment, weight in POSITIVE_URL:
        if fragment in lowered:
            score = max(score, weight) + 2
    if re.search(r"(?:19|20)\d\d\s*年", text) and ("报告" in text or "年报" in text):
        score = max(score, 40)
    score = max(score, _truncated_score(text))
    if NOT_A_REPORT.search(text) or OTHER_REPORT.search(text):
        score -= 20
    if _leads_away(text, lowered):
        score -= 40
    return score


def _truncated_score(text: str) -> int:
    """A list's cut title that may be a report's: 90 if cut inside a report phrase after a year
    (`…2023年政府信...`), 20 if cut right after the year or at a phrase's first letters, else 0."""
    compact = _compact(text)
    stem = ELLIPSIS.sub("", compact)
    years = list(re.finditer(YEAR, stem))
    if stem == compact or not years:
        return 0
    rest = stem[years[-1].end() :]
    cut = max(
        (
            n
            for phrase in REPORT_PHRASES
            for n in range(1, len(phrase) + 1)
            if rest.endswith(phrase[:n])
        ),
        default=0,
    )
    return 90 if cut >= 3 else 20 if cut or not rest else 0


def _leads_away(text: str, lowered_url: str) -> bool:
    """A link to search, login, media, accessibility or news: by its text or its URL's words."""
    if lowered_url.startswith(("javascript:", "mailto:")):
        return True
    words = re.split(r"[^a-z0-9]+", lowered_url) + re.split(r"[^a-z0-9]+", text.lower())
    return any(w.startswith(NEGATIVE_URL) for w in words if w) or any(
        bad in text for bad in NEGATIVE_TEXT
    )


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def registered_domain(host: str) -> str:
    """The portal's own domain: x.gov.cn for www.x.gov.cn; the host itself for an IP address."""
    if re.fullmatch(r"[\d.]+|\[[0-9a-f:]+\]", host):
        return host
    labels = host.split(".")
    if (
        len(labels) >= 3
        and labels[-2] in {"gov", "com", "org", "net", "edu"}
        and labels[-1] == "cn"
    ):
        return ".".join(labels[-3:])
    return ".".join(labels[-2:]) if len(labels) >= 2 else host


def in_scope(url: str, portal_url: str) -> bool:
    """Same portal: its domain and subdomains; for a bare IP host, the same host and port."""
    parts, portal = urlsplit(url), urlsplit(portal_url)
    if parts.scheme not in ("http", "https"):
        return False
    host, portal_host = (parts.hostname or "").lower(), (portal.hostname or "").lower()
    if re.fullmatch(r"[\d.]+", portal_host) or portal_host == "localhost":
        return host == portal_host and _port(parts) == _port(portal)
    domain = registered_domain(portal_host)
    return host == domain or host.endswith("." + domain)


def attachment_in_scope(url: str, portal_url: str) -> bool:
    """A file the portal links may sit on another government host: shared CMS platforms store
    them apart (Zhejiang's Hanweb: `zjjcmspublic.oss-….zj.gov.cn/jcms_files/….pdf`). Fetching
    it is one request per report, not a crawl of that host."""
    if in_scope(url, portal_url):
        return True
    host = host_of(url)
    return (
        urlsplit(url).scheme in ("http", "https")
        and (host == "gov.cn" or host.endswith(".gov.cn"))
        and is_attachment(url) is not None
    )


def _port(parts: object) -> int:
    port = parts.port  # type: ignore[attr-defined]
    return port or (443 if parts.scheme == "https" else 80)  # type: ignore[attr-defined]


def canonical_url(url: str) -> str:
    """Drop the fragment and a default port; keep everything else as the portal wrote it."""
    parts = urlsplit(url.strip())
    netloc = parts.netloc
    if (parts.scheme == "http" and netloc.endswith(":80")) or (
        parts.scheme == "https" and netloc.endswith(":443")
    ):
        netloc = netloc.rsplit(":", 1)[0]
    return urlunsplit((parts.scheme, netloc.lower(), parts.path or "/", parts.query, ""))
