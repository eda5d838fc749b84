"""robots.txt, obeyed for every request, however many wait for it at once, browser's included.

Scrapy 2.19's RobotsTxtMiddleware keeps one Deferred per host while robots.txt downloads, and
every waiting request turns it into a future; the first conversion consumes the Deferred's
result, so the other waiting requests see "no parser" and are let through. On a portal whose
home page yields many links at once, a disallowed page could be fetched. Each waiter here gets
its own Deferred, chained so the shared result is passed on, not consumed.

The headless browser fetches a rendered page's scripts and data itself, outside Scrapy's
middlewares; `allowed_by_robots` lets it ask the running crawl's rules before each request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobotsTxt
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.robotstxt import RobotParser


class RobotsTxtMiddleware(ScrapyRobotsTxt):
    """Scrapy's middleware with a race-free wait for a robots.txt being downloaded."""

    active: ClassVar[RobotsTxtMiddleware | None] = None  # the crawl of this process (one)

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        RobotsTxtMiddleware.active = self

    def allows(self, url: str) -> bool:
        """What the robots.txt already read for the URL's host says; True if none was read."""
        parser = self._parsers.get(urlsplit(url).netloc)
        if parser is None or isinstance(parser, Deferred):
            return True
        useragent = self._robotstxt_useragent or self._default_useragent
        if parser.allowed(url, useragent):
            return True
        self.crawler.stats.inc_value("nianbao/browser/robots_forbidden")
        return False

    async def robot_parser(self, request: Request) -> RobotParser | None:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if isinstance(pending, Deferred):
            waiter: Deferred[Any] = Deferred()

            def pass_on(result: Any) -> Any:
                waiter.callback(result)
                return result

            pending.addBoth(pass_on)
            return await maybe_deferred_to_future(waiter)
        return await super().robot_parser(request)


def allowed_by_robots(url: str) -> bool:
    """The running crawl's robots.txt rules for a URL a browser page is about to fetch.

    The page's own host had its robots.txt read before the page was fetched, so its rules hold
    for the page's scripts and data requests too. Other hosts (a script library's CDN) were never
    visited by the crawl and are not asked for their rules.
    """
    middleware = RobotsTxtMiddleware.active
    return middleware is None or middleware.allows(url)
