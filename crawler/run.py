"""Run a spider for the command line: settings from --data, one lock per data folder, a summary.

The summary and the exit status come from the crawl's stats, so every count a user sees is a
count Scrapy kept while it worked.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.progress import new_reports
from crawler.store import now_iso, open_db, unparsed_since

if TYPE_CHECKING:  # Scrapy is loaded only by the commands that crawl: replay starts faster
    from scrapy.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3


class DataFolderLocked(RuntimeError):
    """Another nianbao run holds the lock of this data folder."""


@dataclass
class DataPaths:
    """Where a run keeps its data (interface.md: `--data DIR`)."""

    root: Path

    @property
    def db(self) -> Path:
        return self.root / "nianbao.db"

    @property
    def warc_dir(self) -> Path:
        return self.root / "warc"

    @property
    def index(self) -> Path:
        return self.root / "index.cdxj"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    @property
    def jobdir(self) -> Path:
        return self.root / "job"


HELD_LOCKS: set[int] = set()  # file descriptors of the data-folder locks this process holds


def drop_inherited_locks() -> None:
    """In a forked child: close its copies of the parent's lock files. An flock belongs to the
    open file, so the parent keeps its lock, and a child outliving a parent killed with -9 does
    not keep the data folder locked."""
    for fd in list(HELD_LOCKS):
        with suppress(OSError):
            os.close(fd)
    HELD_LOCKS.clear()


@contextmanager
def data_lock(paths: DataPaths) -> Iterator[None]:
    """Hold an exclusive lock on the data folder, or raise DataFolderLocked at once.

    An flock is released by the kernel when the holder dies, so a run killed with -9 never
    leaves a stale lock behind.
    """
    paths.root.mkdir(parents=True, exist_ok=True)
    handle = open(paths.lock, "a+")  # noqa: SIM115 - held for the whole run
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise DataFolderLocked(
            f"another nianbao run is using {paths.root} (lock {paths.lock})"
        ) from exc
    HELD_LOCKS.add(handle.fileno())
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        HELD_LOCKS.discard(handle.fileno())
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def build_settings(
    paths: DataPaths,
    overrides: dict[str, Any] | None = None,
    verbose: bool = False,
    log_file: str | None = None,
) -> Settings:
    """Project settings with the data folder and command-line choices at 'cmdline' priority."""
    from scrapy.utils.project import get_project_settings

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    settings = get_project_settings()
    values: dict[str, Any] = {
        "NIANBAO_DATA": str(paths.root),
        "NIANBAO_DB": str(paths.db),
        "WARC_DIR": str(paths.warc_dir),
        "WARC_INDEX_PATH": str(paths.index),
        "LOG_LEVEL": "DEBUG" if verbose else "INFO",
    }
    if log_file:
        values["LOG_FILE"] = log_file
    values.update(overrides or {})
    settings.setdict(values, priority="cmdline")
    keep_per_host_limit(settings)
    enable_browser(settings)
    return settings


MIN_DOWNLOAD_DELAY = 0.001


def keep_per_host_limit(settings: Settings) -> None:
    """Never a download delay of exactly 0: Scrapy 2.19 then bursts past the per-host limit.

    With no delay, the downloader hands every queued request of a host to the event loop before
    the first of them counts as transferring, so CONCURRENT_REQUESTS_PER_DOMAIN stops holding
    (8 at once measured on a sample portal with a limit of 2). Any delay makes it release one
    request at a time and check the limit in between; a millisecond costs nothing.
    """
    if settings.getfloat("DOWNLOAD_DELAY") < MIN_DOWNLOAD_DELAY:
        settings.set("DOWNLOAD_DELAY", MIN_DOWNLOAD_DELAY, priority="cmdline")


def enable_browser(settings: Settings) -> None:
    """Install scrapy-playwright when a Chromium is here and NIANBAO_BROWSER is not off."""
    from crawler.browser import browser_settings, find_chromium

    chromium = None
    if str(settings.get("NIANBAO_BROWSER", "auto")).lower() not in ("off", "false", "0", "no"):
        chromium = find_chromium(settings.get("NIANBAO_CHROMIUM"))
    if chromium:
        for name, value in browser_settings(chromium, settings.get("USER_AGENT")).items():
            settings.set(name, value, priority="project")
    settings.set("NIANBAO_BROWSER_READY", bool(chromium), priority="cmdline")


@dataclass
class Summary:
    """What a run did, from its stats."""

    command: str
    started: str
    ended: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    row_id: int | None = None  # its row in `crawls`, once added

    def count(self, key: str) -> int:
        return int(self.stats.get(key, 0) or 0)

    def errors_by_kind(self) -> dict[str, int]:
        """Failures by kind. A download counts once, when its last try failed (the spider's
        errback): Scrapy's `downloader/exception_type_count` counts every try, so a slow answer
        that a retry got would have made the night a failure."""
        kinds: dict[str, int] = {}
        for key, value in self.stats.items():
            if key.startswith("nianbao/errors/"):
                kinds[key.removeprefix("nianbao/errors/")] = int(value)
        failures = ("warc/write_failed", "warc/index_failed", "nianbao/not_archived")
        for key in (*failures, "spider_exceptions/count"):
            if self.count(key):
                kinds[key] = self.count(key)
        # SIGINT/SIGTERM, or stopped by force: the next run resumes
        if self.stats.get("finish_reason") == "shutdown" or self.forced_stop():
            kinds["interrupted"] = 1
        return kinds

    def forced_stop(self) -> bool:
        """A crawl stopped before Scrapy closed its spider (a second Ctrl-C or SIGTERM, or one
        while the browser starts): no finish reason, maybe pages archived and never parsed."""
        return "finish_reason" in self.stats and self.stats["finish_reason"] is None

    def unparsed(self) -> int:
        """Reports this run saved that hold no cells at its end (`store.unparsed_since`), once
        `note_unparsed` has looked; else every report capture parsed without cells."""
        if "nianbao/unparsed_saved" in self.stats:
            return self.count("nianbao/unparsed_saved")
        return self.count("nianbao/reports_unparsed")

    def note_unparsed(self, db: Any) -> None:
        self.stats["nianbao/unparsed_saved"] = unparsed_since(db, self.started)

    def exit_status(self) -> int:
        """1 when something failed: an archive write, a processing error, or a dead site."""
        return EXIT_FAILED if self.errors_by_kind() else EXIT_OK

    def lines(self) -> list[str]:
        errors = self.errors_by_kind()
        error_text = ", ".join(f"{k}={v}" for k, v in sorted(errors.items())) or "none"
        return [
            f"nianbao {self.command}: pages={self.count('nianbao/pages')} "
            f"reports={self.count('nianbao/reports_found')} "
            f"new={new_reports(self.stats)} "
            f"changed={self.count('nianbao/reports_changed')} "
            f"copies={self.count('nianbao/reports_duplicate')} "  # found again at another URL
            f"unparsed={self.unparsed()} "
            f"inconsistent={self.count('nianbao/reports_inconsistent')} "
            f"attachments={self.count('nianbao/attachments')} "
            f"revisits={self.count('warc/revisits')} errors: {error_text}",
            *self.held_lines(),
        ]

    def held_lines(self) -> list[str]:
        """A replay's word on the files it did not parse again (their rows were there), and on
        the files it did not read (still `.open`)."""
        lines = []
        held = self.count("replay/files_held")
        if held:
            records = self.count("replay/records_held")
            lines.append(
                f"nianbao replay: {held} WARC file(s) ({records} records) already in this "
                "database under the same parser: read, not parsed again (--reparse parses them)"
            )
        converted = self.count("replay/converted")
        if converted:
            lines.append(
                f"nianbao replay: converted={converted}: report pages and files converted here "
                "(the WARC holds no conversion of them by this converter)"
            )
        unfinished = self.count("replay/files_unfinished")
        if unfinished:
            lines.append(
                f"nianbao replay: {unfinished} WARC file(s) still named .open not read: a crawl "
                "is writing them, or one was killed (its next run repairs them)"
            )
        return lines

    def record_start(self, db_path: Path) -> None:
        """The run's `crawls` row, before it fetches anything: a run killed (`kill -9`, a power
        cut) keeps it with no end, which tells the next run what may be left half done."""
        db = open_db(db_path)
        try:
            self.row_id = (
                db["crawls"]
                .insert({"command": self.command, "started": self.started}, alter=True)
                .last_pk
            )
        finally:
            db.close()

    def record(self, db_path: Path, exit_status: int) -> None:
        """Complete this run's row in the `crawls` table (or add it)."""
        db = open_db(db_path)
        self.note_unparsed(db)
        db["crawls"].upsert(
            {
                "id": self.row_id,
                "command": self.command,
                "started": self.started,
                # A run stopped by force keeps no end, like a killed one: the next run takes
                # up what it archived and may not have parsed.
                "ended": None if self.forced_stop() else self.ended,
                "pages": self.count("nianbao/pages"),
                "reports_found": self.count("nianbao/reports_found"),
                "new_reports": new_reports(self.stats),
                "changed_reports": self.count("nianbao/reports_changed"),
                "requests": self.count("downloader/request_count"),
                "bytes_downloaded": self.count("downloader/response_bytes"),
                "warc_bytes": self.count("warc/bytes"),
                "revisits": self.count("warc/revisits"),
                "unparsed": self.unparsed(),
                "inconsistent": self.count("nianbao/reports_inconsistent"),
                "errors": sum(self.errors_by_kind().values()),
                "error_kinds": json.dumps(self.errors_by_kind()),
                "exit_status": exit_status,
            },
            pk="id",
            alter=True,
        )
        db.close()


def recover_killed_runs(paths: DataPaths, current: int | None) -> int:
    """What runs killed since (`kill -9`, a power cut) archived is processed from their WARCs,
    by replay, before this run fetches anything; returns the files replayed.

    A killed run archived pages it never parsed (a report parsed only after its page was
    stored): replay processes them exactly as a replay of the archive would, versions and
    all. Its pages keep its `crawl_id`, so this run also re-checks them to follow their links.
    """
    from archive.index import warc_files
    from crawler.replay import replay_into

    db = open_db(paths.db)
    try:
        killed = list(
            db.query(
                "select id, started from crawls where ended is null and recovered is null "
                "and id != ?",
                [current or 0],
            )
        )
        if not killed:
            return 0
        since = datetime.fromisoformat(min(k["started"] for k in killed).replace("Z", "+00:00"))
        files = [
            f for f in warc_files(paths.warc_dir) if f.stat().st_mtime >= since.timestamp() - 1
        ]
        stats = replay_into(files, paths.db) if files else {}
        if stats.get("finish_reason") == "shutdown":  # Ctrl-C during it: the next run goes on
            print(
                "nianbao: replay of a killed run's WARC files stopped; not noted", file=sys.stderr
            )
            return len(files)
        errors = {k: v for k, v in stats.items() if k.startswith("nianbao/errors/")}
        print(
            f"nianbao: {len(killed)} run(s) were killed: {len(files)} WARC file(s) written since "
            f"replayed into the database first{f' (errors: {errors})' if errors else ''}",
            file=sys.stderr,
        )
        with db.conn:
            for run in killed:
                db.execute("update crawls set recovered = ? where id = ?", [now_iso(), run["id"]])
        return len(files)
    finally:
        db.close()


def repair_archive(paths: DataPaths) -> int:
    """Before writing: WARCs a killed run left open are cut back to whole records."""
    from archive.repair import repair_folder

    results = [r for r in repair_folder(paths.warc_dir) if r.status != "ok"]
    for result in results:
        print(
            f"nianbao: {result.status} {result.path.name}: {result.reason} "
            f"({result.tail_bytes} bytes set aside)",
            file=sys.stderr,
        )
    return len(results)


def run_spider(
    command: str,
    spider: str,
    paths: DataPaths,
    spider_args: dict[str, Any],
    overrides: dict[str, Any] | None = None,
    verbose: bool = False,
    log_file: str | None = None,
) -> int:
    """Crawl with one spider under the data-folder lock; print the summary; return exit status."""
    from scrapy.crawler import AsyncCrawlerProcess

    try:
        with data_lock(paths):
            settings = build_settings(paths, overrides, verbose, log_file)
            summary = Summary(command=command, started=now_iso())
            summary.record_start(paths.db)
            settings.set("NIANBAO_CRAWL_ID", summary.row_id, priority="cmdline")
            repaired = repair_archive(paths)
            recover_killed_runs(paths, summary.row_id)
            process = AsyncCrawlerProcess(settings)
            crawler = process.create_crawler(spider)
            process.crawl(crawler, **spider_args)
            process.start()
            summary.ended = now_iso()
            summary.stats = dict(crawler.stats.get_stats()) if crawler.stats else {}
            summary.stats.setdefault("finish_reason", None)  # none: stopped by force
            summary.stats["warc/repaired_files"] = repaired
            status = summary.exit_status()
            summary.record(paths.db, status)
    except DataFolderLocked as exc:
        print(f"nianbao: {exc}; not starting", file=sys.stderr)
        return EXIT_LOCKED
    for line in summary.lines():
        print(line)
    logging.getLogger(__name__).info("exit status %s", status)
    return status
