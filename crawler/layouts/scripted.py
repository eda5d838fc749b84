"""Lists built by JavaScript: find the data API in plain sight, or say a browser is needed (pure).

Many portals ship a list page as an empty shell (`<ul id="list"></ul>`) plus a script that
fetches JSON and writes the links. When the script names its API with a string literal in a
GET call (`fetch('/api/list.json')`, `$.getJSON("…")`, `xhr.open('GET', '…')`), Scrapy fetches
it directly and `json_links` reads the links out of the answer. The page goes to the browser
when the address is put together at run time, or when the API wants a POST whose form data
sits in a script (`$.post('/api/list', {...})`): only the script knows what to send.

A bare `url: '…'` property is weak evidence: share widgets, login and tracking endpoints use
it too. It is fetched only when it looks like a list API on the page's own site, and it never
keeps a page out of the browser.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

from parsel import Selector

from crawler.layouts.base import Link, PageRequest, Posted, json_objects
from crawler.layouts.generic import PAGE_KEYS, replace_page

# A call that loads data, with its first argument when that is a plain string literal.
CALL_LITERAL = re.compile(
    r"""(?P<call>\bfetch|\$\.getJSON|\$\.get|\$\.post|axios\.get|axios\.post)"""
    r"""\s*\(\s*(?P<q>['"])(?P<url>[^'"]+)(?P=q)\s*[,)]""",
    re.IGNORECASE,
)
OPEN_LITERAL = re.compile(
    r"""\.open\s*\(\s*['"](?P<verb>GET|POST)['"]\s*,\s*(?P<q>['"])(?P<url>[^'"]+)(?P=q)\s*[,)]""",
    re.IGNORECASE,
)
URL_PROPERTY = re.compile(r"""\burl\s*:\s*(?P<q>['"])(?P<url>[^'"]+)(?P=q)\s*[,}]""", re.IGNORECASE)
POST_OPTION = re.compile(r"""\b(?:type|method)\s*:\s*['"]POST['"]""", re.IGNORECASE)
AJAX_START = re.compile(r"\.ajax\s*\(|\burl\s*:", re.IGNORECASE)
LOADS_DATA = re.compile(
    r"\bfetch\s*\(|XMLHttpRequest|\$\.(?:ajax|getJSON|get|post)\s*\(|axios\.|\.open\s*\(\s*['\"]GET",
    re.IGNORECASE,
)
# A list container with nothing in it yet, or only what stands in for the list while a script
# loads it: comments, blank tags, "加载中…", "正在加载", "loading", "请稍候".
CONTAINER_START = re.compile(
    r"<(?P<tag>ul|ol|dl|tbody|table|div)\b(?P<attributes>[^>]*)>", re.IGNORECASE
)
BLANK_MAX = 600  # characters: a box holding more than this holds more than a loading notice
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
TAG = re.compile(r"<[^>]*>")
# What fills a box without text: a link, or a frame holding the list (followed as a link).
FILLED = re.compile(r"<(?:a|iframe|frame|object|embed)\b", re.IGNORECASE)
PLACEHOLDER = re.compile(
    r"^(?:数据)?(?:正在)?(?:加载|载入|读取)(?:中|数据)?|^loading|^请稍[候等]", re.IGNORECASE
)
NAME_ATTRIBUTE = re.compile(r"""\b(?:id|class)\s*=\s*(['"])([^'"]+)\1""", re.IGNORECASE)
# Words in the id or class of a container a script fills with a list of documents…
LIST_WORDS = {  # not "row": Bootstrap's grid puts a `div.row` on every page
    "list",
    "lists",
    "data",
    "item",
    "items",
    "rows",
    "result",
    "results",
    "news",
    "doc",
    "docs",
    "record",
    "records",
    "lb",
}
# …and of the empty boxes every real page has, filled by scripts that never list reports:
# share buttons, QR codes, search suggestions, players, page furniture, related links,
# attachment boxes.
WIDGET_WORDS = re.compile(
    r"share|qr|code|search|tip|player|video|audio|top|bottom|nav|menu|banner|access|weather"
    r"|time|date|page|link|appendix|attach|fujian|comment|arrow|author|editor",
    re.IGNORECASE,
)
# The id or class of a box for a page's attachments (Ucap `tblAppendix`, `fujian`, `attach…`).
ATTACHMENT_BOX = re.compile(r"appendix|attach|fujian|enclosure", re.IGNORECASE)
LINK_KEYS = ("url", "link", "href", "path", "docurl", "linkurl", "fileurl", "pageurl")
TITLE_KEYS = ("title", "name", "text", "doctitle", "subject")
DOCUMENT_PATH = re.compile(
    r"^(?:https?://|/|\./|\.\./)?[\w./%-]+\.(?:s?html?|pdf|docx?|wps|xlsx?)$"
)


# Endpoints that never answer with a list: sign-in, tracking, counters, share and chat widgets.
NOT_A_LIST = re.compile(
    r"log(?:in|out|on|off)|sign|sso|auth|captcha|vcode|verify|token|session|user|track|share"
    r"|stat|count|visit|hits|click|weather|comment|vote|favou?r|collect|subscri|wx|weixin|jssdk",
    re.IGNORECASE,
)
# What a `url:` property must look like to be taken for a list API.
LIST_API_NAME = re.compile(
    r"list|data|query|page|col(?:umn)?|channel|doc|info|article|news|nb|item|record|search"
    r"|catalog|content",
    re.IGNORECASE,
)
LIST_API_SUFFIX = re.compile(r"(?:^|/)[^/.]*$|\.(?:json|jsp|do|action|php|aspx?|ashx|xml)$")


@dataclass(frozen=True)
class Api:
    """A data address a script names: how it is asked for, and how sure we are it is one."""

    url: str
    method: str
    named_call: bool  # fetch/$.get/xhr.open…, not a bare `url:` property


def data_apis(html: str, url: str, scripts: list[str] | None = None) -> list[PageRequest]:
    """GET data URLs the page's scripts (inline, or `scripts` fetched beside it) name literally.

    POST APIs are left out: their form data is in the script, and a GET would lose the list.
    """
    return [PageRequest(api.url) for api in _apis(html, url, scripts) if api.method == "GET"]


def needs_browser(html: str, url: str) -> bool:
    """An empty list container filled by a script whose GET data address is not in plain sight."""
    if not any(_is_list_box(attributes) for attributes in _blank_containers(html)):
        return False
    if not _has_filling_script(html):
        return False
    apis = _apis(html, url)
    if any(api.method == "POST" for api in apis):
        return True
    return not any(api.named_call for api in apis)


def attachments_by_script(html: str) -> bool:
    """An empty attachment box a script fills (Ucap's `相关附件>>` `table#tblAppendix`, a
    `div.fujian`): a report page showing no file link may hold its tables in a file that only
    a browser sees."""
    if not any(ATTACHMENT_BOX.search(_names(a)) for a in _blank_containers(html)):
        return False
    return _has_filling_script(html)


# A pager a script drives: a control labelled as the next page (or a later page's number)
# whose link is script (`<a href="javascript:goPage(2)">下一页</a>`, an `onclick`)…
PAGER_LABEL = re.compile(r"^(?:下一?页|下页|后一?页|尾页|末页|next|›|»|>|\d+)$", re.IGNORECASE)
SCRIPT_CONTROLS = (
    "//a[starts-with(translate(normalize-space(@href), 'JAVSCRIPT', 'javscript'), 'javascript:')"
    " or @onclick] | //button[@onclick] | //input[@onclick] | //span[@onclick] | //li[@onclick]"
)
# …or an empty pager box a script fills (Fujian's avalon `div.page_base` beside a static list).
PAGER_WORDS = {"page", "pages", "pager", "pagebar", "pagination", "paging", "pagenav", "fenye"}
NOT_PAGER = re.compile(r"top|bottom|head|foot|title|content|wrap|main|body", re.IGNORECASE)


def pages_by_script(html: str) -> bool:
    """Whether the list's further pages are shown only by a script: a pager control that runs
    script (`javascript:goPage(2)`, an `onclick` on 下一页), or an empty pager box beside a
    script that fills it (shared/research/cms-layouts.md: the Fujian TRS pages show their first
    ten reports in the markup, the rest only behind `ms-controller="list_pagebar"`)."""
    return _script_pager_control(html) or (
        any(_is_pager_box(a) for a in _blank_containers(html)) and _has_filling_script(html)
    )


def _script_pager_control(html: str) -> bool:
    for control in Selector(text=html, type="html").xpath(SCRIPT_CONTROLS):
        label = "".join(control.xpath(".//text() | @value").getall())
        label = re.sub(r"\s+", "", label)
        if PAGER_LABEL.match(label) and not (label.isdigit() and int(label) < 2):
            return True
    return False


def _is_pager_box(attributes: str) -> bool:
    names = _names(attributes)
    return bool(_words(names) & PAGER_WORDS) and not NOT_PAGER.search(names)


def _has_filling_script(html: str) -> bool:
    """Inline script that loads data, or an external script that is not a known library."""
    sel = Selector(text=html, type="html")
    scripts = " ".join(sel.xpath("//script[not(@src)]/text()").getall())
    external = sel.xpath("//script/@src").getall()
    return bool(LOADS_DATA.search(scripts) or any(not _is_library(src) for src in external))


def _apis(html: str, url: str, scripts: list[str] | None = None) -> list[Api]:
    """Every plausible list API the scripts name, once each."""
    sel = Selector(text=html, type="html")
    sources = sel.xpath("//script[not(@src)]/text()").getall() + list(scripts or [])
    found: dict[str, Api] = {}
    for source in sources:
        for api in _calls(source, url):
            if _plausible(api, url):
                found.setdefault(api.url, api)
    return list(found.values())


def _calls(source: str, url: str) -> list[Api]:
    """Literal data addresses in one script, with the method each is asked for with."""
    calls = []
    for m in CALL_LITERAL.finditer(source):
        post = m.group("call").lower().endswith("post") or bool(
            POST_OPTION.search(source, m.end(), m.end() + 200)
        )
        calls.append(Api(urljoin(url, m.group("url")), "POST" if post else "GET", True))
    for m in OPEN_LITERAL.finditer(source):
        calls.append(Api(urljoin(url, m.group("url")), m.group("verb").upper(), True))
    for m in URL_PROPERTY.finditer(source):
        post = bool(POST_OPTION.search(_options_around(source, m)))
        calls.append(Api(urljoin(url, m.group("url")), "POST" if post else "GET", False))
    return calls


def _options_around(source: str, match: re.Match[str]) -> str:
    """The options object a `url:` property sits in, roughly: up to the next call's `url:`."""
    start = max(0, match.start() - 300)
    before = list(AJAX_START.finditer(source, start, match.start()))
    if before:
        start = before[-1].start()
    after = AJAX_START.search(source, match.end(), match.end() + 300)
    return source[start : after.start() if after else match.end() + 300]


def _plausible(api: Api, page_url: str) -> bool:
    """An address on the page's own site that may answer with a list."""
    target = urlsplit(api.url)
    if target.scheme not in ("http", "https") or target.path.endswith(".js"):
        return False
    if _host(target.netloc) != _host(urlsplit(page_url).netloc):
        return False
    if NOT_A_LIST.search(target.path):
        return False
    if api.named_call:
        return True
    return bool(LIST_API_NAME.search(target.path) and LIST_API_SUFFIX.search(target.path))


def _host(netloc: str) -> str:
    return netloc.lower().removeprefix("www.")


def _blank_containers(html: str) -> list[str]:
    """The attributes of every container holding no list yet, nested ones included."""
    found = []
    for start in CONTAINER_START.finditer(html):
        inner = _inner(html, start)
        if inner is not None and _is_blank(inner):
            found.append(start.group("attributes"))
    return found


def _inner(html: str, start: re.Match[str]) -> str | None:
    """What a container holds, up to its own closing tag (containers of its kind inside it
    are counted, so `<div class="row"><div class="logo">…` is not read as an empty `div.row`);
    None when that is more than a blank box ever holds."""
    tag = start.group("tag")
    depth, limit = 1, start.end() + BLANK_MAX
    for mark in re.compile(rf"<(/?){tag}\b[^>]*>", re.IGNORECASE).finditer(html, start.end()):
        if mark.start() > limit:
            return None
        depth += -1 if mark.group(1) else 1
        if depth == 0:
            return html[start.end() : mark.start()]
    return None


def _is_blank(inner: str) -> bool:
    """Nothing a reader would take for the list: no link, and no text but a loading notice."""
    inner = COMMENT.sub("", inner)
    if FILLED.search(inner):
        return False
    text = re.sub(r"\s+", "", TAG.sub("", inner))
    return not text or bool(PLACEHOLDER.match(text))


def _is_list_box(attributes: str) -> bool:
    """An empty element named like a list (`ul#nb-list`, `tbody#rows`, `div.newsList`).

    Real gov.cn pages carry many empty boxes with an id (`div#qrcode`, `div#share-1`,
    `ul#searchTips`, `div#page_top`): 10 of the 16 saved pages in shared/corpus/raw have one and
    an external script, and none of them needs a browser to find its links.
    """
    names = _names(attributes)
    return bool(_words(names) & LIST_WORDS) and not WIDGET_WORDS.search(names)


def _words(names: str) -> set[str]:
    """The words of ids and class names: `newsList` → news, list; `page_base` → page, base."""
    return {w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", names)}


def _names(attributes: str) -> str:
    """The id and class values of a tag's attributes, space-separated."""
    return " ".join(match.group(2) for match in NAME_ATTRIBUTE.finditer(attributes))


def _is_library(src: str) -> bool:
    """Common libraries and analytics, which never build a report list by themselves."""
    name = src.rsplit("/", 1)[-1].lower()
    return any(
        lib in name for lib in ("jquery", "vue", "react", "bootstrap", "layui", "swiper", "tongji")
    )


def json_links(text: str, url: str) -> list[Link]:
    """Links in a JSON answer: document-like addresses, with the title beside them."""
    try:
        data = json.loads(text)
    except ValueError:
        return []
    return _document_links(data, url)


def _document_links(data: Any, url: str) -> list[Link]:
    found: dict[str, Link] = {}
    for item in json_objects(data):
        title = next((str(item[k]) for k in item if k.lower() in TITLE_KEYS and item[k]), "")
        for key, value in item.items():
            if not isinstance(value, str):
                continue
            if key.lower() in LINK_KEYS or DOCUMENT_PATH.match(value.strip()):
                absolute = urljoin(url, value.strip())
                found.setdefault(absolute, Link(absolute, title))
    return list(found.values())


# A JSON list API's paging: the page it was asked for (a query parameter, generic.PAGE_KEYS),
# and how many pages there are (from the answer: a page count, or a total over the page size).
SIZE_PARAMETERS = ("pagesize", "size", "rows", "limit", "perpage", "numperpage", "ps")
PAGE_COUNT_KEYS = ("totalpage", "totalpages", "pagecount", "pages", "pagetotal", "totalpagenum")
TOTAL_KEYS = (
    "total",
    "totalcount",
    "totalrecord",
    "totalrecords",
    "totalnum",
    "totalsize",
    "totalelements",
    "totalrow",
    "totalrows",
    "recordcount",
    "count",
)
# A record offset with a page size beside it (`start=0&limit=20`): ExtJS, Solr, `offset`.
# Not Hanweb's `startrecord`, which its own layout pages with `endrecord`; not `from`, as often
# a year or a date as Elasticsearch's offset.
OFFSET_KEYS = {"start", "offset", "startrow", "startindex", "skip", "firstresult"}
MAX_JSON_PAGES = 50  # pages of one list API asked for; a yearly-report list is far shorter


def json_pages(text: str, url: str, posted: Posted | None = None) -> list[PageRequest]:
    """The pages after this one of a JSON list answer asked for with a page number or a record
    offset: in its URL (`?pageNo=1`, `?start=0&limit=20`), or in what it was POSTed with (a
    form, `channelid=1813&page=1` as jQuery's `$.post` sends it; a JSON object, `{"pageNo": 1}`
    as axios does), its other pages then POSTed the same way.

    All of them when the answer says how many there are (`totalPage`, or `total` and the page
    size); only the next one when it does not but came back full (as many links as the
    `pageSize` asked for). Nothing for an answer that lists no document: a JSON answer that is
    not a list is never paged through. Only later pages: the first answer seen is the first
    page, and a later page asking for the earlier ones again would fetch what a browser (whose
    requests Scrapy's duplicate filter never sees) fetched already.
    """
    fields = posted.fields if posted is not None else dict(parse_qsl(urlsplit(url).query))
    paging = _paging(fields)
    if paging is None:
        return []
    try:
        data = json.loads(text)
    except ValueError:
        return []
    links = _document_links(data, url)
    if not links:
        return []
    size = paging.size or paging_number(data, SIZE_PARAMETERS)
    count = _page_count(data, size)
    if count is not None:
        wanted = range(min(count, MAX_JSON_PAGES))
    elif size and len(links) >= size and paging.index + 1 < MAX_JSON_PAGES:
        wanted = range(paging.index + 1, paging.index + 2)  # an API ignoring its page ends too
    else:
        return []
    return [_page_request(url, posted, paging.fields(k)) for k in wanted if k > paging.index]


Path = tuple[str, ...]  # a field's keys, outermost first: ("pageNo",), ("page", "current")
MAX_DEPTH = 3  # objects nested deeper hold filters, not paging
Keys = set[str] | tuple[str, ...]
# Inside an object of paging fields, the page number may go by a bare name: {"page": {"no": 1}}
PAGING_OBJECTS = {"page", "pager", "paging", "pagination", "pageinfo", "pageparam", "pageable"}
PAGE_NUMBERS = {"no", "num", "number", "index"}


@dataclass(frozen=True)
class Paging:
    """How a JSON list's request names its page: by number (`pageNo=1`), by the offset of its
    first record with a page size (`start=0&limit=20`: ExtJS, Solr; `offset`, `skip`), or
    both (ExtJS sends `page`, `start` and `limit` together; both are moved on). A field is
    named by its path: a JSON object may nest them (`{"page": {"current": 1, "size": 10}}`).
    """

    index: int  # the page asked for, counted from 0
    size: int | None  # the page size asked for, if the request names one
    page: tuple[Path, int] | None = None  # (field, number of the first page: 0 or 1)
    offset: tuple[Path, int] | None = None  # (field, offset of the first page: 0 or 1)

    def fields(self, index: int) -> dict[Path, int]:
        """The paging fields' values for page `index`."""
        values = {}
        if self.page is not None:
            values[self.page[0]] = self.page[1] + index
        if self.offset is not None and self.size:
            values[self.offset[0]] = self.offset[1] + index * self.size
        return values


def _paging(fields: dict[str, Any]) -> Paging | None:
    leaves = list(_leaves(fields))
    page = _numbered(leaves, PAGE_KEYS) or _numbered(
        [(p, v) for p, v in leaves if len(p) > 1 and p[-2].lower() in PAGING_OBJECTS], PAGE_NUMBERS
    )
    size = next((n for _, n in _numbered_all(leaves, SIZE_PARAMETERS) if n > 0), None)
    offset = _numbered(leaves, OFFSET_KEYS) if size else None
    if page is not None:
        first = 0 if page[1] == 0 else 1
        index = page[1] - first
        if offset is not None and size and offset[1] - index * size not in (0, 1):
            offset = None  # a field beside the page number that is no offset (start=2020)
    elif offset is not None and size:
        index = offset[1] // size  # start=1, 21, 41: records counted from 1
    else:
        return None
    return Paging(
        index,
        size,
        page=(page[0], first) if page is not None else None,
        offset=(offset[0], offset[1] - index * size) if offset is not None and size else None,
    )


def _page_request(url: str, posted: Posted | None, values: dict[Path, int]) -> PageRequest:
    """The page asked for as the first was, its paging fields set to `values`: its URL, its
    form or its JSON object (nested fields set where they are)."""
    if posted is None:
        for (name, *_), number in values.items():
            url = replace_page(url, number, name)
        return PageRequest(url)
    if posted.json:
        sent = copy.deepcopy(posted.fields)  # the first request's object stays as it was
        for path, number in values.items():
            *outer, name = path
            holder = sent
            for key in outer:
                holder = holder[key]
            holder[name] = str(number) if isinstance(holder[name], str) else number  # as sent
        return PageRequest(url, method="POST", json=sent)
    formdata = {**posted.fields, **{path[0]: str(v) for path, v in values.items()}}
    return PageRequest(url, method="POST", formdata=formdata)


def _leaves(fields: dict[str, Any], outer: Path = ()) -> Iterator[tuple[Path, Any]]:
    """(path, value) of every field, those of nested objects after the object's own."""
    nested = []
    for key, value in fields.items():
        if isinstance(value, dict):
            nested.append((key, value))
        else:
            yield (*outer, key), value
    if len(outer) + 1 < MAX_DEPTH:
        for key, value in nested:
            yield from _leaves(value, (*outer, key))


def _numbered_all(leaves: list[tuple[Path, Any]], keys: Keys) -> Iterator[tuple[Path, int]]:
    """(path, number) of the fields named one of `keys` holding a whole number."""
    for path, value in leaves:
        if path[-1].lower() in keys and _number(value) is not None:
            yield path, int(value)


def _numbered(leaves: list[tuple[Path, Any]], keys: Keys) -> tuple[Path, int] | None:
    """The first of `_numbered_all`, or None."""
    return next(_numbered_all(leaves, keys), None)


def _number(value: Any) -> int | None:
    """A whole number given as digits or as a number (0 included; never a boolean)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    return None


def _page_count(data: Any, size: int | None) -> int | None:
    pages = paging_number(data, PAGE_COUNT_KEYS)
    if pages is not None:
        return pages
    total = paging_number(data, TOTAL_KEYS)
    if total is not None and size:
        return math.ceil(total / size)
    return None


def paging_number(data: Any, keys: tuple[str, ...]) -> int | None:
    """A positive whole number under one of `keys` in the answer's envelope: its objects
    outside any list (an item's `count` of visits is not the list's total)."""
    stack = [data]
    while stack:
        value = stack.pop()
        if not isinstance(value, dict):
            continue
        for key, item in value.items():
            if key.lower() in keys and _whole(item):
                return int(item)
        stack.extend(v for v in value.values() if isinstance(v, dict))
    return None


def _whole(value: Any) -> bool:
    """A positive whole number, as a number or as digits in a string."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return value > 0 and float(value).is_integer()
    return isinstance(value, str) and value.isdigit() and int(value) > 0
