"""Benchmark: reading the index (``load_index().to_pandas()``) and exporting it (``export_archive``) against the
plain libraries doing the same in the same run, and peak memory of an export at 1k vs 100k rows.

Place: developer tool beside ``habrmirror.tools.dataset`` and ``habrmirror.tools.export``. No crawl: a synthetic
archive is written directly with ``habrmirror.store.index.IndexStore`` from one template row (a real fixture
page parsed by the page objects, its text cut to ``--text-chars`` so 100k rows fit on disk and in the pandas
baseline's memory), each row with its own id, title and time. Every measurement runs in its own child process
(peak RSS from ``wait4``), after one untimed pass that warms the page cache:

  pandas         pd.concat(pd.read_json(shard, lines=True) for every shard)
  load_index     habrmirror.load_index(DIR).to_pandas()                                  target <= 1.5x pandas
  pyarrow        pyarrow.json.read_json(shard, explicit schema) -> ParquetWriter, shard by shard
                 (pyarrow's default codec snappy, and zstd as export uses)
  export         export_archive(DIR, format="parquet")                                   target <= 2x pyarrow
  export jobs=2  the same with two worker processes
  hf, hf jobs=2  export_archive(DIR, format="hf") with one and two processes (parts of 128 MB of JSON)
  RSS            export at 1k rows vs at N rows                                          target <= 1.3x

Run from the repository root: ``python bench/export.py [--rows 100000] [--text-chars 2000] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEMPLATE_PAGE = ROOT / "tests" / "fixtures" / "habr" / "article-tm-724768-browsersaved-2023.html"


def template_row(text_chars: int) -> dict[str, Any]:
    """A real row (the 2023 fixture through the page objects), its long texts cut to ``text_chars``."""
    from habrmirror.items import WarcPointer, article_record
    from habrmirror.pages import parse_article

    article = parse_article("https://habr.com/ru/articles/724768/", TEMPLATE_PAGE.read_bytes())
    article.fetched_url = "https://habr.com/ru/articles/724768/"
    article.captured_at = "2026-11-01T00:00:00+00:00"
    article.warc = WarcPointer(
        "warc/bench.warc.gz", 0, 1000, "<urn:uuid:00000000-0000-0000-0000-000000000000>"
    )
    row = article_record(article)
    for name in ("text_markdown", "text_html", "text", "lead_html", "lead_markdown"):
        if row.get(name):
            row[name] = row[name][:text_chars]
    return row


def build(root: Path, rows: int, text_chars: int) -> None:
    from habrmirror.store.index import IndexStore

    template = template_row(text_chars)
    store = IndexStore(root / "index", flush_rows=2000, ids_path=root / "state" / "index-ids.bin")
    for ident in range(1, rows + 1):
        row = dict(template, id=ident, title=f"{template['title']} #{ident}")
        row["time_published"] = 1_300_000_000 + ident * 3600
        row["gone_at"] = "2026-11-02T00:00:00+00:00" if ident % 97 == 0 else None
        store.put(row)
        if store.needs_flush:
            store.flush()
    store.flush()
    (root / "archive.json").write_text(
        json.dumps({"format": "habrmirror-archive", "origin": "https://habr.com"})
    )


# --- what each child process does --------------------------------------------------------------------------


def child(what: str, root: Path, out: Path) -> None:
    started = time.perf_counter()
    shards = sorted((root / "index").glob("*.jsonl"))
    if what == "pandas":
        import pandas as pd

        frame = pd.concat(pd.read_json(path, lines=True) for path in shards)
        rows = len(frame)
    elif what == "load_index":
        import habrmirror

        rows = len(habrmirror.load_index(root).to_pandas())
    elif what.startswith("pyarrow"):
        import pyarrow.json as pj
        import pyarrow.parquet as pq

        from habrmirror.schema import arrow_schema

        schema = arrow_schema()
        options = pj.ParseOptions(explicit_schema=schema)
        codec = "zstd" if what.endswith("zstd") else "snappy"
        rows = 0
        with pq.ParquetWriter(out, schema, compression=codec) as writer:
            for path in shards:
                table = pj.read_json(path, parse_options=options)
                writer.write_table(table)
                rows += table.num_rows
    elif what.startswith(("export", "hf")):
        from habrmirror.tools.export import export_archive

        jobs = int(what.split("jobs")[1]) if "jobs" in what else 1
        kind = "hf" if what.startswith("hf") else "parquet"
        target = out.with_suffix("") if kind == "hf" else out
        rows = export_archive(root, format=kind, out=target, jobs=jobs, part_bytes=128 << 20).rows
    else:
        raise SystemExit(f"unknown measurement {what}")
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started}))


def measure(what: str, root: Path, out: Path) -> dict[str, Any]:
    """Run one measurement in a child process: its own seconds and rows, and its peak RSS (``wait4``)."""
    command = [sys.executable, __file__, "--child", what, "--archive", str(root), "--out", str(out)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT))
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"{what} failed (status {status})")
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    result["rss_mib"] = usage.ru_maxrss / 1024
    result["bytes"] = out.stat().st_size if out.exists() else 0
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=100_000, help="rows of the large archive (default 100000)"
    )
    parser.add_argument(
        "--small", type=int, default=1_000, help="rows of the small archive (RSS, default 1000)"
    )
    parser.add_argument(
        "--text-chars", type=int, default=2000, help="cut each long text to this (default 2000)"
    )
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each, best kept (default 2)")
    parser.add_argument("--keep", type=Path, help="build (or reuse) the archives here instead of a temp dir")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--archive", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.archive, args.out)
        return 0

    with tempfile.TemporaryDirectory(prefix="habr-bench-export-") as scratch:
        base = args.keep or Path(scratch)
        large, small = base / f"rows-{args.rows}", base / f"rows-{args.small}"
        for root, count in ((large, args.rows), (small, args.small)):
            if not (root / "index").is_dir():
                started = time.perf_counter()
                build(root, count, args.text_chars)
                print(f"built {root}: {count} rows in {time.perf_counter() - started:.1f} s")
        size = sum(p.stat().st_size for p in (large / "index").glob("*.jsonl"))
        print(
            f"{args.rows} rows, {size / 1e6:.0f} MB of JSON in {len(list((large / 'index').glob('*.jsonl')))} shards"
        )
        out = Path(scratch) / "out.parquet"
        measure("pyarrow", large, out)  # warm the page cache: every run reads from memory alike

        names = [
            "pandas",
            "load_index",
            "pyarrow",
            "pyarrow-zstd",
            "export",
            "export-jobs2",
            "hf",
            "hf-jobs2",
        ]
        best: dict[str, dict[str, Any]] = {}
        for _ in range(args.repeat):
            for name in names:
                result = measure(name, large, out)
                if name not in best or result["seconds"] < best[name]["seconds"]:
                    best[name] = result
        small_run = measure("export", small, out)

    print(f"{'run':<14} {'rows':>8} {'seconds':>8} {'peak RSS MiB':>13} {'file MB':>8}")
    for name in names:
        r = best[name]
        print(
            f"{name:<14} {r['rows']:>8} {r['seconds']:8.2f} {r['rss_mib']:13.0f} {r['bytes'] / 1e6 if 'export' in name or 'pyarrow' in name else 0:8.1f}"
        )
    print(
        f"{'export (small)':<14} {small_run['rows']:>8} {small_run['seconds']:8.2f} {small_run['rss_mib']:13.0f}"
    )
    pandas_ratio = best["load_index"]["seconds"] / best["pandas"]["seconds"]
    export_ratio = best["export"]["seconds"] / best["pyarrow"]["seconds"]
    same_codec = best["export"]["seconds"] / best["pyarrow-zstd"]["seconds"]
    rss_ratio = best["export"]["rss_mib"] / small_run["rss_mib"]
    print(f"load_index().to_pandas() / pandas.read_json: {pandas_ratio:.2f}x (target <= 1.5)")
    print(
        f"export / pyarrow read+write (snappy): {export_ratio:.2f}x (target <= 2); same codec (zstd): {same_codec:.2f}x"
    )
    print(
        f"export jobs=2 / jobs=1: {best['export-jobs2']['seconds'] / best['export']['seconds']:.2f}x (one file:"
        " the workers parse, the parent encodes); hf (a file per part) jobs=2 / jobs=1:"
        f" {best['hf-jobs2']['seconds'] / best['hf']['seconds']:.2f}x"
    )
    print(f"export peak RSS at {args.rows} rows / at {args.small} rows: {rss_ratio:.2f}x (target <= 1.3)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
