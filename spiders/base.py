"""What both spiders share: start requests per portal, link following, captures, errors.

Spiders only know where links are: CMS knowledge lives in crawler.layouts, the rules about
reports and scope in crawler.scope, and what happens to a response in crawler.process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import JsonRequest, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.browser import browser_meta, hand_to_archive, mark_paged_by_scrapy, turned_pages
from crawler.capture import capture_from_response
from crawler.extract import headings, links_to_attachment
from crawler.layouts import (
    Link,
    PageRequest,
    Posted,
    further_pages,
    needs_browser,
    page_links,
    pages_by_script,
    scripted,
    site_searches,
)
from crawler.process import capture_attachment_type
from crawler.scope import attachment_in_scope, canonical_url, in_scope, is_report_title


def parse_sites(sites: Any = None, start_urls: Any = None, url: str | None = None) -> list[dict]:
    """Portals from spider arguments: a list of dicts, or URLs as a list or a string."""
    if isinstance(sites, list) and sites:
        return [dict(s) for s in sites]
    urls: list[str] = []
    for value in (start_urls, url):
        if isinstance(value, str):
            urls += value.replace(",", " ").split()
        elif value:
            urls += list(value)
    return [{"name": u, "url": u, "region": ""} for u in urls]


def posted(request: scrapy.Request | None) -> Posted | None:
    """What a request POSTed: an urlencoded form's fields (forms, jQuery), or a JSON object's
    (axios); None for a GET, or a POST of anything else (multipart, a JSON list)."""
    if request is None or request.method != "POST":
        return None
    kind = request.headers.get("Content-Type", b"").decode("latin-1").lower()
    text = request.body.decode("utf-8", "replace")
    if "json" in kind:
        try:
            fields = json.loads(text)
        except ValueError:
            return None
        return Posted(fields, json=True) if isinstance(fields, dict) else None
    if kind and "x-www-form-urlencoded" not in kind:
        return None
    return Posted(dict(parse_qsl(text, keep_blank_values=True)))


def lists_reports(links: list[Link]) -> bool:
    """Whether the markup already lists reports (two titled like one): its list is there, and
    an empty box beside it is page furniture. One may be a sidebar's latest report."""
    return sum(1 for link in links if is_report_title(link.text)) >= 2


class PortalBase(scrapy.Spider):
    """Shared machinery; subclasses decide which links to follow."""

    def __init__(
        self, sites: Any = None, start_urls: Any = None, url: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.sites = parse_sites(sites, start_urls, url)
        if not self.sites:
            raise ValueError("no portal given: pass sites=[...] or start_urls=...")
        self.browser_portals = {s["url"] for s in self.sites if s.get("browser")}
        self.unsearched = {s["url"] for s in self.sites if s.get("search") is False}
        self.searched: set[tuple[str, str]] = set()  # (search API, site id) asked this crawl

    async def start(self) -> Any:
        for site in self.sites:
            yield scrapy.Request(
                site["url"],
                callback=self.parse,
                errback=self.failed,
                priority=1000,
                dont_filter=True,
                meta={"portal": site["url"], "link_text": site.get("name", "")},
            )

    # -- what subclasses use -------------------------------------------------------------
    def request_for(self, link: Link, response: Response, priority: int) -> scrapy.Request:
        return scrapy.Request(
            link.url,
            callback=self.parse,
            errback=self.failed,
            priority=priority,
            meta={"portal": response.meta["portal"], "link_text": link.text},
        )

    def page_request(self, page: PageRequest, response: Response, priority: int) -> scrapy.Request:
        meta = {"portal": response.meta["portal"], "link_text": response.meta.get("link_text")}
        return self.list_request(page, meta, priority)

    def list_request(self, page: PageRequest, meta: dict, priority: int) -> scrapy.Request:
        """A further page of a list, as its CMS asks for it (GET, or a paging script's POST)."""
        if page.json is not None:
            return JsonRequest(
                page.url,
                data=page.json,
                headers=page.headers,
                callback=self.parse,
                errback=self.failed,
                meta=meta,
                priority=priority,
            )
        if page.method == "POST":
            return scrapy.FormRequest(
                page.url,
                formdata=page.formdata or {},
                headers=page.headers,
                callback=self.parse,
                errback=self.failed,
                meta=meta,
                priority=priority,
            )
        return scrapy.Request(
            page.url,
            headers=page.headers,
            callback=self.parse,
            errback=self.failed,
            meta=meta,
            priority=priority,
        )

    def attachment_request(self, link: Link, response: Response) -> scrapy.Request:
        """The Referer names the report page always: it is how an attachment is joined to its
        report (crawl and replay), and the default policy drops it from https to http."""
        return scrapy.Request(
            link.url,
            callback=self.parse_attachment,
            errback=self.failed,
            priority=200,
            headers={"Referer": response.url},
            meta={"portal": response.meta["portal"], "link_text": link.text},
        )

    def browser_requests(
        self, response: TextResponse, links: list[Link] | None = None
    ) -> list[scrapy.Request]:
        """The same page again through the browser, if its list is built by a script.

        Detected on the page (an empty list, a script that fetches data, and not two report
        links already in the markup; or a list of reports whose further pages only a script's
        pager shows, clicked through in the browser), or set per site (the `browser` option of
        a site list): then every list page of that portal goes through. A report page goes
        only when it links no file and has an empty attachment box a script fills (Ucap's
        `tblAppendix`): the browser shows the files, and the rendered page is followed for
        them, not stored.
        """
        if response.meta.get("playwright"):
            return []
        links = links or []
        if self.is_report_page(response):
            # Its tables are in the page, unless they are in a file only a script links.
            if self.attachment_links(links) or not scripted.attachments_by_script(response.text):
                return []
            return self.browser_request(response, "nianbao/browser/report_pages")
        if response.meta.get("portal") in self.browser_portals:
            return self.browser_request(response, "nianbao/browser/pages", turn=True)
        if not lists_reports(links):
            if needs_browser(response.text, response.url):
                return self.browser_request(response, "nianbao/browser/pages", turn=True)
            return []
        if pages_by_script(response.text, response.url):
            return self.browser_request(response, "nianbao/browser/script_pagers", turn=True)
        return []

    def browser_request(
        self, response: TextResponse, counter: str, turn: bool = False
    ) -> list[scrapy.Request]:
        """The page for the browser (counted under `counter`), if there is one; `turn` clicks
        through its list's script pager."""
        if not self.settings.getbool("NIANBAO_BROWSER_READY"):
            self.crawler.stats.inc_value("nianbao/errors/browser_unavailable")
            self.logger.warning("page needs a browser, none available: %s", response.url)
            return []
        self.crawler.stats.inc_value(counter)
        meta = {"portal": response.meta["portal"], "link_text": response.meta.get("link_text")}
        return [
            scrapy.Request(
                response.url,
                callback=self.parse,
                errback=self.failed,
                dont_filter=True,
                priority=90,
                meta=browser_meta(meta, turn=turn),
            )
        ]

    async def archive_browser_response(self, response: Any) -> None:
        """scrapy-playwright page event handler: archive what the browser received, and page
        through the JSON lists its scripts asked for."""
        archived = await hand_to_archive(self.crawler, response, self)
        if archived is not None:
            requests = self.answer_pages(archived)
            if requests:
                mark_paged_by_scrapy(response)
            for request in requests:
                self.crawler.engine.crawl(request)

    def answer_pages(self, response: Response) -> list[scrapy.Request]:
        """The other pages of a JSON list a rendered page's script asked for one page of.

        A script-built list often shows its first page and waits for a click on its pager for
        the next; the browser sees the address the script put together (`?pageNo=1&…`), or the
        form it POSTed (`channelid=1813&page=1`), and Scrapy asks for the other pages the same
        way itself: whatever the pager looks like, nothing is clicked.
        """
        if response.status != 200 or not isinstance(response, TextResponse):
            return []
        sent = posted(response.request)
        if response.request.method != "GET" and sent is None:
            return []
        if response.text.lstrip()[:1] not in ("{", "["):
            return []
        portal = next((s["url"] for s in self.sites if in_scope(response.url, s["url"])), None)
        if portal is None:
            return []
        pages = [
            page
            for page in scripted.json_pages(response.text, response.url, sent)
            if in_scope(page.url, portal)
        ]
        if pages:
            self.crawler.stats.inc_value("nianbao/browser/json_lists")
        return [self.list_request(p, {"portal": portal, "link_text": ""}, 80) for p in pages]

    def parse_attachment(self, response: Response) -> Iterator[Any]:
        """Archive an attachment; a link that only looked like one (`附件` on a page) is a page."""
        capture = capture_from_response(response, response.meta.get("portal"))
        if isinstance(response, TextResponse) and capture_attachment_type(capture) is None:
            yield from self.parse(response)
            return
        yield capture

    def in_scope_links(self, response: TextResponse) -> list[Link]:
        """The portal's links, and the files a report links on another government host; of a
        rendered list, those of every page its script pager showed too."""
        portal = response.meta["portal"]
        seen: set[str] = set()
        found = []
        report_page: bool | None = None  # decided once, only if a file elsewhere is linked
        shown = turned_pages(response.meta)  # the rendered response is the last page shown
        if not shown or shown[-1][1] != response.text:
            shown.append((response.url, response.text))
        for link in (link for url, text in shown for link in page_links(text, url)):
            url = canonical_url(link.url)
            if url in seen:
                continue
            if not in_scope(url, portal):
                if not attachment_in_scope(url, portal):
                    continue
                if report_page is None:
                    report_page = self.is_report_page(response)
                if not (report_page or is_report_title(link.text)):
                    continue
            seen.add(url)
            found.append(Link(url, link.text))
        return found

    def further_pages(self, response: TextResponse) -> list[PageRequest]:
        portal = response.meta["portal"]
        pages = further_pages(response.text, response.url, posted(response.request))
        return [p for p in pages if in_scope(p.url, portal)]

    def site_searches(self, response: TextResponse) -> list[PageRequest]:
        """The portal's own site search, asked once a crawl for annual reports (see
        `crawler.layouts.search`), unless the settings or the site list turn it off."""
        portal = response.meta["portal"]
        pages = site_searches(response.text, response.url)  # most pages: none, at once
        if not pages or response.meta.get("playwright"):
            return []
        if portal in self.unsearched or not self.settings.getbool("NIANBAO_SITE_SEARCH"):
            return []
        found = []
        for page in pages:
            key = (page.url, (page.formdata or {}).get("websiteid", ""))
            if key not in self.searched and in_scope(page.url, portal):
                self.searched.add(key)
                self.crawler.stats.inc_value("nianbao/site_searches")
                found.append(page)
        return found

    @staticmethod
    def is_report_page(response: TextResponse) -> bool:
        titles = [*headings(response.text), response.meta.get("link_text") or ""]
        return any(is_report_title(t) for t in titles)

    @staticmethod
    def attachment_links(links: list[Link]) -> list[Link]:
        return [link for link in links if links_to_attachment(link.url, link.text)]

    def failed(self, failure: Failure) -> None:
        """A dead site, a timeout, a refused connection: count it by kind and go on."""
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            return  # robots.txt, an incremental skip, an offsite link: not errors
        stats = self.crawler.stats
        if failure.check(HttpError):
            stats.inc_value(f"nianbao/http_status/{failure.value.response.status}")
            return
        kind = failure.type.__name__ if failure.type else "Unknown"
        stats.inc_value(f"nianbao/errors/{kind}")
        self.logger.warning("fetch failed (%s): %s", kind, failure.request.url)
