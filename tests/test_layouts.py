"""CMS layouts, scope rules and charset repair, on small fixtures shaped like the real markup."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request

from crawler.charset import CharsetFixMiddleware
from crawler.extract import decode_html
from crawler.layouts import detect, further_pages, hanweb, is_article_url, page_links, trs
from crawler.scope import canonical_url, in_scope, is_attachment, is_report_title, link_score

COLUMN = "http://www.lanzhou.gov.cn/col/col120/index.html"

HANWEB_COLUMN = """<html><body><div id="9120"><script type="text/xml"><datastore>
<nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&appid=1&webid=1&path=/&columnid=120&unitid=9120&webname=x&permissiontype=0"></a>]]></nextgroup>
<recordset>
<record><![CDATA[<li><a href='/art/2021/3/9/art_120_1001.html' title='兰州市2020年政府信息公开工作年度报告'>兰州市2020年政府信息公开工作年度报告</a><span>2021-03-09</span></li>]]></record>
<record><![CDATA[<li><a href='/art/2021/1/5/art_120_1002.html'>关于做好2020年政府信息公开工作年度报告编制发布工作的通知</a></li>]]></record>
</recordset></datastore></script></div>
<script>$('#9120').jpage({ dataStore: dataStore, perPage: 2, totalRecord: 7,
 proxyUrl: '/module/web/jpage/dataproxy.jsp', ajaxParam: {col: 1, appid: 1, webid: 1, path: '/',
 columnid: 120, sourceContentType: 1, unitid: 9120, webname: '兰州市', permissiontype: 0} });</script>
<a href='http://www.hanweb.com' style='display:none'>Produced By 大汉网络 大汉版通发布系统</a>
</body></html>"""


def test_hanweb_inline_records_are_found_inside_cdata():
    links = hanweb.inline_records(HANWEB_COLUMN, COLUMN)
    assert [link.url for link in links] == [
        "http://www.lanzhou.gov.cn/art/2021/3/9/art_120_1001.html",
        "http://www.lanzhou.gov.cn/art/2021/1/5/art_120_1002.html",
    ]
    assert links[0].text == "兰州市2020年政府信息公开工作年度报告"
    # without <recordset>: CDATA straight in <datastore>
    bare = "<datastore><![CDATA[<li><a href='/art/1.html'>甲</a></li>]]></datastore>"
    assert [lk.url for lk in hanweb.inline_records(bare, COLUMN)] == [
        "http://www.lanzhou.gov.cn/art/1.html"
    ]


def test_hanweb_paging_is_a_post_to_dataproxy_with_the_scripts_fields():
    requests = hanweb.paging_requests(HANWEB_COLUMN, COLUMN)
    assert [r.url for r in requests] == [
        "http://www.lanzhou.gov.cn/module/web/jpage/dataproxy.jsp?startrecord=3&endrecord=7&perpage=2"
    ]
    (request,) = requests
    assert request.method == "POST" and request.headers == {"Referer": COLUMN}
    assert request.formdata == {
        "col": "1",
        "appid": "1",
        "webid": "1",
        "path": "/",
        "columnid": "120",
        "sourceContentType": "1",
        "unitid": "9120",
        "webname": "兰州市",
        "permissiontype": "0",
    }


def test_hanweb_dataproxy_answer():
    xml = """<?xml version="1.0" encoding="UTF-8"?><datastore><totalrecord>1928</totalrecord>
    <recordset><record><![CDATA[<li class="cf"><a href="/art/2026/9/16/art_77_11830771.html"
    title="标题">标题</a><span>2026-09-16</span></li>]]></record></recordset></datastore>"""
    links, total = hanweb.dataproxy_records(xml, COLUMN)
    assert total == 1928
    assert links[0].url == "http://www.lanzhou.gov.cn/art/2026/9/16/art_77_11830771.html"


def test_hanweb_get_nextgroup_form_when_no_post_parameters():
    html = HANWEB_COLUMN.split("<script>$(")[0] + "<script>var totalpage = 3;</script>"
    urls = [r.url for r in hanweb.paging_requests(html, COLUMN)]
    assert len(urls) == 3 and all("dataproxy.jsp?page=" in u for u in urls)
    assert "page=3" in urls[-1] and "columnid=120" in urls[-1]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ('createPageHTML(3, 0, "index", "html");', ["index_1.html", "index_2.html", "index.html"]),
        ("createPageHTML('2','1','index','shtml');", ["index_1.shtml", "index.shtml"]),
        ("var countPage = 2//共多少页", ["index_1.html", "index.html"]),
    ],
)
def test_trs_paging_from_create_page_html(script, expected):
    base = "http://www.x.gov.cn/zwgk/zfxxgknb/index.html"
    urls = [r.url for r in trs.paging_urls(f"<script>{script}</script>", base)]
    assert urls == [f"http://www.x.gov.cn/zwgk/zfxxgknb/{name}" for name in expected]


def test_generic_next_pages_and_detect():
    html = (
        "<a href='?page=2'>下一页</a><a href='/a.html'>文章</a><a href='javascript:void(0)'>x</a>"
    )
    url = "http://www.x.gov.cn/xxgk/nb/list?page=1"
    assert [p.url for p in further_pages(html, url)] == ["http://www.x.gov.cn/xxgk/nb/list?page=2"]
    assert [lk.url for lk in page_links(html, url)] == [
        "http://www.x.gov.cn/xxgk/nb/list?page=2",
        "http://www.x.gov.cn/a.html",
    ]
    assert detect(HANWEB_COLUMN) == "hanweb"
    assert detect('<div class="TRS_Editor">') == "trs"
    assert detect("<p>hi</p>") == "generic"


@pytest.mark.parametrize(
    "title",
    [
        "兰陵县人民政府 2020年政府信息公开工作 年度报告",
        "兰州市2020年政府信息公开工作年度报告",
        "平潭综合实验区2021年度政府信息公开工作年度报告",
        "兰州市教育局2021年政府信息公开年报",
        "七里河区西园街道办事处2021年政府信息公开工作年度报告",
    ],
)
def test_report_titles(title):
    assert is_report_title(title)


@pytest.mark.parametrize(
    "title",
    [
        "关于做好2020年政府信息公开工作年度报告编制发布工作的通知",
        "兰州市2021年政务公开工作要点",
        "兰州市2020年法治政府建设年度报告",
        "兰州市人民政府办公室2021年部门决算",
        "政府信息公开年报",
        "",
    ],
)
def test_not_report_titles(title):
    assert not is_report_title(title)


def test_link_scores_lead_towards_reports():
    assert (
        link_score("政府信息公开年报", "/col/col120/index.html")
        > link_score("政务公开", "/col/col100/index.html")
        > 0
    )
    assert link_score("兰州市2020年政府信息公开工作年度报告", "/art/1.html") == 100
    assert link_score("新闻中心", "/col/col200/index.html") <= 0
    assert link_score("English", "/english/index.html") <= 0


def test_scope_and_urls():
    portal = "http://www.lanzhou.gov.cn/"
    assert in_scope("http://xxgk.lanzhou.gov.cn/col/col1/index.html", portal)
    assert in_scope("https://lanzhou.gov.cn/a.html", portal)
    assert not in_scope("http://www.gansu.gov.cn/", portal)
    assert not in_scope("mailto:a@b.cn", portal)
    assert in_scope("http://127.0.0.1:8000/a", "http://127.0.0.1:8000/")
    assert not in_scope("http://127.0.0.1:8001/a", "http://127.0.0.1:8000/")
    assert canonical_url("http://WWW.x.gov.cn:80/a.html#top") == "http://www.x.gov.cn/a.html"
    assert is_attachment("http://x.gov.cn/202103/P020210309.pdf") == "pdf"
    assert is_attachment("/module/download/downfile.jsp?classid=0&filename=a.docx") == "docx"
    assert is_attachment("/a.html") is None


GBK_PAGE = "<html><head><title>兰州市2020年政府信息公开工作年度报告</title></head></html>"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (GBK_PAGE.encode("gbk"), "text/html"),  # no charset anywhere
        (GBK_PAGE.replace("<head>", '<head><meta charset="utf-8">').encode("gbk"), "text/html"),
        (GBK_PAGE.encode("gbk"), "text/html; charset=utf-8"),  # header lies
        (GBK_PAGE.encode("utf-8"), "text/html; charset=utf-8"),  # honest utf-8 untouched
    ],
)
def test_charset_fix(body, content_type):
    url = "http://x.gov.cn/a.html"
    response = HtmlResponse(
        url, body=body, headers={"Content-Type": content_type}, request=Request(url)
    )
    fixed = CharsetFixMiddleware().process_response(response.request, response)
    assert fixed.css("title::text").get() == "兰州市2020年政府信息公开工作年度报告"


PAGES = Path(__file__).parent / "pages"

# Empty boxes copied from the saved gov.cn pages in shared/corpus/raw (each beside the external
# scripts that fill them): none holds a report list, so none may send its page to a browser.
WIDGET_BOXES = [
    '<div class="bdsharebuttonbox share-component social-share" id="share-1"></div>',  # foshan
    '<div id="qrcodetable"></div>',  # jiangsu
    '<div id="QRcode"></div>',  # henan
    '<div id="accessNull"></div><div id="ivs_player" style="text-align:center;"></div>',  # sh
    '<div id="page_top"></div><div class="page_bottom" id="page_bottom">\n</div>',  # yunnan
    '<div class="searchul" id="ulSearchList">\n   </div>',  # qingdao
    '<ul id="appendix_list">\n        \n    </ul>',  # wuhan: its attachment box
    '<table width="100%" border="0" style="margin-top:10px;" id="tblArticleLink">\n</table>',
    # Containers holding containers, a frame, or nothing but hidden metadata (jinan, beijing_jw,
    # shaanxi, wuhan): each once sent every page of a portal in that chrome to the browser.
    '<ul class="list">\n<iframe src="/col/col25359/index.html" scrolling="no"></iframe>\n</ul>',
    '<div class="row">\n<div class="col-md-4-0">\n<div class="logo p-t-10">\n'
    '<img src="static/picture/jw_logo_2020.png" alt="北京市教育委员会" />\n</div>\n</div>\n</div>',
    '<div class="clearfix news-detail">\n<div class="szf_lfNewsDetail">\n'
    '<div id="playercontainer"></div><br />\n<p>正文第一段</p></div></div>',
    '<div id="NewsArticleAuthor" style="display:none;"></div>',
]
LIST_SHELLS = [
    "<div class='list-box'><ul id='nb-list' class='list'></ul></div>",
    "<table class='nb'><tbody id='rows'></tbody></table>",
    '<div class="newsList"></div>',
    '<ul id="dataList">\n</ul>',
    '<div id="newsList">\n<div class="loading">加载中…</div>\n</div>',
]
FILLING_SCRIPT = "<script src='/static/js/header.js'></script><script src='/js/main.js'></script>"


@pytest.mark.parametrize("box", WIDGET_BOXES)
def test_real_page_furniture_does_not_need_a_browser(box):
    from crawler.layouts.scripted import needs_browser

    html = f"<html><body><h1>新闻</h1>{box}<p>正文</p>{FILLING_SCRIPT}</body></html>"
    assert not needs_browser(html, "http://gov.example/a/t20240511_1.html")


@pytest.mark.parametrize("name", sorted(p.name for p in PAGES.glob("*.html")))
def test_no_saved_gov_cn_page_needs_a_browser(name: str) -> None:
    """Real chrome (in every page of its portal) never sends a page to the browser by itself."""
    from crawler.layouts.scripted import needs_browser

    html, _ = decode_html((PAGES / name).read_bytes())
    assert not needs_browser(html, "http://gov.example/col/col1/index.html")


@pytest.mark.parametrize("shell", LIST_SHELLS)
def test_an_empty_list_filled_by_a_script_needs_a_browser(shell):
    from crawler.layouts.scripted import needs_browser

    html = f"<html><body><h1>年报</h1>{shell}{FILLING_SCRIPT}</body></html>"
    assert needs_browser(html, "http://gov.example/xxgk/nb/index.html")
    # The same shell with no script to fill it, or with its data address in plain sight: no.
    assert not needs_browser(f"<html><body>{shell}</body></html>", "http://gov.example/")
    plain = f"<html><body>{shell}<script>fetch('/api/nb.json')</script></body></html>"
    assert not needs_browser(plain, "http://gov.example/")


def test_a_report_page_is_never_rendered_again_in_a_browser():
    """The same empty list shell and script: a list page goes to the browser, a report does not
    (its tables are in the page; on real portals its empty boxes are page furniture)."""
    from scrapy.utils.test import get_crawler

    from spiders.portals import PortalSpider

    crawler = get_crawler(PortalSpider, {"NIANBAO_BROWSER_READY": True})
    crawler._apply_settings()
    portal = "http://gov.example/"
    spider = PortalSpider.from_crawler(crawler, sites=[{"name": "a", "url": portal, "region": ""}])
    shell = f"{LIST_SHELLS[0]}{FILLING_SCRIPT}"

    def response(title: str, url: str) -> HtmlResponse:
        html = f"<html><head><title>{title}</title></head><body><h1>{title}</h1>{shell}</body>"
        request = Request(url, meta={"portal": portal})
        return HtmlResponse(url, body=html.encode(), encoding="utf-8", request=request)

    (again,) = spider.browser_requests(response("政府信息公开年报", f"{portal}xxgk/nb/index.html"))
    assert again.meta.get("playwright") and again.url.endswith("/xxgk/nb/index.html")
    report = response("示例市2023年政府信息公开工作年度报告", f"{portal}xxgk/nb/2023.html")
    assert spider.browser_requests(report) == []


def test_a_list_already_in_the_markup_is_not_rendered_again():
    """Two report links in the page: its list is there, the empty box beside it is furniture.
    One may be a sidebar's latest report, so one is not enough."""
    from scrapy.utils.test import get_crawler

    from crawler.layouts import Link
    from spiders.portals import PortalSpider

    crawler = get_crawler(PortalSpider, {"NIANBAO_BROWSER_READY": True})
    crawler._apply_settings()
    portal = "http://gov.example/"
    spider = PortalSpider.from_crawler(crawler, sites=[{"name": "a", "url": portal, "region": ""}])
    url = f"{portal}xxgk/nb/index.html"
    html = f"<html><body><h1>政府信息公开年报</h1>{LIST_SHELLS[0]}{FILLING_SCRIPT}</body></html>"
    page = HtmlResponse(
        url, body=html.encode(), encoding="utf-8", request=Request(url, meta={"portal": portal})
    )
    links = [
        Link(f"{portal}nb/{y}.html", f"示例市{y}年政府信息公开工作年度报告") for y in (2022, 2023)
    ]
    assert spider.browser_requests(page, links) == []
    assert len(spider.browser_requests(page, links[:1])) == 1


ARTICLES = [  # the saved pages' own URLs (shared/corpus/raw/MANIFEST.tsv) and research notes
    "https://www.jiangsu.gov.cn/art/2024/10/14/art_60085_11394426.html",
    "https://jyt.zj.gov.cn/art/2024/10/21/art_1543973_58942886.html",
    "https://www.shaanxi.gov.cn/xw/sxyw/201312/t20131223_1501140.html",
    "https://www.wuhan.gov.cn/zwgk/xxgk/202311/t20231106_2294796.shtml",
    "https://www.henan.gov.cn/2022/08-11/2559082.html",
    "https://wsjkw.sh.gov.cn/jcws2/20240511/0a1b2c3d4e5f60718293a4b5c6d7e8f9.html",
    "https://www.sc.gov.cn/10462/11689/11698/11704/2025/6/3/0a1b2c3d4e5f60718293a4b5c6d7e8f9.shtml",
    "https://www.gd.gov.cn/gkmlpt/content/4/4123/post_4123456.html",
]
LISTS = [
    "https://www.jiangsu.gov.cn/col/col60085/index.html",
    "https://www.jiangsu.gov.cn/module/web/jpage/dataproxy.jsp?startrecord=1&endrecord=45",
    "https://www.mva.gov.cn/gongkai/zfxxgkpt/zfxxgknb/index_2.html",
    "https://zfxxgk.beijing.gov.cn/110016/zfxxgknb/list.shtml",
    "https://www.csrc.gov.cn/csrc/c100033/common_zfxxgknb.shtml",
    "https://www.fujian.gov.cn/zwgk/zfxxgk/zfxxgknb/nlist.htm",
    "http://hrss.yn.gov.cn/InfoPublic.aspx?cid=1019&pid=971&page=1",
    "https://www.henan.gov.cn/",
]


@pytest.mark.parametrize("url", ARTICLES)
def test_article_urls_of_every_cms_are_known(url: str) -> None:
    assert is_article_url(url)


@pytest.mark.parametrize("url", LISTS)
def test_list_urls_are_never_taken_for_articles(url: str) -> None:
    assert not is_article_url(url)


@pytest.mark.parametrize("name", sorted(p.name for p in PAGES.glob("*.html")))
def test_an_attachment_box_a_script_fills_is_told_on_saved_pages(name: str) -> None:
    """Ucap's `相关附件>>` `table#tblAppendix` is empty in the markup and filled by script;
    the other saved pages show their files (or none) in the markup."""
    from crawler.layouts.scripted import attachments_by_script

    html, _ = decode_html((PAGES / name).read_bytes())
    assert attachments_by_script(html) == name.startswith("ucap_")


def test_a_report_page_is_rendered_only_for_files_a_script_links():
    from scrapy.utils.test import get_crawler

    from crawler.layouts import Link
    from spiders.portals import PortalSpider

    crawler = get_crawler(PortalSpider, {"NIANBAO_BROWSER_READY": True})
    crawler._apply_settings()
    portal = "http://gov.example/"
    spider = PortalSpider.from_crawler(crawler, sites=[{"name": "a", "url": portal, "region": ""}])
    url, title = f"{portal}xxgk/nb/2023.html", "示例市2023年政府信息公开工作年度报告"
    box = "<table id='tblAppendix'>\n</table><script src='/js/appendix.js'></script>"
    html = f"<html><body><h1>{title}</h1><p>全文见附件。</p>{box}</body></html>"
    page = HtmlResponse(
        url, body=html.encode(), encoding="utf-8", request=Request(url, meta={"portal": portal})
    )
    (again,) = spider.browser_requests(page, [])
    assert again.meta.get("playwright") and again.url == url
    pdf = [Link(f"{portal}xxgk/nb/P0202.pdf", "附件：2023年报.pdf")]
    assert spider.browser_requests(page, pdf) == []  # its file is in the markup
    no_box = html.replace(box, "<script src='/js/appendix.js'></script>")
    plain = page.replace(body=no_box.encode())
    assert spider.browser_requests(plain, []) == []
