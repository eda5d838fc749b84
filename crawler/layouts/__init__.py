"""CMS layouts: pure functions that know where a portal keeps its links and pages."""

from __future__ import annotations

from urllib.parse import urlsplit

import lxml.etree
import lxml.html

from crawler.layouts import generic, gkmlpt, hanweb, scripted, search, trs
from crawler.layouts.base import Link, PageRequest, Posted


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


ARTICLE_BODIES = lxml.etree.XPath(
    " | ".join((hanweb.ARTICLE_BODY, trs.ARTICLE_BODY, generic.ARTICLE_BODY))
)


def article_body(html: str) -> str | None:
    """The article's own markup, without the portal around it, as a page; None if no CMS
    container is found.

    Boilerplate removal on the whole page keeps some of the portal (a "related reading" list,
    the date line, a share box) and is slower on the 30–60 KB of a real page than on the
    article alone. Every outermost container is kept, in page order: a body split in two is
    never cut in half.
    """
    try:
        root = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return None
    found = ARTICLE_BODIES(root)
    if not found:
        return None
    marked = set(found)
    outermost = [e for e in found if not any(a in marked for a in e.iterancestors())]
    parts = "".join(lxml.html.tostring(e, encoding="unicode", with_tail=False) for e in outermost)
    return f"<html><head><meta charset='utf-8'></head><body>{parts}</body></html>"


def page_links(html: str, url: str) -> list[Link]:
    """Every link a page holds, including the ones a CMS hides in scripts or JSON answers."""
    if html.lstrip()[:1] in ("{", "["):
        if gkmlpt.is_api_answer(url):
            return gkmlpt.answer_links(html, url)
        if search.is_search_api(url):
            return search.answer_links(html, url)
        return scripted.json_links(html, url)
    found = generic.links(html, url)
    if "<datastore" in html:
        found += hanweb.inline_records(html, url)
    return found


def further_pages(html: str, url: str, posted: Posted | None = None) -> list[PageRequest]:
    """Every other page of the list this page belongs to, whatever the CMS pages it with;
    `posted` is what it was POSTed with (a JSON list's or a site search's page number is
    there, not in the URL)."""
    if html.lstrip()[:1] in ("{", "["):
        # a JSON answer: its links are in page_links; its other pages by its page parameter
        if gkmlpt.is_api_answer(url):
            return gkmlpt.answer_pages(html, url)
        if search.is_search_api(url):
            form = posted.fields if posted is not None and not posted.json else {}
            return search.answer_pages(html, url, form)
        return scripted.json_pages(html, url, posted)
    pages = generic.next_pages(html, url)
    if "jpage" in html or "<nextgroup>" in html:
        pages += hanweb.paging_requests(html, url)
    if "<totalrecord>" in html or "<totalpage>" in html:
        pages += hanweb.answer_pages(html, url)
    if "createPageHTML" in html or "countPage" in html:
        pages += trs.paging_urls(html, url)
    if "<script" in html:
        pages += scripted.data_apis(html, url)
    if "_CONFIG" in html:
        pages += gkmlpt.catalogue_requests(html, url)
    return pages


def site_searches(html: str, url: str) -> list[PageRequest]:
    """The site search a page's search box names, asked for annual reports (`search`)."""
    return search.site_searches(html, url)


def needs_browser(html: str, url: str) -> bool:
    """Whether only a browser finds this list page's links (see `scripted.needs_browser`); a
    platform whose data API is known (gkmlpt) is asked directly instead."""
    if gkmlpt.catalogue_requests(html, url):
        return False
    return scripted.needs_browser(html, url)


def pages_by_script(html: str, url: str) -> bool:
    """Whether only a script's pager shows this list's further pages (`scripted.pages_by_script`):
    never for a list whose paging is read from the page (Hanweb's jpage, TRS createPageHTML,
    links to its pages), which Scrapy pages itself."""
    if hanweb.is_hanweb(html) or not scripted.pages_by_script(html):
        return False
    return not further_pages(html, url)


__all__ = [
    "Link",
    "PageRequest",
    "Posted",
    "article_body",
    "detect",
    "further_pages",
    "generic",
    "gkmlpt",
    "hanweb",
    "is_article_url",
    "needs_browser",
    "page_links",
    "pages_by_script",
    "scripted",
    "search",
    "site_searches",
    "trs",
]
