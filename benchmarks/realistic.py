"""The sample portals at real page sizes: every HTML page dressed in a real gov.cn page's chrome.

The sample pages carry only what the tests need (about 1.5 KB gzipped); a real list or article
page carries 4–10 KB more of navigation, scripts and footer. The nightly archive cost (the WARC
bytes of an unchanged crawl against the first) depends on that ratio, so it is also measured on
pages of real size. The chrome is the markup of three article pages saved from gov.cn portals
(`tests/pages/`, copied from shared/corpus/raw; see its MANIFEST for their sources): the
article body removed, links and frames made inert (the crawl must not wander into 404s) and
headings demoted (they must not read as report titles). Everything else is kept byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import lxml.html

from crawler.extract import decode_html
from crawler.sample_portals import Page, Portals

CHROME_DIR = Path(__file__).resolve().parent.parent / "tests" / "pages"
CHROME = {  # sample portal -> a real page of the same CMS family
    "hanweb": "hanweb_jinan_gov_art.html",
    "trs": "trs_beijing_jw_art.html",
    "inhouse": "inhouse_shanghai_wsjkw_art.html",
}
ARTICLE_BODIES = (
    '//*[@id="zoom"] | //*[contains(@class, "TRS_UEDITOR")] | //*[@class="Article_content"]'
)


def chrome(path: Path) -> str:
    """The body of a real page without its article: what surrounds every page of the portal."""
    html, _ = decode_html(path.read_bytes())
    root = lxml.html.document_fromstring(html)
    for element in root.xpath(ARTICLE_BODIES):
        element.drop_tree()
    for element in root.iter("a", "iframe", "form", "area"):
        for attribute in ("href", "src", "action"):
            element.attrib.pop(attribute, None)
    for element in root.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        element.tag = "div"
    body = root.find("body")
    return "".join(lxml.html.tostring(child, encoding="unicode") for child in body)


def dressed(page: Page, wrapper: str) -> Page:
    """An HTML page with the chrome added after its own content, in the page's own encoding."""
    content_type = dict((k.lower(), v) for k, v in page.headers).get("content-type", "")
    if page.status != 200 or not content_type.startswith("text/html"):
        return page
    html, encoding = decode_html(page.body, content_type)
    cut = html.lower().rfind("</body>")
    if cut < 0:
        return page
    html = html[:cut] + f'<div class="portal-chrome">{wrapper}</div>' + html[cut:]
    body = html.encode(encoding, errors="xmlcharrefreplace")
    return Page(body, page.status, page.headers, page.last_modified, page.no_validators)


def real_size(portals: Portals) -> Portals:
    """The portals with every HTML page dressed in its CMS family's real chrome (in place)."""
    for name, site in portals.sites.items():
        if name not in CHROME:
            continue
        wrapper = chrome(CHROME_DIR / CHROME[name])
        site.pages = {path: dressed(page, wrapper) for path, page in site.pages.items()}
    return portals
