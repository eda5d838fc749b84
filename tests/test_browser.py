"""Lists built by JavaScript: the real headless Chromium (Debian's), only where a page needs it.

The `scripted` sample portal has two lists: one whose JSON API is assembled inside a script
(only a browser finds its three reports) and one that names its API in plain sight (Scrapy
fetches the JSON itself). The browser's network traffic must be archived as ordinary records,
so pywb replays the list: the test renders the archived list in Chromium through pywb.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlite_utils
from warcio.archiveiterator import ArchiveIterator

from crawler.browser import find_chromium
from crawler.portal_server import SamplePortals
from tests.helpers import FAST, ROOT, nianbao, pywb_serving, same_value, stored_cells, truth_cells

CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (scripts/setup.sh installs it)"),
]


@pytest.fixture(scope="module")
def scripted(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("browser") / "data"
    with SamplePortals(scripted=True) as portals:
        result = nianbao("crawl", portals.urls["scripted"], "--data", str(data), *FAST)
        yield portals, data, result


def site_reports(portals: SamplePortals) -> list[dict]:
    return [r for r in portals.expected["reports"] if r["site"] == "scripted"]


def requests_for(portals: SamplePortals, path: str) -> list:
    return [e for e in portals.log if e.site == "scripted" and e.path == path]


def test_every_report_behind_the_script_is_found(scripted):
    portals, data, result = scripted
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    db = sqlite_utils.Database(data / "nianbao.db")
    expected = site_reports(portals)
    assert len(expected) == 4
    assert db["reports"].count == 4
    for report in expected:
        (row,) = db.query("select * from reports where url = ?", [report["url"]])
        want = truth_cells(report["tables"])
        got = stored_cells(db, row["id"])
        assert set(got) == set(want)
        for key, (value, _raw) in want.items():
            assert same_value(got[key][0], value), (report["url"], key)


def test_the_browser_is_used_only_where_needed(scripted):
    portals, _data, _result = scripted
    assert len(requests_for(portals, "/xxgk/ndbg/index.html")) == 2  # plain, then the browser
    assert len(requests_for(portals, "/js/nblist.js")) == 1  # only the browser runs scripts
    assert len(requests_for(portals, "/api/nb/list?page=1")) == 1
    # The list whose API is in plain sight: one plain fetch of the page, Scrapy fetches the JSON.
    assert len(requests_for(portals, "/xxgk/wqnb/")) == 1
    (api,) = requests_for(portals, "/api/nb/archive.json")
    assert api.headers.get("User-Agent", "").startswith("nianbao/")
    for entry in requests_for(portals, "/api/nb/list?page=1"):
        assert entry.headers.get("User-Agent", "").startswith(
            "nianbao/"
        )  # honest in the browser too


def warc_records(data: Path) -> list[tuple[str, str, bytes]]:
    out = []
    for path in sorted((data / "warc").glob("*.warc.gz")):
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type in ("response", "request"):
                    out.append(
                        (
                            record.rec_type,
                            record.rec_headers.get_header("WARC-Target-URI"),
                            record.content_stream().read(),
                        )
                    )
    return out


def test_the_browser_traffic_is_archived_as_the_server_sent_it(scripted):
    portals, data, _result = scripted
    site = portals.portals.sites["scripted"]
    responses = {}
    for kind, uri, payload in warc_records(data):
        if kind == "response":
            responses.setdefault(uri, []).append(payload)
    for path in ("/js/nblist.js", "/api/nb/list?page=1", "/api/nb/list?page=2"):
        assert responses[portals.url("scripted", path)] == [site.pages[path].body], path
    # The shell is archived only as served (twice: plain and browser), never as a rendered DOM.
    shells = responses[portals.url("scripted", "/xxgk/ndbg/index.html")]
    assert shells and all(p == site.pages["/xxgk/ndbg/index.html"].body for p in shells)
    warcio = Path(sys.executable).parent / "warcio"
    files = sorted((data / "warc").glob("*.warc.gz"))
    check = subprocess.run(
        [str(warcio), "check", *map(str, files)], capture_output=True, check=False
    )
    assert check.returncode == 0, check.stdout


def test_without_a_browser_the_hidden_list_is_reported(tmp_path: Path):
    with SamplePortals(scripted=True) as portals:
        result = nianbao(
            "crawl",
            portals.urls["scripted"],
            "--data",
            str(tmp_path),
            *FAST,
            "-s",
            "NIANBAO_BROWSER=off",
        )
    assert result.returncode == 1
    assert "browser_unavailable=1" in result.stdout
    db = sqlite_utils.Database(tmp_path / "nianbao.db")
    assert [r["year"] for r in db.query("select year from reports")] == [2019]
    assert not [e for e in portals.log if e.path == "/js/nblist.js"]


def test_the_browser_obeys_robots_txt_for_what_a_page_loads(tmp_path: Path):
    """robots.txt forbids the scripts folder: the rendered page may not fetch its list script,
    so the hidden list stays hidden, and the refusal is counted; the rest of the crawl goes on."""
    from crawler.sample_portals import Page, build_sites

    built = build_sites(scripted=True)
    built.sites["scripted"].pages["/robots.txt"] = Page(
        b"User-agent: *\nDisallow: /js/\n", 200, [("Content-Type", "text/plain")]
    )
    with SamplePortals(portals=built) as portals:
        result = nianbao("crawl", portals.urls["scripted"], "--data", str(tmp_path), *FAST)
    assert len(requests_for(portals, "/xxgk/ndbg/index.html")) == 2  # rendered all the same
    assert requests_for(portals, "/js/nblist.js") == []
    assert requests_for(portals, "/api/nb/list?page=1") == []
    assert "'nianbao/browser/robots_forbidden': 1" in result.stderr
    db = sqlite_utils.Database(tmp_path / "nianbao.db")
    assert [r["year"] for r in db.query("select year from reports")] == [2019]


def test_a_site_list_can_send_one_portal_through_the_browser(tmp_path: Path):
    """`browser` in a site list's options: that portal's list pages are rendered, the others not."""
    with SamplePortals() as portals:
        sites = tmp_path / "sites.tsv"
        sites.write_text(
            f"TRS\t{portals.urls['trs']}\ttest\tbrowser\nInhouse\t{portals.urls['inhouse']}\n",
            encoding="utf-8",
        )
        result = nianbao("crawl", "--sites", str(sites), "--data", str(tmp_path / "d"), *FAST)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    db = sqlite_utils.Database(tmp_path / "d" / "nianbao.db")
    found = {r["url"] for r in db.query("select url from reports")}
    expected = {r["url"] for r in portals.expected["reports"] if r["site"] in ("trs", "inhouse")}
    assert found == expected
    lists = [e for e in portals.log if e.path == "/zwgk/zfxxgknb/index_1.html"]
    assert len(lists) == 2  # plain, then the browser
    articles = [e for e in portals.log if e.site == "trs" and e.path.endswith("_100002.html")]
    assert len(articles) == 1  # report pages are never rendered
    assert all(
        len([e for e in portals.log if e.site == "inhouse" and e.path == path]) <= 1
        for path in {e.path for e in portals.log if e.site == "inhouse" and e.status == 200}
    )
    assert "browser/pages" in result.stderr


def test_proxy_environment_reaches_the_browser(tmp_path: Path):
    """The browser's own requests (the list script, its XHR) go through http_proxy too."""
    import threading
    from http.server import ThreadingHTTPServer

    from tests.test_commands import ForwardProxy

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), ForwardProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    ForwardProxy.seen = []
    try:
        with SamplePortals(scripted=True) as portals:
            # Chromium never proxies loopback unless told to with "<-loopback>".
            env = {
                "http_proxy": f"http://127.0.0.1:{proxy.server_address[1]}",
                "no_proxy": "<-loopback>",
            }
            url = portals.urls["scripted"]
            result = nianbao("crawl", url, "--data", str(tmp_path / "d"), *FAST, env=env)
    finally:
        proxy.shutdown()
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert any(u.endswith("/js/nblist.js") for u in ForwardProxy.seen), ForwardProxy.seen
    assert any("/api/nb/list?page=1" in u for u in ForwardProxy.seen)
    assert sqlite_utils.Database(tmp_path / "d" / "nianbao.db")["reports"].count == 4


@pytest.mark.skipif(not (ROOT / ".venv-pywb" / "bin" / "wayback").exists(), reason="no pywb")
def test_pywb_replays_the_script_built_list(scripted):
    """The archived shell, script and JSON rebuild the list in Chromium, served by pywb."""
    from playwright.sync_api import sync_playwright

    portals, data, _result = scripted
    db = sqlite_utils.Database(data / "nianbao.db")
    shell = portals.url("scripted", "/xxgk/ndbg/index.html")
    (page_row,) = db.query("select fetched_at from pages where url = ?", [shell])
    timestamp = re.sub(r"\D", "", page_row["fetched_at"])[:14]
    portals.servers["scripted"].close()  # the live site is gone: only the archive can answer
    with pywb_serving(data) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        # pywb shows the page in a frame under its banner; the list is built in the frame.
        page.goto(f"{base}{timestamp}/{shell}")
        page.wait_for_selector("iframe", timeout=20_000)
        deadline = time.monotonic() + 20
        while not (frames := [f for f in page.frames if "mp_/" in f.url]):
            assert time.monotonic() < deadline, [f.url for f in page.frames]
            page.wait_for_timeout(200)
        frames[0].wait_for_selector("#nb-list[data-loaded=yes]", timeout=20_000)
        titles = frames[0].locator("#nb-list li a").all_text_contents()
        browser.close()
    expected = [r["title"] for r in site_reports(portals) if "/ndbg/" in r["url"]]
    assert sorted(titles) == sorted(expected)
