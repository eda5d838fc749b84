"""Attachment benchmark: reports parsed per second from each file type, on one core.

The files are the ones the tests use: the real 淮安市 2024 PDF, the real 2021 Word template
filled with numbers, and LibreOffice's DOC/PDF/XLS of it. DOC, WPS and XLS pay for a LibreOffice
start per file. Run: .venv/bin/python benchmarks/bench_attachments.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.attachments import convert_with_libreoffice, parse_attachment  # noqa: E402
from crawler.sample_portals import generated_tables  # noqa: E402
from tests.test_attachments import HUAIAN, filled_template, spreadsheet  # noqa: E402


def fixtures() -> dict[str, bytes]:
    tables = generated_tables("2021", 41)
    docx = filled_template(tables)
    xlsx = spreadsheet(tables)
    return {
        "pdf (淮安 2024, 6 pages)": HUAIAN.read_bytes(),
        "pdf (template, LibreOffice)": convert_with_libreoffice(docx, "docx", "pdf"),
        "docx": docx,
        "doc": convert_with_libreoffice(docx, "docx", "doc"),
        "xlsx": xlsx,
        "xls": convert_with_libreoffice(xlsx, "xlsx", "xls"),
    }


def rate(data: bytes, kind: str, seconds: float) -> tuple[float, int]:
    """Files per second parsing `data` again and again for about `seconds`."""
    count = 0
    started = time.perf_counter()
    while True:
        report, _ = parse_attachment(data, kind)
        assert report.cells, f"{kind}: no cells"
        count += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds and count >= 2:
            return count / elapsed, len(report.cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="time per file type")
    args = parser.parse_args()
    files = fixtures()
    for label, data in files.items():
        kind = label.split()[0]
        per_second, cells = rate(data, kind, args.seconds)
        print(
            f"{label:28s} {len(data) / 1024:7.1f} KiB  {per_second:7.2f} reports/s  cells={cells}"
        )


if __name__ == "__main__":
    main()
