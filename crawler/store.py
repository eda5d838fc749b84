"""The SQLite store (sqlite-utils): tables of interface.md, upserts that never duplicate.

Everything that writes rows goes through here, from the crawl pipeline, from replay and from
`nianbao parse --db`. Storing a report again under the same URL replaces its cells and checks; an
edited report keeps its earlier version in `report_versions` (history is never lost).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field, replace
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
    "crawl_id": int,  # the `crawls` row of the run that fetched it (a killed run's: re-checked)
    "method": str,  # null for GET; POST for a form's answer (a Hanweb dataproxy, a pager's)
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
    # Not a row: what the costly conversion gave, for the archive to keep beside the capture.
    conversion: Any = None


@dataclass
class SaveResult:
    """How a save changed the database: the CLI summary counts these."""

    report_id: int | None = None
    new: bool = False
    changed: bool = False
    duplicate_of: int | None = None
    folded: int | None = None  # a report (an article without tables) that joined this one


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
    if "article_url" not in db["reports"].columns_dict:
        db["reports"].add_column("article_url", str)  # databases made before it
    if "method" not in db["pages"].columns_dict:
        db["pages"].add_column("method", str)
    db["reports"].create_index(["article_url"], if_not_exists=True)
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
    # What each alias URL showed last (content_key, payload_digest, fetched_at): an edit is
    # told by a URL changing, never by two URLs of one report parsing differently.
    aliases = {"url": str, "report_id": int, "first_seen": str, "content_key": str}
    aliases |= {"payload_digest": str, "fetched_at": str}
    db["report_aliases"].create(aliases, pk="url", if_not_exists=True)
    for column in [c for c in aliases if c not in db["report_aliases"].columns_dict]:
        db["report_aliases"].add_column(column, str)  # databases made before them
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
            "recovered": str,  # a killed run: when the next run replayed what it archived
        },
        pk="id",
        if_not_exists=True,
    )
    for table, column, kind in (("pages", "crawl_id", int), ("crawls", "recovered", str)):
        if column not in db[table].columns_dict:  # databases made before them
            db[table].add_column(column, kind)
    db["replayed_files"].create(
        {"name": str, "size": int, "parser": str, "replayed_at": str}, pk="name", if_not_exists=True
    )
    if "reports_fts" not in db.table_names():
        # unicode61 splits nothing in Chinese text; trigram finds any 3+ character phrase.
        db["reports"].enable_fts(["title", "text"], tokenize="trigram", create_triggers=True)


def content_key(report: dict[str, Any], cells: list[dict[str, Any]]) -> str:
    """What a report says, to tell an edit (a new version) and to find candidates for the same
    document under another URL (`_same_document` decides which ones really are).

    Tables are what users come for: the same body, year and cells mean the same content. Without
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
    leaves empty keeps the values of the full capture it refers to. A form's answer (a POST:
    a JSP pager's `goPage(2)` posts back to the list's own URL) never takes the place of the
    URL's own page: that one is what a nightly crawl asks for conditionally, and follows
    again after a 304.
    """
    if page.get("record_type") == "revisit":
        page = {k: v for k, v in page.items() if v is not None}
    upsert_latest(db, "pages", page)


def upsert_latest(db: sqlite_utils.Database, table: str, row: dict[str, Any]) -> None:
    """Upsert a row keyed by `url`, unless the row stored was fetched later: an older capture
    met again (a file replayed again after a later one, workers' archives merged) must not roll
    it back. It still fills what a stored revisit left empty: a 304 replayed before its original
    has no content type, and would keep none for good. A column the table lacks is added, as
    sqlite-utils' `alter=True` would."""
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
    insert = f"insert into {table} ({names}) values ({marks}) on conflict(url) do update set "
    if "fetched_at" not in columns:
        return insert + ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c != "url")
    # A POST's answer replaces only another POST's (see save_page).
    only = f" where excluded.method is null or {table}.method is not null"
    only = only if "method" in columns else ""
    newer = f"excluded.fetched_at >= coalesce({table}.fetched_at, '')"
    newer += " or excluded.fetched_at is null"
    # Only a revisit's empty columns are filled from an older capture: they mean "as the
    # original", while a whole capture's mean "not sent".
    fill = f"{table}.record_type = 'revisit'" if "record_type" in columns else "0"
    updates = ", ".join(
        f'"{c}" = case when {newer} then excluded."{c}" when {fill} '
        f'then coalesce({table}."{c}", excluded."{c}") else {table}."{c}" end'
        for c in columns
        if c != "url"
    )
    return insert + updates + only


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
    """Store a report seen at the URL holding it, at another URL of it, or at a URL never seen."""
    report = dict(rows.report or {})
    report["content_key"] = content_key(report, rows.cells)
    report["rows_digest"] = rows_digest(report, rows)
    report["updated_at"] = now_iso()
    for existing in db.query("select * from reports where url = ?", [report["url"]]):
        return _save_seen(db, existing, report, rows)
    for alias in db.query("select * from report_aliases where url = ?", [report["url"]]):
        return _save_at_alias(db, alias, report, rows)
    return _save_unseen(db, report, rows)


def _save_unseen(db: sqlite_utils.Database, report: dict[str, Any], rows: Rows) -> SaveResult:
    """A URL new to the database: the article/attachment link decides first, whichever of the
    two is saved first (a replay of merged archives may meet the attachment before its article);
    then a report elsewhere that is this very document; else it is a new report."""
    article = report.get("article_url")
    if article:
        host = _report_at(db, article)
        if host is not None and not _has_cells(db, host["id"]):
            same = _same_document(db, report, rows) if rows.cells else None
            if same is not None and same["id"] != host["id"] and _foldable(db, host):
                return _fold_into(db, host, same, report, rows)  # found elsewhere before
            return _take_over(db, host, report, rows)  # the attachment holds the report
        if host is not None:
            return _alias_of(db, host, report)  # a copy of the tables its article gave
    else:
        for attached in db.query("select * from reports where article_url = ?", [report["url"]]):
            if rows.cells:
                return _take_over(db, attached, report, rows)  # as if the article came first
            return _alias_of(db, attached, report)
        joined = None if rows.cells else _joined_by_attachment(db, report["url"])
        if joined is not None:
            return _alias_of(db, joined, report)  # its file is a report found elsewhere
    same = _same_document(db, report, rows)
    if same is not None:
        _sighting(db, same, report, rows)
        return _alias_of(db, same, report)
    report["version"] = 1
    report["last_seen"] = report.get("fetched_at")
    report.pop("id", None)
    report_id = db["reports"].insert(report, alter=True).last_pk
    _replace_cells(db, report_id, rows)
    return SaveResult(report_id=report_id, new=True)


def _same_document(
    db: sqlite_utils.Database, report: dict[str, Any], rows: Rows
) -> dict[str, Any] | None:
    """The report stored under another URL that is this very document, judged by content alone.

    Tables that say whose they are name the report: the same organization, year, format and
    cells are one report wherever found (a page under two URLs, the PDF and the DOCX of it).
    Tables of no known organization could be anyone's (two small offices' all-zero tables are
    alike), so the text must be the same too. A page without tables often says nothing of its
    own ("附件：2020年政府信息公开工作年度报告.pdf" under the generic title): only the same
    payload on the same site is the same page.

    What a report showed before (a version in its history, what an alias URL showed) counts as
    much as what it shows now: a replay may meet an old copy at an unedited URL after the edit.
    """
    query = "select * from reports where content_key = ? order by id"
    for row in db.query(query, [report["content_key"]]):
        if _same_as(row, report, rows):
            return row
    for seen in db.query(SHOWN_BEFORE, [report["content_key"]] * 2):
        (row,) = db.query("select * from reports where id = ?", [seen["report_id"]])
        if _same_as({**row, "payload_digest": seen["payload_digest"]}, report, rows, text=False):
            return row
    return None


# What reports showed before: their earlier versions, and what their other URLs showed.
SHOWN_BEFORE = (
    "select report_id, payload_digest from report_versions where content_key = ? union all "
    "select report_id, payload_digest from report_aliases where content_key = ? order by 1"
)


def _same_as(row: dict[str, Any], report: dict[str, Any], rows: Rows, text: bool = True) -> bool:
    """Whether a stored report of the same content key is this document (see `_same_document`);
    `text=False` when `row`'s text is not what showed that content."""
    if rows.cells:
        return bool(report.get("organization")) or (text and _words(row) == _words(report))
    return bool(report.get("payload_digest")) and _same_page(row, report)


def _same_page(row: dict[str, Any], report: dict[str, Any]) -> bool:
    return (row["site"], row["payload_digest"]) == (report.get("site"), report["payload_digest"])


def _words(report: dict[str, Any]) -> str:
    return "".join((report.get("text") or "").split())


def _take_over(
    db: sqlite_utils.Database, holder: dict[str, Any], report: dict[str, Any], rows: Rows
) -> SaveResult:
    """`report` holds the stored report `holder` from now on: an attachment completing its
    article without tables, or an article met after its attachment. The same report, not an edit
    of it: no version is added, and the URL that held it becomes an alias."""
    _add_alias(db, holder["url"], holder["id"], holder)
    report.setdefault("article_url", None)
    report["version"] = holder["version"] or 1
    report["last_seen"] = report.get("fetched_at")
    db["reports"].update(holder["id"], report, alter=True)
    _replace_cells(db, holder["id"], rows)
    return SaveResult(report_id=holder["id"])


def _joined_by_attachment(db: sqlite_utils.Database, article_url: str) -> dict[str, Any] | None:
    """The report an article's attachment, met before the article, joined as a copy of a
    report stored under another URL (the same report on another portal)."""
    query = (
        "select r.* from attachments t join report_aliases a on a.url = t.url "
        "join reports r on r.id = a.report_id where t.report_url = ? order by r.id"
    )
    return next(iter(db.query(query, [article_url])), None)


def _foldable(db: sqlite_utils.Database, host: dict[str, Any]) -> bool:
    """An article saved without tables and with no history: nothing of its own to lose."""
    return not db["report_versions"].count_where("report_id = ?", [host["id"]])


def _fold_into(
    db: sqlite_utils.Database,
    host: dict[str, Any],
    same: dict[str, Any],
    report: dict[str, Any],
    rows: Rows,
) -> SaveResult:
    """An attachment completing its article (saved without tables) is a report already stored
    under another URL (the same organization's report on another portal): the article and
    its URLs join that report, as they would had the attachment been met first. Whichever
    portal is crawled first, the dataset is the same."""
    _add_alias(db, host["url"], same["id"], host)
    db.execute(
        "update report_aliases set report_id = ? where report_id = ?", [same["id"], host["id"]]
    )
    db["report_checks"].delete_where("report_id = ?", [host["id"]])
    db["reports"].delete(host["id"])
    _sighting(db, same, report, rows)
    return replace(_alias_of(db, same, report), folded=host["id"])


def _alias_of(
    db: sqlite_utils.Database, holder: dict[str, Any], report: dict[str, Any]
) -> SaveResult:
    _add_alias(db, report["url"], holder["id"], report)
    return SaveResult(report_id=holder["id"], duplicate_of=holder["id"])


def _save_at_alias(
    db: sqlite_utils.Database, alias: dict[str, Any], report: dict[str, Any], rows: Rows
) -> SaveResult:
    """A report seen at another URL of it (a second URL of the page, an attachment copy).

    Each URL is compared with what it showed itself last time, never with the URL holding the
    report: an article and its attachment copy (HTML and PDF parse a little differently), or a
    URL left unedited beside an edited one, would otherwise pass for edits of each other night
    after night. So only a URL whose own tables changed, to tables the report does not have, holds
    an edit: the report keeps its earlier version, takes these cells, and this URL holds it from
    now on (the former holder becomes an alias). A page without tables never replaces tables.
    """
    (existing,) = db.query("select * from reports where id = ?", [alias["report_id"]])
    if not _edited(alias, existing, report, rows):
        _remember(db, report)
        _sighting(db, existing, report, rows)
        return SaveResult(report_id=existing["id"], duplicate_of=existing["id"])
    if _older(report, existing):
        _remember(db, report)
        return _save_history(db, existing, report, rows)
    _add_alias(db, existing["url"], existing["id"], _last_shown(existing))
    db["report_aliases"].delete(report["url"])
    return _save_seen(db, existing, report, rows)


def _edited(
    alias: dict[str, Any], existing: dict[str, Any], report: dict[str, Any], rows: Rows
) -> bool:
    """Whether a capture at an alias is an edit of the report (see `_save_at_alias`)."""
    key, digest = report["content_key"], report.get("payload_digest")
    return bool(
        rows.cells
        and alias["content_key"] is not None  # an alias from before aliases remembered
        and key not in (alias["content_key"], existing["content_key"])
        and (digest is None or digest not in (alias["payload_digest"], existing["payload_digest"]))
        and (report.get("fetched_at") or "") >= (alias["fetched_at"] or "")
    )


def _remember(db: sqlite_utils.Database, report: dict[str, Any]) -> None:
    """Note what an alias URL showed, unless it showed something later already."""
    db.execute(
        "update report_aliases set content_key = ?, payload_digest = ?, fetched_at = ? "
        "where url = ? and coalesce(fetched_at, '') <= coalesce(?, '')",
        [
            report["content_key"],
            report.get("payload_digest"),
            report.get("fetched_at"),
            report["url"],
            report.get("fetched_at"),
        ],
    )


def _save_seen(
    db: sqlite_utils.Database, existing: dict[str, Any], report: dict[str, Any], rows: Rows
) -> SaveResult:
    """A report seen again at the URL holding it: unchanged, edited, re-parsed, or older.

    An edit is a change of the tables (or of the text of a report without tables): it adds a
    version. The narrative text alone changing (same cells) is updated in place, without a
    version: pages carry counters and dates that would add one every night.
    """
    # The very payload stored, parsed again (a parser change replayed): whatever differs is the
    # parser's doing, never a new version of the report.
    digest = report.get("payload_digest")
    reparsed = digest is not None and digest == existing["payload_digest"]
    changed = existing["content_key"] != report["content_key"] and not reparsed
    older = _older(report, existing)
    if older and _place(db, existing, report, rows):
        # A capture from before the current version (an archive replayed into the database that
        # already holds it, an older file merged late): history, never a new version. Even the
        # current content, when another version came between (an edit reverted).
        return SaveResult(report_id=existing["id"])
    if changed and (report.get("fetched_at") or "") < (existing["last_seen"] or ""):
        return _save_between(db, existing, report, rows)
    last_seen = max(existing.get("last_seen") or "", report.get("fetched_at") or "") or None
    same = existing.get("rows_digest") == report["rows_digest"]
    if not changed and (same or older):
        # Seen again, parsed the same (the common case of a nightly run), or an older capture of
        # the same tables: the text stored comes from the later one. Only note when; an earlier
        # capture parsed the same is where the crawl met this version first.
        first = {k: report.get(k) for k in POINTER} if same and older else {}
        db["reports"].update(existing["id"], {"last_seen": last_seen} | first)
        return SaveResult(report_id=existing["id"])
    report["last_seen"] = last_seen
    if changed:
        _keep_version(db, existing)
        report["version"] = (existing["version"] or 1) + 1
    else:
        report["version"] = existing["version"] or 1
    if reparsed:
        # The payload stored, maybe from a revisit record: point at its full capture still. A new
        # payload (the text edited) is pointed at itself, so the text and its capture agree.
        for key in POINTER:
            report[key] = existing[key]
    db["reports"].update(existing["id"], report, alter=True)
    _replace_cells(db, existing["id"], rows)
    return SaveResult(report_id=existing["id"], changed=changed)


def _save_between(
    db: sqlite_utils.Database, existing: dict[str, Any], report: dict[str, Any], rows: Rows
) -> SaveResult:
    """An edit captured after the current version was first seen but before it was last seen
    (a night merged after the next one, which showed the edit reverted): a version between two
    spans of the current content. The later span starts at its last capture known: the one the
    URL's `pages` row tells, when it is that capture."""
    _keep_version(db, existing)
    _insert_version(db, existing["id"], _version_row(existing["id"], report, rows))
    restart = {"fetched_at": existing["last_seen"]}
    for page in db.query(
        "select * from pages where url = ? and fetched_at = ?",
        [existing["url"], existing["last_seen"]],
    ):
        restart |= {k: page[k] for k in POINTER if page[k] is not None}
    db.execute("update reports set version = version + 1 where id = ?", [existing["id"]])
    db["reports"].update(existing["id"], restart)
    return SaveResult(report_id=existing["id"])


# Where the stored version of a report was captured.
POINTER = ("warc_filename", "warc_record_offset", "payload_digest", "fetched_at")


def _last_shown(holder: dict[str, Any]) -> dict[str, Any]:
    """A report's URL becoming an alias: it showed the report last when it was last seen."""
    return holder | {"fetched_at": holder["last_seen"] or holder["fetched_at"]}


def _add_alias(db: sqlite_utils.Database, url: str, report_id: int, seen: dict[str, Any]) -> None:
    """Another URL of a report, with what it showed (`seen`: its report row or capture)."""
    row = {"url": url, "report_id": report_id, "first_seen": now_iso()}
    row |= {k: seen.get(k) for k in ("content_key", "payload_digest", "fetched_at")}
    db["report_aliases"].insert(row, ignore=True)


def _has_cells(db: sqlite_utils.Database, report_id: int) -> bool:
    return bool(db["report_cells"].count_where("report_id = ?", [report_id]))


def _report_at(db: sqlite_utils.Database, url: str) -> dict[str, Any] | None:
    """The report held at `url` or at an alias `url`."""
    for row in db.query("select * from reports where url = ?", [url]):
        return row
    for row in db.query(
        "select r.* from report_aliases a join reports r on r.id = a.report_id where a.url = ?",
        [url],
    ):
        return row
    return None


def _keep_version(db: sqlite_utils.Database, existing: dict[str, Any]) -> None:
    """Copy the stored version of a report (its cells and checks) into report_versions."""
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
            "cells": json.dumps(_stored_cells(db, existing["id"]), ensure_ascii=False),
            "checks": json.dumps(_stored_checks(db, existing["id"]), ensure_ascii=False),
        }
    )


def _save_history(
    db: sqlite_utils.Database, existing: dict[str, Any], report: dict[str, Any], rows: Rows
) -> SaveResult:
    """An earlier version of a stored report, met again in an archive replayed."""
    _place(db, existing, report, rows)
    return SaveResult(report_id=existing["id"])


def _older(report: dict[str, Any], holder: dict[str, Any]) -> bool:
    """Whether a capture comes from before the report's current version."""
    return (report.get("fetched_at") or "") < (holder["fetched_at"] or "")


def _sighting(
    db: sqlite_utils.Database, holder: dict[str, Any], report: dict[str, Any], rows: Rows
) -> None:
    """A capture at another URL of a report, from before its current version, that shows one of
    its versions: it dates that version as the holder's own capture would. Other captures
    there (an attachment copy parsing a little differently) say nothing of its history."""
    if not _older(report, holder):
        return
    if _shows(holder, report) or any(_shows(v, report) for v in _history(db, holder["id"])):
        _place(db, holder, report, rows)


def _place(
    db: sqlite_utils.Database, holder: dict[str, Any], report: dict[str, Any], rows: Rows
) -> bool:
    """Put a capture from before the current version where its date puts it in the history.

    A report's history is the sequence of its distinct contents by capture date, each dated by
    its first capture; the current version is the latest. So whatever order the captures come
    in, one within a version's span re-reads it (a parser improvement reaches old versions too);
    one just before the next version is its earlier capture; anything else is a version the
    database never saw (a worker's archive merged in, the edit an edit reverted hid). False
    when it is an earlier capture of the current version: no history to change.
    """
    when = report.get("fetched_at") or ""
    history = _history(db, holder["id"])
    before = [v for v in history if (v["fetched_at"] or "") <= when]
    after = [v for v in history if (v["fetched_at"] or "") > when]
    version = _version_row(holder["id"], report, rows)
    if before and _shows(before[-1], report):
        keep = ("cells", "checks", "consistent", "content_key")
        db["report_versions"].update(before[-1]["rowid"], {k: version[k] for k in keep})
        return True
    if after and _shows(after[0], report):
        db["report_versions"].update(after[0]["rowid"], version)  # it starts earlier
    elif not after and _shows(holder, report):
        return False
    else:
        _insert_version(db, holder["id"], version)
    _absorb(db, holder, report, rows)
    return True


def _shows(seen: dict[str, Any], report: dict[str, Any]) -> bool:
    """Whether a capture shows the content of a version (or its very payload)."""
    digest = report.get("payload_digest")
    return seen["content_key"] == report["content_key"] or (
        digest is not None and seen["payload_digest"] == digest
    )


def _history(db: sqlite_utils.Database, report_id: int) -> list[dict[str, Any]]:
    query = "select rowid, * from report_versions where report_id = ? order by fetched_at, version"
    return list(db.query(query, [report_id]))


def _version_row(report_id: int, report: dict[str, Any], rows: Rows) -> dict[str, Any]:
    return {
        "report_id": report_id,
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


def _insert_version(db: sqlite_utils.Database, report_id: int, version: dict[str, Any]) -> None:
    """Add a version to a report's history and number the history by date again."""
    db["report_versions"].insert({**version, "version": 0})
    for number, row in enumerate(_history(db, report_id), start=1):
        db.execute("update report_versions set version = ? where rowid = ?", [number, row["rowid"]])
    db.execute("update reports set version = version + 1 where id = ?", [report_id])


def _absorb(
    db: sqlite_utils.Database, holder: dict[str, Any], report: dict[str, Any], rows: Rows
) -> None:
    """Fold into `holder` the reports made of what turns out to be one of its versions.

    A replay that meets an old copy at an unedited URL before the capture telling it was this
    report's earlier version makes it a report of its own; once the history holds that
    content, it is what the crawl made of it: an alias URL, dating that version. Only a report
    with no history of its own, and no later than the holder, is folded.
    """
    query = "select * from reports where content_key = ? and id != ? and fetched_at <= ?"
    args = [report["content_key"], holder["id"], holder["fetched_at"] or ""]
    for other in list(db.query(query, args)):
        if _history(db, other["id"]) or not _same_as(other, report, rows):
            continue
        copy = Rows(page={}, cells=_stored_cells(db, other["id"]))
        copy.checks = _stored_checks(db, other["id"])
        db["report_cells"].delete_where("report_id = ?", [other["id"]])
        db["report_checks"].delete_where("report_id = ?", [other["id"]])
        db["reports"].delete(other["id"])
        db.execute(
            "update report_aliases set report_id = ? where report_id = ?",
            [holder["id"], other["id"]],
        )
        _add_alias(db, other["url"], holder["id"], _last_shown(other))
        _place(db, holder, other, copy)


def _stored_cells(db: sqlite_utils.Database, report_id: int) -> list[dict[str, Any]]:
    query = "select section, row_key, col_key, value, raw from report_cells where report_id = ?"
    return list(db.query(query, [report_id]))


def _stored_checks(db: sqlite_utils.Database, report_id: int) -> list[dict[str, Any]]:
    return list(
        db.query('select "check", ok, detail from report_checks where report_id = ?', [report_id])
    )


def _as_stored(cell: dict[str, Any]) -> dict[str, Any]:
    """A cell as `report_cells` gives it back (values are REAL), so history reads the same
    whether a version was kept from the table or from a replayed capture."""
    value = cell["value"]
    return {**cell, "value": None if value is None else float(value)}


CELL_COLUMNS = ("section", "row_key", "col_key", "value", "raw")
CHECK_COLUMNS = ("check", "ok", "detail")


def _replace_cells(db: sqlite_utils.Database, report_id: int, rows: Rows) -> None:
    """A report's cells and checks, replaced. One `executemany` per table: `insert_all` built
    each batch's SQL again and cost half the time a replay spent saving a report."""
    for table, columns, items in (
        ("report_cells", CELL_COLUMNS, rows.cells),
        ("report_checks", CHECK_COLUMNS, rows.checks),
    ):
        db.execute(f"delete from {table} where report_id = ?", [report_id])
        if items:
            names = ", ".join(f'"{c}"' for c in ("report_id", *columns))
            marks = ", ".join("?" * (len(columns) + 1))
            db.conn.executemany(
                f"insert into {table} ({names}) values ({marks})",
                [(report_id, *(item[c] for c in columns)) for item in items],
            )


def unparsed_since(db: sqlite_utils.Database, since: str) -> int:
    """Reports saved (new or changed) since `since` that hold no cells now: what a run found
    and could not read. An article saved without tables that its file completed later is not
    one, nor is a report seen again unchanged."""
    sql = (
        "select count(*) from reports r where r.updated_at >= ? "
        "and not exists (select 1 from report_cells c where c.report_id = r.id)"
    )
    return db.execute(sql, [since]).fetchone()[0]


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
