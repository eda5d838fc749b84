"""Distributed crawls: several workers share one request queue and one seen-set on Redis.

scrapy-redis keeps both under keys named for the run (`nianbao:RUN:portals:requests`,
`nianbao:RUN:portals:dupefilter`). Every worker started for one night shares them; a worker
stopped mid-run finds the queue where it was; the next night starts clean. (One seen-set kept
across nights would make every night after the first find nothing: every URL already "seen".)
The keys expire a few days after a worker finishes, so runs do not pile up in Redis. Politeness
holds across machines too: `HostSlots` keeps the per-host limit for all the run's workers.

A worker that runs out of work stays while another worker of the run is still busy
(`WaitForPeers`): the shared queue is empty for a moment whenever the pages that will fill it are
still being fetched, and a worker started late finds it so at once.

Each worker keeps its own --data (its own WARCs and database); `nianbao replay` over all the
workers' WARC folders merges them into one dataset.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

RUN_KEYS_TTL = 3 * 24 * 3600  # seconds a finished run's queue and seen-set are kept


def default_run() -> str:
    """The run every worker started on the same (UTC) day joins: the night's date."""
    return datetime.now(UTC).strftime("%Y-%m-%d")


def distributed_settings(redis_url: str, run: str | None = None) -> dict[str, Any]:
    """Settings that put the crawl's scheduler and seen-set on Redis, keyed by `run`."""
    prefix = f"nianbao:{run or default_run()}:%(spider)s"
    return {
        "NIANBAO_RUN_KEY": prefix,  # every key of the run starts with it (queue, seen-set, slots)
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,  # a worker's stop must not empty the queue of the others
        "SCHEDULER_QUEUE_KEY": f"{prefix}:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"{prefix}:dupefilter",
        "REDIS_URL": redis_url,  # also what turns ExpireRunKeys on (crawler/settings.py)
    }


class ExpireRunKeys:
    """When a worker finishes, its run's keys are set to expire (`RUN_KEYS_TTL`).

    Workers still running keep using them; a worker started later the same night renews them.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExpireRunKeys:
        if not crawler.settings.get("REDIS_URL"):
            raise NotConfigured
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self, spider: Any) -> None:
        from scrapy_redis.connection import get_redis_from_settings

        settings = self.crawler.settings
        keys = [
            settings.get(name) % {"spider": spider.name}
            for name in ("SCHEDULER_QUEUE_KEY", "SCHEDULER_DUPEFILTER_KEY")
        ]
        try:
            server = get_redis_from_settings(settings)
            for key in keys:
                server.expire(key, RUN_KEYS_TTL)
        except Exception as exc:  # Redis gone at the end: the run's work is already saved
            logger.warning("could not set the run's Redis keys to expire: %s", exc)


def run_redis(crawler: Crawler) -> tuple[Any, str]:
    """The Redis connection and the key prefix of this crawler's run (`nianbao:RUN:SPIDER`).

    Raises NotConfigured without --redis, so the components built on it stay off."""
    settings = crawler.settings
    if not settings.get("REDIS_URL"):
        raise NotConfigured
    from scrapy_redis.connection import get_redis_from_settings

    prefix = settings.get("NIANBAO_RUN_KEY", "nianbao:%(spider)s")
    spider = getattr(crawler.spidercls, "name", "spider")
    return get_redis_from_settings(settings), prefix % {"spider": spider}


RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"


class HostSlots:
    """Downloader middleware: at most CONCURRENT_REQUESTS_PER_DOMAIN requests in flight per
    host across all workers of a run, not per worker.

    Each worker's Scrapy limits only its own requests: N workers on one portal would send N times
    as many. Before it is downloaded, a request takes one of the host's leases in Redis
    (`nianbao:RUN:portals:slot:HOST:i`, set only if free) and gives it back when its answer or
    error comes. A lease expires by itself after the longest a download may take, so a worker
    that dies holding one blocks nobody for long.
    """

    def __init__(self, server: Any, prefix: str, per_host: int, ttl_ms: int) -> None:
        self.server = server
        self.prefix = prefix
        self.per_host = per_host
        self.ttl_ms = ttl_ms

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
        )

    async def process_request(self, request: Any) -> None:
        host = urlsplit(request.url).netloc
        token = uuid.uuid4().hex
        while True:
            for index in range(self.per_host):
                key = f"{self.prefix}:slot:{host}:{index}"
                if self.server.set(key, token, nx=True, px=self.ttl_ms):
                    request.meta["host_slot"] = (key, token)
                    return None
            await asyncio.sleep(0.05)

    def process_response(self, request: Any, response: Any) -> Any:
        self.release(request)
        return response

    def process_exception(self, request: Any, exception: Exception) -> None:
        self.release(request)

    def release(self, request: Any) -> None:
        held = request.meta.pop("host_slot", None)
        if held is not None:
            self.server.eval(RELEASE, 1, *held)


PEER_BEAT = 2.0  # seconds between a busy worker's heartbeats
PEER_ALIVE = 10  # seconds a heartbeat counts: a worker killed mid-run holds the others this long


class WaitForPeers:
    """Extension: an idle worker does not stop while another worker of its run is busy.

    Each busy worker keeps a short-lived key alive (`nianbao:RUN:portals:busy:ID`). An idle
    worker drops its own key and, while any other is left, stays open: Scrapy asks it again every
    few seconds, and it takes whatever reaches the shared queue meanwhile. The last worker to run
    out of work ends the run for all. Redis unreachable: the worker stops as it would alone.
    """

    def __init__(self, crawler: Crawler, server: Any, prefix: str) -> None:
        self.crawler = crawler
        self.server = server
        self.key = f"{prefix}:busy:{uuid.uuid4().hex}"
        self.pattern = f"{prefix}:busy:*"
        self.beat_task: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WaitForPeers:
        extension = cls(crawler, *run_redis(crawler))
        crawler.signals.connect(extension.opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.idle, signal=signals.spider_idle)
        crawler.signals.connect(extension.closed, signal=signals.spider_closed)
        return extension

    def opened(self, spider: Any) -> None:
        from twisted.internet import task

        self.working()
        self.beat_task = task.LoopingCall(self.beat)
        self.beat_task.start(PEER_BEAT, now=False)

    def beat(self) -> None:
        """Every PEER_BEAT seconds while there is work (no Redis call per response)."""
        engine = self.crawler.engine
        if engine is not None and not engine.spider_is_idle():
            self.working()

    def working(self) -> None:
        try:
            self.server.set(self.key, 1, ex=PEER_ALIVE)
        except Exception as exc:  # Redis gone: the scheduler will say so louder
            logger.debug("could not mark this worker busy: %s", exc)

    def idle(self, spider: Any) -> None:
        try:
            self.server.delete(self.key)
            busy = next(iter(self.server.scan_iter(match=self.pattern, count=1000)), None)
        except Exception as exc:
            logger.warning("could not ask Redis for busy workers, stopping: %s", exc)
            return
        if busy is not None:
            logger.debug("out of work, waiting for the run's other workers")
            raise DontCloseSpider

    def closed(self, spider: Any) -> None:
        if self.beat_task is not None and self.beat_task.running:
            self.beat_task.stop()
        try:
            self.server.delete(self.key)
        except Exception as exc:
            logger.debug("could not clear this worker's busy mark: %s", exc)
