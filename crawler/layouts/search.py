"""A portal's own site search (Hanweb 智能检索, `jsearchfront`), asked for annual reports (pure).

Most provincial and city portals, Hanweb's and others, carry one search box on every page: a
form to `/jsearchfront/search.do` that names the site (`websiteid`, a 15-digit code) and its
results template (`tpl`), or a script opening that address with them in the query. The results
page's own script then asks `POST /jsearchfront/interfaces/cateSearch.do` with the same fields
and the query `q`, the page `p` and its size `pg`, and gets JSON: `{"total": N, "result": [
"<div class='jcse-result-box'>…<a href='visit/link.do?url=…&title=…'>…</a>…", …]}`, or, with
other templates, `resultDocs` objects holding `titleO`, `url` and `docDate` (cms-layouts §7:
the crawlers of Yantai, Jining, Weihai, Jinan and Jiangxi send exactly this).

Asked once a night for 政府信息公开工作年度报告, it finds what the walk from the home page
misses: the reports of departments and townships whose columns only a script's menu links, or
that sit deeper than the walk goes. Only titles of reports are followed, straight to the
document (not through the `visit/link.do` click counter), and the result pages are read while
they still hold a report, ten at most.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urljoin, urlsplit

import lxml.etree
import lxml.html

from crawler.layouts.base import Link, PageRequest, json_objects
from crawler.layouts.scripted import TOTAL_KEYS, paging_number
from crawler.scope import is_report_title

QUERY = "政府信息公开工作年度报告"
PAGE_SIZE = 20
MAX_PAGES = 10  # 200 results by relevance: a site's reports come first, or not at all
API_PATH = "/jsearchfront/interfaces/cateSearch.do"
# The results page a search box opens, absolute or from the site's root.
SEARCH_PAGE = re.compile(
    r"""(?P<page>(?:https?:)?(?://[\w.:-]+)?/jsearchfront/search\.do)(?P<query>\?[^\s'"<>]*)?"""
)
SITE_FIELDS = ("websiteid", "tpl", "searchid", "cateid")  # what names the site and template
NEARBY = 800  # characters around an address where a script names its fields
FIELD_NEAR = {
    name: re.compile(rf"""\b{name}['"]?\s*(?:=|:|\bvalue\s*=)\s*['"]?(\d+)""", re.IGNORECASE)
    for name in SITE_FIELDS
}
URL_KEYS = ("url", "link", "docurl", "linkurl", "href")
TITLE_KEYS = ("titleo", "title", "doctitle", "name")
TAG = re.compile(r"<[^>]+>")


def is_search_api(url: str) -> bool:
    return urlsplit(url).path.endswith(API_PATH)


def site_searches(html: str, url: str) -> list[PageRequest]:
    """The first page of the site search asked for annual reports, once per site a page's
    search box names (its `websiteid`); none when the page has no such box."""
    if "jsearchfront" not in html:
        return []
    found: dict[tuple[str, str], PageRequest] = {}
    for page, fields in _search_boxes(html, url):
        api = urljoin(page, API_PATH)
        key = (api, fields["websiteid"])
        if key not in found:
            found[key] = search_page(api, fields, 1, referer=url)
    return list(found.values())


def search_page(api: str, fields: dict[str, str], number: int, referer: str) -> PageRequest:
    """Page `number` of the results for QUERY, asked as the results page's script asks."""
    form = {name: fields[name] for name in SITE_FIELDS if fields.get(name)}
    size = fields.get("pg") if number > 1 else None  # the first page asks for PAGE_SIZE
    form.update(q=QUERY, p=str(number), pg=size or str(PAGE_SIZE), pos="title")
    headers = {"X-Requested-With": "XMLHttpRequest", "Referer": referer}
    return PageRequest(api, method="POST", formdata=form, headers=headers)


def _search_boxes(html: str, url: str) -> list[tuple[str, dict[str, str]]]:
    """(results page URL, site fields) of every search box: a form's hidden inputs, or the
    fields in the address a script opens or beside it."""
    boxes = _forms(html, url)
    for match in SEARCH_PAGE.finditer(html):
        fields = {k.lower(): v for k, v in parse_qsl((match.group("query") or "?")[1:])}
        window = html[max(0, match.start() - NEARBY) : match.end() + NEARBY]
        for name, pattern in FIELD_NEAR.items():
            near = pattern.search(window)
            if not fields.get(name) and near:
                fields[name] = near.group(1)
        boxes.append((urljoin(url, match.group("page")), fields))
    return [(page, f) for page, f in boxes if f.get("websiteid", "").isdigit()]


def _forms(html: str, url: str) -> list[tuple[str, dict[str, str]]]:
    if "<form" not in html.lower():
        return []
    try:
        root = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return []
    boxes = []
    for form in root.iter("form"):
        action = form.get("action") or ""
        if "jsearchfront" not in action:
            continue
        fields = {
            (field.get("name") or "").lower(): (field.get("value") or "").strip()
            for field in form.iter("input")
        }
        boxes.append((urljoin(url, action.split("?")[0]), fields))
    return boxes


def answer_links(text: str, url: str) -> list[Link]:
    """The reports a results page lists, at their own address (a `visit/link.do` click
    counter's `url` parameter), titled as the result shows them. Other results are left: the
    search is asked for reports, not for a walk into whatever else matched."""
    data = _json(text)
    return [] if data is None else _report_links(data, url)


def _report_links(data: Any, url: str) -> list[Link]:
    found: dict[str, Link] = {}
    for link in [*_snippet_links(data, url), *_object_links(data, url)]:
        if is_report_title(link.text):
            found.setdefault(link.url, link)
    return list(found.values())


def answer_pages(text: str, url: str, form: dict[str, str]) -> list[PageRequest]:
    """The next page of results, while this one listed a report and the total says there is
    more: results come by relevance, and a page without a report means the rest hold none.
    A first page shorter than the `pg` asked shows the server's own page size (servers cap
    it): later pages are asked with that size, so the count of results seen stays right."""
    data = _json(text)
    if data is None or not is_search_api(url):
        return []
    number, size = _number(form.get("p"), 1), _number(form.get("pg"), PAGE_SIZE)
    shown, total = _results(data), paging_number(data, TOTAL_KEYS)
    if number == 1 and 0 < shown < size:
        size = shown
    seen = (number - 1) * size + shown
    if number >= MAX_PAGES or total is None or not shown or seen >= total:
        return []
    if not _report_links(data, url):
        return []
    referer = urljoin(url, "/jsearchfront/search.do")
    return [search_page(url, {**form, "pg": str(size)}, number + 1, referer)]


def _number(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() and int(value) > 0 else default


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _snippet_links(data: Any, url: str) -> list[Link]:
    """Links in the HTML snippets a template renders each result as."""
    found = []
    for snippet in _strings(data):
        if "<a" not in snippet:
            continue
        try:
            root = lxml.html.fragment_fromstring(snippet, create_parent="div")
        except (lxml.etree.ParserError, ValueError):
            continue
        for anchor in root.iter("a"):
            href = (anchor.get("href") or "").strip()
            if not href or href.startswith(("javascript:", "#")):
                continue
            target, title = _unwrap(urljoin(url, href))
            shown = " ".join(anchor.text_content().split())
            text = title if not shown or shown.startswith(("http:", "https:")) else shown
            found.append(Link(target, text or ""))
    return found


def _unwrap(href: str) -> tuple[str, str]:
    """The document behind a click counter (`…/visit/link.do?url=…&title=…`), and its title."""
    parts = urlsplit(href)
    if not parts.path.endswith("/visit/link.do"):
        return href, ""
    query = parse_qs(parts.query)
    target = (query.get("url") or [""])[0].strip()
    return (urljoin(href, target) if target else href), (query.get("title") or [""])[0]


def _object_links(data: Any, url: str) -> list[Link]:
    """Results given as objects (`resultDocs`: `url`, `titleO`)."""
    found = []
    for item in json_objects(data):
        keys = {k.lower(): v for k, v in item.items() if isinstance(v, str) and v.strip()}
        address = next((keys[k] for k in URL_KEYS if k in keys), None)
        if address is None or address.lstrip().startswith("<"):
            continue
        title = next((keys[k] for k in TITLE_KEYS if k in keys), "")
        target, counted = _unwrap(urljoin(url, address.strip()))
        found.append(Link(target, " ".join(TAG.sub("", title or counted).split())))
    return found


def _strings(data: Any) -> list[str]:
    out: list[str] = []
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            stack.extend(reversed(list(value.values())))
        elif isinstance(value, list):
            stack.extend(reversed(value))
    return out


def _results(data: Any) -> int:
    """How many results a page holds: its longest list."""
    lists = [value for item in json_objects(data) for value in item.values()]
    return max((len(value) for value in lists if isinstance(value, list)), default=0)
