"""Portals of a real county's shape: many reports per list page, lists as long as real ones.

The sample portals (crawler.sample_portals) are built for the tests: few reports, lists paged
every 2 or 3 items so that paging is exercised, and a trap on every other page (a 404, a
redirect, a 500, notices about reports). Their unchanged nightly crawl is mostly list pages and
traps, so its cost against the first crawl says more about the fixture than about a portal.
These portals have the proportions of a real one instead (research notes, cms-layouts §2–3):

- Hanweb: a government column with one report a year, a departments column and a townships
  column, every column a jpage list of perPage 15 whose inline block holds the first group and
  the rest comes from dataproxy.jsp;
- TRS: the same three columns as static lists of 20 links paged by createPageHTML.

Every report is an HTML article with all three tables (no attachment, the hardest case for the
nightly ratio: a PDF would make the first crawl far larger), dressed in real chrome by
`benchmarks.realistic.real_size`.
"""

from __future__ import annotations

from crawler.sample_portals import (
    HANWEB_FOOTER,
    Portals,
    Site,
    Style,
    generated_spec,
    hanweb_article,
    jpage_column,
    link_list,
    page,
    report_body,
    trs_article,
)

YEARS = range(2019, 2025)  # six yearly reports per publisher
DEPARTMENTS = ["教育局", "民政局", "财政局", "人社局", "自然资源局", "住建局"]
TOWNSHIPS = ["城关镇", "西园街道", "东岗镇", "新城镇"]
TRS_PER_PAGE = 20


def publishers(county: str) -> dict[str, list[str]]:
    """Column name -> the bodies that publish a yearly report in it."""
    return {
        "政府信息公开年报": [f"{county}人民政府"],
        "部门信息公开年报": [f"{county}{d}" for d in DEPARTMENTS],
        "乡镇（街道）信息公开年报": [f"{county}{t}人民政府" for t in TOWNSHIPS],
    }


def build_hanweb(portals: Portals, county: str = "榆中县") -> Site:
    site = Site("hanweb")
    columns = {str(120 + 10 * n): name for n, name in enumerate(publishers(county))}
    home = page(f"{county}人民政府", link_list([("/col/col100/index.html", "政务公开")]))
    site.html("/", home)
    site.html(
        "/col/col100/index.html",
        page(
            "政务公开",
            link_list([(f"/col/col{c}/index.html", n) for c, n in columns.items()]),
            footer=HANWEB_FOOTER,
        ),
    )
    style = Style(seed=4, word=True)
    seed = 100
    for column, name in columns.items():
        records = []
        for organization in publishers(county)[name]:
            for year in YEARS:
                seed += 1
                path = f"/art/{year + 1}/1/{seed % 28 + 1}/art_{column}_{seed}.html"
                spec = generated_spec("hanweb", path, organization, year, seed)
                date = f"{year + 1}-01-{seed % 28 + 1:02d}"
                site.html(
                    path,
                    hanweb_article(spec.title, report_body(spec, style), date, organization, name),
                )
                records.append((path, spec.title, date))
                portals.reports.append(spec)
        records.sort(key=lambda r: r[2], reverse=True)
        site.columns[column] = records
        site.html(f"/col/col{column}/index.html", jpage_column(column, name, records, 15))
    return site


def build_trs(portals: Portals, county: str = "临朐县") -> Site:
    site = Site("trs")
    slugs = dict(zip(publishers(county), ("zfxxgknb", "bmxxgknb", "xzxxgknb"), strict=True))
    home = page(f"{county}人民政府", link_list([("/zwgk/index.html", "政务公开")]))
    site.html("/", home)
    site.html(
        "/zwgk/index.html",
        page("政务公开", link_list([(f"./{s}/index.html", n) for n, s in slugs.items()])),
    )
    style = Style(seed=1)
    seed = 500
    for name, slug in slugs.items():
        items = []
        for organization in publishers(county)[name]:
            for year in YEARS:
                seed += 1
                folder = f"{year + 1}01"
                path = f"/zwgk/{slug}/{folder}/t{folder}{seed % 28 + 1:02d}_{seed}.html"
                spec = generated_spec("trs", path, organization, year, seed)
                date = f"{year + 1}-01-{seed % 28 + 1:02d}"
                site.html(
                    path,
                    trs_article(spec.title, report_body(spec, style), date, organization, name),
                )
                items.append((f"./{folder}/{path.rsplit('/', 1)[1]}", spec.title))
                portals.reports.append(spec)
        lists = [items[i : i + TRS_PER_PAGE] for i in range(0, len(items), TRS_PER_PAGE)]
        for n, chunk in enumerate(lists):
            pager = (
                f"<script>var countPage = {len(lists)};"
                f'createPageHTML({len(lists)}, {n}, "index", "html");</script>'
            )
            file = "index.html" if n == 0 else f"index_{n}.html"
            site.html(f"/zwgk/{slug}/{file}", page(name, link_list(chunk) + pager))
    return site


def build_shaped() -> Portals:
    """A Hanweb and a TRS county portal, 66 reports each, at their real proportions."""
    portals = Portals({}, [], [], [], [], [], [])
    for build in (build_hanweb, build_trs):
        site = build(portals)
        portals.sites[site.name] = site
    return portals
