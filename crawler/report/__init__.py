"""Table parser for 政府信息公开工作年度报告: text or HTML in, keyed cells and checks out.

Pure functions only (no I/O): `parse_html` for a page or fragment, `parse_text` for the plain
text of a report. Keys follow report-schema.json; see `crawler.report.parse` for the method.
"""

from __future__ import annotations

from crawler.report.model import Cell, Check, Report
from crawler.report.parse import parse_html, parse_text

__all__ = ["Cell", "Check", "Report", "parse_html", "parse_text"]
