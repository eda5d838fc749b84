"""`portals`: the nightly crawl; best-first from each home page straight to the annual reports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response, TextResponse

from crawler.capture import capture_from_response
from crawler.process import capture_attachment_type
from crawler.scope import link_score
from spiders.base import PortalBase


class PortalSpider(PortalBase):
    """Follows only links that lead towards reports, and every page of the lists on the way."""

    name = "portals"

    def parse(self, response: Response) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            # A report's title linking a file through an opaque handler (`ShowFile?id=7`):
            # followed as a page, it is the attachment itself. Other binaries are not ours.
            capture = capture_from_response(response, response.meta["portal"])
            if capture_attachment_type(capture) is not None:
                yield capture
            return
        links = self.in_scope_links(response)
        if self.is_report_page(response):
            if not response.meta.get("playwright"):  # the DOM rendered for its files: followed
                yield capture_from_response(response, response.meta["portal"])
            for link in self.attachment_links(links):
                yield self.attachment_request(link, response)
        yield from self.browser_requests(response, links)
        for page in self.further_pages(response):
            yield self.page_request(page, response, priority=80)
        for page in self.site_searches(response):
            yield self.page_request(page, response, priority=85)
        for link in links:
            score = link_score(link.text, link.url)
            if score > 0:
                yield self.request_for(link, response, priority=score)
