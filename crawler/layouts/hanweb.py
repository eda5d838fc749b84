"""大汉 Hanweb JCMS: column pages with an inline jpage datastore, paged by dataproxy.jsp (pure).

The first records of a column sit inside `<script type="text/xml"><datastore>…<record>
<![CDATA[<li><a href=…>]]>` where an HTML parser sees nothing; the rest come only from
`POST /module/web/jpage/dataproxy.jsp?startrecord=&endrecord=&perpage=` with the form fields the
page's `jpage({... ajaxParam:{…}})` script names, or, when the script names none, from the
`<nextgroup>` GET URL with `page=N`, whose answer says how many pages there are
(`<totalpage>`). A static `index_1.html` does not exist on such sites. One page may hold several
jpage units (a sidebar list beside the main one), each with its own datastore and script.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from crawler.layouts.base import Link, PageRequest
from crawler.layouts.generic import links as html_links
from crawler.layouts.generic import replace_page

PROXY = "/module/web/jpage/dataproxy.jsp"
# An article: /art/{YYYY}/{M}/{D}/art_{columnid}_{articleid}.html (month and day not padded)
ARTICLE_URL = re.compile(r"/art/\d{4}/\d{1,2}/\d{1,2}/art_\d+_\d+\.html?$")
# The article text: div#zoom (fenced inside by ContentStart/ContentEnd metas)
ARTICLE_BODY = '//*[@id="zoom"]'
FINGERPRINTS = ("大汉网络", "大汉版通", "hanweb.com", "/module/web/jpage/", "jpage(")
DATASTORE = re.compile(r"<datastore>(.*?)</datastore>", re.DOTALL | re.IGNORECASE)
RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.DOTALL | re.IGNORECASE)
BARE_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)
NEXTGROUP = re.compile(r"<nextgroup>\s*<!\[CDATA\[(.*?)\]\]>\s*</nextgroup>", re.DOTALL | re.I)
# `$('#9120').jpage({…})`: the selector names the unit when ajaxParam does not
JPAGE = re.compile(
    r"""(?:(?:\$|jQuery)\(\s*['"]#([\w-]+)['"]\s*\)\s*\.)?jpage\(\s*\{(.*?)\}\s*\)\s*;?""",
    re.DOTALL,
)
PARAM_BLOCK = re.compile(r"ajaxParam\s*:\s*\{(.*?)\}", re.DOTALL)
PAIR = re.compile(r"""([A-Za-z_]\w*)\s*:\s*(?:'([^']*)'|"([^"]*)"|([^,\s}]+))""")
PROXY_URL = re.compile(r"""proxyUrl\s*:\s*['"]([^'"]+)['"]""")
# The id of the element a datastore sits in: `<div id="9120"><script type="text/xml">`
HOLDER_ID = re.compile(r"""(?<![\w-])id\s*=\s*['"]?([\w-]+)['"]?[^<>]*>\s*(?:<[^<>]*>\s*)?$""")
NUMBER = {
    "total": re.compile(r"totalRecord\s*:\s*['\"]?(\d+)"),
    "per_page": re.compile(r"perPage\s*:\s*['\"]?(\d+)"),
}
ANSWER_NUMBER = {
    "total": re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>", re.IGNORECASE),
    "pages": re.compile(r"<totalpage>\s*(\d+)\s*</totalpage>", re.IGNORECASE),
}


@dataclass(frozen=True)
class Store:
    """One inline datastore: the unit it belongs to, its records, its `<nextgroup>` URL."""

    unit: str | None
    records: list[str]
    nextgroup: str | None
    at: int


def is_hanweb(html: str) -> bool:
    return any(mark in html for mark in FINGERPRINTS)


def stores(html: str) -> list[Store]:
    """Every inline `<datastore>` of the page (with or without `<recordset>`), in page order."""
    found = []
    for match in DATASTORE.finditer(html):
        group = NEXTGROUP.search(match.group(1))
        body = NEXTGROUP.sub("", match.group(1))
        records = RECORD.findall(body) or BARE_CDATA.findall(body)
        href = re.search(r"href=['\"]([^'\"]+)", group.group(1)) if group else None
        nextgroup = href.group(1).replace("&amp;", "&") if href else None
        unit = dict(parse_qsl(urlsplit(nextgroup).query)).get("unitid") if nextgroup else None
        holder = HOLDER_ID.search(html, max(0, match.start() - 300), match.start())
        unit = unit or (holder.group(1) if holder else None)
        found.append(Store(unit, records, nextgroup, match.start()))
    return found


def inline_records(html: str, url: str) -> list[Link]:
    """Links held in the inline `<datastore>` records."""
    return [link for store in stores(html) for r in store.records for link in html_links(r, url)]


def dataproxy_records(xml: str, url: str) -> tuple[list[Link], int | None]:
    """Links of a dataproxy.jsp answer and its `<totalrecord>`."""
    found: list[Link] = []
    for fragment in RECORD.findall(xml):
        found.extend(html_links(fragment, url))
    return found, _number(ANSWER_NUMBER["total"], xml)


def paging_requests(html: str, url: str) -> list[PageRequest]:
    """The requests that fetch every record beyond the inline ones, unit by unit: POSTs in
    groups where the script names the form fields, else the `<nextgroup>` GET URL."""
    held = stores(html)
    requests: list[PageRequest] = []
    claimed: set[int] = set()  # positions of the datastores a script pages
    for match in JPAGE.finditer(html):
        options, params = match.group(2), _params(match.group(2))
        store = _store_of(params.get("unitid") or match.group(1), match.start(), held)
        if store is not None:
            claimed.add(store.at)
        inline = len(store.records) if store else 0
        total = _number(NUMBER["total"], options)
        if "columnid" in params:
            proxy = urljoin(url, named.group(1) if (named := PROXY_URL.search(options)) else PROXY)
            per_page = _number(NUMBER["per_page"], options) or 15
            requests += _ranges(proxy, params, inline, total, per_page, url)
        elif store and store.nextgroup and (total is None or total > inline):
            requests += _get_pages(store.nextgroup, html, url)
    for store in held:
        if store.at not in claimed and store.nextgroup:
            requests += _get_pages(store.nextgroup, html, url)
    return requests


def _store_of(unit: str | None, at: int, held: list[Store]) -> Store | None:
    """A script's own datastore: the one of its unit id, else the nearest one before it."""
    named = [s for s in held if unit and s.unit == unit]
    before = [s for s in held if s.at < at]
    return named[0] if named else before[-1] if before else None


def _ranges(
    proxy: str,
    params: dict[str, str],
    inline: int,
    total: int | None,
    per_page: int,
    url: str,
) -> list[PageRequest]:
    """POSTs for records inline+1…total, a group (3 pages) at a time, as jpage sends them."""
    form = {k: v for k, v in params.items() if k != "proxyUrl"}
    group = 3 * per_page
    last = total if total is not None else inline + group  # unknown: one group past ours
    requests = []
    for start in range(inline + 1, last + 1, group):
        end = min(start + group - 1, last)
        query = urlencode({"startrecord": start, "endrecord": end, "perpage": per_page})
        requests.append(PageRequest(f"{proxy}?{query}", "POST", dict(form), {"Referer": url}))
    return requests


def _get_pages(nextgroup: str, html: str, url: str) -> list[PageRequest]:
    """The `<nextgroup>` URL: page 1 (whose answer gives `<totalpage>`), or 1…N when the column
    page itself says `totalpage = N`."""
    pages = re.search(r"totalpage\s*[:=]\s*['\"]?(\d+)", html, re.IGNORECASE)
    first = urljoin(url, nextgroup)
    last = int(pages.group(1)) if pages else 1
    return [PageRequest(page_url(first, n), headers={"Referer": url}) for n in range(1, last + 1)]


def answer_pages(xml: str, url: str) -> list[PageRequest]:
    """The other pages of a GET dataproxy answer (`…dataproxy.jsp?page=N&…`): 1…`<totalpage>`,
    or `<totalrecord>` over the records of page 1. A POST range answer has none: the column
    page asked for every range at once."""
    query = dict(parse_qsl(urlsplit(url).query))
    if not query.get("page", "").isdigit():
        return []
    pages = _number(ANSWER_NUMBER["pages"], xml)
    total, size = _number(ANSWER_NUMBER["total"], xml), len(RECORD.findall(xml))
    if pages is None and total is not None and size and query["page"] == "1":
        pages = math.ceil(total / size)
    numbers = range(1, (pages or 0) + 1)
    return [PageRequest(page_url(url, n)) for n in numbers if str(n) != query["page"]]


def page_url(url: str, page: int) -> str:
    """The URL with its `page=` set to `page`, the rest of the query as the site wrote it."""
    return replace_page(url, page)


def _params(options: str) -> dict[str, str]:
    block = PARAM_BLOCK.search(options)
    if not block:
        return {}
    return {
        m.group(1): next(g for g in m.groups()[1:] if g is not None)
        for m in PAIR.finditer(block.group(1))
    }


def _number(pattern: re.Pattern[str], text: str) -> int | None:
    match = pattern.search(text)
    return int(match.group(1)) if match else None
