"""The layering contract of docs/DESIGN.md, as import-linter checks it (``[tool.importlinter]`` in pyproject.toml).

pages/, archive/, store/, capture, items, urls, clock, schema and tools/ import no Scrapy or Twisted; archive/
imports nothing above itself; the rooms are layered cli > crawl | tools > store > capture > pages | archive.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


LINT_IMPORTS = [
    sys.executable,
    "-c",
    "from importlinter.cli import lint_imports_command; lint_imports_command()",
]


def lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` run by this interpreter (no PATH or shim involved)."""
    return subprocess.run(
        [*LINT_IMPORTS, "--no-cache", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_every_layer_contract_is_kept() -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    kept = [line for line in result.stdout.splitlines() if line.endswith("KEPT")]
    assert len(kept) >= 4, result.stdout


def test_the_contract_catches_a_scrapy_import_below_crawl(tmp_path: Path) -> None:
    """A copy of the package where store/ imports Scrapy breaks the contract: the check can fail."""
    shutil.copytree(
        ROOT / "habrmirror", tmp_path / "habrmirror", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / "habrmirror" / "store" / "marks.py").open("a", encoding="utf-8") as handle:
        handle.write("\nimport scrapy  # noqa\n")
    result = subprocess.run(
        [*LINT_IMPORTS, "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode != 0
    assert "habrmirror.store.marks -> scrapy" in result.stdout
