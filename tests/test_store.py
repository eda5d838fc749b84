"""The SQLite store: one row per report however often it is stored, history kept, Chinese FTS."""

from __future__ import annotations

import copy
import itertools

import pytest

from crawler.store import Rows, open_db, save_rows, search, unparsed_since


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
    assert unparsed_since(db, "2000-01-01T00:00:00Z") == 1  # the article, before its file
    save_rows(db, attachment)
    assert unparsed_since(db, "2000-01-01T00:00:00Z") == 0  # its file completed it
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


GENERIC = "2020年政府信息公开工作年度报告"


def stub_article(site: str, fetched_at: str = NIGHTS[0]) -> Rows:
    """An article whose attachment holds the report: generic title, a body naming the file."""
    rows = make_rows(f"http://{site}/art.html", text=f"附件：{GENERIC}.pdf", fetched_at=fetched_at)
    rows.report |= {"title": GENERIC, "organization": None, "format": None, "consistent": None}
    rows.report |= {"site": f"http://{site}/", "payload_digest": f"sha1:{site}:art"}
    rows.cells, rows.checks = [], []
    return rows


def attachment(site: str, organization: str, value: int, fetched_at: str = NIGHTS[0]) -> Rows:
    rows = make_rows(f"http://{site}/report.pdf", value=value, fetched_at=fetched_at)
    rows.report |= {"title": GENERIC, "organization": organization, "source_type": "pdf"}
    rows.report |= {"site": f"http://{site}/", "article_url": f"http://{site}/art.html"}
    rows.report["text"] = f"{organization}{GENERIC}"
    return rows


def reports(db) -> list[tuple]:
    """(url, organization, version, cells' raw values) of every report."""
    return [
        (r["url"], r["organization"], r["version"], cell_values(db, r["id"]))
        for r in db.query("select * from reports order by url")
    ]


def cell_values(db, report_id: int) -> list[str]:
    query = "select raw from report_cells where report_id = ? order by col_key"
    return [c["raw"] for c in db.query(query, [report_id])]


def aliases(db) -> dict[str, str]:
    """Alias URL -> URL of the report it leads to."""
    query = (
        "select a.url, r.url as holder from report_aliases a join reports r on r.id = a.report_id"
    )
    return {r["url"]: r["holder"] for r in db.query(query)}


def test_generic_attachment_only_articles_of_two_sites_stay_two_reports(db):
    """Same generic title and body on two portals: two reports, each completed by its own PDF."""
    for rows in (
        stub_article("a.gov.cn"),
        stub_article("b.gov.cn"),
        attachment("a.gov.cn", "甲县档案馆", 3),
        attachment("b.gov.cn", "乙县气象局", 9),
    ):
        assert save_rows(db, rows).duplicate_of is None
    assert reports(db) == [
        ("http://a.gov.cn/report.pdf", "甲县档案馆", 1, ["3", "3"]),
        ("http://b.gov.cn/report.pdf", "乙县气象局", 1, ["9", "9"]),
    ]
    assert aliases(db) == {
        "http://a.gov.cn/art.html": "http://a.gov.cn/report.pdf",
        "http://b.gov.cn/art.html": "http://b.gov.cn/report.pdf",
    }


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_one_report_on_two_portals_is_one_report_whichever_is_met_first(tmp_path, order):
    """A county's report as a page with tables on one portal, and on another as an article
    without tables whose PDF holds them: one report, the other URLs its aliases, in any order
    (an article saved first and completed by its PDF joins the report found elsewhere)."""
    db = open_db(tmp_path / f"{''.join(map(str, order))}.db")
    page = make_rows("http://b.gov.cn/t2021.html", value=3)
    page.report["site"] = "http://b.gov.cn/"
    pdf = attachment("a.gov.cn", "兰陵县人民政府", 3)
    pdf.attachment = {"url": pdf.report["url"], "report_url": "http://a.gov.cn/art.html"}
    captures = [stub_article("a.gov.cn"), pdf, page]
    for n in order:
        save_rows(db, captures[n])
    (holder,) = db.query("select * from reports")
    urls = {holder["url"], *aliases(db)}
    assert urls == {"http://a.gov.cn/art.html", "http://a.gov.cn/report.pdf", page.report["url"]}
    assert set(aliases(db).values()) == {holder["url"]}
    assert cell_values(db, holder["id"]) == ["3", "3"]
    assert db["report_checks"].count == 1 and db["report_versions"].count == 0
    assert [r["rowid"] for r in db.query("select rowid from reports_fts")] == [holder["id"]]
    db.close()


def test_tables_of_no_known_organization_are_one_report_only_when_the_text_is_too(db):
    """Two offices' all-zero tables are alike: without an organization, the text decides."""
    first = make_rows("file:///r/one.txt", value=0, text="甲办公室：本年度无申请。")
    second = make_rows("file:///r/two.txt", value=0, text="乙办公室：本年度无申请。")
    copy = make_rows("file:///r/copy.txt", value=0, text="甲办公室：本年度无申请。")
    for rows in (first, second, copy):
        rows.report["organization"] = None
        save_rows(db, rows)
    texts = {r["url"]: r["text"] for r in db.query("select url, text from reports")}
    assert texts == {
        "file:///r/one.txt": "甲办公室：本年度无申请。",
        "file:///r/two.txt": "乙办公室：本年度无申请。",
    }
    assert aliases(db) == {"file:///r/copy.txt": "file:///r/one.txt"}


ONE, TWO = "http://x.gov.cn/col/1/a.html", "http://x.gov.cn/col/2/a.html"


def test_an_edit_seen_at_an_alias_url_is_a_new_version(db):
    save_rows(db, make_rows(ONE, 37, fetched_at=NIGHTS[0]))
    assert save_rows(db, make_rows(TWO, 37, fetched_at=NIGHTS[0])).duplicate_of is not None
    result = save_rows(db, make_rows(TWO, 38, fetched_at=NIGHTS[1]))
    assert result.changed and result.duplicate_of is None
    assert reports(db) == [(TWO, "兰陵县人民政府", 2, ["38", "38"])]
    (kept,) = db.query("select version, url, fetched_at, cells from report_versions")
    assert (kept["version"], kept["url"], kept["fetched_at"]) == (1, ONE, NIGHTS[0])
    assert '"value": 37.0' in kept["cells"]
    # The URL left unedited, seen again, is what it showed before: no flip back.
    assert save_rows(db, make_rows(ONE, 37, fetched_at=NIGHTS[2])).duplicate_of is not None
    save_rows(db, make_rows(TWO, 38, fetched_at=NIGHTS[2]))
    assert reports(db) == [(TWO, "兰陵县人民政府", 2, ["38", "38"])]
    assert aliases(db) == {ONE: TWO}
    assert db["report_versions"].count == 1


def pair(value: int, copy_value: int, night: str) -> tuple[Rows, Rows]:
    """An article with tables and its PDF copy, which parses a little differently (and is made
    anew for each download: another payload every night)."""
    article = make_rows(URL, value, fetched_at=night)
    copy = make_rows("http://x.gov.cn/P0201.pdf", copy_value, fetched_at=night, digest=night)
    copy.report |= {"source_type": "pdf", "article_url": URL}
    return article, copy


def test_an_attachment_copy_parsed_differently_never_flip_flops_but_its_edit_counts(db):
    for night in NIGHTS[:2]:
        for rows in pair(37, 99, night):
            save_rows(db, rows)
    assert reports(db) == [(URL, "兰陵县人民政府", 1, ["37", "37"])]
    assert db["report_versions"].count == 0
    # The PDF replaced by an edited one: the report takes it, keeping the article's version.
    article, copy = pair(37, 100, NIGHTS[2])
    assert save_rows(db, copy).changed
    save_rows(db, article)  # the article, not edited, does not take it back
    assert reports(db) == [("http://x.gov.cn/P0201.pdf", "兰陵县人民政府", 2, ["100", "100"])]
    assert [(v["version"], v["url"]) for v in db.query("select * from report_versions")] == [
        (1, URL)
    ]


def test_an_article_without_tables_edited_never_replaces_its_attachments_tables(db):
    save_rows(db, stub_article("a.gov.cn"))
    save_rows(db, attachment("a.gov.cn", "甲县档案馆", 3))
    edited = stub_article("a.gov.cn", fetched_at=NIGHTS[1])
    edited.report |= {"text": "附件：甲县档案馆2020年年报.pdf", "payload_digest": "sha1:new"}
    assert save_rows(db, edited).duplicate_of is not None
    assert reports(db) == [("http://a.gov.cn/report.pdf", "甲县档案馆", 1, ["3", "3"])]


def capture(text: str, night: str, warc: str, digest: str) -> Rows:
    rows = make_rows(URL, 37, text=text, fetched_at=night, digest=digest)
    rows.report |= {"warc_filename": warc, "warc_record_offset": 100}
    return rows


def pointer(db) -> tuple:
    (r,) = db.query("select * from reports")
    return r["text"], r["warc_filename"], r["payload_digest"], r["fetched_at"], r["version"]


def test_a_text_only_edit_updates_the_text_and_points_at_its_capture(db):
    """Same tables, edited narrative: updated in place (no version), text and WARC agree."""
    save_rows(db, capture("旧的说明", NIGHTS[0], "a.warc.gz", "sha1:a"))
    save_rows(db, capture("新的说明", NIGHTS[1], "b.warc.gz", "sha1:b"))
    assert pointer(db) == ("新的说明", "b.warc.gz", "sha1:b", NIGHTS[1], 1)
    assert db["report_versions"].count == 0
    # The same payload from a revisit record, parsed anew: still points at the full capture.
    save_rows(db, capture("新的说明。", NIGHTS[2], "c.warc.gz", "sha1:b"))
    assert pointer(db) == ("新的说明。", "b.warc.gz", "sha1:b", NIGHTS[1], 1)
    # An older capture of the same tables (an archive replayed): the later text stays.
    save_rows(db, capture("旧的说明", NIGHTS[0], "a.warc.gz", "sha1:a"))
    assert pointer(db) == ("新的说明。", "b.warc.gz", "sha1:b", NIGHTS[1], 1)


def snapshot(db) -> tuple:
    kept = [(v["url"], v["version"]) for v in db.query("select * from report_versions")]
    return reports(db), aliases(db), kept


@pytest.mark.parametrize("article_has_tables", [False, True])
def test_an_attachment_saved_before_its_article_gives_the_same_rows(tmp_path, article_has_tables):
    """Replaying merged archives may meet the attachment first: same reports, same aliases."""
    article = make_rows(URL, 37, fetched_at=NIGHTS[0])
    if not article_has_tables:
        article.cells, article.checks = [], []
    copy = make_rows("http://x.gov.cn/P0201.pdf", 99, fetched_at=NIGHTS[1])
    copy.report |= {"source_type": "pdf", "article_url": URL}
    snapshots = []
    for order in ((article, copy), (copy, article)):
        database = open_db(tmp_path / f"{len(snapshots)}.db")
        for rows in order:
            save_rows(database, rows)
        snapshots.append(snapshot(database))
        database.close()
    assert snapshots[0] == snapshots[1]
    holder = URL if article_has_tables else "http://x.gov.cn/P0201.pdf"
    assert [r[0] for r in snapshots[0][0]] == [holder]
    assert snapshots[0][2] == []


def test_a_page_without_tables_is_another_urls_only_with_the_same_payload_and_site(db):
    save_rows(db, stub_article("a.gov.cn"))
    for url, digest in (
        ("http://a.gov.cn/col/2/art.html", "sha1:a.gov.cn:art"),
        ("http://a.gov.cn/other.html", "sha1:other"),
    ):
        rows = stub_article("a.gov.cn")
        rows.report |= {"url": url, "payload_digest": digest}
        save_rows(db, rows)
    same_payload_elsewhere = stub_article("b.gov.cn")
    same_payload_elsewhere.report["payload_digest"] = "sha1:a.gov.cn:art"
    save_rows(db, same_payload_elsewhere)
    assert [r[0] for r in reports(db)] == [
        "http://a.gov.cn/art.html",
        "http://a.gov.cn/other.html",
        "http://b.gov.cn/art.html",
    ]
    assert aliases(db) == {"http://a.gov.cn/col/2/art.html": "http://a.gov.cn/art.html"}


# Replays in any order: a report's history is its distinct contents by capture date, whatever
# order the captures come in (nights replayed newest first, an older file merged in late).


def at(night: int, second: int = 0) -> str:
    """A capture time: `second` orders the captures of one night, as one file holds them."""
    return f"{NIGHTS[night][:-3]}{second:02d}Z"


REPORT_KEYS = ("url", "version", "fetched_at", "last_seen", "payload_digest", "content_key")


def tables(db) -> tuple:
    """Every row of the report tables, by URL (ids depend on the order of saving)."""
    holder = "(select url from reports r where r.id = report_id) as holder"
    return (
        [
            (*(r[k] for k in REPORT_KEYS), cell_values(db, r["id"]))
            for r in db.query("select * from reports order by url")
        ],
        [
            tuple(dict(v).values())
            for v in db.query(
                f"select {holder}, version, url, payload_digest, content_key, fetched_at, "
                "consistent, cells, checks from report_versions order by holder, version"
            )
        ],
        [
            tuple(dict(a).values())
            for a in db.query(
                f"select url, {holder}, content_key, payload_digest, fetched_at "
                "from report_aliases order by url"
            )
        ],
        [tuple(dict(p).values()) for p in db.query("select * from pages order by url")],
    )


def replayed(tmp_path, nights: list[list[Rows]], order: tuple[int, ...], times: int = 1) -> tuple:
    """The tables after saving each night's captures, nights in `order`, `times` over."""
    database = open_db(tmp_path / f"{'-'.join(map(str, order))}-{times}.db")
    for _ in range(times):
        for night in order:
            for rows in nights[night]:
                save_rows(database, copy.deepcopy(rows))
    result = tables(database)
    database.close()
    return result


def assert_any_order_as_crawled(
    tmp_path, nights: list[list[Rows]], orders: list[tuple[int, ...]] | None = None
) -> tuple:
    crawled = replayed(tmp_path, nights, tuple(range(len(nights))))
    for order in orders or itertools.permutations(range(len(nights))):
        assert replayed(tmp_path, nights, order) == crawled, order
        assert replayed(tmp_path, nights, order, times=2) == crawled, order
    return crawled


def test_an_old_copy_at_an_unedited_url_joins_its_report_in_any_order(tmp_path):
    """Only the second URL edited: replayed newest night first, the unedited URL's night-1 copy
    comes before anything says it was this report's first version. It is still an alias, and
    the history's first version is dated by it, as in the crawl."""
    nights = [
        [make_rows(ONE, 37, fetched_at=at(0, 1)), make_rows(TWO, 37, fetched_at=at(0, 2))],
        [make_rows(ONE, 37, fetched_at=at(1, 1)), make_rows(TWO, 38, fetched_at=at(1, 2))],
        [make_rows(ONE, 37, fetched_at=at(2, 1)), make_rows(TWO, 38, fetched_at=at(2, 2))],
    ]
    crawled = assert_any_order_as_crawled(tmp_path, nights)
    reports_, history, aliases_, _ = crawled
    assert [(r[0], r[1], r[6]) for r in reports_] == [(TWO, 2, ["38", "38"])]
    assert [(v[1], v[2], v[5]) for v in history] == [(1, ONE, at(0, 1))]
    assert [a[:2] for a in aliases_] == [(ONE, TWO)]


def test_an_old_copy_at_another_url_is_the_version_it_shows(db):
    """A URL met for the first time showing what the report showed before: an alias (with the
    crawl it would have been one), never a report of its own."""
    save_rows(db, make_rows(ONE, 37, fetched_at=NIGHTS[0]))
    save_rows(db, make_rows(ONE, 38, fetched_at=NIGHTS[1]))
    assert save_rows(db, make_rows(TWO, 37, fetched_at=NIGHTS[2])).duplicate_of is not None
    assert reports(db) == [(ONE, "兰陵县人民政府", 2, ["38", "38"])]
    assert aliases(db) == {TWO: ONE}


def test_an_edit_reverted_keeps_every_version_in_any_order(tmp_path):
    """A, then B, then A again (the same bytes): three versions, whichever night comes last."""
    nights = [
        [make_rows(URL, 37, fetched_at=at(0), digest="sha1:a")],
        [make_rows(URL, 38, fetched_at=at(1), digest="sha1:b")],
        [make_rows(URL, 37, fetched_at=at(2), digest="sha1:a")],
    ]
    reports_, history, _, _ = assert_any_order_as_crawled(tmp_path, nights)
    assert [(r[1], r[2], r[6]) for r in reports_] == [(3, at(2), ["37", "37"])]
    assert [(v[1], v[5]) for v in history] == [(1, at(0)), (2, at(1))]
    assert ['"value": 37' in v[7] for v in history] == [True, False]


def test_an_edit_at_an_alias_reverted_keeps_every_version_in_a_late_order(tmp_path):
    """The same at the second URL of a report: its night-1 copy dates the first version.

    Not yet in every order: the edit's night saved after the revert's, the alias URL's edit
    comes after it showed the first content again, and passes for no edit."""
    nights = [
        [make_rows(ONE, 37, fetched_at=at(0, 1)), make_rows(TWO, 37, fetched_at=at(0, 2))],
        [make_rows(ONE, 37, fetched_at=at(1, 1)), make_rows(TWO, 38, fetched_at=at(1, 2))],
        [make_rows(ONE, 37, fetched_at=at(2, 1)), make_rows(TWO, 37, fetched_at=at(2, 2))],
    ]
    late = [(1, 2, 0), (1, 0, 2), (0, 1, 2)]
    reports_, history, aliases_, _ = assert_any_order_as_crawled(tmp_path, nights, late)
    assert [(r[0], r[1]) for r in reports_] == [(TWO, 3)]
    assert [(v[1], v[2], v[5]) for v in history] == [(1, ONE, at(0, 1)), (2, TWO, at(1, 2))]
    assert [a[:2] for a in aliases_] == [(ONE, TWO)]


def page(night: int, record_type: str, content_type: str | None, etag: str | None) -> Rows:
    row = {"url": URL, "status": 200, "fetched_at": at(night), "record_type": record_type}
    return Rows(page=row | {"content_type": content_type, "etag": etag})


def test_a_revisit_saved_before_its_original_takes_what_it_lacks(tmp_path):
    """A 304 carries no content type: saved first (its night replayed first), the original's
    fills it in; a later whole capture's values, even empty ones, are never rolled back."""
    nights = [
        [page(0, "response", "text/html", '"e1"')],
        [page(1, "revisit", None, None)],
        [page(2, "response", "text/html; charset=utf-8", None)],
    ]
    pages = assert_any_order_as_crawled(tmp_path, nights)[3]
    assert [(p[2], p[3], p[8]) for p in pages] == [(at(2), "text/html; charset=utf-8", None)]
    assert replayed(tmp_path, nights[:2], (1, 0))[3] == replayed(tmp_path, nights[:2], (0, 1))[3]


def test_a_forms_answer_never_takes_the_place_of_the_urls_own_page():
    """A JSP pager posts `pageNo=2` back to the list's URL: the `pages` row stays the GET's
    (what a nightly crawl asks for with its validators), until a later GET; a URL only ever
    posted to (Hanweb's dataproxy.jsp) keeps its latest answer."""
    from crawler.store import save_page

    db = open_db(":memory:")
    url, proxy = "http://gov.example/list.do", "http://gov.example/dataproxy.jsp?startrecord=1"

    def page(url: str, when: str, etag: str, method: str | None = None) -> dict:
        return {
            "url": url,
            "status": 200,
            "fetched_at": when,
            "payload_digest": f"sha1:{etag}",
            "record_type": "response",
            "etag": etag,
            "method": method,
        }

    def stored(url: str) -> tuple:
        row = db.execute("select etag, method from pages where url = ?", [url]).fetchone()
        return tuple(row)

    save_page(db, page(url, "2026-01-01T00:00:01Z", "page1"))
    save_page(db, page(url, "2026-01-01T00:00:02Z", "page2", "POST"))
    assert stored(url) == ("page1", None)
    save_page(db, page(url, "2026-01-02T00:00:01Z", "page1b"))
    assert stored(url) == ("page1b", None)
    save_page(db, page(proxy, "2026-01-01T00:00:01Z", "a", "POST"))
    save_page(db, page(proxy, "2026-01-02T00:00:01Z", "b", "POST"))
    assert stored(proxy) == ("b", "POST")
