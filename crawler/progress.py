"""A live progress line on a terminal; plain periodic log lines otherwise.

On a TTY the line is redrawn every second (pages/s, reports found); under cron or systemd, where
stderr is a log file, a line every `NIANBAO_PROGRESS_INTERVAL` seconds is enough.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # Scrapy and Twisted only for the extension: replay uses progress_text alone
    from scrapy.crawler import Crawler
    from twisted.internet import task

logger = logging.getLogger(__name__)


def new_reports(stats: dict[str, Any]) -> int:
    """Reports the run added and kept: one it added and then joined to a report found elsewhere
    (`process.outcome_keys`) is not new."""
    return int(stats.get("nianbao/reports_new", 0) or 0) - int(
        stats.get("nianbao/reports_folded", 0) or 0
    )


def progress_text(stats: dict[str, Any], elapsed: float) -> str:
    """One line: pages, pages per second, reports found and new, errors so far."""
    pages = int(stats.get("nianbao/pages", 0))
    rate = pages / elapsed if elapsed > 0 else 0.0
    errors = sum(int(v) for k, v in stats.items() if k.startswith("nianbao/errors/"))
    return (
        f"pages {pages} ({rate:.1f}/s)  reports {int(stats.get('nianbao/reports_found', 0))}"
        f" (new {new_reports(stats)})  errors {errors}"
    )


class Progress:
    """Scrapy extension printing progress while the crawl runs."""

    def __init__(self, crawler: Crawler, stream: TextIO, interval: float) -> None:
        self.crawler = crawler
        self.stream = stream
        self.live = stream.isatty()
        self.interval = 1.0 if self.live else interval
        self.started = time.monotonic()
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        from scrapy import signals

        interval = crawler.settings.getfloat("NIANBAO_PROGRESS_INTERVAL", 30.0)
        ext = cls(crawler, sys.stderr, interval)
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        return ext

    def opened(self, spider: Any = None) -> None:
        self.started = time.monotonic()
        from twisted.internet import task

        self.loop = task.LoopingCall(self.show)
        self.loop.start(self.interval, now=False)

    def show(self) -> None:
        text = progress_text(self.crawler.stats.get_stats(), time.monotonic() - self.started)
        if self.live:
            self.stream.write("\r\x1b[2K" + text)
            self.stream.flush()
        else:
            logger.info("progress: %s", text)

    def closed(self, spider: Any = None, reason: str = "") -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        if self.live:
            self.stream.write("\n")
            self.stream.flush()
