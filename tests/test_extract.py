"""Clean text of article pages: the CMS's own container, without the portal around it.

The pages in tests/pages are saved gov.cn article pages (shared/corpus/raw, see MANIFEST.tsv):
real markup, body text possibly edited by whoever saved them, so only the structure counts.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from crawler.extract import (
    article_text,
    attachment_type,
    clean_text,
    decode_html,
    disposition_filename,
    links_to_attachment,
)
from crawler.layouts import article_body
from crawler.sample_portals import (
    Style,
    generated_spec,
    hanweb_article,
    link_list,
    report_body,
)

PAGES = Path(__file__).parent / "pages"

# page -> (a sentence of the article, portal text around it that must be left out)
SAVED = {
    "hanweb_zj_jyt_art.html": ("师德师风建设专题培训班在浙江大学紫金港校区举办", "索引号"),
    "trs_beijing_jw_art.html": ("两地20所高校成立京港大学联盟", "扫一扫分享本页"),
    "ucap_sc_gov_art.html": ("现答复如下", "复函\n"),
    "inhouse_shanghai_wsjkw_art.html": ("各区卫生健康委", "( 2024-05-11)"),
}


@pytest.mark.parametrize("name", sorted(SAVED))
def test_saved_pages_give_their_article_without_the_portal(name: str) -> None:
    body = (PAGES / name).read_bytes()
    html, _ = decode_html(body)
    sentence, chrome = SAVED[name]
    whole, article = clean_text(body), article_text(body, html)
    assert sentence in article and sentence in whole
    assert chrome in whole and chrome not in article


def test_a_report_keeps_every_table_and_loses_the_related_reading_list() -> None:
    spec = generated_spec("hanweb", "/art/2022/3/1/art_120_1.html", "兰州市教育局", 2021, 7)
    page = hanweb_article(
        spec.title, report_body(spec, Style(seed=4, word=True)), "2022-03-01", "兰州", "年报"
    )
    related = "<div class='xgyd'>相关阅读" + link_list([("/a.html", "市政府常务会议")]) + "</div>"
    page = page.replace("</body>", related + "</body>")
    text = article_text(page.encode(), page)
    assert text.startswith("本报告根据《中华人民共和国政府信息公开条例》编制")
    assert "相关阅读" not in text and "市政府常务会议" not in text
    for heading in ("二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况", "六、其他"):
        assert heading in text
    assert text.count("|") > 100  # the tables, as rows of cells


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_page_in_utf16_is_decoded_by_its_byte_order_mark(encoding: str) -> None:
    """Saved as "Unicode" with its `<meta charset="utf-8">` kept, and served as utf-8 too: the
    mark decides, as in a browser; the clean text is the UTF-8 page's, container or none."""
    page = (
        "<html><head><meta charset='utf-8'><title>年报</title></head><body>"
        "<div class='nav'>首页 政务公开</div><div><p>本年度共收到政府信息公开申请12件，"
        "均已按时答复。</p><p>本年度未收取信息处理费。</p></div></body></html>"
    )
    bom = {"utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    body = bom + page.encode(encoding)
    html, used = decode_html(body, "text/html; charset=utf-8")
    assert html.lstrip("\ufeff") == page and used in ("utf-16", "utf-32")
    assert article_text(body, html) == article_text(page.encode(), page)
    assert "申请12件" in article_text(body, html)
    wrapped = page.replace("<div><p>", "<div class='TRS_Editor'><p>")  # a CMS container
    body = bom + wrapped.encode(encoding)
    assert article_text(body, decode_html(body)[0]) == article_text(wrapped.encode(), wrapped)


def test_a_body_split_in_two_containers_is_kept_whole() -> None:
    html = (
        "<html><body><div class='nav'>首页 政务公开</div>"
        "<div class='TRS_Editor'><p>第一部分正文，共有两段。</p></div>"
        "<div class='ad'>广告位</div>"
        "<div class='TRS_Editor'><p>第二部分正文，在广告之后。</p>"
        "<div class='TRS_Editor'><p>内层不重复。</p></div></div></body></html>"
    )
    body = article_body(html)
    assert body is not None
    assert "广告位" not in body and "首页" not in body
    assert body.index("第一部分") < body.index("第二部分")
    assert body.count("内层不重复") == 1


def test_a_page_without_a_known_container_is_read_whole() -> None:
    html = "<html><body><div class='main'><p>" + "正文内容。" * 40 + "</p></div></body></html>"
    assert article_body(html) is None
    assert article_text(html.encode(), html) == clean_text(html.encode())
    assert article_body("") is None


# ----- attachments a download handler serves ---------------------------------------------------

DOWNFILE = "http://www.changle.gov.cn/module/download/downfile.jsp?classid=0&id=5"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


def ole_file(stream: str) -> bytes:
    """An OLE compound file whose directory names `stream` (as Word and Excel files do)."""
    entry = "Root Entry".encode("utf-16-le").ljust(128, b"\0")
    return OLE + entry + stream.encode("utf-16-le") + b"\0\0" + bytes(60)


def zip_file(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


GBK_NAME = "昌乐县2021年报.xls".encode("gbk").decode(
    "latin-1"
)  # raw bytes, as the crawl reads them


@pytest.mark.parametrize(
    ("content_type", "disposition", "body", "kind"),
    [
        ("application/octet-stream", 'attachment; filename="report.pdf"', b"", "pdf"),
        (
            "application/x-download",
            "attachment; filename*=UTF-8''%E5%B9%B4%E6%8A%A5.docx",
            b"",
            "docx",
        ),
        ("application/octet-stream", f'attachment; filename="{GBK_NAME}"', b"", "xls"),
        ("application/octet-stream", None, b"%PDF-1.7\n%\xe2\xe3", "pdf"),
        ("application/x-download", None, ole_file("WordDocument"), "doc"),
        ("application/x-download", None, ole_file("Workbook"), "xls"),
        (
            "application/octet-stream",
            'attachment; filename="a.wps"',
            ole_file("WordDocument"),
            "wps",
        ),
        ("application/octet-stream", 'attachment; filename="a.doc"', ole_file("Workbook"), "xls"),
        (
            "application/octet-stream",
            None,
            zip_file("[Content_Types].xml", "word/document.xml"),
            "docx",
        ),
        (
            "application/octet-stream",
            None,
            zip_file("[Content_Types].xml", "xl/workbook.xml"),
            "xlsx",
        ),
        ("application/msword", None, zip_file("word/document.xml"), "docx"),
        ("application/octet-stream", None, zip_file("readme.txt"), None),
        ("application/octet-stream", None, b"\x00\x01 some program", None),
        ("text/html", None, b"<html><body>404</body></html>", None),
        ("application/pdf", None, b"", "pdf"),
    ],
)
def test_an_attachment_is_known_by_its_download_name_or_its_bytes(
    content_type, disposition, body, kind
) -> None:
    assert attachment_type(DOWNFILE, content_type, disposition, body) == kind


def test_an_attachment_url_still_names_its_type() -> None:
    assert attachment_type("http://x.gov.cn/P0202203.docx", "application/octet-stream") == "docx"
    assert attachment_type("http://x.gov.cn/a.pdf.html", "text/html") is None


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ('attachment; filename="x.pdf"', "x.pdf"),
        ("attachment; filename=x.pdf", "x.pdf"),
        ("attachment; filename*=UTF-8''%E6%98%8C%E4%B9%90%E5%8E%BF.pdf", "昌乐县.pdf"),
        ("attachment; filename*=GBK''%B2%FD%C0%D6%CF%D8.doc", "昌乐县.doc"),
        ('attachment; filename="%E6%98%8C%E4%B9%90%E5%8E%BF.pdf"', "昌乐县.pdf"),
        ('attachment; filename="%B2%FD%C0%D6%CF%D8.pdf"', "昌乐县.pdf"),
        (f'attachment; filename="{GBK_NAME}"', "昌乐县2021年报.xls"),
        ('attachment; filename="' + "昌乐县.wps".encode().decode("latin-1") + '"', "昌乐县.wps"),
        ('attachment; filename="昌乐县.wps"', "昌乐县.wps"),  # a replay reads headers as UTF-8
        ("attachment; filename=\"x.pdf\"; filename*=UTF-8''%E5%B9%B4.pdf", "年.pdf"),
        ("inline", None),
        (None, None),
    ],
)
def test_content_disposition_names_are_decoded(header, name) -> None:
    assert disposition_filename(header) == name


@pytest.mark.parametrize(
    ("url", "text", "wanted"),
    [
        (DOWNFILE, "昌乐县2021年报.pdf", True),
        ("http://x.gov.cn/servlet/Show?id=5", "附件：昌乐县2021年报.docx（56KB）", True),
        ("http://x.gov.cn/servlet/Show?id=5", "附件1", True),
        ("http://x.gov.cn/servlet/Show?id=5", "【下载】", True),
        ("http://x.gov.cn/attach/0/a1b2c3", "昌乐县2021年政府信息公开工作年度报告", True),
        ("http://x.gov.cn/common/getFile?fileId=88", "", True),
        ("http://x.gov.cn/zwgk/202203/P020220301512345678901.pdf", "", True),
        ("http://x.gov.cn/col/col123/index.html", "政府信息公开年报", False),
        ("http://x.gov.cn/xzzx/index.html", "下载中心", False),
        ("http://x.gov.cn/art/2022/3/1/art_1_2.html", "关于etc.的说明", False),
    ],
)
def test_report_page_links_to_download_handlers_are_fetched_as_attachments(
    url, text, wanted
) -> None:
    assert links_to_attachment(url, text) is wanted
