"""``--jobs`` of ``reindex`` and ``export``: the default is one process per core this process may use, and a
bad value is one line and exit 2 before anything starts. (That any N gives the same files is tested beside each
command: tests/test_reindex.py, tests/test_export.py, tests/test_export_formats.py.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from habrmirror.cli import build_parser, main
from habrmirror.tools.pool import available_cores
from tests.conftest import ROOT


def test_available_cores_is_the_cpu_set_of_the_process() -> None:
    code = (
        "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))});"
        "from habrmirror.tools.pool import available_cores; print(available_cores())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "1"  # pinned to one core: one job, whatever the machine has


@pytest.mark.parametrize("command", [["reindex", "DIR"], ["export", "DIR", "--out", "DIR/x.parquet"]])
def test_jobs_default_to_the_core_count(command: list[str], tmp_path: Path) -> None:
    args = build_parser().parse_args([part.replace("DIR", str(tmp_path)) for part in command])
    assert args.jobs == available_cores()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "expected 1 (one process) or more, got 0"),
        ("-2", "expected 1 (one process) or more, got -2"),
        ("two", "expected a whole number, got 'two'"),
        ("1.5", "expected a whole number, got '1.5'"),
    ],
)
@pytest.mark.parametrize("command", ["reindex", "export"])
def test_bad_jobs_is_one_line_and_exit_2(
    command: str, value: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "archive"
    (archive / "warc").mkdir(parents=True)
    argv = [command, str(archive), "--jobs", value]
    if command == "export":
        argv += ["--out", str(tmp_path / "out.parquet")]
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert captured.err.splitlines() == [
        f"habrmirror: argument --jobs: {message} (see: habrmirror {command} --help)"
    ]
    assert captured.out == ""
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["archive", "warc"]  # nothing made or changed
