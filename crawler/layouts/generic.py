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
# Pager words dressed as templates dress them: `下一页`, `[下一页]`, `下一页&gt;`, `下一页 »`
DRESS = r"[\s\[\]()（）【】<>《》«»‹›]*"
NEXT_TEXT = re.compile(
    rf"^{DRESS}(?:下一页|下页|后页|下一頁|next(?: page)?){DRESS}$|^\s*[›»>]{{1,2}}\s*$", re.I
)
LAST_TEXT = re.compile(rf"^{DRESS}(?:尾页|末页|最后一页|最末页|last(?: page)?){DRESS}$", re.I)
# Query keys that carry a list's page number on in-house systems (compared lower-cased);
# `current` with `size` is the MyBatis-Plus pair (Jiangxi's `POST /queryList`, cms-layouts §7)
PAGE_KEYS = {
    "page", "pagenum", "page_num", "pageno", "page_no", "pn", "p", "currpage", "curpage",
    "cur_page", "curr_page", "currentpage", "current_page", "pageindex", "page_index",
    "pagenumber", "page_number", "current",
}  # fmt: skip
# A numbered static page beside the first: index_3.html, list_3.shtml, common_list_3.shtml
NUMBERED = re.compile(r"^(?P<stem>[\w-]+?)_(?P<n>\d+)\.(?P<ext>s?html?)$")
MAX_PAGES = 500  # a 尾页 number past this is a counter, not a list a crawl should walk
# An address handed to a script that opens it: window.open('…'), location.href='…', openWin('…')
SCRIPTED_URL = re.compile(
    r"""(?:\bwindow\.open|\bopen\w*|location(?:\.href)?\s*=|location\.(?:assign|replace))"""
    r"""\s*\(?\s*(['"])(?P<url>[^'"]+)\1""",
    re.I,
)
# What an address looks like, for strings that are not plainly one (script arguments, options)
URLISH = re.compile(r"^(?:https?://|/|\.\.?/)|\.(?:s?html?|jsp|aspx?|php)(?:[?#]|$)", re.I)


def links(html: str | Selector, url: str) -> list[Link]:
    """Every followable link of the page with its anchor text (or title attribute).

    Besides `<a href>`: the address a script opens on click (`onclick="window.open('…')"`,
    `href="javascript:openWin('…')"`), department pickers (`<option value='http://…'>`),
    image maps and frames. Relative addresses resolve against `<base href>` when the page has one.
    """
    sel = html if isinstance(html, Selector) else Selector(text=html, type="html")
    base = urljoin(url, (sel.xpath("//base/@href").get() or "").strip())
    found: dict[str, Link] = {}
    for anchor in sel.xpath("//a[@href or @onclick] | //area[@href]"):
        target = _target(anchor.attrib.get("href", ""), anchor.attrib.get("onclick", ""))
        if target:
            _keep(found, urljoin(base, target).split("#")[0], _text(anchor))
    for option in sel.xpath("//option[@value]"):
        value = option.attrib["value"].strip()
        if URLISH.search(value) and not value.lower().startswith(SKIP):
            _keep(found, urljoin(base, value).split("#")[0], _text(option))
    for frame in sel.xpath("//iframe[@src]/@src | //frame[@src]/@src").getall():
        absolute = urljoin(base, frame.strip())
        found.setdefault(absolute, Link(absolute, "iframe"))
    return list(found.values())


def _target(href: str, onclick: str) -> str | None:
    """The address a link leads to: its href, or the URL its script opens."""
    href = href.strip()
    if href and not href.lower().startswith(SKIP):
        return href
    script = SCRIPTED_URL.search(f"{href} {onclick}")
    if script and URLISH.search(script.group("url")):
        return script.group("url")
    return None


TRUNCATED = ("...", "…", "。。。")


def _text(element: Selector) -> str:
    """What a reader sees: the text, else the title, alt or image alt (`<img alt=下一页>`).

    A list cuts long titles short ("…2023年政府信..."): the title attribute, when longer,
    holds the whole one.
    """
    text = " ".join("".join(element.xpath(".//text()").getall()).split())
    title = element.attrib.get("title") or ""
    if text.endswith(TRUNCATED) and len(title) > len(text.rstrip(".…。")):
        return title
    return text or title or element.attrib.get("alt") or (element.xpath(".//img/@alt").get() or "")


def _keep(found: dict[str, Link], absolute: str, text: str) -> None:
    if absolute not in found or len(text) > len(found[absolute].text):
        found[absolute] = Link(absolute, text)


def next_pages(html: str | Selector, url: str) -> list[PageRequest]:
    """Further list pages announced by plain links: 下一页, ?page=N, index_N.html, and every
    page up to the one 尾页 names."""
    sel = html if isinstance(html, Selector) else Selector(text=html, type="html")
    pages: dict[str, PageRequest] = {}
    found = links(sel, url)
    for link in found:
        if NEXT_TEXT.match(link.text) or re.fullmatch(r"\d{1,3}", link.text):
            pages.setdefault(link.url, PageRequest(link.url))
        if LAST_TEXT.match(link.text):
            for page in pages_up_to(link.url, url):
                pages.setdefault(page, PageRequest(page))
    for link in found:
        if _same_list(link.url, url):
            pages.setdefault(link.url, PageRequest(link.url))
    pages.pop(url, None)
    return list(pages.values())


def pages_up_to(last: str, url: str) -> list[str]:
    """Pages 2…N of a list whose last page (尾页) is `last`: `?pageNo=N` or `list_N.html`."""
    parts = urlsplit(last)
    key = next((k for k, v in parse_qsl(parts.query) if k.lower() in PAGE_KEYS and v.isdigit()), "")
    if key and _same_list(last, url):
        count = int(dict(parse_qsl(parts.query))[key])
        return [with_page(last, n, key) for n in range(2, min(count, MAX_PAGES) + 1)]
    numbered = NUMBERED.match(parts.path.rsplit("/", 1)[-1])
    if numbered and _same_list(last, url):
        stem, ext = numbered.group("stem"), numbered.group("ext")
        count = min(int(numbered.group("n")), MAX_PAGES)
        return [urljoin(last, f"{stem}_{n}.{ext}") for n in range(2, count + 1)]
    return []


def _same_list(candidate: str, url: str) -> bool:
    """Another page of the same list: same path with another page number, or `{stem}_N` of it."""
    a, b = urlsplit(candidate), urlsplit(url)
    if a.netloc != b.netloc:
        return False
    if a.path == b.path and a.query != b.query:
        qa, qb = _without_page(a.query), _without_page(b.query)
        return len(qa) < len(parse_qsl(a.query)) and qa == qb
    folder, _, name = b.path.rpartition("/")
    stem = re.sub(r"_\d+$", "", name.rsplit(".", 1)[0]) or "index"
    return bool(re.fullmatch(re.escape(f"{folder}/{stem}") + r"_\d+\.s?html?", a.path))


def _without_page(query: str) -> dict[str, str]:
    """The query's fields other than a page number."""
    return {k: v for k, v in parse_qsl(query) if k.lower() not in PAGE_KEYS}


def replace_page(url: str, page: int, key: str = "page") -> str:
    """The URL with its `key=` set to `page`, the rest of the query left as the site wrote it
    (`path=/`, a twice-encoded `webname`, the order of the fields); added when missing."""
    pattern = rf"([?&]{re.escape(key)}=)\d*"
    if re.search(pattern, url):
        return re.sub(pattern, rf"\g<1>{page}", url, count=1)
    return with_page(url, page, key)


def with_page(url: str, page: int, key: str = "page") -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query[key] = str(page)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
