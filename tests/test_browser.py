"""Lists built by JavaScript: the real headless Chromium (Debian's), only where a page needs it.

The `scripted` sample portal has lists whose JSON API is assembled inside a script (only a
browser finds its three reports), named in plain sight (Scrapy fetches the JSON itself) or
paged in plain sight; two lists that show their first page in the markup and the next only
behind a script's pager (a JSP `goPage(2)` form, a drawn 下一页 asking a POST API); and a
report page whose tables are in a PDF that only a script links (Ucap's empty `相关附件>>`
table). The browser's network traffic must be archived as ordinary records, so pywb replays
the list: the test renders the archived list in Chromium through pywb.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlite_utils
from warcio.archiveiterator import ArchiveIterator

from crawler.browser import find_chromium
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
    assert len(expected) == 19
    assert db["reports"].count == 19
    for report in expected:
        (row,) = db.query(
            "select * from reports where url = :url or id in "
            "(select report_id from report_aliases where url = :url)",
            {"url": report["url"]},
        )
        want = truth_cells(report["tables"])
        got = stored_cells(db, row["id"])
        assert set(got) == set(want)
        for key, (value, _raw) in want.items():
            assert same_value(got[key][0], value), (report["url"], key)


def test_a_file_only_a_script_links_is_found_through_the_browser(scripted):
    """The report page is rendered once for its files; its PDF holds the report, joined to the
    article (stored as the server sent it, not as the rendered DOM)."""
    portals, data, result = scripted
    # The article, saved first without tables, is not left counted as unparsed.
    assert " unparsed=0 " in result.stdout, result.stdout
    (attachment,) = [a for a in portals.expected["attachments"] if a["site"] == "scripted"]
    article = portals.url("scripted", attachment["report_path"])
    assert len(requests_for(portals, attachment["report_path"])) == 2  # plain, then the browser
    assert len(requests_for(portals, "/api/appendix?id=cl2021")) == 1
    db = sqlite_utils.Database(data / "nianbao.db")
    (row,) = db.query("select * from attachments")
    assert row["url"] == attachment["url"] and row["report_url"] == article
    (report,) = db.query("select * from reports where url = ?", [attachment["url"]])
    assert report["source_type"] == "pdf" and report["article_url"] == article
    assert [a["url"] for a in db.query("select url from report_aliases")] == [article]
    pages = [r for r in db.query("select * from pages where url = ?", [article])]
    assert len(pages) == 1 and pages[0]["record_type"] == "response"


def test_replay_of_a_crawl_with_rendered_pages_gives_the_crawl(scripted, tmp_path: Path):
    """What the browser fetched is stored as pages, in the crawl and in the replay alike: the
    report page rendered for its files is not a second capture of the report."""
    _portals, data, result = scripted
    replayed = nianbao("replay", str(data / "warc"), "--data", str(tmp_path / "r"))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr[-3000:]
    summary = re.search(r"reports=\d+ new=\d+ changed=\d+ copies=\d+ unparsed=\d+", result.stdout)
    assert summary and summary.group(0) in replayed.stdout, (result.stdout, replayed.stdout)
    assert "converted=" not in replayed.stdout
    db = sqlite_utils.Database(tmp_path / "r" / "nianbao.db")
    assert report_snapshot(db) == report_snapshot(sqlite_utils.Database(data / "nianbao.db"))


def test_the_browser_is_used_only_where_needed(scripted):
    portals, _data, _result = scripted
    for report in site_reports(portals)[:4]:  # tables in the page: never rendered
        path = report["url"].split("/", 3)[3]
        assert len(requests_for(portals, "/" + path)) == 1, path
    assert len(requests_for(portals, "/xxgk/ndbg/index.html")) == 2  # plain, then the browser
    assert len(requests_for(portals, "/js/nblist.js")) == 1  # only the browser runs scripts
    assert len(requests_for(portals, "/api/nb/list?page=1")) == 1
    # The hidden list's second page waits for a click on its pager: asked for once, at the
    # address the browser saw for the first.
    assert len(requests_for(portals, "/api/nb/list?page=2")) == 1
    # A paged API in plain sight: paged through without a browser.
    assert len(requests_for(portals, "/xxgk/bmnb/")) == 1
    assert len(requests_for(portals, "/api/nb/dept?pageNo=2&pageSize=1")) == 1
    # One paged by record offset: its second page starts at the third record.
    assert len(requests_for(portals, "/xxgk/tjj/")) == 1
    assert [e.path for e in portals.log if e.path.startswith("/api/nb/tjj")] == [
        "/api/nb/tjj?start=0&limit=2",
        "/api/nb/tjj?start=2&limit=2",
    ]
    # The list whose API is in plain sight: one plain fetch of the page, Scrapy fetches the JSON.
    assert len(requests_for(portals, "/xxgk/wqnb/")) == 1
    (api,) = requests_for(portals, "/api/nb/archive.json")
    assert api.headers.get("User-Agent", "").startswith("nianbao/")
    for entry in requests_for(portals, "/api/nb/list?page=1"):
        assert entry.headers.get("User-Agent", "").startswith(
            "nianbao/"
        )  # honest in the browser too


def test_a_list_paged_only_by_its_script_is_clicked_through(scripted):
    """Two lists show their first page in the markup and the next only after a click: a JSP
    pager's `goPage(2)` POSTs a hidden form back to the list (the browser loads the answer,
    after a click), and a pager a script draws asks a POST API for JSON (the list changes in
    place): the browser's first POST shows how, and Scrapy POSTs for page 2 itself, with no
    click. Each list is rendered once; its report on page 2 is found (the first test checks
    its cells), and what was fetched for page 2 is archived with the form it sent."""
    portals, data, result = scripted
    assert "'nianbao/browser/script_pagers': 2" in result.stderr
    site = portals.portals.sites["scripted"]
    assert [e.method for e in requests_for(portals, "/xxgk/sfj/list.do")] == ["GET", "GET", "POST"]
    (posted,) = [e for e in requests_for(portals, "/xxgk/sfj/list.do") if e.method == "POST"]
    assert posted.body == b"channelId=12&pageNo=2"
    assert len(requests_for(portals, "/xxgk/wjw/index.html")) == 2  # plain, then the browser
    # Page 1 asked by the page's script in Chromium (an Origin), page 2 by Scrapy (none).
    assert [(e.body, "Origin" in e.headers) for e in requests_for(portals, "/api/search")] == [
        (b"channelid=1813&page=1", True),
        (b"channelid=1813&page=2", False),
    ]
    db = sqlite_utils.Database(data / "nianbao.db")
    for path in ("/xxgk/sfj/2022/nb2021.html", "/xxgk/wjw/202203/t20220301_2021.html"):
        (row,) = db.query("select * from reports where url = ?", [portals.url("scripted", path)])
        assert row["year"] == 2021 and row["consistent"] == 1
    requests = {}
    for path in sorted((data / "warc").glob("*.warc.gz")):
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "request" and "POST" in record.http_headers.protocol:
                    uri = record.rec_headers.get_header("WARC-Target-URI")
                    requests[uri] = record.content_stream().read()
    assert requests[portals.url("scripted", "/xxgk/sfj/list.do")] == posted.body
    answer = site.forms[("/api/search", "channelid=1813&page=2")].body
    responses = [body for kind, uri, body in warc_records(data) if kind == "response"]
    assert answer in responses


def test_a_list_a_script_asks_for_by_posting_json_is_paged_without_a_click(scripted):
    """A Vue-style list POSTs a JSON object for each page and draws a pager of icons only
    (nothing to click by): the browser's first POST shows the page number and the total, and
    Scrapy POSTs the object again for page 2; its report is found, the object archived."""
    portals, data, _result = scripted
    asked = [
        (json.loads(e.body), "Origin" in e.headers) for e in requests_for(portals, "/api/fgw/list")
    ]
    assert asked == [
        ({"channelId": 77, "page": {"pageNo": 1, "pageSize": 2}}, True),  # the page's script
        # Scrapy: the number a number, set inside the nested object where the script put it
        ({"channelId": 77, "page": {"pageNo": 2, "pageSize": 2}}, False),
    ]
    db = sqlite_utils.Database(data / "nianbao.db")
    url = portals.url("scripted", "/xxgk/fgw/2022/nb2021.html")
    (row,) = db.query("select * from reports where url = ?", [url])
    assert row["organization"] == "示例市发展和改革委员会"
    assert (row["year"], row["consistent"]) == (2021, 1)
    sent = [
        json.loads(body)
        for kind, uri, body in warc_records(data)
        if kind == "request" and uri.endswith("/api/fgw/list")
    ]
    assert [s["page"]["pageNo"] for s in sent] == [1, 2]


def test_a_second_night_asks_for_a_clicked_list_conditionally(scripted, tmp_path: Path):
    """The page the click posted for is stored beside the list's own page, never in its place:
    the next night asks for the list with its own validators (a 304), follows its stored copy,
    and clicks through again; a replay of the archive stores the same page rows."""
    portals, data, _result = scripted
    night = tmp_path / "night2"
    shutil.copytree(data, night)
    url = portals.url("scripted", "/xxgk/sfj/list.do")
    first = sqlite_utils.Database(data / "nianbao.db")
    (own,) = first.query("select * from pages where url = ?", [url])
    body = portals.portals.sites["scripted"].pages["/xxgk/sfj/list.do"].body
    assert (own["method"], own["etag"]) == (None, f'"{hashlib.sha1(body).hexdigest()[:16]}"')
    start = len(portals.log)
    result = nianbao("crawl", portals.urls["scripted"], "--data", str(night), *FAST)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert " new=0 changed=0 " in result.stdout, result.stdout
    asked = [(e.method, e.status) for e in portals.log[start:] if e.path == "/xxgk/sfj/list.do"]
    assert asked == [("GET", 304), ("GET", 200), ("POST", 200)]  # plain, browser, click
    replayed = nianbao("replay", str(data / "warc"), "--data", str(tmp_path / "r"))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr[-3000:]
    (again,) = sqlite_utils.Database(tmp_path / "r" / "nianbao.db").query(
        "select * from pages where url = ?", [url]
    )
    assert (again["method"], again["payload_digest"]) == (None, own["payload_digest"])


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
    # The two hidden lists, the two lists behind a script's pager, and the report page whose
    # file only a script links: each said.
    assert "browser_unavailable=5" in result.stdout and " unparsed=1 " in result.stdout
    db = sqlite_utils.Database(tmp_path / "nianbao.db")
    years = "select year, (select count(*) from report_cells where report_id = r.id) as cells"
    found = sorted((r["year"], bool(r["cells"])) for r in db.query(f"{years} from reports r"))
    # The first pages of the lists behind a script's pager are in the markup: found.
    assert found == [
        (2019, True), (2021, False), (2021, True), *[(2022, True)] * 3, *[(2023, True)] * 5
    ]  # fmt: skip
    assert not [e for e in portals.log if e.path.startswith("/js/") or e.method == "POST"]


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
    assert requests_for(portals, "/js/appendix.js") == []  # the report page's, too
    assert requests_for(portals, "/js/pagebar.js") == []  # and a pager's: no page clicked
    assert requests_for(portals, "/api/search") == []
    assert requests_for(portals, "/api/fgw/list") == []
    assert "'nianbao/browser/robots_forbidden': 4" in result.stderr
    db = sqlite_utils.Database(tmp_path / "nianbao.db")
    years = [r["year"] for r in db.query("select year from reports order by 1")]
    # The form pager's script is inline: its second page (2021) is found all the same.
    assert years == [2019, *[2021] * 3, *[2022] * 3, *[2023] * 5]


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
    assert len(articles) == 1  # report pages with their tables are never rendered
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
    assert sqlite_utils.Database(tmp_path / "d" / "nianbao.db")["reports"].count == len(
        site_reports(portals)
    )


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
    # The list's first page, as the page shows it (the others wait for a click on its pager).
    first = portals.portals.sites["scripted"].pages["/api/nb/list?page=1"].body
    expected = [item["title"] for item in json.loads(first)["items"]]
    assert len(expected) == 2 and sorted(titles) == sorted(expected)


GUARDED_SCRIPT = """
(function () {
  function get(path) { var x = new XMLHttpRequest(); x.open('GET', path); x.send(); return x; }
  var list = document.getElementById('nb-list');
  var moved = get(['', 'api', 'nb', 'moved'].join('/'));  // 302 to an allowed list
  var hidden = get(['', 'api', 'redir'].join('/'));  // 302 to a forbidden list
  hidden.onload = function () {
    JSON.parse(hidden.responseText).items.forEach(function (item) {
      var a = '<a href="' + item.url + '">' + item.title + '</a>';
      list.insertAdjacentHTML('beforeend', '<li>' + a + '</li>');
    });
  };
  var frame = document.createElement('iframe');
  frame.src = ['', 'secret', 'frame.html'].join('/');
  document.body.appendChild(frame);
})();
"""


def test_the_browser_obeys_robots_txt_through_redirects_and_iframes(tmp_path: Path):
    """An XHR redirected into a forbidden folder, and a script-made iframe inside it: neither is
    fetched (Playwright shows no route handler a redirect hop), nor the forbidden list's links."""
    from crawler.sample_portals import Page, build_sites

    built = build_sites(scripted=True)
    pages = built.sites["scripted"].pages
    text = [("Content-Type", "text/plain")]
    pages["/robots.txt"] = Page(b"User-agent: *\nDisallow: /secret/\n", 200, text)
    pages["/js/nblist.js"].body += GUARDED_SCRIPT.encode()
    pages["/api/nb/moved"] = Page(b"", 302, [("Location", "/api/nb/list?page=2")])
    pages["/api/redir"] = Page(b"", 302, [("Location", "/secret/list")])
    pages["/secret/list"] = Page(
        b'{"items": [{"title": "2009\\u5e74\\u62a5", "url": "/secret/nb2009.html"}]}',
        200,
        [("Content-Type", "application/json")],
    )
    pages["/secret/frame.html"] = Page(b"<p>secret</p>", 200, [("Content-Type", "text/html")])
    with SamplePortals(portals=built) as portals:
        result = nianbao("crawl", portals.urls["scripted"], "--data", str(tmp_path), *FAST)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    scripted_paths = [e.path for e in portals.log if e.site == "scripted"]
    assert not [p for p in scripted_paths if p.startswith("/secret/")], scripted_paths
    assert "/api/redir" in scripted_paths  # asked, its forbidden target not
    assert "/api/nb/moved" in scripted_paths
    assert "'nianbao/browser/robots_forbidden': 2" in result.stderr
    # The allowed redirect was followed by the browser, and archived hop by hop.
    uris = {uri for kind, uri, _ in warc_records(tmp_path) if kind == "response"}
    assert portals.url("scripted", "/api/nb/moved") in uris
    assert not [u for u in uris if "/secret/" in u]
    assert sqlite_utils.Database(tmp_path / "nianbao.db")["reports"].count == len(
        site_reports(portals)
    )


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no browser trusts (cryptography, else the openssl CLI)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        if not shutil.which("openssl"):
            pytest.skip("neither cryptography nor openssl to make a certificate")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True,
        )  # fmt: skip
        return cert, key
    import datetime
    import ipaddress

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key


def test_a_portal_with_a_self_signed_certificate_is_rendered_too(tmp_path: Path):
    """Scrapy accepts any certificate, so must the browser; and one Chromium serves both
    schemes (the same portal over http and over https in one crawl)."""
    import ssl

    from crawler.portal_server import PortalServer
    from crawler.sample_portals import build_sites

    cert, key = self_signed_certificate(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with SamplePortals(scripted=True) as portals:
        secure = PortalServer(build_sites(scripted=True).sites["scripted"], log=[])
        secure.server.socket = tls.wrap_socket(secure.server.socket, server_side=True)
        https_url = secure.url.replace("http://", "https://")
        try:
            result = nianbao(
                "crawl", portals.urls["scripted"], https_url, "--data", str(tmp_path / "d"), *FAST
            )
        finally:
            secure.close()
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    shell = [e for e in secure.log if e.path == "/xxgk/ndbg/index.html"]
    assert len(shell) == 2  # plain, then the browser
    assert [e for e in secure.log if e.path == "/api/nb/list?page=2"]
    behind_the_script = {f"/xxgk/ndbg/{y}/nb{y}.html" for y in (2021, 2022, 2023)}
    assert behind_the_script <= {e.path for e in secure.log}
    assert "'playwright/browser_count': 1," in result.stderr


def test_a_crawl_with_no_scripted_list_starts_no_browser(tmp_path: Path):
    with SamplePortals() as portals:
        result = nianbao("crawl", portals.urls["trs"], "--data", str(tmp_path), *FAST)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "Starting download handler" in result.stderr  # the browser was available
    assert "playwright/browser_count" not in result.stderr
    assert "playwright/context_count" not in result.stderr


def test_a_crawl_with_a_scripted_list_starts_one_browser(scripted):
    _portals, _data, result = scripted
    assert "'playwright/browser_count': 1," in result.stderr


def test_the_next_night_archives_unchanged_browser_traffic_as_revisits(tmp_path: Path):
    """The script and the list's JSON the browser loads again, unchanged, are revisits the
    next night, not whole copies; the reports are all still found."""
    data = tmp_path / "data"
    with SamplePortals(scripted=True) as portals:
        for _night in range(2):
            result = nianbao(
                "crawl", portals.urls["scripted"], "--data", str(data), "--refresh-days", "0", *FAST
            )
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        loaded = [portals.url("scripted", p) for p in ("/js/nblist.js", "/api/nb/list?page=1")]
    second_night = sorted((data / "warc").glob("*.warc.gz"))[-1]
    kinds: dict[str, list[str]] = {}
    with second_night.open("rb") as fh:
        for record in ArchiveIterator(fh):
            uri = record.rec_headers.get_header("WARC-Target-URI")
            if record.rec_type in ("response", "revisit"):
                kinds.setdefault(uri, []).append(record.rec_type)
    for url in loaded:
        assert kinds.get(url) and set(kinds[url]) == {"revisit"}, (url, kinds.get(url))
    db = sqlite_utils.Database(data / "nianbao.db")
    assert db["reports"].count == len(site_reports(portals))


def test_the_browser_keeps_to_the_per_host_limit(tmp_path: Path):
    """A rendered page loads its scripts one at a time per host: with Scrapy's own requests the
    portal never has more than 2 at once (Chromium alone opened 6)."""
    from crawler.sample_portals import Page, build_sites

    built = build_sites(scripted=True)
    pages = built.sites["scripted"].pages
    scripts = [f"/js/part{n}.js" for n in range(5)]
    for path in scripts:
        pages[path] = Page(b"var loaded = true;", 200, [("Content-Type", "text/javascript")])
    tags = "".join(f"<script src='{path}'></script>" for path in scripts)
    shell = pages["/xxgk/ndbg/index.html"]
    pages["/xxgk/ndbg/index.html"] = Page(
        shell.body.replace(b"</body>", tags.encode() + b"</body>"), 200, shell.headers
    )
    with SamplePortals(portals=built, latency=0.2) as portals:
        result = nianbao("crawl", portals.urls["scripted"], "--data", str(tmp_path), *FAST)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert all(len(requests_for(portals, path)) == 1 for path in scripts)
    assert portals.servers["scripted"].max_in_flight == 2
    assert sqlite_utils.Database(tmp_path / "nianbao.db")["reports"].count == len(
        site_reports(portals)
    )


def test_a_report_page_left_without_its_tables_is_fetched_whole_when_due(tmp_path: Path):
    """Crawled once with no browser, the report page whose PDF a script links has no tables.
    When its refresh period is over it is fetched whole, not conditionally (a 304 would leave
    it so for good): rendered now, its PDF is found and the report gets its cells."""
    with SamplePortals(scripted=True) as portals:
        url = portals.urls["scripted"]
        off = ("-s", "NIANBAO_BROWSER=off")
        first = nianbao("crawl", url, "--data", str(tmp_path), *FAST, *off)
        assert " unparsed=1 " in first.stdout, first.stdout
        second = nianbao("crawl", url, "--data", str(tmp_path), *FAST, "--refresh-days", "0")
        (attachment,) = [a for a in portals.expected["attachments"] if a["site"] == "scripted"]
    assert second.returncode == 0, second.stdout + second.stderr[-3000:]
    asked = requests_for(portals, attachment["report_path"])
    assert len(asked) == 3  # first crawl; then whole, and again in the browser
    assert "If-None-Match" not in asked[1].headers and asked[1].status == 200
    db = sqlite_utils.Database(tmp_path / "nianbao.db")
    (report,) = db.query("select * from reports where url = ?", [attachment["url"]])
    assert db["report_cells"].count_where("report_id = ?", [report["id"]]) > 100
    assert " unparsed=0 " in second.stdout, second.stdout
