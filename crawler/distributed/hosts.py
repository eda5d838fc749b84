"""Per-host politeness across all the workers of a run: leases in Redis."""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from redis.exceptions import RedisError

from crawler.distributed.keys import WORKER, alive_key, run_redis

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


logger = logging.getLogger(__name__)

RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"

# Take a free lease of a host unless the host is resting (KEYS[1] set by the last request to
# start); the request that takes one sets the rest for the next, for ARGV[3] ms. Index, or -1.
TAKE_LEASE = """
if redis.call('exists', KEYS[1]) == 1 then return -1 end
for i = 2, #KEYS do
  if redis.call('set', KEYS[i], ARGV[1], 'NX', 'PX', ARGV[2]) then
    if tonumber(ARGV[3]) > 0 then redis.call('set', KEYS[1], '1', 'PX', ARGV[3]) end
    return i - 2
  end
end
return -1
"""


class HostSlots:
    """Downloader middleware: at most CONCURRENT_REQUESTS_PER_DOMAIN requests in flight per
    host across all workers of a run, not per worker.

    Each worker's Scrapy limits only its own requests: N workers on one portal would send N times
    as many. Before it is downloaded, a request takes one of the host's leases in Redis
    (`nianbao:RUN:portals:slot:HOST:i`, set only if free) and gives it back when its answer or
    error comes. A lease expires by itself after the longest a download may take, so a worker
    that dies holding one blocks nobody for long, and one whose holder's alive key is gone
    (`WaitForPeers`) is freed sooner.

    The pace holds across workers too: a request that starts makes the host rest for its
    worker's download delay (DOWNLOAD_DELAY as AutoThrottle has set it for the host), in
    `nianbao:RUN:portals:rest:HOST`, and no worker starts another on the host meanwhile.
    """

    def __init__(
        self,
        server: Any,
        prefix: str,
        per_host: int,
        ttl_ms: int,
        delay_of: Callable[[Any], float] = lambda request: 0.0,
    ) -> None:
        self.server = server
        self.prefix = prefix
        self.per_host = per_host
        self.ttl_ms = ttl_ms
        self.delay_of = delay_of

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostSlots:
        server, prefix = run_redis(crawler)
        settings = crawler.settings
        waits = settings.getfloat("DOWNLOAD_TIMEOUT", 180) + settings.getfloat(
            "AUTOTHROTTLE_MAX_DELAY", 60
        )
        return cls(
            server,
            prefix,
            max(1, settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 2)),
            int((waits + 60) * 1000),
            download_delay(crawler),
        )

    async def process_request(self, request: Any) -> None:
        host = urlsplit(request.url).netloc
        lease = f"{WORKER} {uuid.uuid4().hex}"
        outage = False
        for attempt in itertools.count(1):
            try:
                if self.take_lease(host, lease, request):
                    if outage:
                        logger.warning("Redis answers again: host leases taken as before")
                    return None
                if attempt % 20 == 0:  # about every second of waiting
                    self.free_leases_of_the_dead(host)
            except RedisError as exc:  # a blip must not fail the request: wait and ask again
                if not outage:
                    logger.warning("Redis unreachable for host leases, waiting: %s", exc)
                outage = True
                await asyncio.sleep(1)
            await asyncio.sleep(0.05)

    def take_lease(self, host: str, lease: str, request: Any) -> bool:
        keys = [f"{self.prefix}:rest:{host}"]
        keys += [f"{self.prefix}:slot:{host}:{index}" for index in range(self.per_host)]
        rest_ms = int(self.delay_of(request) * 1000)
        index = int(self.server.eval(TAKE_LEASE, len(keys), *keys, lease, self.ttl_ms, rest_ms))
        if index < 0:
            return False
        request.meta["host_slot"] = (keys[1 + index], lease)
        return True

    def free_leases_of_the_dead(self, host: str) -> None:
        """A lease held by a worker that is no longer alive (`kill -9` mid-download) is freed
        once its alive key has expired, not after the longest download."""
        for index in range(self.per_host):
            key = f"{self.prefix}:slot:{host}:{index}"
            holder = self.server.get(key)
            if holder is None:
                continue
            text = holder.decode() if isinstance(holder, bytes) else str(holder)
            worker = text.split(" ", 1)[0]
            if worker and not self.server.exists(alive_key(self.prefix, worker)):
                self.server.eval(RELEASE, 1, key, holder)

    def process_response(self, request: Any, response: Any) -> Any:
        self.release(request)
        return response

    def process_exception(self, request: Any, exception: Exception) -> None:
        self.release(request)

    def release(self, request: Any) -> None:
        held = request.meta.pop("host_slot", None)
        if held is None:
            return
        try:
            self.server.eval(RELEASE, 1, *held)
        except RedisError as exc:  # the lease expires by itself; the response is not lost
            logger.warning("could not give back a host lease (it will expire): %s", exc)


def download_delay(crawler: Crawler) -> Callable[[Any], float]:
    """The delay this worker keeps between its requests to a request's host: its downloader
    slot's (AutoThrottle adjusts it), or DOWNLOAD_DELAY before the slot exists."""
    default = crawler.settings.getfloat("DOWNLOAD_DELAY", 0.0)

    def delay_of(request: Any) -> float:
        downloader = getattr(crawler.engine, "downloader", None)
        if downloader is None:
            return default
        slot = downloader.slots.get(downloader.get_slot_key(request))
        return slot.delay if slot is not None else default

    return delay_of
