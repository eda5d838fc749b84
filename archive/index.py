"""The CDXJ index of an archive folder, sorted, as pywb reads it (cdxj-indexer)."""

from __future__ import annotations

import os
from pathlib import Path

from cdxj_indexer.main import write_cdx_index

WARC_SUFFIXES = (".warc.gz", ".warc")


def warc_files(paths: Path | list[Path]) -> list[Path]:
    """Complete WARC files under the given files or folders, in name (= time) order."""
    found: list[Path] = []
    for path in [paths] if isinstance(paths, Path | str) else paths:
        path = Path(path)
        if path.is_dir():
            found.extend(p for p in path.rglob("*") if p.name.endswith(WARC_SUFFIXES))
        elif path.name.endswith(WARC_SUFFIXES):
            found.append(path)
    return sorted(found, key=lambda p: (p.name, str(p)))


def write_cdxj(paths: Path | list[Path], out_path: Path) -> int:
    """Index every WARC under `paths` into `out_path` (atomically replaced); returns lines."""
    files = [str(p) for p in warc_files(paths)]
    out_path = Path(out_path)
    tmp = out_path.with_name(out_path.name + ".tmp")
    if files:
        write_cdx_index(str(tmp), files, {"sort": True})
    else:
        tmp.write_text("", encoding="utf-8")
    os.replace(tmp, out_path)
    with out_path.open("rb") as fh:
        return sum(1 for _ in fh)
