"""Lists built by JavaScript: find the data API in plain sight, or say a browser is needed (pure).

Many portals ship a list page as an empty shell (`<ul id="list"></ul>`) plus a script that
fetches JSON and writes the links. When the script names its API with a string literal
(`fetch('/api/list.json')`, `$.getJSON("…")`, `xhr.open('GET', '…')`), Scrapy fetches it
directly and `json_links` reads the links out of the answer. Only when the address is put
together at run time does the page go to the browser (`needs_browser`).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urljoin

from parsel import Selector

from crawler.layouts.base import Link, PageRequest

# A call that loads data, with its first argument when that is a plain string literal.
DATA_CALL = re.compile(
    r"""(?:\bfetch|\$\.getJSON|\$\.get|\$\.post|axios\.get|axios\.post)\s*\(\s*(?P<q>['"])(?P<url>[^'"]+)(?P=q)\s*[,)]"""
    r"""|\burl\s*:\s*(?P<q2>['"])(?P<url2>[^'"]+)(?P=q2)\s*[,}]"""
    r"""|\.open\s*\(\s*['"](?:GET|POST)['"]\s*,\s*(?P<q3>['"])(?P<url3>[^'"]+)(?P=q3)\s*[,)]""",
    re.IGNORECASE,
)
LOADS_DATA = re.compile(
    r"\bfetch\s*\(|XMLHttpRequest|\$\.(?:ajax|getJSON|get|post)\s*\(|axios\.|\.open\s*\(\s*['\"]GET",
    re.IGNORECASE,
)
EMPTY_CONTAINER = re.compile(r"<(ul|ol|dl|tbody|table|div)\b([^>]*)>\s*</\1>", re.IGNORECASE)
NAME_ATTRIBUTE = re.compile(r"""\b(?:id|class)\s*=\s*(['"])([^'"]+)\1""", re.IGNORECASE)
# Words in the id or class of a container a script fills with a list of documents…
LIST_WORDS = {
    "list",
    "lists",
    "data",
    "item",
    "items",
    "row",
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
    r"|time|date|page|link|appendix|attach|fujian|comment|arrow",
    re.IGNORECASE,
)
LINK_KEYS = ("url", "link", "href", "path", "docurl", "linkurl", "fileurl", "pageurl")
TITLE_KEYS = ("title", "name", "text", "doctitle", "subject")
DOCUMENT_PATH = re.compile(
    r"^(?:https?://|/|\./|\.\./)?[\w./%-]+\.(?:s?html?|pdf|docx?|wps|xlsx?)$"
)


def data_apis(html: str, url: str, scripts: list[str] | None = None) -> list[PageRequest]:
    """Data URLs the page's scripts (inline, or `scripts` fetched beside it) name literally."""
    sel = Selector(text=html, type="html")
    sources = sel.xpath("//script[not(@src)]/text()").getall() + list(scripts or [])
    found: dict[str, PageRequest] = {}
    for source in sources:
        for match in DATA_CALL.finditer(source):
            target = match.group("url") or match.group("url2") or match.group("url3")
            if not target or target.startswith(("javascript:", "#")) or target.endswith(".js"):
                continue
            absolute = urljoin(url, target)
            found.setdefault(absolute, PageRequest(absolute))
    return list(found.values())


def needs_browser(html: str, url: str) -> bool:
    """An empty list container filled by a script whose data address is not in plain sight."""
    if not any(_is_list_box(match.group(2)) for match in EMPTY_CONTAINER.finditer(html)):
        return False
    sel = Selector(text=html, type="html")
    scripts = " ".join(sel.xpath("//script[not(@src)]/text()").getall())
    external = sel.xpath("//script/@src").getall()
    if not (LOADS_DATA.search(scripts) or any(not _is_library(src) for src in external)):
        return False
    return not data_apis(html, url)


def _is_list_box(attributes: str) -> bool:
    """An empty element named like a list (`ul#nb-list`, `tbody#rows`, `div.newsList`).

    Real gov.cn pages carry many empty boxes with an id (`div#qrcode`, `div#share-1`,
    `ul#searchTips`, `div#page_top`): 10 of the 16 saved pages in shared/corpus/raw have one and
    an external script, and none of them needs a browser to find its links.
    """
    names = " ".join(match.group(2) for match in NAME_ATTRIBUTE.finditer(attributes))
    words = {w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", names)}
    return bool(words & LIST_WORDS) and not WIDGET_WORDS.search(names)


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
    found: dict[str, Link] = {}
    for item in _objects(data):
        title = next((str(item[k]) for k in item if k.lower() in TITLE_KEYS and item[k]), "")
        for key, value in item.items():
            if not isinstance(value, str):
                continue
            if key.lower() in LINK_KEYS or DOCUMENT_PATH.match(value.strip()):
                absolute = urljoin(url, value.strip())
                found.setdefault(absolute, Link(absolute, title))
    return list(found.values())


def _objects(data: Any) -> list[dict[str, Any]]:
    """Every JSON object inside `data`, depth first."""
    out: list[dict[str, Any]] = []
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            out.append(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(reversed(value))
    return out
