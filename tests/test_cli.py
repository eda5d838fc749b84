"""The command line: `nianbao parse` exit codes and storage, help and version, site lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from crawler.cli import cli, read_sites
from crawler.sample_portals import Style, generated_spec, inhouse_article, report_body
from tests.helpers import SEEDS, load_truth, nianbao


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_version_and_help(runner: CliRunner):
    assert runner.invoke(cli, ["--version"]).output.startswith("nianbao, version ")
    result = runner.invoke(cli, ["--help"])
    for command in ("crawl", "harvest", "replay", "parse", "demo", "browse"):
        assert command in result.output


def test_every_command_is_in_the_readme(runner: CliRunner):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for name, command in cli.commands.items():
        assert f"nianbao {name}" in readme, name
        assert command.help, name


def test_parse_seed_prints_json_and_exits_0(runner: CliRunner):
    seed = SEEDS / "004_7f5a90e893934992.txt"
    result = runner.invoke(cli, ["parse", str(seed)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    truth = load_truth()["004_7f5a90e893934992.txt"]
    assert data["organization"] == truth["organization"]
    assert data["year"] == truth["year"]
    assert data["format"] == truth["format"]
    assert data["consistent"] == 1
    cell = next(
        c
        for c in data["cells"]
        if (c["row_key"], c["col_key"]) == ("procurement", "procurement_amount")
    )
    assert cell == {
        "section": "active",
        "row_key": "procurement",
        "col_key": "procurement_amount",
        "value": 278800,
        "raw": "27.88亿",
    }
    assert {c["check"] for c in data["checks"]} >= {"requests.balance[total]"}


def test_parse_twice_into_db_keeps_one_report(runner: CliRunner, tmp_path: Path):
    seed = SEEDS / "001_b48d038ea651e507.txt"
    db_path = tmp_path / "p.db"
    for _ in range(2):
        assert runner.invoke(cli, ["parse", str(seed), "--db", str(db_path)]).exit_code == 0
    db = sqlite_utils.Database(db_path)
    (row,) = list(db.query("select id, url, source_type from reports"))
    assert row["url"] == seed.resolve().as_uri() and row["source_type"] == "text"
    cells = db["report_cells"].count
    assert cells == len(json.loads(runner.invoke(cli, ["parse", str(seed)]).output)["cells"])


def test_parse_without_tables_exits_1(runner: CliRunner, tmp_path: Path):
    page = tmp_path / "notice.html"
    page.write_text(
        "<html><title>关于做好2020年政府信息公开工作年度报告编制发布工作的通知</title>"
        "<body><p>各单位：请按时发布。</p></body></html>",
        encoding="utf-8",
    )
    result = runner.invoke(cli, ["parse", str(page)])
    assert result.exit_code == 1
    assert json.loads(result.output)["cells"] == []


@pytest.mark.parametrize(
    ("name", "content"),
    [("missing.txt", None), ("garbage.txt", bytes(range(256)) * 64), ("report.pdf", b"%PDF-1.4")],
)
def test_parse_unreadable_input_exits_2_with_a_reason(
    runner: CliRunner, tmp_path: Path, name, content
):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(cli, ["parse", str(path)])
    assert result.exit_code == 2
    assert f"nianbao parse: {path}:" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_python_dash_m_crawler_works():
    result = nianbao("--version")
    assert result.returncode == 0 and "nianbao" in result.stdout


def test_site_list_file(tmp_path: Path):
    sites = tmp_path / "sites.tsv"
    sites.write_text(
        "# comment\n兰州市人民政府\thttp://www.lanzhou.gov.cn/\t甘肃省\n"
        "http://www.changle.gov.cn/\n"
        "脚本站\thttp://js.example.gov.cn/\t\tbrowser\tnote\n"
        "无搜索\thttp://ns.example.gov.cn/\t\tnote,nosearch\n",
        encoding="utf-8",
    )
    assert read_sites(sites) == [
        {"name": "兰州市人民政府", "url": "http://www.lanzhou.gov.cn/", "region": "甘肃省"},
        {"name": "http://www.changle.gov.cn/", "url": "http://www.changle.gov.cn/", "region": ""},
        {"name": "脚本站", "url": "http://js.example.gov.cn/", "region": "", "browser": True},
        {"name": "无搜索", "url": "http://ns.example.gov.cn/", "region": "", "search": False},
    ]
    bundled = read_sites(None)
    names = {s["name"] for s in bundled}
    assert {
        "兰陵县人民政府",
        "昌乐县人民政府",
        "临沂市兰山区人民政府",
        "微山县人民政府",
        "兰州市人民政府",
    } <= names


def test_second_run_on_a_locked_data_folder_exits_3(tmp_path: Path):
    from crawler.run import DataPaths, data_lock

    data = tmp_path / "data"
    with data_lock(DataPaths(data)):
        result = nianbao("crawl", "http://127.0.0.1:9/", "--data", str(data))
        replay = nianbao("replay", str(tmp_path), "--data", str(data))
    assert result.returncode == 3
    assert "another nianbao run is using" in result.stderr
    assert replay.returncode == 3, replay.stdout + replay.stderr  # a nightly merge, likewise
    assert "another nianbao run is using" in replay.stderr


def test_parse_into_a_file_that_is_not_a_database_exits_2(runner: CliRunner, tmp_path: Path):
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_bytes(b"my notes, not SQLite\n" * 100)
    result = runner.invoke(
        cli, ["parse", str(SEEDS / "001_b48d038ea651e507.txt"), "--db", str(not_a_db)]
    )
    assert result.exit_code == 2
    assert result.output.startswith(f"nianbao parse: --db {not_a_db}: file is not a database")
    assert len(result.output.strip().splitlines()) == 1  # a reason, no traceback, no JSON
    assert not_a_db.read_bytes() == b"my notes, not SQLite\n" * 100


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig", "gb18030"])
def test_parse_reads_text_saved_with_a_bom_or_in_gb18030(
    runner: CliRunner, tmp_path: Path, encoding: str
):
    seed = SEEDS / "004_7f5a90e893934992.txt"
    text = seed.read_text(encoding="utf-8")
    saved = tmp_path / "report.txt"
    bom = {"utf-16-be": b"\xfe\xff"}.get(encoding, b"")  # Python writes LE/UTF-32 BOMs itself
    saved.write_bytes(bom + text.encode(encoding))
    result = runner.invoke(cli, ["parse", str(saved)])
    assert result.exit_code == 0, result.output
    assert result.output == runner.invoke(cli, ["parse", str(seed)]).output


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_parse_reads_a_page_saved_as_utf16(runner: CliRunner, tmp_path: Path, encoding: str):
    """A report page saved by a Windows editor or Word ("Unicode"): UTF-16 with a BOM, its
    `<meta charset>` still saying utf-8. The same cells and text as the UTF-8 page."""
    spec = generated_spec("inhouse", "/nb.html", "示例县人民政府", 2022, 3)
    page = inhouse_article(spec.title, report_body(spec, Style(seed=3)), "2023-01-20")
    plain, saved = tmp_path / "utf8" / "nb.html", tmp_path / encoding / "nb.html"
    for path in (plain, saved):
        path.parent.mkdir()
    plain.write_text(page, encoding="utf-8")
    bom = {"utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    saved.write_bytes(bom + page.encode(encoding))
    results = [runner.invoke(cli, ["parse", str(p), "--db", f"{p}.db"]) for p in (plain, saved)]
    assert [r.exit_code for r in results] == [0, 0], results[1].output
    want, got = (json.loads(r.output) for r in results)
    assert got["organization"] == "示例县人民政府" and got["year"] == 2022
    assert got["cells"] == want["cells"] and len(got["cells"]) > 100
    texts = [
        [row["text"] for row in sqlite_utils.Database(f"{p}.db").query("select text from reports")]
        for p in (plain, saved)
    ]
    assert texts[0] == texts[1] and texts[1][0].startswith("本报告根据《中华人民共和国政府信息")


def test_a_mistyped_portal_url_is_a_usage_error_before_anything_starts(
    runner: CliRunner, tmp_path: Path
):
    """Exit 2 with the reason, no traceback, nothing crawled: a bad URL used to end the start
    requests there (the portals after it were never crawled), an empty site list crashed."""
    data = tmp_path / "data"
    result = runner.invoke(
        cli, ["crawl", "http://127.0.0.1:9/", "example.com", "--data", str(data)]
    )
    assert result.exit_code == 2
    assert "not a portal URL (http:// or https://): 'example.com'" in result.output
    result = runner.invoke(cli, ["harvest", "ftp://example.com/", "--data", str(data)])
    assert result.exit_code == 2 and "not a portal URL" in result.output
    empty = tmp_path / "sites.tsv"
    empty.write_text("# our portals\n\n", encoding="utf-8")
    result = runner.invoke(cli, ["crawl", "--sites", str(empty), "--data", str(data)])
    assert result.exit_code == 2 and "no portal in this site list" in result.output
    assert not data.exists()  # nothing started
