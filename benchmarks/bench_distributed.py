"""Nightly cost of a distributed crawl: two workers on a real Redis, with and without the
workers' shared history of pages.

The county portals of real shape and size (benchmarks/shaped.py) are crawled by two workers at
once, three nights running, as in bench_replay's nightly cost: the first crawl; the next night
with the nightly default (7-day refresh period); the night the period is over (every known page
asked for conditionally). Bytes downloaded and WARC bytes added, summed over both workers, are
set against the first night's (targets ≤ 10% and ≤ 5% for a week's average). Then the same
three nights with the shared history deleted before each night: what every night cost before
the workers shared it (each worker knew only the pages it had fetched itself).

Run: .venv/bin/python benchmarks/bench_distributed.py   (needs redis-server)
"""

from __future__ import annotations

import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_replay import print_nights  # noqa: E402
from benchmarks.realistic import real_size  # noqa: E402
from benchmarks.shaped import build_shaped  # noqa: E402
from crawler.portal_server import SamplePortals  # noqa: E402
from tests.helpers import FAST  # noqa: E402

COUNTED = ("requests", "bytes_downloaded", "warc_bytes", "revisits")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(workdir: Path) -> tuple[subprocess.Popen, str]:
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("redis-server is not installed (scripts/setup.sh installs it)")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    return process, f"redis://127.0.0.1:{port}/0"


def night(portals: SamplePortals, datas: list[Path], url: str, run: str, *options: str) -> dict:
    """Both workers at once over the portals; their crawls rows, summed."""
    command = [sys.executable, "-m", "crawler", "crawl", *portals.urls.values(), *FAST, *options]
    started = [
        subprocess.Popen(
            [*command, "--data", str(data), "--redis", url, "--redis-run", run],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for data in datas
    ]
    for process in started:
        out, err = process.communicate(timeout=1800)
        if process.returncode not in (0, 1):
            raise SystemExit(out[-2000:] + err[-2000:])
    total = dict.fromkeys(COUNTED, 0)
    for data in datas:
        with sqlite3.connect(data / "nianbao.db") as conn:
            row = conn.execute(
                f"select {', '.join(COUNTED)} from crawls order by id desc limit 1"
            ).fetchone()
        for key, value in zip(COUNTED, row, strict=True):
            total[key] += value or 0
    return total


def three_nights(label: str, work: Path, url: str, shared: bool) -> None:
    import redis

    client = redis.Redis.from_url(url)
    datas = [work / label / "worker-a", work / label / "worker-b"]

    def forget() -> None:
        if not shared:  # as before: each worker knows only what it fetched itself
            client.delete("nianbao:portals:known", "nianbao:portals:gone")

    with SamplePortals(portals=real_size(build_shaped())) as portals:
        client.flushall()
        first = night(portals, datas, url, f"{label}-1")
        forget()
        quiet = night(portals, datas, url, f"{label}-2")
        forget()
        due = night(portals, datas, url, f"{label}-3", "--refresh-days", "0")

    whose = "shared history" if shared else "each worker its own history"
    print_nights(f"two workers, {whose}", first, quiet, due)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="nianbao-bench-") as tmp:
        work = Path(tmp)
        process, url = start_redis(work)
        try:
            three_nights("shared", work, url, shared=True)
            three_nights("separate", work, url, shared=False)
        finally:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
