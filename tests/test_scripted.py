"""Script-built lists: when Scrapy can fetch the data API itself, and when only a browser can
(a list built in the browser, or one whose further pages only a script's pager shows)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.layouts import Posted
from crawler.layouts import pages_by_script as layout_pages_by_script
from crawler.layouts.scripted import (
    MAX_JSON_PAGES,
    data_apis,
    json_pages,
    needs_browser,
    pages_by_script,
)

PAGE = "http://gov.example/xxgk/nb/index.html"
SHELL = "<ul id='nb-list' class='list'></ul>"
BUILT = "var u = ['', 'api', 'nb'].join('/');"  # an address put together at run time


def page(script: str, box: str = SHELL) -> str:
    return f"<html><body><h1>年报</h1>{box}<script>{script}</script></body></html>"


POST_APIS = [
    "$.post('/api/nblist', {column: 12, page: 1}, function (d) { render(d); });",
    "$.ajax({url: '/api/nblist', type: 'POST', data: {column: 12}, success: render});",
    "$.ajax({type: 'post', dataType: 'json', url: '/api/nblist', data: {c: 1}});",
    "fetch('/api/nblist', {method: 'POST', body: 'column=12'}).then(render);",
    "var x = new XMLHttpRequest(); x.open('POST', '/api/nblist'); x.send('column=12');",
]


@pytest.mark.parametrize("script", POST_APIS)
def test_a_post_api_sends_the_page_to_the_browser(script):
    """Its form data is in the script: a GET of the address would come back without the list."""
    assert needs_browser(page(script), PAGE)
    assert data_apis(page(script), PAGE) == []


NOT_LIST_APIS = [
    "var share = {url: 'http://www.jiathis.com/send', title: document.title};",
    "$.ajax({url: '/fsp/login/ucBinLogout.do', success: function () {}});",
    "var cfg = {url: '/visit/count.do'}; var t = {url: '/track/pv'};",
    "var login = {url: '/sso/login.jsp', back: location.href};",
    "var qr = {url: 'index.html', size: 120};",
]


@pytest.mark.parametrize("literal", NOT_LIST_APIS)
def test_a_url_that_is_no_list_api_is_neither_fetched_nor_keeps_the_browser_away(literal):
    html = page(f"{literal} {BUILT} fetch(u).then(render);")
    assert data_apis(html, PAGE) == []
    assert needs_browser(html, PAGE)


def test_a_list_api_in_a_url_property_is_fetched_but_the_browser_still_renders_the_page():
    """`url:` is weak evidence (the options may carry a POST or data elsewhere): both ways."""
    html = page("$.ajax({url: '/api/nblist.json', dataType: 'json', success: render});")
    assert [p.url for p in data_apis(html, PAGE)] == ["http://gov.example/api/nblist.json"]
    assert needs_browser(html, PAGE)


def test_a_get_api_named_in_a_call_is_fetched_without_a_browser():
    html = page("fetch('/api/nb/archive.json').then(function (r) { return r.json(); });")
    assert [p.url for p in data_apis(html, PAGE)] == ["http://gov.example/api/nb/archive.json"]
    assert not needs_browser(html, PAGE)


def test_an_api_on_another_site_is_not_fetched():
    html = page("$.getJSON('https://tongji.other.example/api/list.json', render);")
    assert data_apis(html, PAGE) == []
    assert needs_browser(html, PAGE)


PLACEHOLDERS = [
    "<ul id='nb-list'><li>加载中...</li></ul>",
    "<div class='newsList'>正在加载，请稍候</div>",
    "<ul id='dataList'><!-- filled by nblist.js --></ul>",
    "<tbody id='rows'><tr><td colspan='3'>数据加载中...</td></tr></tbody>",
    "<ul class='list'><li class='loading'>Loading…</li></ul>",
    "<div class='main'><ul id='nb-list'></ul></div>",  # an empty list inside another box
]


@pytest.mark.parametrize("box", PLACEHOLDERS)
def test_a_list_holding_only_a_placeholder_counts_as_empty(box):
    assert needs_browser(page(f"{BUILT} fetch(u).then(render);", box), PAGE)


def test_a_list_with_its_links_needs_no_browser():
    box = "<ul id='nb-list'><li><a href='/nb/2023.html'>2023年年报</a></li></ul>"
    assert not needs_browser(page(f"{BUILT} fetch(u).then(render);", box), PAGE)


# ----- paging through a JSON list API ---------------------------------------------------------

API = "http://www.example.gov.cn/api/list"


def answer(items: int, **envelope: object) -> str:
    """A list answer holding `items` report links, with paging fields in its envelope."""
    links = [{"title": f"2020年报{n}", "url": f"/nb/{n}.html", "count": 9999} for n in range(items)]
    return json.dumps({"code": 0, "data": {**envelope, "list": links}})


def asked(pages: list) -> list[str]:
    return [page.url.removeprefix(API) for page in pages]


def test_every_page_is_asked_for_when_the_answer_gives_the_total():
    text = answer(10, total=25)
    assert asked(json_pages(text, f"{API}?col=3&pageNo=1&pageSize=10")) == [
        "?col=3&pageNo=2&pageSize=10",
        "?col=3&pageNo=3&pageSize=10",
    ]


def test_a_page_count_and_a_page_size_in_the_answer_are_read_too():
    assert asked(json_pages(answer(2, totalPage="3"), f"{API}?page=1")) == ["?page=2", "?page=3"]
    text = json.dumps({"rows": [{"title": "a", "url": "/a.html"}], "total": 3, "pageSize": 2})
    assert asked(json_pages(text, f"{API}?curPage=1")) == ["?curPage=2"]
    assert json_pages(text, f"{API}?curPage=2") == []  # the last page asks for no earlier one


def test_zero_based_pages_start_at_zero():
    assert asked(json_pages(answer(5, total=12), f"{API}?pageIndex=0&size=5")) == [
        "?pageIndex=1&size=5",
        "?pageIndex=2&size=5",
    ]


def test_without_a_total_only_a_full_page_asks_for_the_next():
    assert asked(json_pages(answer(10), f"{API}?pageNo=4&pageSize=10")) == ["?pageNo=5&pageSize=10"]
    assert json_pages(answer(7), f"{API}?pageNo=4&pageSize=10") == []  # the last page
    assert json_pages(answer(10), f"{API}?pageNo=4") == []  # no size: nothing to judge by


def test_an_item_count_is_not_the_total():
    """Each item's `count` (of visits) is 9999: only the envelope's fields page the list."""
    assert asked(json_pages(answer(10), f"{API}?pageNo=1&pageSize=10")) == ["?pageNo=2&pageSize=10"]


def test_no_page_parameter_no_links_or_no_json_no_paging():
    assert json_pages(answer(10, total=100), f"{API}?col=3") == []
    assert json_pages(json.dumps({"total": 100, "data": []}), f"{API}?page=1") == []
    assert json_pages("<html></html>", f"{API}?page=1") == []
    assert json_pages(answer(2, total=100, pageSize=True), f"{API}?page=1") == []


def test_a_list_asked_for_by_post_is_paged_by_its_form():
    """jQuery's `$.post`, an XHR sending `channelid=1813&page=1`: the page number is in the
    form, and the other pages are POSTed with the same form, the page changed."""
    form = {"channelid": "1813", "page": "1", "rows": "10", "keyword": ""}
    pages = json_pages(answer(10, total=25), API, Posted(form))
    assert [(p.url, p.method, p.formdata, p.json) for p in pages] == [
        (API, "POST", {**form, "page": "2"}, None),
        (API, "POST", {**form, "page": "3"}, None),
    ]
    assert json_pages(answer(10), API, Posted({"channelid": "1813"})) == []  # no page number
    posted_too = Posted({"channelid": "1"})
    assert json_pages(answer(5, total=25), f"{API}?page=1", posted_too) == []  # not the GET's


def test_a_list_asked_for_by_a_json_post_is_paged_by_its_object():
    """axios (a Vue or React portal) POSTs a JSON object: the other pages get the same object,
    the page number as the script sent it (a number stays a number, digits stay digits)."""
    sent = {"channelId": 77, "pageNo": 1, "pageSize": 10, "filter": {"year": None}}
    pages = json_pages(answer(10, total=25), API, Posted(sent, json=True))
    assert [(p.method, p.json, p.formdata) for p in pages] == [
        ("POST", {**sent, "pageNo": 2}, None),
        ("POST", {**sent, "pageNo": 3}, None),
    ]
    digits = {"current": "0", "size": "5"}
    (second,) = json_pages(answer(5, total=10), API, Posted(digits, json=True))
    assert second.json == {"current": "1", "size": "5"}
    flag = {"page": True, "pageSize": 10}  # a flag, not a page number
    assert json_pages(answer(10, total=25), API, Posted(flag, json=True)) == []


def test_a_list_paged_by_record_offset_moves_the_offset_a_page_at_a_time():
    """`start=0&limit=10` (ExtJS, Solr): page 2 starts at record 10, not at `start=1`."""
    assert asked(json_pages(answer(10, total=25), f"{API}?start=0&limit=10")) == [
        "?start=10&limit=10",
        "?start=20&limit=10",
    ]
    assert asked(json_pages(answer(10, total=25), f"{API}?offset=10&limit=10")) == [
        "?offset=20&limit=10"
    ]
    assert json_pages(answer(5, total=25), f"{API}?offset=20&limit=10") == []  # the last page
    # Records counted from 1 (`start=1`): the next pages start at 11 and 21.
    assert asked(json_pages(answer(10, total=25), f"{API}?col=2&start=1&rows=10")) == [
        "?col=2&start=11&rows=10",
        "?col=2&start=21&rows=10",
    ]
    assert asked(json_pages(answer(10), f"{API}?start=30&limit=10")) == ["?start=40&limit=10"]
    assert json_pages(answer(7), f"{API}?start=30&limit=10") == []  # short: the end
    assert json_pages(answer(10, total=25), f"{API}?start=0") == []  # no size: no step


def test_a_page_number_and_an_offset_sent_together_move_together():
    """ExtJS's store sends `page`, `start` and `limit`: a server may read either."""
    assert asked(json_pages(answer(10, total=25), f"{API}?page=1&start=0&limit=10")) == [
        "?page=2&start=10&limit=10",
        "?page=3&start=20&limit=10",
    ]


def test_an_offset_posted_in_a_json_object_is_moved_there():
    sent = {"query": "年度报告", "offset": 0, "limit": 10}
    pages = json_pages(answer(10, total=25), API, Posted(sent, json=True))
    assert [p.json for p in pages] == [{**sent, "offset": 10}, {**sent, "offset": 20}]


def test_a_number_beside_a_page_number_that_is_no_offset_is_left_alone():
    """`start=2020` beside `pageNo=1` is a year, not the offset of page 1: only the page
    moves. `from` (a year or a date as often as Elasticsearch's offset) never pages."""
    url = f"{API}?pageNo=1&pageSize=10&start=2020"
    assert asked(json_pages(answer(10, total=25), url)) == [
        "?pageNo=2&pageSize=10&start=2020",
        "?pageNo=3&pageSize=10&start=2020",
    ]
    assert json_pages(answer(10, total=25), f"{API}?from=0&size=10") == []


def test_a_page_number_nested_in_the_posted_object_is_moved_there():
    """A Java back end's page parameter: `{"page": {"current": 1, "size": 10}, "query": …}`.
    The other pages get the same object, the number set where it was; deeper is not paging."""
    sent = {"query": {"channelId": "77", "year": None}, "page": {"current": 1, "size": 10}}
    pages = json_pages(answer(10, total=25), API, Posted(sent, json=True))
    assert [p.json for p in pages] == [
        {"query": {"channelId": "77", "year": None}, "page": {"current": n, "size": 10}}
        for n in (2, 3)
    ]
    assert sent["page"] == {"current": 1, "size": 10}  # the first request's object unchanged
    flat_first = {"pageNo": 1, "filter": {"page": 9}, "pageSize": 10}  # its own first
    second, _third = json_pages(answer(10, total=25), API, Posted(flat_first, json=True))
    assert second.json == {"pageNo": 2, "filter": {"page": 9}, "pageSize": 10}
    bare = {"page": {"no": 1, "size": 10}, "no": 5}  # a bare name, inside a paging object only
    assert [p.json for p in json_pages(answer(10, total=25), API, Posted(bare, json=True))] == [
        {"page": {"no": 2, "size": 10}, "no": 5},
        {"page": {"no": 3, "size": 10}, "no": 5},
    ]
    too_deep = {"a": {"b": {"page": {"pageNo": 1, "pageSize": 10}}}}
    assert json_pages(answer(10, total=25), API, Posted(too_deep, json=True)) == []


def test_a_list_that_never_comes_back_short_ends_at_the_cap():
    """An API that ignores its page number answers every page full: the chain stops."""
    last = f"{API}?pageNo={MAX_JSON_PAGES}&pageSize=10"
    assert json_pages(answer(10), last) == []
    before = f"{API}?pageNo={MAX_JSON_PAGES - 1}&pageSize=10"
    assert asked(json_pages(answer(10), before)) == [f"?pageNo={MAX_JSON_PAGES}&pageSize=10"]


def test_a_long_list_is_capped():
    pages = json_pages(answer(10, total=10_000), f"{API}?pageNo=1&pageSize=10")
    assert len(pages) == MAX_JSON_PAGES - 1
    assert pages[-1].url.endswith(f"pageNo={MAX_JSON_PAGES}&pageSize=10")


# ----- a list whose further pages only a script's pager shows ----------------------------------

REPORTS = (
    "<ul class='list'><li><a href='/nb/2023.html'>示例市2023年政府信息公开工作年度报告</a></li>"
    "<li><a href='/nb/2022.html'>示例市2022年政府信息公开工作年度报告</a></li></ul>"
)
SCRIPT_PAGERS = [
    "<div class='pagination'><a href='javascript:goPage(2)'>下一页</a></div>",  # JSP form pager
    "<div class='pages'><a href='javascript:void(0)' onclick='toPage(2)'> 2 </a></div>",
    "<div><a href='#' onclick='turnPage(this)'>下页</a></div>",
    "<div><input type='button' value='下一页' onclick='nextPage()'></div>",
    "<div><span onclick='gotoPage(5)'>尾页</span></div>",
    "<div><a href='JavaScript:changePage(1)'>Next</a></div>",
    # an empty pager box a script fills (Fujian's avalon lists)
    "<div class='page_base mar_t_base' ms-controller='list_pagebar'></div>"
    "<script src='/images/model.min.js'></script>",
    "<div id='pageBar'></div><script>drawPager(12);</script><script src='/js/list.js'></script>",
]


@pytest.mark.parametrize("pager", SCRIPT_PAGERS)
def test_a_pager_run_by_script_is_seen(pager):
    html = page("", REPORTS + pager)
    assert pages_by_script(html)
    assert layout_pages_by_script(html, PAGE)


NO_SCRIPT_PAGERS = [
    "<div class='page'><a href='index_1.html'>下一页</a></div>",  # Scrapy follows it
    "<div><a href='javascript:goPage(1)'>上一页</a> <a href='javascript:goPage(1)'>1</a></div>",
    "<div><a href='javascript:void(0)' onclick='share()'>分享</a></div>",
    "<div id='page_top'></div><script src='/js/site.js'></script>",  # page furniture
    "<div class='pagination'></div>",  # an empty pager, and no script to fill it
    "<div class='pagination'></div><script src='/js/jquery.min.js'></script>",
]


@pytest.mark.parametrize("pager", NO_SCRIPT_PAGERS)
def test_no_pager_run_by_script(pager):
    assert not pages_by_script(page("", REPORTS + pager))


def test_a_list_paged_from_its_markup_is_not_sent_to_the_browser_for_its_pager():
    """TRS's createPageHTML and Hanweb's jpage are read by Scrapy, which pages them itself."""
    pager = "<div><a href='javascript:goPage(2)'>下一页</a></div>"
    trs = page('createPageHTML(3, 0, "index", "html");', REPORTS + pager)
    assert pages_by_script(trs) and not layout_pages_by_script(trs, PAGE)
    hanweb = page("", REPORTS + pager + "<a>Produced By 大汉网络 大汉版通发布系统</a>")
    assert pages_by_script(hanweb) and not layout_pages_by_script(hanweb, PAGE)


def test_no_saved_gov_cn_page_has_a_pager_run_by_script():
    """The saved article pages (tests/pages) carry share boxes, font buttons and empty boxes by
    the dozen: none of it is a pager."""
    saved = sorted((Path(__file__).parent / "pages").glob("*.html"))
    assert saved
    for path in saved:
        assert not pages_by_script(path.read_text(encoding="utf-8", errors="replace")), path.name
