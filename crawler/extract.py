"""Bytes of a fetched document → decoded HTML, clean text and page metadata (pure).

Portals send GBK pages with no charset or with a wrong one, so decoding never trusts a single
declaration: a declared encoding is used only when the bytes really decode with it.
"""

from __future__ import annotations

import re

import trafilatura
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, resolve_encoding

from crawler.layouts import article_body

_GB_FAMILY = {"gbk", "gb2312", "gb18030", "cp936", "gb_2312-80", "hz"}
_META_RE = re.compile(
    rb"""<meta\s[^>]*?name\s*=\s*["']?([A-Za-z]+)["']?[^>]*?content\s*=\s*["']([^"']*)["']""",
    re.IGNORECASE,
)
_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_H1_RE = re.compile(r"<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_TAG_RE = re.compile(r"<[^>]+>")

ATTACHMENT_TYPES = {
    "application/pdf": "pdf",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/kswps": "wps",
    "application/wps-office.wps": "wps",
}


def decode_html(body: bytes, content_type_header: str | None = None) -> tuple[str, str]:
    """Decode an HTML payload; returns (text, encoding used).

    Order: the HTTP charset, then the page's own declaration, then utf-8, then gb18030 — each
    tried strictly; the GBK family always widens to gb18030 (a superset).
    """
    candidates: list[str] = []
    for declared in (
        http_content_type_encoding(content_type_header or ""),
        html_body_declared_encoding(body[:4096]),
    ):
        if declared:
            enc = resolve_encoding(declared) or declared
            candidates.append("gb18030" if enc.lower() in _GB_FAMILY else enc)
    candidates += ["utf-8", "gb18030"]
    for enc in candidates:
        try:
            return body.decode(enc), enc
        except (UnicodeDecodeError, LookupError):
            continue
    return body.decode("gb18030", errors="replace"), "gb18030"


def meta_tags(body: bytes) -> dict[str, str]:
    """The gov.cn `<meta name=… content=…>` set (ArticleTitle, PubDate, ContentSource, …)."""
    found: dict[str, str] = {}
    for name, content in _META_RE.findall(body[:65536]):
        found.setdefault(name.decode("ascii", "replace"), content.decode("utf-8", "replace"))
    return found


def page_title(html: str) -> str:
    """The best title a page states: ArticleTitle meta, then <h1>, then <title>."""
    meta = re.search(
        r"""<meta\s[^>]*name\s*=\s*["']?ArticleTitle["']?[^>]*content\s*=\s*["']([^"']+)""",
        html[:65536],
        re.IGNORECASE,
    )
    if meta:
        return _clean(meta.group(1))
    for pattern in (_H1_RE, _TITLE_RE):
        match = pattern.search(html)
        if match and _clean(match.group(1)):
            return _clean(match.group(1))
    return ""


def headings(html: str, limit: int = 5) -> list[str]:
    """Title candidates: the page title plus the first few heading-like elements."""
    found = [page_title(html)]
    for match in re.finditer(r"<h[1-3][^>]*>(.*?)</h[1-3]>", html, re.IGNORECASE | re.DOTALL):
        found.append(_clean(match.group(1)))
        if len(found) > limit:
            break
    return [h for h in found if h]


def clean_text(body: bytes | str) -> str:
    """Boilerplate-free text of a page (trafilatura; raw bytes let it detect GBK itself)."""
    try:
        text = trafilatura.extract(body, include_tables=True, favor_recall=True)
    except Exception:  # trafilatura may choke on broken markup; the report still counts
        text = None
    return text or ""


def article_text(body: bytes, html: str) -> str:
    """Clean text of an article page: of its CMS container when there is one (the portal's
    chrome left out), else of the whole page."""
    container = article_body(html)
    return clean_text(container if container is not None else body)


def published_date(html: str) -> str | None:
    """Publication date from the page when the parser found none (htmldate)."""
    try:
        from htmldate import find_date

        return find_date(html, original_date=True, extensive_search=False)
    except Exception:
        return None


def attachment_type(url: str, content_type: str) -> str | None:
    """`pdf`, `doc`, `docx`, `wps`, `xls`, `xlsx` for an attachment, else None."""
    if content_type in ATTACHMENT_TYPES:
        return ATTACHMENT_TYPES[content_type]
    match = re.search(r"\.(pdf|docx?|wps|xlsx?|et)(?:$|[?#&])", url.lower())
    if match:
        return match.group(1)
    return None


def _clean(fragment: str) -> str:
    import html as html_lib

    return " ".join(html_lib.unescape(_TAG_RE.sub("", fragment)).split())
