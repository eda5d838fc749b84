"""End to end: `nianbao crawl` over the mock portals, then the database and the WARCs."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from warcio.archiveiterator import ArchiveIterator

from archive.reader import iter_captures
from crawler.extract import decode_html
from crawler.portal_server import SamplePortals
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
class Crawl:
    portals: SamplePortals
    data: Path
    result: subprocess.CompletedProcess[str]

    @property
    def db(self) -> sqlite_utils.Database:
        return sqlite_utils.Database(self.data / "nianbao.db")

    def report_by_url(self, url: str) -> dict[str, Any] | None:
        db = self.db
        for row in db.query("select * from reports where url = ?", [url]):
            return row
        for row in db.query(
            "select r.* from report_aliases a join reports r on r.id = a.report_id where a.url = ?",
            [url],
        ):
            return row
        return None


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("crawl") / "data"
    with SamplePortals() as portals:
        result = nianbao("crawl", *portals.urls.values(), "--data", str(data), *FAST)
        yield Crawl(portals, data, result)


def test_crawl_exits_cleanly_with_a_summary(crawl: Crawl):
    assert crawl.result.returncode == 0, crawl.result.stderr[-3000:]
    summary = [
        line for line in crawl.result.stdout.splitlines() if line.startswith("nianbao crawl:")
    ]
    assert summary, crawl.result.stdout
    expected = len({r["url"] for r in crawl.portals.expected["reports"]})
    assert f"new={expected} " in summary[0]


def test_every_report_found_with_its_cells(crawl: Crawl):
    for report in crawl.portals.expected["reports"]:
        row = crawl.report_by_url(report["url"])
        assert row is not None, f"report not found: {report['url']}"
        assert row["year"] == report["year"]
        assert row["format"] == report["format"]
        assert row["organization"] == report["organization"]
        want = truth_cells(report["tables"])
        got = stored_cells(crawl.db, row["id"])
        assert set(got) == set(want), report["url"]
        for key, (value, raw) in want.items():
            assert same_value(got[key][0], value), (report["url"], key, got[key], value)
            assert got[key][1] == raw, (report["url"], key, got[key], raw)


def test_one_report_per_content(crawl: Crawl):
    expected = {r["url"] for r in crawl.portals.expected["reports"]}
    assert crawl.db["reports"].count == len(expected)
    for report in crawl.portals.expected["reports"]:
        for alias in report.get("also_at_urls", []):
            row = crawl.report_by_url(alias)
            assert row is not None and row["url"] == report["url"]


def test_no_distractor_is_a_report(crawl: Crawl):
    urls = {r["url"] for r in crawl.db.query("select url from reports")}
    for distractor in crawl.portals.expected["distractors"]:
        assert distractor["url"] not in urls


def test_robots_txt_disallowed_paths_never_requested(crawl: Crawl):
    requested = {(e.site, e.path.split("?")[0]) for e in crawl.portals.log}
    for item in crawl.portals.expected["disallowed"]:
        assert (item["site"], item["path"]) not in requested
    assert ("trs", "/robots.txt") in requested


def test_the_site_search_finds_a_report_no_page_links(crawl: Crawl):
    """The Hanweb portal's search box (on every page) is asked once for reports; its second
    page of results holds a department report no column links."""
    from crawler.sample_portals import SEARCH_API, SEARCH_SITE_ID

    forms = [
        (e.method, dict(urllib.parse.parse_qsl(e.body.decode())))
        for e in crawl.portals.log
        if e.path == SEARCH_API
    ]
    assert [(method, f["p"], f["pg"], f["websiteid"]) for method, f in forms] == [
        ("POST", "1", "20", SEARCH_SITE_ID),
        ("POST", "2", "5", SEARCH_SITE_ID),
    ]
    path = "/art/2023/2/10/art_160_5001.html"
    site = crawl.portals.portals.sites["hanweb"]
    assert not any(path.encode() in page.body for page in site.pages.values())
    row = crawl.report_by_url(crawl.portals.url("hanweb", path))
    assert row is not None and (row["organization"], row["year"]) == ("兰州市财政局", 2022)
    paths = {e.path.split("?")[0] for e in crawl.portals.log if e.site == "hanweb"}
    assert not any("visit/link.do" in p for p in paths)  # straight to the document
    assert "/art/2022/5/1/art_200_4001.html" not in paths  # a result that is no report
    pages = {r["url"]: r["method"] for r in crawl.db.query("select url, method from pages")}
    assert pages[crawl.portals.url("hanweb", SEARCH_API)] == "POST"


def test_nothing_requested_off_site(crawl: Crawl):
    assert [e for e in crawl.portals.log if e.site == "offsite"] == []


def test_user_agent_is_honest(crawl: Crawl):
    agents = {e.headers.get("User-Agent", "") for e in crawl.portals.log}
    assert agents and all(a.startswith("nianbao/") for a in agents)


def test_warc_files_pass_warcio_check(crawl: Crawl):
    files = sorted((crawl.data / "warc").glob("*.warc.gz"))
    assert files
    warcio = Path(sys.executable).parent / "warcio"
    result = subprocess.run(
        [str(warcio), "check", *map(str, files)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_report_offset_reads_back_its_own_response(crawl: Crawl):
    for row in crawl.db.query("select url, warc_filename, warc_record_offset from reports"):
        path = crawl.data / "warc" / row["warc_filename"]
        with path.open("rb") as fh:
            fh.seek(row["warc_record_offset"])
            record = next(iter(ArchiveIterator(fh)))
            assert record.rec_type == "response"
            assert record.rec_headers.get_header("WARC-Target-URI") == row["url"]


def test_every_report_url_is_in_the_cdxj_index(crawl: Crawl):
    index = (crawl.data / "index.cdxj").read_text(encoding="utf-8").splitlines()
    assert index == sorted(index)
    indexed = {json.loads(line.split(" ", 2)[2])["url"] for line in index}
    for row in crawl.db.query("select url from reports"):
        assert row["url"] in indexed


def test_pages_record_redirects_and_404s(crawl: Crawl):
    statuses = {r["url"]: r["status"] for r in crawl.db.query("select url, status from pages")}
    for item in crawl.portals.expected["not_found"]:
        assert statuses.get(item["url"]) == 404
    for item in crawl.portals.expected["redirects"]:
        assert statuses.get(item["from_url"]) in (301, 302)


def test_attachments_archived_with_their_type(crawl: Crawl):
    rows = {r["url"]: r for r in crawl.db.query("select * from attachments")}
    for item in crawl.portals.expected["attachments"]:
        assert item["url"] in rows, item
        assert rows[item["url"]]["source_type"] == item["source_type"]
        assert rows[item["url"]]["report_url"] == item["report_url"]


def test_gbk_reports_decode(crawl: Crawl):
    titles = [r["title"] for r in crawl.db.query("select title from reports")]
    assert all("\ufffd" not in (t or "") for t in titles)
    assert all("年" in (t or "") for t in titles)


def test_crawls_table_records_the_run(crawl: Crawl):
    (run,) = list(crawl.db.query("select * from crawls"))
    assert run["command"] == "crawl" and run["exit_status"] == 0
    assert run["new_reports"] == crawl.db["reports"].count


@pytest.mark.parametrize("jobs", ["1", "3"])
def test_replay_gives_exactly_the_crawl(crawl: Crawl, tmp_path: Path, jobs: str):
    """In this process alone, and with worker processes parsing out of order: the same rows."""
    replayed = tmp_path / "replayed"
    result = nianbao("replay", str(crawl.data / "warc"), "--data", str(replayed), "--jobs", jobs)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    db = sqlite_utils.Database(replayed / "nianbao.db")
    assert report_snapshot(db) == report_snapshot(crawl.db)
    crawled_pages = {r["url"]: r["status"] for r in crawl.db.query("select url, status from pages")}
    replayed_pages = {r["url"]: r["status"] for r in db.query("select url, status from pages")}
    assert replayed_pages == crawled_pages
    aliases = "select url from report_aliases order by url"
    assert list(db.query(aliases)) == list(crawl.db.query(aliases))


def test_replay_twice_is_idempotent(crawl: Crawl, tmp_path: Path):
    replayed = tmp_path / "replayed"
    warc = str(crawl.data / "warc")
    for options in ((), (), ("--reparse",)):
        result = nianbao("replay", warc, "--data", str(replayed), *options)
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
        db = sqlite_utils.Database(replayed / "nianbao.db")
        assert report_snapshot(db) == report_snapshot(crawl.db)
        assert db["report_versions"].count == 0


def test_a_replay_parses_only_what_the_database_does_not_hold(
    crawl: Crawl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A file replayed whole before is read, not parsed, until the parser changes."""
    from crawler import replay as replay_module

    files = sorted((crawl.data / "warc").glob("*.warc.gz"))
    replayed = tmp_path / "replayed"
    first = nianbao("replay", *map(str, files), "--data", str(replayed))
    assert first.returncode == 0 and "already in this database" not in first.stdout
    db = sqlite_utils.Database(replayed / "nianbao.db")
    (victim,) = db.query(
        "select id, url from reports where id not in (select report_id from report_aliases) "
        "order by url limit 1"
    )
    for table in ("report_cells", "report_checks"):
        db[table].delete_where("report_id = ?", [victim["id"]])
    db["reports"].delete(victim["id"])  # as if the parser had missed it
    db.conn.commit()

    again = nianbao("replay", *map(str, files), "--data", str(replayed))
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    records = sum(1 for _ in iter_captures(files))
    assert f"{len(files)} WARC file(s) ({records} records) already in this" in again.stdout
    assert "pages=0 reports=0" in again.stdout
    assert not db["reports"].count_where("url = ?", [victim["url"]]), "a held file was parsed"

    # A changed parser parses everything again (as does --reparse): the cells are back.
    monkeypatch.setattr(replay_module, "parser_fingerprint", lambda: "a-better-parser")
    stats = replay_module.replay_into(files, replayed / "nianbao.db", jobs=1)
    assert stats["replay/files_held"] == 0 and stats["replay/records"] == records
    assert stats["nianbao/reports_new"] == 1
    assert report_snapshot(db) == report_snapshot(crawl.db)


def test_replay_joins_attachments_to_their_article_without_request_records(
    crawl: Crawl, tmp_path: Path
):
    """A WARC that lost the attachments' request records (their Referer): same reports."""
    attachments = {r["url"] for r in crawl.db.query("select url from attachments")}
    assert attachments
    copied = tmp_path / "warc"
    copied.mkdir()
    dropped = 0
    for path in sorted((crawl.data / "warc").glob("*.warc.gz")):
        data = path.read_bytes()
        keep = bytearray()
        with path.open("rb") as fh:
            iterator = ArchiveIterator(fh)
            for record in iterator:
                start = iterator.get_record_offset()
                iterator.read_to_end(record)
                uri = record.rec_headers.get_header("WARC-Target-URI")
                if record.rec_type == "request" and uri in attachments:
                    dropped += 1
                    continue
                keep += data[start : start + iterator.get_record_length()]
        (copied / path.name).write_bytes(bytes(keep))
    assert dropped >= len(attachments)
    replayed = tmp_path / "replayed"
    result = nianbao("replay", str(copied), "--data", str(replayed), "--jobs", "2")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    db = sqlite_utils.Database(replayed / "nianbao.db")
    # Records moved up when the request records were dropped: compare all but the offsets.
    assert report_snapshot(db, where=False) == report_snapshot(crawl.db, where=False)
    aliases = "select url from report_aliases order by url"
    assert list(db.query(aliases)) == list(crawl.db.query(aliases))


def test_replay_reports_damage_and_processes_the_rest(crawl: Crawl, tmp_path: Path):
    """One report's record is overwritten with garbage and the file's tail is cut off."""
    source = crawl.data / "warc"
    files = sorted(source.glob("*.warc.gz"))
    damaged_dir = tmp_path / "warc"
    damaged_dir.mkdir()
    for path in files:
        (damaged_dir / path.name).write_bytes(path.read_bytes())
    victim = next(
        row
        for row in crawl.db.query("select * from reports order by url")
        if row["source_type"] == "html"
        and not list(
            crawl.db.query("select 1 from report_aliases where report_id = ?", [row["id"]])
        )
    )
    target = damaged_dir / victim["warc_filename"]
    data = bytearray(target.read_bytes())
    offset = victim["warc_record_offset"]
    data[offset : offset + 60] = b"\xff" * 60  # its gzip header and first bytes
    # And a record cut short at the end of the file, as a kill -9 mid-write leaves it: the
    # first 300 bytes of a copy of the victim's gzip member.
    data += target.read_bytes()[offset : offset + 300]
    target.write_bytes(bytes(data))

    replayed = tmp_path / "replayed"
    result = nianbao("replay", str(damaged_dir), "--data", str(replayed))
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    assert "warc_damaged=2" in result.stdout, result.stdout
    assert victim["warc_filename"] in result.stderr  # the log names the file and offset
    db = sqlite_utils.Database(replayed / "nianbao.db")
    got = {r["url"] for r in db.query("select url from reports")}
    want = {r["url"] for r in crawl.db.query("select url from reports")}
    assert got == want - {victim["url"]}, (victim["url"], want - got, got - want)
    for url in got:
        (a,) = crawl.db.query("select id from reports where url = ?", [url])
        (b,) = db.query("select id from reports where url = ?", [url])
        assert stored_cells(db, b["id"]) == stored_cells(crawl.db, a["id"]), url
    # A damaged file is never taken as held: the next replay reads it whole and reports again.
    again = nianbao("replay", str(damaged_dir), "--data", str(replayed))
    assert "warc_damaged=2" in again.stdout, again.stdout
    counts = re.search(r"pages=\d+ reports=\d+", result.stdout)
    assert counts and counts.group() in again.stdout, (result.stdout, again.stdout)


@pytest.mark.skipif(
    not (ROOT / ".venv-pywb" / "bin" / "wayback").exists() and not shutil.which("wayback"),
    reason="pywb not installed (scripts/setup.sh makes .venv-pywb)",
)
def test_pywb_replays_an_archived_report_page(crawl: Crawl):
    """`nianbao browse` serves the crawl's WARCs in pywb; the report's table is in the replay."""
    report = next(
        row
        for row in crawl.db.query("select * from reports where source_type = 'html' order by url")
    )
    (capture,) = crawl.db.query("select fetched_at from pages where url = ?", [report["url"]])
    timestamp = re.sub(r"\D", "", capture["fetched_at"])[:14]
    with pywb_serving(crawl.data) as base:
        raw = urllib.request.urlopen(f"{base}{timestamp}id_/{report['url']}", timeout=30).read()
        page = urllib.request.urlopen(f"{base}{timestamp}mp_/{report['url']}", timeout=30).read()
    with (crawl.data / "warc" / report["warc_filename"]).open("rb") as fh:
        fh.seek(report["warc_record_offset"])
        archived = next(iter(ArchiveIterator(fh))).content_stream().read()
    assert raw == archived  # id_: the archived bytes, untouched
    text, _encoding = decode_html(page, "text/html")
    assert "收到和处理政府信息公开申请情况" in text
    some_cell = next(
        c["raw"]
        for c in crawl.db.query(
            "select raw from report_cells where report_id = ? and length(raw) > 2", [report["id"]]
        )
    )
    assert some_cell in text


def test_wacz_packages_the_archive(crawl: Crawl, tmp_path: Path):
    """`nianbao wacz`: every WARC byte for byte, an index, every report as a page; valid."""
    import gzip
    import zipfile

    output = tmp_path / "crawl.wacz"
    result = nianbao("wacz", "--data", str(crawl.data), "-o", str(output))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    reports = list(crawl.db.query("select url, title, fetched_at from reports"))
    assert f"{len(reports)} report pages" in result.stdout
    with zipfile.ZipFile(output) as wacz:
        names = set(wacz.namelist())
        for path in (crawl.data / "warc").glob("*.warc.gz"):
            assert wacz.read(f"archive/{path.name}") == path.read_bytes()
        index = gzip.decompress(wacz.read("indexes/index.cdx.gz")).decode()
        pages = [json.loads(line) for line in wacz.read("pages/pages.jsonl").splitlines()]
        package = json.loads(wacz.read("datapackage.json"))
    assert {"datapackage.json", "datapackage-digest.json"} <= names
    assert {p["url"]: p["title"] for p in pages[1:]} == {r["url"]: r["title"] for r in reports}
    assert all(r["url"].split("://", 1)[1].split("/", 1)[1] in index for r in reports)
    assert len(package["resources"]) == len(names) - 2
    # A data folder with nothing archived is a clear error, not an empty package.
    empty = nianbao("wacz", "--data", str(tmp_path / "nothing"), "-o", str(tmp_path / "x.wacz"))
    assert empty.returncode == 1 and "no WARC files" in empty.stderr


def test_replay_goes_on_past_a_record_the_parser_chokes_on(
    crawl: Crawl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A parser failure on one record is counted and logged; its page row and every other
    report are still stored (as the crawl stores a page that fails to process)."""
    import crawler.replay as replay

    victim = next(row["url"] for row in crawl.db.query("select url from reports order by url"))
    real = replay.process_capture

    def choking(capture):
        if capture.url == victim:
            raise ValueError("parser bug")
        return real(capture)

    monkeypatch.setattr(replay, "process_capture", choking)
    stats = replay.replay_into([crawl.data / "warc"], tmp_path / "replayed.db", jobs=1)
    assert stats["nianbao/errors/process/ValueError"] >= 1
    db = sqlite_utils.Database(tmp_path / "replayed.db")
    reports = {row["url"] for row in db.query("select url from reports")}
    expected = {row["url"] for row in crawl.db.query("select url from reports")}
    assert reports == expected - {victim}
    assert list(db.query("select url from pages where url = ?", [victim]))


def test_replay_says_it_left_an_unfinished_warc_unread(crawl: Crawl, tmp_path: Path):
    """A file still named .open (a crawl writing it, or killed) is not read, and the summary
    says so: its records would otherwise be missing without a word."""
    folder = tmp_path / "warc"
    folder.mkdir()
    first, *rest = sorted((crawl.data / "warc").glob("*.warc.gz"))
    shutil.copy(first, folder / (first.name + ".open"))
    for path in rest:
        shutil.copy(path, folder / path.name)
    result = nianbao("replay", str(folder), "--data", str(tmp_path / "replayed"))
    assert "1 WARC file(s) still named .open not read" in result.stdout, result.stdout
    alone = nianbao("replay", *map(str, rest), "--data", str(tmp_path / "alone"))
    assert "still named .open" not in alone.stdout


@pytest.mark.skipif(
    not (ROOT / ".venv-pywb" / "bin" / "wayback").exists() and not shutil.which("wayback"),
    reason="pywb not installed (scripts/setup.sh makes .venv-pywb)",
)
def test_pywb_replays_a_hanweb_list_page_asked_for_by_post(crawl: Crawl):
    """Hanweb pages its lists by POST to dataproxy.jsp: the index keys a POST with its body,
    so pywb finds the answer to the same POST (without it: 404)."""
    posts = []
    for path in sorted((crawl.data / "warc").glob("*.warc.gz")):
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "request" and record.http_headers.protocol == "POST":
                    uri = record.rec_headers.get_header("WARC-Target-URI")
                    posts.append((uri, record.content_stream().read()))
    uri, body = next((uri, body) for uri, body in posts if "dataproxy.jsp" in uri)
    assert body
    archived = next(r for r in crawl.db.query("select * from pages where url = ?", [uri]))
    with (crawl.data / "warc" / archived["warc_filename"]).open("rb") as fh:
        fh.seek(archived["warc_record_offset"])
        answer = next(iter(ArchiveIterator(fh))).content_stream().read()
    timestamp = re.sub(r"\D", "", archived["fetched_at"])[:14]
    with pywb_serving(crawl.data) as base:
        request = urllib.request.Request(
            f"{base}{timestamp}id_/{uri}",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        replayed = urllib.request.urlopen(request, timeout=30).read()
    assert replayed == answer and b"<record>" in replayed


@pytest.mark.skipif(
    not (ROOT / ".venv-pywb" / "bin" / "wayback").exists() and not shutil.which("wayback"),
    reason="pywb not installed (scripts/setup.sh makes .venv-pywb)",
)
def test_browse_stopped_by_sigterm_stops_pywb_too(crawl: Crawl, tmp_path: Path):
    """A service manager stops `nianbao browse` with SIGTERM: pywb must not live on, serving
    the port; and a folder with no archive is a usage error, not an empty pywb."""
    import os
    import signal
    import socket
    import sys
    import time

    from tests.helpers import free_port

    missing = nianbao(
        "browse", "--data", str(tmp_path / "nothing"), "--port", str(free_port()), timeout=60
    )
    assert missing.returncode == 2 and "no archive here" in missing.stderr
    port = free_port()
    browse = subprocess.Popen(
        [sys.executable, "-m", "crawler", "browse", "--data", str(crawl.data), "--port", str(port)],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if "proxy" not in k.lower()},
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def answering() -> bool:
        with socket.socket() as sock:
            sock.settimeout(1)
            return sock.connect_ex(("127.0.0.1", port)) == 0

    try:
        deadline = time.monotonic() + 60
        while not answering():
            assert time.monotonic() < deadline and browse.poll() is None, "pywb did not start"
            time.sleep(0.3)
        browse.send_signal(signal.SIGTERM)  # to nianbao alone, not its process group
        browse.wait(timeout=30)
        deadline = time.monotonic() + 15
        while answering() and time.monotonic() < deadline:
            time.sleep(0.3)
        assert not answering(), "pywb still serves after nianbao browse stopped"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(browse.pid, signal.SIGKILL)


def conversions_of(data: Path) -> dict[str, tuple[str, str, str]]:
    """{WARC-Refers-To: (content type, converter, text)} of every conversion record."""
    found = {}
    for path in sorted((data / "warc").glob("*.warc.gz")):
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "conversion":
                    headers = record.rec_headers
                    found[headers.get_header("WARC-Refers-To")] = (
                        headers.get_header("Content-Type"),
                        headers.get_header("Nianbao-Converter"),
                        record.content_stream().read().decode("utf-8"),
                    )
    return found


def record_ids(data: Path) -> dict[tuple[str, int], str]:
    """{(file, offset): WARC-Record-ID} of every response record."""
    ids = {}
    for path in sorted((data / "warc").glob("*.warc.gz")):
        with path.open("rb") as fh:
            iterator = ArchiveIterator(fh)
            for record in iterator:
                if record.rec_type == "response":
                    ids[(path.name, iterator.get_record_offset())] = record.rec_headers.get_header(
                        "WARC-Record-ID"
                    )
    return ids


def test_each_conversion_is_archived_beside_its_response(crawl: Crawl):
    """A report page's clean text and an attachment's document are kept in the WARC as
    `conversion` records naming their response; pywb's index leaves them out."""
    conversions, ids = conversions_of(crawl.data), record_ids(crawl.data)
    reports = list(crawl.db.query("select * from reports"))
    attachments = list(crawl.db.query("select * from attachments"))
    assert reports and {a["source_type"] for a in attachments} == {"pdf", "docx"}
    for report in reports:
        response_id = ids[(report["warc_filename"], report["warc_record_offset"])]
        content_type, converter, text = conversions[response_id]
        assert content_type.startswith("text/plain") and converter.startswith("html:")
        assert text == report["text"]
    for attachment in attachments:
        response_id = ids[(attachment["warc_filename"], attachment["warc_record_offset"])]
        content_type, converter, text = conversions[response_id]
        assert content_type.startswith("text/html") and "<table>" in text
        assert converter.startswith(f"{attachment['source_type']}:")
    assert set(conversions) <= set(ids.values())  # none refers to a record not there
    indexed = set()
    for line in (crawl.data / "index.cdxj").read_text().splitlines():
        fields = json.loads(line.split(" ", 2)[2])
        indexed.add((fields["filename"], int(fields["offset"])))
    assert indexed and indexed <= set(ids)  # responses only (revisits: none in a first crawl)


def test_replay_parses_archived_conversions_without_converting_again(
    crawl: Crawl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The same rows without trafilatura or a PDF reader; a conversion another converter
    made (a new trafilatura, another LibreOffice) is not used, and the file is converted."""
    import crawler.attachments
    import crawler.process
    from crawler.replay import replay_into

    def no_conversion(*args: Any) -> str:
        raise AssertionError("converted again")

    def cleared() -> None:
        crawler.process.analyse_html.cache_clear()
        crawler.process.analyse_attachment.cache_clear()

    files = sorted((crawl.data / "warc").glob("*.warc.gz"))
    with monkeypatch.context() as patched:
        patched.setattr(crawler.process, "article_text", no_conversion)
        patched.setattr(crawler.attachments, "document_html", no_conversion)
        cleared()
        stats = replay_into(files, tmp_path / "reused.db", jobs=1)
    assert "replay/converted" not in stats and stats["nianbao/reports_found"] >= 10
    db = sqlite_utils.Database(tmp_path / "reused.db")
    assert report_snapshot(db) == report_snapshot(crawl.db)

    monkeypatch.setattr(crawler.process, "converter_fingerprint", lambda kind: f"{kind}:other")
    cleared()
    stats = replay_into(files, tmp_path / "converted.db", jobs=1)
    assert stats["replay/converted"] == len(conversions_of(crawl.data))
    db = sqlite_utils.Database(tmp_path / "converted.db")
    assert report_snapshot(db) == report_snapshot(crawl.db)


def test_a_crawl_told_to_keep_no_conversions_is_converted_by_its_replay(
    crawl: Crawl, tmp_path: Path
):
    """`-s WARC_CONVERSIONS=False`: no conversion records; the replay converts every report
    page and file again, says so, and gives the same rows."""
    data = tmp_path / "data"
    with SamplePortals() as portals:
        result = nianbao(
            "crawl",
            *portals.urls.values(),
            "--data",
            str(data),
            *FAST,
            "-s",
            "WARC_CONVERSIONS=False",
        )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert conversions_of(data) == {}
    replayed = nianbao("replay", str(data / "warc"), "--data", str(tmp_path / "replayed"))
    assert replayed.returncode == 0, replayed.stdout[-2000:] + replayed.stderr[-2000:]
    expected = len(conversions_of(crawl.data))  # what the crawl with conversions kept
    assert f"converted={expected}:" in replayed.stdout, replayed.stdout
    db = sqlite_utils.Database(tmp_path / "replayed" / "nianbao.db")
    assert report_snapshot(db) == report_snapshot(sqlite_utils.Database(data / "nianbao.db"))
