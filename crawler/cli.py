"""The `nianbao` command line: parse options, call the library, map outcomes to exit codes."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from crawler import __version__
from crawler.run import EXIT_FAILED, EXIT_USAGE, DataPaths, run_spider

CONTEXT = {"help_option_names": ["-h", "--help"]}


@dataclass
class RunOptions:
    """The options every crawling command shares."""

    paths: DataPaths
    verbose: bool = False
    log_file: str | None = None
    settings: dict[str, str] = field(default_factory=dict)

    def run(
        self,
        command: str,
        spider: str,
        spider_args: dict[str, Any],
        defaults: dict[str, Any] | None = None,
    ) -> int:
        """Run a spider; `-s` settings win over the command's own defaults."""
        overrides = {**(defaults or {}), **self.settings}
        return run_spider(
            command, spider, self.paths, spider_args, overrides, self.verbose, self.log_file
        )


def setting_overrides(pairs: tuple[str, ...]) -> dict[str, str]:
    """`-s NAME=VALUE` pairs as a settings dict (Scrapy converts types when read)."""
    overrides = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.UsageError(f"-s expects NAME=VALUE, got {pair!r}")
        overrides[name.strip()] = value
    return overrides


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--data, -v/--verbose, --log-file and -s, folded into one `opts: RunOptions` argument."""

    @click.option(
        "--data",
        "data",
        default="data",
        show_default=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Data folder.",
    )
    @click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
    @click.option("--log-file", type=click.Path(dir_okay=False), help="Write the log here.")
    @click.option(
        "-s",
        "--set",
        "settings",
        multiple=True,
        metavar="NAME=VALUE",
        help="Override a Scrapy/nianbao setting (repeatable).",
    )
    @functools.wraps(func)
    def wrapper(
        *args: Any,
        data: Path,
        verbose: bool,
        log_file: str | None,
        settings: tuple[str, ...],
        **kwargs: Any,
    ) -> Any:
        opts = RunOptions(DataPaths(data), verbose, log_file, setting_overrides(settings))
        return func(*args, opts=opts, **kwargs)

    return wrapper


def refresh_option(default: float) -> Callable[..., Any]:
    """--refresh-days: how long a known report, attachment or article goes unchecked."""
    return click.option(
        "--refresh-days",
        type=click.FloatRange(min=0),
        default=default,
        show_default=True,
        metavar="DAYS",
        help="Known reports, attachments and articles are not asked for again for DAYS to "
        "1.5×DAYS after they were fetched (spread by URL, so they do not all come due on one "
        "night), nor dead links; then conditionally (0: every run). List pages: every run.",
    )


def crawl_defaults(refresh_days: float, max_pages: int) -> dict[str, Any]:
    """The settings --refresh-days and --max-pages stand for (`-s` still overrides them)."""
    defaults: dict[str, Any] = {"NIANBAO_REFRESH_DAYS": refresh_days}
    if max_pages:
        defaults["CLOSESPIDER_PAGECOUNT"] = max_pages
    return defaults


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="nianbao")
def cli() -> None:
    """Crawl, archive and parse Chinese government information-disclosure annual reports."""


def read_sites(path: Path | None) -> list[dict[str, str]]:
    """A site list: one portal per line, `name<TAB>url[<TAB>region[<TAB>more…]]`.

    `#` starts a comment; a bare URL on a line works too. Further fields are notes (the bundled
    list gives each portal's source there), except the option word `browser`: every list page
    of that portal is rendered in the headless browser (for portals whose lists are built by
    script in ways the page itself does not show). Without a path, the bundled list.
    """
    text = (
        path.read_text(encoding="utf-8")
        if path is not None
        else files("crawler").joinpath("sites.tsv").read_text(encoding="utf-8")
    )
    sites = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in line.split("\t")] if "\t" in line else line.split()
        if len(fields) == 1:
            fields = [fields[0], fields[0]]
        name, url = fields[0], portal_url(fields[1], where=f"{path or 'sites.tsv'}: ")
        options = {word.strip() for field in fields[3:] for word in field.split(",")}
        site = {"name": name, "url": url, "region": fields[2] if len(fields) > 2 else ""}
        if "browser" in options:
            site["browser"] = True
        if "nosearch" in options:
            site["search"] = False
        sites.append(site)
    if not sites:
        raise click.UsageError(f"{path}: no portal in this site list")
    return sites


def portal_url(url: str, where: str = "") -> str:
    """A portal's URL as given, once it is one (http or https, with a host): a mistyped one is
    a usage error before anything starts, not a traceback or a crawl that stops halfway."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.UsageError(f"{where}not a portal URL (http:// or https://): {url!r}")
    return url


@cli.command()
@click.argument("urls", nargs=-1)
@click.option(
    "--sites",
    "sites_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Site list file (name<TAB>url<TAB>region per line; `browser` in a further field).",
)
@click.option("--max-pages", type=int, default=0, help="Stop after this many pages (0: no limit).")
@click.option(
    "--redis",
    "redis_url",
    metavar="URL",
    help="Share the queue and seen-set with other workers (scrapy-redis), e.g. "
    "redis://127.0.0.1:6379/0.",
)
@click.option(
    "--redis-run",
    metavar="NAME",
    help="With --redis: the run the workers share (default: today's UTC date, so every worker "
    "started the same night joins one run and the next night starts clean).",
)
@refresh_option(default=7)
@common_options
def crawl(
    urls: tuple[str, ...],
    sites_file: Path | None,
    max_pages: int,
    redis_url: str | None,
    redis_run: str | None,
    refresh_days: float,
    opts: RunOptions,
) -> None:
    """The scheduled (nightly) job: find, archive and parse every annual report of the portals."""
    sites = [{"name": u, "url": portal_url(u), "region": ""} for u in urls]
    sites = sites or read_sites(sites_file)
    defaults = crawl_defaults(refresh_days, max_pages)
    if redis_url:
        from crawler.distributed.keys import distributed_settings

        defaults.update(distributed_settings(redis_url, redis_run))
    sys.exit(opts.run("crawl", "portals", {"sites": sites}, defaults))


@cli.command()
@click.argument("url")
@click.option("--max-pages", type=int, default=0, help="Stop after this many pages (0: no limit).")
@refresh_option(default=0)
@common_options
def harvest(url: str, max_pages: int, refresh_days: float, opts: RunOptions) -> None:
    """One-off harvest of one site: archive every in-scope page, process its reports."""
    defaults = crawl_defaults(refresh_days, max_pages)
    sys.exit(opts.run("harvest", "site", {"url": portal_url(url)}, defaults))


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Processes that parse in parallel (default: one per core, at most 8; 1: none).",
)
@click.option(
    "--reparse",
    is_flag=True,
    help="Parse every file again, even those this database holds under the same parser.",
)
@common_options
def replay(paths: tuple[Path, ...], jobs: int | None, reparse: bool, opts: RunOptions) -> None:
    """Rebuild pages, reports, cells and checks from WARC files or folders alone.

    Files already replayed whole into this database, by the same parser, are read but not
    parsed again; a parser change (or --reparse) parses everything.
    """
    from crawler.replay import replay_paths
    from crawler.run import EXIT_LOCKED, DataFolderLocked

    try:
        summary = replay_paths(list(paths), opts.paths, opts.verbose, jobs, reparse)
    except DataFolderLocked as exc:
        click.echo(f"nianbao: {exc}; not starting", err=True)
        sys.exit(EXIT_LOCKED)
    for line in summary.lines():
        click.echo(line)
    sys.exit(summary.exit_status())


# The data folder of the commands that only read it (the crawling ones take it in RunOptions).
data_option = click.option(
    "--data",
    "data",
    default="data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Data folder.",
)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also store the report in this SQLite database.",
)
def parse(file: Path, db_path: Path | None) -> None:
    """Parse one saved report (HTML, text, PDF, DOCX, DOC, WPS, XLSX, XLS) and print JSON."""
    from crawler.parsefile import UnreadableInput, UnusableDatabase, parse_file, store_parsed

    try:
        report, text = parse_file(file)
    except UnreadableInput as exc:
        click.echo(f"nianbao parse: {file}: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if db_path is not None:  # stored first: a bad --db is bad input, with nothing printed
        try:
            store_parsed(db_path, file, report, text)
        except UnusableDatabase as exc:
            click.echo(f"nianbao parse: --db {db_path}: {exc}", err=True)
            sys.exit(EXIT_USAGE)
    click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=1))
    sys.exit(0 if report.cells else EXIT_FAILED)


@cli.command()
@data_option
@click.option("--port", type=int, default=8080, show_default=True)
def browse(data: Path, port: int) -> None:
    """Browse the archived pages in pywb (its own venv), on 127.0.0.1."""
    from crawler.browse import NoArchive, PywbMissing, serve

    try:
        sys.exit(serve(data, port=port))
    except PywbMissing as exc:
        raise click.ClickException(str(exc)) from exc
    except NoArchive as exc:
        raise click.UsageError(str(exc)) from exc


@cli.command()
@data_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The WACZ file to write (default: DATA/nianbao.wacz).",
)
def wacz(data: Path, output: Path | None) -> None:
    """Package the archive as one WACZ file (WARCs, index, report pages), validated."""
    from crawler.browse import PywbMissing
    from crawler.wacz import WaczFailed, package

    try:
        path, pages = package(data, output or data / "nianbao.wacz")
    except (PywbMissing, WaczFailed) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"nianbao wacz: {path} ({path.stat().st_size} bytes, {pages} report pages)")


@cli.command()
@common_options
@click.option("--keep-serving", is_flag=True, help="Keep the sample portals up after the crawl.")
def demo(opts: RunOptions, keep_serving: bool) -> None:
    """Serve the bundled sample portals on 127.0.0.1 and crawl them into --data.

    The portal whose list a script builds is included when a Chromium is there to render it.
    """
    from crawler.browser import find_chromium
    from crawler.portal_server import SamplePortals

    with SamplePortals(scripted=find_chromium() is not None) as portals:
        sites = [{"name": name, "url": url, "region": "demo"} for name, url in portals.urls.items()]
        click.echo("Sample portals: " + ", ".join(f"{s['name']} {s['url']}" for s in sites))
        # Our own loopback server: no need to wait between requests.
        defaults = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}
        status = opts.run("demo", "portals", {"sites": sites}, defaults)
        click.echo(demo_epilogue(opts.paths))
        if keep_serving:
            click.echo("Serving until Ctrl-C.")
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
    sys.exit(status)


def own_command() -> str:
    """How to call nianbao from here: `nianbao` when it is on the PATH, else the venv's script
    (a user who followed the README has `.venv/bin/nianbao`, not `nianbao`)."""
    import os
    import shutil

    script = Path(sys.executable).parent / "nianbao"
    on_path = shutil.which("nianbao")
    if on_path and Path(on_path).resolve() == script.resolve():
        return "nianbao"
    if not script.exists():
        return f"{Path(sys.executable)} -m crawler"
    try:
        return os.path.relpath(script)
    except ValueError:
        return str(script)


def demo_epilogue(paths: DataPaths) -> str:
    """Where the demo's data is and how to look at it."""
    nianbao = own_command()
    return "\n".join(
        [
            "",
            f"Database: {paths.db}",
            f"WARC files: {paths.warc_dir}/   CDXJ index: {paths.index}",
            "Look at it:",
            f"  sqlite3 {paths.db} \\",
            "    'select id, organization, year, format, consistent, url",
            "     from reports'",
            f"  sqlite3 {paths.db} \\",
            "    'select section, row_key, col_key, value, raw",
            "     from report_cells where report_id = 1'",
            f"  .venv/bin/warcio index {paths.warc_dir}/*.warc.gz | head",
            f"  {nianbao} replay {paths.warc_dir} --data /tmp/nianbao-replayed  # rebuild",
            f"  {nianbao} browse --data {paths.root}  # the archived pages in pywb",
            f"  {nianbao} wacz --data {paths.root}  # the archive as one WACZ file",
        ]
    )
