"""Guangdong's gkmlpt platform: the annual reports page is a shell its script fills from a JSON
API; nianbao asks the API itself, every page of it, with no browser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlite_utils

from crawler.layouts import further_pages, gkmlpt, needs_browser, page_links
from crawler.portal_server import SamplePortals
from crawler.sample_portals import GKMLPT_SHELL, Portals, build_gkmlpt
from tests.helpers import FAST, nianbao, same_value, stored_cells, truth_cells

PAGE = "https://www.gz.gov.cn/gzsw/gkmlpt/annualreport"


def test_the_annual_reports_category_is_read_from_the_config():
    (first,) = gkmlpt.catalogue_requests(GKMLPT_SHELL, PAGE)
    assert first.url == "https://www.gz.gov.cn/gzsw/gkmlpt/api/all/2629?page=1&sid=175"
    assert further_pages(GKMLPT_SHELL, PAGE) == [first]
    assert not needs_browser(GKMLPT_SHELL, PAGE)  # the API is asked directly
    # Quoted keys, another site id, a platform at the host's root.
    quoted = GKMLPT_SHELL.replace("SID: '175'", '"SID": "2"').replace("/gzsw", "")
    (root,) = gkmlpt.catalogue_requests(quoted, "https://www.gd.gov.cn/gkmlpt/annualreport")
    assert root.url == "https://www.gd.gov.cn/gkmlpt/api/all/2629?page=1&sid=2"
    # A tree written as a script literal, not JSON.
    literal = GKMLPT_SHELL.replace(
        '{"id": 2629, "name": "政府信息公开工作年度报告", "children": []}',
        "{id: 2629, name: '政府信息公开工作年度报告', children: []}",
    ).replace('"id": 1, "name"', "id: 1, name")
    assert '"id": 2629' not in literal
    assert gkmlpt.annual_categories(literal) == [2629]
    # A name's own id, not a child's before or after it; categories only named like reports.
    nested = (
        "window._CONFIG = {SID: '9', TREE: [{name: '政府信息公开工作年度报告', "
        "children: [{id: 7, name: '2023'}], id: 2629}, {id: 5, children: [{id: 51, "
        "name: 'x'}], name: '统计年报'}]};"
    )
    assert gkmlpt.annual_categories(nested) == [2629]
    assert gkmlpt.annual_categories("window._CONFIG = {TREE: [], SID: '1'}") == []
    # The config's site id, not an earlier one in the page.
    earlier = "<a href='/x?SID=abc'>x</a>" + GKMLPT_SHELL
    (first,) = gkmlpt.catalogue_requests(earlier, PAGE)
    assert first.url.endswith("&sid=175")
    # Not the platform, or no site id: nothing.
    assert gkmlpt.catalogue_requests(GKMLPT_SHELL, "https://www.gz.gov.cn/xxgk/index.html") == []
    assert gkmlpt.catalogue_requests(GKMLPT_SHELL.replace("SID", "XID"), PAGE) == []


def test_an_answer_gives_its_articles_and_from_page_one_the_other_pages():
    api = "https://www.gz.gov.cn/gzsw/gkmlpt/api/all/2629?page=1&sid=175"
    answer = json.dumps(
        {
            "articles": [
                {"id": 4123456, "title": "2023年政府信息公开工作年度报告", "url": ""},
                {"id": 1, "title": "2022年年报", "url": "https://www.gz.gov.cn/gzsw/a/post_1.html"},
            ],
            "total": 5,
        },
        ensure_ascii=False,
    )
    links = page_links(answer, api)
    assert [(link.url, link.text) for link in links] == [
        (
            "https://www.gz.gov.cn/gzsw/gkmlpt/content/4/4123/post_4123456.html",
            "2023年政府信息公开工作年度报告",
        ),
        ("https://www.gz.gov.cn/gzsw/a/post_1.html", "2022年年报"),
    ]
    assert [p.url for p in further_pages(answer, api)] == [
        api.replace("page=1", "page=2"),
        api.replace("page=1", "page=3"),
    ]
    assert further_pages(answer, api.replace("page=1", "page=2")) == []  # asked once, from 1
    assert gkmlpt.answer_pages('{"articles": [], "total": 0}', api) == []
    assert len(gkmlpt.answer_pages(answer.replace('"total": 5', '"total": "5.0"'), api)) == 2
    assert gkmlpt.answer_pages(answer.replace('"total": 5', '"total": 2'), api) == []
    assert gkmlpt.answer_pages("not json", api) == []


@pytest.mark.slow
def test_every_annual_report_of_a_gkmlpt_site_is_found_without_a_browser(tmp_path: Path):
    portals = Portals({}, [], [], [], [], [], [])
    portals.sites["gkmlpt"] = build_gkmlpt(portals)
    with SamplePortals(portals=portals) as served:
        result = nianbao("crawl", served.urls["gkmlpt"], "--data", str(tmp_path), *FAST)
        asked = [e.path for e in served.log]
        expected = served.expected["reports"]
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "/gzsw/gkmlpt/api/all/2629?page=2&sid=175" in asked
    assert "/gzsw/gkmlpt/static/js/list.js" not in asked  # no browser ran the page's script
    assert "browser/pages" not in result.stderr
    db = sqlite_utils.Database(tmp_path / "nianbao.db")
    assert db["reports"].count == len(expected) == 5
    for report in expected:
        (row,) = db.query("select * from reports where url = ?", [report["url"]])
        want, got = truth_cells(report["tables"]), stored_cells(db, row["id"])
        assert set(got) == set(want)
        assert all(same_value(got[key][0], value) for key, (value, _raw) in want.items())
