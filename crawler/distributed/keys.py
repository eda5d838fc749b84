"""A run's keys in Redis: its settings, its prefix, and the names of every worker's keys.
(`WaitForPeers` keeps them expiring `RUN_KEYS_TTL` after the last sign of a worker.)"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


RUN_KEYS_TTL = 3 * 24 * 3600  # seconds a finished run's queue and seen-set are kept
WORKER = uuid.uuid4().hex  # this process's name among the run's workers (one crawl per process)


def default_run() -> str:
    """The run every worker started on the same (UTC) day joins: the night's date."""
    return datetime.now(UTC).strftime("%Y-%m-%d")


def distributed_settings(redis_url: str, run: str | None = None) -> dict[str, Any]:
    """Settings that put the crawl's scheduler and seen-set on Redis, keyed by `run`."""
    prefix = f"nianbao:{run or default_run()}:%(spider)s"
    return {
        "NIANBAO_RUN_KEY": prefix,  # every key of the run starts with it (queue, seen-set, slots)
        "SCHEDULER": "crawler.distributed.inflight.ReleasingScheduler",
        "SCHEDULER_QUEUE_CLASS": "crawler.distributed.inflight.ReliableQueue",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,  # a worker's stop must not empty the queue of the others
        "SCHEDULER_QUEUE_KEY": f"{prefix}:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"{prefix}:dupefilter",
        "REDIS_URL": redis_url,  # also what turns the distributed components on
    }


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


def run_prefix(queue_key: str) -> str:
    """The run's key prefix (`nianbao:RUN:SPIDER`), from its queue's key."""
    return queue_key.removesuffix(":requests")


def in_flight_key(prefix: str, worker: str = WORKER) -> str:
    """The hash of the requests a worker has taken and not finished."""
    return f"{prefix}:inflight:{worker}"


def alive_key(prefix: str, worker: str = WORKER) -> str:
    """The key a running worker keeps alive (`WaitForPeers`), busy or not."""
    return f"{prefix}:alive:{worker}"
