"""Three small gov.cn portals, built in memory: 大汉 Hanweb, 拓尔思 TRS and an in-house system.

They serve `nianbao demo` and the tests. Markup follows the real CMS layouts (research notes and
shared/corpus/raw): Hanweb's inline jpage datastore paged by a dataproxy.jsp POST, TRS lists
paged only by createPageHTML, an in-house list with 下一页 links. Report articles carry the five
seed reports' real numbers (truth.json) and deterministic generated reports; the traps are real
ones too: notices about reports, other yearly reports, GBK pages without or with a wrong charset,
robots.txt exclusions, a 404, a redirect, a 500, a report under two URLs, attachments.
`build_sites()` returns every page and `expected()` what a correct crawl must find.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from html import escape
from importlib.resources import files
from typing import Any
from urllib.parse import quote

from crawler.report.render import Style, html_paragraphs, html_table, tables, truth_data
from crawler.report.schema import REQUEST_COLS, REQUEST_ROW_ORDER

SEARCH_SITE_ID = "620100000000000"  # the site's 15-digit code in its search box
HANWEB_FOOTER = (
    "<form action='/jsearchfront/search.do' method='get' target='_blank' name='searchform'>"
    f"<input type='hidden' name='websiteid' value='{SEARCH_SITE_ID}'>"
    "<input type='hidden' name='tpl' value='1581'><input type='hidden' name='p' value='1'>"
    "<input type='hidden' name='pg' value=''><input type='text' name='q'>"
    "<input type='submit' value='搜索'></form>"
    "<a href='http://www.hanweb.com' style='display:none'>Produced By 大汉网络 大汉版通发布系统</a>"
)


@dataclass
class Page:
    """One resource of a sample portal."""

    body: bytes
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    last_modified: str = "Tue, 09 Mar 2021 01:30:00 GMT"
    no_validators: bool = False  # a dynamic page: no ETag, no Last-Modified


@dataclass
class ReportSpec:
    site: str
    path: str
    title: str
    organization: str
    year: int
    format: str
    tables: dict[str, Any]
    source: str
    also_at: list[str] = field(default_factory=list)


@dataclass
class Site:
    name: str
    pages: dict[str, Page] = field(default_factory=dict)
    validators: str = "etag"  # "etag" (ETag + Last-Modified), "last-modified" or "none"
    # Hanweb columns: columnid -> list of (path, title, date)
    columns: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    # answers to POSTed forms: (path, urlencoded body) -> page
    forms: dict[tuple[str, str], Page] = field(default_factory=dict)
    # what the site search finds: (path, title, date), best first
    search: list[tuple[str, str, str]] = field(default_factory=list)

    def html(
        self,
        path: str,
        text: str,
        encoding: str = "utf-8",
        charset: bool = True,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        content_type = f"text/html; charset={encoding}" if charset else "text/html"
        self.pages[path] = Page(
            text.encode(encoding), 200, [("Content-Type", content_type), *(headers or [])]
        )


def json_page(data: Any, content_type: str = "application/json; charset=utf-8") -> Page:
    """A JSON answer of a sample site's API."""
    return Page(
        json.dumps(data, ensure_ascii=False).encode(), 200, [("Content-Type", content_type)]
    )


def script_page(source: str) -> Page:
    """A sample site's script file."""
    return Page(source.encode(), 200, [("Content-Type", "application/javascript; charset=utf-8")])


def seed_truth() -> dict[str, Any]:
    return json.loads(files("crawler.sample_portals").joinpath("truth.json").read_text("utf-8"))


def attachment_bytes(name: str) -> bytes:
    return files("crawler.sample_portals").joinpath(name).read_bytes()


# --- generated, identity-satisfying tables ------------------------------------------------------


def generated_tables(fmt: str, seed: int) -> dict[str, Any]:
    """A random report table set in truth.json form whose identities all hold."""
    rng = random.Random(seed)
    cols = [c for c in REQUEST_COLS if c != "total"]
    rows = REQUEST_ROW_ORDER[fmt]
    results = rows[rows.index("disclosed") : rows.index("total_processed")]
    requests: dict[str, dict[str, int]] = {r: {} for r in rows}
    for col in cols:
        weight = 30 if col == "natural_person" else 2
        for row in results:
            requests[row][col] = rng.randint(0, weight) if rng.random() < 0.5 else 0
        processed = sum(requests[r][col] for r in results)
        requests["total_processed"][col] = processed
        forward = rng.randint(0, 3)
        over = rng.randint(0, min(3, processed + forward))
        requests["carried_forward"][col] = forward
        requests["carried_over"][col] = over
        requests["new"][col] = processed + forward - over
    for row in rows:
        requests[row]["total"] = sum(requests[row][c] for c in cols)
    review = {}
    for row in ("review", "litigation_direct", "litigation_after_review"):
        parts = [rng.randint(0, 4) for _ in range(4)]
        review[row] = dict(zip(("upheld", "corrected", "other", "pending"), parts, strict=True))
        review[row]["total"] = sum(parts)
    if fmt == "2021":
        active = {
            "regulations": {"issued": 0, "repealed": 0, "in_force": rng.randint(0, 9)},
            "normative_documents": {
                "issued": rng.randint(0, 20),
                "repealed": rng.randint(0, 5),
                "in_force": rng.randint(20, 90),
            },
            "licensing": {"decisions": rng.randint(100, 99999)},
            "penalty": {"decisions": rng.randint(0, 9999)},
            "coercion": {"decisions": rng.randint(0, 999)},
            "fees": {"fee_amount": round(rng.uniform(1, 9999), 2)},
        }
    else:
        active = {
            "regulations": {"made": 0, "published": 0, "total_published": rng.randint(0, 9)},
            "normative_documents": {"made": 3, "published": 3, "total_published": 40},
            "licensing": {
                "items_last_year": 120,
                "items_change": {"value": -3, "raw": "减3"},
                "decisions": rng.randint(100, 9999),
            },
            "other_services": {"items_last_year": 30, "items_change": 2, "decisions": 77},
            "penalty": {"items_last_year": 900, "items_change": 0, "decisions": 1200},
            "coercion": {
                "items_last_year": 40,
                "items_change": {"value": 5, "raw": "+5"},
                "decisions": 31,
            },
            "fees": {"items_last_year": 12, "items_change": 0},
            "procurement": {
                "procurement_items": 25,
                "procurement_amount": {"value": 1234.5, "raw": "1234.5万元"},
            },
        }
    return {"active": active, "requests": requests, "review_litigation": review}


# --- page templates -------------------------------------------------------------------------------


def report_body(spec: ReportSpec, style: Style, layout: str = "table") -> str:
    """Sections 一 to 六 with the tables of `spec`, as a publisher's CMS body would hold them."""
    parts = [
        "<p>本报告根据《中华人民共和国政府信息公开条例》编制。报告所列数据的统计期限自"
        f"{spec.year}年1月1日至{spec.year}年12月31日。</p>",
        "<p><strong>一、总体情况</strong></p>",
        f"<p>{spec.year}年，{escape(spec.organization)}认真贯彻落实政府信息公开条例，"
        "全年主动公开政府信息1024条。</p>",
    ]
    headings = {
        "active": "二、主动公开政府信息情况",
        "requests": "三、收到和处理政府信息公开申请情况",
        "review_litigation": "四、政府信息公开行政复议、行政诉讼情况",
    }
    for section, rows in tables(spec.format, truth_data(spec.tables)).items():
        parts.append(f"<p><strong>{headings[section]}</strong></p>")
        parts.append(
            html_paragraphs(rows, style) if layout == "paragraphs" else html_table(rows, style)
        )
    parts += [
        "<p><strong>五、存在的主要问题及改进情况</strong></p>",
        "<p>一是公开内容不够全面，较上年增加12条仍有差距；二是解读形式单一。</p>",
        "<p><strong>六、其他需要报告的事项</strong></p><p>本年度未收取信息处理费。</p>",
        f"<p style='text-align:right'>{escape(spec.organization)}</p>",
    ]
    return "\n".join(parts)


def meta_tags(title: str, date: str, source: str, column: str) -> str:
    return (
        f'<meta name="ArticleTitle" content="{escape(title)}">'
        f'<meta name="PubDate" content="{date} 09:30">'
        f'<meta name="ContentSource" content="{escape(source)}">'
        f'<meta name="ColumnName" content="{escape(column)}">'
    )


def hanweb_article(
    title: str, body: str, date: str, source: str, column: str, meta: bool = True
) -> str:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="WebId" content="1">{meta_tags(title, date, source, column) if meta else ""}
<title>{escape(title)}_{escape(column)}_兰州市人民政府</title>
<script src="/module/jslib/jquery/jquery.js"></script></head><body>
<div id="barrierfree_container"><div class="bt-article-y">
<div class="sp_title">{escape(title)}</div>
<div class="sp_time"><font>发布日期：{date}</font><font>来源：{escape(source)}</font></div>
<div id="zoom"><!--ZJEG_RSS.content.begin--><meta name="ContentStart">
{body}
<meta name="ContentEnd"><!--ZJEG_RSS.content.end--></div>
<div class="print"><a href="javascript:window.print()">打印本页</a>
<a href="javascript:window.close()">关闭窗口</a></div></div></div>
{HANWEB_FOOTER}</body></html>"""


def trs_article(
    title: str,
    body: str,
    date: str,
    source: str,
    column: str,
    attachments: str = "",
    encoding: str = "utf-8",
    meta: bool = True,
) -> str:
    charset = "" if encoding != "utf-8" else '<meta charset="utf-8">'
    return f"""<!DOCTYPE html><html><head>{charset}
{meta_tags(title, date, source, column) if meta else ""}
<title>{escape(title)}</title><script>var _trs_uv = "";</script></head><body>
<div class="article"><h1 class="article-title">{escape(title)}</h1>
<div class="article-info">发布时间：{date} 来源：{escape(source)}</div>
<div class="TRS_Editor"><div class="Custom_UnionStyle">{body}</div></div>
{attachments}</div></body></html>"""


def inhouse_article(title: str, body: str, date: str, meta_charset: str = "utf-8") -> str:
    return f"""<!DOCTYPE html><html><head><meta charset="{meta_charset}">
<title>{escape(title)}</title></head><body>
<div class="Article"><div class="Article-title"><h1>{escape(title)}</h1></div>
<div class="Article-time">{date}</div><div class="Article_content">{body}</div></div>
</body></html>"""


def page(title: str, content: str, extra_head: str = "", footer: str = "") -> str:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"{extra_head}</head><body><div class='header'><a href='/'>首页</a></div>"
        f"<h2>{escape(title)}</h2>{content}{footer}</body></html>"
    )


def link_list(items: list[tuple[str, str]]) -> str:
    return "<ul>" + "".join(f"<li><a href='{h}'>{escape(t)}</a></li>" for h, t in items) + "</ul>"


# --- the three portals --------------------------------------------------------------------------


def seed_spec(key: str, site: str, path: str, place: str) -> ReportSpec:
    truth = seed_truth()[key]
    year = truth["year"]
    return ReportSpec(
        site,
        path,
        f"{place}{year}年政府信息公开工作年度报告",
        truth["organization"],
        year,
        truth["format"],
        {k: v for k, v in truth["tables"].items() if v is not None},
        f"seed:{key[:3]}",
    )


def generated_spec(site: str, path: str, organization: str, year: int, seed: int) -> ReportSpec:
    fmt = "2021" if year >= 2021 else "2019"
    return ReportSpec(
        site,
        path,
        f"{organization}{year}年政府信息公开工作年度报告",
        organization,
        year,
        fmt,
        generated_tables(fmt, seed),
        "generated",
    )


@dataclass
class Portals:
    sites: dict[str, Site]
    reports: list[ReportSpec]
    distractors: list[dict[str, str]]
    disallowed: list[dict[str, str]]
    not_found: list[dict[str, str]]
    redirects: list[dict[str, str]]
    attachments: list[dict[str, str]]


def build_hanweb(portals: Portals) -> Site:
    site = Site("hanweb")
    home = page(
        "兰州市人民政府",
        link_list(
            [
                ("/col/col100/index.html", "政务公开"),
                ("/col/col200/index.html", "新闻中心"),
                ("/english/index.html", "English"),
            ]
        ),
        footer=HANWEB_FOOTER,
    )
    site.html("/", home)
    site.html("/index.html", home)
    site.html(
        "/col/col100/index.html",
        page(
            "政务公开",
            link_list(
                [
                    ("/col/col110/index.html", "法定主动公开内容"),
                    ("/col/col120/index.html", "政府信息公开年报"),
                    ("/col/col130/index.html", "部门信息公开年报"),
                    ("/col/col140/index.html", "乡镇（街道）信息公开年报"),
                ]
            ),
            footer=HANWEB_FOOTER,
        ),
    )
    site.html(
        "/col/col110/index.html",
        page(
            "法定主动公开内容",
            link_list(
                [
                    ("/col/col120/index.html", "政府信息公开年报"),
                    ("/col/col150/index.html", "通知公告"),
                ]
            ),
            footer=HANWEB_FOOTER,
        ),
    )
    lanzhou = seed_spec(
        "004_7f5a90e893934992.txt", "hanweb", "/art/2021/3/9/art_120_1001.html", "兰州市"
    )
    lanzhou.also_at.append("/art/2021/3/9/art_130_1001.html")
    gen21 = generated_spec("hanweb", "/art/2022/3/1/art_120_1006.html", "兰州市人民政府", 2021, 21)
    gen19 = generated_spec("hanweb", "/art/2020/2/28/art_120_1007.html", "兰州市人民政府", 2019, 19)
    weishan = seed_spec(
        "003_d058f0def9fe5f52.txt",
        "hanweb",
        "/art/2021/1/28/art_130_2001.html",
        "微山县行政审批服务局",
    )
    dept = generated_spec("hanweb", "/art/2022/1/20/art_130_2002.html", "兰州市教育局", 2021, 7)
    town = generated_spec(
        "hanweb", "/art/2022/1/25/art_140_3001.html", "七里河区西园街道办事处", 2021, 8
    )
    distractors = [
        (
            "/art/2021/1/5/art_120_1002.html",
            "关于做好2020年政府信息公开工作年度报告编制发布工作的通知",
        ),
        ("/art/2021/4/1/art_120_1003.html", "兰州市2021年政务公开工作要点"),
        ("/art/2021/3/30/art_120_1004.html", "兰州市2020年法治政府建设年度报告"),
        ("/art/2022/8/1/art_120_1005.html", "兰州市人民政府办公室2021年部门决算"),
    ]
    site.columns["120"] = [
        (lanzhou.path, lanzhou.title, "2021-03-09"),
        *[(p, t, "2021-01-05") for p, t in distractors],
        (gen21.path, gen21.title, "2022-03-01"),
        (gen19.path, gen19.title, "2020-02-28"),
    ]
    site.columns["130"] = [
        (lanzhou.path, lanzhou.title, "2021-03-09"),
        (weishan.path, weishan.title, "2021-01-28"),
        (dept.path, dept.title, "2022-01-20"),
        (lanzhou.also_at[0], lanzhou.title, "2021-03-09"),
    ]
    site.columns["140"] = [(town.path, town.title, "2022-01-25")]
    # A department whose column no page links (the portal's menu is a script): only the site
    # search finds its report, on its second page of results.
    finance = generated_spec("hanweb", "/art/2023/2/10/art_160_5001.html", "兰州市财政局", 2022, 22)
    site.search = [
        (lanzhou.path, lanzhou.title, "2021-03-09"),
        (gen21.path, gen21.title, "2022-03-01"),
        (distractors[0][0], distractors[0][1], "2021-01-05"),
        (dept.path, dept.title, "2022-01-20"),
        ("/art/2022/5/1/art_200_4001.html", "兰州新闻1", "2022-05-01"),
        (town.path, town.title, "2022-01-25"),
        (finance.path, finance.title, "2023-02-10"),
        (gen19.path, gen19.title, "2020-02-28"),
    ]
    site.columns["150"] = [(distractors[0][0], distractors[0][1], "2021-01-05")]
    site.columns["200"] = [
        (f"/art/2022/5/{d}/art_200_{4000 + d}.html", f"兰州新闻{d}", "2022-05-01")
        for d in range(1, 8)
    ]
    names = {
        "120": "政府信息公开年报",
        "130": "部门信息公开年报",
        "140": "乡镇（街道）信息公开年报",
        "150": "通知公告",
        "200": "新闻中心",
    }
    for column, name in names.items():
        site.html(f"/col/col{column}/index.html", jpage_column(column, name, site.columns[column]))
    for n, (path, title) in enumerate(distractors):
        site.html(
            path,
            hanweb_article(
                title,
                f"<p>{escape(title)}。各县区、各部门：请按要求执行。</p><p>2021年{n + 1}月</p>",
                "2021-01-05",
                "兰州市人民政府办公室",
                "通知公告",
            ),
        )
    for path, title, _ in site.columns["200"]:
        site.html(
            path, hanweb_article(title, "<p>新闻内容。</p>", "2022-05-01", "兰州日报", "新闻中心")
        )
    word = Style(seed=4, word=True)
    for spec, column, meta in (
        (lanzhou, "政府信息公开年报", True),
        (gen21, "政府信息公开年报", True),
        (gen19, "政府信息公开年报", False),
        (weishan, "部门信息公开年报", True),
        (dept, "部门信息公开年报", True),
        (town, "乡镇（街道）信息公开年报", True),
        (finance, "部门信息公开年报", True),
    ):
        article = hanweb_article(
            spec.title, report_body(spec, word), "2021-03-09", spec.organization, column, meta=meta
        )
        for path in [spec.path, *spec.also_at]:
            site.html(path, article)
        portals.reports.append(spec)
    portals.distractors += [{"site": "hanweb", "path": p, "title": t} for p, t in distractors]
    return site


NEXTGROUP = "/module/web/jpage/dataproxy.jsp"


def jpage_column(
    column: str, name: str, records: list[tuple[str, str, str]], per_page: int = 3
) -> str:
    """A Hanweb column page: the first group of records inline, the rest via dataproxy.jsp."""
    inline = "".join(record_xml(r) for r in records[:per_page])
    unit = str(9000 + int(column))
    script = f"""<div id="{unit}"><script type="text/xml"><datastore>
<nextgroup><![CDATA[<a href="{NEXTGROUP}?page=1&appid=1&webid=1&path=/&columnid={column}\
&unitid={unit}&webname=%E5%85%B0%E5%B7%9E%E5%B8%82&permissiontype=0"></a>]]></nextgroup>
<recordset>{inline}</recordset></datastore></script></div>
<script type="text/javascript">
$(document).ready(function(){{ $('#{unit}').jpage({{ dataStore: dataStore, themeName: 'default',
 showMode: 'full', perPage: {per_page}, totalRecord: {len(records)},
 proxyUrl: '/module/web/jpage/dataproxy.jsp', groupSize: 1, barPosition: 'bottom',
 ajaxParam: {{col: 1, appid: 1, webid: 1, path: '/', columnid: {column}, sourceContentType: 1,
 unitid: {unit}, webname: '兰州市', permissiontype: 0}} }}); }});
</script>"""
    return page(
        name, script, "<script src='/module/jslib/jquery/jquery.js'></script>", HANWEB_FOOTER
    )


def record_xml(record: tuple[str, str, str]) -> str:
    path, title, date = record
    return (
        f"<record><![CDATA[<li><a href='{path}' title='{escape(title)}' target='_blank'>"
        f"{escape(title)}</a><span>{date}</span></li>]]></record>"
    )


def dataproxy_answer(site: Site, form: dict[str, str], start: int, end: int) -> Page:
    """The jpage dataproxy.jsp answer: records start..end (1-based) of a column."""
    if not form.get("columnid") or not form.get("unitid"):
        return Page(b"missing columnid/unitid", 400, [("Content-Type", "text/plain")])
    records = site.columns.get(form["columnid"], [])
    chosen = records[max(start, 1) - 1 : max(end, 0)]
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<datastore>\n'
        f"<totalrecord>{len(records)}</totalrecord>\n<recordset>\n"
        + "\n".join(record_xml(r) for r in chosen)
        + "\n</recordset>\n</datastore>"
    )
    return Page(xml.encode("utf-8"), 200, [("Content-Type", "text/xml;charset=UTF-8")])


SEARCH_API = "/jsearchfront/interfaces/cateSearch.do"
SEARCH_PAGE_CAP = 5  # results a page holds, whatever `pg` asks: servers cap it


def search_answer(site: Site, form: dict[str, str], base: str) -> Page:
    """The Hanweb 智能检索 answer: JSON holding each result as the template's HTML, its
    link going through the `visit/link.do` click counter."""
    if form.get("websiteid") != SEARCH_SITE_ID or not form.get("q"):
        return Page(b'{"error": "websiteid"}', 400, [("Content-Type", "application/json")])
    size = min(int(form.get("pg") or 10), SEARCH_PAGE_CAP)
    start = (max(int(form.get("p") or 1), 1) - 1) * size
    snippets = []
    for path, title, date in site.search[start : start + size]:
        url = base.rstrip("/") + path
        counted = f"visit/link.do?url={quote(url, safe='')}&title={quote(title)}&webid=1"
        shown = escape(title).replace("政府信息公开", "<em>政府信息公开</em>")
        snippets.append(
            f"<div class='jcse-result-box news-result'><div class='jcse-news-title'>"
            f"<a href='{escape(counted)}' target='_blank'>{shown}</a></div>"
            f"<div class='jcse-news-abs'>……</div><div class='jcse-news-url'>"
            f"<a href='{escape(counted)}' target='_blank'>{escape(url)}</a>"
            f"<span class='jcse-news-date'>{date}</span></div></div>"
        )
    body = {"total": len(site.search), "result": snippets, "searchTime": "0.01"}
    return Page(
        json.dumps(body, ensure_ascii=False).encode("utf-8"),
        200,
        [("Content-Type", "application/json;charset=UTF-8")],
        no_validators=True,
    )


def build_trs(portals: Portals) -> Site:
    site = Site("trs")
    home = page(
        "昌乐县人民政府",
        link_list(
            [
                ("/zwgk/index.html", "政务公开"),
                ("/xwdt/index.html", "新闻动态"),
                ("{{OFFSITE}}", "友情链接：山东省人民政府"),
            ]
        ),
    )
    site.html("/", home)
    site.html("/index.html", home)
    site.pages["/robots.txt"] = Page(
        b"User-agent: *\nDisallow: /zwgk/nbk/\n", 200, [("Content-Type", "text/plain")]
    )
    site.html(
        "/zwgk/index.html",
        page(
            "政务公开",
            link_list(
                [
                    ("./zfxxgknb/index.html", "政府信息公开年报"),
                    ("./zcwj/index.html", "政策文件"),
                ]
            ),
        ),
    )
    site.html("/zwgk/zcwj/index.html", page("政策文件", "<p>暂无</p>"))
    site.html(
        "/xwdt/index.html", page("新闻动态", link_list([("./202201/t20220101_1.html", "新闻")]))
    )
    site.html(
        "/xwdt/202201/t20220101_1.html",
        trs_article("新闻", "<p>新闻内容。</p>", "2022-01-01", "昌乐县", "新闻动态"),
    )
    lanling = seed_spec(
        "000_2ea0d66d96be98c1.txt",
        "trs",
        "/zwgk/zfxxgknb/202101/t20210120_100001.html",
        "兰陵县人民政府",
    )
    changle = seed_spec(
        "001_b48d038ea651e507.txt", "trs", "/zwgk/zfxxgknb/202103/t20210310_100002.html", "昌乐县"
    )
    with_files = generated_spec(
        "trs", "/zwgk/zfxxgknb/202203/t20220301_100003.html", "昌乐县人民政府", 2021, 31
    )
    hidden = generated_spec(
        "trs", "/zwgk/nbk/202103/t20210311_100009.html", "昌乐县营陵镇人民政府", 2020, 9
    )
    distractor = (
        "/zwgk/zfxxgknb/202101/t20210104_100004.html",
        "关于做好2020年度政府信息公开工作年度报告发布工作的通知",
    )
    lists = [
        [(lanling.path, lanling.title), distractor],
        [(changle.path, changle.title), (with_files.path, with_files.title)],
        [(hidden.path, hidden.title)],
    ]
    for n, items in enumerate(lists):
        rel = [
            ("." + p.removeprefix("/zwgk/zfxxgknb") if p.startswith("/zwgk/zfxxgknb") else p, t)
            for p, t in items
        ]
        name = "index.html" if n == 0 else f"index_{n}.html"
        pager = (
            f"<script>var countPage = {len(lists)};"
            f'createPageHTML({len(lists)}, {n}, "index", "html");</script>'
        )
        site.html(f"/zwgk/zfxxgknb/{name}", page("政府信息公开年报", link_list(rel) + pager))
    plain = Style(seed=1)
    pdf_path = "/zwgk/zfxxgknb/202203/P020220301512345678901.pdf"
    docx_path = "/zwgk/zfxxgknb/202203/P020220301512345678902.docx"
    files_html = (
        "<div class='attachments'>附件：<a href='./P020220301512345678901.pdf'>"
        "昌乐县2021年报.pdf</a> <a href='./P020220301512345678902.docx'>昌乐县2021年报.docx"
        "</a></div>"
    )
    site.html(
        lanling.path,
        trs_article(
            lanling.title,
            report_body(lanling, plain),
            "2021-01-20",
            lanling.organization,
            "政府信息公开年报",
        ),
    )
    gbk = trs_article(
        changle.title,
        report_body(changle, plain),
        "2021-03-10",
        "昌乐县人民政府",
        "政府信息公开年报",
        encoding="gbk",
    )
    site.html(changle.path, gbk, encoding="gbk", charset=False)  # no charset anywhere
    site.html(
        with_files.path,
        trs_article(
            with_files.title,
            report_body(with_files, plain),
            "2022-03-01",
            with_files.organization,
            "政府信息公开年报",
            attachments=files_html,
        ),
    )
    site.html(
        hidden.path,
        trs_article(
            hidden.title,
            report_body(hidden, plain),
            "2021-03-11",
            hidden.organization,
            "政府信息公开年报",
        ),
    )
    site.html(
        distractor[0],
        trs_article(
            distractor[1],
            "<p>请各单位按时发布。</p>",
            "2021-01-04",
            "昌乐县人民政府办公室",
            "政府信息公开年报",
        ),
    )
    site.pages[pdf_path] = Page(
        attachment_bytes("report.pdf"), 200, [("Content-Type", "application/pdf")]
    )
    site.pages[docx_path] = Page(
        attachment_bytes("report.docx"),
        200,
        [
            (
                "Content-Type",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            )
        ],
    )
    portals.reports += [lanling, changle, with_files]
    portals.distractors.append({"site": "trs", "path": distractor[0], "title": distractor[1]})
    portals.disallowed.append({"site": "trs", "path": hidden.path})
    portals.attachments += [
        {"site": "trs", "path": pdf_path, "report_path": with_files.path, "source_type": "pdf"},
        {"site": "trs", "path": docx_path, "report_path": with_files.path, "source_type": "docx"},
    ]
    return site


def build_inhouse(portals: Portals) -> Site:
    site = Site("inhouse", validators="last-modified")
    home = page("临沂市兰山区人民政府", link_list([("/xxgk/", "信息公开"), ("/hdjl/", "互动交流")]))
    site.html("/", home)
    site.html(
        "/xxgk/",
        page(
            "政府信息公开",
            link_list(
                [
                    ("/xxgk/nb/list?page=1", "政府信息公开年报"),
                    ("/xxgk/jgzn.html", "机构职能"),
                ]
            ),
        ),
    )
    site.pages["/xxgk/jgzn.html"] = Page(
        b"Internal Server Error", 500, [("Content-Type", "text/plain")]
    )
    lanshan = seed_spec(
        "002_3a84f19c68f60ef6.txt", "inhouse", "/xxgk/nb/2022/lanshan-2021.html", "临沂市兰山区"
    )
    old = generated_spec(
        "inhouse", "/xxgk/nb/2020/lanshan-2019.html", "临沂市兰山区人民政府", 2019, 119
    )
    para = generated_spec(
        "inhouse", "/xxgk/nb/2023/lanshan-2022.html", "临沂市兰山区人民政府", 2022, 122
    )
    missing = "/xxgk/nb/2019/lanshan-2018.html"
    lists = [
        [(lanshan.path, lanshan.title), (para.path, para.title)],
        [("/old/nb2019.html", old.title)],
        [(missing, "临沂市兰山区2018年政府信息公开工作年度报告")],
    ]
    for n, items in enumerate(lists, start=1):
        nav = ""
        if n < len(lists):
            nav = f"<div class='page'><a href='/xxgk/nb/list?page={n + 1}'>下一页</a></div>"
        site.html(f"/xxgk/nb/list?page={n}", page("政府信息公开年报", link_list(items) + nav))
    body = report_body(lanshan, Style(seed=2))
    # GBK bytes under a page that declares utf-8, and a header without charset.
    site.html(
        lanshan.path,
        inhouse_article(lanshan.title, body, "2022-01-28"),
        encoding="gbk",
        charset=False,
    )
    site.html(
        para.path,
        inhouse_article(para.title, report_body(para, Style(), "paragraphs"), "2023-01-30"),
    )
    site.pages[para.path].no_validators = True  # re-sent in full: an identical-payload revisit
    site.html(old.path, inhouse_article(old.title, report_body(old, Style(seed=3)), "2020-01-31"))
    site.pages["/old/nb2019.html"] = Page(
        b"", 301, [("Location", old.path), ("Content-Type", "text/html")]
    )
    portals.reports += [lanshan, para, old]
    portals.not_found.append({"site": "inhouse", "path": missing})
    portals.redirects.append({"site": "inhouse", "from": "/old/nb2019.html", "to": old.path})
    return site


LIST_SCRIPT = """
// The list is built in the browser from a JSON API whose address is put together at run time.
(function () {
  var list = document.getElementById('nb-list');
  function load(page) {
    var api = ['', 'api', 'nb', 'list'].join('/') + '?page=' + page;
    var xhr = new XMLHttpRequest();
    xhr.open('GET', api);
    xhr.onload = function () {
      var data = JSON.parse(xhr.responseText);
      data.items.forEach(function (item) {
        var li = document.createElement('li');
        var a = document.createElement('a');
        a.href = item.url; a.textContent = item.title;
        li.appendChild(a); list.appendChild(li);
      });
      pager(data.page, data.totalPage);
    };
    xhr.send();
  }
  // Further pages wait for a click on the pager: a browser that does not click sees page 1.
  function pager(current, total) {
    var box = document.getElementById('nb-pager');
    box.innerHTML = '';
    for (var n = 1; n <= total; n++) {
      var button = document.createElement('button');
      button.textContent = n; button.disabled = n === current;
      button.onclick = (function (n) { return function () { list.innerHTML = ''; load(n); }; })(n);
      box.appendChild(button);
    }
    list.setAttribute('data-loaded', 'yes');
  }
  load(1);
})();
"""


def build_scripted(portals: Portals) -> Site:
    """An in-house portal whose report lists are built by JavaScript from JSON.

    One list hides its API inside a script and shows one page at a time (only a browser finds
    the address; Scrapy asks for the page its pager waits to be clicked for); one calls
    `fetch('/api/nb/archive.json')` with the address in plain sight (Scrapy fetches the JSON);
    one names a paged API in plain sight (`?pageNo=1&pageSize=1`, its answer gives the total),
    one an API paged by record offset (`?start=0&limit=2`).
    """
    site = Site("scripted")
    site.html(
        "/",
        page(
            "示例市人民政府",
            link_list(
                [
                    ("/xxgk/ndbg/index.html", "政府信息公开年报"),
                    ("/xxgk/wqnb/", "往年年报"),
                    ("/xxgk/qtnb/", "其他年报"),
                    ("/xxgk/bmnb/", "部门年报"),
                    ("/xxgk/sfj/list.do", "司法局年报"),
                    ("/xxgk/wjw/index.html", "卫健委年报"),
                    ("/xxgk/fgw/index.html", "发改委年报"),
                    ("/xxgk/tjj/", "统计局年报"),
                ]
            ),
        ),
    )
    shell = page(
        "政府信息公开年报",
        "<div class='list-box'><ul id='nb-list' class='list'></ul><div id='nb-pager'></div>"
        "</div><script src='/js/nblist.js'></script>",
    )
    site.html("/xxgk/ndbg/index.html", shell)
    site.pages["/js/nblist.js"] = script_page(LIST_SCRIPT)
    specs = [
        generated_spec("scripted", f"/xxgk/ndbg/{y}/nb{y}.html", "示例市人民政府", y, 500 + y)
        for y in (2021, 2022, 2023)
    ]
    api_pages = [[specs[2], specs[1]], [specs[0]]]
    for n, items in enumerate(api_pages, start=1):
        answer = {
            "items": [{"title": r.title, "url": r.path} for r in items],
            "page": n,
            "totalPage": len(api_pages),
        }
        site.pages[f"/api/nb/list?page={n}"] = json_page(answer)
    older = generated_spec("scripted", "/xxgk/wqnb/2019/nb2019.html", "示例市人民政府", 2019, 519)
    site.html(
        "/xxgk/wqnb/",
        page(
            "往年年报",
            "<table class='nb'><tbody id='rows'></tbody></table><script>"
            "fetch('/api/nb/archive.json').then(function (r) { return r.json(); })"
            ".then(function (d) { d.data.forEach(function (x) {"
            "document.getElementById('rows').insertAdjacentHTML('beforeend',"
            " '<tr><td><a href=\"' + x.link + '\">' + x.name + '</a></td></tr>'); }); });"
            "</script>",
        ),
    )
    archive = {"data": [{"name": older.title, "link": older.path, "date": "2020-01-20"}]}
    site.pages["/api/nb/archive.json"] = json_page(archive, "application/json")
    departments = add_paged_api(site) + add_offset_api(site)
    paged = add_form_pager(site) + add_script_pager(site) + add_json_post_list(site)
    for spec in [*specs, older, *departments, *paged]:
        site.html(
            spec.path,
            inhouse_article(
                spec.title, report_body(spec, Style(seed=spec.year)), f"{spec.year + 1}-01-20"
            ),
        )
    portals.reports += [*specs, older, *departments, *paged]
    add_appendix_by_script(site, portals)
    return site


def fetched_list(title: str, api: str, items: str) -> str:
    """A list page whose inline script fetches its JSON API, the address in plain sight, and
    draws a link for each object at `items` in the answer (`data.list`, `rows`)."""
    return page(
        title,
        "<ul id='fetched-list' class='list'></ul><script>"
        f"fetch('{api}').then(function (r) {{ return r.json(); }})"
        f".then(function (d) {{ d.{items}.forEach(function (x) {{"
        "document.getElementById('fetched-list').insertAdjacentHTML('beforeend',"
        " '<li><a href=\"' + x.url + '\">' + x.title + '</a></li>'); }); });"
        "</script>",
    )


def add_paged_api(site: Site) -> list[ReportSpec]:
    """A list whose script names its paged JSON API in plain sight, one report a page: the
    second is found only by paging through the API (its answer gives the total)."""
    reports = [
        generated_spec("scripted", f"/xxgk/bmnb/2024/{slug}2023.html", organization, 2023, seed)
        for slug, organization, seed in (("jyj", "示例市教育局", 601), ("czj", "示例市财政局", 602))
    ]
    shell = fetched_list("部门年报", "/api/nb/dept?pageNo=1&pageSize=1", "data.list")
    site.html("/xxgk/bmnb/", shell)
    for number, spec in enumerate(reports, start=1):
        answer = {
            "code": 0,
            "data": {"total": len(reports), "list": [{"title": spec.title, "url": spec.path}]},
        }
        site.pages[f"/api/nb/dept?pageNo={number}&pageSize=1"] = json_page(answer)
    return reports


def add_offset_api(site: Site) -> list[ReportSpec]:
    """A list whose script names its JSON API in plain sight, paged by record offset as an
    ExtJS store pages it (`start=0&limit=2`, the answer's `totalCount`): its third report is
    found only at `start=2`, not at the `start=1` a page counter would ask for."""
    reports = [
        generated_spec("scripted", f"/xxgk/tjj/{y + 1}/nb{y}.html", "示例市统计局", y, 680 + y)
        for y in (2023, 2022, 2021)
    ]
    site.html("/xxgk/tjj/", fetched_list("统计局年报", "/api/nb/tjj?start=0&limit=2", "rows"))
    for start in (0, 2):
        rows = [{"title": r.title, "url": r.path} for r in reports[start : start + 2]]
        answer = {"success": True, "totalCount": len(reports), "rows": rows}
        site.pages[f"/api/nb/tjj?start={start}&limit=2"] = json_page(answer)
    return reports


def add_form_pager(site: Site) -> list[ReportSpec]:
    """A JSP list whose pager only calls `goPage(2)`, which POSTs a hidden form back to the
    list: its first page is in the markup, its second only behind the click."""
    reports = [
        generated_spec("scripted", f"/xxgk/sfj/{y + 1}/nb{y}.html", "示例市司法局", y, 640 + y)
        for y in (2023, 2022, 2021)
    ]
    form = (
        "<form id='pageForm' method='post' action='list.do'>"
        "<input type='hidden' name='channelId' value='12'>"
        "<input type='hidden' name='pageNo' value='1'></form><script>function goPage(n) {"
        " var f = document.getElementById('pageForm'); f.pageNo.value = n; f.submit(); }</script>"
    )
    pagers = [
        "<div class='pagination'>共3条 第1/2页 <a href='javascript:goPage(2)'>下一页</a>"
        " <a href='javascript:goPage(2)'>尾页</a></div>",
        "<div class='pagination'>共3条 第2/2页 <a href='javascript:goPage(1)'>首页</a>"
        " <a href='javascript:goPage(1)'>上一页</a></div>",
    ]
    shown = [reports[:2], reports[2:]]
    first, second = (
        page("司法局年报", link_list([(r.path, r.title) for r in items]) + pager + form)
        for items, pager in zip(shown, pagers, strict=True)
    )
    site.html("/xxgk/sfj/list.do", first)
    site.forms[("/xxgk/sfj/list.do", "channelId=12&pageNo=2")] = Page(
        second.encode(), 200, [("Content-Type", "text/html; charset=utf-8")]
    )
    return reports


PAGER_SCRIPT = """
// The pager is drawn by the script, which asks a POST search API for each page (as Fujian's
// avalon lists do): the first page's reports are in the markup, the rest only after a click.
(function () {
  var list = document.getElementById('static-list');
  var bar = document.querySelector('.page_base');
  function ask(page, then) {
    var xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/search');
    xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
    xhr.onload = function () { then(JSON.parse(xhr.responseText)); };
    xhr.send('channelid=1813&page=' + page);
  }
  function draw(page, count) {
    bar.innerHTML = '<span>第' + page + '/' + count + '页</span>' + (page < count
      ? '<a href="javascript:;" class="next">下一页</a>'
      : '<span class="next disabled">下一页</span>');
    var next = bar.querySelector('a.next');
    if (next) { next.onclick = function () { ask(page + 1, show); }; }
  }
  function show(d) {
    list.innerHTML = d.list.map(function (x) {
      return '<dl><dd><a href="' + x.chnldocurl + '">' + x.doctitle + '</a></dd></dl>';
    }).join('');
    draw(d.page, d.pageCount);
  }
  ask(1, function (d) { draw(d.page, d.pageCount); });
})();
"""


def add_script_pager(site: Site) -> list[ReportSpec]:
    """A list showing its first page in the markup beside an empty pager box a script fills
    (`div.page_base[ms-controller=list_pagebar]`, shared/research/cms-layouts.md): its next
    page comes from a POST API, only after a click on the drawn 下一页."""
    reports = [
        generated_spec(
            "scripted",
            f"/xxgk/wjw/{y + 1}03/t{y + 1}0301_{y}.html",
            "示例市卫生健康委员会",
            y,
            660 + y,
        )
        for y in (2023, 2022, 2021)
    ]
    items = "".join(
        f"<dl><dd><a href='{r.path}' title='{r.title}'>{r.title}</a></dd>"
        f"<dd>{r.year + 1}-03-01</dd></dl>"
        for r in reports[:2]
    )
    site.html(
        "/xxgk/wjw/index.html",
        page(
            "卫健委年报",
            f"<div class='rules_tabs_01' id='static-list'>{items}</div>"
            "<div class='page_base mar_t_base' ms-controller='list_pagebar'></div>"
            "<script src='/js/pagebar.js'></script>",
        ),
    )
    site.pages["/js/pagebar.js"] = script_page(PAGER_SCRIPT)
    for number, chunk in ((1, reports[:2]), (2, reports[2:])):
        answer = {
            "page": number,
            "pageCount": 2,
            "list": [{"doctitle": r.title, "chnldocurl": r.path} for r in chunk],
        }
        site.forms[("/api/search", f"channelid=1813&page={number}")] = json_page(answer)
    return reports


def json_key(data: dict[str, Any]) -> str:
    """How the sample server files a JSON body: whatever the spacing and order it was sent in."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def add_json_post_list(site: Site) -> list[ReportSpec]:
    """A Vue-style list: its script POSTs a JSON object for each page (axios's way) and draws
    a pager of icons only, no label to click by: its second page is found only by POSTing the
    object again with the next page number, set inside its `page` object."""
    reports = [
        generated_spec(
            "scripted", f"/xxgk/fgw/{y + 1}/nb{y}.html", "示例市发展和改革委员会", y, 770 + y
        )
        for y in (2023, 2022, 2021)
    ]
    site.html(
        "/xxgk/fgw/index.html",
        page(
            "发改委年报",
            "<div id='app'><ul id='fgw-list' class='news-list'></ul>"
            "<div id='fgw-pager' class='pagination'></div></div><script src='/js/fgw.js'></script>",
        ),
    )
    site.pages["/js/fgw.js"] = script_page(JSON_POST_SCRIPT)
    for number, chunk in ((1, reports[:2]), (2, reports[2:])):
        answer = {
            "code": 200,
            "data": {
                "records": [{"title": r.title, "url": r.path} for r in chunk],
                "total": len(reports),
                "current": number,
            },
        }
        asked = {"channelId": 77, "page": {"pageNo": number, "pageSize": 2}}
        site.forms[("/api/fgw/list", json_key(asked))] = json_page(
            answer, "application/json;charset=UTF-8"
        )
    return reports


JSON_POST_SCRIPT = """
// Vue-style: a JSON object POSTed for each page, the paging fields in an object of their own
// (a Java back end's page parameter); the pager is an icon, with no label.
(function () {
  var list = document.getElementById('fgw-list');
  var bar = document.getElementById('fgw-pager');
  function ask(pageNo) {
    fetch('/api/fgw/list', {
      method: 'POST',
      headers: {'Content-Type': 'application/json;charset=UTF-8'},
      body: JSON.stringify({channelId: 77, page: {pageNo: pageNo, pageSize: 2}})
    }).then(function (r) { return r.json(); }).then(function (d) {
      list.innerHTML = d.data.records.map(function (x) {
        return '<li><a href="' + x.url + '">' + x.title + '</a></li>';
      }).join('');
      bar.innerHTML = '<a href="javascript:;" class="btn-next">' +
        '<i class="el-icon-arrow-right"></i></a>';
      bar.querySelector('a').onclick = function () { ask(pageNo + 1); };
    });
  }
  ask(1);
})();
"""


APPENDIX_SCRIPT = """
// Ucap-style: the article's files are listed in table#tblAppendix from a JSON answer.
(function () {
  fetch('/api/appendix?id=' + window.articleId)
    .then(function (r) { return r.json(); })
    .then(function (d) {
      d.files.forEach(function (f) {
        document.getElementById('tblAppendix').insertAdjacentHTML('beforeend',
          '<tr><td><a href="' + f.url + '">' + f.name + '</a></td></tr>');
      });
    });
})();
"""


def add_appendix_by_script(site: Site, portals: Portals) -> None:
    """A report article whose tables are only in its PDF, linked by script alone (Ucap's empty
    `相关附件>>` table, shared/corpus/raw/ucap_sc_gov_art.html): the PDF is the TRS portal's
    (the same tables as `generated_spec(…, 2021, 31)`)."""
    spec = generated_spec("scripted", "/xxgk/qtnb/2022/nb_cl2021.html", "昌乐县人民政府", 2021, 31)
    pdf = "/xxgk/qtnb/2022/P020220301512345678901.pdf"
    site.html(
        "/xxgk/qtnb/",
        page("其他年报", link_list([(spec.path, spec.title)])),
    )
    site.html(
        spec.path,
        page(
            spec.title,
            "<ucapcontent><p>昌乐县人民政府2021年政府信息公开工作年度报告全文见附件。</p>"
            "</ucapcontent><div id='tblAppendixContainer' class='relatedlinks'><h3>相关附件>></h3>"
            "<table width='100%' id='tblAppendix'>\n</table></div>"
            "<script>window.articleId = 'cl2021';</script><script src='/js/appendix.js'></script>",
        ),
    )
    site.pages["/js/appendix.js"] = script_page(APPENDIX_SCRIPT)
    answer = {"files": [{"name": "昌乐县2021年报.pdf", "url": pdf}]}
    site.pages["/api/appendix?id=cl2021"] = json_page(answer)
    site.pages[pdf] = Page(
        attachment_bytes("report.pdf"), 200, [("Content-Type", "application/pdf")]
    )
    portals.reports.append(spec)
    portals.attachments.append(
        {"site": "scripted", "path": pdf, "report_path": spec.path, "source_type": "pdf"}
    )


GKMLPT_SHELL = """<!DOCTYPE html><html><head><meta charset="utf-8">
<title>政府信息公开年报_广州市商务局</title>
<script>window._CONFIG = {SID: '175', ACTION: 'annualreport', ENV: 'production', curId: 0,
TREE: [{"id": 1, "name": "机构职能", "children": []},
{"id": 2629, "name": "政府信息公开工作年度报告", "children": []},
{"id": 5, "name": "政策文件", "children": [{"id": 51, "name": "规范性文件"}]}]};</script>
</head><body><div class="header"><a href="/">首页</a></div>
<div class="table-wrapper"><div class="loading">加载中…</div>
<table class="table-content"><tbody></tbody></table></div>
<script src="/gzsw/gkmlpt/static/js/list.js"></script></body></html>"""


def build_gkmlpt(portals: Portals) -> Site:
    """A department on Guangdong's gkmlpt platform: its annual reports page is a shell whose
    script asks the platform's JSON API (two pages; one article without a `url`, placed by its
    id as the platform's script places it). Not in `build_sites`: a test adds it."""
    site = Site("gkmlpt")
    site.html(
        "/",
        page("广州市商务局", link_list([("/gzsw/gkmlpt/annualreport#2629", "政府信息公开年报")])),
    )
    site.html("/gzsw/gkmlpt/annualreport", GKMLPT_SHELL)
    site.pages["/gzsw/gkmlpt/static/js/list.js"] = Page(
        b"/* builds the table from /gkmlpt/api/all/{id}?page=&sid= */",
        200,
        [("Content-Type", "application/javascript")],
    )
    ids = [2980371, 2980372, 2980373, 2980374, 2980375]
    specs = [
        generated_spec(
            "gkmlpt",
            f"/gzsw/gkmlpt/content/2/2980/post_{ident}.html",
            "广州市商务局",
            year,
            700 + year,
        )
        for ident, year in zip(ids, range(2023, 2018, -1), strict=True)
    ]
    articles = [
        {"id": ident, "title": spec.title, "url": "" if n == 1 else spec.path}
        for n, (ident, spec) in enumerate(zip(ids, specs, strict=True))
    ]
    for number, chunk in ((1, articles[:3]), (2, articles[3:])):
        answer = {"articles": chunk, "total": len(articles)}
        site.pages[f"/gzsw/gkmlpt/api/all/2629?page={number}&sid=175"] = json_page(answer)
    for spec in specs:
        site.html(
            spec.path,
            page(
                spec.title, f"<div class='content'>{report_body(spec, Style(seed=spec.year))}</div>"
            ),
        )
    portals.reports += specs
    return site


def build_sites(scripted: bool = False) -> Portals:
    """The sample portals and what a crawl of them must find.

    `scripted=True` adds a portal whose lists are built by JavaScript (its crawl needs Chromium).
    """
    portals = Portals({}, [], [], [], [], [], [])
    builders = [build_hanweb, build_trs, build_inhouse]
    if scripted:
        builders.append(build_scripted)
    for build in builders:
        site = build(portals)
        portals.sites[site.name] = site
    return portals


def next_night(portals: Portals) -> dict[str, ReportSpec]:
    """Change the portals as a day of publishing would: one new report, one edited report.

    TRS gets a 2023 report at the top of its first list page; the in-house 2019 report is
    corrected (one cell of section 2 changes) and its server gives it a new Last-Modified.
    Everything else stays byte for byte the same.
    """
    trs = portals.sites["trs"]
    new = generated_spec(
        "trs", "/zwgk/zfxxgknb/202401/t20240115_100010.html", "昌乐县人民政府", 2023, 2023
    )
    trs.html(
        new.path,
        trs_article(
            new.title, report_body(new, Style(seed=1)), "2024-01-15", new.organization, "年报"
        ),
    )
    first_list = trs.pages["/zwgk/zfxxgknb/index.html"]
    link = f"<ul><li><a href='./202401/t20240115_100010.html'>{escape(new.title)}</a></li>"
    first_list.body = first_list.body.replace(b"<ul>", link.encode(), 1)

    inhouse = portals.sites["inhouse"]
    index, old = next(
        (i, r) for i, r in enumerate(portals.reports) if r.path == "/xxgk/nb/2020/lanshan-2019.html"
    )
    tables = json.loads(json.dumps(old.tables))
    active = tables["active"]
    first_row = next(iter(active))
    first_col = next(iter(active[first_row]))
    cell = active[first_row][first_col]
    if isinstance(cell, dict):
        cell["value"] += 1
        cell["raw"] = str(int(cell["value"]))
    else:
        active[first_row][first_col] = cell + 1
    edited = ReportSpec(**{**old.__dict__, "tables": tables})
    inhouse.html(
        edited.path,
        inhouse_article(edited.title, report_body(edited, Style(seed=3)), "2020-01-31"),
    )
    inhouse.pages[edited.path].last_modified = "Mon, 20 Nov 2026 08:00:00 GMT"
    portals.reports[index] = edited
    portals.reports.append(new)
    return {"new": new, "edited": edited}
