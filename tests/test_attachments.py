"""Reports in attachments: PDF, DOCX, DOC, WPS, XLSX and XLS parse to the cells they print.

The Word fixture is the real blank 2021 template (merged cells as the State Council drew them),
filled by the test with generated numbers that satisfy every identity; LibreOffice (installed by
`.ci/run`, driven by the parser's own converter) turns it into DOC and PDF, as an office would.
The real 淮安市 2024 PDF is checked against the numbers printed in it, typed in here by hand.
"""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path
from typing import Any
from urllib.parse import quote

import docx
import openpyxl
import pytest
import sqlite_utils
from click.testing import CliRunner
from docx.oxml.ns import qn

from crawler.attachments import (
    AttachmentError,
    convert_with_libreoffice,
    docx_html,
    grid_span,
    libreoffice_identity,
    parse_attachment,
)
from crawler.cli import cli
from crawler.items import Capture
from crawler.process import parser_fingerprint, process_capture
from crawler.report import Report
from crawler.report.schema import ACTIVE_COLS, REQUEST_COLS, REQUEST_ROW_ORDER, REVIEW_COLS
from crawler.sample_portals import generated_tables

HERE = Path(__file__).parent / "attachments"
HUAIAN = HERE / "huaian_2024_report.pdf"
TEMPLATE = HERE / "template_2021_format_blank.docx"
ORGANIZATION = "测试县人民政府"
YEAR = 2023

Cells = dict[tuple[str, str, str], Any]


# ----- expected values ------------------------------------------------------------------------


def truth_cells(tables: dict[str, Any]) -> Cells:
    """{(section, row, col): value} of tables in truth.json form."""
    out: Cells = {}
    for section, rows in tables.items():
        for row, cols in rows.items():
            for col, value in cols.items():
                out[(section, row, col)] = value["value"] if isinstance(value, dict) else value
    return out


def report_cells(report: Report) -> Cells:
    return {(c["section"], c["row_key"], c["col_key"]): c["value"] for c in report.cell_rows()}


def raw(value: Any) -> str:
    return value["raw"] if isinstance(value, dict) else str(value)


# ----- the Word template, filled --------------------------------------------------------------


def unique_cells(row: Any) -> list[Any]:
    """A row's cells once each (python-docx repeats a merged cell for every grid column)."""
    seen: list[Any] = []
    for cell in row.cells:
        if all(cell._tc is not other._tc for other in seen):
            seen.append(cell)
    return seen


def fill(cell: Any, text: str) -> None:
    cell.paragraphs[0].text = text
    for extra in cell.paragraphs[1:]:
        extra.text = ""


def filled_template(tables: dict[str, Any]) -> bytes:
    """The blank template with a title and every value cell written in."""
    document = docx.Document(str(TEMPLATE))
    document.paragraphs[0].text = f"{ORGANIZATION}{YEAR}年政府信息公开工作年度报告"
    active, requests, review = document.tables
    labels = {
        "规章": "regulations",
        "行政规范性文件": "normative_documents",
        "行政许可": "licensing",
        "行政处罚": "penalty",
        "行政强制": "coercion",
        "行政事业性收费": "fees",
    }
    for row in active.rows:
        cells = unique_cells(row)
        key = labels.get(cells[0].text.strip())
        if key:
            cols = ACTIVE_COLS["2021"][key]
            for cell, col in zip(cells[-len(cols) :], cols, strict=True):
                fill(cell, raw(tables["active"][key][col]))
    data_rows = list(requests.rows)[3:]
    assert len(data_rows) == len(REQUEST_ROW_ORDER["2021"])
    for row, key in zip(data_rows, REQUEST_ROW_ORDER["2021"], strict=True):
        for cell, col in zip(unique_cells(row)[-7:], REQUEST_COLS, strict=True):
            fill(cell, raw(tables["requests"][key][col]))
    values = [
        raw(tables["review_litigation"][row][col])
        for row in ("review", "litigation_direct", "litigation_after_review")
        for col in REVIEW_COLS
    ]
    for cell, value in zip(unique_cells(list(review.rows)[-1]), values, strict=True):
        fill(cell, value)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def spreadsheet(tables: dict[str, Any]) -> bytes:
    """The three tables on one sheet, headers merged across columns as offices lay them out."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([f"{ORGANIZATION}{YEAR}年政府信息公开工作年度报告"])
    sheet.append(["二、主动公开政府信息情况"])
    sheet.append(["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"])
    active = tables["active"]
    for label, key in (("规章", "regulations"), ("行政规范性文件", "normative_documents")):
        sheet.append([label, *(active[key][col] for col in ACTIVE_COLS["2021"][key])])
    for label, key, col in (
        ("行政许可", "licensing", "decisions"),
        ("行政处罚", "penalty", "decisions"),
        ("行政强制", "coercion", "decisions"),
        ("行政事业性收费", "fees", "fee_amount"),
    ):
        sheet.append([label, active[key][col]])
        sheet.merge_cells(
            start_row=sheet.max_row, start_column=2, end_row=sheet.max_row, end_column=4
        )
    sheet.append(["三、收到和处理政府信息公开申请情况"])
    sheet.append(["", "", "", "申请人情况"])
    sheet.merge_cells(start_row=sheet.max_row, start_column=4, end_row=sheet.max_row, end_column=10)
    sheet.append(
        [
            "",
            "",
            "",
            "自然人",
            "商业企业",
            "科研机构",
            "社会公益组织",
            "法律服务机构",
            "其他",
            "总计",
        ]
    )
    labels = requests_labels()
    for key in REQUEST_ROW_ORDER["2021"]:
        values = [tables["requests"][key][col] for col in REQUEST_COLS]
        sheet.append([labels[key], None, None, *values])
        sheet.merge_cells(
            start_row=sheet.max_row, start_column=1, end_row=sheet.max_row, end_column=3
        )
    sheet.append(["四、政府信息公开行政复议、行政诉讼情况"])
    sheet.append(["行政复议", None, None, None, None, "行政诉讼"])
    sheet.merge_cells(start_row=sheet.max_row, start_column=1, end_row=sheet.max_row, end_column=5)
    sheet.merge_cells(start_row=sheet.max_row, start_column=6, end_row=sheet.max_row, end_column=15)
    heads = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    sheet.append([*heads, *heads, *heads])
    review = tables["review_litigation"]
    sheet.append(
        [
            review[row][col]
            for row in ("review", "litigation_direct", "litigation_after_review")
            for col in REVIEW_COLS
        ]
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def requests_labels() -> dict[str, str]:
    """Each request row's label as the template words it (outer group labels left out)."""
    return dict(
        zip(
            REQUEST_ROW_ORDER["2021"],
            [
                "一、本年新收政府信息公开申请数量",
                "二、上年结转政府信息公开申请数量",
                "（一）予以公开",
                "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
                "1.属于国家秘密",
                "2.其他法律行政法规禁止公开",
                "3.危及“三安全一稳定”",
                "4.保护第三方合法权益",
                "5.属于三类内部事务信息",
                "6.属于四类过程性信息",
                "7.属于行政执法案卷",
                "8.属于行政查询事项",
                "1.本机关不掌握相关政府信息",
                "2.没有现成信息需要另行制作",
                "3.补正后申请内容仍不明确",
                "1.信访举报投诉类申请",
                "2.重复申请",
                "3.要求提供公开出版物",
                "4.无正当理由大量反复申请",
                "5.要求行政机关确认或重新出具已获取信息",
                "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
                "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
                "3.其他",
                "（七）总计",
                "四、结转下年度继续办理",
            ],
            strict=True,
        )
    )


def scanned_pdf() -> bytes:
    """A one-page PDF holding only a picture, as a scanner makes it: no text layer."""
    image = bytes([0, 255, 255, 0])
    content = b"q 200 0 0 200 0 0 cm /Im0 Do Q"
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]"
        b"/Resources<</XObject<</Im0 5 0 R>>>>/Contents 4 0 R>>",
        b"<</Length %d>>stream\n%s\nendstream" % (len(content), content),
        b"<</Type/XObject/Subtype/Image/Width 2/Height 2/ColorSpace/DeviceGray"
        b"/BitsPerComponent 8/Length %d>>stream\n%s\nendstream" % (len(image), image),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


# ----- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tables() -> dict[str, Any]:
    return generated_tables("2021", 41)


@pytest.fixture(scope="module")
def office_files(tmp_path_factory: pytest.TempPathFactory, tables) -> dict[str, Path]:
    """The filled template as DOCX, and LibreOffice's DOC and PDF of it; plus XLSX and XLS."""
    folder = tmp_path_factory.mktemp("office")
    files = {"docx": folder / "report.docx", "xlsx": folder / "report.xlsx"}
    files["docx"].write_bytes(filled_template(tables))
    files["xlsx"].write_bytes(spreadsheet(tables))
    for kind, source in (("doc", "docx"), ("pdf", "docx"), ("xls", "xlsx")):
        files[kind] = folder / f"report.{kind}"
        files[kind].write_bytes(
            convert_with_libreoffice(files[source].read_bytes(), source, kind, timeout=180)
        )
    files["wps"] = folder / "report.wps"  # WPS Office's .wps is the same binary Word format
    files["wps"].write_bytes(files["doc"].read_bytes())
    return files


# ----- tests ----------------------------------------------------------------------------------

HUAIAN_REQUESTS = {
    "new": [3001, 53, 0, 0, 61, 4, 3119],
    "carried_over": [34, 0, 0, 0, 0, 0, 34],
    "disclosed": [1288, 21, 0, 0, 50, 3, 1362],
    "partially_disclosed": [447, 7, 0, 0, 0, 0, 454],
    "withheld_state_secret": [2, 0, 0, 0, 0, 0, 2],
    "withheld_prohibited_by_law": [30, 1, 0, 0, 0, 0, 31],
    "withheld_three_safeties": [5, 0, 0, 0, 0, 0, 5],
    "withheld_third_party": [6, 0, 0, 0, 0, 0, 6],
    "withheld_internal_affairs": [7, 1, 0, 0, 0, 0, 8],
    "withheld_process_info": [12, 0, 0, 0, 0, 0, 12],
    "withheld_enforcement_files": [9, 0, 0, 0, 0, 0, 9],
    "withheld_inquiry": [105, 0, 0, 0, 0, 0, 105],
    "unavailable_not_held": [746, 12, 0, 0, 10, 1, 769],
    "unavailable_needs_creation": [11, 0, 0, 0, 0, 0, 11],
    "unavailable_unclear": [1, 0, 0, 0, 0, 0, 1],
    "unprocessed_petition": [56, 6, 0, 0, 0, 0, 62],
    "unprocessed_duplicate": [25, 0, 0, 0, 0, 0, 25],
    "unprocessed_publication": [0, 0, 0, 0, 0, 0, 0],
    "unprocessed_mass_repetitive": [0, 0, 0, 0, 0, 0, 0],
    "unprocessed_confirm_reissue": [1, 0, 0, 0, 0, 0, 1],
    "other_no_correction": [67, 3, 0, 0, 1, 0, 71],
    "other_unpaid_fee": [6, 0, 0, 0, 0, 0, 6],
    "other_other": [108, 2, 0, 0, 0, 0, 110],
    "total_processed": [2932, 53, 0, 0, 61, 4, 3050],
    "carried_forward": [103, 0, 0, 0, 0, 0, 103],
}
HUAIAN_ACTIVE = {
    ("regulations", "issued"): 1,
    ("regulations", "repealed"): 0,
    ("regulations", "in_force"): 11,
    ("normative_documents", "issued"): 8,
    ("normative_documents", "repealed"): 26,
    ("normative_documents", "in_force"): 66,
    ("licensing", "decisions"): 447228,
    ("penalty", "decisions"): 3985758,
    ("coercion", "decisions"): 88283,
    ("fees", "fee_amount"): 96171.6,
}
HUAIAN_REVIEW = [72, 64, 178, 37, 351, 13, 4, 8, 1, 26, 12, 1, 1, 6, 20]


def test_huaian_2024_pdf_parses_to_the_values_printed_in_it() -> None:
    report, text = parse_attachment(HUAIAN.read_bytes(), "pdf")
    want: Cells = {("active", row, col): v for (row, col), v in HUAIAN_ACTIVE.items()}
    for row, values in HUAIAN_REQUESTS.items():
        want.update(
            {("requests", row, col): v for col, v in zip(REQUEST_COLS, values, strict=True)}
        )
    rows = ("review", "litigation_direct", "litigation_after_review")
    want.update(
        {
            ("review_litigation", rows[n // 5], REVIEW_COLS[n % 5]): v
            for n, v in enumerate(HUAIAN_REVIEW)
        }
    )
    assert report_cells(report) == want
    assert (report.organization, report.year, report.format) == ("淮安市人民政府", 2024, "2021")
    assert report.consistent == 1
    # Page footers ("- 4 -") are not cells, and the prose keeps its place in the text.
    assert "- 4 -" not in text
    assert text.index("二、主动公开政府信息情况") < text.index("行政事业性收费")


@pytest.mark.parametrize("kind", ["docx", "doc", "wps", "pdf", "xlsx", "xls"])
def test_office_files_parse_to_the_numbers_written_in_them(office_files, tables, kind) -> None:
    report, text = parse_attachment(office_files[kind].read_bytes(), kind)
    assert report_cells(report) == truth_cells(tables)
    assert report.format == "2021"
    assert report.consistent == 1, report.notes
    assert (report.organization, report.year) == (ORGANIZATION, YEAR)
    assert "行政复议" in text


def test_a_wps_spreadsheet_in_excel_format_is_read_as_xls(office_files, tables) -> None:
    """WPS's `.et` holding Excel's binary format (an OLE `Workbook` stream) is an XLS; an `.et`
    of any other make is recorded with an error, not guessed at."""
    from crawler.extract import attachment_type

    body = office_files["xls"].read_bytes()
    url = "http://www.example.gov.cn/module/download/downfile.jsp?filename=2024年报.et"
    kind = attachment_type(url, "application/octet-stream", None, body)
    assert kind == "xls"
    report, _text = parse_attachment(body, kind)
    assert report_cells(report) == truth_cells(tables)
    assert attachment_type(url, "application/octet-stream", None, b"ET\x00unknown") == "et"
    with pytest.raises(AttachmentError, match="unsupported attachment type: et"):
        parse_attachment(b"ET\x00unknown", "et")


def test_a_broken_identity_in_a_docx_is_caught(tables) -> None:
    broken = json.loads(json.dumps(tables))
    broken["requests"]["new"]["total"] += 1  # the row no longer adds up
    report, _ = parse_attachment(filled_template(broken), "docx")
    assert report.consistent == 0
    failed = [c for c in report.check_rows() if not c["ok"]]
    assert failed and all("new" in c["detail"] or "total" in c["check"] for c in failed)


def test_scanned_pdf_is_reported_as_scanned_not_as_an_error() -> None:
    report, text = parse_attachment(scanned_pdf(), "pdf")
    assert report.cells == [] and text == ""
    assert report.notes == ["scanned PDF: no text layer, tables not read (no OCR)"]


@pytest.mark.parametrize("kind", ["pdf", "docx", "doc", "xlsx"])
def test_a_corrupt_attachment_is_a_clear_error(kind) -> None:
    with pytest.raises(AttachmentError, match=r"unreadable|could not convert"):
        parse_attachment(b"PK\x03\x04 not really a document" * 10, kind)


def test_nianbao_parse_reads_attachments_and_stores_their_source_type(
    office_files, tables, tmp_path: Path
) -> None:
    runner = CliRunner()
    db = tmp_path / "parsed.db"
    for kind in ("pdf", "docx"):
        result = runner.invoke(cli, ["parse", str(office_files[kind]), "--db", str(db)])
        assert result.exit_code == 0, result.output
        printed = json.loads(result.output)
        got = {(c["section"], c["row_key"], c["col_key"]): c["value"] for c in printed["cells"]}
        assert got == truth_cells(tables)
    store = sqlite_utils.Database(db)
    # The same report in two files is one report: the first file holds it, the second is an alias.
    rows = list(store.query("select id, url, source_type from reports"))
    assert [(Path(r["url"]).name, r["source_type"]) for r in rows] == [("report.pdf", "pdf")]
    aliases = list(store.query("select url, report_id from report_aliases"))
    assert [(Path(a["url"]).name, a["report_id"]) for a in aliases] == [
        ("report.docx", rows[0]["id"])
    ]
    scanned = tmp_path / "scan.pdf"
    scanned.write_bytes(scanned_pdf())
    result = runner.invoke(cli, ["parse", str(scanned)])
    assert result.exit_code == 1  # readable, but no tables
    assert "scanned PDF" in json.loads(result.output)["notes"][0]


@pytest.fixture
def fresh_fingerprint() -> Any:
    parser_fingerprint.cache_clear()
    yield parser_fingerprint
    parser_fingerprint.cache_clear()  # the real one again for the tests after


def office_layout(root: Path, versionrc: str) -> Path:
    """Debian's layout: bin/soffice links to lib/libreoffice/program/soffice, beside versionrc."""
    program = root / "lib" / "libreoffice" / "program"
    program.mkdir(parents=True, exist_ok=True)
    (program / "soffice").write_text("#!/bin/sh\n")
    (program / "soffice").chmod(0o755)
    (program / "versionrc").write_text(versionrc)
    (root / "bin").mkdir(exist_ok=True)
    if not (root / "bin" / "soffice").exists():
        (root / "bin" / "soffice").symlink_to(program / "soffice")
    return root / "bin"


def test_the_parser_fingerprint_changes_with_libreoffice(tmp_path, monkeypatch, fresh_fingerprint):
    """DOC/WPS/XLS rows depend on the LibreOffice that converted them: an upgrade (or installing
    it) means those files are parsed again by the next replay."""
    real = libreoffice_identity()
    if real != "-":  # the installed one is identified, the same each time
        assert real == libreoffice_identity() and real.count(" ") == 2
    monkeypatch.setenv("PATH", str(office_layout(tmp_path, "[Version]\nbuildid=40(Build:2)\n")))
    fresh_fingerprint.cache_clear()
    old = (libreoffice_identity(), fresh_fingerprint())
    office_layout(tmp_path, "[Version]\nbuildid=41(Build:1)\n")  # the upgrade
    fresh_fingerprint.cache_clear()
    new = (libreoffice_identity(), fresh_fingerprint())
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    fresh_fingerprint.cache_clear()
    none = (libreoffice_identity(), fresh_fingerprint())
    assert none[0] == "-"
    assert len({old[0], new[0], none[0]}) == 3
    assert len({old[1], new[1], none[1]}) == 3


def test_a_conversion_cut_short_is_tried_again_by_the_next_replay(office_files, monkeypatch):
    """LibreOffice timed out (a busy machine): the attachment's error says so, and a replay
    counts the record as interrupted, so its file is not held and is parsed again next time;
    a broken file stays a plain attachment error."""
    import crawler.attachments
    from crawler.items import Capture
    from crawler.process import analyse_attachment
    from crawler.replay import analyse

    def capture(body: bytes, name: str) -> Capture:
        return Capture(
            url=f"http://portal.gov.cn/{name}",
            status=200,
            headers=[("Content-Type", "application/msword")],
            body=body,
            fetched_at="2026-01-01T00:00:00Z",
            referer="http://portal.gov.cn/article.html",
        )

    monkeypatch.setattr(crawler.attachments, "CONVERSION_TIMEOUT", 0.05)
    analyse_attachment.cache_clear()
    rows, _, error = analyse(capture(office_files["doc"].read_bytes(), "report.doc"))
    assert error == "ConversionInterrupted"
    assert rows.report is None and "timed out" in rows.attachment["error"]
    monkeypatch.undo()
    analyse_attachment.cache_clear()
    rows, _, error = analyse(capture(office_files["doc"].read_bytes(), "report.doc"))
    assert error is None and rows.report is not None and rows.cells
    rows, _, error = analyse(capture(b"\xd0\xcf\x11\xe0 not really a doc", "broken.doc"))
    assert error is None and rows.report is None and rows.attachment["error"]


@pytest.mark.slow
def test_a_crawl_tries_a_conversion_cut_short_again_the_next_night(office_files, tmp_path):
    """Night 1: LibreOffice runs out of time on a DOC attachment; its row says so. Night 2
    (within the refresh period, which skips every other known document): the DOC is fetched
    whole, without validators, converted, and its old error is gone; the archive keeps no
    second copy of it. Night 3 leaves it alone like any known attachment."""
    from crawler.portal_server import SamplePortals
    from crawler.sample_portals import Page, build_sites
    from tests.helpers import FAST, nianbao

    sites = build_sites()
    article = next(a for a in sites.attachments if a["source_type"] == "pdf")["report_path"]
    doc_path = article.rsplit("/", 1)[0] + "/P020220301512345678903.doc"
    trs = sites.sites["trs"]
    trs.pages[article].body = trs.pages[article].body.replace(
        "年报.docx</a>".encode(),
        "年报.docx</a> <a href='./P020220301512345678903.doc'>年报.doc</a>".encode(),
    )
    trs.pages[doc_path] = Page(
        office_files["doc"].read_bytes(), 200, [("Content-Type", "application/msword")]
    )
    data = tmp_path / "data"

    def night(**env: str) -> tuple[dict[str, Any], list[Any]]:
        before = len(portals.log)
        done = nianbao("crawl", *portals.urls.values(), "--data", str(data), *FAST, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        db = sqlite_utils.Database(data / "nianbao.db")
        (row,) = db.query("select * from attachments where url = ?", [portals.url("trs", doc_path)])
        asked = [e for e in portals.log[before:] if (e.site, e.path) == ("trs", doc_path)]
        return row, asked

    def doc_records() -> list[str]:
        from warcio.archiveiterator import ArchiveIterator

        kinds = []
        for path in sorted((data / "warc").glob("*.warc.gz")):
            with path.open("rb") as stream:
                for record in ArchiveIterator(stream):
                    if record.rec_headers.get_header("WARC-Target-URI", "").endswith(".doc"):
                        kinds.append(record.rec_type)
        return kinds

    with SamplePortals(portals=sites) as portals:
        first, asked = night(NIANBAO_CONVERSION_TIMEOUT="0.05")
        assert "timed out" in first["error"] and first["interrupted"] == "ConversionInterrupted"
        assert [e.status for e in asked] == [200]
        second, asked = night()
        assert [e.status for e in asked] == [200] and "If-None-Match" not in asked[0].headers
        assert (second["error"], second["interrupted"]) == (None, None)
        db = sqlite_utils.Database(data / "nianbao.db")
        aliases = {r["url"] for r in db.query("select url from report_aliases")}
        assert portals.url("trs", doc_path) in aliases  # parsed: a copy of its article's report
        assert [k for k in doc_records() if k != "request"] == ["response", "revisit"]
        third, asked = night()
        assert asked == [] and third["error"] is None


# ----- attachments a download handler serves, hostile files ------------------------------------

DOWNFILE = "/module/download/downfile.jsp?classid=0&id=5"
HUAIAN_NAME = "attachment; filename*=UTF-8''" + quote("淮安市2024年报.pdf")


@pytest.mark.parametrize(
    "headers",
    [
        [("Content-Type", "application/octet-stream"), ("Content-Disposition", HUAIAN_NAME)],
        [("Content-Type", "application/x-download")],  # no name at all: the bytes say PDF
        [("Content-Type", "application/pdf")],
    ],
)
def test_a_pdf_a_download_handler_sends_as_octet_stream_is_parsed(headers) -> None:
    capture = Capture(
        url="http://www.huaian.gov.cn" + DOWNFILE,
        status=200,
        headers=headers,
        body=HUAIAN.read_bytes(),
        fetched_at="2026-01-01T00:00:00Z",
        referer="http://www.huaian.gov.cn/art/2025/1/20/art_1_2.html",
    )
    rows = process_capture(capture)
    assert rows.attachment is not None
    assert (rows.attachment["source_type"], rows.attachment["error"]) == ("pdf", None)
    assert (rows.report["source_type"], rows.report["organization"]) == ("pdf", "淮安市人民政府")
    assert len(rows.cells) == 200
    assert {(c["row_key"], c["col_key"]): c["value"] for c in rows.cells}[
        ("licensing", "decisions")
    ] == 447228


def hostile_span(tables: dict[str, Any], span: str) -> bytes:
    """The filled template with its first gridSpan set to `span`."""
    document = docx.Document(io.BytesIO(filled_template(tables)))
    next(document.element.body.iter(qn("w:gridSpan"))).set(qn("w:val"), span)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.mark.parametrize("span", ["3.0", "x", "-4", ""])
def test_a_grid_span_that_is_no_whole_number_counts_as_one(tables, tmp_path, span) -> None:
    path = tmp_path / "hostile.docx"
    path.write_bytes(hostile_span(tables, span))
    result = CliRunner().invoke(cli, ["parse", str(path)])
    assert result.exit_code == 0, result.output
    got = {
        (c["section"], c["row_key"], c["col_key"]): c["value"]
        for c in json.loads(result.output)["cells"]
    }
    assert got == truth_cells(tables)


def test_a_huge_grid_span_stops_at_the_table_width(tables) -> None:
    data = hostile_span(tables, "3000000")
    tracemalloc.start()
    try:
        document = docx_html(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000  # 3 million covered cells would take 24 MB
    report = parse_attachment(data, "docx")[0]
    assert report_cells(report) == truth_cells(tables)
    assert document.count("<td>") == docx_html(filled_template(tables)).count("<td>")
    assert [grid_span(v, 15) for v in ("2", "300000000", "0", None)] == [2, 15, 1, 1]


@pytest.mark.slow
def test_a_crawl_fetches_and_parses_a_pdf_behind_a_download_handler(tmp_path) -> None:
    """A report page links `downfile.jsp?id=5` by its file name only; the server sends the PDF
    as application/octet-stream named in Content-Disposition: it is fetched, and parsed."""
    from crawler.portal_server import SamplePortals
    from crawler.sample_portals import Page, build_sites
    from tests.helpers import FAST, nianbao

    sites = build_sites()
    article = next(a for a in sites.attachments if a["source_type"] == "pdf")["report_path"]
    trs = sites.sites["trs"]
    trs.pages[article].body = trs.pages[article].body.replace(
        "年报.docx</a>".encode(),
        f"年报.docx</a> <a href='{DOWNFILE}'>淮安市2024年报.pdf</a>".encode(),
    )
    trs.pages[DOWNFILE] = Page(
        HUAIAN.read_bytes(),
        200,
        [("Content-Type", "application/octet-stream"), ("Content-Disposition", HUAIAN_NAME)],
    )
    data = tmp_path / "data"
    with SamplePortals(portals=sites) as portals:
        done = nianbao("crawl", *portals.urls.values(), "--data", str(data), *FAST)
        assert done.returncode == 0, done.stderr[-3000:]
        url = portals.url("trs", DOWNFILE)
        db = sqlite_utils.Database(data / "nianbao.db")
        (row,) = db.query("select * from attachments where url = ?", [url])
        assert (row["source_type"], row["error"]) == ("pdf", None)
        assert row["report_url"] == portals.url("trs", article)
        # Parsed (an attachment without tables would say so in `error`), and filed under the
        # report of the article that links it, as every attachment of a report page is.
        (alias,) = db.query("select report_id from report_aliases where url = ?", [url])
        (report,) = db.query("select url from reports where id = ?", [alias["report_id"]])
        assert report["url"] == portals.url("trs", article)


@pytest.mark.slow
def test_a_report_title_linking_a_file_through_an_opaque_handler_is_parsed(tmp_path) -> None:
    """A list links a report's title to `/servlet/ShowFile?id=7`, nothing in the link saying
    it is a file; the server sends a PDF as octet-stream with no name. The nightly spider
    follows it as a page, and takes what comes back as the attachment it is."""
    from crawler.portal_server import SamplePortals
    from crawler.sample_portals import Page, build_sites
    from tests.helpers import FAST, nianbao

    handler = "/servlet/ShowFile?id=7"
    sites = build_sites()
    trs = sites.sites["trs"]
    listing = trs.pages["/zwgk/zfxxgknb/index.html"]
    link = f"<ul><li><a href='{handler}'>淮安市2024年政府信息公开工作年度报告</a></li>"
    listing.body = listing.body.replace(b"<ul>", link.encode(), 1)
    trs.pages[handler] = Page(
        HUAIAN.read_bytes(), 200, [("Content-Type", "application/octet-stream")]
    )
    data = tmp_path / "data"
    with SamplePortals(portals=sites) as portals:
        done = nianbao("crawl", portals.urls["trs"], "--data", str(data), *FAST)
        url = portals.url("trs", handler)
    assert done.returncode == 0, done.stderr[-3000:]
    db = sqlite_utils.Database(data / "nianbao.db")
    (row,) = db.query("select * from attachments where url = ?", [url])
    assert (row["source_type"], row["error"]) == ("pdf", None)
    (report,) = db.query("select * from reports where url = ?", [url])
    assert (report["organization"], report["year"]) == ("淮安市人民政府", 2024)
    cells = {
        (c["row_key"], c["col_key"]): c["value"]
        for c in db["report_cells"].rows_where("report_id = ?", [report["id"]])
    }
    assert cells[("licensing", "decisions")] == 447228
