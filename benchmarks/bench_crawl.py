"""Crawl benchmark: the sample portals with a fixed server latency, with and without archiving.

Prints pages/s, requests per report found, and the cost of archiving (target: ≤ 5%).
Run: .venv/bin/python benchmarks/bench_crawl.py [--latency 0.05] [--rounds 3]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.portal_server import SamplePortals  # noqa: E402
from tests.helpers import FAST as TEST_FAST  # noqa: E402

FAST = [*TEST_FAST, "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2"]  # two per host, as in production


def crawl_once(urls: list[str], archive: bool) -> tuple[float, int, int, int]:
    """One crawl in a subprocess; returns (seconds, pages, reports, requests)."""
    with tempfile.TemporaryDirectory(prefix="nianbao-bench-") as tmp:
        extra = [] if archive else ["-s", "WARC_ENABLED=False"]
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "crawler", "crawl", *urls, "--data", tmp, *FAST, *extra],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        elapsed = time.perf_counter() - started
        crawl_time = re.search(r"'elapsed_time_seconds': ([0-9.]+)", result.stderr)
        if crawl_time:  # the crawl itself, without interpreter start-up
            elapsed = float(crawl_time.group(1))
        match = re.search(r"'downloader/request_count': (\d+)", result.stderr)
        requests = int(match.group(1)) if match else 0
        pages_match = re.search(r"'downloader/response_count': (\d+)", result.stderr)
        pages = int(pages_match.group(1)) if pages_match else 0
        reports_match = re.search(r"reports=(\d+)", result.stdout)
        reports = int(reports_match.group(1)) if reports_match else 0
        return elapsed, pages, reports, requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--latency", type=float, default=0.05, help="server latency per request (s)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with SamplePortals(latency=args.latency) as portals:
        urls = list(portals.urls.values())
        results: dict[bool, list[tuple[float, int, int, int]]] = {True: [], False: []}
        for _ in range(args.rounds):
            for archive in (False, True):
                results[archive].append(crawl_once(urls, archive))
    for archive in (False, True):
        runs = results[archive]
        seconds = statistics.median(r[0] for r in runs)
        pages, reports, requests = runs[-1][1], runs[-1][2], runs[-1][3]
        label = "with WARC" if archive else "without WARC"
        print(
            f"{label:13s}: {seconds:6.2f} s  {pages / seconds:6.1f} pages/s  pages={pages} "
            f"reports={reports} requests/report={requests / max(reports, 1):.1f}"
        )
    with_warc = statistics.median(r[0] for r in results[True])
    without = statistics.median(r[0] for r in results[False])
    print(
        f"archiving cost: {100 * (with_warc - without) / without:+.1f}% of crawl time "
        f"(latency {args.latency * 1000:.0f} ms/request)"
    )


if __name__ == "__main__":
    main()
