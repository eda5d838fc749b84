"""Which pages are reports, which links lead to them, and which URLs are in scope (pure).

The rules come from how portals name things (research notes: cms-layouts §7): a report's title
says `YYYY年(度)…政府信息公开(工作)年(度)报(告)`; the path to it runs through 政府信息公开 /
政务公开 / 法定主动公开内容 / 政府信息公开年报 columns, whose URLs carry xxgk, zfxxgk, nb, ….
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

REPORT_TITLE = re.compile(
    r"(?:19|20)\d\d\s*年(?:度)?.{0,40}?政府信息公开\s*(?:工作)?\s*(?:年度|年)\s*报(?:告)?"
    r"|(?:19|20)\d\d\s*年(?:度)?.{0,40}?政务公开\s*(?:工作)?\s*年度\s*报告"
    r"|政府信息公开\s*(?:工作)?\s*年度\s*报告.{0,6}?(?:19|20)\d\d",
    re.DOTALL,
)
NOT_A_REPORT = re.compile(
    r"通知|关于做好|关于印发|工作要点|编制|报送|发布工作|格式|模板|解读|征求意见"
    r"|法治政府|决算|预算|审计|统计公报|国民经济"
)
ATTACHMENT = re.compile(r"\.(pdf|docx?|wps|xlsx?|et)(?:$|[?#&])", re.IGNORECASE)

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
NEGATIVE = [
    "english",
    "login",
    "search",
    "jsearch",
    "rss",
    "weibo",
    "weixin",
    "javascript:",
    "mailto:",
    "video",
    "photo",
    "tupian",
    "/picture/",
    "print",
    "wza",
    "zxft",
    "hudong",
    "xinwen",
    "xwzx",
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
]


def is_report_title(title: str | None) -> bool:
    """A page titled like an annual report, not a notice about one nor another yearly report."""
    if not title:
        return False
    text = " ".join(title.split())
    if not REPORT_TITLE.search(text):
        return False
    return not NOT_A_REPORT.search(text)


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
    if NOT_A_REPORT.search(text) and score < 100:
        score -= 20
    if any(bad in url or bad in text for bad in NEGATIVE):
        score -= 40
    return score


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
