"""Stopped runs resume: SIGTERM, then `kill -9` mid-crawl, then a run that finishes the job.

The portals answer slowly so the crawl can be caught in the middle. While the first run holds
the data folder, a second run must refuse to start (exit 3). After the kill, the next run
repairs the WARC the killed run left open, and the end state must be exactly one report per
expected URL with the right cells, every WARC readable, and no report archived whole twice.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlite_utils
from warcio.archiveiterator import ArchiveIterator

from crawler.portal_server import SamplePortals
from tests.helpers import FAST, ROOT, nianbao, same_value, stored_cells, truth_cells

pytestmark = pytest.mark.slow


def start_crawl(portals: SamplePortals, data: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crawler",
            "crawl",
            *portals.urls.values(),
            "--data",
            str(data),
            *FAST,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def reports_stored(data: Path) -> int:
    try:
        with sqlite3.connect(data / "nianbao.db", timeout=1) as conn:
            return conn.execute("select count(*) from reports").fetchone()[0]
    except sqlite3.Error:
        return 0


def wait_until(condition: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        assert process.poll() is None, "the crawl ended before it could be stopped"
        assert time.monotonic() < deadline, "the crawl made no progress in time"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def resumed(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("resume") / "data"
    with SamplePortals(latency=1.0) as portals:
        # Run 1: stopped politely with SIGTERM; a second run meanwhile finds the folder locked.
        # The servers answer slowly so that run 1 is still mid-way after the second run's
        # start-up (a few seconds on a slow CI machine).
        first = start_crawl(portals, data)
        wait_until(lambda: reports_stored(data) >= 2, first)
        overlapping = nianbao("crawl", *portals.urls.values(), "--data", str(data), *FAST)
        assert first.poll() is None, "run 1 finished before it could be stopped"
        first.send_signal(signal.SIGTERM)
        first_out, first_err = first.communicate(timeout=120)
        after_term = reports_stored(data)
        open_after_term = list((data / "warc").glob("*.open"))
        # Run 2: killed with -9 in the middle.
        for server in portals.servers.values():
            server.latency = 0.4
        requests_before = len(portals.log)
        second = start_crawl(portals, data)
        wait_until(
            lambda: (
                len(portals.log) >= requests_before + 12
                and bool(list((data / "warc").glob("*.open")))
            ),
            second,
        )
        os.kill(second.pid, signal.SIGKILL)
        second.communicate(timeout=30)
        left_open = sorted(p.name for p in (data / "warc").glob("*.open"))
        # Run 3: finishes the job.
        third = nianbao("crawl", *portals.urls.values(), "--data", str(data), *FAST)
        yield {
            "portals": portals,
            "data": data,
            "first": (first.returncode, first_out, first_err),
            "overlapping": overlapping,
            "open_after_term": open_after_term,
            "after_term": after_term,
            "second": second.returncode,
            "left_open": left_open,
            "third": third,
        }


def test_an_overlapping_run_exits_at_once_with_its_own_code(resumed):
    overlapping = resumed["overlapping"]
    assert overlapping.returncode == 3, overlapping.stdout + overlapping.stderr[-2000:]
    assert "another nianbao run is using" in overlapping.stderr


def test_sigterm_stops_the_run_cleanly_and_says_so(resumed):
    code, out, err = resumed["first"]
    assert code == 1, out + err[-2000:]
    summary = next(line for line in out.splitlines() if line.startswith("nianbao crawl:"))
    assert "interrupted=1" in summary
    assert resumed["open_after_term"] == []  # the WARC was closed and renamed
    expected = {r["url"] for r in resumed["portals"].expected["reports"]}
    assert 2 <= resumed["after_term"] < len(expected)  # stopped in the middle


def test_kill_9_leaves_an_open_warc_that_the_next_run_repairs(resumed):
    assert resumed["second"] == -signal.SIGKILL
    assert resumed["left_open"], "the killed run left no open WARC"
    assert not list((resumed["data"] / "warc").glob("*.open"))
    for name in resumed["left_open"]:
        assert (resumed["data"] / "warc" / name.removesuffix(".open")).exists()


def test_the_resumed_run_finishes_with_every_report_once(resumed):
    third = resumed["third"]
    assert third.returncode == 0, third.stdout + third.stderr[-3000:]
    db = sqlite_utils.Database(resumed["data"] / "nianbao.db")
    expected = resumed["portals"].expected["reports"]
    assert db["reports"].count == len({r["url"] for r in expected})
    assert db["report_versions"].count == 0
    for report in expected:
        (row,) = db.query("select * from reports where url = ?", [report["url"]])
        want = truth_cells(report["tables"])
        got = stored_cells(db, row["id"])
        assert set(got) == set(want), report["url"]
        for key, (value, _raw) in want.items():
            assert same_value(got[key][0], value), (report["url"], key)


def test_every_warc_is_readable_and_no_report_archived_whole_twice(resumed):
    warc_dir = resumed["data"] / "warc"
    files = sorted(warc_dir.glob("*.warc.gz"))
    warcio = Path(sys.executable).parent / "warcio"
    check = subprocess.run(
        [str(warcio), "check", *map(str, files)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    whole = Counter()
    for path in files:
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "response" and record.http_headers.get_statuscode() == "200":
                    whole[record.rec_headers.get_header("WARC-Target-URI")] += 1
    reports = {r["url"] for r in resumed["portals"].expected["reports"]}
    twice = [url for url in reports if whole[url] > 1]
    # Only a page written to the WARC in the instant before the kill, and not yet recorded in
    # the database, can be fetched whole again.
    assert len(twice) <= 1, twice
    assert all(whole[url] >= 1 for url in reports)


def test_the_crawls_table_has_all_three_completed_runs(resumed):
    db = sqlite_utils.Database(resumed["data"] / "nianbao.db")
    rows = [
        (r["exit_status"], bool(r["ended"])) for r in db.query("select * from crawls order by id")
    ]
    # The killed run's row has no end (the next run re-checks what it fetched); the refused run
    # never started.
    assert rows == [(1, True), (None, False), (0, True)]


def test_a_run_stopped_by_force_says_so_and_is_taken_up(tmp_path: Path):
    """Two SIGTERMs in a row stop a crawl at once (Scrapy's forced stop): it used to exit 0
    with "errors: none" and a finished `crawls` row. It is interrupted (exit 1), its row has no
    end, and the next run takes it up as it would a killed one."""
    data = tmp_path / "data"
    with SamplePortals(latency=1.0) as portals:
        crawl = start_crawl(portals, data)
        wait_until(lambda: reports_stored(data) >= 2, crawl)
        crawl.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        crawl.send_signal(signal.SIGTERM)
        out, err = crawl.communicate(timeout=120)
        db = sqlite_utils.Database(data / "nianbao.db")
        (row,) = db.query("select * from crawls")
        for server in portals.servers.values():
            server.latency = 0
        after = nianbao("crawl", *portals.urls.values(), "--data", str(data), *FAST)
    assert crawl.returncode == 1, out + err[-2000:]
    assert "interrupted=1" in out, out
    assert row["ended"] is None and row["exit_status"] == 1
    assert after.returncode == 0, after.stdout + after.stderr[-2000:]
    assert "1 run(s) were killed" in after.stderr
