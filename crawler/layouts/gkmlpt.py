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
import logging
import math
import re
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

from crawler.layouts.base import Link, PageRequest, json_objects
from crawler.layouts.generic import replace_page

logger = logging.getLogger(__name__)

SID = re.compile(r"""\bSID\s*['"]?\s*[:=]\s*['"]?(\w+)""")
TREE = re.compile(r"""\bTREE\s*['"]?\s*[:=]\s*""")
# The annual reports node (政府信息公开工作年度报告, 政府信息公开年报), not 统计年报 or
# 企业年度报告.
ANNUAL = re.compile(r"信息公开.{0,6}(?:年度报告|年报)")
API_PATH = re.compile(r"/gkmlpt/api/all/(\d+)$")
MAX_API_PAGES = 50  # 5,000 articles: more is not a category of annual reports


def is_gkmlpt(url: str) -> bool:
    return "/gkmlpt/" in urlsplit(url).path


def catalogue_requests(html: str, url: str) -> list[PageRequest]:
    """The first API page of each annual reports category a gkmlpt page's config names."""
    if not is_gkmlpt(url) or "_CONFIG" not in html:
        return []
    sid = SID.search(html, html.index("_CONFIG"))  # the config's, not an earlier `?SID=`
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
    each name with the id of its own object (not of a child's)."""
    nodes = []
    for match in TREE.finditer(html):
        tree = _balanced(html, match.end())
        for named in NAMED.finditer(tree):
            own = _own_level(tree, named.start())
            ident = NODE_ID.search(own)
            if ident:
                nodes.append((named.group("name"), ident.group(1)))
    return nodes


def _balanced(text: str, start: int) -> str:
    """The bracketed literal that starts at `start` (after blanks), up to its own close."""
    opening = len(text) - len(text[start:].lstrip())
    if opening >= len(text) or text[opening] not in "[{":
        return ""
    depth = 0
    for index in range(opening, min(len(text), opening + 500_000)):
        if text[index] in "[{":
            depth += 1
        elif text[index] in "]}":
            depth -= 1
            if depth == 0:
                return text[opening : index + 1]
    return ""


def _own_level(text: str, position: int) -> str:
    """The object around `position`, without the objects and lists nested in it."""
    depth, start = 0, 0
    for index in range(position - 1, -1, -1):
        if text[index] in "]}":
            depth += 1
        elif text[index] in "[{":
            if depth == 0:
                start = index + 1
                break
            depth -= 1
    own, depth = [], 0
    for char in text[start:]:
        if char in "[{":
            depth += 1
        elif char in "]}":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0:
            own.append(char)
    return "".join(own)


def _tree_nodes(html: str) -> list[dict[str, Any]]:
    """Every object of the config's TREE, depth first ([] when it is not JSON)."""
    nodes: list[dict[str, Any]] = []
    for match in TREE.finditer(html):
        try:
            tree, _ = json.JSONDecoder().raw_decode(html, match.end())
        except ValueError:
            continue
        nodes += json_objects(tree)
    return nodes


def is_api_answer(url: str) -> bool:
    return bool(API_PATH.search(urlsplit(url).path))


def answer_links(text: str, url: str) -> list[Link]:
    """The articles of an API answer, each at its `url`, or where the platform puts it by id."""
    articles = _articles(_answer(text))
    base = _platform_root(url)
    links = []
    for article in articles:
        title = str(article.get("title") or "")
        target = article.get("post_url") or article.get("url")
        if not target and str(article.get("id", "")).isdigit():
            ident = int(article["id"])
            target = f"content/{ident // 1_000_000}/{ident // 1000}/post_{ident}.html"
        if target:
            links.append(Link(urljoin(base, str(target)), title))
    return links


def answer_pages(text: str, url: str) -> list[PageRequest]:
    """From the first page of an answer, the others: `total` over the first page's length."""
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    if query.get("page", ["1"])[0] != "1":
        return []
    answer = _answer(text)
    articles = _articles(answer)
    try:
        total = int(float(answer.get("total", "")))
    except (TypeError, ValueError):
        return []
    if not articles or total <= len(articles):
        return []
    pages = math.ceil(total / len(articles))
    if pages > MAX_API_PAGES:
        logger.warning(
            "gkmlpt list of %d pages: only the first %d read: %s", pages, MAX_API_PAGES, url
        )
        pages = MAX_API_PAGES
    return [PageRequest(replace_page(url, page)) for page in range(2, pages + 1)]


def _answer(text: str) -> dict[str, Any]:
    """An API answer as an object ({} when it is not one)."""
    try:
        answer = json.loads(text)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _articles(answer: dict[str, Any]) -> list[dict[str, Any]]:
    articles = answer.get("articles")
    return [a for a in articles if isinstance(a, dict)] if isinstance(articles, list) else []


def _platform_root(url: str) -> str:
    """`https://host/{dept}/gkmlpt/`: where the platform's API and articles are, for a page."""
    parts = urlsplit(url)
    head = parts.path.split("/gkmlpt/", 1)[0]
    return f"{parts.scheme}://{parts.netloc}{head}/gkmlpt/"
