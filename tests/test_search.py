"""A portal's own site search (Hanweb jsearchfront) asked for annual reports: pure functions."""

from __future__ import annotations

import json
from urllib.parse import quote

from scrapy.http import FormRequest, HtmlResponse, Request
from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector

from crawler.layouts import Posted, further_pages, page_links, search, site_searches
from spiders.portals import PortalSpider

HOME = "http://www.lanzhou.gov.cn/index.html"
API = "http://www.lanzhou.gov.cn/jsearchfront/interfaces/cateSearch.do"
FORM_BOX = """<html><body><div class="header">
<form action="/jsearchfront/search.do" method="get" target="_blank" name="searchform">
<input type="hidden" name="websiteid" value="620100000000000">
<input type="hidden" name="tpl" value="1581"><input type="hidden" name="p" value="1">
<input type="text" name="q"><input type="submit" value="搜索"></form></div></body></html>"""


def test_a_search_form_gives_one_post_for_reports():
    (request,) = site_searches(FORM_BOX, HOME)
    assert (request.url, request.method) == (API, "POST")
    assert request.formdata == {
        "websiteid": "620100000000000",
        "tpl": "1581",
        "q": search.QUERY,
        "p": "1",
        "pg": "20",
        "pos": "title",
    }
    assert request.headers["Referer"] == HOME
    assert request.headers["X-Requested-With"] == "XMLHttpRequest"


def test_a_script_opening_the_results_page_names_its_fields_in_the_address():
    html = """<script>function doSearch(){ var q = $('#q').val();
    window.open("http://www.weihai.gov.cn/jsearchfront/search.do?websiteid=371000000000000\
&searchid=12&pg=&p=1&tpl=1321&q=" + encodeURIComponent(q)); }</script>"""
    (request,) = site_searches(html, "http://www.weihai.gov.cn/")
    assert request.url == "http://www.weihai.gov.cn/jsearchfront/interfaces/cateSearch.do"
    assert request.formdata is not None
    fields = {k: request.formdata[k] for k in ("websiteid", "searchid", "tpl")}
    assert fields == {"websiteid": "371000000000000", "searchid": "12", "tpl": "1321"}


def test_a_search_on_its_own_host_and_fields_set_beside_the_address():
    html = """<script>var websiteid = '330000000000000'; var tpl = "1569";
    $('#sform').attr('action', 'https://search.zj.gov.cn/jsearchfront/search.do');</script>"""
    (request,) = site_searches(html, "https://www.zj.gov.cn/col/col1229019364/index.html")
    assert request.url == "https://search.zj.gov.cn/jsearchfront/interfaces/cateSearch.do"
    assert request.formdata is not None
    assert (request.formdata["websiteid"], request.formdata["tpl"]) == ("330000000000000", "1569")


def test_no_search_without_a_site_id_or_a_search_box():
    assert (
        site_searches("<form action='/jsearchfront/search.do'><input name='q'></form>", HOME) == []
    )
    assert (
        site_searches("<form action='/search.jsp'><input name='websiteid' value='1'>", HOME) == []
    )
    twice = FORM_BOX + FORM_BOX.replace("<html><body>", "<div>")
    assert len(site_searches(twice, HOME)) == 1  # one site, asked once


def counted(url: str, title: str) -> str:
    return f"visit/link.do?url={quote(url, safe='')}&title={quote(title)}&webid=1"


def snippet(url: str, title: str, date: str = "2023-02-10") -> str:
    shown = title.replace("政府信息公开", "<em>政府信息公开</em>")
    return (
        f"<div class='jcse-result-box'><div class='jcse-news-title'><a href='{counted(url, title)}'"
        f" target='_blank'>{shown}</a></div><div class='jcse-news-url'>"
        f"<a href='{counted(url, title)}'>{url}</a><span class='jcse-news-date'>{date}</span>"
        "</div></div>"
    )


FINANCE = "http://czj.lanzhou.gov.cn/art/2023/2/10/art_160_5001.html"
NOTICE = "http://www.lanzhou.gov.cn/art/2021/1/5/art_120_1002.html"


def test_results_are_reports_at_their_own_address_not_the_click_counter():
    answer = json.dumps(
        {
            "total": 2,
            "result": [
                snippet(FINANCE, "兰州市财政局2022年政府信息公开工作年度报告"),
                snippet(NOTICE, "关于做好2020年政府信息公开工作年度报告编制发布工作的通知"),
            ],
        },
        ensure_ascii=False,
    )
    links = page_links(answer, API)
    assert [(link.url, link.text) for link in links] == [
        (FINANCE, "兰州市财政局2022年政府信息公开工作年度报告")
    ]


def test_a_result_showing_only_its_address_takes_the_title_the_counter_carries():
    title = "七里河区2021年政府信息公开工作年度报告"
    url = "http://www.qilihe.gov.cn/art/2022/1/25/art_140_3001.html"
    answer = json.dumps({"total": 1, "result": [f"<a href='{counted(url, title)}'>{url}</a>"]})
    assert [(link.url, link.text) for link in search.answer_links(answer, API)] == [(url, title)]


def test_results_given_as_objects():
    answer = json.dumps(
        {
            "total": 2,
            "resultDocs": [
                {
                    "titleO": "烟台市2023年政府信息公开工作年度报告",
                    "title": "烟台市2023年<em>政府信息公开</em>工作<em>年度报告</em>",
                    "url": "http://www.yantai.gov.cn/art/2024/1/20/art_1_2.html",
                    "docDate": "2024-01-20",
                },
                {"titleO": "烟台新闻", "url": "/art/2024/1/2/art_1_3.html"},
            ],
        },
        ensure_ascii=False,
    )
    links = search.answer_links(answer, "http://www.yantai.gov.cn" + search.API_PATH)
    assert [(link.url, link.text) for link in links] == [
        (
            "http://www.yantai.gov.cn/art/2024/1/20/art_1_2.html",
            "烟台市2023年政府信息公开工作年度报告",
        )
    ]


def answer_of(total: int, titles: list[str]) -> str:
    results = [snippet(f"http://www.lanzhou.gov.cn/art/{n}.html", t) for n, t in enumerate(titles)]
    return json.dumps({"total": total, "result": results}, ensure_ascii=False)


REPORT = "兰州市2021年政府信息公开工作年度报告"
FIRST = {"websiteid": "620100000000000", "q": search.QUERY, "p": "1", "pg": "20", "pos": "title"}


def test_a_capped_first_page_sets_the_size_of_the_next():
    # 8 results, the server gives 5 a page whatever `pg` asks
    (second,) = further_pages(answer_of(8, [REPORT] * 5), API, Posted(FIRST))
    assert second.method == "POST" and second.formdata is not None
    assert (second.formdata["p"], second.formdata["pg"]) == ("2", "5")
    assert second.formdata["websiteid"] == "620100000000000"
    last = Posted(second.formdata)
    assert further_pages(answer_of(8, [REPORT] * 3), API, last) == []  # 5 + 3 = 8


def test_results_are_paged_while_they_hold_reports():
    assert further_pages(answer_of(40, [REPORT] * 20), API, Posted(FIRST))[0].formdata["p"] == "2"
    news = ["兰州新闻"] * 20
    assert further_pages(answer_of(40, news), API, Posted(FIRST)) == []  # relevance ran out
    assert further_pages(answer_of(20, [REPORT] * 20), API, Posted(FIRST)) == []  # all shown
    assert further_pages(json.dumps({"result": []}), API, Posted(FIRST)) == []
    last = {**FIRST, "p": str(search.MAX_PAGES)}
    assert further_pages(answer_of(10_000, [REPORT] * 20), API, Posted(last)) == []


def spider_for(site: dict, **settings: object) -> PortalSpider:
    spider = PortalSpider(sites=[site])
    spider.settings = Settings({"NIANBAO_SITE_SEARCH": True, **settings})
    stats = MemoryStatsCollector(type("C", (), {"settings": spider.settings})())  # type: ignore[arg-type]
    spider.crawler = type("C", (), {"stats": stats})()
    return spider


def searches(spider: PortalSpider, url: str = HOME) -> list[FormRequest]:
    request = Request(url, meta={"portal": "http://www.lanzhou.gov.cn/", "link_text": ""})
    response = HtmlResponse(url, body=FORM_BOX.encode(), encoding="utf-8", request=request)
    return [r for r in spider.parse(response) if isinstance(r, FormRequest)]


def test_the_spider_asks_once_a_crawl_unless_told_not_to():
    site = {"name": "兰州", "url": "http://www.lanzhou.gov.cn/"}
    spider = spider_for(site)
    (asked,) = searches(spider)
    assert (asked.url, asked.method) == (API, "POST")
    assert b"websiteid=620100000000000" in asked.body
    assert searches(spider, "http://www.lanzhou.gov.cn/col/col100/index.html") == []  # once
    assert spider.crawler.stats.get_value("nianbao/site_searches") == 1
    assert searches(spider_for({**site, "search": False})) == []  # the site list's nosearch
    assert searches(spider_for(site, NIANBAO_SITE_SEARCH=False)) == []
