"""Decode GBK pages right, whatever their charset declaration says.

Portals serve GB2312/GBK pages with no charset at all, or under a `<meta charset="utf-8">`
copied from a template; Scrapy then shows mojibake. The bytes decide: a declared encoding is
kept only if the body really decodes with it (crawler.extract.decode_html does the choosing).
"""

from __future__ import annotations

from scrapy.http import HtmlResponse, Request, Response

from crawler.extract import decode_html


class CharsetFixMiddleware:
    """Downloader middleware (after decompression): re-declare the encoding that really fits."""

    def process_response(self, request: Request, response: Response) -> Response:
        if not isinstance(response, HtmlResponse):
            return response
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
        _, encoding = decode_html(response.body, content_type)
        if encoding != response.encoding:
            return response.replace(encoding=encoding)
        return response
