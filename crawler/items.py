"""What components hand each other: one archived response, ready to process, and what its
costly conversion gave (kept in the archive beside it)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Conversion:
    """What a capture's costly conversion gave: an attachment as one HTML document (pdfplumber,
    python-docx, LibreOffice), or a report page's clean text (trafilatura).

    The crawl archives it as a WARC `conversion` record beside the response, so a replay under
    the same converter (`crawler.process.converter_fingerprint`) parses the tables again
    without converting again: a parser improvement reaches a year of PDFs in minutes.
    """

    content_type: str  # "text/html" (an attachment's document) or "text/plain" (a page's text)
    text: str
    converter: str


@dataclass
class Capture:
    """One HTTP response as it was archived.

    Built by the crawl (from a Scrapy response and the WARC location the archiver put in
    ``request.meta["warc"]``) and by replay (from a WARC response record). Both hand it to
    ``crawler.process.process_capture``, so crawl and replay cannot disagree.
    """

    url: str
    status: int
    headers: list[tuple[str, str]]  # HTTP headers as received, repeated ones kept
    body: bytes  # the payload with Content-Encoding removed (what a browser would read)
    fetched_at: str  # ISO 8601 UTC, the WARC-Date
    warc_filename: str | None = None  # base name of the WARC file holding the response record
    warc_record_offset: int | None = None  # byte offset of that record in the file
    payload_digest: str | None = None  # WARC-Payload-Digest, "sha1:BASE32"
    site: str | None = None  # the portal this came from (its home URL or name)
    referer: str | None = None  # the page that linked here, when known
    link_text: str | None = None  # anchor text of that link, a hint for titles
    extra: dict = field(default_factory=dict)
    conversion: Conversion | None = None  # archived beside it by an earlier run, when read back

    def header(self, name: str) -> str | None:
        """First value of a header, case-insensitively."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    @property
    def content_type(self) -> str:
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()
