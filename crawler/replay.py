"""`nianbao replay`: rebuild the database from WARC files alone, with no network.

Every response and revisit record goes through the same `process_capture` the crawl used, in
capture order (the order one crawl wrote them; the folders of workers that crawled together are
merged by date), so a replay gives the crawl's reports and cells; a revisit is resolved to the
full record it refers to. Damaged records are reported and skipped, and so is a record the
parser fails on (its page is kept). Parsing runs in worker processes; saving stays in order.

A database remembers the WARC files replayed into it whole, with the parser's fingerprint: such
a file is only read again (for the revisits of other files that refer to it), not parsed, until
the parser changes. So a replay into the database that holds most of an archive (tonight's
files of several workers merged into one dataset) costs what is new, and a parser improvement
still reaches every record.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from archive.index import warc_files
from archive.reader import iter_captures, read_conversion, read_record
from archive.writer import OPEN_SUFFIX
from crawler.extract import decode_html
from crawler.items import Capture, Conversion
from crawler.layouts import page_links
from crawler.process import outcome_keys, page_row, parser_fingerprint, process_capture
from crawler.progress import progress_text
from crawler.run import DataPaths, Summary, data_lock, drop_inherited_locks
from crawler.scope import canonical_url, is_attachment, may_link_attachments
from crawler.store import Rows, held_files, mark_replayed, now_iso, open_db, save_rows

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Located:
    """Where a whole response record is, and when it was captured."""

    path: Path
    offset: int
    date: str


@dataclass(frozen=True)
class Unread:
    """A revisit's original that need not be read again: it was no report and no attachment.

    Its payload gave nothing but a `pages` row the first time, and a revisit has the same
    payload, so only where it is matters. Skipping the read saves a seek and a gunzip for every
    unchanged list page of every night.
    """

    filename: str
    offset: int
    date: str
    body: bytes = b""


class Originals:
    """Where the whole response records seen so far are, to resolve revisits.

    Only locations are kept, never bodies: a revisit reads its original back from disk, so
    replaying a large archive takes memory for its URLs, not for its payloads.
    """

    def __init__(self) -> None:
        self.by_digest: dict[tuple[str, str], Located] = {}
        self.latest: dict[str, Located] = {}
        self.plain: set[Located] = set()  # originals that were neither report nor attachment

    def remember(self, record: Any) -> Located | None:
        if record.path is None:
            return None
        where = Located(record.path, record.offset, record.date)
        self.latest[record.url] = where
        if record.payload_digest:
            self.by_digest[(record.url, record.payload_digest)] = where
        return where

    def resolve(self, revisit: Any) -> Any | None:
        """The original record of a revisit (read from disk unless it is `plain`), or None."""
        refers = revisit.refers_to or {}
        uri = refers.get("uri") or revisit.url
        digest = refers.get("payload_digest") or revisit.payload_digest
        # With a digest, only that payload will do: the URL's latest capture may be another
        # version (its original in a file not given, damaged, or read later), and parsing it in
        # the revisit's place would invent an edit. Unresolved, the file is parsed again later.
        where = self.by_digest.get((uri, digest)) if digest else self.latest.get(uri)
        if where is None:
            return None
        if where in self.plain:
            return Unread(where.path.name, where.offset, where.date)
        return read_record(where.path, where.offset)


def capture_of(record: Any, original: Any | None = None, conversion: dict | None = None) -> Capture:
    """The Capture of a WARC record; a revisit takes its payload from the original, and the
    conversion archived beside it (or the one given, met with the original before)."""
    source = original or record
    conversion = getattr(source, "conversion", None) or conversion
    extra: dict[str, Any] = {"record_type": record.record_type}
    if getattr(record, "browser", False):
        extra["browser"] = True  # fetched while the browser rendered a page: a page row only
    if getattr(record, "method", "GET") != "GET":
        extra["method"] = record.method  # a form's answer: not the URL's own page
    refers = getattr(record, "refers_to", None) or {}
    if record.record_type == "revisit":
        extra["content_date"] = refers.get("date") or (original.date if original else None)
    return Capture(
        url=record.url,
        status=record.status,
        headers=list(record.headers),
        body=source.body if source is not None else b"",
        fetched_at=record.date,
        # A revisit holds no content: point at the whole record it refers to, as the crawl does.
        warc_filename=source.filename,
        warc_record_offset=source.offset,
        payload_digest=record.payload_digest or refers.get("payload_digest"),
        referer=_header(getattr(record, "request_headers", None) or [], "Referer"),
        extra=extra,
        conversion=Conversion(**conversion) if conversion else None,
    )


def _header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name.lower():
            return value
    return None


def attachment_links(capture: Capture) -> dict[str, str]:
    """{attachment URL: report page URL} for the attachments a report page links to."""
    html, _ = decode_html(capture.body, capture.content_type)
    if not may_link_attachments(html):
        return {}
    links = (canonical_url(link.url) for link in page_links(html, capture.url))
    return {url: capture.url for url in links if is_attachment(url)}


def replay_paths(
    paths: list[Path],
    data: DataPaths,
    verbose: bool = False,
    jobs: int | None = None,
    reparse: bool = False,
) -> Summary:
    """Replay WARC files or folders into the data folder's database.

    Raises DataFolderLocked at once when another run holds the data folder (exit status 3,
    like a crawl's: a nightly merge that meets the crawl is not a failure).
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO)
    summary = Summary(command="replay", started=now_iso())
    with data_lock(data), sigterm_as_interrupt():
        summary.stats = replay_into(paths, data.db, jobs, reparse)
        db = open_db(data.db)
        try:
            summary.note_unparsed(db)
        finally:
            db.close()
    summary.ended = now_iso()
    return summary


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (systemd, `kill`) stops a replay as Ctrl-C does: cleanly, between records."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


BATCH = 500  # records per transaction
WINDOW = 64  # captures in flight to the worker processes
PROGRESS_EVERY = 30.0  # seconds between progress lines of a long replay


MAX_DEFAULT_JOBS = 8  # beyond this, the one process that reads and saves is the bottleneck


def default_jobs() -> int:
    """Worker processes for a replay: the cores this process may use, at most 8."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, MAX_DEFAULT_JOBS))


def replay_into(
    paths: list[Path], db_path: Path, jobs: int | None = None, reparse: bool = False
) -> dict[str, int]:
    """Process every record of `paths` into the database; returns stats-style counts.

    Records are read, resolved and saved in write order by this process; the parsing between
    (the costly part: trafilatura, pdfplumber) runs in `jobs` worker processes. Files the
    database already holds under this parser are read, not parsed, unless `reparse`. Each file
    is noted as held in the transaction that saves its last rows, so a replay stopped midway
    (SIGINT, a crash, `kill -9`) goes on where it stopped when run again.
    """
    db = open_db(db_path)
    parser = parser_fingerprint()
    replay = Replay(db, held=set() if reparse else held_files(db, parser), parser=parser)
    records = iter_captures(paths, errors=replay.errors, ended=replay.ended)
    try:
        with Workers(jobs or default_jobs()) as replay.workers:
            more = True
            while more:
                with db.atomic():  # a commit per batch: one per record cost more than parsing
                    submitted = 0
                    for record in islice(records, BATCH):  # read as submitted: few bodies held
                        replay.submit(record)
                        submitted += 1
                    more = submitted == BATCH
                    replay.note_whole_files()
            with db.atomic():
                replay.finish()
                replay.note_whole_files()
    except KeyboardInterrupt:  # the batch in hand is rolled back; the files noted stay noted
        replay.stats["finish_reason"] = "shutdown"
        logger.warning(
            "replay stopped: %d file(s) were saved whole and are noted; run it again to go on",
            replay.stats.get("replay/files_saved", 0),
        )
    finally:
        db.close()
    for error in replay.errors:
        logger.warning("skipped damaged WARC data: %s", error)
        replay.inc("nianbao/errors/warc_damaged")
    replay.stats["replay/files_held"] = len(replay.seen_held)
    unfinished = unfinished_warcs(paths)
    if unfinished:
        replay.stats["replay/files_unfinished"] = len(unfinished)
        logger.warning("not read, still being written or left by a killed crawl: %s", unfinished)
    return replay.stats


def unfinished_warcs(paths: list[Path]) -> list[str]:
    """WARC files still named `.open` under `paths`: a crawl is writing them, or one was killed
    and the next crawl over that data folder has not yet cut them back to whole records."""
    return [p.name for p in warc_files(paths, suffixes=(".warc.gz" + OPEN_SUFFIX,))]


Analysed = tuple[Rows, dict[str, str], str | None]  # rows, attachment links, error


def analyse(capture: Capture) -> Analysed:
    """A capture's rows, the attachments a report page links, and the error if parsing failed.

    Pure, so it runs in any process. A capture the parser chokes on still gives its `pages` row
    (as in the crawl, where the page is stored when archived): one bad record never stops a
    replay of the whole archive.
    """
    if capture.extra.get("browser"):
        return Rows(page=page_row(capture)), {}, None  # as the crawl stores it
    try:
        rows = process_capture(capture)
        links = attachment_links(capture) if rows.report and rows.attachment is None else {}
        rows.conversion = rows.conversion is not None  # only whether one was made: not sent back
    except Exception as exc:
        logger.exception("could not process %s", capture.url)
        return Rows(page=page_row(capture)), {}, type(exc).__name__
    return rows, links, rows.interrupted  # its rows stored, its file parsed again next time


def needs_parsing(capture: Capture) -> bool:
    """Whether `analyse` may be costly: a whole 200 response, or a 304 revisit resolved to its
    original's payload (an Unread original has no body)."""
    return capture.status in (200, 304) and bool(capture.body) and not capture.extra.get("browser")


class Workers:
    """`analyse` in worker processes when there are several cores, in this process otherwise.

    Forked workers inherit the loaded parser, so they start at once. Only captures that may need
    parsing travel; the rest are analysed here, where it costs less than the pickling.
    """

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Workers:
        if self.jobs > 1:
            self.pool = self.new_pool()
        return self

    def new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.jobs,
            mp_context=get_context("fork"),
            initializer=leave_signals_to_parent,
            initargs=(os.getpid(),),
        )

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def analyse(self, capture: Capture) -> Future:
        if self.pool is not None and needs_parsing(capture):
            return self.submit(capture)
        future: Future = Future()
        future.set_result(analyse(capture))
        return future

    def submit(self, capture: Capture) -> Future:
        assert self.pool is not None
        try:
            return self.pool.submit(analyse, capture)
        except BrokenProcessPool:  # a worker died (killed, out of memory, a crash in C)
            logger.warning("a replay worker process died: starting new ones")
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self.new_pool()
            return self.pool.submit(analyse, capture)

    def again(self, capture: Capture) -> Analysed:
        """A capture whose pool broke under it, parsed once more, alone: either it was with
        the worker that died (and is parsed now), or it is what killed it (and kills again)."""
        try:
            return self.submit(capture).result()
        except BrokenProcessPool:
            logger.error("a replay worker died parsing %s: page kept, not parsed", capture.url)
            return Rows(page=page_row(capture)), {}, "worker_died"


def leave_signals_to_parent(parent: int) -> None:
    """A worker ignores Ctrl-C and dies of SIGTERM: the replaying process decides how to stop.
    It holds none of the parent's locks, and dies with it (a parent killed with -9 leaves no
    workers behind, waiting for work forever)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    drop_inherited_locks()
    die_with_parent(parent)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when its parent dies (elsewhere: nothing to ask)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)


FileKey = tuple[str, int]  # a WARC file's name and size


class Replay:
    """One replay's state: the originals seen, which page links which attachment, the counts,
    the files the database already holds and the files replayed now."""

    def __init__(self, db: Any, held: set[FileKey], parser: str) -> None:
        self.db = db
        self.parser = parser
        self.workers = Workers(1)  # in this process, until replay_into gives it worker processes
        self.stats: dict[str, int] = {}
        self.originals = Originals()
        self.made: set[int] = set()  # reports this replay added (outcome_keys)
        # Attachment URL -> the report page linking it: the fallback when a WARC lost the
        # attachment's request record (and its Referer), so it still joins its article's report.
        self.linked_from: dict[str, str] = {}
        self.pending: deque[tuple[Future, Capture, Located | None, FileKey]] = deque()
        self.started = self.last_progress = time.monotonic()
        self.held = held
        self.seen_held: set[FileKey] = set()
        self.failed: set[FileKey] = set()  # a record failed or unresolved: not held whole
        self.keys: dict[Path, FileKey] = {}
        self.errors: list[Any] = []  # damage met by the reader
        self.ended: list[Path] = []  # files the reader has read to their end
        self.unsaved: Counter[FileKey] = Counter()  # records handed to the workers, not saved
        # Where the conversions met are, by (URL, payload digest): a revisit's original is read
        # back alone, without the conversion archived after it, which is then read back too.
        self.conversions: dict[tuple[str, str], tuple[Path, int]] = {}

    def file_key(self, record: Any) -> FileKey:
        """The (name, size) of the file a record was read from (its size taken once)."""
        path = record.path
        if path not in self.keys:
            self.keys[path] = (path.name, path.stat().st_size)
        return self.keys[path]

    def inc(self, key: str) -> None:
        self.stats[key] = self.stats.get(key, 0) + 1

    def submit(self, record: Any) -> None:
        """Resolve one response or revisit record and hand its capture to the workers."""
        self.inc("replay/records")
        original, where, key = None, None, self.file_key(record)
        if record.record_type != "revisit":
            where = self.originals.remember(record)
            self.remember_conversion(record)
        if key in self.held:
            self.seen_held.add(key)
            self.inc("replay/records_held")  # its rows are in the database already
            self.progress()
            return
        if record.record_type == "revisit":
            original = self.originals.resolve(record)
            if original is None:
                self.inc("nianbao/errors/revisit_unresolved")
                self.failed.add(key)  # its original may come with a later replay
        capture = capture_of(record, original, self.conversion_of(original))
        self.pending.append((self.workers.analyse(capture), capture, where, key))
        self.unsaved[key] += 1
        self.finish(keep=WINDOW)

    def remember_conversion(self, record: Any) -> None:
        if record.conversion_offset is not None and record.payload_digest and record.path:
            where = (record.path, record.conversion_offset)
            self.conversions[(record.url, record.payload_digest)] = where

    def conversion_of(self, original: Any | None) -> dict | None:
        """The conversion archived beside a revisit's original (read back from its file)."""
        if original is None or isinstance(original, Unread) or not original.payload_digest:
            return None
        where = self.conversions.get((original.url, original.payload_digest))
        if where is None:
            return None
        try:
            return read_conversion(*where)
        except Exception:  # damaged since: the original is converted again
            return None

    def finish(self, keep: int = 0) -> None:
        """Save, in write order, what the workers have done; wait while over `keep` are pending."""
        while self.pending and (len(self.pending) > keep or self.pending[0][0].done()):
            future, capture, where, key = self.pending.popleft()
            try:
                rows, links, error = future.result()
            except BrokenProcessPool:
                rows, links, error = self.workers.again(capture)
            if rows.conversion:
                self.inc("replay/converted")  # no usable conversion archived: converted here
            if error is not None:
                self.inc(f"nianbao/errors/process/{error}")
                self.failed.add(key)  # replayed again next time, and reported again
                where = None  # not known to be plain: its revisits are read and tried again
            self.save(capture, rows, where)
            self.linked_from.update(links)
            self.unsaved[key] -= 1

    def note_whole_files(self) -> None:
        """Note as held the files read to their end, unless a record of theirs was damaged,
        failed or unresolved (those are replayed again, and reported again).

        Called before each commit, so a file is noted with its last rows. The records of an
        ended file still with the workers are waited for (once per file: cheap).
        """
        ended = [self.keys[path] for path in self.ended if path in self.keys]
        self.ended.clear()
        if any(self.unsaved[key] for key in ended):
            self.finish()
        damaged = {error.filename for error in self.errors}
        whole = {
            key
            for key in ended
            if key not in self.held and key not in self.failed and key[0] not in damaged
        }
        if whole:
            mark_replayed(self.db, whole, self.parser)
            self.stats["replay/files_saved"] = self.stats.get("replay/files_saved", 0) + len(whole)

    def save(self, capture: Capture, rows: Rows, where: Located | None) -> None:
        if rows.attachment is not None and rows.attachment["report_url"] is None:
            article = self.linked_from.get(canonical_url(capture.url)) or self.stored_article(
                capture.url
            )
            rows.attachment["report_url"] = article
            if rows.report is not None:
                rows.report["article_url"] = article
        result = save_rows(self.db, rows)
        if where is not None and rows.report is None and rows.attachment is None:
            self.originals.plain.add(where)
        self.inc("nianbao/pages")
        for key in outcome_keys(rows, result, self.made):
            self.inc(key)
        self.progress()

    def stored_article(self, url: str) -> str | None:
        """The article an attachment was joined to before (its page may be in a held file)."""
        for row in self.db.query("select report_url from attachments where url = ?", [url]):
            return row["report_url"]
        return None

    def progress(self) -> None:
        """A log line every `PROGRESS_EVERY` seconds: a year of archive takes a while."""
        now = time.monotonic()
        if now - self.last_progress >= PROGRESS_EVERY:
            self.last_progress = now
            logger.info(
                "replay: records read %d (held %d)  %s",
                self.stats.get("replay/records", 0),
                self.stats.get("replay/records_held", 0),
                progress_text(self.stats, now - self.started),
            )
