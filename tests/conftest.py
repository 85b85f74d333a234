"""Shared test fixtures: the loopback socket guard, the replica, and running the CLI as a user would.

Every test here is offline: a guard fails any connection off 127.0.0.0/8 or ::1 made by the test process, and
crawls run with ``HABR_LOOPBACK_ONLY`` so the crawler subprocess refuses such requests too.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from habrmirror.crawl.middlewares import is_loopback_host

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "habr"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_address(sock: socket.socket, address: object) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
        host = str(address[0])
        if not is_loopback_host(host):
            raise AssertionError(f"test tried to connect beyond loopback: {address!r}")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check_address(self, address)
    return _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check_address(self, address)
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, scope="session")
def loopback_only() -> Iterator[None]:
    """Fail any test that connects beyond loopback."""
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign,assignment]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign,assignment]


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run ``habrmirror ARGS`` in a subprocess (one crawl per process, as a user runs it)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "habrmirror", *args],
        cwd=cwd or ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# Settings every test crawl uses: stay on loopback, no slow start, no progress noise.
FAST = [
    "--set",
    "HABR_LOOPBACK_ONLY=true",
    "--set",
    "AUTOTHROTTLE_START_DELAY=0.05",
    "--set",
    "HABR_PROGRESS_INTERVAL=0",
]
