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

A request taken from the queue is not gone from Redis until its worker is done with it
(`ReliableQueue`, `InFlightRelease`): it moves, in one step, to the worker's in-flight hash, and
leaves it once its response has been through the spider (the links it gave are queued), it
failed for good, or it went back to the queue (a retry, a redirect). A worker killed mid-run
leaves its hash behind; when its liveness key has expired, another worker of the run (or the
same one restarted) puts those requests back in the queue (`WaitForPeers`). So a `kill -9`
loses no page of the night: at worst a page is fetched twice.

Each worker keeps its own --data (its own WARCs and database); `nianbao replay` over all the
workers' WARC folders merges them into one dataset. What the workers know of each page (its
validators, when it was fetched, whether it was dead) is shared in Redis across nights
(`SharedHistory`), so a nightly run skips or asks conditionally for a page whichever worker
fetched it before.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from crawler.incremental import Known, load_known

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

RUN_KEYS_TTL = 3 * 24 * 3600  # seconds a finished run's queue and seen-set are kept
WORKER = uuid.uuid4().hex  # this process's name among the run's workers (one crawl per process)
IN_FLIGHT = "nianbao_in_flight"  # request.meta key: the request's field in the in-flight hash


def default_run() -> str:
    """The run every worker started on the same (UTC) day joins: the night's date."""
    return datetime.now(UTC).strftime("%Y-%m-%d")


def distributed_settings(redis_url: str, run: str | None = None) -> dict[str, Any]:
    """Settings that put the crawl's scheduler and seen-set on Redis, keyed by `run`."""
    prefix = f"nianbao:{run or default_run()}:%(spider)s"
    return {
        "NIANBAO_RUN_KEY": prefix,  # every key of the run starts with it (queue, seen-set, slots)
        "SCHEDULER": "crawler.distributed.ReleasingScheduler",
        "SCHEDULER_QUEUE_CLASS": "crawler.distributed.ReliableQueue",
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


def run_prefix(queue_key: str) -> str:
    """The run's key prefix (`nianbao:RUN:SPIDER`), from its queue's key."""
    return queue_key.removesuffix(":requests")


def in_flight_key(prefix: str, worker: str = WORKER) -> str:
    """The hash of the requests a worker has taken and not finished."""
    return f"{prefix}:inflight:{worker}"


def alive_key(prefix: str, worker: str = WORKER) -> str:
    """The key a running worker keeps alive (`WaitForPeers`), busy or not."""
    return f"{prefix}:alive:{worker}"


# Take the best request and, in the same step, keep it as "score data" in the worker's in-flight
# hash, so no kill can fall between the two.
TAKE = """
local top = redis.call('zrange', KEYS[1], 0, 0, 'WITHSCORES')
if #top == 0 then return false end
redis.call('zremrangebyrank', KEYS[1], 0, 0)
redis.call('hset', KEYS[2], ARGV[1], top[2] .. ' ' .. top[1])
redis.call('expire', KEYS[2], ARGV[2])
return top[1]
"""

# Put every request of an in-flight hash back in the queue, with its priority, and drop the hash.
GIVE_BACK = """
local entries = redis.call('hvals', KEYS[2])
for _, entry in ipairs(entries) do
  local cut = string.find(entry, ' ', 1, true)
  redis.call('zadd', KEYS[1], string.sub(entry, 1, cut - 1), string.sub(entry, cut + 1))
end
redis.call('del', KEYS[2])
return #entries
"""


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
        server.hdel(in_flight_key(prefix), token)


def give_back(server: Any, prefix: str, worker: str) -> int:
    """Put a worker's in-flight requests back in the run's queue; how many there were."""
    keys = [f"{prefix}:requests", in_flight_key(prefix, worker)]
    return int(server.eval(GIVE_BACK, 2, *keys))


class ReleasingScheduler(Scheduler):
    """scrapy-redis's scheduler, releasing a request that goes back to the queue (a retry or a
    redirect carries its tag) from the in-flight hash, whether or not the seen-set lets it in."""

    def enqueue_request(self, request: Any) -> bool:
        token = request.meta.pop(IN_FLIGHT, None)
        queued = super().enqueue_request(request)
        if token is not None:
            self.server.hdel(in_flight_key(run_prefix(self.queue.key)), token)
        return queued


class InFlightRelease:
    """Downloader and spider middleware: a request is done when its response has been through
    the spider, its links queued (the end of the spider's output, or the spider's error), or
    when its download failed for good (an exception no retry took up, robots.txt, a skip).

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

    def process_exception(self, request: Any, exception: Exception) -> None:
        self.release(request)

    def process_spider_exception(self, response: Any, exception: Exception) -> None:
        self.release(response.request)

    def process_spider_output(self, response: Any, result: Iterable[Any]) -> Iterator[Any]:
        try:
            yield from result
        except Exception:
            self.release(response.request)
            raise
        self.release(response.request)

    async def process_spider_output_async(
        self, response: Any, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        try:
            async for item in result:
                yield item
        except Exception:
            self.release(response.request)
            raise
        self.release(response.request)


RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"


class HostSlots:
    """Downloader middleware: at most CONCURRENT_REQUESTS_PER_DOMAIN requests in flight per
    host across all workers of a run, not per worker.

    Each worker's Scrapy limits only its own requests: N workers on one portal would send N times
    as many. Before it is downloaded, a request takes one of the host's leases in Redis
    (`nianbao:RUN:portals:slot:HOST:i`, set only if free) and gives it back when its answer or
    error comes. A lease expires by itself after the longest a download may take, so a worker
    that dies holding one blocks nobody for long, and one whose holder's alive key is gone
    (`WaitForPeers`) is freed sooner.
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
        lease = f"{WORKER} {uuid.uuid4().hex}"
        for attempt in itertools.count(1):
            for index in range(self.per_host):
                key = f"{self.prefix}:slot:{host}:{index}"
                if self.server.set(key, lease, nx=True, px=self.ttl_ms):
                    request.meta["host_slot"] = (key, lease)
                    return None
            if attempt % 20 == 0:  # about every second of waiting
                self.free_leases_of_the_dead(host)
            await asyncio.sleep(0.05)

    def free_leases_of_the_dead(self, host: str) -> None:
        """A lease held by a worker that is no longer alive (`kill -9` mid-download) is freed
        once its alive key has expired, not after the longest download."""
        for index in range(self.per_host):
            key = f"{self.prefix}:slot:{host}:{index}"
            holder = self.server.get(key)
            if holder is None:
                continue
            worker = holder.split(b" ", 1)[0].decode() if isinstance(holder, bytes) else ""
            if worker and not self.server.exists(alive_key(self.prefix, worker)):
                self.server.eval(RELEASE, 1, key, holder)

    def process_response(self, request: Any, response: Any) -> Any:
        self.release(request)
        return response

    def process_exception(self, request: Any, exception: Exception) -> None:
        self.release(request)

    def release(self, request: Any) -> None:
        held = request.meta.pop("host_slot", None)
        if held is not None:
            self.server.eval(RELEASE, 1, *held)


PEER_BEAT = 2.0  # seconds between a worker's heartbeats
PEER_ALIVE = 10  # seconds a busy mark counts: a worker killed idle holds the others this long
WORKER_ALIVE = 30  # seconds without a heartbeat before a worker's in-flight requests are taken
WORKER_STALL = 600  # seconds the reactor may stand still before the worker is let count as dead


class WaitForPeers:
    """Extension: an idle worker does not stop while another worker of its run is busy, and
    takes up the requests of a worker that died holding them.

    Each worker keeps two short-lived keys alive: `busy:ID` while it has work, `alive:ID` while
    its process lives (NIANBAO_WORKER_ALIVE seconds, renewed by a thread of its own, so a
    worker whose reactor is held up by a long parse or conversion is not taken for dead). A
    reactor standing still for NIANBAO_WORKER_STALL seconds is taken for hung: the thread stops
    renewing, and the others take up what the worker holds.
    An idle worker drops its busy mark and, while any other is left or a living worker still
    holds requests, stays open: Scrapy asks it again every few seconds, and it takes whatever
    reaches the shared queue meanwhile. The in-flight requests of a worker whose alive key has
    expired go back to the queue. The last worker to run out of work ends the run for all.
    Redis unreachable: the worker stops as it would alone.
    """

    def __init__(self, crawler: Crawler, server: Any, prefix: str) -> None:
        self.crawler = crawler
        self.server = server
        self.prefix = prefix
        self.key = f"{prefix}:busy:{WORKER}"
        self.pattern = f"{prefix}:busy:*"
        self.alive_for = crawler.settings.getint("NIANBAO_WORKER_ALIVE", WORKER_ALIVE)
        self.stall_for = crawler.settings.getint("NIANBAO_WORKER_STALL", WORKER_STALL)
        self.last_turn = time.monotonic()  # when the reactor last ran the beat
        self.beat_task: Any = None
        self.stopping = threading.Event()
        self.alive_thread: threading.Thread | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WaitForPeers:
        extension = cls(crawler, *run_redis(crawler))
        crawler.signals.connect(extension.opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.idle, signal=signals.spider_idle)
        crawler.signals.connect(extension.closed, signal=signals.spider_closed)
        return extension

    def opened(self, spider: Any) -> None:
        from twisted.internet import task

        self.living()
        self.alive_thread = threading.Thread(target=self.keep_alive, name="alive", daemon=True)
        self.alive_thread.start()
        self.working()
        self.take_up_the_dead()  # a worker restarted mid-run finds what it held before
        self.beat_task = task.LoopingCall(self.beat)
        self.beat_task.start(PEER_BEAT, now=False)

    def keep_alive(self) -> None:
        """The alive key, renewed while the process lives (a thread: the reactor may be busy)
        and its reactor has turned within NIANBAO_WORKER_STALL seconds (not hung)."""
        hung = False
        while not self.stopping.wait(PEER_BEAT):
            still = time.monotonic() - self.last_turn
            if still < self.stall_for:
                hung = False
                self.living()
            elif not hung:
                hung = True
                logger.error(
                    "this worker's reactor has stood still for %d s: it no longer marks itself "
                    "alive, so the run's other workers take up the requests it holds",
                    still,
                )

    def beat(self) -> None:
        """Every PEER_BEAT seconds on the reactor (no Redis call per response)."""
        self.last_turn = time.monotonic()
        engine = self.crawler.engine
        if engine is not None and not engine.spider_is_idle():
            self.working()
        try:
            self.take_up_the_dead()  # while the others work too, not only when they run dry
        except Exception as exc:
            logger.debug("could not look for stopped workers: %s", exc)

    def working(self) -> None:
        try:
            self.server.set(self.key, 1, ex=PEER_ALIVE)
        except Exception as exc:  # Redis gone: the scheduler will say so louder
            logger.debug("could not mark this worker busy: %s", exc)

    def living(self) -> None:
        try:
            self.server.set(alive_key(self.prefix), 1, ex=self.alive_for)
        except Exception as exc:
            logger.debug("could not mark this worker alive: %s", exc)

    def take_up_the_dead(self) -> tuple[int, bool]:
        """Give back the in-flight requests of workers no longer alive; (how many, whether a
        living worker other than this one still holds some)."""
        taken, held = 0, False
        for key in self.server.scan_iter(match=in_flight_key(self.prefix, "*"), count=1000):
            worker = (key.decode() if isinstance(key, bytes) else key).rsplit(":", 1)[-1]
            if worker == WORKER:
                continue
            if self.server.exists(alive_key(self.prefix, worker)):
                held = held or bool(self.server.hlen(key))
                continue
            count = give_back(self.server, self.prefix, worker)
            if count:
                logger.warning("took back %d request(s) of a worker that stopped: %s", count, key)
            taken += count
        return taken, held

    def idle(self, spider: Any) -> None:
        try:
            self.server.delete(self.key)
            # Idle: nothing of this worker is in flight; a field left behind is stale.
            self.server.delete(in_flight_key(self.prefix))
            taken, held = self.take_up_the_dead()
            busy = next(iter(self.server.scan_iter(match=self.pattern, count=1000)), None)
        except Exception as exc:
            logger.warning("could not ask Redis for busy workers, stopping: %s", exc)
            return
        if taken or held or busy is not None:
            logger.debug("out of work, waiting for the run's other workers")
            raise DontCloseSpider

    def closed(self, spider: Any, reason: str) -> None:
        self.stopping.set()
        if self.alive_thread is not None:
            self.alive_thread.join(timeout=5)  # so it cannot renew the key deleted below
        if self.beat_task is not None and self.beat_task.running:
            self.beat_task.stop()
        try:
            self.server.delete(self.key, alive_key(self.prefix))
            if reason == "finished":  # idle: nothing of this worker is in flight
                self.server.delete(in_flight_key(self.prefix))
            else:  # stopped (SIGTERM, Ctrl-C): what it had taken goes back at once
                given = give_back(self.server, self.prefix, WORKER)
                logger.info("gave %d unfinished request(s) back to the run's queue", given)
        except Exception as exc:
            logger.debug("could not clear this worker's marks: %s", exc)


# --- What the run's workers know of every page, across nights.

# Keep, per URL, the newer of two entries ("fetched_at TAB document TAB json"); a URL once known
# as a report or attachment stays one (a worker that only got a 304 for it cannot tell).
MERGE_KNOWN = """
for i = 1, #ARGV, 2 do
  local url, new = ARGV[i], ARGV[i + 1]
  local old = redis.call('hget', KEYS[1], url)
  if not old then
    redis.call('hset', KEYS[1], url, new)
  else
    local old_at, old_doc, old_rest = string.match(old, '^([^\\t]*)\\t(%d)\\t(.*)$')
    local new_at, new_doc, new_rest = string.match(new, '^([^\\t]*)\\t(%d)\\t(.*)$')
    local doc = (old_doc == '1' or new_doc == '1') and '1' or '0'
    if new_at >= old_at then
      redis.call('hset', KEYS[1], url, new_at .. '\\t' .. doc .. '\\t' .. new_rest)
    elseif doc ~= old_doc then
      redis.call('hset', KEYS[1], url, old_at .. '\\t' .. doc .. '\\t' .. old_rest)
    end
  end
end
"""
# Keep, per dead URL, the later date it was found dead.
MERGE_GONE = """
for i = 1, #ARGV, 2 do
  local old = redis.call('hget', KEYS[1], ARGV[i])
  if not old or ARGV[i + 1] > old then redis.call('hset', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
"""
PUBLISH_CHUNK = 500  # URLs per script call: short enough not to hold Redis up


class SharedHistory:
    """What every worker of every night has fetched, in Redis (`nianbao:SPIDER:known`, `:gone`).

    Each worker keeps its own database, and the queue hands a page to whichever worker is free:
    without this, a page fetched by another worker last night would be fetched whole tonight,
    not skipped or asked for conditionally. A worker loads it with its own database's history
    when it starts, and adds its database's history when it stops. Unlike the queue and the
    seen-set, it belongs to no run: it is the history of the portals.
    """

    def __init__(self, server: Any, spider: str) -> None:
        self.server = server
        self.known_key = f"nianbao:{spider}:known"
        self.gone_key = f"nianbao:{spider}:gone"

    @classmethod
    def of(cls, crawler: Crawler) -> SharedHistory | None:
        """The crawler's shared history, or None on one machine (no --redis)."""
        try:
            server, _ = run_redis(crawler)
        except NotConfigured:
            return None
        return cls(server, getattr(crawler.spidercls, "name", "spider"))

    def load(self) -> tuple[dict[str, Known], dict[str, str]]:
        known = {}
        for url, value in self.server.hgetall(self.known_key).items():
            _, document, fields = value.split(b"\t", 2)  # the flag is the merged one
            known[url.decode()] = Known(**{**json.loads(fields), "document": document == b"1"})
        gone = {url.decode(): at.decode() for url, at in self.server.hgetall(self.gone_key).items()}
        return known, gone

    def publish(self, known: dict[str, Known], gone: dict[str, str]) -> None:
        entries = [
            (url, f"{k.fetched_at or ''}\t{int(k.document)}\t{json.dumps(asdict(k))}")
            for url, k in known.items()
        ]
        for script, key, items in (
            (MERGE_KNOWN, self.known_key, entries),
            (MERGE_GONE, self.gone_key, list(gone.items())),
        ):
            for start in range(0, len(items), PUBLISH_CHUNK):
                chunk = items[start : start + PUBLISH_CHUNK]
                self.server.eval(script, 1, key, *[part for pair in chunk for part in pair])


class ShareHistory:
    """Extension: when a worker stops, its database's history of pages goes to Redis."""

    def __init__(self, history: SharedHistory, db_path: str) -> None:
        self.history = history
        self.db_path = db_path

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ShareHistory:
        history = SharedHistory.of(crawler)
        if history is None or not crawler.settings.getbool("NIANBAO_INCREMENTAL", True):
            raise NotConfigured
        extension = cls(history, crawler.settings.get("NIANBAO_DB"))
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self, spider: Any) -> None:
        try:
            self.history.publish(*load_known(self.db_path))
        except Exception as exc:  # the next run of this worker shares it
            logger.warning("could not share this worker's history of pages: %s", exc)
