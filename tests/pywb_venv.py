"""Replay an archive with pywb: a private virtual environment for pywb, a pywb collection over the archive's
WARC files, and a ``wayback`` server on 127.0.0.1 that can be started and stopped from Python.

This is after the flow (WARC files -> a replay tool reading them unchanged). pywb lives in its own venv because
it pins old packages (redis 2.10, fakeredis 0.16, ...) that break Scrapy when installed beside it. The
tests use these helpers; docs/REPLAY.md gives the same steps as shell commands.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

# The release that installs and runs on Python 3.10-3.12 with nothing else pinned (checked on 3.11).
PYWB_VERSION = "2.10.0"
PYWB_REQUIREMENT = f"pywb=={PYWB_VERSION}"
VENV_ENV = "HABRMIRROR_PYWB_VENV"
INSTALL_TIMEOUT = 900.0  # seconds: pip resolves and downloads ~40 packages, gevent may need a build


class PywbSetupError(RuntimeError):
    """The pywb venv could not be created, or a wb-manager step failed (the message ends with its output)."""


def default_venv_path() -> Path:
    """``$HABRMIRROR_PYWB_VENV``, else ``$XDG_CACHE_HOME/habrmirror/pywb-venv`` (``~/.cache/...``)."""
    if os.environ.get(VENV_ENV):
        return Path(os.environ[VENV_ENV]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "habrmirror" / "pywb-venv"


def venv_bin(venv: Path, program: str) -> Path:
    """A program installed in the venv (``bin/`` on POSIX, ``Scripts/`` on Windows)."""
    return venv / ("Scripts" if os.name == "nt" else "bin") / program


def pywb_version(venv: Path) -> str | None:
    """The pywb version the venv's ``wb-manager`` reports, or None when it does not run."""
    program = venv_bin(venv, "wb-manager")
    if not program.exists():
        return None
    try:
        done = subprocess.run([str(program), "--version"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = (done.stdout + done.stderr).split()
    return words[-1] if done.returncode == 0 and words else None


def ensure_pywb_venv(path: Path | None = None, requirement: str = PYWB_REQUIREMENT) -> Path:
    """A venv with pywb installed: reused when its ``wb-manager`` runs and has the wanted version, else built.

    Building needs PyPI (``python -m venv`` + ``pip install pywb==X``). A lock file beside the venv makes
    concurrent callers (parallel test workers) build it once.
    """
    venv = Path(path) if path is not None else default_venv_path()
    wanted = requirement.partition("==")[2] or None
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        found = pywb_version(venv)
        if found is not None and (wanted is None or found == wanted):
            return venv
        if venv.exists():
            if not (venv / "pyvenv.cfg").exists() and any(venv.iterdir()):
                raise PywbSetupError(f"{venv} exists and is not a virtual environment; not touching it")
            shutil.rmtree(venv)
        _run([sys.executable, "-m", "venv", str(venv)], "creating the venv", timeout=300)
        pip = [str(venv_bin(venv, "python")), "-m", "pip", "install", "--disable-pip-version-check"]
        _run([*pip, requirement], f"pip install {requirement}", timeout=INSTALL_TIMEOUT)
        found = pywb_version(venv)
        if found is None:
            raise PywbSetupError(f"pywb installed in {venv}, but `wb-manager --version` does not run")
        return venv


def _run(args: list[str], what: str, timeout: float, cwd: Path | None = None) -> str:
    """Run a setup step; on failure raise :class:`PywbSetupError` carrying the tail of its output."""
    try:
        done = subprocess.run(
            args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as error:
        raise PywbSetupError(f"{what}: no result after {timeout:.0f} s") from error
    if done.returncode != 0:
        raise PywbSetupError(f"{what} failed (exit {done.returncode}):\n{done.stdout[-4000:]}")
    return done.stdout


def make_collection(venv: Path, archive_root: Path, workdir: Path, name: str = "habr") -> Path:
    """A pywb collection ``workdir/collections/NAME`` holding the archive's finished WARC files.

    Runs ``wb-manager init NAME`` (once) and ``wb-manager add NAME FILES`` for the WARCs the collection does
    not have yet, so it can be called again after more crawling. ``add`` copies the files and indexes them.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    manager = str(venv_bin(venv, "wb-manager"))
    collection = workdir / "collections" / name
    if not collection.exists():
        _run([manager, "init", name], f"wb-manager init {name}", timeout=120, cwd=workdir)
    have = {p.name for p in (collection / "archive").glob("*")}
    warcs = [p for p in sorted((Path(archive_root) / "warc").glob("*.warc.gz")) if p.name not in have]
    if warcs:
        args = [manager, "add", name, *(str(p.resolve()) for p in warcs)]
        _run(args, f"wb-manager add {name}", timeout=600, cwd=workdir)
    return collection


def configure_collection(archive_root: Path, workdir: Path, name: str = "habr-direct") -> Path:
    """Serve the archive directory in place: ``workdir/config.yaml`` names its ``indexes/`` and ``warc/``.

    Nothing is copied (``wb-manager add`` copies every WARC), and pywb rescans ``indexes/`` while running, so
    WARCs finished by a later crawl show up by themselves. The file is rewritten whole: one collection.
    Returns the config file.
    """
    root = Path(archive_root).resolve()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "config.yaml"
    # JSON strings are YAML scalars, so paths with spaces or colons need no YAML library.
    config.write_text(
        "# written by pywb_venv.configure_collection: the archive served in place\n"
        "collections:\n"
        f"  {json.dumps(name)}:\n"
        f"    index_paths: {json.dumps(str(root / 'indexes') + '/')}\n"
        f"    archive_paths: {json.dumps(str(root / 'warc') + '/')}\n",
        encoding="utf-8",
    )
    return config


def wayback_timestamp(moment: str | datetime) -> str:
    """An ISO 8601 time (e.g. an index row's ``captured_at``) as the 14-digit timestamp replay URLs use."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PywbServer:
    """``wayback`` serving ``workdir``'s collections on 127.0.0.1; a context manager exposing ``.url``.

    ``port=0`` picks a free port (``wayback`` cannot report the one the OS chose, so a free one is found first
    and the start retried if another process takes it in between). Output goes to ``workdir/wayback.log``.
    """

    def __init__(self, venv: Path, workdir: Path, port: int = 0, startup_timeout: float = 60.0) -> None:
        self.venv = Path(venv)
        self.workdir = Path(workdir)
        self.requested_port = port
        self.startup_timeout = startup_timeout
        self.log_path = self.workdir / "wayback.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def replay_url(self, collection: str, timestamp: str, url: str, modifier: str = "") -> str:
        """``/{coll}/{timestamp}{modifier}/{url}``; ``modifier="id_"`` asks for the original bytes, unrewritten."""
        return f"{self.url}/{collection}/{timestamp}{modifier}/{url}"

    def start(self) -> None:
        attempts = 5 if self.requested_port == 0 else 1
        for attempt in range(attempts):
            self.port = self.requested_port or _free_port()
            if self._start_once():
                return
            if attempt + 1 < attempts and "Address already in use" in self.log_tail():
                continue
            break
        raise RuntimeError(f"wayback did not start on port {self.port}:\n{self.log_tail()}")

    def _start_once(self) -> bool:
        """Start ``wayback`` and wait until it answers HTTP; False (process gone) if it exits first."""
        program = str(venv_bin(self.venv, "wayback"))
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [program, "-b", "127.0.0.1", "-p", str(self.port)],
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # so stop() can signal wayback and anything it spawned
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                return False
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2):
                    return True
            except urllib.error.HTTPError:
                return True  # any HTTP answer means it is serving
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"wayback did not answer within {self.startup_timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM the server's process group, then SIGKILL after 10 s."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def log_tail(self, chars: int = 4000) -> str:
        """The end of ``wayback.log`` (for error messages)."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def __enter__(self) -> PywbServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def iter_collection_warcs(collection: Path) -> Iterator[Path]:
    """The WARC files a collection holds (what ``make_collection`` added)."""
    yield from sorted((collection / "archive").glob("*.warc.gz"))
