"""Replay and nightly-cost benchmark.

1. Nightly cost: the sample portals are crawled `--nights` times into one --data; the second
   (unchanged) crawl's bytes downloaded and WARC bytes added are set against the first's
   (targets ≤ 10% and ≤ 5%). Measured on the sample pages as the tests serve them (about 1.5 KB
   gzipped, far smaller than real ones), on the same portals at real page sizes
   (benchmarks/realistic.py: every page dressed in a real gov.cn page's chrome), and at real
   sizes with a refresh period (known reports not re-checked for 7 days).
2. Replay speed, in process (no start-up time): every record read to its end as `warcio index`
   does (the raw-read limit) against `replay_into` (read, resolve revisits, extract, parse,
   store) with one process and with one worker per core, over the first crawl alone and over
   the whole nightly archive. Target: ≥ 30%.

Run: .venv/bin/python benchmarks/bench_replay.py [--nights 8]
"""

from __future__ import annotations

import argparse
import gzip
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


def replay_speed(label: str, files: list[Path], work: Path, rounds: int = 3) -> None:
    """In-process timings (no interpreter start-up) of a raw read and of a full replay."""
    from crawler.process import analyse_attachment, analyse_html
    from crawler.replay import default_jobs, replay_into

    read_s, records = best_of(rounds, lambda: warcio_read(files))
    size = sum(p.stat().st_size for p in files)
    print(f"{label}: {len(files)} files, {records} records, {size / 1e6:.2f} MB")
    print(f"  warcio read   : {records / read_s:8.0f} records/s (raw-read limit)")
    counter = iter(range(10**6))
    for jobs in sorted({1, default_jobs()}):

        def replay(jobs: int = jobs) -> dict:
            analyse_html.cache_clear()
            analyse_attachment.cache_clear()
            return replay_into(files, work / f"replay-{next(counter)}.db", jobs=jobs)

        replay_s, stats = best_of(rounds, replay)
        reports = stats.get("nianbao/reports_found", 0)
        print(
            f"  nianbao replay, {jobs} process{'es' if jobs > 1 else ''}: "
            f"{records / replay_s:6.0f} records/s, {reports / replay_s:6.1f} report records/s "
            f"= {100 * read_s / replay_s:.0f}% of the raw-read rate (target ≥ 30%)"
        )


def as_programs(files: list[Path], work: Path) -> None:
    """The two commands as a user runs them, interpreter start-up included."""
    import subprocess

    warcio = Path(sys.executable).parent / "warcio"

    def index() -> None:
        subprocess.run([str(warcio), "index", *map(str, files)], capture_output=True, check=True)

    counter = iter(range(10**6))

    def replay() -> None:
        result = nianbao("replay", *map(str, files), "--data", str(work / f"cli-{next(counter)}"))
        if result.returncode != 0:
            raise SystemExit(result.stderr[-2000:])

    index_s, _ = best_of(3, index)
    replay_s, _ = best_of(3, replay)
    print(
        f"as programs over the same {len(files)} files: `warcio index` {index_s:.2f} s, "
        f"`nianbao replay` {replay_s:.2f} s = {100 * index_s / replay_s:.0f}% of its rate"
    )


def nightly_cost(
    label: str, portals: SamplePortals, data: Path, nights: int, *settings: str
) -> None:
    urls = list(portals.urls.values())
    runs = []
    for _ in range(nights):
        result = nianbao("crawl", *urls, "--data", str(data), *FAST, *settings)
        if result.returncode != 0:
            raise SystemExit(result.stdout[-2000:] + result.stderr[-2000:])
        runs.append(last_crawl(data))
    first, second = runs[0], runs[1]
    print(f"{label}:")
    print(
        f"  first crawl : {first['requests']} requests, {first['bytes_downloaded']} bytes "
        f"downloaded, {first['warc_bytes']} WARC bytes"
    )
    print(
        f"  second crawl: {second['requests']} requests, {second['bytes_downloaded']} bytes "
        f"downloaded ({100 * second['bytes_downloaded'] / first['bytes_downloaded']:.1f}%, "
        f"target ≤ 10%), {second['warc_bytes']} WARC bytes "
        f"({100 * second['warc_bytes'] / first['warc_bytes']:.1f}%, target ≤ 5%), "
        f"{second['revisits']} revisit records"
    )
    overhead = second["warc_bytes"] / max(second["requests"], 1)
    pages = sorted(CORPUS.glob("*.html"))
    if pages:
        real = statistics.median(len(gzip.compress(p.read_bytes())) for p in pages)
        print(
            f"  archive cost per fetch of the second crawl: {overhead:.0f} bytes (request + "
            f"revisit record) = {100 * overhead / real:.1f}% of the median real article page "
            f"({real:.0f} bytes gzipped, {len(pages)} pages in shared/corpus/raw)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nights", type=int, default=8, help="crawls of the unchanged portals")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nianbao-bench-") as tmp:
        work = Path(tmp)
        with SamplePortals() as portals:
            nightly_cost("sample pages", portals, work / "sample", 2)
        with SamplePortals(portals=real_size(build_sites())) as portals:
            nightly_cost("real-size pages", portals, work / "nightly", args.nights)
        with SamplePortals(portals=real_size(build_sites())) as portals:
            refresh = ("-s", "NIANBAO_REFRESH_DAYS=7")
            nightly_cost(
                "real-size pages, refresh period 7 days", portals, work / "weekly", 2, *refresh
            )
        files = sorted((work / "nightly" / "warc").glob("*.warc.gz"))
        replay_speed("first crawl alone (every record new)", files[:1], work)
        replay_speed(f"archive of {args.nights} nightly crawls", files, work)
        as_programs(files, work)


if __name__ == "__main__":
    main()
