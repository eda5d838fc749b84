"""`nianbao wacz`: a data folder as one WACZ file (its WARCs, their index, the report pages).

py-wacz does the packaging and validating. Like pywb it lives in `.venv-pywb` (it pulls
frictionless and pywb-era pins the crawler's environment must not have), so it runs as a
program. The WACZ's `pages.jsonl` lists every report with its title and capture time, which is
what a reader opening the package (ReplayWeb.page, pywb) is looking for.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

from archive.index import warc_files
from crawler.browse import find_program
from crawler.store import open_db


class WaczFailed(RuntimeError):
    """py-wacz could not make (or validate) the package."""


def find_wacz() -> Path:
    """`wacz` from $NIANBAO_WACZ, the project's .venv-pywb, or the PATH."""
    return find_program("wacz", os.environ.get("NIANBAO_WACZ"))


def report_pages(db_path: Path) -> list[dict]:
    """One WACZ page entry per report: its URL, capture time and title."""
    if not db_path.exists():
        return []
    db = open_db(db_path)
    try:
        rows = db.query("select url, fetched_at, title from reports order by fetched_at, url")
        return [
            {"url": r["url"], "ts": r["fetched_at"], "title": r["title"] or r["url"]}
            for r in rows
            if r["fetched_at"]
        ]
    finally:
        db.close()


def write_pages(pages: list[dict], path: Path) -> None:
    header = {"format": "json-pages-1.0", "id": "pages", "title": "Annual reports"}
    lines = [json.dumps(header, ensure_ascii=False)]
    lines += [json.dumps(page, ensure_ascii=False) for page in pages]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def package(data: Path, output: Path, title: str = "nianbao archive") -> tuple[Path, int]:
    """Write `output` from the data folder's WARCs and reports; returns (path, pages listed)."""
    files = warc_files(data / "warc")
    if not files:
        raise WaczFailed(f"no WARC files in {data / 'warc'}")
    pages = report_pages(data / "nianbao.db")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nianbao-wacz-") as tmp:
        pages_file = Path(tmp) / "pages.jsonl"
        write_pages(pages, pages_file)
        command = [str(find_wacz()), "create", "-o", str(output), "-p", str(pages_file)]
        command += ["--title", title, *map(str, files)]
        run(command)
    run([str(find_wacz()), "validate", "-f", str(output)])
    return output, len(pages)


def run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise WaczFailed(f"{Path(command[0]).name} {command[1]} failed: {' | '.join(detail)}")
