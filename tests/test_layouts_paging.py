"""How each CMS pages its lists: the exact requests the layouts ask for, on real markup shapes."""

from __future__ import annotations

import pytest

from crawler.layouts import further_pages, hanweb, page_links

SITE = "http://www.x.gov.cn"
COLUMN = f"{SITE}/col/col120/index.html"
PROXY = f"{SITE}/module/web/jpage/dataproxy.jsp"
NEXTGROUP = "page=1&appid=1&webid=1&path=/&columnid={col}&unitid={unit}&webname=x&permissiontype=0"


def record(n: int, extra: str = "") -> str:
    return (
        f"<record><![CDATA[<li><a href='/art/2021/3/9/art_120_{n}.html' title='t{n}'>t{n}</a>"
        f"{extra}<span>2021-03-09</span></li>]]></record>"
    )


def unit(uid: int, col: int, held: int, options: str, extra: str = "") -> str:
    """A jpage unit as Hanweb writes it: a datastore of `held` records, then its script."""
    records = "".join(record(col * 1000 + i, extra) for i in range(1, held + 1))
    group = NEXTGROUP.format(col=col, unit=uid)
    return (
        f"<div id='{uid}'><script type='text/xml'><datastore><nextgroup><![CDATA["
        f"<a href='/module/web/jpage/dataproxy.jsp?{group}'></a>]]></nextgroup>"
        f"<recordset>{records}</recordset></datastore></script></div>"
        f"<script>$('#{uid}').jpage({{ dataStore: dataStore, {options} }});</script>"
    )


def post_options(col: int, uid: int, total: int, proxy: str = "") -> str:
    return (
        f"perPage: 15, totalRecord: {total}, {proxy} ajaxParam: {{col: 1, appid: 1, webid: 1,"
        f" path: '/', columnid: {col}, sourceContentType: 1, unitid: {uid}, webname: 'x',"
        " permissiontype: 0}"
    )


def form(col: int, uid: int) -> dict[str, str]:
    return {
        "col": "1", "appid": "1", "webid": "1", "path": "/", "columnid": str(col),
        "sourceContentType": "1", "unitid": str(uid), "webname": "x", "permissiontype": "0",
    }  # fmt: skip


def ranges(html: str) -> list[tuple[str, str, dict[str, str] | None]]:
    return [(r.method, r.url, r.formdata) for r in hanweb.paging_requests(html, COLUMN)]


# -- Hanweb POST ranges start after this unit's own inline records ----------------------------


def test_hanweb_post_starts_after_the_units_records_not_its_links():
    """Each record also links its department (`[审计局]`): 45 records, 90 links."""
    dept = "<a href='/col/col7/index.html'>[审计局]</a>"
    html = unit(9120, 120, 45, post_options(120, 9120, 100), extra=dept)
    assert ranges(html) == [
        ("POST", f"{PROXY}?startrecord=46&endrecord=90&perpage=15", form(120, 9120)),
        ("POST", f"{PROXY}?startrecord=91&endrecord=100&perpage=15", form(120, 9120)),
    ]


def test_hanweb_post_counts_only_its_own_unit_beside_a_sidebar_unit():
    """A sidebar unit (10 of 10, all inline) before the main list (45 of 100)."""
    html = unit(5001, 9, 10, post_options(9, 5001, 10)) + unit(
        9120, 120, 45, post_options(120, 9120, 100)
    )
    assert ranges(html) == [
        ("POST", f"{PROXY}?startrecord=46&endrecord=90&perpage=15", form(120, 9120)),
        ("POST", f"{PROXY}?startrecord=91&endrecord=100&perpage=15", form(120, 9120)),
    ]


def test_hanweb_post_goes_to_the_proxy_url_the_script_names():
    """`proxyUrl` among jpage's own options (not in ajaxParam): older sites' /module/jpage/."""
    proxy = "proxyUrl: '/module/jpage/dataproxy.jsp',"
    html = unit(9120, 120, 45, post_options(120, 9120, 60, proxy))
    assert ranges(html) == [
        (
            "POST",
            f"{SITE}/module/jpage/dataproxy.jsp?startrecord=46&endrecord=60&perpage=15",
            form(120, 9120),
        )
    ]


# -- Hanweb GET pages: page 1 from the column, the rest from the answer's <totalpage> ---------

# Jiangsu's template: the form fields in `var param_…`, jpage told only the counts
JIANGSU = unit(212860, 33718, 2, "totalRecord:4895,perPage:19").replace(
    "<script>$(", "<script>var param_212860={columnid:33718,unitid:'212860'}; $("
)
GROUP = f"{PROXY}?" + NEXTGROUP.format(col=33718, unit=212860)


def answer(page_tags: str, held: int = 1) -> str:
    records = "".join(record(n) for n in range(1, held + 1))
    return (
        "<?xml version='1.0' encoding='UTF-8'?><datastore>"
        f"{page_tags}<recordset>{records}</recordset></datastore>"
    )


def test_hanweb_get_form_asks_the_column_for_page_one_as_the_site_wrote_it():
    assert [(r.method, r.url, r.headers) for r in further_pages(JIANGSU, COLUMN)] == [
        ("GET", GROUP, {"Referer": COLUMN})
    ]
    # Everything already inline: nothing to ask.
    held = JIANGSU.replace("totalRecord:4895", "totalRecord:2")
    assert further_pages(held, COLUMN) == []


def test_hanweb_get_answer_announces_every_other_page():
    xml = answer("<totalrecord>4895</totalrecord><totalpage>3</totalpage>")
    assert [r.url for r in further_pages(xml, GROUP)] == [
        GROUP.replace("page=1", "page=2"),
        GROUP.replace("page=1", "page=3"),
    ]
    # No <totalpage>: the total over the records of page 1.
    counted = answer("<totalrecord>100</totalrecord>", held=45)
    assert [r.url for r in further_pages(counted, GROUP)] == [
        GROUP.replace("page=1", "page=2"),
        GROUP.replace("page=1", "page=3"),
    ]
    assert {r.url for r in further_pages(xml, GROUP.replace("page=1", "page=3"))} == {
        GROUP,
        GROUP.replace("page=1", "page=2"),
    }


def test_a_post_range_answer_asks_for_nothing_more():
    xml = answer("<totalrecord>100</totalrecord>", held=45)
    assert further_pages(xml, f"{PROXY}?startrecord=46&endrecord=90&perpage=15") == []


# -- TRS createPageHTML ----------------------------------------------------------------------

DIR = f"{SITE}/zwgk/zfxxgknb/"


@pytest.mark.parametrize(
    ("script", "url", "expected"),
    [
        (  # variables, .shtml, a folder URL
            "var currentPage = 0;var countPage = 3//共多少页\n"
            'createPageHTML(countPage, currentPage, "index", "shtml");',
            DIR,
            ["index_1.shtml", "index_2.shtml", "index.shtml"],
        ),
        (
            "var pageCount = 3; var currentPage=0; createPageHTML(pageCount, currentPage,"
            " 'list', 'html');",
            f"{DIR}list.html",
            ["list_1.html", "list_2.html", "list.html"],
        ),
        (  # csrc.gov.cn, Kunshan: 1-based, list.shtml then list_2.shtml
            "createPageHTML('page_div',3, 1,'common_list','shtml',45);",
            f"{DIR}common_list.shtml",
            ["common_list_2.shtml", "common_list_3.shtml", "common_list.shtml"],
        ),
        (  # the function inlined before its call: its parameters are not the call's
            "function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){"
            "if(_nPageCount == null || _nPageCount<=1){return;}}"
            'createPageHTML(2, 0, "index", "htm");',
            f"{DIR}index.htm",
            ["index_1.htm", "index.htm"],
        ),
    ],
)
def test_trs_pages_follow_the_calls_own_arguments(script, url, expected):
    assert [r.url for r in further_pages(f"<script>{script}</script>", url)] == [
        f"{DIR}{name}" for name in expected
    ]


# -- In-house pagers -------------------------------------------------------------------------

LIST = f"{SITE}/xxgk/nb/list.jsp?catid=12"


@pytest.mark.parametrize(
    "anchor",
    [
        "<a href='list.jsp?catid=12&pn2=x'>下一页&gt;</a>",
        "<a href='list.jsp?catid=12&pn2=x'>下一页 »</a>",
        "<a href='list.jsp?catid=12&pn2=x'>[下一页]</a>",
        "<a href='list.jsp?catid=12&pn2=x'><img src='next.gif' alt='下一页'></a>",
    ],
)
def test_next_page_links_dressed_in_brackets_arrows_or_an_image(anchor):
    assert [p.url for p in further_pages(anchor, LIST)] == [f"{LIST}&pn2=x"]


@pytest.mark.parametrize(
    "key", ["pageNo", "curPage", "cur_page", "currPage", "pageIndex", "page_no"]
)
def test_page_number_keys_of_in_house_systems(key):
    html = f"<a href='list.jsp?catid=12&{key}=2'>2</a><a href='list.jsp?catid=13'>其他栏目</a>"
    html += f"<a href='list.jsp?catid=12&{key}=3'>三</a>"
    assert [p.url for p in further_pages(html, LIST)] == [
        f"{LIST}&{key}=2",
        f"{LIST}&{key}=3",
    ]


def test_the_last_page_link_gives_every_page_between():
    html = "<a href='list.jsp?catid=12&pageNo=2'>下一页</a>"
    html += "<a href='list.jsp?catid=12&pageNo=4'>尾页</a>"
    assert [p.url for p in further_pages(html, LIST)] == [
        f"{LIST}&pageNo=2",
        f"{LIST}&pageNo=3",
        f"{LIST}&pageNo=4",
    ]
    static = "<a href='list_1.shtml'>下一页</a><a href='list_3.shtml'>末页</a>"
    assert [p.url for p in further_pages(static, f"{DIR}list.shtml")] == [
        f"{DIR}list_1.shtml",
        f"{DIR}list_2.shtml",
        f"{DIR}list_3.shtml",
    ]


# -- Links outside <a href> ----------------------------------------------------------------

PAGE = f"{SITE}/zwgk/bmxxgk/index.html"
TITLE = "XX县2022年政府信息公开工作年度报告"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (
            "<select onchange='window.open(this.value)'><option value=''>部门信息公开</option>"
            "<option value='http://xxgk.x.gov.cn/sjj/zfxxgknb/'>县审计局</option></select>",
            [("http://xxgk.x.gov.cn/sjj/zfxxgknb/", "县审计局")],
        ),
        (
            "<a href='javascript:void(0)' onclick=\"window.open('/art/2023/1/20/art_1_2.html')\">"
            f"{TITLE}</a>",
            [(f"{SITE}/art/2023/1/20/art_1_2.html", TITLE)],
        ),
        (
            f"<a href=\"javascript:openWin('/zfxxgknb/202301/t20230120_1.html')\">{TITLE}</a>",
            [(f"{SITE}/zfxxgknb/202301/t20230120_1.html", TITLE)],
        ),
        (
            "<frameset><frame src='/xxgk/left.html'><frame src='nb/index.html'></frameset>",
            [(f"{SITE}/xxgk/left.html", "iframe"), (f"{SITE}/zwgk/bmxxgk/nb/index.html", "iframe")],
        ),
        (
            "<map><area href='/zfxxgknb/' alt='政府信息公开年报'></map>",
            [(f"{SITE}/zfxxgknb/", "政府信息公开年报")],
        ),
        (
            f"<head><base href='{SITE}/zwgk/zfxxgknb/'></head>"
            f"<a href='./202301/t20230120_7.html'>{TITLE}</a>",
            [(f"{SITE}/zwgk/zfxxgknb/202301/t20230120_7.html", TITLE)],
        ),
        (  # scripts handed something other than an address, options that are codes: nothing
            "<a href='javascript:void(0)' onclick='goPage(2)'>下一页</a>"
            "<a href=\"javascript:openDetail('12345')\">详情</a>"
            "<select><option value='1'>2023</option></select>",
            [],
        ),
    ],
)
def test_links_outside_plain_anchors(html, expected):
    assert [(link.url, link.text) for link in page_links(html, PAGE)] == expected


# -- End to end: a crawl walks both kinds of pages the unit tests above compute ----------------


@pytest.mark.slow
def test_a_crawl_walks_hanweb_get_pages_and_a_six_argument_trs_list(tmp_path):
    """A Hanweb column paged only by `<nextgroup>` GETs (the answer says `<totalpage>3`) and a
    csrc-style `createPageHTML('page_div',3,…)` list: every page and every article is fetched."""
    from crawler.portal_server import SamplePortals
    from crawler.sample_portals import Page, Portals, Site, page
    from tests.helpers import FAST, nianbao

    site = Site("paged")
    column, lists = "/col/col130/index.html", "/zwgk/zfxxgknb/common_list"
    site.html("/", page("测试县人民政府", f"<a href='{column}'>政府信息公开年报</a>"
                        f"<a href='{lists}.shtml'>部门政府信息公开年报</a>"))  # fmt: skip
    articles = [f"/art/2023/1/20/art_130_{n}.html" for n in range(1, 7)]
    articles += [f"/zwgk/zfxxgknb/202301/t20230120_{n}.shtml" for n in range(7, 10)]
    for n, path in enumerate(articles, 1):
        title = f"测试县第{n}单位2022年政府信息公开工作年度报告"
        site.html(path, page(title, "<p>一、总体情况</p>"))
    records = [
        f"<record><![CDATA[<li><a href='{p}'>测试县第{n}单位年报</a></li>]]></record>"
        for n, p in enumerate(articles[:6], 1)
    ]
    group = "/module/web/jpage/dataproxy.jsp?" + NEXTGROUP.format(col=130, unit=9130)
    held = unit(9130, 130, 0, "totalRecord:6,perPage:2")
    held = held.replace("<recordset>", "<recordset>" + "".join(records[:2]))
    site.html(column, page("政府信息公开年报", held))
    for n in range(1, 4):  # page N of the GET form: records 2N-1, 2N
        xml = answer("<totalrecord>6</totalrecord><totalpage>3</totalpage>", held=0)
        xml = xml.replace("<recordset>", "<recordset>" + "".join(records[2 * n - 2 : 2 * n]))
        site.pages[group.replace("page=1", f"page={n}")] = Page(
            xml.encode(), 200, [("Content-Type", "text/xml;charset=UTF-8")]
        )
    for k in range(1, 4):
        name = f"{lists}.shtml" if k == 1 else f"{lists}_{k}.shtml"
        link = f"<a href='./202301/t20230120_{k + 6}.shtml'>测试县第{k + 6}单位年报</a>"
        pager = f"<script>createPageHTML('page_div',3, {k},'common_list','shtml',3);</script>"
        site.html(name, page("部门政府信息公开年报", link + pager))
    with SamplePortals(portals=Portals({"paged": site}, [], [], [], [], [], [])) as portals:
        done = nianbao("crawl", portals.urls["paged"], "--data", str(tmp_path / "data"), *FAST)
        fetched = {entry.path for entry in portals.log if entry.status == 200}
    assert done.returncode == 0, done.stderr[-3000:]
    pages = [group.replace("page=1", f"page={n}") for n in range(1, 4)]
    trs_lists = [f"{lists}_2.shtml", f"{lists}_3.shtml"]
    assert set(pages + trs_lists + articles) <= fetched


def test_a_title_cut_short_in_a_list_is_read_whole_from_its_title_attribute():
    """Lists cut long titles ("…2023年政府信..."); the link's title attribute has it whole."""
    from crawler.layouts.generic import links

    whole = "南京市江宁区发展和改革委员会2023年政府信息公开工作年度报告"
    html = (
        f"<ul><li><a href='/art/1.html' title='{whole}'>{whole[:22]}...</a>"
        "<li><a href='/art/2.html' title='详情'>2022年政府信息公开工作年度报告</a></ul>"
    )
    found = {link.url: link.text for link in links(html, "http://www.jiangning.gov.cn/")}
    assert found == {
        "http://www.jiangning.gov.cn/art/1.html": whole,
        "http://www.jiangning.gov.cn/art/2.html": "2022年政府信息公开工作年度报告",
    }
