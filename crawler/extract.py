"""Bytes of a fetched document → decoded HTML, clean text and page metadata (pure).

Portals send GBK pages with no charset or with a wrong one, so decoding never trusts a single
declaration: a declared encoding is used only when the bytes really decode with it.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from urllib.parse import unquote_to_bytes

import trafilatura
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, resolve_encoding

from crawler.layouts import article_body
from crawler.scope import is_attachment

_GB_FAMILY = {"gbk", "gb2312", "gb18030", "cp936", "gb_2312-80", "hz"}
_META_RE = re.compile(
    rb"""<meta\s[^>]*?name\s*=\s*["']?([A-Za-z]+)["']?[^>]*?content\s*=\s*["']([^"']*)["']""",
    re.IGNORECASE,
)
_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_H1_RE = re.compile(r"<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_TAG_RE = re.compile(r"<[^>]+>")
_ATTACHMENT_NAME = re.compile(r"\.(pdf|docx?|wps|xlsx?|et)(?![\w.-])", re.ASCII)
_DOWNLOAD_URL = re.compile(
    r"down_?(?:load|file)|file_?down|getfile|/attach(?:ment)?s?/|[?&]file_?id=", re.IGNORECASE
)
_DOWNLOAD_TEXT = re.compile(r"附件|^[【\[]?\s*(?:点击|点此)?下载\s*[】\]]?$")

# Byte order marks of the wide Unicode forms, which decide a page's encoding before any
# declaration (as browsers do: a page saved as "Unicode" by a Windows editor or by Word keeps
# the `<meta charset="utf-8">` it had). UTF-32 LE first: its mark begins with UTF-16 LE's.
WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

ATTACHMENT_TYPES = {
    "application/pdf": "pdf",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/kswps": "wps",
    "application/wps-office.wps": "wps",
}


def decode_html(body: bytes, content_type_header: str | None = None) -> tuple[str, str]:
    """Decode an HTML payload; returns (text, encoding used).

    Order: a UTF-16/32 byte order mark, the HTTP charset, then the page's own declaration,
    then utf-8, then gb18030 — each tried strictly; the GBK family always widens to gb18030
    (a superset).
    """
    candidates: list[str] = [wide] if (wide := wide_unicode(body)) else []
    for declared in (
        http_content_type_encoding(content_type_header or ""),
        html_body_declared_encoding(body[:4096]),
    ):
        if declared:
            enc = resolve_encoding(declared) or declared
            candidates.append("gb18030" if enc.lower() in _GB_FAMILY else enc)
    candidates += ["utf-8", "gb18030"]
    for enc in candidates:
        try:
            return body.decode(enc), enc
        except (UnicodeDecodeError, LookupError):
            continue
    return body.decode("gb18030", errors="replace"), "gb18030"


def wide_unicode(body: bytes) -> str | None:
    """The encoding (utf-16, utf-32) whose byte order mark the bytes begin with, if any."""
    return next((encoding for mark, encoding in WIDE_BOMS if body.startswith(mark)), None)


def meta_tags(body: bytes) -> dict[str, str]:
    """The gov.cn `<meta name=… content=…>` set (ArticleTitle, PubDate, ContentSource, …)."""
    found: dict[str, str] = {}
    for name, content in _META_RE.findall(body[:65536]):
        found.setdefault(name.decode("ascii", "replace"), content.decode("utf-8", "replace"))
    return found


def page_title(html: str) -> str:
    """The best title a page states: ArticleTitle meta, then <h1>, then <title>."""
    meta = re.search(
        r"""<meta\s[^>]*name\s*=\s*["']?ArticleTitle["']?[^>]*content\s*=\s*["']([^"']+)""",
        html[:65536],
        re.IGNORECASE,
    )
    if meta:
        return _clean(meta.group(1))
    for pattern in (_H1_RE, _TITLE_RE):
        match = pattern.search(html)
        if match and _clean(match.group(1)):
            return _clean(match.group(1))
    return ""


def headings(html: str, limit: int = 5) -> list[str]:
    """Title candidates: the page title plus the first few heading-like elements."""
    found = [page_title(html)]
    for match in re.finditer(r"<h[1-3][^>]*>(.*?)</h[1-3]>", html, re.IGNORECASE | re.DOTALL):
        found.append(_clean(match.group(1)))
        if len(found) > limit:
            break
    return [h for h in found if h]


def clean_text(body: bytes | str) -> str:
    """Boilerplate-free text of a page (trafilatura; raw bytes let it detect GBK itself)."""
    try:
        text = trafilatura.extract(body, include_tables=True, favor_recall=True)
    except Exception:  # trafilatura may choke on broken markup; the report still counts
        text = None
    return text or ""


def article_text(body: bytes, html: str) -> str:
    """Clean text of an article page: of its CMS container when there is one (the portal's
    chrome left out), else of the whole page."""
    container = article_body(html)
    if container is None and wide_unicode(body):
        body = html.encode("utf-8")  # trafilatura takes UTF-16/32 bytes for binary data
    return clean_text(container if container is not None else body)


def published_date(html: str) -> str | None:
    """Publication date from the page when the parser found none (htmldate)."""
    try:
        from htmldate import find_date

        return find_date(html, original_date=True, extensive_search=False)
    except Exception:
        return None


def attachment_type(
    url: str, content_type: str, disposition: str | None = None, body: bytes = b""
) -> str | None:
    """`pdf`, `doc`, `docx`, `wps`, `xls`, `xlsx` (or `et`) for an attachment, else None.

    Portals serve many files from a download handler (`downfile.jsp?id=5`) as
    application/octet-stream: then only the Content-Disposition name or the bytes themselves
    say what the file is. The bytes win when they are clear (a .doc name on a spreadsheet).
    """
    declared = ATTACHMENT_TYPES.get(content_type)
    named = name_type(disposition_filename(disposition) or "") or is_attachment(url)
    hint = declared or named
    return sniffed_type(body, hint) or hint


def name_type(name: str) -> str | None:
    """The attachment type a file name or a link's text names (`年报.pdf（120KB）`)."""
    match = _ATTACHMENT_NAME.search(name.lower())
    return match.group(1) if match else None


def disposition_filename(header: str | None) -> str | None:
    """The file name a Content-Disposition header gives, decoded.

    `filename*=UTF-8''…` (RFC 5987) first; else `filename=`, percent-encoded or raw UTF-8 /
    GBK bytes (which arrive here as latin-1 text from the crawl, or as text from a replay).
    """
    if not header:
        return None
    extended = re.search(r"filename\*\s*=\s*([\w-]*)'[^']*'([^;\s]+)", header, re.IGNORECASE)
    if extended:
        return _decoded(unquote_to_bytes(extended.group(2)), extended.group(1))
    plain = re.search(r"""filename\s*=\s*(?:"([^"]*)"|'([^']*)'|([^;]+))""", header, re.I)
    if not plain:
        return None
    value = next(v for v in plain.groups() if v is not None).strip()
    if re.search(r"%[0-9A-Fa-f]{2}", value):
        return _decoded(unquote_to_bytes(value))
    try:
        return _decoded(value.encode("latin-1"))
    except UnicodeEncodeError:
        return value  # already decoded (a replay reads headers as UTF-8)


def _decoded(raw: bytes, charset: str = "") -> str:
    for encoding in (charset or "utf-8", "utf-8", "gb18030"):
        try:
            return raw.decode(resolve_encoding(encoding) or encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return raw.decode("latin-1")


OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# OLE directory entries are UTF-16 names ending in a NUL: the main stream says what the file is.
OLE_STREAMS = (("WordDocument", "doc"), ("Workbook", "xls"), ("Book", "xls"))


def sniffed_type(body: bytes, hint: str | None = None) -> str | None:
    """What the bytes are (PDF, an OLE Word/Excel file, an OOXML package), None when unclear.

    `hint` (from the name or MIME type) settles what the bytes cannot: WPS against DOC.
    """
    if body[:1024].lstrip().startswith(b"%PDF-"):
        return "pdf"
    if body.startswith(OLE_MAGIC):
        found = _ole_type(body)
        if found == "doc" and hint == "wps":
            return "wps"
        return found or (hint if hint in ("doc", "wps", "xls", "et") else None)
    if body.startswith(b"PK\x03\x04"):
        return _ooxml_type(body) or (hint if hint in ("docx", "xlsx") else None)
    return None


def _ole_type(body: bytes) -> str | None:
    """doc or xls by the stream named first (an embedded object's streams come later)."""
    places = [(body.find(name.encode("utf-16-le") + b"\x00\x00"), k) for name, k in OLE_STREAMS]
    found = [(place, kind) for place, kind in places if place >= 0]
    return min(found)[1] if found else None


def _ooxml_type(body: bytes) -> str | None:
    try:
        names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if any(name.startswith("word/") for name in names):
        return "docx"
    if any(name.startswith("xl/") for name in names):
        return "xlsx"
    return None


def links_to_attachment(url: str, text: str) -> bool:
    """Whether a report page's link is to be fetched as an attachment.

    A download handler's URL (`downfile.jsp?id=5`) names no file type, so its link text does
    (`昌乐县2021年报.pdf`, `附件1：…`, `【下载】`), or the handler's name in the URL.
    """
    if is_attachment(url) or name_type(text):
        return True
    if _DOWNLOAD_URL.search(url):
        return True
    return bool(_DOWNLOAD_TEXT.search(" ".join(text.split())))


def _clean(fragment: str) -> str:
    import html as html_lib

    return " ".join(html_lib.unescape(_TAG_RE.sub("", fragment)).split())
