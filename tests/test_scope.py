"""Scope rules on real-looking titles, link texts and URLs (crawler.scope, spider link scope)."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request

from crawler.sample_portals import build_sites
from crawler.scope import (
    attachment_in_scope,
    in_scope,
    is_attachment,
    is_report_title,
    link_score,
    may_link_attachments,
)
from spiders.portals import PortalSpider

REPORTS = [
    "兰州市2020年政府信息公开工作年度报告",
    "平潭综合实验区管委会2014年度政府信息公开工作年度报告",
    "XX市审计局2022年政府信息公开工作年度报告",
    "XX县机构编制委员会办公室2022年政府信息公开工作年度报告",
    "XX县预算绩效管理中心2022年政府信息公开工作年度报告",
    "XX县统计局2022年政府信息公开工作年度报告",
    "2022年度北京市审计局政府信息公开工作年度报告",
    "XX市人民政府2012年政府信息公开年度工作报告",
    "XX市2019年政府信息公开工作报告",
    "XX镇2022年度政府信息公开工作报告",
    "2022年度政府信息公开工作情况报告",
    "XX区政府信息公开工作2022年度报告",
    "关于XX局2022年度政府信息公开工作的年度报告",
    "2023年度政务公开工作年报",
    "平潭综合实验区地方税务局2013年信息公开年度报告",
    "政府信息公开年度报告（2022年）",
    "2022年政府信息公开年报",
    "XX县人民政府2021年政府信息公开工作年度报告（图片版）",
    "XX县2022年政府信息公开工作年度报告（更正）",
    "XX县 ２０２２年 政府信息公开工作 年度报告",
    "二〇二二年度XX县政府信息公开工作年度报告",
]
NOT_REPORTS = [
    "2022年度部门预算公开",
    "XX市2022年度部门预算",
    "关于XX市2022年度市级预算执行和其他财政收支的审计工作报告",
    "XX市2023年政府工作报告",
    "2022年政府信息公开工作要点",
    "关于做好2020年度政府信息公开工作年度报告发布工作的通知",
    "关于报送2022年政府信息公开工作年度报告的通知",
    "2022年政府信息公开工作年度报告编制说明",
    "关于XX县2021年政府信息公开工作年度报告的说明",
    "XX市2022年政府信息公开工作年度报告解读",
    "关于2014年政府信息公开工作要点落实情况的函",
    "XX市2022年统计年报",
    "XX市2022年国民经济和社会发展统计公报",
    "XX公司2022年度环境信息公开报告",
    "政府信息公开年报",
    "",
]
LIST_PAGE = "http://www.x.gov.cn/art/2024/1/20/art_1_2.html"


@pytest.mark.parametrize("title", REPORTS)
def test_report_titles_in_every_wording_are_reports(title):
    assert is_report_title(title)
    assert link_score(title, LIST_PAGE) == 100


@pytest.mark.parametrize("title", NOT_REPORTS)
def test_notices_and_other_yearly_documents_are_not_reports(title):
    assert not is_report_title(title)
    assert link_score(title, LIST_PAGE) < 100


def test_sample_portal_distractors_stay_distractors():
    portals = build_sites(scripted=True)
    assert portals.distractors
    for item in portals.distractors:
        assert not is_report_title(item["title"]), item
    for spec in portals.reports:
        assert is_report_title(spec.title), spec.title


def test_other_yearly_documents_score_lower_than_organizations():
    assert link_score("2022年度部门预算公开", LIST_PAGE) < 0
    assert link_score("县审计局", "http://www.x.gov.cn/col/col12/index.html") > 0


@pytest.mark.parametrize(
    ("text", "least"),
    [
        ("南京市江宁区发展和改革委员会2023年政府信...", 90),
        ("XX县2022年度政务公开工作…", 90),
        ("江苏省发展和改革委员会2023年...", 1),
    ],
)
def test_truncated_list_titles_still_lead_to_reports(text, least):
    assert link_score(text, LIST_PAGE) >= least


def test_untruncated_text_gets_no_truncation_credit():
    assert link_score("南京市江宁区发展和改革委员会2023年政府信", LIST_PAGE) <= 0
    assert link_score("县财政局...", LIST_PAGE) <= 0


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("政务公开", "http://hrss.yn.gov.cn/zwgk/"),
        ("法定主动公开内容", "http://jshrss.jiangsu.gov.cn/col/col57/index.html"),
        ("政府信息公开", "http://www.x.gov.cn/zwgk/hrss/zfxxgk/"),
    ],
)
def test_negative_words_do_not_match_inside_hosts(text, url):
    assert link_score(text, url) > 0


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("订阅", "http://www.x.gov.cn/rss/index.xml"),
        ("政务公开", "http://search.x.gov.cn/jsearch/index.do?q=1"),
        ("打印", "http://www.x.gov.cn/print.jsp?id=1"),
        ("English", "http://english.x.gov.cn/"),
        ("RSS订阅", "http://www.x.gov.cn/feed/"),
    ],
)
def test_negative_words_still_match_whole_url_words(text, url):
    assert link_score(text, url) <= 0


OSS = "https://zjjcmspublic.oss-cn-hangzhou-zwynet-d01-a.internet.cloud.zj.gov.cn/jcms_files/jcms1/web3/site/attach/0/a.pdf"
PORTAL = "http://www.qz.gov.cn/"


def test_attachments_on_other_government_hosts_are_in_scope():
    assert not in_scope(OSS, PORTAL)
    assert attachment_in_scope(OSS, PORTAL)
    assert not attachment_in_scope("https://files.example.com/a.pdf", PORTAL)
    assert not attachment_in_scope("http://www.zj.gov.cn/col/col1/index.html", PORTAL)
    assert attachment_in_scope("http://www.qz.gov.cn/art/1.html", PORTAL)


def _response(url: str, html: str) -> HtmlResponse:
    request = Request(url, meta={"portal": PORTAL, "link_text": ""})
    return HtmlResponse(url, body=html.encode(), encoding="utf-8", request=request)


REPORT_PAGE = f"""<html><head><title>衢州市2022年政府信息公开工作年度报告</title></head><body>
<a href="{OSS}">附件下载</a><a href="http://www.zj.gov.cn/col/col1/index.html">浙江省政府</a>
<a href="http://www.zj.gov.cn/files/other.pdf">其他文件</a></body></html>"""


def test_report_page_keeps_its_attachment_on_a_shared_platform():
    spider = PortalSpider(url=PORTAL)
    urls = [
        link.url for link in spider.in_scope_links(_response(PORTAL + "art/1.html", REPORT_PAGE))
    ]
    assert OSS in urls
    assert "http://www.zj.gov.cn/col/col1/index.html" not in urls  # pages stay in scope
    list_page = REPORT_PAGE.replace(
        "<title>衢州市2022年政府信息公开工作年度报告", "<title>通知公告"
    )
    urls = [link.url for link in spider.in_scope_links(_response(PORTAL + "col/1.html", list_page))]
    assert urls == []  # a list's files elsewhere are not ours...
    titled = list_page.replace("附件下载", "衢州市2022年政府信息公开工作年度报告")
    urls = [link.url for link in spider.in_scope_links(_response(PORTAL + "col/1.html", titled))]
    assert urls == [OSS]  # ...unless the link itself is a report


def test_report_attachments_elsewhere_are_requested():
    spider = PortalSpider(url=PORTAL)
    spider.crawler = type("C", (), {"stats": None})()
    response = _response(PORTAL + "art/1.html", REPORT_PAGE)
    requested = [r.url for r in spider.parse(response) if isinstance(r, Request)]
    assert OSS in requested


def test_an_attachment_request_names_its_report_page_even_from_https_to_http():
    """The Referer joins an attachment to its report; Scrapy's default policy would drop it
    from an https report page to an http file server."""
    spider = PortalSpider(url=PORTAL)
    spider.crawler = type("C", (), {"stats": None})()
    page = PORTAL.replace("http://", "https://") + "art/1.html"
    plain = OSS.replace("https://", "http://")
    response = _response(page, REPORT_PAGE.replace(OSS, plain))
    (attachment,) = [r for r in spider.parse(response) if isinstance(r, Request) and r.url == plain]
    assert attachment.headers.get("Referer") == page.encode()


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ('<a href="/module/download/downfile.jsp?filename=2024.PDF">附件</a>', True),
        ("<a href='/att/2024年报.docx'>附件</a>", True),
        ('<a href="/files/%E5%B9%B4%E6%8A%A5%2Epdf">附件</a>', True),
        ('<a href="/art/2024/3/1/art_1_2.html">2024年报</a><script src="/a.js"></script>', False),
    ],
)
def test_may_link_attachments_is_a_safe_shortcut(markup: str, expected: bool) -> None:
    assert may_link_attachments(markup) is expected


def test_every_attachment_link_of_the_sample_portals_passes_the_shortcut() -> None:
    """The replay skips parsing a report page's links when the shortcut says no file: it must
    never say so of a page that links one."""
    from crawler.extract import decode_html
    from crawler.layouts import page_links

    checked = 0
    for site in [*build_sites().sites.values(), *build_sites(scripted=True).sites.values()]:
        for path, page in site.pages.items():
            content_type = dict(page.headers).get("Content-Type", "")
            if "html" not in content_type:
                continue
            markup, _ = decode_html(page.body, content_type)
            links = [link.url for link in page_links(markup, f"http://portal.gov.cn{path}")]
            if any(is_attachment(url) for url in links):
                checked += 1
                assert may_link_attachments(markup), (site.name, path)
    for saved in sorted((Path(__file__).parent / "pages").glob("*.html")):
        markup, _ = decode_html(saved.read_bytes(), "text/html")
        links = [link.url for link in page_links(markup, "http://www.gov.cn/a/b.html")]
        if any(is_attachment(url) for url in links):
            checked += 1
            assert may_link_attachments(markup), saved.name
    assert checked >= 2  # the PDF and DOCX report pages
