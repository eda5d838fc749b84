"""拓尔思 TRS WCM: list pages announced only by `createPageHTML(count, current, "index", "html")`.

There is no next link in the markup: the script writes it. `count` pages exist, named
`index.html`, `index_1.html` … `index_{count-1}.html` beside the first one.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from crawler.layouts.base import PageRequest

# An article: ./{YYYYMM}/t{YYYYMMDD}_{docid}.html (.shtml, .htm); Guangdong's content/post_{id}
ARTICLE_URL = re.compile(r"/t\d{8}_\d+\.s?html?$|/content/(?:\d+/)*post_\d+\.html$")
# The article text: div.TRS_Editor (often nested), div.TRS_UEDITOR, .trs_editor_view
ARTICLE_BODY = (
    '//*[contains(@class, "TRS_Editor") or contains(@class, "TRS_UEDITOR")'
    ' or contains(@class, "trs_editor_view")]'
)
FINGERPRINTS = ("TRS_Editor", "createPageHTML", "_trs_", "trs_editor", "TRS_UEDITOR")
CREATE_PAGE = re.compile(
    r"createPageHTML\(\s*['\"]?(\d+)['\"]?\s*,\s*['\"]?(\d+)['\"]?\s*,\s*['\"]([\w-]+)['\"]\s*,"
    r"\s*['\"](\w+)['\"]"
)
COUNT_PAGE = re.compile(r"var\s+countPage\s*=\s*['\"]?(\d+)")


def is_trs(html: str) -> bool:
    return any(mark in html for mark in FINGERPRINTS)


def paging_urls(html: str, url: str) -> list[PageRequest]:
    """Every page of a TRS list, from the createPageHTML call (or `var countPage`)."""
    match = CREATE_PAGE.search(html)
    if match:
        count, name, suffix = int(match.group(1)), match.group(3), match.group(4)
    else:
        counted = COUNT_PAGE.search(html)
        if not counted:
            return []
        count, name, suffix = int(counted.group(1)), "index", _suffix(url)
    return [PageRequest(urljoin(url, f"{name}_{n}.{suffix}")) for n in range(1, count)] + [
        PageRequest(urljoin(url, f"{name}.{suffix}"))
    ]


def _suffix(url: str) -> str:
    match = re.search(r"\.(s?html?)(?:$|\?)", url)
    return match.group(1) if match else "html"
