"""Replay and nightly-cost benchmark.

1. Nightly cost: each set of portals is crawled three times into one --data: the first crawl;
   the next night, unchanged, with the nightly default (`nianbao crawl`: a 7-day refresh
   period, so lists are fetched and known reports, articles and dead links are not); and the
   night their period is over, when every known page is asked for again conditionally (also
   what every night costs with `--refresh-days 0`). Bytes downloaded and WARC bytes added are
   set against the first crawl's (targets ≤ 10% and ≤ 5%), with the average over a week (six
   nights of the first kind, one of the second: an upper bound, since each URL's period is
   spread to 7–10.5 days). Three sets of portals:
   - the sample portals as the tests serve them (pages of 1.5 KB gzipped, few reports and a
     trap on every other page: a fixture, not a portal),
   - the same at real page sizes (benchmarks/realistic.py: every page dressed in the chrome of
     a real gov.cn page),
   - two county portals of real shape at real page sizes (benchmarks/shaped.py: Hanweb and TRS,
     132 reports, lists of 15 and 20 links).
2. Replay speed, in process (no start-up time): every record read to its end as `warcio index`
   does (the raw-read limit) against `replay_into` (read, resolve revisits, extract, parse,
   store) with one process and with one worker per core, over the first crawl of the county
   portals alone and over a month of their nightly crawls (`--nights`, with the weekly
   re-check), into an empty database; and the month into a database that already holds all
   but its last night (the nightly merge: files replayed before are read, not parsed).
   Target: ≥ 30%.

Run: .venv/bin/python benchmarks/bench_replay.py [--nights 30]
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.realistic import real_size  # noqa: E402
from benchmarks.shaped import build_shaped  # noqa: E402
from crawler.portal_server import SamplePortals  # noqa: E402
from crawler.sample_portals import build_sites  # noqa: E402
from tests.helpers import FAST, nianbao  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "raw"


def last_crawl(data: Path) -> dict:
    with sqlite3.connect(data / "nianbao.db") as conn:
        conn.row_factory = sqlite3.Row
        return dict(conn.execute("select * from crawls order by id desc limit 1").fetchone())


def warcio_read(files: list[Path]) -> int:
    """What `warcio index` does: every record read to its end, with its offset and length."""
    from warcio.archiveiterator import ArchiveIterator

    total = 0
    for path in files:
        with path.open("rb") as fh:
            iterator = ArchiveIterator(fh)
            for record in iterator:
                record.rec_headers.get_header("WARC-Target-URI")
                iterator.read_to_end(record)
                iterator.get_record_length()
                total += 1
    return total


def best_of(rounds: int, job: Callable[[], object]) -> tuple[float, object]:
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = job()
        times.append(time.perf_counter() - started)
    return min(times), result


RUNS = itertools.count()  # each replay its own database


def replay_speed(label: str, files: list[Path], work: Path, rounds: int = 3) -> None:
    """In-process timings (no interpreter start-up) of a raw read and of a full replay."""
    from crawler.process import analyse_attachment, analyse_html
    from crawler.replay import default_jobs, replay_into

    read_s, records = best_of(rounds, lambda: warcio_read(files))
    size = sum(p.stat().st_size for p in files)
    print(f"{label}: {len(files)} files, {records} records, {size / 1e6:.2f} MB")
    print(f"  warcio read   : {records / read_s:8.0f} records/s (raw-read limit)")
    for jobs in sorted({1, default_jobs()}):

        def replay(jobs: int = jobs) -> dict:
            analyse_html.cache_clear()
            analyse_attachment.cache_clear()
            # Always an empty database: one that held these files would not parse them.
            return replay_into(files, work / f"replay-{next(RUNS)}.db", jobs=jobs)

        replay_s, stats = best_of(rounds, replay)
        reports = stats.get("nianbao/reports_found", 0)
        print(
            f"  nianbao replay, {jobs} process{'es' if jobs > 1 else ''}: "
            f"{records / replay_s:6.0f} records/s, {reports / replay_s:6.1f} report records/s "
            f"= {100 * read_s / replay_s:.0f}% of the raw-read rate (target ≥ 30%)"
        )


def into_a_database_holding(files: list[Path], held: int, label: str, work: Path) -> None:
    """The archive replayed into a database that already holds its first `held` files (the
    nightly merge of workers' archives, or `nianbao replay` after each crawl): held files are
    read for the revisits that refer to them, not parsed."""
    from crawler.replay import default_jobs, replay_into

    read_s, records = best_of(3, lambda: warcio_read(files))
    prepared = work / f"held-{next(RUNS)}"
    replay_into(files[:held], prepared / "nianbao.db", jobs=default_jobs())
    times, stats = [], {}
    for _ in range(3):
        copy = work / f"merge-{next(RUNS)}"
        shutil.copytree(prepared, copy)
        started = time.perf_counter()
        stats = replay_into(files, copy / "nianbao.db", jobs=default_jobs())
        times.append(time.perf_counter() - started)
    replay_s = min(times)
    print(
        f"  into a database holding {label} ({stats['replay/files_held']} of {len(files)} files "
        f"held, {stats.get('replay/records_held', 0)} of {stats['replay/records']} records): "
        f"{records / replay_s:6.0f} records/s = {100 * read_s / replay_s:.0f}% of the raw-read "
        "rate (target ≥ 30%)"
    )


def as_programs(files: list[Path], work: Path) -> None:
    """The two commands as a user runs them, interpreter start-up included."""
    import subprocess

    warcio = Path(sys.executable).parent / "warcio"

    def index() -> None:
        subprocess.run([str(warcio), "index", *map(str, files)], capture_output=True, check=True)

    def replay(data: Path | None = None) -> None:
        data = data or work / f"cli-{next(RUNS)}"
        result = nianbao("replay", *map(str, files), "--data", str(data))
        if result.returncode != 0:
            raise SystemExit(result.stderr[-2000:])

    index_s, _ = best_of(3, index)
    replay_s, _ = best_of(3, replay)
    print(
        f"as programs over the same {len(files)} files: `warcio index` {index_s:.2f} s, "
        f"`nianbao replay` {replay_s:.2f} s = {100 * index_s / replay_s:.0f}% of its rate"
    )
    again = work / f"cli-{next(RUNS)}"
    replay(again)
    again_s, _ = best_of(3, lambda: replay(again))
    print(
        f"  `nianbao replay` again into the same database (every file held): {again_s:.2f} s "
        f"= {100 * index_s / again_s:.0f}% of `warcio index`'s rate"
    )


def crawl(portals: SamplePortals, data: Path, *options: str) -> dict:
    """One `nianbao crawl` of the portals; its row of the crawls table."""
    urls = list(portals.urls.values())
    result = nianbao("crawl", *urls, "--data", str(data), *FAST, *options)
    if result.returncode != 0:
        raise SystemExit(result.stdout[-2000:] + result.stderr[-2000:])
    return last_crawl(data)


PERIOD_OVER = ("--refresh-days", "0")  # every known page due: as on the night a period ends


def print_nights(label: str, first: dict, quiet: dict, due: dict) -> None:
    """The first crawl, a quiet night and a night with every page due, against the first; and
    a week's average (six quiet nights, one due)."""

    def share(run: dict, key: str) -> float:
        return 100 * run[key] / first[key]

    print(f"{label}:")
    print(
        f"  first crawl      : {first['requests']} requests, {first['bytes_downloaded']} bytes "
        f"downloaded, {first['warc_bytes']} WARC bytes"
    )
    for name, run in (("next night", quiet), ("period over", due)):
        print(
            f"  {name:<17}: {run['requests']} requests, downloads "
            f"{share(run, 'bytes_downloaded'):5.1f}%, WARC {share(run, 'warc_bytes'):5.1f}% "
            f"({run['warc_bytes']} bytes, {run['revisits']} revisits)"
        )
    week = {k: (6 * quiet[k] + due[k]) / 7 for k in ("bytes_downloaded", "warc_bytes")}
    print(
        f"  a week's average : downloads {share(week, 'bytes_downloaded'):5.1f}% "
        f"(target ≤ 10%), WARC {share(week, 'warc_bytes'):5.1f}% (target ≤ 5%)"
    )


def nightly_cost(label: str, portals: SamplePortals, data: Path) -> None:
    first = crawl(portals, data)
    quiet = crawl(portals, data)
    due = crawl(portals, data, *PERIOD_OVER)
    print_nights(label, first, quiet, due)
    overhead = due["warc_bytes"] / max(due["requests"], 1)
    pages = sorted(CORPUS.glob("*.html"))
    if pages:
        real = statistics.median(len(gzip.compress(p.read_bytes())) for p in pages)
        print(
            f"  archive cost of a conditional fetch: {overhead:.0f} bytes (request + revisit "
            f"record) = {100 * overhead / real:.1f}% of the median real article page "
            f"({real:.0f} bytes gzipped, {len(pages)} pages in shared/corpus/raw)"
        )


def month_of_nights(portals: SamplePortals, data: Path, nights: int) -> list[Path]:
    """The archive of `nights` nightly crawls with the default period: every 7th night due."""
    for night in range(nights):
        crawl(portals, data, *(PERIOD_OVER if night and night % 7 == 0 else ()))
    return sorted((data / "warc").glob("*.warc.gz"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nights", type=int, default=30, help="nightly crawls replayed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nianbao-bench-") as tmp:
        work = Path(tmp)
        with SamplePortals() as portals:
            nightly_cost("sample portals (test fixture)", portals, work / "sample")
        with SamplePortals(portals=real_size(build_sites())) as portals:
            nightly_cost("sample portals at real page sizes", portals, work / "real")
        with SamplePortals(portals=real_size(build_shaped())) as portals:
            nightly_cost("county portals of real shape and size", portals, work / "county")
        with SamplePortals(portals=real_size(build_shaped())) as portals:
            files = month_of_nights(portals, work / "month", args.nights)
        replay_speed("first crawl alone (every record new)", files[:1], work)
        replay_speed(f"archive of {args.nights} nightly crawls", files, work)
        into_a_database_holding(files, len(files) - 1, "all but the last night", work)
        into_a_database_holding(files, len(files), "all of it", work)
        as_programs(files, work)


if __name__ == "__main__":
    main()
