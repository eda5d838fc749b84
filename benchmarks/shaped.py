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

from dataclasses import dataclass
from typing import Any

from crawler.sample_portals import (
    HANWEB_FOOTER,
    Portals,
    ReportSpec,
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


@dataclass
class Issue:
    """One yearly report as a column lists it."""

    organization: str
    year: int
    seed: int

    @property
    def date(self) -> str:
        return f"{self.year + 1}-01-{self.seed % 28 + 1:02d}"


def issues(publishers: list[str], first_seed: int) -> list[Issue]:
    """Every publisher's report of every year, each with its own seed (its numbers, its date)."""
    bodies = [(o, y) for o in publishers for y in YEARS]
    return [Issue(o, y, first_seed + n) for n, (o, y) in enumerate(bodies, start=1)]


def add_report(
    portals: Portals, site: Site, path: str, issue: Issue, column: str, article: Any, style: Style
) -> ReportSpec:
    """The report of `issue` at `path`, as the site's CMS renders an article (`article`:
    hanweb_article or trs_article)."""
    spec = generated_spec(site.name, path, issue.organization, issue.year, issue.seed)
    body = report_body(spec, style)
    site.html(path, article(spec.title, body, issue.date, issue.organization, column))
    portals.reports.append(spec)
    return spec


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
    for n, (column, name) in enumerate(columns.items()):
        records = []
        for issue in issues(publishers(county)[name], 100 + 100 * n):
            path = f"/art/{issue.year + 1}/1/{issue.seed % 28 + 1}/art_{column}_{issue.seed}.html"
            spec = add_report(portals, site, path, issue, name, hanweb_article, style)
            records.append((path, spec.title, issue.date))
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
    for n, (name, slug) in enumerate(slugs.items()):
        items = []
        for issue in issues(publishers(county)[name], 500 + 100 * n):
            folder = f"{issue.year + 1}01"
            file = f"t{folder}{issue.seed % 28 + 1:02d}_{issue.seed}.html"
            path = f"/zwgk/{slug}/{folder}/{file}"
            spec = add_report(portals, site, path, issue, name, trs_article, style)
            items.append((f"./{folder}/{file}", spec.title))
        write_trs_list(site, f"/zwgk/{slug}/", name, items)
    return site


def write_trs_list(site: Site, folder: str, name: str, items: list[tuple[str, str]]) -> None:
    """A TRS list of `items`, TRS_PER_PAGE links a page, paged only by createPageHTML."""
    lists = [items[i : i + TRS_PER_PAGE] for i in range(0, len(items), TRS_PER_PAGE)]
    for n, chunk in enumerate(lists):
        pager = (
            f"<script>var countPage = {len(lists)};"
            f'createPageHTML({len(lists)}, {n}, "index", "html");</script>'
        )
        file = "index.html" if n == 0 else f"index_{n}.html"
        site.html(f"{folder}{file}", page(name, link_list(chunk) + pager))


def build_shaped() -> Portals:
    """A Hanweb and a TRS county portal, 66 reports each, at their real proportions."""
    portals = Portals({}, [], [], [], [], [], [])
    for build in (build_hanweb, build_trs):
        site = build(portals)
        portals.sites[site.name] = site
    return portals
