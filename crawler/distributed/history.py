"""What the workers know of every page (validators, when fetched, dead or not), shared in
Redis across nights."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.distributed.keys import run_redis
from crawler.incremental import Known, load_known

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


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
SCAN_CHUNK = 1000  # history entries per HSCAN call
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
        # In pieces (HSCAN): one HGETALL of a year's history would hold Redis up for all.
        for url, value in self.server.hscan_iter(self.known_key, count=SCAN_CHUNK):
            _, document, fields = value.split(b"\t", 2)  # the flag is the merged one
            # Another worker's killed run is its own to take up: its copies are not here.
            entry = {**json.loads(fields), "document": document == b"1", "ours": False}
            entry["unfinished"] = False
            known[url.decode()] = Known(**entry)
        pairs = self.server.hscan_iter(self.gone_key, count=SCAN_CHUNK)
        gone = {url.decode(): at.decode() for url, at in pairs}
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
        self.this_run: int | None = None  # its pages are not a killed run's

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ShareHistory:
        history = SharedHistory.of(crawler)
        if history is None or not crawler.settings.getbool("NIANBAO_INCREMENTAL", True):
            raise NotConfigured
        extension = cls(history, crawler.settings.get("NIANBAO_DB"))
        extension.this_run = crawler.settings.getint("NIANBAO_CRAWL_ID") or None
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self, spider: Any) -> None:
        try:
            self.history.publish(*load_known(self.db_path, self.this_run))
        except Exception as exc:  # the next run of this worker shares it
            logger.warning("could not share this worker's history of pages: %s", exc)
