"""Every file a crawl writes respects the umask (0644 under 022, 0600 under 077), so a web server or pywb running
as another user can read the archive: the WARCs, and the files written through temp files too (index shards,
``archive.json``, run summaries, CDXJ, state), the lock file and the digest database included.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from habrmirror.replica import ReplicaProcess
from tests.conftest import FAST, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def replica() -> Iterator[ReplicaProcess]:
    with ReplicaProcess() as server:
        yield server


def modes_after_crawl(replica: ReplicaProcess, out: Path, umask: int) -> dict[str, int]:
    """Archive two posts (twice, so shards and summaries are rewritten) under ``umask``: each file's mode."""
    previous = os.umask(umask)  # the crawl subprocess inherits it
    try:
        for _ in range(2):
            result = run_cli(
                "archive", "568382", "1000", "--origin", replica.origin, "--out", str(out), *FAST
            )
            assert result.returncode == 0, result.stderr[-2000:]
    finally:
        os.umask(previous)
    return {
        str(path.relative_to(out)): stat.S_IMODE(path.stat().st_mode)
        for path in out.rglob("*")
        if path.is_file()
    }


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_every_archive_file_respects_the_umask(
    replica: ReplicaProcess, tmp_path: Path, umask: int, mode: int
) -> None:
    modes = modes_after_crawl(replica, tmp_path / "a", umask)
    kinds = {name.split("/", 1)[0] for name in modes}
    assert {"archive.json", "warc", "indexes", "index", "captures", "runs", "state"} <= kinds, sorted(modes)
    assert any(name.endswith(".cdxj") for name in modes) and any(name.startswith("index/") for name in modes)
    wrong = {name: oct(found) for name, found in modes.items() if found != mode}
    assert wrong == {}, f"not {oct(mode)}: {wrong}"
