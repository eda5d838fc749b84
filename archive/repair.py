"""Detect and repair WARC files left damaged by a crash (`kill -9` mid-record).

The good prefix of a file (every complete record) is kept in place; the damaged tail is set
aside next to it as `NAME.broken-tail`, so nothing is lost and every `*.warc.gz` stays readable.
A file with no complete record at all is moved aside as `NAME.corrupt`. A file still named
`.open` (its writer never closed it) gets its final name once checked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archive.writer import OPEN_SUFFIX, member_complete


@dataclass
class RepairResult:
    path: Path  # the file as it is now
    status: str  # "ok" | "repaired" | "corrupt"
    good_bytes: int
    tail_bytes: int = 0
    reason: str = ""


def complete_prefix(path: Path) -> tuple[int, str]:
    """Bytes of complete, readable records at the start of `path`, and why reading stopped."""
    good = 0
    with path.open("rb") as fh:
        iterator = ArchiveIterator(fh, check_digests=False)
        try:
            for record in iterator:
                iterator.read_to_end(record)
                offset, length = iterator.get_record_offset(), iterator.get_record_length()
                with path.open("rb") as raw:
                    if not member_complete(raw, offset, length):
                        return good, f"record at byte {offset} is cut short"
                good = offset + length
        except Exception as exc:
            return good, f"{type(exc).__name__}: {exc}"
    size = path.stat().st_size
    return good, "" if good == size else f"{size - good} bytes after the last record"


def check_and_repair(path: str | Path) -> RepairResult:
    """Keep the good prefix, set the rest aside; idempotent."""
    path = Path(path)
    good, reason = complete_prefix(path)
    size = path.stat().st_size
    final = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
    if good == 0 and size > 0:
        aside = final.with_name(final.name + ".corrupt")
        os.replace(path, aside)
        return RepairResult(aside, "corrupt", 0, size, reason)
    result = RepairResult(final, "ok", good)
    if good < size:
        # The tail is on disk beside the file before the file is cut: a crash between the two
        # leaves it in both places (the next repair sets it aside again), never in neither.
        with path.open("rb") as fh:
            fh.seek(good)
            tail = fh.read()
        tail_path = final.with_name(final.name + ".broken-tail")
        with tail_path.open("ab") as out:
            out.write(tail)
            out.flush()
            os.fsync(out.fileno())
        with path.open("r+b") as fh:
            fh.truncate(good)
            os.fsync(fh.fileno())
        result = RepairResult(final, "repaired", good, len(tail), reason)
    if path != final:
        os.replace(path, final)
    return result


def repair_folder(folder: str | Path, every_file: bool = False) -> list[RepairResult]:
    """Repair the files a killed run left open (`*.open`) in a folder, before a run writes to it.

    A closed file was complete when it was renamed, so a nightly run reads only the open ones;
    `every_file=True` checks the whole folder (slow on a large archive).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    suffixes = (".warc.gz" + OPEN_SUFFIX, ".warc" + OPEN_SUFFIX)
    if every_file:
        suffixes += (".warc.gz", ".warc")
    candidates = sorted(p for p in folder.iterdir() if p.name.endswith(suffixes))
    return [check_and_repair(p) for p in candidates]
