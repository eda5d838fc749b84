"""The headless browser (scrapy-playwright + the system Chromium), only for pages that need it.

Playwright cannot download its own browser here, and does not need to: Debian's `chromium` is
launched through `executable_path`. The download handler is installed only when a Chromium is
found and `NIANBAO_BROWSER` is on; requests go through the browser only when a spider marks them
(`browser_meta`), so every other page is a plain, cheap Scrapy fetch.

What the browser receives over the network (the page, its scripts, the JSON they load) is handed
to the archive as ordinary responses through the `browser_response` signal; the rendered DOM is
never archived as a `response`.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.http import Headers
from scrapy.responsetypes import responsetypes

from archive.signals import browser_response
from crawler.robots import allowed_by_robots

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
# The browser hands over decoded bodies: these headers would no longer describe them.
STALE_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}


def find_chromium(configured: str | None = None) -> str | None:
    """The Chromium to drive: NIANBAO_CHROMIUM, or Debian's, or one on the PATH."""
    for candidate in (configured, "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def proxy_option(environ: dict[str, str] | None = None) -> dict[str, str] | None:
    """The proxy environment variables (as Scrapy reads them) for Chromium's launch options."""
    env = environ if environ is not None else dict(os.environ)
    server = next(
        (env[k] for k in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY") if env.get(k)),
        None,
    )
    if not server:
        return None
    option = {"server": server}
    bypass = env.get("no_proxy") or env.get("NO_PROXY")
    if bypass:
        option["bypass"] = bypass
    return option


def browser_settings(chromium: str, user_agent: str) -> dict[str, Any]:
    """Settings that let marked requests go through scrapy-playwright and this Chromium.

    The browser says who it is with our own User-Agent, for the page and for every script and
    XHR request it makes (scrapy-playwright alone would only set it on the page).
    """
    launch: dict[str, Any] = {
        "executable_path": chromium,
        "headless": True,
        "args": CHROMIUM_ARGS,
        "timeout": 30_000,
    }
    proxy = proxy_option()
    if proxy:
        launch["proxy"] = proxy
    return {
        "DOWNLOAD_HANDLERS": {"http": HANDLER, "https": HANDLER},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": launch,
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": 30_000,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 2,
        "PLAYWRIGHT_MAX_CONTEXTS": 1,
        "PLAYWRIGHT_CONTEXTS": {"default": {"user_agent": user_agent}},
        "PLAYWRIGHT_PROCESS_REQUEST_HEADERS": None,  # the browser's own headers, our UA
        # Images, fonts and media are not evidence of a report list; the rest is archived.
        "PLAYWRIGHT_ABORT_REQUEST": "crawler.browser.skip_resource",
    }


def skip_resource(request: Any) -> bool:
    """Abort what the browser must not fetch: media (not evidence) and what robots.txt forbids."""
    if request.resource_type in ("image", "media", "font"):
        return True
    if request.is_navigation_request():
        return False  # the page itself: Scrapy's robots middleware has already allowed it
    if not allowed_by_robots(request.url):
        logger.info("browser request forbidden by robots.txt: %s", request.url)
        return True
    return False


def browser_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """Meta that sends a request through the browser, archiving its network traffic."""
    from scrapy_playwright.page import PageMethod

    return {
        **meta,
        "playwright": True,
        "playwright_page_methods": [PageMethod("wait_for_load_state", "networkidle")],
        "playwright_page_event_handlers": {"response": "archive_browser_response"},
    }


async def hand_to_archive(crawler: Crawler, pw_response: Any, spider: Any) -> None:
    """One network response of the browser → the `browser_response` signal."""
    stats = crawler.stats
    try:
        status = pw_response.status
        headers = await pw_response.all_headers()
        body = b"" if 300 <= status < 400 else await pw_response.body()
        pw_request = pw_response.request
        request_headers = await pw_request.all_headers()
    except Exception as exc:  # the page went away first, a body the browser did not keep
        stats.inc_value("nianbao/browser/unarchived")
        logger.warning("browser response not archived: %s (%s)", pw_response.url, exc)
        return
    request = Request(
        pw_response.url,
        method=pw_request.method,
        headers=Headers(_pairs(request_headers, skip={":method", ":path", ":authority"})),
        body=pw_request.post_data_buffer or b"",
        meta={"browser": True},
    )
    response_class = responsetypes.from_args(
        headers=Headers(_pairs(headers)), url=pw_response.url, body=body
    )
    response = response_class(
        url=pw_response.url,
        status=status,
        headers=Headers(_pairs(headers, skip=STALE_HEADERS)),
        body=body,
        request=request,
        flags=["browser"],
    )
    crawler.signals.send_catch_log(
        browser_response, response=response, request=request, spider=spider
    )


def _pairs(headers: dict[str, str], skip: set[str] | None = None) -> list[tuple[str, str]]:
    """Playwright joins repeated headers with newlines; split them back."""
    pairs = []
    for name, value in headers.items():
        if skip and name.lower() in skip:
            continue
        for part in value.split("\n"):
            pairs.append((name, part))
    return pairs
