"""拓尔思 TRS WCM: list pages announced only by a `createPageHTML(…)` script call (pure).

There is no next link in the markup: the script writes it. Two signatures are in use:
`createPageHTML(count, current, "index", "html")` (0-based: `index.html`, then `index_1.html` …
`index_{count-1}.html`) and the 6-argument `createPageHTML('page_div', count, current, 'list',
'shtml', records)` of csrc.gov.cn, Kunshan and other TRS templates (1-based: `list.shtml`, then
`list_2.shtml` … `list_{count}.shtml`). Arguments are often variables (`countPage`, `pageCount`)
set by `var NAME = value` earlier in the page.
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
CALL = re.compile(r"createPageHTML\s*\(([^()]*)\)")
ARGUMENT = re.compile(r"""\s*(?:'([^']*)'|"([^"]*)"|([\w.$]+))\s*""")
COUNT_PAGE = re.compile(r"var\s+countPage\s*=\s*['\"]?(\d+)")


def is_trs(html: str) -> bool:
    return any(mark in html for mark in FINGERPRINTS)


def paging_urls(html: str, url: str) -> list[PageRequest]:
    """Every page of a TRS list, from the first createPageHTML call whose arguments resolve
    (the function's own definition, when inlined, does not), else from `var countPage`."""
    for call in CALL.finditer(html):
        pages = _pages(_arguments(call.group(1), html))
        if pages is not None:
            return [PageRequest(urljoin(url, name)) for name in pages]
    counted = COUNT_PAGE.search(html)
    if not counted:
        return []
    names = [f"index_{n}.{_suffix(url)}" for n in range(1, int(counted.group(1)))]
    return [PageRequest(urljoin(url, name)) for name in [*names, f"index.{_suffix(url)}"]]


def _pages(args: list[str | None]) -> list[str] | None:
    """File names of the other pages, first page last; None if the call cannot be read."""
    if len(args) == 6 and not _is_number(args[0]):  # 'page_div', count, current, name, ext, n
        count, name, ext, first = args[1], args[3], args[4], 2
    elif len(args) >= 4:  # count, current, name, ext
        count, name, ext, first = args[0], args[2], args[3], 1
    else:
        return None
    if not (_is_number(count) and name and ext and re.fullmatch(r"[\w-]+", name + ext)):
        return None
    last = int(count) if first == 2 else int(count) - 1
    return [f"{name}_{n}.{ext}" for n in range(first, last + 1)] + [f"{name}.{ext}"]


def _arguments(text: str, html: str) -> list[str | None]:
    """The call's arguments as strings, variables replaced by their `var NAME = value`."""
    values: list[str | None] = []
    for part in text.split(","):
        match = ARGUMENT.fullmatch(part)
        if not match:
            values.append(None)
        elif match.group(3) is None:
            values.append(match.group(1) if match.group(1) is not None else match.group(2))
        else:
            values.append(_resolve(match.group(3), html))
    return values


def _resolve(token: str, html: str) -> str | None:
    """A literal number as it is; a variable's value from its assignment in the page."""
    if token.isdigit():
        return token
    assigned = re.search(
        rf"(?<![\w.$]){re.escape(token)}\s*=(?!=)\s*(?:'([^']*)'|\"([^\"]*)\"|(\d+))", html
    )
    if not assigned:
        return None
    return next(g for g in assigned.groups() if g is not None)


def _is_number(value: str | None) -> bool:
    return value is not None and value.strip().isdigit()


def _suffix(url: str) -> str:
    match = re.search(r"\.(s?html?)(?:$|\?)", url)
    return match.group(1) if match else "html"
