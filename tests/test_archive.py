"""The archive: a real Scrapy crawl through WarcArchiver, read back with warcio; reader; repair."""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.index import warc_files, write_cdxj
from archive.reader import iter_captures
from archive.repair import check_and_repair, repair_folder
from archive.writer import RotatingWarcWriter

PAGE = "<html><head><title>测试页面</title></head><body>" + "政府信息公开" * 50 + "</body></html>"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def send(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        html = [("Content-Type", "text/html; charset=utf-8")]
        if self.path == "/robots.txt":
            self.send(
                200, b"User-agent: *\nDisallow: /private/\n", [("Content-Type", "text/plain")]
            )
        elif self.path == "/gzip?x=1":
            body = gzip.compress(PAGE.encode())
            self.send(200, body, [*html, ("Content-Encoding", "gzip")])
        elif self.path == "/redirect":
            self.send(301, b"", [("Location", "/gzip?x=1")])
        elif self.path == "/cookies":
            self.send(200, PAGE.encode(), [*html, ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
        elif self.path == "/error":
            self.send(500, b"oops", html)
        else:
            self.send(404, b"not here", html)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self.send(200, b"<datastore>" + body + b"</datastore>", [("Content-Type", "text/xml")])


SPIDER = textwrap.dedent(
    """
    import json, sys
    import scrapy
    from scrapy.crawler import AsyncCrawlerProcess
    from archive.signals import response_archived

    base, warc_dir, index = sys.argv[1], sys.argv[2], sys.argv[3]
    seen = []

    class S(scrapy.Spider):
        name = "archive-test"
        custom_settings = {"HTTPERROR_ALLOW_ALL": True}

        async def start(self):
            for path in ["/gzip?x=1", "/redirect", "/cookies", "/missing", "/error", "/private/x"]:
                yield scrapy.Request(base + path, callback=self.parse)
            yield scrapy.FormRequest(base + "/post?startrecord=1&endrecord=45",
                                     formdata={"columnid": "7", "unitid": "9"},
                                     callback=self.parse)

        def parse(self, response):
            seen.append({"url": response.url, "status": response.status,
                         "warc": response.meta.get("warc")})

    def archived(response, request, location, spider):
        seen.append({"archived": response.url, "status": response.status})

    process = AsyncCrawlerProcess({
        "EXTENSIONS": {"archive.extension.WarcArchiver": 100},
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawler.robots.RobotsTxtMiddleware": 100,
        },
        "WARC_DIR": warc_dir, "WARC_INDEX_PATH": index, "ROBOTSTXT_OBEY": True,
        "RETRY_ENABLED": False, "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False, "USER_AGENT": "nianbao-test",
    })
    crawler = process.create_crawler(S)
    crawler.signals.connect(archived, signal=response_archived)
    process.crawl(crawler)
    process.start()
    print(json.dumps({"seen": seen, "stats": {k: v for k, v in crawler.stats.get_stats().items()
                                              if k.startswith("warc/")}}))
    """
)


@pytest.fixture(scope="module")
def archived(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("archive")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    script = tmp / "crawl.py"
    script.write_text(SPIDER, encoding="utf-8")
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, str(script), base, str(tmp / "warc"), str(tmp / "index.cdxj")],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=120,
        check=False,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    server.shutdown()
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return tmp, base, data


def all_records(warc_dir: Path) -> list:
    records = []
    for path in sorted(warc_dir.glob("*.warc.gz")):
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                record.body = record.content_stream().read()
                records.append(record)
    return records


def test_every_fetch_is_a_linked_request_response_pair(archived):
    tmp, base, data = archived
    records = all_records(tmp / "warc")
    assert records[0].rec_type == "warcinfo"
    responses = {
        r.rec_headers.get_header("WARC-Record-ID"): r for r in records if r.rec_type == "response"
    }
    requests = [r for r in records if r.rec_type == "request"]
    assert len(requests) == len(responses)
    for request in requests:
        assert request.rec_headers.get_header("WARC-Concurrent-To") in responses
    urls = {r.rec_headers.get_header("WARC-Target-URI"): r for r in responses.values()}
    # robots.txt, redirect, 404, 500 archived too; the disallowed path never fetched
    for path in ("/robots.txt", "/redirect", "/missing", "/error", "/gzip?x=1", "/cookies"):
        assert base + path in urls, path
    assert base + "/private/x" not in urls
    assert urls[base + "/redirect"].http_headers.get_statuscode() == "301"
    assert urls[base + "/error"].http_headers.get_statuscode() == "500"
    assert data["stats"]["warc/records"] == 2 * len(responses)
    assert data["stats"].get("warc/write_failed", 0) == 0


def test_records_are_faithful(archived):
    tmp, base, _ = archived
    records = all_records(tmp / "warc")
    by_url = {(r.rec_type, r.rec_headers.get_header("WARC-Target-URI")): r for r in records}
    gz = by_url[("response", base + "/gzip?x=1")]
    assert gz.http_headers.protocol == "HTTP/1.1"
    assert gz.http_headers.statusline == "200 OK"
    assert gz.http_headers.get_header("Content-Encoding") == "gzip"
    assert gz.body.decode() == PAGE  # content_stream() undoes the gzip that was stored
    assert gz.rec_headers.get_header("WARC-IP-Address") == "127.0.0.1"
    assert gz.rec_headers.get_header("WARC-Payload-Digest").startswith("sha1:")
    raw_length = int(gz.http_headers.get_header("Content-Length"))
    assert raw_length == len(gzip.compress(PAGE.encode()))
    cookies = by_url[("response", base + "/cookies")]
    assert [v for k, v in cookies.http_headers.headers if k.lower() == "set-cookie"] == [
        "a=1",
        "b=2",
    ]
    assert cookies.http_headers.get_header("Transfer-Encoding") is None
    post = by_url[("request", base + "/post?startrecord=1&endrecord=45")]
    assert post.http_headers.protocol == "POST"
    assert post.http_headers.statusline == "/post?startrecord=1&endrecord=45 HTTP/1.1"
    assert post.body == b"columnid=7&unitid=9"
    assert post.http_headers.get_header("Host") == base.removeprefix("http://")
    assert post.http_headers.get_header("User-Agent") == "nianbao-test"


def test_warcio_check_passes(archived):
    tmp, _, _ = archived
    warcio = Path(sys.executable).parent / "warcio"
    files = [str(p) for p in (tmp / "warc").glob("*.warc.gz")]
    result = subprocess.run(
        [str(warcio), "check", *files], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout
    assert not list((tmp / "warc").glob("*.open"))


def test_meta_location_reads_back_its_own_record_and_signal_fired(archived):
    tmp, _, data = archived
    parsed = [s for s in data["seen"] if "url" in s]
    fired = [s["archived"] for s in data["seen"] if "archived" in s]
    assert len(fired) == len(set(fired))  # once per response
    for item in parsed:
        warc = item["warc"]
        with (tmp / "warc" / warc["filename"]).open("rb") as fh:
            fh.seek(warc["offset"])
            record = next(iter(ArchiveIterator(fh)))
        assert record.rec_type == "response"
        assert record.rec_headers.get_header("WARC-Target-URI") == item["url"]
        assert record.rec_headers.get_header("WARC-Payload-Digest") == warc["payload_digest"]
        assert item["url"] in fired


def test_cdxj_index_is_sorted_and_complete(archived):
    tmp, base, _ = archived
    lines = (tmp / "index.cdxj").read_text().splitlines()
    assert lines == sorted(lines)
    urls = {json.loads(line.split(" ", 2)[2])["url"] for line in lines}
    assert {base + "/gzip?x=1", base + "/redirect", base + "/missing"} <= urls


def response_record(
    writer: RotatingWarcWriter, url: str, body: bytes, content_type: str = "text/html"
) -> Any:
    """A 200 `response` record of `body` at `url`, made by `writer` (not yet written)."""
    from io import BytesIO

    from warcio.statusandheaders import StatusAndHeaders

    http = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
    return writer.writer.create_warc_record(
        url, "response", payload=BytesIO(body), length=len(body), http_headers=http
    )


def make_warc(directory: Path, count: int, max_size: int = 10**9) -> RotatingWarcWriter:
    writer = RotatingWarcWriter(directory, "t", max_size, {"software": "test"})
    for i in range(count):
        body = f"<html><title>{i}</title>{random.randbytes(1500).hex()}</html>".encode()
        writer.write(response_record(writer, f"http://a.gov.cn/{i}.html", body))
    return writer


def test_rotation_gives_unique_files_each_starting_with_warcinfo(tmp_path):
    writer = make_warc(tmp_path, 20, max_size=5000)
    writer.close()
    files = sorted(tmp_path.glob("*.warc.gz"))
    assert len(files) > 3 and len({f.name for f in files}) == len(files)
    urls = []
    for path in files:
        with path.open("rb") as fh:
            kinds = [
                (r.rec_type, r.rec_headers.get_header("WARC-Target-URI"))
                for r in ArchiveIterator(fh)
            ]
        assert kinds[0][0] == "warcinfo"
        urls += [u for k, u in kinds if k == "response"]
    assert urls == [f"http://a.gov.cn/{i}.html" for i in range(20)]


def test_reader_skips_a_corrupt_record_and_a_truncated_tail(tmp_path):
    make_warc(tmp_path, 6).close()
    (path,) = tmp_path.glob("*.warc.gz")
    offsets = []
    with path.open("rb") as fh:
        iterator = ArchiveIterator(fh)
        for _ in iterator:
            offsets.append(iterator.get_record_offset())
    data = bytearray(path.read_bytes())
    middle = offsets[3]  # record of http://a.gov.cn/2.html (after warcinfo, 0, 1)
    data[middle + 20 : middle + 60] = b"\x00" * 40
    data = data[: len(data) - 30]  # cut the last record short
    path.write_bytes(bytes(data))
    errors = []
    urls = [r.url for r in iter_captures([tmp_path], errors=errors)]
    assert urls == [
        "http://a.gov.cn/0.html",
        "http://a.gov.cn/1.html",
        "http://a.gov.cn/3.html",
        "http://a.gov.cn/4.html",
    ]
    assert len(errors) == 2 and all(e.filename == path.name for e in errors)


@pytest.mark.parametrize("where", ["magic", "header", "deflate", "crc"])
def test_damage_anywhere_in_a_record_loses_that_record_only(tmp_path, where):
    make_warc(tmp_path, 8).close()
    (path,) = tmp_path.glob("*.warc.gz")
    with path.open("rb") as fh:
        iterator = ArchiveIterator(fh)
        offsets = []
        for _ in iterator:
            offsets.append(iterator.get_record_offset())
    start, end = offsets[4], offsets[5]  # http://a.gov.cn/3.html
    at = {"magic": start, "header": start + 10, "deflate": start + 200, "crc": end - 6}[where]
    data = bytearray(path.read_bytes())
    data[at : at + 4] = bytes(b ^ 0xFF for b in data[at : at + 4])
    path.write_bytes(bytes(data))
    errors = []
    urls = [r.url for r in iter_captures([tmp_path], errors=errors)]
    assert urls == [f"http://a.gov.cn/{i}.html" for i in range(8) if i != 3]
    assert [(e.filename, e.offset) for e in errors] == [(path.name, start)]


def test_repair_keeps_good_prefix_and_sets_tail_aside(tmp_path):
    writer = make_warc(tmp_path, 5)
    name = writer.name
    writer.handle.flush()
    open_path = tmp_path / (name + ".open")
    full = open_path.read_bytes()
    open_path.write_bytes(full[:-25])  # as if killed mid-record
    (result,) = repair_folder(tmp_path)
    assert result.status == "repaired" and result.path.name == name
    assert (tmp_path / (name + ".broken-tail")).stat().st_size == result.tail_bytes
    assert result.good_bytes + result.tail_bytes == len(full) - 25
    with result.path.open("rb") as fh:
        urls = [
            r.rec_headers.get_header("WARC-Target-URI")
            for r in ArchiveIterator(fh)
            if r.rec_type == "response"
        ]
    assert urls == [f"http://a.gov.cn/{i}.html" for i in range(4)]
    assert check_and_repair(result.path).status == "ok"  # idempotent


def test_repair_stopped_midway_loses_nothing(tmp_path, monkeypatch):
    """The tail is saved aside before the file is cut: stopped between the two (here the
    first sync fails, as a crash would stop it), the file is still whole, the tail is saved,
    and the next repair finishes the job."""
    import archive.repair

    writer = make_warc(tmp_path, 5)
    name = writer.name
    writer.handle.flush()
    open_path = tmp_path / (name + ".open")
    cut = open_path.read_bytes()[:-25]
    open_path.write_bytes(cut)

    def crash(fd: int) -> None:
        raise OSError("stopped here")

    monkeypatch.setattr(archive.repair.os, "fsync", crash)
    with pytest.raises(OSError, match="stopped here"):
        repair_folder(tmp_path)
    monkeypatch.undo()
    tail = (tmp_path / (name + ".broken-tail")).read_bytes()
    assert open_path.read_bytes() == cut and tail and cut.endswith(tail)
    (result,) = repair_folder(tmp_path)
    assert result.status == "repaired" and result.good_bytes + len(tail) == len(cut)


def test_index_of_a_folder(tmp_path):
    make_warc(tmp_path / "w", 3).close()
    assert write_cdxj(tmp_path / "w", tmp_path / "index.cdxj") == 3


def test_index_is_made_per_warc_and_merged(tmp_path):
    """Each night indexes only its new WARC; the merged index equals a full rebuild, always."""
    folder, parts = tmp_path / "w", tmp_path / "index.cdxj.d"
    merged, full = tmp_path / "index.cdxj", tmp_path / "full.cdxj"

    def same_as_a_full_rebuild() -> int:
        lines = write_cdxj(folder, merged, parts=parts)
        write_cdxj(folder, full)
        assert merged.read_bytes() == full.read_bytes()
        assert sorted(merged.read_bytes().splitlines()) == merged.read_bytes().splitlines()
        return lines

    make_warc(folder, 12, max_size=5000).close()
    first = sorted(folder.glob("*.warc.gz"))
    assert len(first) > 2
    assert same_as_a_full_rebuild() == 12
    made = {p.name: p.stat().st_mtime_ns for p in parts.glob("*.cdxj")}
    assert len(made) == len(first)

    time.sleep(0.02)
    make_warc(folder, 3).close()  # the next night: one new file
    assert same_as_a_full_rebuild() == 15
    again = {p.name: p.stat().st_mtime_ns for p in parts.glob("*.cdxj")}
    assert len(again) == len(first) + 1
    assert all(again[name] == made[name] for name in made), "an unchanged WARC was re-indexed"

    # A WARC rewritten since (as a repair does) is indexed again; a WARC gone leaves the index.
    other = tmp_path / "other"
    make_warc(other, 1).close()
    first[0].write_bytes(next(other.glob("*.warc.gz")).read_bytes())
    later = time.time() + 5
    os.utime(first[0], (later, later))
    first[-1].unlink()
    lines = same_as_a_full_rebuild()
    assert not (parts / (first[-1].name + ".cdxj")).exists()
    assert lines < 15


def test_folders_written_at_the_same_time_are_read_in_capture_order(tmp_path):
    """Two workers' WARCs overlap in time: records come back merged by date, not file by file."""
    writers = [
        RotatingWarcWriter(tmp_path / name, name, 10**9, {"software": "test"})
        for name in ("worker-b", "worker-a")
    ]
    written = []
    for i in range(6):
        writer = writers[i % 2]
        url = f"http://a.gov.cn/{i}.html"
        writer.write(response_record(writer, url, f"<html>{i}</html>".encode()))
        written.append(url)
        time.sleep(0.002)
    for writer in writers:
        writer.close()
    read = [r.url for r in iter_captures([tmp_path / "worker-a", tmp_path / "worker-b"])]
    assert read == written


def test_a_warc_file_given_twice_is_read_once(tmp_path: Path):
    """`nianbao replay data/warc data/warc/x.warc.gz`: the file is replayed once, not twice
    (the rows came out right, but every count was doubled)."""
    folder = tmp_path / "warc"
    (folder / "old").mkdir(parents=True)
    for name in ("a-20240101.warc.gz", "old/b-20230101.warc.gz"):
        (folder / name).write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not a WARC")
    given = [folder, folder / "a-20240101.warc.gz", tmp_path / "warc" / ".." / "warc" / "old"]
    assert [p.name for p in warc_files(given)] == ["a-20240101.warc.gz", "b-20230101.warc.gz"]


def test_a_warc_file_named_without_a_time_is_placed_by_its_first_record(tmp_path: Path):
    """Files renamed by hand (no timestamp in the name) are opened when their first record is
    due, not all at once: their start is read from their head."""
    from archive.reader import _started

    folders = [tmp_path / "early", tmp_path / "late"]
    for folder in folders:
        make_warc(folder, 2).close()
        time.sleep(0.01)
    together = tmp_path / "renamed"
    together.mkdir()
    (early,) = folders[0].glob("*.warc.gz")
    (late,) = folders[1].glob("*.warc.gz")
    early.rename(together / "b.warc.gz")
    late.rename(together / "a.warc.gz")
    started = {name: _started(together / name) for name in ("a.warc.gz", "b.warc.gz")}
    assert "" < started["b.warc.gz"] < started["a.warc.gz"], started
    dates = [record.date for record in iter_captures(together)]
    assert len(dates) == 4 and dates == sorted(dates)
    (together / "c.warc.gz").write_bytes(b"not a WARC at all")
    assert _started(together / "c.warc.gz") == ""


def test_a_conversion_written_after_its_response_joins_it_when_read(tmp_path: Path):
    """The crawl writes a page's conversion once it is parsed, a few fetches later: the reader
    joins it to its response within LOOKAHEAD captures; beyond, the response comes without one
    (and is converted again by the replay), and nothing else is lost."""

    from archive import reader
    from archive.records import conversion_record

    writer = RotatingWarcWriter(tmp_path, "t", 10**9, {"software": "test"})
    ids = []
    total = reader.LOOKAHEAD + 8
    for i in range(total):
        record = response_record(writer, f"http://a.gov.cn/{i}.html", f"<html>{i}</html>".encode())
        writer.write(record)
        ids.append(record.rec_headers.get_header("WARC-Record-ID"))
        if i in (5, total - 1):  # the conversion of record 0 (near), of record 1 (too far)
            source = 0 if i == 5 else 1
            writer.write(
                conversion_record(
                    writer.writer,
                    f"http://a.gov.cn/{source}.html",
                    ids[source],
                    "text/plain",
                    f"正文 {source}",
                    "html:abc",
                )
            )
    writer.close()
    read = list(iter_captures([tmp_path]))
    assert [r.url for r in read] == [f"http://a.gov.cn/{i}.html" for i in range(total)]
    assert read[0].conversion == {
        "content_type": "text/plain",
        "text": "正文 0",
        "converter": "html:abc",
    }
    assert read[1].conversion is None
    assert all(r.conversion is None for r in read[2:])


def test_a_response_larger_than_the_lookahead_keeps_its_request_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The reader holds captures back by count and bytes, but never the newest alone: a 40 MB
    PDF still meets its request record (its Referer joins it to its article)."""
    from io import BytesIO

    from warcio.statusandheaders import StatusAndHeaders

    from archive import reader

    monkeypatch.setattr(reader, "LOOKAHEAD_BYTES", 1000)
    writer = RotatingWarcWriter(tmp_path, "t", 10**9, {"software": "test"})
    for i, size in enumerate((100, 5000, 100)):
        url = f"http://a.gov.cn/{i}.pdf"
        response = response_record(writer, url, b"x" * size, "application/pdf")
        request_http = StatusAndHeaders(
            f"GET /{i}.pdf HTTP/1.1",
            [("Referer", f"http://a.gov.cn/{i}.html")],
            is_http_request=True,
        )
        request = writer.writer.create_warc_record(
            url,
            "request",
            payload=BytesIO(b""),
            length=0,
            http_headers=request_http,
            warc_headers_dict={
                "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID")
            },
        )
        writer.write(response, request)
    writer.close()
    read = list(iter_captures([tmp_path]))
    assert [len(r.body) for r in read] == [100, 5000, 100]
    assert [dict(r.request_headers).get("Referer") for r in read] == [
        f"http://a.gov.cn/{i}.html" for i in range(3)
    ]
