"""The headless browser (scrapy-playwright + the system Chromium), only for pages that need it.

Playwright cannot download its own browser here, and does not need to: Debian's `chromium` is
launched through `executable_path`. The download handler is installed only when a Chromium is
found and `NIANBAO_BROWSER` is on; requests go through the browser only when a spider marks them
(`browser_meta`), so every other page is a plain, cheap Scrapy fetch, and a crawl with no such
page starts no browser at all (`BrowserHandler`).

What the browser receives over the network (the page, its scripts, the JSON they load) is handed
to the archive as ordinary responses through the `browser_response` signal; the rendered DOM is
never archived as a `response`.

robots.txt holds for everything a rendered page loads (`guard_page`): scripts, XHRs, iframes, and
each hop of a redirect, which Playwright never shows to a route handler.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

from playwright.async_api import Error as PlaywrightError
from scrapy import Request
from scrapy.http import Headers
from scrapy.responsetypes import responsetypes
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from archive.signals import browser_response
from crawler.robots import allowed_by_robots

if TYPE_CHECKING:
    from playwright.async_api import CDPSession, Page
    from scrapy.crawler import Crawler
    from scrapy.http import Response

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
HANDLER = "crawler.browser.BrowserHandler"
# The browser hands over decoded bodies: these headers would no longer describe them.
STALE_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}
# Images, fonts, media and style sheets are not evidence of a report list (and each would wait
# for its host's turn); the rest is archived.
SKIPPED_TYPES = ("Image", "Media", "Font", "Stylesheet")  # Chromium's resource types


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
        # Made by the first page that needs it (BrowserHandler), not at startup.
        "PLAYWRIGHT_CONTEXTS": {"default": context_options(user_agent)},
        "PLAYWRIGHT_PROCESS_REQUEST_HEADERS": None,  # the browser's own headers, our UA
    }


def context_options(user_agent: str) -> dict[str, Any]:
    """The browser context: our User-Agent, and the certificates Scrapy accepts too.

    Scrapy does not verify certificates; Chromium does, and gov.cn portals often have a
    self-signed, expired or incomplete chain: the browser would get an error where Scrapy got
    the list. Service workers are blocked: what they fetch is not the page's to guard.
    """
    return {"user_agent": user_agent, "ignore_https_errors": True, "service_workers": "block"}


class BrowserHandler(ScrapyPlaywrightDownloadHandler):
    """scrapy-playwright's handler, shared by http and https, its Chromium started on demand.

    Stock, Scrapy makes one handler per scheme, and each launches its own Chromium at startup
    once `PLAYWRIGHT_CONTEXTS` names a context: two browsers for a crawl that may need none.
    Here both schemes get the same handler, and the contexts of `PLAYWRIGHT_CONTEXTS` are made
    when a page first asks for one (the browser with them). Plain requests still go to Scrapy's
    HTTP/1.1 handler.
    """

    shared: ClassVar[WeakKeyDictionary[Crawler, BrowserHandler]] = WeakKeyDictionary()

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.contexts_on_demand = dict(self.config.startup_context_kwargs)
        self.config.startup_context_kwargs = {}
        self.closed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BrowserHandler:
        if crawler not in cls.shared:
            cls.shared[crawler] = cls(crawler)
        return cls.shared[crawler]

    async def download_request(self, request: Request) -> Response:
        if request.meta.get("playwright"):
            name = request.meta.get("playwright_context", "default")
            if name in self.contexts_on_demand:
                request.meta.setdefault("playwright_context_kwargs", self.contexts_on_demand[name])
        return await super().download_request(request)

    async def close(self) -> None:
        """Once, though Scrapy closes the handler of each scheme."""
        if not self.closed:
            self.closed = True
            await super().close()


def browser_meta(meta: dict[str, Any], turn: bool = False) -> dict[str, Any]:
    """Meta that sends a request through the browser, archiving its network traffic; `turn`
    clicks through the list's script pager too (`turn_pages`)."""
    from scrapy_playwright.page import PageMethod

    methods = [PageMethod(settle), *([PageMethod(turn_pages)] if turn else [])]
    return {
        **meta,
        "playwright": True,
        "playwright_page_methods": methods,
        "playwright_page_event_handlers": {"response": "archive_browser_response"},
        "playwright_page_init_callback": "crawler.browser.guard_page",
    }


async def guard_page(page: Page, request: Request) -> None:
    """Page init callback: robots.txt for every request the page makes, redirect hops included.

    Playwright's routes never see a redirect hop, so a script's XHR redirected into a forbidden
    folder would be fetched. Chromium's own interception (the DevTools Fetch domain, on a
    session of its own beside Playwright's routes) pauses every request, each hop and each
    iframe navigation too, before it leaves; the browser's network stack still does the rest
    (proxy, cookies, headers). A page whose guard cannot be set up is closed, not left open.
    """
    held = PAGE_SLOTS[page] = PageSlots(HOST_SLOTS)
    page.on("requestfinished", held.done)
    page.on("requestfailed", held.done)
    page.on("close", held.close)
    try:
        session = await page.context.new_cdp_session(page)

        async def paused(event: dict[str, Any]) -> None:
            await _decide(session, event, held)

        session.on("Fetch.requestPaused", paused)
        await session.send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]})
    except PlaywrightError:
        logger.error("no robots.txt guard for the browser page of %s", request.url)
        await page.close()
        raise


async def _decide(session: CDPSession, event: dict[str, Any], held: PageSlots) -> None:
    """Let one paused request go on when its host has a free slot, or fail it: media is
    skipped, robots.txt is obeyed."""
    url = event["request"]["url"]
    blocked = event.get("resourceType") in SKIPPED_TYPES or _is_favicon(url) or not _allowed(url)
    try:
        if blocked:
            await session.send(
                "Fetch.failRequest",
                {"requestId": event["requestId"], "errorReason": "BlockedByClient"},
            )
        else:
            if url.startswith(("http://", "https://")):
                await held.take(url)
            await session.send("Fetch.continueRequest", {"requestId": event["requestId"]})
    except PlaywrightError as exc:  # the page closed meanwhile
        held.release(url)
        logger.debug("browser request not decided: %s (%s)", url, exc)


BROWSER_PER_HOST = 1  # the browser's own requests in flight per host, beside Scrapy's own
SLOT_WAIT = 10.0  # seconds a request waits for its host's turn before it goes all the same


class HostSlots:
    """The browser's requests in flight, per host, across every page it renders.

    Scrapy's per-host limit sees a rendered page as one request, while the page loads its
    scripts and data six at once: each request waits here for its host's turn instead. A turn
    not given back (an event Playwright never sent) is waited out after SLOT_WAIT seconds, so a
    page is slowed at worst, never stuck.
    """

    def __init__(self, limit: int = BROWSER_PER_HOST) -> None:
        self.limit = limit
        self.semaphores: dict[str, asyncio.Semaphore] = {}

    def of(self, url: str) -> asyncio.Semaphore:
        host = urlsplit(url).netloc.lower()
        if host not in self.semaphores:
            self.semaphores[host] = asyncio.Semaphore(self.limit)
        return self.semaphores[host]

    async def take(self, url: str) -> bool:
        """Wait for a turn; False when none came in time (then the request goes unslotted)."""
        try:
            await asyncio.wait_for(self.of(url).acquire(), SLOT_WAIT)
        except TimeoutError:
            logger.warning("browser request sent without waiting longer for its host: %s", url)
            return False
        return True


HOST_SLOTS = HostSlots()


class PageSlots:
    """The turns one page holds, given back as Playwright reports each request done (a
    redirect hop included), and all at once when the page closes."""

    def __init__(self, slots: HostSlots) -> None:
        self.slots = slots
        self.held: Counter[str] = Counter()
        self.waiting = 0
        self.delayed = False  # a request of this page had to wait for its turn
        self.paged_by_scrapy = False  # its list's JSON answer is paged by Scrapy: no clicking

    async def take(self, url: str) -> None:
        self.waiting += 1
        self.delayed = self.delayed or self.slots.of(url).locked()
        try:
            taken = await self.slots.take(url)
        finally:
            self.waiting -= 1
        if taken:
            self.held[_unfragmented(url)] += 1

    def busy(self) -> bool:
        """Whether a request of the page waits for its turn or is under way."""
        return self.waiting > 0 or any(self.held.values())

    def release(self, url: str) -> None:
        key = _unfragmented(url)
        if self.held[key] > 0:
            self.held[key] -= 1
            self.slots.of(url).release()

    def done(self, request: Any) -> None:
        self.release(request.url)

    def close(self, *_: Any) -> None:
        for url, count in list(self.held.items()):
            for _ in range(count):
                self.release(url)


PAGE_SLOTS: WeakKeyDictionary[Page, PageSlots] = WeakKeyDictionary()
QUIET = 0.5  # seconds with nothing under way that make a page done, as Playwright's networkidle
SETTLE_LIMIT = 30.0  # seconds a page may take to settle after Playwright's networkidle


async def settle(page: Page) -> None:
    """Wait for the page to finish loading: Playwright's `networkidle`, and then, if a request
    of the page was held back for its host's turn (Playwright does not see a request before it
    goes, and may call the page idle with its list's XHR still to go), until nothing of the
    page is waiting or under way for QUIET seconds."""
    await page.wait_for_load_state("networkidle")
    slots = PAGE_SLOTS.get(page)
    if slots is not None and slots.delayed:
        await _until_quiet(slots)


async def _until_quiet(slots: PageSlots) -> None:
    """Until nothing of the page waits for its turn or is under way for QUIET seconds (at most
    SETTLE_LIMIT)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_LIMIT
    quiet_since = loop.time()
    while loop.time() < deadline and loop.time() - quiet_since < QUIET:
        if slots.busy():
            quiet_since = loop.time()
        await asyncio.sleep(0.05)


MAX_TURNS = 20  # pages of one list clicked through; a yearly-report list is far shorter
CLICK_TIMEOUT_MS = 5000
# The control that shows the next page: labelled so (or the page's number), and run by script:
# a link to an address is followed by Scrapy, not clicked.
NEXT_CONTROL = """(number) => {
  const next = /^(?:下一?页|下页|后一?页|next|›|»|>)$/i;
  const label = (el) => (el.innerText || el.value || el.title || '').replace(/\\s+/g, '');
  const byScript = (el) => {
    const href = (el.getAttribute('href') || '').trim().toLowerCase();
    return el.hasAttribute('onclick') || !href || href.startsWith('javascript') || href[0] === '#';
  };
  const usable = (el) => el.offsetParent !== null && !el.disabled
    && !/\\bdisabled\\b/i.test(el.className + ' ' + (el.parentElement || el).className);
  const controls = [...document.querySelectorAll('a, button, input[type=button], [onclick]')]
    .filter((el) => byScript(el) && usable(el));
  return controls.find((el) => next.test(label(el)))
    || controls.find((el) => label(el) === String(number)) || null;
}"""
LINKS = "() => Array.from(document.links, (a) => a.href)"


async def turn_pages(page: Page) -> list[tuple[str, str]]:
    """Click through a list's script pager (`javascript:goPage(2)`, a 下一页 button that asks a
    POST API): the (url, markup) of every page shown, the first included, for their links.

    The browser sees each page only after a click, and the rendered response is the last one
    shown. Stops at a page with no usable next control, one that shows no link not seen
    before (a 下一页 that stays enabled on the last page), or MAX_TURNS; never fails the
    render: what was shown until an error is kept. A list whose JSON answers Scrapy pages
    itself (`PortalBase.answer_pages`) is not clicked: each page would be fetched twice.
    """
    shown: list[tuple[str, str]] = []
    try:
        shown.append((page.url, await page.content()))
        seen = set(await page.evaluate(LINKS))
        for number in range(2, MAX_TURNS + 2):
            slots = PAGE_SLOTS.get(page)
            if slots is not None and slots.paged_by_scrapy:
                break
            control = (await page.evaluate_handle(NEXT_CONTROL, number)).as_element()
            if control is None:
                break
            await control.click(timeout=CLICK_TIMEOUT_MS)
            await quiet(page)
            links = set(await page.evaluate(LINKS))
            if links <= seen:
                break
            seen |= links
            shown.append((page.url, await page.content()))
    except PlaywrightError as exc:
        logger.warning("stopped turning the pages of %s: %s", page.url, exc)
    return shown


async def quiet(page: Page) -> None:
    """After a click: the page it loaded (a form's POST, `location.href = …`) or the requests it
    made (a list's XHR), until nothing of the page is under way for QUIET seconds."""
    await asyncio.sleep(0.05)  # the click's own requests start
    await page.wait_for_load_state("load")
    slots = PAGE_SLOTS.get(page)
    if slots is not None:
        await _until_quiet(slots)
    await page.wait_for_load_state("load")


def turned_pages(meta: dict[str, Any]) -> list[tuple[str, str]]:
    """The pages `turn_pages` showed for a rendered response (empty when it did not run)."""
    for method in meta.get("playwright_page_methods") or ():
        if getattr(method, "method", None) is turn_pages and method.result:
            return list(method.result)
    return []


def mark_paged_by_scrapy(pw_response: Any) -> None:
    """The page that received this JSON answer has its list paged by Scrapy: not clicked."""
    try:
        slots = PAGE_SLOTS.get(pw_response.frame.page)
    except PlaywrightError:
        return
    if slots is not None:
        slots.paged_by_scrapy = True


def _unfragmented(url: str) -> str:
    return url.split("#", 1)[0]


def _is_favicon(url: str) -> bool:
    """Chromium's own request for the site icon: no evidence, and Playwright never reports it
    done (its host's turn would be held until the page closes)."""
    return urlsplit(url).path == "/favicon.ico"


def _allowed(url: str) -> bool:
    if not url.startswith(("http://", "https://")) or allowed_by_robots(url):
        return True
    logger.info("browser request forbidden by robots.txt: %s", url)
    return False


def browser_archive_meta(crawler: Crawler, url: str, method: str) -> dict[str, Any]:
    """A browser response of a URL archived before is archived as a revisit when its payload is
    the same (the script, the list's JSON, the shell): a rendered list no longer adds whole
    copies of them every night."""
    from crawler.incremental import IncrementalMiddleware, revisit_of

    meta: dict[str, Any] = {"browser": True}
    incremental = IncrementalMiddleware.of(crawler)
    known = incremental.known.get(url) if incremental is not None and method == "GET" else None
    if known is not None:
        meta["revisit_of"] = revisit_of(known)
    return meta


async def hand_to_archive(crawler: Crawler, pw_response: Any, spider: Any) -> Response | None:
    """One network response of the browser → the `browser_response` signal; the response as
    archived (None when the browser kept no body to archive)."""
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
        return None
    request = Request(
        pw_response.url,
        method=pw_request.method,
        headers=Headers(_pairs(request_headers, skip={":method", ":path", ":authority"})),
        body=pw_request.post_data_buffer or b"",
        meta=browser_archive_meta(crawler, pw_response.url, pw_request.method),
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
    return response


def _pairs(headers: dict[str, str], skip: set[str] | None = None) -> list[tuple[str, str]]:
    """Playwright joins repeated headers with newlines; split them back."""
    pairs = []
    for name, value in headers.items():
        if skip and name.lower() in skip:
            continue
        for part in value.split("\n"):
            pairs.append((name, part))
    return pairs
