"""Script-built lists: when Scrapy can fetch the data API itself, and when only a browser can."""

from __future__ import annotations

import pytest

from crawler.layouts.scripted import data_apis, needs_browser

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
