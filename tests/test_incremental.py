"""Nightly runs: a second and a third crawl over the same --data against a changing portal.

Night 1 crawls the sample portals. Before night 2 the portals publish one new report and
correct another (`next_night`); night 3 finds them unchanged. With no refresh period
(`--refresh-days 0`), known articles and attachments must be asked for conditionally, unchanged
ones archived as `revisit` records, the new report added, the edited one updated with its
earlier version kept, and nothing duplicated. With the nightly default (7 days), known reports,
articles and dead links are not asked for at all until their period is over, list pages are.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from warcio.archiveiterator import ArchiveIterator

from archive.reader import iter_captures
from crawler.incremental import Known, is_fresh, merge_history, period_of
from crawler.portal_server import LogEntry, SamplePortals
from crawler.report import parse_html
from crawler.sample_portals import ReportSpec, next_night
from tests.helpers import (
    FAST,
    ROOT,
    nianbao,
    pywb_serving,
    report_snapshot,
    same_value,
    stored_cells,
    truth_cells,
)

pytestmark = pytest.mark.slow


@dataclass
class Night:
    result: subprocess.CompletedProcess[str]
    log: list[LogEntry]  # the requests the portals received this night
    warcs: list[Path]  # the WARC files written this night
    run: dict[str, Any]  # its row in the crawls table

    def records(self) -> list[Any]:
        """(type, headers) of every record written this night."""
        out = []
        for path in self.warcs:
            with path.open("rb") as fh:
                for record in ArchiveIterator(fh):
                    out.append((record.rec_type, record.rec_headers, record.http_headers))
        return out


@dataclass
class Nights:
    portals: SamplePortals
    data: Path
    nights: list[Night]
    changes: dict[str, ReportSpec]

    @property
    def db(self) -> sqlite_utils.Database:
        return sqlite_utils.Database(self.data / "nianbao.db")


EVERY_NIGHT = ("--refresh-days", "0")  # every known page re-checked: the strictest night


def crawl_night(portals: SamplePortals, data: Path, *options: str) -> Night:
    before_log = len(portals.log)
    warc_dir = data / "warc"
    before = set(warc_dir.glob("*.warc.gz")) if warc_dir.exists() else set()
    result = nianbao("crawl", *portals.urls.values(), "--data", str(data), *FAST, *options)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    runs = list(sqlite_utils.Database(data / "nianbao.db").query("select * from crawls"))
    return Night(
        result,
        portals.log[before_log:],
        sorted(set(warc_dir.glob("*.warc.gz")) - before),
        runs[-1],
    )


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("nightly") / "data"
    with SamplePortals() as portals:
        first = crawl_night(portals, data)
        changes = next_night(portals.portals)
        second = crawl_night(portals, data, *EVERY_NIGHT)
        third = crawl_night(portals, data, *EVERY_NIGHT)
        yield Nights(portals, data, [first, second, third], changes)


def summary(night: Night) -> str:
    return next(line for line in night.result.stdout.splitlines() if line.startswith("nianbao"))


def test_second_night_adds_the_new_report_and_updates_the_edited_one(nights: Nights):
    line = summary(nights.nights[1])
    assert " new=1 " in line and " changed=1 " in line, line
    run = nights.nights[1].run
    assert (run["new_reports"], run["changed_reports"], run["exit_status"]) == (1, 1, 0)


def test_third_night_on_an_unchanged_portal_adds_nothing(nights: Nights):
    line = summary(nights.nights[2])
    assert " new=0 " in line and " changed=0 " in line, line


def test_every_report_once_with_its_current_cells(nights: Nights):
    db = nights.db
    expected = {r.path: r for r in nights.portals.portals.reports}
    assert db["reports"].count == len(expected)
    for path, spec in expected.items():
        url = nights.portals.url(spec.site, path)
        rows = list(db.query("select * from reports where url = ?", [url]))
        assert len(rows) == 1, url
        want = truth_cells(spec.tables)
        got = stored_cells(db, rows[0]["id"])
        assert set(got) == set(want), url
        for key, (value, _raw) in want.items():
            assert same_value(got[key][0], value), (url, key, got[key], value)


def test_the_edited_report_keeps_its_earlier_version(nights: Nights):
    db = nights.db
    edited = nights.changes["edited"]
    url = nights.portals.url("inhouse", edited.path)
    (report,) = db.query("select * from reports where url = ?", [url])
    assert report["version"] == 2
    versions = list(db.query("select * from report_versions where report_id = ?", [report["id"]]))
    assert [v["version"] for v in versions] == [1]
    assert versions[0]["payload_digest"] != report["payload_digest"]
    # The earlier version's cells are kept with it: exactly the corrected cell differs.
    old = {
        (c["section"], c["row_key"], c["col_key"]): c["value"]
        for c in json.loads(versions[0]["cells"])
    }
    new = {key: value for key, (value, _raw) in stored_cells(db, report["id"]).items()}
    assert set(old) == set(new)
    differ = {key: (old[key], new[key]) for key in old if not same_value(old[key], new[key])}
    assert len(differ) == 1, differ
    ((key, (before, after)),) = differ.items()
    assert key[0] == "active" and after == before + 1
    # No other report gained a version.
    others = db.execute(
        "select count(*) from report_versions where report_id != ?", [report["id"]]
    ).fetchone()[0]
    assert others == 0


def test_known_pages_are_asked_for_conditionally(nights: Nights):
    second = nights.nights[1]
    known = {nights.portals.url(r.site, r.path) for r in nights.portals.portals.reports}
    known -= {nights.portals.url("trs", nights.changes["new"].path)}
    by_path = {}
    for entry in second.log:
        by_path.setdefault((entry.site, entry.path), entry)
    for url in known:
        site = next(s for s, base in nights.portals.urls.items() if url.startswith(base))
        path = "/" + url.removeprefix(nights.portals.urls[site])
        entry = by_path.get((site, path))
        assert entry is not None, f"not re-checked: {url}"
        if nights.portals.portals.sites[site].pages[path].no_validators:
            assert "If-None-Match" not in entry.headers, url  # nothing to be conditional on
        elif site == "inhouse":
            assert "If-Modified-Since" in entry.headers, url
        else:
            assert "If-None-Match" in entry.headers, url
    new_path = nights.changes["new"].path
    (new_entry,) = [e for e in second.log if e.path == new_path]
    assert "If-None-Match" not in new_entry.headers and new_entry.status == 200


def test_unchanged_pages_become_revisit_records(nights: Nights):
    third = nights.nights[2]
    revisits = [(r, h) for kind, r, h in third.records() if kind == "revisit"]
    profiles = {}
    for record, _http in revisits:
        profile = record.get_header("WARC-Profile")
        assert record.get_header("WARC-Refers-To-Target-URI") == record.get_header(
            "WARC-Target-URI"
        )
        assert record.get_header("WARC-Refers-To-Date")
        assert record.get_header("WARC-Payload-Digest", "").startswith("sha1:")
        profiles.setdefault(profile.rsplit("/", 1)[-1], set()).add(
            record.get_header("WARC-Target-URI")
        )
    not_modified = profiles.get("server-not-modified", set())
    identical = profiles.get("identical-payload-digest", set())
    # Reports served with validators answer 304; the one without validators is re-sent whole.
    for spec in nights.portals.portals.reports:
        url = nights.portals.url(spec.site, spec.path)
        if nights.portals.portals.sites[spec.site].pages[spec.path].no_validators:
            assert url in identical, url
        else:
            assert url in not_modified or any(
                url == e["url"] for e in nights.portals.expected["reports"] if e["also_at_urls"]
            ), url
    # Unchanged list pages are asked for conditionally too: their 304s are revisits as well.
    assert nights.portals.url("trs", "/zwgk/zfxxgknb/index.html") in not_modified
    full = [r.get_header("WARC-Target-URI") for kind, r, _ in third.records() if kind == "response"]
    reports = {nights.portals.url(s.site, s.path) for s in nights.portals.portals.reports}
    assert not set(full) & reports, "an unchanged report was archived again in full"


@pytest.mark.skipif(
    not (ROOT / ".venv-pywb" / "bin" / "wayback").exists() and not shutil.which("wayback"),
    reason="pywb not installed (scripts/setup.sh makes .venv-pywb)",
)
def test_pywb_replays_a_page_seen_unchanged_as_the_page(nights: Nights):
    """Night 3's captures of unchanged pages are revisits, of both kinds; pywb, asked for the
    page at that night, answers the whole page (the payload the revisit refers to), not a
    blank 200 (`Content-Length: 0` in the revisit) or a bodiless 304."""
    import urllib.request

    db = nights.db
    html = {
        r["url"] for r in db.query("select url from pages where content_type like 'text/html%'")
    }
    picked: dict[str, tuple[str, str, str]] = {}  # profile -> (url, date, Content-Length)
    for kind, record, http in nights.nights[2].records():
        url = record.get_header("WARC-Target-URI")
        if kind == "revisit" and url in html:
            profile = record.get_header("WARC-Profile").rsplit("/", 1)[-1]
            length = http.get_header("Content-Length")
            picked.setdefault(profile, (url, record.get_header("WARC-Date"), length))
    assert set(picked) == {"server-not-modified", "identical-payload-digest"}, picked
    assert picked["identical-payload-digest"][2] != "0"  # the headers as received
    with pywb_serving(nights.data) as base:
        for profile, (url, date, _length) in picked.items():
            timestamp = "".join(c for c in date if c.isdigit())[:14]
            replayed = urllib.request.urlopen(f"{base}{timestamp}id_/{url}", timeout=30).read()
            (row,) = db.query("select * from pages where url = ?", [url])
            with (nights.data / "warc" / row["warc_filename"]).open("rb") as fh:
                fh.seek(row["warc_record_offset"])
                original = next(iter(ArchiveIterator(fh)))
                assert original.rec_type == "response"
                payload = original.content_stream().read()
            assert payload and replayed == payload, (profile, url, len(replayed))


def test_list_pages_answered_304_still_lead_to_every_report(nights: Nights):
    """Night 3: every list page with validators is a 304, and the spider, handed the stored
    copy, still re-checks every known report behind it (the server sends only headers)."""
    third = nights.nights[2]
    portals = nights.portals.portals
    lists = {
        ("trs", "/zwgk/zfxxgknb/index.html"),
        ("trs", "/zwgk/zfxxgknb/index_1.html"),
        ("hanweb", "/col/col120/index.html"),
        ("inhouse", "/xxgk/nb/list?page=2"),
    }
    answered = {(e.site, e.path): e for e in third.log}
    for key in lists:
        entry = answered[key]
        assert entry.status == 304, key
        assert "If-None-Match" in entry.headers or "If-Modified-Since" in entry.headers, key
    rechecked = {(e.site, e.path) for e in third.log}
    for spec in portals.reports:
        assert (spec.site, spec.path) in rechecked, spec.path
    # robots.txt is never conditional: a 304's empty body would read as "allow everything".
    robots = [e for e in third.log if e.path == "/robots.txt"]
    assert robots and all("If-None-Match" not in e.headers for e in robots)


def test_revisit_dates_point_at_the_original_capture(nights: Nights):
    """A revisit names the date of the last whole capture, never of another revisit."""
    whole = {}
    for night in nights.nights:
        for kind, record, _ in night.records():
            uri = record.get_header("WARC-Target-URI")
            if kind == "response":
                whole.setdefault(uri, []).append(record.get_header("WARC-Date"))
            elif kind == "revisit":
                assert record.get_header("WARC-Refers-To-Date") == whole[uri][-1], uri
    assert whole


def test_an_unchanged_night_costs_little(nights: Nights):
    """Downloads fall to list pages and 304s; the archive grows by revisit records only.

    The ≤ 5% archive-growth target depends on page sizes (these sample pages are small, and
    each fetch costs a request record and a revisit of about 1 KB together), so the target
    itself is measured by benchmarks/bench_replay.py; here: nothing whole is archived twice.
    """
    first, _, third = (n.run for n in nights.nights)
    assert third["requests"] > 0
    assert third["bytes_downloaded"] <= 0.10 * first["bytes_downloaded"], (first, third)
    assert third["revisits"] > 0
    whole_before = set()
    for night in nights.nights[:2]:
        for kind, record, http in night.records():
            if kind == "response" and http.get_statuscode() == "200":
                whole_before.add(record.get_header("WARC-Target-URI"))
    third_records = nights.nights[2].records()
    again = [
        record.get_header("WARC-Target-URI")
        for kind, record, http in third_records
        if kind == "response" and http.get_statuscode() == "200"
    ]
    # Only POST answers (Hanweb's dataproxy.jsp, its site search) are archived whole again:
    # their URL is not the whole request, so no revisit can be claimed for them.
    assert all("dataproxy.jsp" in url or "cateSearch.do" in url for url in again), again
    assert set(again) <= whole_before
    warc_third = sum(p.stat().st_size for p in nights.nights[2].warcs)
    assert warc_third / len(third_records) < 1024, warc_third / len(third_records)


def test_the_archive_stays_readable_after_three_nights(nights: Nights):
    files = sorted((nights.data / "warc").glob("*.warc.gz"))
    warcio = Path(sys.executable).parent / "warcio"
    result = subprocess.run(
        [str(warcio), "check", *map(str, files)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_replay_of_three_nights_gives_the_same_reports_and_history(nights: Nights, tmp_path: Path):
    replayed = tmp_path / "replayed"
    result = nianbao("replay", str(nights.data / "warc"), "--data", str(replayed))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "converted=" not in result.stdout  # revisits too: their originals' conversions
    db = sqlite_utils.Database(replayed / "nianbao.db")
    assert report_snapshot(db) == report_snapshot(nights.db)
    history = "select url, version, payload_digest, cells from report_versions order by url"
    assert list(db.query(history)) == list(nights.db.query(history))
    assert db["report_versions"].count == 1


def reports_and_history(db: sqlite_utils.Database) -> tuple:
    reports = "select url, version, fetched_at, last_seen, payload_digest from reports order by url"
    history = "select url, version, payload_digest, fetched_at, cells from report_versions"
    return report_snapshot(db), list(db.query(reports)), list(db.query(history + " order by 1, 2"))


def test_replaying_into_a_database_that_holds_the_archive_changes_nothing(
    nights: Nights, tmp_path: Path
):
    """Twice into one database, and into the crawl's own: no version added, nothing moved."""
    replayed = tmp_path / "replayed"
    warc = str(nights.data / "warc")
    for _ in range(2):
        result = nianbao("replay", warc, "--data", str(replayed))
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    twice = reports_and_history(sqlite_utils.Database(replayed / "nianbao.db"))
    assert twice[2] == reports_and_history(nights.db)[2]
    own = tmp_path / "own"
    shutil.copytree(nights.data, own, ignore=shutil.ignore_patterns("*.lock"))
    before = reports_and_history(sqlite_utils.Database(own / "nianbao.db"))
    result = nianbao("replay", warc, "--data", str(own))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    after = reports_and_history(sqlite_utils.Database(own / "nianbao.db"))
    assert after == before
    assert len(after[2]) == 1 and max(r["version"] for r in after[1]) == 2


def test_a_parser_change_replayed_adds_no_version(
    nights: Nights, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A better parser replayed into the database: every report and every kept version takes
    its reading, and no capture parsed again counts as an edit (same versions as a rebuild)."""
    import crawler.attachments
    import crawler.process
    import crawler.replay

    warc = str(nights.data / "warc")
    merged = tmp_path / "merged"
    result = nianbao("replay", warc, "--data", str(merged))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]

    def better(html: str, url: str | None = None) -> Any:
        report = parse_html(html, url)
        report.organization = f"{report.organization}（新）"
        return report

    monkeypatch.setattr(crawler.process, "parse_html", better)
    monkeypatch.setattr(crawler.attachments, "parse_html", better)
    monkeypatch.setattr(crawler.replay, "parser_fingerprint", lambda: "a-better-parser")
    crawler.process.analyse_html.cache_clear()
    crawler.process.analyse_attachment.cache_clear()
    try:
        files = sorted((nights.data / "warc").glob("*.warc.gz"))
        crawler.replay.replay_into(files, merged / "nianbao.db", jobs=1)
        rebuilt = tmp_path / "rebuilt"
        rebuilt.mkdir()
        crawler.replay.replay_into(files, rebuilt / "nianbao.db", jobs=1)
    finally:
        crawler.process.analyse_html.cache_clear()
        crawler.process.analyse_attachment.cache_clear()
    db = sqlite_utils.Database(merged / "nianbao.db")
    assert reports_and_history(db) == reports_and_history(
        sqlite_utils.Database(rebuilt / "nianbao.db")
    )
    assert db["report_versions"].count == 1
    assert max(r["version"] for r in db.query("select version from reports")) == 2
    organizations = [r["organization"] for r in db.query("select organization from reports")]
    assert organizations and all(o.endswith("（新）") for o in organizations)
    (kept,) = db.query("select cells from report_versions")
    assert kept["cells"] == next(nights.db.query("select cells from report_versions"))["cells"], (
        "the kept version's cells are unchanged by an organization-only change"
    )


def test_a_revisit_whose_original_is_missing_is_not_read_as_another_version(
    nights: Nights, tmp_path: Path
):
    """Nights 1 and 3 without night 2: a night-3 revisit of a page that changed on night 2
    refers to night 2's payload. It stays unresolved (its file parsed again by a later replay
    with night 2), never read as night 1's version of the page."""
    import crawler.replay

    files = nights.nights[0].warcs + nights.nights[2].warcs
    originals = {
        (r.url, r.payload_digest) for r in iter_captures(files) if r.record_type != "revisit"
    }
    missing = [
        r
        for r in iter_captures(nights.nights[2].warcs)
        if r.record_type == "revisit"
        and (r.refers_to.get("uri") or r.url, r.refers_to.get("payload_digest") or r.payload_digest)
        not in originals
    ]
    changed_on_night_2 = {r.url for r in missing} - {
        r.url for r in iter_captures(nights.nights[0].warcs)
    }
    assert missing and len({r.url for r in missing}) > len(changed_on_night_2), "no edited page"
    data = tmp_path / "data"
    data.mkdir()
    stats = crawler.replay.replay_into(files, data / "nianbao.db", jobs=1)
    assert stats.get("nianbao/errors/revisit_unresolved") == len(missing)
    held = {r["name"] for r in sqlite_utils.Database(data / "nianbao.db")["replayed_files"].rows}
    assert held == {path.name for path in nights.nights[0].warcs}


def test_an_older_file_replayed_again_rolls_nothing_back(nights: Nights, tmp_path: Path):
    """Night 1's files parsed again (--reparse) into the database of all three nights: pages,
    attachments, reports and history keep their latest fetch."""
    data = tmp_path / "data"
    result = nianbao("replay", str(nights.data / "warc"), "--data", str(data))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    db = sqlite_utils.Database(data / "nianbao.db")
    pages = "select url, status, fetched_at, payload_digest, warc_filename from pages order by url"
    attachments = "select url, fetched_at, warc_filename from attachments order by url"
    before = (list(db.query(pages)), list(db.query(attachments)), reports_and_history(db))
    again = nianbao("replay", *map(str, nights.nights[0].warcs), "--data", str(data), "--reparse")
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    after = (list(db.query(pages)), list(db.query(attachments)), reports_and_history(db))
    assert before[0] and before[1]
    assert after == before


def test_replaying_night_by_night_into_one_database_parses_each_night_once(
    nights: Nights, tmp_path: Path
):
    """The nightly merge: after each night, the whole archive replayed into one database.
    Earlier nights' files are held (read, not parsed); the end is the crawl's own dataset."""
    merged = tmp_path / "merged"
    files: list[Path] = []
    for number, night in enumerate(nights.nights):
        result = nianbao("replay", *map(str, files + night.warcs), "--data", str(merged))
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
        held = f"{len(files)} WARC file(s)" in result.stdout
        assert held == bool(number), result.stdout
        new_pages = len([r for r in night.records() if r[0] in ("response", "revisit")])
        assert f"pages={new_pages} " in result.stdout, (new_pages, result.stdout)
        files += night.warcs
    db = sqlite_utils.Database(merged / "nianbao.db")
    assert reports_and_history(db) == reports_and_history(nights.db)


def test_a_file_replayed_without_the_originals_of_its_revisits_is_replayed_again(
    nights: Nights, tmp_path: Path
):
    """Night 3 alone is nearly all revisits whose originals are in earlier files: they cannot
    be resolved, so the file is not taken as held, and a replay of the whole archive later
    resolves them (the reports' last_seen is night 3's)."""
    data = tmp_path / "partial"
    alone = nianbao("replay", *map(str, nights.nights[2].warcs), "--data", str(data))
    assert "revisit_unresolved=" in alone.stdout, alone.stdout
    whole = nianbao("replay", str(nights.data / "warc"), "--data", str(data))
    assert whole.returncode == 0, whole.stdout + whole.stderr[-3000:]
    assert "already in this database" not in whole.stdout, whole.stdout
    db = sqlite_utils.Database(data / "nianbao.db")
    assert reports_and_history(db)[:2] == reports_and_history(nights.db)[:2]


def test_a_stopped_replay_goes_on_where_it_stopped(
    nights: Nights, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """SIGTERM in the middle of night 2's file: night 1's file stays noted as held, the next
    replay parses only the rest, and the end state is the crawl's, history included."""
    from crawler import replay as replay_module
    from crawler.run import DataPaths

    files = [path for night in nights.nights for path in night.warcs]
    in_first = sum(1 for _ in iter_captures(nights.nights[0].warcs))
    total = sum(1 for _ in iter_captures(files))
    reader = replay_module.iter_captures

    def stopped_in_the_second_file(paths: Any, errors: Any, ended: Any):
        for number, record in enumerate(reader(paths, errors=errors, ended=ended)):
            if number == in_first + 6:  # two batches into the second file
                os.kill(os.getpid(), signal.SIGTERM)
            yield record

    monkeypatch.setattr(replay_module, "iter_captures", stopped_in_the_second_file)
    monkeypatch.setattr(replay_module, "BATCH", 3)  # commits inside the second file
    replayed = tmp_path / "replayed"
    stopped = replay_module.replay_paths(files, DataPaths(replayed), jobs=2)
    monkeypatch.undo()
    assert stopped.errors_by_kind() == {"interrupted": 1} and stopped.exit_status() == 1
    db = sqlite_utils.Database(replayed / "nianbao.db")
    assert [row["name"] for row in db["replayed_files"].rows] == [files[0].name]

    again = nianbao("replay", *map(str, files), "--data", str(replayed))
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    assert f"1 WARC file(s) ({in_first} records) already in this" in again.stdout
    assert f"pages={total - in_first} " in again.stdout
    assert reports_and_history(db) == reports_and_history(nights.db)
    assert {row["name"] for row in db["replayed_files"].rows} == {f.name for f in files}


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (read from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_a_replay_killed_with_sigkill_leaves_no_workers_and_no_lock(nights: Nights, tmp_path: Path):
    """`kill -9` of a replay whose worker processes are busy: they die with it, and the next
    replay gets the data folder at once (forked workers used to hold its lock, waiting forever)."""
    files = [str(path) for night in nights.nights for path in night.warcs]
    data = tmp_path / "data"
    script = f"""
import multiprocessing, time
from pathlib import Path
from crawler import replay
from crawler.run import DataPaths

reader = replay.iter_captures

def held_up(paths, errors, ended):
    for number, record in enumerate(reader(paths, errors=errors, ended=ended)):
        if multiprocessing.active_children():  # the workers have started
            print("busy", flush=True)
            time.sleep(120)
        yield record

replay.iter_captures = held_up
replay.BATCH = 3  # records read as they are submitted
replay.replay_paths([Path(f) for f in {files!r}], DataPaths(Path({str(data)!r})), jobs=2)
"""
    process = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "busy"
        workers = children_of(process.pid)
        assert workers, "the replay started no worker processes"
        process.kill()
        process.wait(timeout=10)
        for _ in range(100):
            if not any(Path(f"/proc/{pid}").exists() for pid in workers):
                break
            time.sleep(0.05)
        left = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
        assert not left, f"workers outlived the replay: {left}"
    finally:
        process.kill()
    again = nianbao("replay", *files, "--data", str(data))
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    assert (
        reports_and_history(sqlite_utils.Database(data / "nianbao.db"))[:2]
        == (reports_and_history(nights.db)[:2])
    )


def test_a_record_that_kills_its_worker_costs_that_record_only(
    nights: Nights, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A worker process dies parsing one report (out of memory, a crash in C): new workers
    take over, the records the dead one held are parsed again, the killer keeps its page row
    and is reported; its file is not noted as held, so the next replay parses it again."""
    from crawler import replay as replay_module
    from crawler.run import DataPaths

    files = [path for night in nights.nights for path in night.warcs]
    (killer,) = nights.db.query("select url from reports order by url limit 1")
    parse = replay_module.process_capture

    def dies_on_the_killer(capture: Any) -> Any:
        if capture.url == killer["url"] and capture.body:
            os._exit(9)  # in the worker process
        return parse(capture)

    monkeypatch.setattr(replay_module, "process_capture", dies_on_the_killer)
    replayed = tmp_path / "replayed"
    summary = replay_module.replay_paths(files, DataPaths(replayed), jobs=2)
    monkeypatch.undo()
    in_files = [r.filename for r in iter_captures(files) if r.url == killer["url"]]
    captures = len(in_files)  # one a night
    assert captures == len(nights.nights)
    assert summary.stats.get("nianbao/errors/process/worker_died") == captures, summary.stats
    db = sqlite_utils.Database(replayed / "nianbao.db")
    expected = {row["url"] for row in nights.db.query("select url from reports")}
    assert {row["url"] for row in db.query("select url from reports")} == expected - {killer["url"]}
    assert db["pages"].count_where("url = ?", [killer["url"]]) == 1
    held = {row["name"] for row in db["replayed_files"].rows}
    assert held == {path.name for path in files} - set(in_files)  # the rest are held

    again = nianbao("replay", *map(str, files), "--data", str(replayed))
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    assert reports_and_history(db) == reports_and_history(nights.db)


def test_reports_point_at_whole_responses(nights: Nights):
    """After revisits, every report and page still reads back its payload from the archive."""
    for table in ("reports", "pages"):
        rows = list(
            nights.db.query(
                f"select url, warc_filename, warc_record_offset from {table} "
                "where warc_filename is not null"
            )
        )
        assert rows
        for row in rows:
            with (nights.data / "warc" / row["warc_filename"]).open("rb") as fh:
                fh.seek(row["warc_record_offset"])
                record = next(iter(ArchiveIterator(fh)))
            assert record.rec_headers.get_header("WARC-Target-URI") == row["url"]
            assert record.rec_type == "response", (table, row)


def test_a_list_page_whose_stored_copy_is_gone_is_fetched_again(tmp_path: Path):
    """The WARC files moved away between nights: no stored copy could stand in for a 304 to a
    list page, so the list is asked for whole (once, without validators) and the crawl goes on;
    known reports are still asked for conditionally (a 304 needs no copy)."""
    data = tmp_path / "data"
    with SamplePortals() as portals:
        crawl_night(portals, data)
        for path in (data / "warc").glob("*.warc.gz"):
            path.rename(tmp_path / path.name)
        second = crawl_night(portals, data, *EVERY_NIGHT)
        third = crawl_night(portals, data, *EVERY_NIGHT)
    list_page = ("trs", "/zwgk/zfxxgknb/index_1.html")
    asked = [e for e in second.log if (e.site, e.path) == list_page]
    assert [e.status for e in asked] == [200]
    assert "If-None-Match" not in asked[0].headers
    report = portals.portals.reports[0]
    (report_asked,) = [e for e in second.log if (e.site, e.path) == (report.site, report.path)]
    assert report_asked.status == 304 and "If-None-Match" in report_asked.headers
    rechecked = {(e.site, e.path) for e in second.log}
    assert all((r.site, r.path) in rechecked for r in portals.portals.reports)
    assert " new=0 " in summary(second), summary(second)
    # Fetched whole, it is archived whole (not as a revisit of the copy that is gone) ...
    url = portals.url(*list_page)
    kinds = [kind for kind, r, _ in second.records() if r.get_header("WARC-Target-URI") == url]
    assert kinds == ["response", "request"], kinds
    # ... so the next night has a stored copy again, and asks conditionally.
    asked = [e for e in third.log if (e.site, e.path) == list_page]
    assert [e.status for e in asked] == [304] and "If-None-Match" in asked[0].headers


def test_a_report_moved_to_another_url_is_archived_whole_there(tmp_path: Path):
    """A known report now redirects to a new URL: the new URL is asked for without the old
    one's validators, and archived whole, not as a revisit naming a capture that does not
    exist (a replay could never resolve it)."""
    from crawler.sample_portals import Page, build_sites

    data = tmp_path / "data"
    sites = build_sites()
    spec = next(r for r in sites.reports if r.site == "hanweb")
    site = sites.sites[spec.site]
    moved = spec.path.replace(".html", "_1.html")
    with SamplePortals(portals=sites) as portals:
        crawl_night(portals, data)
        site.pages[moved] = site.pages[spec.path]  # the same page, so the same ETag
        site.pages[spec.path] = Page(b"", 301, [("Location", portals.url(spec.site, moved))])
        second = crawl_night(portals, data, *EVERY_NIGHT)
    (asked,) = [e for e in second.log if (e.site, e.path) == (spec.site, moved)]
    assert asked.status == 200 and "If-None-Match" not in asked.headers
    url = portals.url(spec.site, moved)
    kinds = [kind for kind, r, _ in second.records() if r.get_header("WARC-Target-URI") == url]
    assert kinds == ["response", "request", "conversion"], kinds  # its text beside it
    replayed = nianbao("replay", str(data / "warc"), "--data", str(tmp_path / "replayed"))
    assert replayed.returncode == 0, replayed.stdout[-2000:] + replayed.stderr[-2000:]


@pytest.fixture(scope="module")
def weekly(tmp_path_factory: pytest.TempPathFactory):
    """The nightly default (a 7-day refresh period): night 2 comes the next day, night 3 when
    the period is over (a period shorter than the time since night 1 stands in for the week)."""
    data = tmp_path_factory.mktemp("weekly") / "data"
    with SamplePortals() as portals:
        first = crawl_night(portals, data)
        changes = next_night(portals.portals)
        second = crawl_night(portals, data)
        # A period of 0.00001 days is 0.86-1.3 s per URL: wait it out, so even a page night 2
        # fetched in its last moment is due (a fast machine starts night 3 within a second).
        time.sleep(1.5)
        week_later = crawl_night(portals, data, "--refresh-days", "0.00001")
        yield Nights(portals, data, [first, second, week_later], changes)


def requested(night: Night) -> set[tuple[str, str]]:
    return {(e.site, e.path) for e in night.log}


def test_within_the_refresh_period_only_lists_are_asked_for(weekly: Nights):
    """Night 2: no known report, article or dead link is requested; lists are, and through
    them the new report is found. The edited report waits for its period."""
    portals = weekly.portals.portals
    second = weekly.nights[1]
    asked = requested(second)
    new = weekly.changes["new"]
    known_reports = [r for r in portals.reports if r.path != new.path]
    assert not {(r.site, r.path) for r in known_reports} & asked
    for distractor in portals.distractors:  # known articles that are not reports
        assert (distractor["site"], distractor["path"]) not in asked, distractor
    for dead in portals.not_found:
        assert (dead["site"], dead["path"]) not in asked, dead
    assert ("trs", "/zwgk/zfxxgknb/index.html") in asked  # where the new report appears
    assert ("hanweb", "/col/col120/index.html") in asked
    line = summary(second)
    assert " new=1 " in line and " changed=0 " in line, line
    assert second.run["new_reports"] == 1
    # Its archive holds no record of any known report: nothing was asked, nothing is stored.
    uris = {r.get_header("WARC-Target-URI") for _, r, _ in second.records()}
    assert not uris & {weekly.portals.url(r.site, r.path) for r in known_reports}


def test_after_the_refresh_period_known_pages_are_checked_again(weekly: Nights):
    """Night 3, the period over: every known report is asked for conditionally and the edited
    one is found changed, its earlier version kept."""
    third = weekly.nights[2]
    line = summary(third)
    assert " new=0 " in line and " changed=1 " in line, line
    entries = {(e.site, e.path): e for e in third.log}
    for spec in weekly.portals.portals.reports:
        entry = entries.get((spec.site, spec.path))
        assert entry is not None, spec.path
        page = weekly.portals.portals.sites[spec.site].pages[spec.path]
        if not page.no_validators:
            assert {"If-None-Match", "If-Modified-Since"} & set(entry.headers), spec.path
    for dead in weekly.portals.portals.not_found:
        assert (dead["site"], dead["path"]) in entries, dead
    edited = weekly.portals.url("inhouse", weekly.changes["edited"].path)
    (report,) = weekly.db.query("select * from reports where url = ?", [edited])
    assert report["version"] == 2


def test_refresh_periods_are_spread_by_url_and_never_shorter_than_the_setting():
    week = timedelta(days=7)
    urls = [f"http://www.example.gov.cn/art/2024/1/{n % 28 + 1}/art_1_{n}.html" for n in range(500)]
    periods = [period_of(url, week) for url in urls]
    assert all(week <= p <= 1.5 * week for p in periods)
    assert periods == [period_of(url, week) for url in urls]  # fixed per URL
    # Spread evenly: every half-day of the 3.5 days holds some of the 500.
    buckets = {int((p - week) / timedelta(hours=12)) for p in periods}
    assert buckets >= set(range(7))
    now = datetime(2026, 11, 23, tzinfo=UTC)
    url = urls[0]
    fetched = lambda days: (now - timedelta(days=days)).isoformat()  # noqa: E731
    assert is_fresh(url, fetched(6.9), week, now)
    assert not is_fresh(url, fetched(10.6), week, now)
    assert not is_fresh(url, fetched(0.1), timedelta(0), now)  # no period: always asked
    assert not is_fresh(url, None, week, now) and not is_fresh(url, "yesterday", week, now)


def test_a_start_url_is_fetched_every_night_even_when_it_was_dead(tmp_path: Path):
    """A portal whose home page answered 404 last night is asked again tonight (a dead link
    found on a page waits out its period; a portal the user named does not)."""
    data = tmp_path / "data"
    with SamplePortals() as portals:
        dead = portals.portals.not_found[0]
        home = portals.url(dead["site"], dead["path"])
        for _night in range(2):
            result = nianbao("crawl", home, "--data", str(data), *FAST)
            assert result.returncode in (0, 1), result.stderr[-2000:]
        asked = [e for e in portals.log if (e.site, e.path) == (dead["site"], dead["path"])]
    assert [e.status for e in asked] == [404, 404]


def test_two_histories_merge_to_the_later_finding_per_url():
    """A worker's own history and the workers' shared one (distributed runs)."""

    def known(url: str, at: str, document: bool = False, etag: str = "") -> Known:
        return Known(url, etag or None, None, "sha1:X", at, at, document=document)

    ours = (
        {
            "a": known("a", "2026-01-02", etag="ours"),
            "b": known("b", "2026-01-01", document=True, etag="ours"),
            "c": known("c", "2026-01-01"),
            "list": known("list", "2026-01-01", etag="ours"),
        },
        {"d": "2026-01-01"},
    )
    theirs = (
        {
            "a": known("a", "2026-01-01", document=True, etag="theirs"),
            "b": known("b", "2026-01-03", etag="theirs"),
            "d": known("d", "2026-01-02"),
            "e": known("e", "2026-01-01"),
            "list": known("list", "2026-01-02", etag="theirs"),
        },
        {"c": "2026-01-02", "f": "2026-01-01"},
    )
    merged_known, merged_gone = merge_history(ours, theirs)
    # a: ours is later, and it is a report (theirs knew it as one); b: theirs is later, still one.
    assert (merged_known["a"].etag, merged_known["a"].document) == ("ours", True)
    assert (merged_known["b"].etag, merged_known["b"].document) == ("theirs", True)
    # c: found dead after we fetched it; d: fetched after we found it dead; e, f: theirs alone.
    assert set(merged_known) == {"a", "b", "d", "e", "list"}
    # A list page we fetched: our validators (our copy answers a 304), though theirs is later.
    assert merged_known["list"].etag == "ours"
    assert merged_gone == {"c": "2026-01-02", "f": "2026-01-01"}


def test_what_a_killed_run_fetched_but_never_processed_is_done_by_the_next(tmp_path: Path):
    """`kill -9` between archiving a page and parsing it leaves a `pages` row (archived) and no
    report or attachment row. The run's `crawls` row has no end, so the next run (here one of
    another portal) first replays the WARCs written since into the database, and the run after
    that, within the refresh period, still re-checks the pages the killed run fetched, to follow
    their links. The database then equals a replay of the archive, history included."""
    data = tmp_path / "data"
    with SamplePortals() as portals:
        crawl_night(portals, data)
        db = sqlite_utils.Database(data / "nianbao.db")
        whole = report_snapshot(db)
        attachment, report = (portals.expected["attachments"][0][k] for k in ("url", "report_url"))
        edited = next(u for u in whole if u.endswith("/lanshan-2019.html"))
        for url in (report, edited):
            (report_id,) = [
                r["id"] for r in db.query("select id from reports where url = ?", [url])
            ]
            for table in ("report_cells", "report_checks", "report_versions", "report_aliases"):
                db.execute(f"delete from {table} where report_id = ?", [report_id])
            db.execute("delete from reports where id = ?", [report_id])
        db.execute("delete from attachments where url = ?", [attachment])
        db.execute("update crawls set ended = null, exit_status = null")  # killed
        db.conn.commit()
        other = nianbao("crawl", portals.urls["hanweb"], "--data", str(data), *FAST)
        assert other.returncode == 0, other.stderr[-3000:]
        assert "1 run(s) were killed" in other.stderr
        assert report_snapshot(db)[report] == whole[report]  # replayed before crawling
        next_night(portals.portals)  # the report the killed run left unparsed is edited
        second = crawl_night(portals, data)  # the nightly default: a 7-day refresh period
        third = crawl_night(portals, data)
    asked = {portals.url(e.site, e.path): e for e in second.log}
    assert asked[report].status == 304 and asked[attachment].status == 304
    assert db["attachments"].count_where("url = ?", [attachment]) == 1
    (edit,) = db.query("select version from reports where url = ?", [edited])
    assert edit["version"] == 2  # the killed run's capture is version 1, kept in history
    replayed = tmp_path / "replayed"
    result = nianbao("replay", str(data / "warc"), "--data", str(replayed))
    assert result.returncode == 0, result.stdout[-2000:]
    again = sqlite_utils.Database(replayed / "nianbao.db")
    assert report_snapshot(again) == report_snapshot(db)
    assert versions(again) == versions(db)
    # Done now: the night after skips them as fresh again.
    later = {portals.url(e.site, e.path) for e in third.log}
    assert report not in later and attachment not in later


def versions(db: sqlite_utils.Database) -> list[tuple]:
    """Every report's history: (URL, version, content) of each earlier version."""
    return sorted(
        (r["url"], r["version"], r["content_key"])
        for r in db.query("select v.url, v.version, v.content_key from report_versions v")
    )


def test_a_known_report_shown_to_the_browser_is_never_asked_for_conditionally(tmp_path: Path):
    """A report page rendered for the files a script links (period over, fetched again): a 304
    would leave the browser nothing to render, so the browser's request carries no validators,
    while the plain fetch of the same page does."""
    from scrapy import Request
    from scrapy.utils.test import get_crawler

    from crawler.browser import browser_meta
    from crawler.incremental import IncrementalMiddleware, Known

    middleware = IncrementalMiddleware(get_crawler(), str(tmp_path / "none.db"), timedelta(0))
    url = "http://gov.example/xxgk/nb/2023.html"
    middleware.known[url] = Known(
        url,
        '"v1"',
        "Mon, 01 Jan 2024 00:00:00 GMT",
        "sha1:X",
        "2024-01-01T00:00:00Z",
        None,
        document=True,
    )
    plain = Request(url, meta={"portal": "http://gov.example/"})
    middleware.process_request(plain)
    assert plain.headers.get("If-None-Match") == b'"v1"'
    rendered = Request(url, meta=browser_meta({"portal": "http://gov.example/"}))
    middleware.process_request(rendered)
    assert "If-None-Match" not in rendered.headers
    assert "If-Modified-Since" not in rendered.headers
