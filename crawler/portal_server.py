"""Serve the sample portals on loopback: one threaded HTTP server per portal (a portal is a host).

Used by `nianbao demo` and by the tests, which read `SamplePortals.log` (every request, with its
headers and body) and `SamplePortals.expected` (what a correct crawl finds). An extra server on
127.0.0.2 stands for every off-site link and logs anything that reaches it.
`python -m crawler.portal_server` serves them in the foreground.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from crawler.sample_portals import (
    SEARCH_API,
    Page,
    Portals,
    Site,
    build_sites,
    dataproxy_answer,
    json_key,
    search_answer,
)


@dataclass
class LogEntry:
    site: str
    method: str
    path: str  # with the query string
    headers: dict[str, str]
    body: bytes
    status: int


class QuietServer(ThreadingHTTPServer):
    """A client hanging up (Scrapy closing a kept-alive connection) is no error worth a trace."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class PortalServer:
    """One site on its own port, served by threads until `close()`."""

    def __init__(
        self,
        site: Site,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        log: list[LogEntry] | None = None,
        offsite_url: str = "",
    ) -> None:
        self.site = site
        self.latency = latency
        self.log = log if log is not None else []
        self.in_flight = 0  # requests being answered now, and the most there ever were at once
        self.max_in_flight = 0
        self.counting = threading.Lock()
        self.offsite_url = offsite_url
        self.server = QuietServer((host, port), self._handler())
        self.url = f"http://{host}:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def respond(self, method: str, path: str, body: bytes) -> Page:
        """The page for a request: a static page, a posted form's answer, or a Hanweb
        dataproxy.jsp answer."""
        parts = urlsplit(path)
        if parts.path == "/module/web/jpage/dataproxy.jsp" and method == "POST":
            query = dict(parse_qsl(parts.query))
            form = dict(parse_qsl(body.decode("utf-8", "replace")))
            return dataproxy_answer(
                self.site, form, int(query.get("startrecord", 1)), int(query.get("endrecord", 0))
            )
        if parts.path == SEARCH_API and method == "POST":
            form = dict(parse_qsl(body.decode("utf-8", "replace")))
            return search_answer(self.site, form, self.url)
        page = self.site.pages.get(path)
        if method == "POST":
            page = self.site.forms.get((parts.path, posted_key(body)), page)
        if page is None:
            return Page(
                "<html><body>404 页面不存在</body></html>".encode(),
                404,
                [("Content-Type", "text/html; charset=utf-8")],
            )
        if b"{{OFFSITE}}" in page.body:
            return Page(
                page.body.replace(b"{{OFFSITE}}", self.offsite_url.encode()),
                page.status,
                page.headers,
            )
        return page

    def conditional(self, page: Page, request_headers: Any) -> Page:
        """Validators as the site's server gives them, and a 304 when they still match."""
        if page.status != 200 or self.site.validators == "none" or page.no_validators:
            return page
        etag = '"' + hashlib.sha1(page.body).hexdigest()[:16] + '"'
        headers = list(page.headers)
        if self.site.validators == "etag":
            headers.append(("ETag", etag))
        headers.append(("Last-Modified", page.last_modified))
        if (request_headers.get("If-None-Match") == etag and self.site.validators == "etag") or (
            request_headers.get("If-Modified-Since") == page.last_modified
            and not request_headers.get("If-None-Match")
        ):
            return Page(b"", 304, [h for h in headers if h[0] != "Content-Type"])
        return Page(page.body, 200, headers)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        portal = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self, method: str) -> None:
                # In flight from the request's arrival until just before its answer leaves, so
                # a client that sends its next request on receiving the answer is never counted
                # twice.
                with portal.counting:
                    portal.in_flight += 1
                    portal.max_in_flight = max(portal.max_in_flight, portal.in_flight)
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                    body = self.rfile.read(length) if length else b""
                    if portal.latency:
                        time.sleep(portal.latency)
                    page = portal.conditional(portal.respond(method, self.path, body), self.headers)
                finally:
                    with portal.counting:
                        portal.in_flight -= 1
                portal.log.append(
                    LogEntry(
                        portal.site.name,
                        method,
                        self.path,
                        dict(self.headers.items()),
                        body,
                        page.status,
                    )
                )
                self.send_response(page.status)
                for name, value in page.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(page.body)))
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(page.body)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_HEAD(self) -> None:
                self._serve("HEAD")

            def do_POST(self) -> None:
                self._serve("POST")

        return Handler


def posted_key(body: bytes) -> str:
    """A POST body as the sample sites file their answers: a form as sent, a JSON object
    whatever its spacing and key order."""
    text = body.decode("utf-8", "replace")
    if text.lstrip().startswith("{"):
        try:
            return json_key(json.loads(text))
        except ValueError:
            pass
    return text


class SamplePortals:
    """All sample portals plus the off-site host, as a context manager."""

    def __init__(
        self, latency: float = 0.0, portals: Portals | None = None, scripted: bool = False
    ) -> None:
        self.portals = portals or build_sites(scripted=scripted)
        self.latency = latency
        self.log: list[LogEntry] = []
        self.servers: dict[str, PortalServer] = {}
        self.urls: dict[str, str] = {}
        self.offsite_url = ""

    def __enter__(self) -> SamplePortals:
        offsite = PortalServer(Site("offsite"), host="127.0.0.2", log=self.log)
        self.servers["offsite"] = offsite
        self.offsite_url = offsite.url
        for name, site in self.portals.sites.items():
            server = PortalServer(
                site, latency=self.latency, log=self.log, offsite_url=self.offsite_url
            )
            self.servers[name] = server
            self.urls[name] = server.url
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self.servers.values():
            server.close()

    def url(self, site: str, path: str) -> str:
        return self.urls[site].rstrip("/") + path

    @property
    def expected(self) -> dict[str, Any]:
        """What a correct crawl of the portals finds, with absolute URLs."""
        p = self.portals
        return {
            "reports": [
                {
                    "site": r.site,
                    "path": r.path,
                    "url": self.url(r.site, r.path),
                    "also_at_urls": [self.url(r.site, a) for a in r.also_at],
                    "title": r.title,
                    "organization": r.organization,
                    "year": r.year,
                    "format": r.format,
                    "source": r.source,
                    "tables": r.tables,
                }
                for r in p.reports
            ],
            "distractors": [{**d, "url": self.url(d["site"], d["path"])} for d in p.distractors],
            "disallowed": [{**d, "url": self.url(d["site"], d["path"])} for d in p.disallowed],
            "not_found": [{**d, "url": self.url(d["site"], d["path"])} for d in p.not_found],
            "redirects": [
                {
                    **d,
                    "from_url": self.url(d["site"], d["from"]),
                    "to_url": self.url(d["site"], d["to"]),
                }
                for d in p.redirects
            ],
            "attachments": [
                {
                    **a,
                    "url": self.url(a["site"], a["path"]),
                    "report_url": self.url(a["site"], a["report_path"]),
                }
                for a in p.attachments
            ],
        }


def main() -> None:
    with SamplePortals() as portals:
        for name, url in portals.urls.items():
            print(f"{name}: {url}")
        print("Ctrl-C to stop.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
