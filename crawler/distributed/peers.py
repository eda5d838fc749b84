"""Workers of a run wait for each other, and take up the requests of one that died."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider

from crawler.distributed.inflight import give_back
from crawler.distributed.keys import (
    RUN_KEYS_TTL,
    WORKER,
    alive_key,
    in_flight_key,
    run_redis,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


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
        # renewed well within its lifetime, however short it is set
        self.renew_every = min(PEER_BEAT, self.alive_for / 3)
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
        while not self.stopping.wait(self.renew_every):
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
            self.keep_run_keys()
        except Exception as exc:
            logger.debug("could not look for stopped workers: %s", exc)

    def keep_run_keys(self) -> None:
        """The run's queue and seen-set expire RUN_KEYS_TTL after the last sign of a worker, even
        if none finishes (all killed), and never under a run that lasts longer than that."""
        for suffix in ("requests", "dupefilter"):
            self.server.expire(f"{self.prefix}:{suffix}", RUN_KEYS_TTL)

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
            count = give_back(self.server, self.prefix, worker, died=True)
            if count:
                logger.warning("took back %d request(s) of a worker that stopped: %s", count, key)
            taken += count
        return taken, held

    def idle(self, spider: Any) -> None:
        try:
            self.server.delete(self.key)
            left = self.give_back_the_unfinished()
            taken, held = self.take_up_the_dead()
            taken += left
            busy = next(iter(self.server.scan_iter(match=self.pattern, count=1000)), None)
        except Exception as exc:
            logger.warning("could not ask Redis for busy workers, stopping: %s", exc)
            return
        if taken or held or busy is not None:
            logger.debug("out of work, waiting for the run's other workers")
            raise DontCloseSpider

    def give_back_the_unfinished(self) -> int:
        """Idle, this worker holds nothing: a request still in its in-flight hash was not
        finished (its links could not all be queued: Redis failed). It goes back to the queue,
        counted like a dead worker's, so one that keeps coming back is parked, not looped."""
        left = give_back(self.server, self.prefix, WORKER, died=True)
        if left:
            logger.warning(
                "%d request(s) this worker took were left unfinished: queued again", left
            )
        return left

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
        try:
            self.keep_run_keys()  # from now, the run's keys expire unless another worker beats
        except Exception as exc:  # Redis gone at the end: the run's work is already saved
            logger.warning("could not set the run's Redis keys to expire: %s", exc)
