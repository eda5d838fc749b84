"""Clean text of article pages: the CMS's own container, without the portal around it.

The pages in tests/pages are saved gov.cn article pages (shared/corpus/raw, see MANIFEST.tsv):
real markup, body text possibly edited by whoever saved them, so only the structure counts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.extract import article_text, clean_text, decode_html
from crawler.layouts import article_body
from crawler.sample_portals import (
    Style,
    generated_spec,
    hanweb_article,
    link_list,
    report_body,
)

PAGES = Path(__file__).parent / "pages"

# page -> (a sentence of the article, portal text around it that must be left out)
SAVED = {
    "hanweb_zj_jyt_art.html": ("师德师风建设专题培训班在浙江大学紫金港校区举办", "索引号"),
    "trs_beijing_jw_art.html": ("两地20所高校成立京港大学联盟", "扫一扫分享本页"),
    "ucap_sc_gov_art.html": ("现答复如下", "复函\n"),
    "inhouse_shanghai_wsjkw_art.html": ("各区卫生健康委", "( 2024-05-11)"),
}


@pytest.mark.parametrize("name", sorted(SAVED))
def test_saved_pages_give_their_article_without_the_portal(name: str) -> None:
    body = (PAGES / name).read_bytes()
    html, _ = decode_html(body)
    sentence, chrome = SAVED[name]
    whole, article = clean_text(body), article_text(body, html)
    assert sentence in article and sentence in whole
    assert chrome in whole and chrome not in article


def test_a_report_keeps_every_table_and_loses_the_related_reading_list() -> None:
    spec = generated_spec("hanweb", "/art/2022/3/1/art_120_1.html", "兰州市教育局", 2021, 7)
    page = hanweb_article(
        spec.title, report_body(spec, Style(seed=4, word=True)), "2022-03-01", "兰州", "年报"
    )
    related = "<div class='xgyd'>相关阅读" + link_list([("/a.html", "市政府常务会议")]) + "</div>"
    page = page.replace("</body>", related + "</body>")
    text = article_text(page.encode(), page)
    assert text.startswith("本报告根据《中华人民共和国政府信息公开条例》编制")
    assert "相关阅读" not in text and "市政府常务会议" not in text
    for heading in ("二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况", "六、其他"):
        assert heading in text
    assert text.count("|") > 100  # the tables, as rows of cells


def test_a_body_split_in_two_containers_is_kept_whole() -> None:
    html = (
        "<html><body><div class='nav'>首页 政务公开</div>"
        "<div class='TRS_Editor'><p>第一部分正文，共有两段。</p></div>"
        "<div class='ad'>广告位</div>"
        "<div class='TRS_Editor'><p>第二部分正文，在广告之后。</p>"
        "<div class='TRS_Editor'><p>内层不重复。</p></div></div></body></html>"
    )
    body = article_body(html)
    assert body is not None
    assert "广告位" not in body and "首页" not in body
    assert body.index("第一部分") < body.index("第二部分")
    assert body.count("内层不重复") == 1


def test_a_page_without_a_known_container_is_read_whole() -> None:
    html = "<html><body><div class='main'><p>" + "正文内容。" * 40 + "</p></div></body></html>"
    assert article_body(html) is None
    assert article_text(html.encode(), html) == clean_text(html.encode())
    assert article_body("") is None
