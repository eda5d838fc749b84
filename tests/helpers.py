"""Shared helpers for the end-to-end tests: run the real CLI in a subprocess, read results."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

ROOT = Path(__file__).resolve().parent.parent
SEEDS = Path(__file__).resolve().parent / "seeds"

# Loopback portals need no politeness delay; the rest of the settings are the real ones.
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"]


def nianbao(
    *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m crawler ARGS` (one reactor per process, so always a subprocess)."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        full_env.pop(name, None)  # tests talk to loopback only, unless a test sets a proxy
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=full_env,
        check=False,
    )


def truth_cells(tables: dict[str, Any]) -> dict[tuple[str, str, str], tuple[Any, str]]:
    """truth.json tables → {(section, row, col): (value, raw)}; a plain number is its own raw."""
    cells = {}
    for section, rows in tables.items():
        if rows is None:
            continue
        for row, cols in rows.items():
            for col, cell in cols.items():
                if isinstance(cell, dict):
                    cells[(section, row, col)] = (cell["value"], cell["raw"])
                else:
                    cells[(section, row, col)] = (cell, number_text(cell))
    return cells


def number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def stored_cells(db: sqlite_utils.Database, report_id: int) -> dict[tuple[str, str, str], tuple]:
    rows = db.query(
        "select section, row_key, col_key, value, raw from report_cells where report_id = ?",
        [report_id],
    )
    return {(r["section"], r["row_key"], r["col_key"]): (r["value"], r["raw"]) for r in rows}


def same_value(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) < 1e-9


def load_truth() -> dict[str, Any]:
    return json.loads((SEEDS / "truth.json").read_text(encoding="utf-8"))


def report_snapshot(db: sqlite_utils.Database, where: bool = True) -> dict[str, Any]:
    """Every report with its cells and checks, keyed by URL (ids may differ between databases).

    `where=False` leaves out the WARC location, for archives rewritten after the crawl.
    """
    snapshot = {}
    for report in db.query("select * from reports order by url"):
        cells = sorted(
            (c["section"], c["row_key"], c["col_key"], c["value"], c["raw"])
            for c in db.query("select * from report_cells where report_id = ?", [report["id"]])
        )
        checks = sorted(
            (c["check"], c["ok"], c["detail"])
            for c in db.query("select * from report_checks where report_id = ?", [report["id"]])
        )
        fields = {
            k: report[k]
            for k in (
                "title",
                "organization",
                "year",
                "format",
                "published",
                "source_type",
                "warc_filename",
                "warc_record_offset",
                "consistent",
                "text",
            )
        }
        if not where:
            del fields["warc_filename"], fields["warc_record_offset"]
        snapshot[report["url"]] = (fields, cells, checks)
    return snapshot


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def pywb_serving(data: Path) -> Iterator[str]:
    """`nianbao browse --data DATA` on a free loopback port; yields pywb's collection URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    server = subprocess.Popen(
        [sys.executable, "-m", "crawler", "browse", "--data", str(data), "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}/nianbao/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base, timeout=2).read()
                break
            except urllib.error.HTTPError:
                break  # pywb is answering
            except OSError:
                assert server.poll() is None, server.communicate()[1][-3000:]
                assert time.monotonic() < deadline, "pywb did not start"
                time.sleep(0.3)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.communicate(timeout=30)
