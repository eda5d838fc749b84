"""Read archived responses back from WARC files, reporting damage and carrying on.

A damaged record (bad gzip member, garbage, a tail cut by `kill -9`) is reported as a ReadError
and skipped: reading resumes at the next gzip member of the same file, so one bad record never
hides the rest of an archive.
"""

from __future__ import annotations

import heapq
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator

from archive.index import warc_files
from archive.records import CONVERTER_HEADER, FETCHED_BY_HEADER
from archive.writer import member_complete

GZIP_MAGIC = b"\x1f\x8b\x08"


@dataclass
class ReadError:
    """Damage found in a WARC file."""

    filename: str
    offset: int
    reason: str

    def __str__(self) -> str:
        return f"{self.filename} at byte {self.offset}: {self.reason}"


@dataclass
class ArchivedRecord:
    """A `response` or `revisit` record with what a consumer needs."""

    url: str
    record_type: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes  # payload with Content-Encoding decoded (empty for a revisit)
    payload_digest: str | None
    date: str
    filename: str
    offset: int
    length: int
    record_id: str
    refers_to: dict[str, Any] = field(default_factory=dict)
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    method: str = "GET"  # of the request record beside it
    path: Path | None = None  # the file it was read from
    # The `conversion` record archived beside it (content_type, text, converter), if met
    # within LOOKAHEAD captures of it, and where it is in the same file.
    conversion: dict[str, str] | None = None
    conversion_offset: int | None = None
    browser: bool = False  # fetched by the headless browser for a page it rendered


def read_record(path: Path, offset: int) -> ArchivedRecord | None:
    """The response or revisit record at `offset` of `path`, or None if there is none."""
    kind, value = _item_at(path, offset)
    if kind != "capture":
        return None
    value.path = path
    return value


def read_conversion(path: Path, offset: int) -> dict[str, str] | None:
    """The conversion record at `offset` of `path` (content_type, text, converter), or None."""
    kind, value = _item_at(path, offset)
    return value[1] if kind == "conversion" else None


def _item_at(path: Path, offset: int) -> tuple[str | None, Any]:
    """The `_convert` item of the record at `offset` of `path` ((None, None) if none)."""
    with path.open("rb") as fh:
        fh.seek(offset)
        for record in ArchiveIterator(fh, check_digests=False):
            return _convert(record, path.name, offset) or (None, None)
    return None, None


def iter_captures(
    paths: list[Path] | Path,
    errors: list[ReadError] | None = None,
    ended: list[Path] | None = None,
) -> Iterator[ArchivedRecord]:
    """Every response and revisit record under `paths` (files or folders), in capture order.

    One crawl's files follow each other, but the folders of workers that crawled together
    (`--redis`) overlap in time: their records are merged by date, so an article is always met
    before the attachment another worker fetched from its link. A file is opened only when its
    first record is due, so a year of nightly files is not held open at once. Damage goes to
    `errors`; each file read to its end goes to `ended` once its last record has been taken.
    """
    errors = errors if errors is not None else []
    ended = ended if ended is not None else []
    files = warc_files(paths if isinstance(paths, list) else [paths])
    waiting = deque(sorted((_started(p), p.name, p) for p in files))
    heap: list[tuple[str, int, ArchivedRecord, Iterator[ArchivedRecord], Path]] = []
    order = count()

    def open_next() -> None:
        _, _, path = waiting.popleft()
        records = _iter_file(path, errors)
        first = next(records, None)
        if first is None:
            ended.append(path)
        else:
            heapq.heappush(heap, (_date_key(first.date), next(order), first, records, path))

    while waiting or heap:
        while waiting and (not heap or waiting[0][0] <= heap[0][0]):
            open_next()
        if not heap:
            continue
        _, _, record, records, path = heapq.heappop(heap)
        yield record
        following = next(records, None)
        if following is None:
            ended.append(path)
        else:
            entry = (_date_key(following.date), next(order), following, records, path)
            heapq.heappush(heap, entry)


NAME_TIME = re.compile(r"-(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{0,6})\d*-")


def _started(path: Path) -> str:
    """When a WARC file was begun: from its name (ours and Heritrix's carry it), else from its
    first record's date (a glance at its head), else "" (opened at once; its damage is met
    and reported when it is read)."""
    match = NAME_TIME.search(path.name)
    if not match:
        return _first_date(path)
    y, mo, d, h, mi, sec, fraction = match.groups()
    return f"{y}-{mo}-{d}T{h}:{mi}:{sec}.{fraction.ljust(6, '0')}"


def _first_date(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh, check_digests=False):
                return _date_key(record.rec_headers.get_header("WARC-Date"))
    except Exception:  # damaged: read it first, and report it then
        return ""
    return ""


def _date_key(date: str | None) -> str:
    """A WARC-Date as a string that sorts in time order whatever its precision."""
    if not date:
        return ""
    base, _, fraction = date.rstrip("Z").partition(".")
    return f"{base}.{fraction.ljust(6, '0')[:6]}"


# Captures of one file held back while reading on, so the `request` and `conversion` records
# written after each (a conversion once its page is parsed, a few fetches later) join it.
LOOKAHEAD = 256
LOOKAHEAD_BYTES = 32 << 20


def _iter_file(path: Path, errors: list[ReadError]) -> Iterator[ArchivedRecord]:
    held: deque[ArchivedRecord] = deque()
    by_id: dict[str, ArchivedRecord] = {}
    size = 0
    with path.open("rb") as fh:
        for kind, value in _records(fh, path.name, errors):
            if kind in ("request", "conversion"):
                record = by_id.get(value[0])
                if record is None:
                    continue
                if kind == "request" and not record.request_headers:
                    record.request_headers, record.method = value[1], value[2]
                elif kind == "conversion":
                    record.conversion, record.conversion_offset = value[1], value[2]
                continue
            value.path = path
            held.append(value)
            by_id[value.record_id] = value
            size += len(value.body)
            # The newest stays, however large: its request record comes next.
            while len(held) > 1 and (len(held) > LOOKAHEAD or size > LOOKAHEAD_BYTES):
                first = held.popleft()
                by_id.pop(first.record_id, None)
                size -= len(first.body)
                yield first
        yield from held


def _records(fh: IO[bytes], name: str, errors: list[ReadError]) -> Iterator[tuple[str, Any]]:
    """('capture', ArchivedRecord), ('request', (concurrent_to, headers, method)) and
    ('conversion', (refers_to, conversion)) items of one file."""
    size = fh.seek(0, 2)
    start = 0
    damaged = False  # the last attempt failed before reading a single good record
    while True:
        fh.seek(start)
        iterator = ArchiveIterator(fh, check_digests=False)
        offset = end = start
        try:
            for record in iterator:
                offset = iterator.offset  # the record's start (get_record_offset() consumes it)
                item = _convert(record, name, offset)
                iterator.read_to_end(record)
                length = iterator.get_record_length()
                if offset + length >= size:
                    # Only a file's last record can be cut short by a crash or a full disk.
                    position = fh.tell()
                    whole = member_complete(fh, offset, length)
                    fh.seek(position)
                    if not whole:
                        raise ValueError("record cut short (incomplete gzip member)")
                end = offset + length
                damaged = False
                if item is not None:
                    if item[0] == "capture":
                        item[1].length = length
                    yield item
            if end < size:  # warcio stops quietly at a record whose headers were cut off
                errors.append(ReadError(name, end, f"{size - end} bytes after the last record"))
            return
        except Exception as exc:  # any damage: report, then look for the next record
            # The bad record starts where the last good one ended: search on from just after
            # it, so no whole record behind it is skipped. A false start inside the damaged
            # bytes (gzip magic by chance) fails at once and is part of the same damage.
            if not damaged:
                reason = f"{type(exc).__name__}: {exc}"
                errors.append(ReadError(name, end, ascii(reason)[1:81]))
            damaged = True
            resume = _next_member(fh, end + 1)
            if resume is None:
                return
            start = resume


def _next_member(fh: IO[bytes], position: int) -> int | None:
    """Offset of the next gzip member after `position`, if any."""
    fh.seek(position)
    carry = b""
    base = position
    while True:
        chunk = fh.read(1 << 20)
        if not chunk:
            return None
        data = carry + chunk
        found = data.find(GZIP_MAGIC)
        if found >= 0:
            return base - len(carry) + found
        carry = data[-2:]
        base += len(chunk)


def _convert(record: Any, name: str, offset: int) -> tuple[str, Any] | None:
    headers = record.rec_headers
    kind = record.rec_type
    if kind == "request":
        http = record.http_headers
        pairs = list(http.headers) if http is not None else []
        method = (http.protocol or "GET").upper() if http is not None else "GET"
        return "request", (headers.get_header("WARC-Concurrent-To"), pairs, method)
    if kind == "conversion":
        text = record.content_stream().read().decode("utf-8", errors="replace")
        content_type = (headers.get_header("Content-Type") or "").split(";")[0].strip()
        converter = headers.get_header(CONVERTER_HEADER) or ""
        conversion = {"content_type": content_type, "text": text, "converter": converter}
        return "conversion", (headers.get_header("WARC-Refers-To"), conversion, offset)
    if kind not in ("response", "revisit"):
        return None
    http = record.http_headers
    status = int(http.get_statuscode() or 0) if http is not None else 0
    body = b"" if kind == "revisit" else record.content_stream().read()
    refers_to = {}
    if kind == "revisit":
        refers_to = {
            "uri": headers.get_header("WARC-Refers-To-Target-URI"),
            "date": headers.get_header("WARC-Refers-To-Date"),
            "record_id": headers.get_header("WARC-Refers-To"),
            "profile": headers.get_header("WARC-Profile"),
            "payload_digest": headers.get_header("WARC-Payload-Digest"),
        }
    return "capture", ArchivedRecord(
        url=headers.get_header("WARC-Target-URI"),
        record_type=kind,
        status=status,
        headers=list(http.headers) if http is not None else [],
        body=body,
        payload_digest=headers.get_header("WARC-Payload-Digest"),
        date=headers.get_header("WARC-Date"),
        filename=name,
        offset=offset,
        length=0,
        record_id=headers.get_header("WARC-Record-ID"),
        refers_to=refers_to,
        browser=headers.get_header(FETCHED_BY_HEADER) == "browser",
    )
