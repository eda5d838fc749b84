"""robots.txt, obeyed for every request, however many wait for it at once.

Scrapy 2.19's RobotsTxtMiddleware keeps one Deferred per host while robots.txt downloads, and
every waiting request turns it into a future; the first conversion consumes the Deferred's
result, so the other waiting requests see "no parser" and are let through. On a portal whose
home page yields many links at once, a disallowed page could be fetched. Each waiter here gets
its own Deferred, chained so the shared result is passed on, not consumed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobotsTxt
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.robotstxt import RobotParser


class RobotsTxtMiddleware(ScrapyRobotsTxt):
    """Scrapy's middleware with a race-free wait for a robots.txt being downloaded."""

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
