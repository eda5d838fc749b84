"""`site`: a one-off harvest that archives every in-scope page of one site."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response, TextResponse

from crawler.capture import capture_from_response
from crawler.scope import is_attachment, link_score
from spiders.base import PortalBase


class SiteSpider(PortalBase):
    """Follows every in-scope link (report-looking ones first); `--max-pages` bounds it."""

    name = "site"

    def parse(self, response: Response) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            yield capture_from_response(response, response.meta["portal"])
            return
        links = self.in_scope_links(response)
        if self.is_report_page(response) and not response.meta.get("playwright"):
            yield capture_from_response(response, response.meta["portal"])  # never a DOM
        yield from self.browser_requests(response, links)
        for page in self.further_pages(response):
            yield self.page_request(page, response, priority=80)
        for page in self.site_searches(response):
            yield self.page_request(page, response, priority=85)
        for link in links:
            if is_attachment(link.url):
                yield self.attachment_request(link, response)
            else:
                yield self.request_for(
                    link, response, priority=max(link_score(link.text, link.url), 0)
                )
