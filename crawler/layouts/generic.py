"""Any portal: links with their text, `下一页` / `?page=N` paging, iframes (pure)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from parsel import Selector

from crawler.layouts.base import Link, PageRequest

SKIP = ("javascript:", "mailto:", "tel:", "#", "data:")
# Dated leaf pages of in-house and Ucap systems (research notes, cms-layouts §3–4)
ARTICLE_URL = re.compile(
    r"/\d{4}/\d{2}-\d{2}/\d+\.html?$"  # Henan: /2022/08-11/2559082.html
    r"|/\d{8}/[0-9a-f]{32}\.s?html?$"  # Shanghai bureaus: /20240511/<32 hex>.html
    r"|/\d{4}/\d{1,2}/\d{1,2}/[0-9a-f]{32}\.s?html?$"  # Ucap: /2025/6/3/<32 hex>.shtml
)
# The article text on Ucap (<UCAPCONTENT>, #cmsArticleContent) and in-house systems
ARTICLE_BODY = (
    '//ucapcontent | //*[@id="cmsArticleContent"] | //*[@id="UCAP-CONTENT"]'
    ' | //*[contains(@class, "Article_content") or contains(@class, "article_content")]'
)
NEXT_TEXT = re.compile(r"^\s*(下一页|下页|后页|下一頁|›|»|>)\s*$")


def links(html: str | Selector, url: str) -> list[Link]:
    """Every followable link of the page with its anchor text (or title attribute)."""
    sel = html if isinstance(html, Selector) else Selector(text=html, type="html")
    found: dict[str, Link] = {}
    for anchor in sel.xpath("//a[@href]"):
        href = (anchor.attrib.get("href") or "").strip()
        if not href or href.lower().startswith(SKIP):
            continue
        text = " ".join("".join(anchor.xpath(".//text()").getall()).split())
        text = text or anchor.attrib.get("title", "")
        absolute = urljoin(url, href).split("#")[0]
        if absolute not in found or len(text) > len(found[absolute].text):
            found[absolute] = Link(absolute, text)
    for frame in sel.xpath("//iframe[@src]/@src").getall():
        absolute = urljoin(url, frame.strip())
        found.setdefault(absolute, Link(absolute, "iframe"))
    return list(found.values())


def next_pages(html: str | Selector, url: str) -> list[PageRequest]:
    """Further list pages announced by plain links: 下一页, ?page=N, index_N.html."""
    sel = html if isinstance(html, Selector) else Selector(text=html, type="html")
    pages: dict[str, PageRequest] = {}
    for link in links(sel, url):
        if NEXT_TEXT.match(link.text) or re.fullmatch(r"\d{1,3}", link.text):
            pages.setdefault(link.url, PageRequest(link.url))
    for link in links(sel, url):
        if _same_list(link.url, url):
            pages.setdefault(link.url, PageRequest(link.url))
    pages.pop(url, None)
    return list(pages.values())


def _same_list(candidate: str, url: str) -> bool:
    """Another page of the same list: same path with another page=N, or index_N of it."""
    a, b = urlsplit(candidate), urlsplit(url)
    if a.netloc != b.netloc:
        return False
    if a.path == b.path and a.query != b.query:
        qa = dict(parse_qsl(a.query))
        qb = dict(parse_qsl(b.query))
        keys = {"page", "pageNum", "pageno", "pn", "p", "currpage", "pageIndex"}
        return any(k in qa for k in keys) and {k: v for k, v in qa.items() if k not in keys} == {
            k: v for k, v in qb.items() if k not in keys
        }
    folder = b.path.rsplit("/", 1)[0]
    return bool(re.fullmatch(re.escape(folder) + r"/index_\d+\.s?html?", a.path))


def with_page(url: str, page: int, key: str = "page") -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query[key] = str(page)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
