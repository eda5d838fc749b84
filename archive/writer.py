"""Rotating WARC writer: one open file at a time, one gzip member per record, unique names.

Modelled on pywb's MultiFileWARCWriter. A file is written as `NAME.warc.gz.open` and renamed
when it is closed or rotated, so a file without `.open` is always complete; every file starts
with its own `warcinfo` record. Names carry a timestamp, a serial, the host name and the pid, so
several processes (scrapy-redis workers) can write into one folder side by side.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from warcio.warcwriter import WARCWriter

OPEN_SUFFIX = ".open"


@dataclass(frozen=True)
class Location:
    """Where a record landed: the final file name (basename), its offset and length."""

    filename: str
    offset: int
    length: int


def member_complete(fh: IO[bytes], offset: int, length: int) -> bool:
    """Whether the gzip member at `offset` is whole (a cut member has no trailer).

    warcio reads a truncated member without complaint, so a record cut by a crash would pass
    for a short but valid one; inflating the raw member and reaching its end proves it is whole.
    """
    fh.seek(offset)
    data = fh.read(length)
    if data[:2] != b"\x1f\x8b":
        return True  # not gzip-compressed: nothing to check here
    inflater = zlib.decompressobj(wbits=31)
    try:
        inflater.decompress(data)
    except zlib.error:
        return False
    return inflater.eof


def payload_digest(body: bytes) -> str:
    """The WARC payload digest of a body, as warcio writes it (sha1, base32)."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


class RotatingWarcWriter:
    """Writes records to `directory`, starting a new file when one passes `max_size` bytes."""

    def __init__(
        self,
        directory: str | Path,
        prefix: str = "nianbao",
        max_size: int = 1_000_000_000,
        warcinfo: dict[str, Any] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.max_size = max_size
        self.warcinfo = warcinfo or {}
        self.serial = 0
        self.handle: IO[bytes] | None = None
        self.name: str | None = None
        self.writer = WARCWriter(None, gzip=True, warc_version="1.1")  # builds records only

    def _new_name(self) -> str:
        self.serial += 1
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        host = socket.gethostname().replace("-", "")[:16] or "host"
        return f"{self.prefix}-{stamp}-{self.serial:05d}-{host}-{os.getpid()}.warc.gz"

    def _open(self) -> None:
        self.name = self._new_name()
        self.handle = open(self.directory / (self.name + OPEN_SUFFIX), "xb")  # noqa: SIM115
        self._file_writer = WARCWriter(self.handle, gzip=True, warc_version="1.1")
        info = self._file_writer.create_warcinfo_record(self.name, dict(self.warcinfo))
        self._file_writer.write_record(info)
        self.handle.flush()

    def write(self, *records: Any) -> list[Location]:
        """Write records (in order) into the current file; returns where each one landed."""
        if self.handle is None:
            self._open()
        assert self.handle is not None and self.name is not None
        locations = []
        for record in records:
            offset = self.handle.tell()
            self._file_writer.write_record(record)
            locations.append(Location(self.name, offset, self.handle.tell() - offset))
        self.handle.flush()
        if self.handle.tell() >= self.max_size:
            self.close()
        return locations

    def close(self) -> None:
        """Close the current file and give it its final name."""
        if self.handle is None:
            return
        self.handle.close()
        assert self.name is not None
        os.replace(self.directory / (self.name + OPEN_SUFFIX), self.directory / self.name)
        self.handle = None
        self.name = None
