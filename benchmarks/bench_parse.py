"""Reports per second on one core: seed texts, and seed truths rendered as ~40-80 KB Word HTML.

Run: .venv/bin/python benchmarks/bench_parse.py [seconds-per-case]
Targets: >= 500 reports/s from text, >= 100 reports/s from HTML.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from crawler.report import parse_html, parse_text
from crawler.report.render import Style, render_html, truth_data

SEEDS = Path(__file__).resolve().parent.parent / "tests" / "seeds"


def rate(fn, docs: list[str], seconds: float) -> float:
    """Documents parsed per second, cycling through `docs` for about `seconds`."""
    for doc in docs:  # warm caches and imports
        fn(doc)
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for doc in docs:
            fn(doc)
        done += len(docs)
    return done / elapsed


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    truth = json.loads((SEEDS / "truth.json").read_text(encoding="utf-8"))
    texts = [(SEEDS / name).read_text(encoding="utf-8") for name in sorted(truth)]
    pages = [
        render_html(
            t["format"],
            truth_data(t["tables"]),
            f"{t['year']}年政府信息公开工作年度报告",
            style=Style(seed=n, word=True, label_spans=True),
            padding=400,
        )
        for n, t in enumerate(truth[name] for name in sorted(truth))
    ]
    rows = [
        (
            "text (5 seeds)",
            sum(map(len, texts)) // len(texts),
            rate(parse_text, texts, seconds),
            500,
        ),
        (
            "html (Word tables)",
            sum(len(p.encode()) for p in pages) // len(pages),
            rate(parse_html, pages, seconds),
            100,
        ),
    ]
    print(f"{'input':<20} {'avg chars':>11} {'reports/s':>10} {'target':>8}")
    for name, size, per_s, target in rows:
        flag = "ok" if per_s >= target else "BELOW"
        print(f"{name:<20} {size:>8} ch {per_s:>10.0f} {target:>8}  {flag}")


if __name__ == "__main__":
    main()
