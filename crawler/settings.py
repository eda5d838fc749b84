"""The single wiring point of the Scrapy project: politeness, components, nianbao defaults.

`nianbao` commands and `scrapy crawl` both start from these settings; the command line only
overrides the data folder and a few limits (at "cmdline" priority).
"""

from __future__ import annotations

from crawler import __version__

BOT_NAME = "nianbao"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# --- Who we are. Government servers deserve an honest User-Agent with a way to reach us.
NIANBAO_CONTACT = "https://github.com/nianbao/nianbao"  # set to an e-mail or URL of the operator
USER_AGENT = f"nianbao/{__version__} (+{NIANBAO_CONTACT}; annual-report archiver)"

# --- Politeness.
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.5
DOWNLOAD_DELAY_JITTER = 0.5  # ±50% around DOWNLOAD_DELAY
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
DOWNLOAD_TIMEOUT = 60
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024  # reports with scanned PDFs can be large; portals can be broken
DOWNLOAD_WARNSIZE = 16 * 1024 * 1024
COOKIES_ENABLED = True
# Proxies: HttpProxyMiddleware (on by default) reads http_proxy/https_proxy/no_proxy.
HTTPPROXY_ENABLED = True

# --- Housekeeping.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
# Best-first crawling: a priority queue per domain, highest priority first.
SCHEDULER_PRIORITY_QUEUE = "scrapy.pqueues.DownloaderAwarePriorityQueue"
DEPTH_PRIORITY = 0

DOWNLOADER_MIDDLEWARES = {
    # Scrapy's lets requests through while robots.txt is still downloading (crawler/robots.py).
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.robots.RobotsTxtMiddleware": 100,
    # Nightly runs: known pages are skipped or asked for conditionally; a 304 to a list page is
    # answered with its stored copy, which must still pass decompression (590) and charset (580).
    "crawler.incremental.IncrementalMiddleware": 595,
    # GBK pages with a missing or wrong charset declaration (after decompression at 590).
    "crawler.charset.CharsetFixMiddleware": 580,
    # With --redis: the per-host limit holds across all workers (a lease in Redis per request).
    "crawler.distributed.hosts.HostSlots": 950,
    # With --redis: a request failed for good leaves its worker's in-flight hash (nearest the
    # engine, after every retry).
    "crawler.distributed.inflight.InFlightRelease": 10,
    # Attachments whose conversion was cut short last run are asked for again.
    "crawler.incremental.RetryCutShort": 20,
}

SPIDER_MIDDLEWARES = {
    # With --redis: a request whose links are all queued leaves its worker's in-flight hash.
    "crawler.distributed.inflight.InFlightRelease": 10,
    # Attachments whose conversion was cut short last run are asked for again.
    "crawler.incremental.RetryCutShort": 20,
}

EXTENSIONS = {
    "archive.extension.WarcArchiver": 100,
    "crawler.progress.Progress": 500,
    "crawler.distributed.peers.WaitForPeers": 910,  # only with --redis
    "crawler.distributed.history.ShareHistory": 920,  # only with --redis
}

ITEM_PIPELINES = {
    "crawler.pipelines.StorePipeline": 300,
}

# --- nianbao (set by the command line from --data).
NIANBAO_DATA = "data"
WARC_DIR = "data/warc"
WARC_INDEX_PATH = "data/index.cdxj"
WARC_PREFIX = "nianbao"
WARC_MAX_SIZE = 1_000_000_000
WARC_CONVERSIONS = True  # keep each page's text and file's document beside it (replay reuses them)
NIANBAO_DB = "data/nianbao.db"
NIANBAO_MAX_DEPTH = 6  # clicks from the home page; reports sit 3-5 deep
NIANBAO_INCREMENTAL = True
# Lists built by JavaScript: "auto" renders them in headless Chromium when one is found (only
# pages that need it); "off" never starts a browser. NIANBAO_CHROMIUM names another binary.
NIANBAO_BROWSER = "auto"
NIANBAO_CHROMIUM = ""
# >0: known reports, attachments, articles and dead links fetched within this many days are not
# fetched again. `nianbao crawl` sets 7 (its --refresh-days), `nianbao harvest` 0.
NIANBAO_REFRESH_DAYS = 0.0
# Ask each portal's own site search (Hanweb jsearchfront) for its annual reports once a crawl.
NIANBAO_SITE_SEARCH = True
NIANBAO_PROGRESS_INTERVAL = 30.0  # seconds between progress log lines when not on a terminal
