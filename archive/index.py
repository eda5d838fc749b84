"""The CDXJ index of an archive folder, sorted, as pywb reads it (cdxj-indexer)."""

from __future__ import annotations

import heapq
import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO

WARC_SUFFIXES = (".warc.gz", ".warc")
# v3: POST keys with their body; v2: revisits that replay blank left out (older parts made again)
PART_SUFFIX = ".v3.cdxj"


def warc_files(paths: Path | list[Path], suffixes: tuple[str, ...] = WARC_SUFFIXES) -> list[Path]:
    """Complete WARC files (or others by `suffixes`) under the given files or folders, in name
    (= time) order."""
    found: list[Path] = []
    for path in [paths] if isinstance(paths, Path | str) else paths:
        path = Path(path)
        if path.is_dir():
            found.extend(p for p in path.rglob("*") if p.name.endswith(suffixes))
        elif path.name.endswith(suffixes):
            found.append(path)
    unique = {p.resolve(): p for p in found}  # a file given twice (itself and its folder): once
    return sorted(unique.values(), key=lambda p: (p.name, str(p)))


def write_cdxj(paths: Path | list[Path], out_path: Path, parts: Path | None = None) -> int:
    """Index every WARC under `paths` into `out_path` (atomically replaced); returns lines.

    With a `parts` folder, each WARC's own sorted index is kept there and made again only when
    the WARC is not older than it (a new file, or one repaired since), and `out_path` is their
    merge: a nightly run indexes its own new file, not the whole archive again.
    """
    files = warc_files(paths)
    out_path = Path(out_path)
    tmp = out_path.with_name(out_path.name + ".tmp")
    if parts is None:
        if files:
            cdx_index(tmp, files)
        else:
            tmp.write_text("", encoding="utf-8")
    else:
        merge_sorted([part_index(path, parts) for path in files], tmp)
        _drop_stale_parts(parts, files)
    os.replace(tmp, out_path)
    with out_path.open("rb") as fh:
        return sum(1 for _ in fh)


def cdx_index(out_path: Path, warcs: list[Path]) -> None:
    """cdxj-indexer's sorted index of `warcs`, without the 304 revisits (imported here: reading
    an archive needs none of it, and it loads in a fifth of a second).

    pywb replays a revisit whose status is a 3xx as it stands, headers only: a "304 Not
    Modified" would be the page a reader gets for that night. Left out of the index, the night
    shows the capture the 304 refers to, which is what the server confirmed unchanged. The
    WARC keeps the 304 record.
    """
    from cdxj_indexer.main import write_cdx_index

    full = out_path.with_name(out_path.name + ".all")
    # post_append: a POST's key carries its body (`__wb_method=post&…`), as pywb's own
    # wb-manager indexes it; without it Hanweb's dataproxy.jsp answers never replay.
    write_cdx_index(str(full), [str(w) for w in warcs], {"sort": True, "post_append": True})
    by_name = {w.name: w for w in warcs}
    with full.open("rb") as lines, out_path.open("wb") as out:
        out.writelines(line for line in lines if replays_whole(line, by_name))
    full.unlink()


def replays_whole(line: bytes, warcs: dict[str, Path]) -> bool:
    """Whether pywb replays the capture of a CDXJ line as the page it was: not a 304 revisit,
    nor a revisit written before 2026-11-23, whose headers said `Content-Length: 0`."""
    if b"warc/revisit" not in line:
        return True
    fields = json.loads(line.split(b" ", 2)[2])
    if fields.get("mime") != "warc/revisit":
        return True
    if fields.get("status") == "304":
        return False
    warc = warcs.get(fields.get("filename", ""))
    return warc is None or revisit_length(warc, int(fields.get("offset", 0))) != "0"


def revisit_length(warc: Path, offset: int) -> str | None:
    """The HTTP `Content-Length` a revisit record states."""
    from warcio.archiveiterator import ArchiveIterator

    with warc.open("rb") as stream:
        stream.seek(offset)
        record = next(iter(ArchiveIterator(stream)), None)
        if record is None or record.http_headers is None:
            return None
        return record.http_headers.get_header("Content-Length")


def index_parts(index_path: Path) -> Path:
    """Where the per-WARC indexes behind `index_path` are kept: `index.cdxj.d/` beside it."""
    return index_path.with_name(index_path.name + ".d")


def part_index(warc: Path, parts: Path) -> Path:
    """The sorted CDXJ of one WARC file, made again if the WARC changed since it was made."""
    parts.mkdir(parents=True, exist_ok=True)
    part = parts / (warc.name + PART_SUFFIX)
    if part.exists() and part.stat().st_mtime_ns > warc.stat().st_mtime_ns:
        return part
    tmp = part.with_name(part.name + ".tmp")
    cdx_index(tmp, [warc])
    os.replace(tmp, part)
    return part


def merge_sorted(sources: list[Path], out_path: Path) -> None:
    """Merge sorted line files into one sorted file, streaming (memory stays flat)."""
    with ExitStack() as stack:
        streams = [stack.enter_context(p.open("rb")) for p in sources]
        with out_path.open("wb") as out:
            out.writelines(heapq.merge(*(_lines(stream) for stream in streams)))


def _lines(stream: IO[bytes]) -> Iterator[bytes]:
    for line in stream:
        yield line if line.endswith(b"\n") else line + b"\n"


def _drop_stale_parts(parts: Path, files: list[Path]) -> None:
    """Forget the index of a WARC that is no longer there (moved away or set aside)."""
    names = {p.name + PART_SUFFIX for p in files}
    for part in parts.glob("*.cdxj"):  # and parts of an earlier kind
        if part.name not in names:
            part.unlink()
