"""CMS layouts: pure functions that know where a portal keeps its links and pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from crawler.layouts import generic, hanweb, scripted, trs
from crawler.layouts.base import Link, PageRequest


def detect(html: str) -> str:
    """The CMS a page was made with: "hanweb", "trs" or "generic"."""
    if hanweb.is_hanweb(html):
        return "hanweb"
    if trs.is_trs(html):
        return "trs"
    return "generic"


def is_article_url(url: str) -> bool:
    """A URL shaped like a CMS's article page: a leaf that lists nothing, unlike a column page.

    Lets a nightly crawl treat a known article like a known report (not re-checked within the
    refresh period) while list pages, where new reports appear, are asked for every night.
    """
    path = urlsplit(url).path
    return any(p.search(path) for p in (hanweb.ARTICLE_URL, trs.ARTICLE_URL, generic.ARTICLE_URL))


def page_links(html: str, url: str) -> list[Link]:
    """Every link a page holds, including the ones a CMS hides in scripts or JSON answers."""
    if html.lstrip()[:1] in ("{", "["):
        return scripted.json_links(html, url)
    found = generic.links(html, url)
    if "<datastore" in html:
        found += hanweb.inline_records(html, url)
    return found


def further_pages(html: str, url: str) -> list[PageRequest]:
    """Every other page of the list this page belongs to, whatever the CMS pages it with."""
    if html.lstrip()[:1] in ("{", "["):
        return []  # a JSON answer: its links are in page_links
    pages = generic.next_pages(html, url)
    if "jpage" in html or "<nextgroup>" in html:
        pages += hanweb.paging_requests(html, url)
    if "createPageHTML" in html or "countPage" in html:
        pages += trs.paging_urls(html, url)
    if "<script" in html:
        pages += scripted.data_apis(html, url)
    return pages


__all__ = [
    "Link",
    "PageRequest",
    "detect",
    "further_pages",
    "generic",
    "hanweb",
    "is_article_url",
    "page_links",
    "scripted",
    "trs",
]
