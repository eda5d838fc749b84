"""The parser's output: plain dataclasses, no behaviour beyond conversion to rows."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Cell:
    """One number of a report table, addressed by the keys of report-schema.json."""

    section: str  # "active" | "requests" | "review_litigation"
    row_key: str
    col_key: str
    value: int | float | None  # None for '-', '/', '——', '无', blank
    raw: str  # the text as published, trimmed of surrounding whitespace


@dataclass(frozen=True)
class Check:
    """One arithmetic identity of the template, evaluated on one row or column."""

    check: str  # e.g. "requests.balance[natural_person]"
    ok: bool
    detail: str  # readable: which row/column, expected vs found


@dataclass
class Report:
    """Everything the parser learns from one report document."""

    title: str | None = None
    organization: str | None = None
    year: int | None = None
    format: str | None = None  # "2019" | "2021": the requests table's template (else active's)
    published: str | None = None  # ISO date (or YYYY-MM) when the document states it
    cells: list[Cell] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    consistent: int | None = None  # 1 all hold, 0 one fails, None one unchecked/table missing
    sections: list[str] = field(default_factory=list)  # sections whose table was found
    notes: list[str] = field(default_factory=list)  # e.g. "table published as an image"

    def to_json(self) -> dict:
        """The object `nianbao parse` prints (interface.md)."""
        return {
            "title": self.title,
            "organization": self.organization,
            "year": self.year,
            "format": self.format,
            "published": self.published,
            "consistent": self.consistent,
            "sections": self.sections,
            "notes": self.notes,
            "cells": self.cell_rows(),
            "checks": self.check_rows(),
        }

    def cell_rows(self) -> list[dict]:
        """Cells as `report_cells` rows (without the report id).

        Built by hand: `dataclasses.asdict` deep-copies every field and cost more than the
        database insert when a replay re-saves hundreds of reports.
        """
        return [
            {
                "section": c.section,
                "row_key": c.row_key,
                "col_key": c.col_key,
                "value": c.value,
                "raw": c.raw,
            }
            for c in self.cells
        ]

    def check_rows(self) -> list[dict]:
        """Checks as `report_checks` rows (ok as 0/1)."""
        return [{"check": c.check, "ok": int(c.ok), "detail": c.detail} for c in self.checks]
