"""大汉 Hanweb JCMS: column pages with an inline jpage datastore, paged by dataproxy.jsp (pure).

The first records of a column sit inside `<script type="text/xml"><datastore>…<record>
<![CDATA[<li><a href=…>]]>` where an HTML parser sees nothing; the rest come only from
`POST /module/web/jpage/dataproxy.jsp?startrecord=&endrecord=&perpage=` with the form fields the
page's `jpage({... ajaxParam:{…}})` script names (or, on some sites, the `<nextgroup>` GET URL
with `page=N`). A static `index_1.html` does not exist on such sites.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode, urljoin

from crawler.layouts.base import Link, PageRequest
from crawler.layouts.generic import links as html_links
from crawler.layouts.generic import with_page

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
JPAGE = re.compile(r"jpage\(\s*\{(.*?)\}\s*\)\s*;?", re.DOTALL)
PARAM_BLOCK = re.compile(r"ajaxParam\s*:\s*\{(.*?)\}", re.DOTALL)
PAIR = re.compile(r"""([A-Za-z_]\w*)\s*:\s*(?:'([^']*)'|"([^"]*)"|([^,\s}]+))""")
NUMBER = {
    "total": re.compile(r"totalRecord\s*:\s*['\"]?(\d+)"),
    "per_page": re.compile(r"perPage\s*:\s*['\"]?(\d+)"),
    "unit_id": re.compile(r"(?:unitid|unitId)\s*:\s*['\"]?(\d+)"),
}


def is_hanweb(html: str) -> bool:
    return any(mark in html for mark in FINGERPRINTS)


def inline_records(html: str, url: str) -> list[Link]:
    """Links held in the inline `<datastore>` records (with or without `<recordset>`)."""
    found: list[Link] = []
    for store in DATASTORE.findall(html):
        store = NEXTGROUP.sub("", store)
        fragments = RECORD.findall(store) or BARE_CDATA.findall(store)
        for fragment in fragments:
            found.extend(html_links(fragment, url))
    return found


def dataproxy_records(xml: str, url: str) -> tuple[list[Link], int | None]:
    """Links of a dataproxy.jsp answer and its `<totalrecord>`."""
    total = re.search(r"<totalrecord>\s*(\d+)\s*</totalrecord>", xml, re.IGNORECASE)
    found: list[Link] = []
    for fragment in RECORD.findall(xml):
        found.extend(html_links(fragment, url))
    return found, int(total.group(1)) if total else None


def _params(script: str) -> dict[str, str]:
    block = PARAM_BLOCK.search(script)
    if not block:
        return {}
    return {
        m.group(1): next(g for g in m.groups()[1:] if g is not None)
        for m in PAIR.finditer(block.group(1))
    }


def paging_requests(html: str, url: str) -> list[PageRequest]:
    """The POST requests that fetch every record beyond the inline ones, in groups."""
    requests: list[PageRequest] = []
    for script in JPAGE.findall(html):
        params = _params(script)
        if "columnid" not in params:
            continue
        total = _number("total", script)
        per_page = _number("per_page", script) or 15
        inline = len(inline_records(html, url))
        if total is None:
            total = inline + 3 * per_page  # unknown: ask one group past what we hold
        group = 3 * per_page
        proxy = (
            urljoin(url, params.pop("proxyUrl", PROXY))
            if "proxyUrl" in params
            else urljoin(url, PROXY)
        )
        form = {k: v for k, v in params.items()}
        start = inline + 1
        while start <= total:
            end = min(start + group - 1, total)
            query = urlencode({"startrecord": start, "endrecord": end, "perpage": per_page})
            requests.append(PageRequest(f"{proxy}?{query}", "POST", dict(form), {"Referer": url}))
            start = end + 1
    return requests + nextgroup_requests(html, url)


def nextgroup_requests(html: str, url: str) -> list[PageRequest]:
    """The GET form: the `<nextgroup>` URL with page=N, when the page announces a total."""
    match = NEXTGROUP.search(html)
    if not match or any("columnid" in _params(script) for script in JPAGE.findall(html)):
        return []  # the POST form above already covers this list
    hrefs = re.findall(r"href=['\"]([^'\"]+)", match.group(1))
    if not hrefs:
        return []
    first = urljoin(url, hrefs[0].replace("&amp;", "&"))
    pages = re.search(r"totalpage\s*[:=]\s*['\"]?(\d+)", html, re.IGNORECASE)
    last = int(pages.group(1)) if pages else 1
    return [PageRequest(with_page(first, n), headers={"Referer": url}) for n in range(1, last + 1)]


def _number(name: str, script: str) -> int | None:
    match = NUMBER[name].search(script)
    return int(match.group(1)) if match else None
