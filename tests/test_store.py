"""The SQLite store: one row per report however often it is stored, history kept, Chinese FTS."""

from __future__ import annotations

import pytest

from crawler.store import Rows, open_db, save_rows, search


def make_rows(
    url: str,
    value: int = 37,
    text: str = "兰陵县人民政府2020年政府信息公开工作年度报告",
    fetched_at: str = "2026-11-22T00:00:00Z",
    digest: str | None = None,
) -> Rows:
    return Rows(
        page={"url": url, "status": 200, "fetched_at": fetched_at},
        report={
            "url": url,
            "title": "兰陵县人民政府2020年政府信息公开工作年度报告",
            "organization": "兰陵县人民政府",
            "year": 2020,
            "format": "2019",
            "source_type": "html",
            "text": text,
            "consistent": 1,
            "fetched_at": fetched_at,
            "payload_digest": digest or f"sha1:{value}",
        },
        cells=[
            {
                "section": "requests",
                "row_key": "new",
                "col_key": "total",
                "value": value,
                "raw": str(value),
            },
            {
                "section": "requests",
                "row_key": "new",
                "col_key": "natural_person",
                "value": value,
                "raw": str(value),
            },
        ],
        checks=[{"check": "requests.row_total[new]", "ok": 1, "detail": "37 == 37"}],
    )


@pytest.fixture
def db(tmp_path):
    database = open_db(tmp_path / "nianbao.db")
    yield database
    database.close()


def test_storing_twice_keeps_one_report_and_replaces_cells(db):
    first = save_rows(db, make_rows("http://x.gov.cn/a.html"))
    second = save_rows(db, make_rows("http://x.gov.cn/a.html"))
    assert first.new and not second.new and not second.changed
    assert db["reports"].count == 1
    assert db["report_cells"].count == 2
    assert db["report_checks"].count == 1
    assert db["pages"].count == 1


def test_edited_report_updates_cells_and_keeps_history(db):
    save_rows(db, make_rows("http://x.gov.cn/a.html", value=37))
    result = save_rows(db, make_rows("http://x.gov.cn/a.html", value=38))
    assert result.changed
    values = {r["value"] for r in db.query("select value from report_cells")}
    assert values == {38}
    (version,) = list(db.query("select version, cells from report_versions"))
    assert version["version"] == 1 and '"value": 37' in version["cells"]
    assert next(db.query("select version from reports"))["version"] == 2


def history(db) -> list[tuple]:
    return [
        (r["version"], r["fetched_at"], r["cells"].count(":"))
        for r in db.query("select * from report_versions order by version")
    ]


def current(db) -> tuple:
    report = next(db.query("select * from reports"))
    values = sorted({r["value"] for r in db.query("select value from report_cells")})
    return report["version"], report["fetched_at"], report["last_seen"], values


NIGHTS = ["2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z"]
URL = "http://x.gov.cn/a.html"


def test_an_archive_saved_again_adds_no_version(db):
    """Replaying a crawl's archive into its own database (or twice into one): no new history,
    and the date last seen never goes back."""
    archive = [make_rows(URL, 37, fetched_at=NIGHTS[0]), make_rows(URL, 38, fetched_at=NIGHTS[1])]
    archive.append(make_rows(URL, 38, fetched_at=NIGHTS[2]))
    for rows in archive:
        save_rows(db, rows)
    before = (history(db), current(db))
    assert before[1] == (2, NIGHTS[1], NIGHTS[2], [38])
    for rows in archive:
        result = save_rows(db, rows)
        assert not result.new and not result.changed
        assert current(db)[2] == NIGHTS[2]
    assert (history(db), current(db)) == before
    assert [v[:2] for v in history(db)] == [(1, NIGHTS[0])]


def test_an_old_version_parsed_anew_updates_its_history(db):
    """A parser improvement reaches old versions: same payload, new reading, history updated."""
    save_rows(db, make_rows(URL, 37, fetched_at=NIGHTS[0], digest="sha1:old"))
    save_rows(db, make_rows(URL, 38, fetched_at=NIGHTS[1]))
    save_rows(db, make_rows(URL, 36, fetched_at=NIGHTS[0], digest="sha1:old"))
    (old,) = list(db.query("select version, cells from report_versions"))
    assert old["version"] == 1 and '"value": 36' in old["cells"] and "37" not in old["cells"]
    assert current(db) == (2, NIGHTS[1], NIGHTS[1], [38])


def test_an_earlier_version_never_seen_joins_the_history_in_date_order(db):
    """Merging another worker's archive that saw a version this database missed."""
    save_rows(db, make_rows(URL, 37, fetched_at=NIGHTS[0]))
    save_rows(db, make_rows(URL, 39, fetched_at=NIGHTS[2]))
    result = save_rows(db, make_rows(URL, 38, fetched_at=NIGHTS[1]))
    assert not result.new and not result.changed
    versions = list(db.query("select version, fetched_at, cells from report_versions order by 1"))
    assert [(v["version"], v["fetched_at"]) for v in versions] == [(1, NIGHTS[0]), (2, NIGHTS[1])]
    assert '"value": 37' in versions[0]["cells"] and '"value": 38' in versions[1]["cells"]
    assert current(db) == (3, NIGHTS[2], NIGHTS[2], [39])


def test_same_report_under_two_urls_is_one_report(db):
    save_rows(db, make_rows("http://x.gov.cn/col/1/a.html"))
    result = save_rows(db, make_rows("http://x.gov.cn/col/2/a.html"))
    assert result.duplicate_of is not None
    assert db["reports"].count == 1
    aliases = [r["url"] for r in db.query("select url from report_aliases")]
    assert aliases == ["http://x.gov.cn/col/2/a.html"]


def test_fts_finds_three_character_chinese_phrase(db):
    save_rows(db, make_rows("http://x.gov.cn/a.html", text="本年度依申请公开工作平稳有序"))
    save_rows(db, make_rows("http://x.gov.cn/b.html", value=5, text="主动公开政府信息"))
    hits = search(db, "依申请")
    assert [h["url"] for h in hits] == ["http://x.gov.cn/a.html"]
    assert search(db, "不存在的词") == []
    # two characters: below the trigram length, answered by LIKE
    assert [h["url"] for h in search(db, "平稳")] == ["http://x.gov.cn/a.html"]


def test_default_unicode61_tokenizer_would_find_nothing(tmp_path):
    """Why trigram: the default tokenizer treats a run of Chinese as one token."""
    database = open_db(tmp_path / "plain.db")
    database["t"].insert({"id": 1, "text": "本年度依申请公开工作平稳有序"}, pk="id")
    database["t"].enable_fts(["text"])
    assert list(database["t"].search("依申请")) == []


def test_attachment_completes_an_article_without_tables(db):
    article = make_rows("http://x.gov.cn/a.html")
    article.cells, article.checks = [], []
    save_rows(db, article)
    attachment = make_rows("http://x.gov.cn/P0201.pdf")
    attachment.report["source_type"] = "pdf"
    attachment.report["article_url"] = "http://x.gov.cn/a.html"
    save_rows(db, attachment)
    (report,) = list(db.query("select id, url, source_type from reports"))
    assert report["url"] == "http://x.gov.cn/P0201.pdf" and report["source_type"] == "pdf"
    assert db["report_cells"].count == 2
    aliases = {r["url"]: r["report_id"] for r in db.query("select * from report_aliases")}
    assert aliases == {"http://x.gov.cn/a.html": report["id"]}


def test_attachment_copy_of_an_article_with_tables_is_an_alias(db):
    save_rows(db, make_rows("http://x.gov.cn/a.html"))
    attachment = make_rows("http://x.gov.cn/P0201.docx", value=99)
    attachment.report["article_url"] = "http://x.gov.cn/a.html"
    result = save_rows(db, attachment)
    assert result.duplicate_of is not None
    assert [r["url"] for r in db.query("select url from reports")] == ["http://x.gov.cn/a.html"]
