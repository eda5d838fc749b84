"""WARC side of nianbao: writing, indexing and reading archives. Knows nothing about reports."""

from archive.reader import ArchivedRecord, ReadError, iter_captures
from archive.repair import check_and_repair, repair_folder
from archive.writer import Location, RotatingWarcWriter

__all__ = [
    "ArchivedRecord",
    "Location",
    "ReadError",
    "RotatingWarcWriter",
    "check_and_repair",
    "iter_captures",
    "repair_folder",
]
