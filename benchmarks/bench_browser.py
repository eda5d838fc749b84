"""Browser benchmark: list pages per second through headless Chromium against plain fetches.

Crawls the TRS and in-house sample portals twice with the same fixed server latency: once plain,
once with the site list's `browser` option (every list page rendered again in Chromium). The
browser's rate is the extra crawl time over the pages it rendered; it includes Chromium's start.
Run: .venv/bin/python benchmarks/bench_browser.py [--latency 0.05] [--rounds 3]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.portal_server import SamplePortals  # noqa: E402
from tests.helpers import FAST  # noqa: E402


def crawl_once(sites: str, tmp: Path) -> tuple[float, int, int]:
    """One crawl in a subprocess; returns (crawl seconds, responses, browser-rendered pages)."""
    listing = tmp / "sites.tsv"
    listing.write_text(sites, encoding="utf-8")
    data = tmp / f"data-{len(list(tmp.iterdir()))}"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler",
            "crawl",
            "--sites",
            str(listing),
            "--data",
            str(data),
            *FAST,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"crawl failed: {result.stdout}\n{result.stderr[-2000:]}")
    seconds = float(re.search(r"'elapsed_time_seconds': ([0-9.]+)", result.stderr).group(1))
    responses = int(re.search(r"'downloader/response_count': (\d+)", result.stderr).group(1))
    rendered = re.search(r"'nianbao/browser/pages': (\d+)", result.stderr)
    return seconds, responses, int(rendered.group(1)) if rendered else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    runs: dict[str, list[tuple[float, int, int]]] = {"plain": [], "browser": []}
    with SamplePortals(latency=args.latency) as portals, tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for mode in runs:
                option = "\tbench\tbrowser" if mode == "browser" else ""
                sites = "".join(
                    f"{name}\t{portals.urls[name]}{option}\n" for name in ("trs", "inhouse")
                )
                runs[mode].append(crawl_once(sites, Path(tmp)))
    plain = statistics.median(r[0] for r in runs["plain"])
    browser = statistics.median(r[0] for r in runs["browser"])
    responses = runs["plain"][-1][1]
    rendered = runs["browser"][-1][2]
    print(f"plain crawl   : {plain:6.2f} s  {responses / plain:6.1f} pages/s  ({responses} pages)")
    print(f"with browser  : {browser:6.2f} s  ({rendered} list pages rendered again in Chromium)")
    print(
        f"browser pages : {rendered / max(browser - plain, 1e-9):6.1f} pages/s "
        f"(extra time per rendered page {1000 * (browser - plain) / max(rendered, 1):.0f} ms, "
        f"latency {1000 * args.latency:.0f} ms/request)"
    )


if __name__ == "__main__":
    main()
