"""A request taken from the shared queue stays in Redis, in its worker's in-flight hash,
until the worker is done with it: a killed worker's requests can be given back."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from crawler.distributed.keys import RUN_KEYS_TTL, in_flight_key, run_prefix, run_redis

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


IN_FLIGHT = "nianbao_in_flight"  # request.meta key: the request's field in the in-flight hash

# Take the best request and, in the same step, keep it as "score data" in the worker's in-flight
# hash, so no kill can fall between the two. Asked again with the same token (redis-py resends a
# command whose answer a dropped connection lost), it answers the same request, not a second.
TAKE = """
local held = redis.call('hget', KEYS[2], ARGV[1])
if held then return string.sub(held, string.find(held, ' ', 1, true) + 1) end
local top = redis.call('zrange', KEYS[1], 0, 0, 'WITHSCORES')
if #top == 0 then return false end
redis.call('zremrangebyrank', KEYS[1], 0, 0)
redis.call('hset', KEYS[2], ARGV[1], top[2] .. ' ' .. top[1])
redis.call('expire', KEYS[2], ARGV[2])
return top[1]
"""

# Put every request of an in-flight hash back in the queue, with its priority, and drop the hash.
# Taken from a dead worker (ARGV[1] = 1), each request counts in KEYS[3]: one whose worker died
# MAX_DEATHS times (its page kills or hangs whoever fetches it) is parked in KEYS[4] instead,
# not handed on to kill the next worker. The queue keeps the run's expiry (ARGV[3] seconds).
GIVE_BACK = """
local entries = redis.call('hvals', KEYS[2])
local parked = 0
for _, entry in ipairs(entries) do
  local cut = string.find(entry, ' ', 1, true)
  local deaths = 0
  if ARGV[1] == '1' then
    local id = redis.sha1hex(string.sub(entry, cut + 1))
    deaths = redis.call('hincrby', KEYS[3], id, 1)
    redis.call('expire', KEYS[3], ARGV[3])
  end
  if deaths >= tonumber(ARGV[2]) then
    redis.call('rpush', KEYS[4], string.sub(entry, cut + 1))
    redis.call('expire', KEYS[4], ARGV[3])
    parked = parked + 1
  else
    redis.call('zadd', KEYS[1], string.sub(entry, 1, cut - 1), string.sub(entry, cut + 1))
  end
end
redis.call('del', KEYS[2])
if #entries > parked then redis.call('expire', KEYS[1], ARGV[3]) end
return {#entries - parked, parked}
"""
MAX_DEATHS = 3  # workers a request may take down with it before it is parked


class ReliableQueue(PriorityQueue):
    """scrapy-redis's priority queue, but a request taken stays in Redis until it is done.

    `pop` moves it to this worker's in-flight hash and tags it with its field there; whoever
    finishes with it (`InFlightRelease`, `ReleasingScheduler`) deletes the field.
    """

    def pop(self, timeout: int = 0) -> Any:
        token = uuid.uuid4().hex
        keys = [self.key, in_flight_key(run_prefix(self.key))]
        data = self.server.eval(TAKE, 2, *keys, token, RUN_KEYS_TTL)
        if not data:
            return None
        request = self._decode_request(data)
        request.meta[IN_FLIGHT] = token
        return request


def release(server: Any, prefix: str, request: Any) -> None:
    """This worker is done with `request`: it leaves the in-flight hash."""
    token = request.meta.pop(IN_FLIGHT, None)
    if token is not None:
        done(server, prefix, token)


def done(server: Any, prefix: str, token: str) -> None:
    """The request of in-flight field `token` leaves this worker's hash."""
    server.hdel(in_flight_key(prefix), token)


def give_back(server: Any, prefix: str, worker: str, died: bool = False) -> int:
    """Put a worker's in-flight requests back in the run's queue; how many went back.

    A dead worker's requests count its death: one that went with MAX_DEATHS workers is parked
    in `PREFIX:parked` (a list of encoded requests), with an error logged, not queued again."""
    keys = [f"{prefix}:requests", in_flight_key(prefix, worker)]
    keys += [f"{prefix}:deaths", f"{prefix}:parked"]
    given, parked = server.eval(GIVE_BACK, 4, *keys, int(died), MAX_DEATHS, RUN_KEYS_TTL)
    if parked:
        logger.error(
            "%d request(s) were left unfinished %d times (their workers died, hung, or could "
            "not queue their links) and are parked, not fetched again (Redis list %s:parked)",
            parked,
            MAX_DEATHS,
            prefix,
        )
    return int(given)


class UnscheduledLinks:
    """The links a page's spider output gave that are not in the queue yet, per page token.

    Scrapy drains a spider's output into a queue of its own and schedules the requests from it
    in other tasks, so the output's end comes before its last links reach Redis. Released at
    that point, a page killed with its worker (`kill -9`) would lose the links it led to: its
    in-flight entry waits until the last of them is scheduled. (One crawl per process: one
    table, shared by the spider middleware and the scheduler.)
    """

    def __init__(self) -> None:
        self.waiting: Counter[str] = Counter()
        self.ended: set[str] = set()

    def yielded(self, page: Any, link: Any) -> None:
        token = page.meta.get(IN_FLIGHT)
        if token is not None:
            link.meta[PARENT] = token
            self.waiting[token] += 1

    def output_ended(self, server: Any, prefix: str, page: Any) -> None:
        token = page.meta.pop(IN_FLIGHT, None)
        if token is None:
            return
        if self.waiting[token] > 0:
            self.ended.add(token)  # released by the scheduler, with its last link
        else:
            self.forget(token)
            done(server, prefix, token)

    def scheduled(self, server: Any, prefix: str, token: str) -> None:
        self.waiting[token] -= 1
        if self.waiting[token] <= 0 and token in self.ended:
            self.forget(token)
            done(server, prefix, token)

    def forget(self, token: str) -> None:
        self.waiting.pop(token, None)
        self.ended.discard(token)


PARENT = "nianbao_in_flight_page"  # request.meta key of a link: its page's in-flight field
LINKS = UnscheduledLinks()


# Mark a request seen and queue it in one step: between two steps a kill left it seen and never
# queued, and the page that gave it, fetched again, gave it to a seen-set that dropped it.
# ARGV[1] is its fingerprint, or '' to queue it unfiltered (dont_filter).
ENQUEUE = """
if ARGV[1] ~= '' and redis.call('sadd', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('zadd', KEYS[2], ARGV[2], ARGV[3])
return 1
"""


class ReleasingScheduler(Scheduler):
    """scrapy-redis's scheduler, seen-set and queue updated in one step (`ENQUEUE`), releasing
    a request that goes back to the queue (a retry or a redirect carries its tag) from the
    in-flight hash, whether or not the seen-set lets it in; and a page whose output has ended
    once its last link is scheduled (`UnscheduledLinks`)."""

    def enqueue_request(self, request: Any) -> bool:
        token = request.meta.pop(IN_FLIGHT, None)
        page = request.meta.pop(PARENT, None)  # not stored with the request
        queued = self.seen_and_queued(request)
        prefix = run_prefix(self.queue.key)
        if token is not None:
            done(self.server, prefix, token)
        if page is not None:
            LINKS.scheduled(self.server, prefix, page)
        return queued

    def seen_and_queued(self, request: Any) -> bool:
        """scrapy-redis's `enqueue_request`, its two writes made one."""
        fingerprint = "" if request.dont_filter else self.df.request_fingerprint(request)
        data = self.queue._encode_request(request)
        keys = [self.df.key, self.queue.key]
        if not self.server.eval(ENQUEUE, 2, *keys, fingerprint, -request.priority, data):
            self.df.log(request, self.spider)
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis", spider=self.spider)
        return True


class InFlightRelease:
    """Downloader and spider middleware: a request is done when its response has been through
    the spider and every link it gave is queued (or the spider failed on it), or when its
    download failed for good (an exception no retry took up, robots.txt, a skip).

    Installed nearest the engine on both sides, so it sees what is left after every other
    middleware. An output abandoned by a closing engine is not done: it is given back.
    """

    def __init__(self, server: Any, prefix: str) -> None:
        self.server = server
        self.prefix = prefix

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> InFlightRelease:
        return cls(*run_redis(crawler))

    def release(self, request: Any) -> None:
        try:
            release(self.server, self.prefix, request)
        except Exception as exc:  # the request is done either way; at worst fetched again
            logger.debug("could not release %s: %s", request, exc)

    def output_ended(self, page: Any) -> None:
        try:
            LINKS.output_ended(self.server, self.prefix, page)
        except Exception as exc:
            logger.debug("could not release %s: %s", page, exc)

    def process_exception(self, request: Any, exception: Exception) -> None:
        self.release(request)

    def process_spider_exception(self, response: Any, exception: Exception) -> None:
        self.output_ended(response.request)

    async def process_spider_output(
        self, response: Any, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        try:
            async for item in result:
                if isinstance(item, Request):
                    LINKS.yielded(response.request, item)
                yield item
        except Exception:
            self.output_ended(response.request)
            raise
        self.output_ended(response.request)  # not when abandoned (GeneratorExit): given back
