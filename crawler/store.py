"""The SQLite store (sqlite-utils): tables of interface.md, upserts that never duplicate.

Everything that writes rows goes through here, from the crawl pipeline, from replay and from
`nianbao parse --db`. Storing a report again under the same URL replaces its cells and checks; an
edited report keeps its earlier version in `report_versions` (history is never lost).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlite_utils

REPORT_COLUMNS = {
    "id": int,
    "url": str,
    "title": str,
    "organization": str,
    "year": int,
    "format": str,
    "published": str,
    "site": str,
    "source_type": str,
    "warc_filename": str,
    "warc_record_offset": int,
    "text": str,
    "consistent": int,
    "payload_digest": str,
    "content_key": str,
    "rows_digest": str,
    "fetched_at": str,
    "last_seen": str,
    "updated_at": str,
    "version": int,
    "notes": str,
    "article_url": str,
}

PAGE_COLUMNS = {
    "url": str,
    "status": int,
    "fetched_at": str,
    "content_type": str,
    "warc_filename": str,
    "warc_record_offset": int,
    "payload_digest": str,
    "record_type": str,
    "etag": str,
    "last_modified": str,
    "site": str,
    "content_date": str,
}


@dataclass
class Rows:
    """What processing one archived response produces, ready to store."""

    page: dict[str, Any]
    report: dict[str, Any] | None = None
    cells: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    attachment: dict[str, Any] | None = None
    # Parsing stopped by something passing (a conversion timed out): stored as is, and a replay
    # keeps the record's file unheld, so it is parsed again.
    interrupted: str | None = None


@dataclass
class SaveResult:
    """How a save changed the database: the CLI summary counts these."""

    report_id: int | None = None
    new: bool = False
    changed: bool = False
    duplicate_of: int | None = None


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def open_db(path: str | Path) -> sqlite_utils.Database:
    """Open (and create or migrate) the database at `path`."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = (
        sqlite_utils.Database(path)
        if str(path) != ":memory:"
        else sqlite_utils.Database(memory=True)
    )
    if str(path) != ":memory:":
        db.enable_wal()
    db.execute("PRAGMA busy_timeout = 30000")
    db.execute("PRAGMA synchronous = NORMAL")  # WAL: durable across a crash of the process
    ensure_schema(db)
    return db


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create every table, index and the trigram full-text index if missing."""
    db["pages"].create(PAGE_COLUMNS, pk="url", if_not_exists=True)
    db["reports"].create(REPORT_COLUMNS, pk="id", if_not_exists=True)
    db["reports"].create_index(["url"], unique=True, if_not_exists=True)
    db["reports"].create_index(["content_key"], if_not_exists=True)
    db["report_cells"].create(
        {
            "report_id": int,
            "section": str,
            "row_key": str,
            "col_key": str,
            "value": float,
            "raw": str,
        },
        foreign_keys=[("report_id", "reports", "id")],
        if_not_exists=True,
    )
    db["report_cells"].create_index(["report_id"], if_not_exists=True)
    db["report_checks"].create(
        {"report_id": int, "check": str, "ok": int, "detail": str},
        foreign_keys=[("report_id", "reports", "id")],
        if_not_exists=True,
    )
    db["report_checks"].create_index(["report_id"], if_not_exists=True)
    db["report_aliases"].create(
        {"url": str, "report_id": int, "first_seen": str}, pk="url", if_not_exists=True
    )
    db["report_versions"].create(
        {
            "report_id": int,
            "version": int,
            "url": str,
            "payload_digest": str,
            "content_key": str,
            "fetched_at": str,
            "warc_filename": str,
            "warc_record_offset": int,
            "consistent": int,
            "cells": str,
            "checks": str,
        },
        if_not_exists=True,
    )
    db["report_versions"].create_index(["report_id"], if_not_exists=True)
    if "content_key" not in db["report_versions"].columns_dict:
        db["report_versions"].add_column("content_key", str)  # databases made before it
    db["attachments"].create(
        {
            "url": str,
            "report_url": str,
            "source_type": str,
            "status": int,
            "content_type": str,
            "fetched_at": str,
            "warc_filename": str,
            "warc_record_offset": int,
            "payload_digest": str,
            "site": str,
            "error": str,
            "interrupted": str,
        },
        pk="url",
        if_not_exists=True,
    )
    for column in ("error", "interrupted"):  # databases made before them
        if column not in db["attachments"].columns_dict:
            db["attachments"].add_column(column, str)
    db["crawls"].create(
        {
            "id": int,
            "command": str,
            "started": str,
            "ended": str,
            "pages": int,
            "reports_found": int,
            "new_reports": int,
            "changed_reports": int,
            "requests": int,
            "bytes_downloaded": int,
            "warc_bytes": int,
            "revisits": int,
            "unparsed": int,
            "inconsistent": int,
            "errors": int,
            "error_kinds": str,
            "exit_status": int,
        },
        pk="id",
        if_not_exists=True,
    )
    db["replayed_files"].create(
        {"name": str, "size": int, "parser": str, "replayed_at": str}, pk="name", if_not_exists=True
    )
    if "reports_fts" not in db.table_names():
        # unicode61 splits nothing in Chinese text; trigram finds any 3+ character phrase.
        db["reports"].enable_fts(["title", "text"], tokenize="trigram", create_triggers=True)


def content_key(report: dict[str, Any], cells: list[dict[str, Any]]) -> str:
    """Identity of a report's content, so one report under two URLs is stored once.

    Tables are what users come for: the same body, year and cells mean the same report. Without
    cells the clean text decides.
    """
    if cells:
        basis = [report.get("organization"), report.get("year"), report.get("format")]
        basis += sorted((c["section"], c["row_key"], c["col_key"], c["raw"]) for c in cells)
    else:
        text = "".join((report.get("text") or "").split())
        basis = [report.get("title"), text]
    return hashlib.sha1(json.dumps(basis, ensure_ascii=False).encode()).hexdigest()


def save_page(db: sqlite_utils.Database, page: dict[str, Any]) -> None:
    """Upsert the latest fetch of a URL.

    A revisit (304 or unchanged payload) carries no validators or payload of its own: what it
    leaves empty keeps the values of the full capture it refers to.
    """
    if page.get("record_type") == "revisit":
        page = {k: v for k, v in page.items() if v is not None}
    upsert_latest(db, "pages", page)


def upsert_latest(db: sqlite_utils.Database, table: str, row: dict[str, Any]) -> None:
    """Upsert a row keyed by `url`, unless the row stored was fetched later: an older capture
    met again (a file replayed again after a later one, workers' archives merged) must not roll
    it back. A column the table lacks is added, as sqlite-utils' `alter=True` would."""
    sql, values = _upsert_sql(table, tuple(row)), list(row.values())
    try:
        db.execute(sql, values)
    except sqlite3.OperationalError as exc:
        if "has no column named" not in str(exc):
            raise
        db[table].add_missing_columns([row])
        db.execute(sql, values)


@lru_cache(maxsize=64)
def _upsert_sql(table: str, columns: tuple[str, ...]) -> str:
    """One statement per table and column set: sqlite-utils' upsert looks up the table's
    columns on every call, which cost more than the write itself when a replay stores
    thousands of pages."""
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c != "url")
    newer = f"excluded.fetched_at >= coalesce({table}.fetched_at, '')"
    return (
        f"insert into {table} ({names}) values ({marks}) on conflict(url) do update set {updates}"
        + (f" where {newer} or excluded.fetched_at is null" if "fetched_at" in columns else "")
    )


def save_rows(db: sqlite_utils.Database, rows: Rows) -> SaveResult:
    """Store everything one archived response produced, atomically."""
    with db.atomic():
        save_page(db, rows.page)
        if rows.attachment is not None:
            upsert_latest(db, "attachments", rows.attachment)
        if rows.report is None:
            return SaveResult()
        return _save_report(db, rows)


VOLATILE = {"fetched_at", "warc_filename", "warc_record_offset", "payload_digest", "updated_at"}


def rows_digest(report: dict[str, Any], rows: Rows) -> str:
    """Everything the parser said about a report, without when and where it was fetched."""
    basis = [
        sorted((k, v) for k, v in report.items() if k not in VOLATILE and k != "last_seen"),
        sorted(tuple(sorted(c.items())) for c in rows.cells),
        sorted(tuple(sorted(c.items())) for c in rows.checks),
    ]
    return hashlib.sha1(json.dumps(basis, ensure_ascii=False, default=str).encode()).hexdigest()


def _save_report(db: sqlite_utils.Database, rows: Rows) -> SaveResult:
    report = dict(rows.report or {})
    report["content_key"] = content_key(report, rows.cells)
    report["rows_digest"] = rows_digest(report, rows)
    report["updated_at"] = now_iso()
    existing = _find_report(db, report["url"], report["content_key"])
    article = report.get("article_url")
    if existing is None and article:
        host = _find_report(db, article, "")
        if host is not None and _has_cells(db, host["id"]):
            # The article already gave the tables: the attachment is a copy of the same report.
            _add_alias(db, report["url"], host["id"])
            return SaveResult(report_id=host["id"], duplicate_of=host["id"])
        if host is not None:
            # The article has no tables of its own: its attachment holds the report.
            _add_alias(db, host["url"], host["id"])
            existing = {**host, "url": report["url"]}
    if existing is None:
        report["version"] = 1
        report["last_seen"] = report.get("fetched_at")
        report.pop("id", None)
        report_id = db["reports"].insert(report, alter=True).last_pk
        _replace_cells(db, report_id, rows)
        return SaveResult(report_id=report_id, new=True)
    if existing["url"] != report["url"]:
        _add_alias(db, report["url"], existing["id"])
        return SaveResult(report_id=existing["id"], duplicate_of=existing["id"])
    # The very payload stored, parsed again (a parser change replayed): whatever differs is the
    # parser's doing, never a new version of the report.
    digest = report.get("payload_digest")
    reparsed = digest is not None and digest == existing["payload_digest"]
    changed = existing["content_key"] != report["content_key"] and not reparsed
    if changed and (report.get("fetched_at") or "") < (existing["fetched_at"] or ""):
        # A capture from before the current version (an archive replayed into the database that
        # already holds it): history, never a new version.
        return _save_history(db, existing, report, rows)
    last_seen = max(existing.get("last_seen") or "", report.get("fetched_at") or "") or None
    if not changed and existing.get("rows_digest") == report["rows_digest"]:
        # Seen again, parsed the same: only note when (the common case of a nightly run).
        db.execute("update reports set last_seen = ? where id = ?", [last_seen, existing["id"]])
        return SaveResult(report_id=existing["id"])
    report["last_seen"] = last_seen
    if changed:
        _keep_version(db, existing)
        report["version"] = (existing["version"] or 1) + 1
    else:
        report["version"] = existing["version"] or 1
        # Unchanged content: keep pointing at the full capture, not at a revisit record.
        for key in ("warc_filename", "warc_record_offset", "payload_digest", "fetched_at"):
            report[key] = existing[key]
    db["reports"].update(existing["id"], report, alter=True)
    _replace_cells(db, existing["id"], rows)
    return SaveResult(report_id=existing["id"], changed=changed)


def _add_alias(db: sqlite_utils.Database, url: str, report_id: int) -> None:
    if not db["report_aliases"].count_where("url = ?", [url]):
        db["report_aliases"].insert({"url": url, "report_id": report_id, "first_seen": now_iso()})


def _has_cells(db: sqlite_utils.Database, report_id: int) -> bool:
    return bool(db["report_cells"].count_where("report_id = ?", [report_id]))


def _find_report(db: sqlite_utils.Database, url: str, key: str) -> dict[str, Any] | None:
    for row in db.query("select * from reports where url = ?", [url]):
        return row
    for row in db.query(
        "select r.* from report_aliases a join reports r on r.id = a.report_id where a.url = ?",
        [url],
    ):
        return row
    if key:
        for row in db.query("select * from reports where content_key = ? order by id", [key]):
            return row
    return None


def _keep_version(db: sqlite_utils.Database, existing: dict[str, Any]) -> None:
    """Copy the stored version of a report (its cells and checks) into report_versions."""
    cells = list(
        db.query(
            "select section, row_key, col_key, value, raw from report_cells where report_id = ?",
            [existing["id"]],
        )
    )
    checks = list(
        db.query(
            'select "check", ok, detail from report_checks where report_id = ?', [existing["id"]]
        )
    )
    db["report_versions"].insert(
        {
            "report_id": existing["id"],
            "version": existing["version"] or 1,
            "url": existing["url"],
            "payload_digest": existing["payload_digest"],
            "content_key": existing["content_key"],
            "fetched_at": existing["fetched_at"],
            "warc_filename": existing["warc_filename"],
            "warc_record_offset": existing["warc_record_offset"],
            "consistent": existing["consistent"],
            "cells": json.dumps(cells, ensure_ascii=False),
            "checks": json.dumps(checks, ensure_ascii=False),
        }
    )


def _save_history(
    db: sqlite_utils.Database, existing: dict[str, Any], report: dict[str, Any], rows: Rows
) -> SaveResult:
    """An earlier version of a stored report, met again in an archive replayed.

    A version already in the history (same content or same payload) takes the parser's latest
    cells, so a parser improvement reaches old versions too; one the database never saw (a
    worker's archive merged in) joins the history in date order.
    """
    version = {
        "report_id": existing["id"],
        "url": report["url"],
        "payload_digest": report.get("payload_digest"),
        "content_key": report["content_key"],
        "fetched_at": report.get("fetched_at"),
        "warc_filename": report.get("warc_filename"),
        "warc_record_offset": report.get("warc_record_offset"),
        "consistent": report.get("consistent"),
        "cells": json.dumps([_as_stored(c) for c in rows.cells], ensure_ascii=False),
        "checks": json.dumps(rows.checks, ensure_ascii=False),
    }
    known = _known_version(db, existing["id"], report)
    if known is not None:
        keep = ("cells", "checks", "consistent", "content_key")
        db["report_versions"].update(known, {k: version[k] for k in keep})
        return SaveResult(report_id=existing["id"])
    db["report_versions"].insert({**version, "version": 0})
    dated = db.query(
        "select rowid from report_versions where report_id = ? order by fetched_at, version",
        [existing["id"]],
    )
    for number, row in enumerate(list(dated), start=1):
        db.execute("update report_versions set version = ? where rowid = ?", [number, row["rowid"]])
    db.execute("update reports set version = version + 1 where id = ?", [existing["id"]])
    return SaveResult(report_id=existing["id"])


def _as_stored(cell: dict[str, Any]) -> dict[str, Any]:
    """A cell as `report_cells` gives it back (values are REAL), so history reads the same
    whether a version was kept from the table or from a replayed capture."""
    value = cell["value"]
    return {**cell, "value": None if value is None else float(value)}


def _known_version(db: sqlite_utils.Database, report_id: int, report: dict[str, Any]) -> int | None:
    """The rowid of the history entry holding this content (or this very payload), if any."""
    for row in db.query(
        "select rowid from report_versions where report_id = ? "
        "and (content_key = ? or payload_digest = ?) order by version limit 1",
        [report_id, report["content_key"], report.get("payload_digest")],
    ):
        return row["rowid"]
    return None


def _replace_cells(db: sqlite_utils.Database, report_id: int, rows: Rows) -> None:
    db["report_cells"].delete_where("report_id = ?", [report_id])
    db["report_checks"].delete_where("report_id = ?", [report_id])
    if rows.cells:
        db["report_cells"].insert_all({**c, "report_id": report_id} for c in rows.cells)
    if rows.checks:
        db["report_checks"].insert_all({**c, "report_id": report_id} for c in rows.checks)


def held_files(db: sqlite_utils.Database, parser: str) -> set[tuple[str, int]]:
    """(name, size) of the WARC files whose every record this database holds, parsed by
    `parser` (a replay of them would change nothing)."""
    rows = db.query("select name, size from replayed_files where parser = ?", [parser])
    return {(row["name"], row["size"]) for row in rows}


def mark_replayed(db: sqlite_utils.Database, files: set[tuple[str, int]], parser: str) -> None:
    """Note WARC files replayed whole into this database (a file rewritten later, as a repair
    does, has another size and is replayed again)."""
    when = now_iso()
    rows = [{"name": n, "size": z, "parser": parser, "replayed_at": when} for n, z in files]
    db["replayed_files"].upsert_all(rows, pk="name")


def search(db: sqlite_utils.Database, phrase: str, limit: int = 20) -> list[dict[str, Any]]:
    """Reports whose title or text contains `phrase`.

    The trigram index answers phrases of three or more characters; shorter ones fall back to LIKE.
    """
    if len(phrase) >= 3:
        sql = (
            "select reports.id, reports.url, reports.title from reports "
            "join reports_fts on reports_fts.rowid = reports.id "
            "where reports_fts match ? order by reports.id limit ?"
        )
        return list(db.query(sql, [db.quote_fts(phrase), limit]))
    like = f"%{phrase}%"
    sql = "select id, url, title from reports where title like ? or text like ? limit ?"
    return list(db.query(sql, [like, like, limit]))
