"""Browse the archive in pywb, which runs as an external program from its own environment.

pywb pins an old `redis` (and monkey-patches with gevent), so it never shares a venv or a process
with the crawler: `scripts/setup.sh` makes `.venv-pywb`, and this module only writes a pywb
config pointing at the data folder's WARCs and CDXJ index and starts `wayback` on loopback.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

COLLECTION = "nianbao"


class PywbMissing(RuntimeError):
    """No pywb `wayback` program could be found."""


def find_wayback() -> Path:
    """`wayback` from $NIANBAO_PYWB, the project's .venv-pywb, or the PATH."""
    return find_program("wayback", os.environ.get("NIANBAO_PYWB"))


def find_program(name: str, given: str | None = None) -> Path:
    """A program of the archive tools' environment: `given`, .venv-pywb/bin, or the PATH."""
    candidates = [Path(given)] if given else []
    project = Path(__file__).resolve().parent.parent
    candidates.append(project / ".venv-pywb" / "bin" / name)
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise PywbMissing(f"`{name}` not found: run scripts/setup.sh (it makes .venv-pywb)")


def write_config(data: Path) -> Path:
    """A pywb root folder inside the data folder whose one collection is this archive."""
    root = data / "pywb"
    root.mkdir(parents=True, exist_ok=True)
    warc_dir = (data / "warc").resolve()
    index = (data / "index.cdxj").resolve()
    config = root / "config.yaml"
    config.write_text(
        "collections:\n"
        f"  {COLLECTION}:\n"
        f"    archive_paths: {warc_dir}/\n"
        f"    index_paths: {index}\n"
        "framed_replay: true\n",
        encoding="utf-8",
    )
    return root


def wayback_command(
    data: Path, host: str = "127.0.0.1", port: int = 8080
) -> tuple[list[str], Path]:
    """The command line and working folder that serve `data` in pywb."""
    root = write_config(data)
    return [str(find_wayback()), "-b", host, "-p", str(port)], root


class NoArchive(RuntimeError):
    """The data folder holds no archive to browse."""


def serve(data: Path, host: str = "127.0.0.1", port: int = 8080) -> int:
    """Run pywb in the foreground until interrupted (Ctrl-C, or SIGTERM from a service
    manager): pywb stops with it, never left serving the port on its own."""
    if not (data / "index.cdxj").is_file():
        raise NoArchive(f"{data}: no archive here (index.cdxj missing): crawl into it first")
    command, root = wayback_command(data, host, port)
    print(f"pywb: http://{host}:{port}/{COLLECTION}/*/<url>  (Ctrl-C to stop)", file=sys.stderr)
    server = subprocess.Popen(command, cwd=root)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
