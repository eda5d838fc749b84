"""Guangdong's 政务公开目录平台 (gkmlpt): catalogue pages a script fills from a JSON API (pure).

Guangdong's bodies (and Shenzhen's) publish through one platform. Its catalogue
(`/{dept}/gkmlpt/index`) and annual reports page (`/{dept}/gkmlpt/annualreport`) are empty
shells: the platform's script reads `window._CONFIG` (the site id `SID`, the category tree
`TREE`, whose annual reports node is named 政府信息公开工作年度报告) and asks
`/gkmlpt/api/all/{category}?page={n}&sid={SID}` for the articles, 100 a page:
`{"articles": [{"id", "title", "url", …}], "total": N}` (cms-layouts §8: the endpoint seen in
crawlers of gd.gov.cn, gz.gov.cn, sz.gov.cn and zhaoqing; the script, in a public copy, builds
an article's URL from its id when `url` is empty). Here the API is asked directly, so no browser
is needed and every page of the list is read, not only the first.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

from crawler.layouts.base import Link, PageRequest

SID = re.compile(r"""\bSID\s*['"]?\s*[:=]\s*['"]?(\w+)""")
TREE = re.compile(r"""\bTREE\s*['"]?\s*[:=]\s*""")
ANNUAL = re.compile(r"年度报告|年报")
API_PATH = re.compile(r"/gkmlpt/api/all/(\d+)$")
MAX_API_PAGES = 50  # 5,000 articles: more is not a category of annual reports


def is_gkmlpt(url: str) -> bool:
    return "/gkmlpt/" in urlsplit(url).path


def catalogue_requests(html: str, url: str) -> list[PageRequest]:
    """The first API page of each annual reports category a gkmlpt page's config names."""
    if not is_gkmlpt(url) or "_CONFIG" not in html:
        return []
    sid = SID.search(html)
    if sid is None:
        return []
    base = _platform_root(url)
    return [
        PageRequest(urljoin(base, f"api/all/{category}?page=1&sid={sid.group(1)}"))
        for category in annual_categories(html)
    ]


def annual_categories(html: str) -> list[int]:
    """Ids of the category tree's nodes named like annual reports (政府信息公开工作年度报告)."""
    found: list[int] = []
    nodes = [
        (str(node.get("name") or node.get("title") or ""), str(node.get("id", "")))
        for node in _tree_nodes(html)
    ] or _literal_nodes(html)
    for name, ident in nodes:
        if ANNUAL.search(name) and ident.isdigit() and int(ident) not in found:
            found.append(int(ident))
    return found


NAMED = re.compile(r"""\b(?:name|title)['"]?\s*:\s*(['"])(?P<name>[^'"]*)\1""")
NODE_ID = re.compile(r"""\bid['"]?\s*:\s*['"]?(\d+)""")


def _literal_nodes(html: str) -> list[tuple[str, str]]:
    """(name, id) of a TREE written as a script literal, not JSON (`{id: 2629, name: '…'}`):
    each name with the id inside the same braces."""
    nodes = []
    for match in TREE.finditer(html):
        region = html[match.end() : match.end() + 200_000]
        for named in NAMED.finditer(region):
            start = region.rfind("{", 0, named.start())
            end = region.find("}", named.end())
            ident = NODE_ID.search(region, start + 1, end if end >= 0 else None)
            if start >= 0 and ident:
                nodes.append((named.group("name"), ident.group(1)))
    return nodes


def _tree_nodes(html: str) -> list[dict[str, Any]]:
    """Every object of the config's TREE, depth first ([] when it is not JSON)."""
    nodes: list[dict[str, Any]] = []
    for match in TREE.finditer(html):
        try:
            tree, _ = json.JSONDecoder().raw_decode(html, match.end())
        except ValueError:
            continue
        stack = [tree]
        while stack:
            value = stack.pop()
            if isinstance(value, dict):
                nodes.append(value)
                stack.extend(value.values())
            elif isinstance(value, list):
                stack.extend(reversed(value))
    return nodes


def is_api_answer(url: str) -> bool:
    return bool(API_PATH.search(urlsplit(url).path))


def answer_links(text: str, url: str) -> list[Link]:
    """The articles of an API answer, each at its `url`, or where the platform puts it by id."""
    articles = _articles(text)
    base = _platform_root(url)
    links = []
    for article in articles:
        title = str(article.get("title") or "")
        target = article.get("url")
        if not target and str(article.get("id", "")).isdigit():
            ident = int(article["id"])
            target = f"content/{ident // 1_000_000}/{ident // 1000}/post_{ident}.html"
        if target:
            links.append(Link(urljoin(base, str(target)), title))
    return links


def answer_pages(text: str, url: str) -> list[PageRequest]:
    """From the first page of an answer, the others: `total` over the first page's length."""
    query = parse_qs(urlsplit(url).query)
    if query.get("page", ["1"])[0] != "1":
        return []
    try:
        answer = json.loads(text)
    except ValueError:
        return []
    articles = _articles(text)
    total = answer.get("total") if isinstance(answer, dict) else None
    if not articles or not isinstance(total, int | str) or not str(total).isdigit():
        return []
    pages = min(math.ceil(int(total) / len(articles)), MAX_API_PAGES)
    parts = urlsplit(url)
    requests = []
    for page in range(2, pages + 1):
        query["page"] = [str(page)]
        requests.append(PageRequest(parts._replace(query=urlencode(query, doseq=True)).geturl()))
    return requests


def _articles(text: str) -> list[dict[str, Any]]:
    try:
        answer = json.loads(text)
    except ValueError:
        return []
    articles = answer.get("articles") if isinstance(answer, dict) else None
    return [a for a in articles if isinstance(a, dict)] if isinstance(articles, list) else []


def _platform_root(url: str) -> str:
    """`https://host/{dept}/gkmlpt/`: where the platform's API and articles are, for a page."""
    parts = urlsplit(url)
    head = parts.path.split("/gkmlpt/", 1)[0]
    return f"{parts.scheme}://{parts.netloc}{head}/gkmlpt/"
