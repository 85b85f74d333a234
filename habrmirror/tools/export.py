"""Export an archive's index as Parquet, as a Hugging Face dataset folder that ``datasets.load_dataset(PATH)``
loads with no script and no arguments (Parquet shards under ``data/`` plus a dataset card), as an SQLite
database that Datasette opens (child tables, FTS5), as CSV, or as the index lines in one zstd stream.

Offline, after the crawl (tools/, no Scrapy): the index shards are read one at a time with the schema's types
(:func:`habrmirror.tools.dataset.read_shard`), filtered and shaped with Arrow compute (no Python per row), and
written in row groups, so memory stays flat however large the archive is. The shards are planned into *parts*
(consecutive shards, by size) independently of ``jobs``: with ``jobs=N`` worker processes export parts in
parallel (parquet, hf, csv) and the output is byte for byte what ``jobs=1`` writes. ``profile="gusev"`` writes exactly the
columns and types of the IlyaGusev/habr dataset. Gone posts stay in every export (``gone_at`` says since when;
the gusev profile has no such column). The sqlite and csv formats take the same row groups and write them one
slice of rows at a time; jsonl.zst copies the index lines as they are (filters apply, nothing is retyped).
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import os
import secrets
import shutil
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from habrmirror import __version__
from habrmirror.clock import parse_utc
from habrmirror.items import SCHEMA_VERSION
from habrmirror.schema import feature_entry, record_properties, to_yaml
from habrmirror.tools.dataset import index_dir_of, read_shard, record_schema, require
from habrmirror.tools.pool import process_pool

FORMATS = ("parquet", "hf", "sqlite", "csv", "jsonl.zst")
FORMAT_NAMES = {
    "parquet": "Parquet",
    "hf": "Hugging Face dataset",
    "sqlite": "SQLite",
    "csv": "CSV",
    "jsonl.zst": "zstd JSON Lines",
}
CSV_SEPARATOR = " | "  # a list of strings or numbers in one CSV cell; lists of objects and objects are JSON
ROWS_PER_SLICE = 500  # rows turned into Python values at a time by the sqlite and csv writers
SQLITE_BATCH = 500  # rows per INSERT batch (sqlite-utils' insert_all)
# child tables of the sqlite export: name -> (the index field it comes from, its columns and their types)
SQLITE_CHILDREN: dict[str, tuple[str, dict[str, type]]] = {
    "hubs": ("hubs", {"article_id": int, "alias": str, "title": str}),
    "tags": ("tags", {"article_id": int, "tag": str}),
    "images": (
        "images",
        {"article_id": int, "position": int, "url": str, "alt": str, "archived": int, "error": str},
    ),
    "links": ("links", {"article_id": int, "position": int, "url": str, "text": str}),
    "comments": (
        "comments",
        {
            "article_id": int,
            "id": int,
            "parent_id": int,
            "level": int,
            "time_published": int,
            "author": str,
            "author_name": str,
            "score": int,
            "votes": int,
            "message_markdown": str,
            "deleted": int,
            "banned": int,
        },
    ),
}
PROFILES = ("habrmirror", "gusev")
# A row group closes before a shard whose JSON, with the rows it already holds, would pass ROW_GROUP_BYTES
# (decided from the file size, before reading it: the export never holds the next shard while it writes a
# group), or once it has ROW_GROUP_ROWS rows. A full shard (~1,000 posts, ~70 MB of JSON) is a row group of its
# own; small shards (sparse ids, a filter) share one. Memory: about one row group plus one shard, flat.
ROW_GROUP_BYTES = 16 << 20
ROW_GROUP_ROWS = 100_000
PART_BYTES = 256 << 20  # JSON bytes per part: one Parquet file of an hf export, one worker's unit of work
COMPRESSION = (
    "zstd"  # smaller files than pyarrow's default snappy (18% on bench/export.py's rows) at about its speed
)
CARD_MARK = "<!-- written by habrmirror export -->"
GUSEV_COLUMNS = (
    "id", "language", "url", "title", "text_markdown", "text_html", "author", "original_author", "original_url",
    "lead_html", "lead_markdown", "type", "time_published", "statistics", "labels", "hubs", "flows", "tags",
    "reading_time", "format", "complexity", "comments",
)  # fmt: skip


class ExportError(ValueError):
    """The export cannot be made as asked (bad option, nothing to read, the output path is taken)."""


def gusev_schema() -> Any:
    """The IlyaGusev/habr record, column for column and type for type (its dataset card)."""
    import pyarrow as pa

    comment = pa.struct(
        [
            ("id", pa.uint64()),
            ("parent_id", pa.uint64()),
            ("level", pa.uint32()),
            ("time_published", pa.uint64()),
            ("score", pa.int32()),
            ("votes", pa.uint32()),
            ("message_html", pa.string()),
            ("message_markdown", pa.string()),
            ("author", pa.string()),
            ("children", pa.list_(pa.uint64())),
        ]
    )
    statistics = pa.struct(
        [
            ("commentsCount", pa.uint32()),
            ("favoritesCount", pa.uint32()),
            ("readingCount", pa.uint32()),
            ("score", pa.int32()),
            ("votesCount", pa.int32()),
            ("votesCountPlus", pa.int32()),
            ("votesCountMinus", pa.int32()),
        ]
    )
    strings = pa.list_(pa.string())
    types = {"id": pa.uint32(), "time_published": pa.uint64(), "statistics": statistics}
    types.update({"labels": strings, "hubs": strings, "flows": strings, "tags": strings})
    types.update({"reading_time": pa.uint32(), "comments": pa.list_(comment)})
    return pa.schema([(name, types.get(name, pa.string())) for name in GUSEV_COLUMNS])


# what the gusev profile reads from the index to make its columns
_GUSEV_INPUTS = (*GUSEV_COLUMNS, "author_name")


@dataclass(frozen=True)
class _Plan:
    """What every part is exported with (picklable: it travels to the worker processes)."""

    fields: tuple[str, ...]  # output columns, in order
    read: tuple[str, ...]  # index fields read to make them and to filter
    profile: str
    since: int | None
    hub: str | None
    compression: str
    row_group_rows: int
    row_group_bytes: int

    def output_schema(self) -> Any:
        import pyarrow as pa

        base = gusev_schema() if self.profile == "gusev" else record_schema()
        meta = {
            "habrmirror": json.dumps(
                {"version": __version__, "schema_version": SCHEMA_VERSION, "profile": self.profile}
            )
        }
        return pa.schema([base.field(name) for name in self.fields], metadata=meta)


@dataclass
class _PartResult:
    rows: int = 0
    gone: int = 0
    nbytes: int = 0  # Arrow bytes of the rows written (the card's num_bytes)
    languages: set[str] = field(default_factory=set)
    min_time: int | None = None
    max_time: int | None = None

    def add(self, other: _PartResult) -> None:
        self.rows += other.rows
        self.gone += other.gone
        self.nbytes += other.nbytes
        self.languages |= other.languages
        times = [t for t in (self.min_time, other.min_time) if t is not None]
        self.min_time = min(times) if times else None
        times = [t for t in (self.max_time, other.max_time) if t is not None]
        self.max_time = max(times) if times else None


@dataclass
class ExportReport:
    """What an export wrote: the CLI prints :meth:`lines`, tests check the fields."""

    path: Path
    format: str
    profile: str
    rows: int
    gone: int  # rows of posts that answered 404 after being archived (kept, with gone_at)
    files: list[Path]  # the files written (Parquet files for parquet and hf)
    bytes: int
    parts: int
    jobs: int
    fields: list[str]

    def lines(self) -> list[str]:
        what = FORMAT_NAMES.get(self.format, self.format)
        profile = " (IlyaGusev/habr columns)" if self.profile == "gusev" else ""
        kind = "Parquet file(s)" if self.format in ("parquet", "hf") else "file(s)"
        lines = [
            f"exported {self.rows} posts ({self.gone} gone) as {what}{profile} -> {self.path}"
            f" ({len(self.files)} {kind}, {self.bytes / 1e6:.1f} MB)"
        ]
        if self.gone and self.profile == "gusev":
            lines.append("  gone posts are included; the gusev profile has no gone_at column to mark them")
        return lines


def _since_seconds(since: Any) -> int | None:
    if since is None:
        return None
    if isinstance(since, bool):
        raise ExportError(f"since must be a date, got {since!r}")
    if isinstance(since, int | float):
        return int(since)
    if isinstance(since, datetime):
        moment = since if since.tzinfo else since.replace(tzinfo=timezone.utc)
        return int(moment.timestamp())
    if isinstance(since, date):
        return int(datetime(since.year, since.month, since.day, tzinfo=timezone.utc).timestamp())
    try:
        return int(parse_utc(str(since)).timestamp())
    except ValueError:
        raise ExportError(f"since must be an ISO date or time, e.g. 2024-05-01, got {since!r}") from None


def _make_plan(
    fields: Sequence[str] | None, since: Any, hub: str | None, profile: str | None, compression: str
) -> _Plan:
    profile = profile or "habrmirror"
    if profile not in PROFILES:
        raise ExportError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    available = list(GUSEV_COLUMNS) if profile == "gusev" else record_schema().names
    chosen = list(fields) if fields else available
    unknown = [name for name in chosen if name not in available]
    if unknown:
        raise ExportError(f"unknown field(s) {', '.join(unknown)}; {profile} has: {', '.join(available)}")
    if len(set(chosen)) != len(chosen):
        raise ExportError("a field is named twice in fields")
    since_s = _since_seconds(since)
    wanted = set(_GUSEV_INPUTS if profile == "gusev" else chosen) | {"gone_at", "language", "time_published"}
    if hub:
        wanted |= {"hubs", "hub_titles"}
    read = tuple(name for name in record_schema().names if name in wanted)
    return _Plan(
        fields=tuple(chosen),
        read=read,
        profile=profile,
        since=since_s,
        hub=hub.strip().lower() if hub else None,
        compression=compression,
        row_group_rows=ROW_GROUP_ROWS,
        row_group_bytes=ROW_GROUP_BYTES,
    )


def plan_parts(shards: Sequence[Path], part_bytes: int = PART_BYTES) -> list[list[Path]]:
    """Consecutive shards grouped into parts of about ``part_bytes`` of JSON each (by file size, no reading):
    the same for any number of jobs. An archive without shards still has one (empty) part."""
    parts: list[list[Path]] = []
    current: list[Path] = []
    size = 0
    for shard in shards:
        current.append(shard)
        size += shard.stat().st_size
        if size >= part_bytes:
            parts.append(current)
            current, size = [], 0
    if current or not parts:
        parts.append(current)
    return parts


# --- the per-table work (Arrow compute) -------------------------------------------------------------------


def _select_rows(table: Any, plan: _Plan) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    mask = None
    if plan.since is not None:
        mask = pc.fill_null(pc.greater_equal(table.column("time_published"), plan.since), False)
    if plan.hub is not None:
        hit = pa.array([False] * table.num_rows)
        for column in ("hubs", "hub_titles"):
            lists = table.column(column).combine_chunks()
            flat = pc.list_flatten(lists)
            parents = pc.list_parent_indices(lists)
            matched = pc.filter(parents, pc.fill_null(pc.equal(pc.utf8_lower(flat), plan.hub), False))
            in_rows = pc.is_in(
                pa.array(range(table.num_rows), pa.int64()), value_set=pc.cast(matched, pa.int64())
            )
            hit = pc.or_(hit, in_rows)
        mask = hit if mask is None else pc.and_(mask, hit)
    return table if mask is None else table.filter(mask)


def _nonempty(strings: Any) -> Any:
    import pyarrow.compute as pc

    return pc.if_else(pc.fill_null(pc.equal(strings, ""), False), None, strings)


def gusev_author(name: Any, alias: Any) -> Any:
    """Gusev's author string from a display name and a login: ``"fullname (alias)"``, or whichever one there is
    (``create_habr.py``'s ``process_author``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    name, alias = _nonempty(name), _nonempty(alias)
    joined = pc.binary_join_element_wise(name, pa.scalar(" ("), alias, pa.scalar(")"), pa.scalar(""))
    return pc.coalesce(joined, name, alias)


def _child(struct: Any, name: str, kind: Any) -> Any:
    """Field ``name`` of a struct array (null where the struct is), cast to ``kind``; nulls if it has none."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_struct(struct.type) and struct.type.get_field_index(name) >= 0:
        return pc.cast(pc.struct_field(struct, name), kind)
    return pa.nulls(len(struct), kind)


def _list_or_empty(values: Any, kind: Any) -> Any:
    """A list array of ``kind`` with null lists made empty (Gusev's lists are never null)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_null(values.type):
        values = pa.nulls(len(values), kind)
    return pc.coalesce(pc.cast(values, kind), pa.scalar([], type=kind))


def _seconds(values: Any) -> Any:
    """Unix seconds from integers, or from ISO 8601 strings (a comment's time may come either way)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        stamps = pc.cast(pc.replace_substring(values, "Z", "+00:00"), pa.timestamp("s", tz="UTC"))
        return pc.cast(pc.cast(stamps, pa.int64()), pa.uint64())
    return pc.cast(values, pa.uint64())


def _gusev_comments(comments: Any, kind: Any) -> Any:
    """The index's comment lists (null today: no comments archived) as Gusev's, null as []."""
    import pyarrow as pa
    import pyarrow.compute as pc

    struct_type = kind.value_type
    n = len(comments)
    if pa.types.is_null(comments.type) or comments.null_count == n:
        lengths = pa.array([0] * n, pa.int64())
        values = pa.array([], pa.struct([]))
    else:
        lengths = pc.cast(pc.fill_null(pc.list_value_length(comments), 0), pa.int64())
        values = pc.list_flatten(comments)
    offsets = pc.cast(pa.concat_arrays([pa.array([0], pa.int64()), pc.cumulative_sum(lengths)]), pa.int32())
    count = len(values)
    children = []
    for item in struct_type:
        if item.name == "author":
            children.append(
                gusev_author(
                    _child(values, "author_name", pa.string()), _child(values, "author", pa.string())
                )
            )
        elif item.name == "time_published":
            source = (
                values.type.field("time_published").type if _has(values, "time_published") else pa.int64()
            )
            children.append(
                _seconds(_child(values, "time_published", source)) if count else pa.nulls(0, item.type)
            )
        elif item.name == "children":
            source = values.type.field("children").type if _has(values, "children") else pa.list_(pa.int64())
            children.append(_list_or_empty(_child(values, "children", source), item.type))
        elif item.name == "parent_id":  # the index says 0 for a root, Gusev None
            parents = _child(values, "parent_id", item.type)
            children.append(pc.if_else(pc.fill_null(pc.equal(parents, 0), False), None, parents))
        else:
            children.append(_child(values, item.name, item.type))
    structs = (
        pa.StructArray.from_arrays(children, fields=list(struct_type)) if count else pa.array([], struct_type)
    )
    return pa.ListArray.from_arrays(offsets, structs, type=kind)


def _has(struct: Any, name: str) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_struct(struct.type) and struct.type.get_field_index(name) >= 0)


def _gusev_table(table: Any, schema: Any) -> Any:
    """Index rows as IlyaGusev/habr rows: its columns and types; author as ``fullname (alias)``; statistics
    always an object; lists never null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = table.combine_chunks()
    columns = []
    for item in schema:
        column = (
            table.column(item.name).chunk(0)
            if table.num_rows
            else pa.nulls(0, table.schema.field(item.name).type)
        )
        if item.name == "author":
            column = gusev_author(table.column("author_name").chunk(0), column)
        elif item.name == "statistics":
            column = pa.StructArray.from_arrays(
                [_child(column, sub.name, sub.type) for sub in item.type], fields=list(item.type)
            )
        elif item.name == "comments":
            column = _gusev_comments(column, item.type)
        elif pa.types.is_list(item.type):
            column = _list_or_empty(column, item.type)
        else:
            column = pc.cast(column, item.type)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)


def _part_groups(shards: Sequence[Path], plan: _Plan, result: _PartResult) -> Iterator[Any]:
    """The part's rows as row groups (one ``RecordBatch`` each), shard by shard; fills ``result``."""
    import pyarrow.compute as pc

    read = record_schema(plan.read)
    out = plan.output_schema()
    shaped = gusev_schema() if plan.profile == "gusev" else None
    pending: list[Any] = []
    rows = size = 0
    for path in shards:
        if pending and size + path.stat().st_size > plan.row_group_bytes:
            yield _take_batch(pending)
            rows = size = 0
        table = _select_rows(read_shard(path, read), plan)
        if table.num_rows == 0:
            continue
        result.rows += table.num_rows
        result.gone += table.num_rows - table.column("gone_at").null_count
        result.languages |= {v for v in pc.unique(table.column("language")).to_pylist() if v}
        times = [
            v.as_py() for v in pc.min_max(table.column("time_published")).values() if v.as_py() is not None
        ]
        if times:
            result.min_time = min([*times, *([result.min_time] if result.min_time is not None else [])])
            result.max_time = max([*times, *([result.max_time] if result.max_time is not None else [])])
        if shaped is not None:
            table = _gusev_table(table, shaped)
        table = table.select(list(plan.fields)).replace_schema_metadata(out.metadata)
        result.nbytes += table.nbytes
        rows += table.num_rows
        size += table.nbytes
        pending.append(table)
        del table
        if rows >= plan.row_group_rows:
            yield _take_batch(pending)
            rows = size = 0
    if pending:
        yield _take_batch(pending)


def _take_batch(pending: list[Any]) -> Any:
    """The pending tables as one record batch (one row group), ``pending`` emptied: the columns are joined one
    at a time and each one's pieces let go, so the group is in memory about once, not twice."""
    import pyarrow as pa

    table = pa.concat_tables(pending)
    pending.clear()
    schema, columns = table.schema, table.columns
    del table
    arrays = []
    for i in range(len(columns)):
        arrays.append(columns[i].combine_chunks())
        columns[i] = None
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


@contextlib.contextmanager
def _returning_pool() -> Iterator[None]:
    """Arrow's jemalloc pool with its freed pages handed back at once, for the export's duration (the previous
    default pool restored after; buffers remember their pool, so mixing is safe). With the default mimalloc
    pool, freed row groups stay mapped: an export's peak RSS grew ~1.3x from 1k to 100k rows at a flat Arrow
    peak; with this, ~1.2x. Where jemalloc is not built in, nothing changes."""
    import pyarrow as pa

    if "jemalloc" not in pa.supported_memory_backends():
        yield
        return
    previous = pa.default_memory_pool()
    pa.jemalloc_set_decay_ms(0)
    pa.set_memory_pool(pa.jemalloc_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def _parquet_writer(path: Path, plan: _Plan) -> Any:
    import pyarrow.parquet as pq

    return pq.ParquetWriter(path, plan.output_schema(), compression=plan.compression)


def _export_part(shards: list[str], plan: _Plan, target: str, kind: str) -> _PartResult:
    """Write one part to ``target``: a Parquet file (``kind="parquet"``) or an Arrow IPC file of its row
    groups (``"ipc"``, merged into one Parquet file by the parent). Runs in a worker process when jobs > 1."""
    result = _PartResult()
    groups = _part_groups([Path(s) for s in shards], plan, result)
    with _returning_pool():
        _write_part(groups, plan, target, kind)
    return result


def _write_part(groups: Iterator[Any], plan: _Plan, target: str, kind: str) -> None:
    import pyarrow as pa

    if kind == "parquet":
        with _parquet_writer(Path(target), plan) as writer:
            for batch in groups:
                writer.write_batch(batch, row_group_size=batch.num_rows)
                del batch  # not alive while the next group is read
    else:
        with pa.OSFile(target, "wb") as sink, pa.ipc.new_file(sink, plan.output_schema()) as writer:
            for batch in groups:
                writer.write_batch(batch)
                del batch


def _temp_beside(path: Path, suffix: str = "") -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp{suffix}")


def export_archive(
    root: Path | str = "archives",
    format: str = "parquet",
    out: Path | str | None = None,
    fields: Sequence[str] | None = None,
    since: Any = None,
    hub: str | None = None,
    profile: str | None = None,
    jobs: int = 1,
    part_bytes: int = PART_BYTES,
    compression: str = COMPRESSION,
) -> ExportReport:
    """Export the index of the archive at ``root`` to ``out``.

    ``format="parquet"``: one Parquet file, in row groups of ~1,000 posts. ``format="hf"``: a folder that
    ``datasets.load_dataset(out)`` loads with no script and no arguments (``data/train-*.parquet`` and a
    dataset card, ``README.md``, naming the source and its terms). ``fields``: only these columns, in this
    order. ``since``: posts published at or after this date (ISO string, date, datetime or Unix seconds).
    ``hub``: posts in this hub (alias or title, case ignored). ``profile="gusev"``: the IlyaGusev/habr
    columns and types. ``jobs``: worker processes (the output is the same for any number). The output
    appears when complete; an earlier export at ``out`` is replaced.

    ``format="sqlite"``: one database (sqlite-utils): ``articles`` (one row per post; lists and objects as
    JSON text; a ``year`` column), child tables ``hubs``, ``tags``, ``images``, ``links``, ``comments`` (each
    with ``article_id`` REFERENCES ``articles(id)``, made when their field is exported) and ``articles_fts``
    (FTS5 over title and text, an external-content table as ``sqlite-utils enable-fts`` makes it).
    ``format="csv"``: one file with a header line, UTF-8; a list of strings or numbers is one cell joined by
    ``" | "`` (:data:`CSV_SEPARATOR`), lists of objects and objects are JSON, null is empty; a directory as
    ``out`` gets ``articles.csv``. ``format="jsonl.zst"``: the index lines, byte for byte, in one zstd stream
    (``fields`` narrows each row, re-encoded). These three take the habrmirror profile only; sqlite and
    jsonl.zst are written by one process (SQLite has one writer; jsonl.zst copies lines, at disk speed).
    """
    require("pyarrow", "export")
    if format not in FORMATS:
        raise ExportError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if out is None:
        raise ExportError("out is required: the .parquet file or the folder to write")
    if jobs < 1:
        raise ExportError(f"jobs must be 1 or more, got {jobs}")
    try:
        index_dir = index_dir_of(root)
    except FileNotFoundError as error:
        raise ExportError(str(error)) from None
    target = Path(out)
    plan = _make_plan(fields, since, hub, profile, compression)
    parts = plan_parts(sorted(index_dir.glob("*.jsonl")), part_bytes)
    if format == "csv" and target.is_dir():
        target = target / "articles.csv"
    if format not in ("hf",) and target.is_dir():
        raise ExportError(f"{target} is a directory; name the .{format} file to write")
    if format in (*SINGLE_WRITER_FORMATS, "csv") and plan.profile != "habrmirror":
        raise ExportError(f"profile {plan.profile} is for parquet and hf; {format} takes the index's fields")
    with _returning_pool():
        if format == "parquet":
            result, files = _export_parquet(parts, plan, target, jobs)
        elif format == "hf":
            result, files = _export_hf(Path(root), parts, plan, target, jobs)
        elif format == "csv":
            result, files = _export_csv(parts, plan, target, jobs)
        else:
            result, files = SINGLE_WRITER_FORMATS[format](parts, plan, target)
            jobs = 1
    return ExportReport(
        path=target,
        format=format,
        profile=plan.profile,
        rows=result.rows,
        gone=result.gone,
        files=files,
        bytes=sum(f.stat().st_size for f in files)
        + ((target / "README.md").stat().st_size if format == "hf" else 0),
        parts=len(parts),
        jobs=jobs,
        fields=list(plan.fields),
    )


def _export_parquet(
    parts: list[list[Path]], plan: _Plan, target: Path, jobs: int
) -> tuple[_PartResult, list[Path]]:
    """One Parquet file. jobs=1 writes the parts' row groups straight into it; jobs>1 has workers write each
    part's row groups to an Arrow IPC file and copies them, in part order, into the same writer."""
    import pyarrow as pa

    target.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_beside(target)
    scratch = _temp_beside(target, ".d")
    total = _PartResult()
    try:
        with _parquet_writer(temp, plan) as writer:
            if jobs == 1 or len(parts) == 1:
                for shards in parts:
                    for batch in _part_groups(shards, plan, total):
                        writer.write_batch(batch, row_group_size=batch.num_rows)
                        del batch  # not alive while the next group is read
            else:
                scratch.mkdir()
                with process_pool(jobs) as pool:
                    futures: list[Future[_PartResult]] = [
                        pool.submit(
                            _export_part,
                            [str(s) for s in shards],
                            plan,
                            str(scratch / f"{i:05d}.arrow"),
                            "ipc",
                        )
                        for i, shards in enumerate(parts)
                    ]
                    for i, future in enumerate(futures):
                        total.add(future.result())
                        path = scratch / f"{i:05d}.arrow"
                        with pa.memory_map(str(path)) as source:
                            reader = pa.ipc.open_file(source)
                            for k in range(reader.num_record_batches):
                                batch = reader.get_batch(k)
                                writer.write_batch(batch, row_group_size=batch.num_rows)
                                del batch  # not alive while the next group is read
                        path.unlink()
        os.replace(temp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        shutil.rmtree(scratch, ignore_errors=True)
    return total, [target]


def _export_hf(
    root: Path, parts: list[list[Path]], plan: _Plan, target: Path, jobs: int
) -> tuple[_PartResult, list[Path]]:
    """A dataset folder: every part its own Parquet file under data/, then the card; renamed into place."""
    if target.exists() and not _replaceable(target):
        raise ExportError(f"{target} exists and is not an earlier habrmirror export; name a new folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    build = _temp_beside(target, ".d")
    data = build / "data"
    data.mkdir(parents=True)
    total = _PartResult()
    try:
        names = [str(data / f"part-{i:05d}.parquet") for i in range(len(parts))]
        if jobs == 1 or len(parts) == 1:
            for shards, name in zip(parts, names, strict=True):
                total.add(_export_part([str(s) for s in shards], plan, name, "parquet"))
        else:
            with process_pool(jobs) as pool:
                futures = [
                    pool.submit(_export_part, [str(s) for s in shards], plan, name, "parquet")
                    for shards, name in zip(parts, names, strict=True)
                ]
                for future in futures:
                    total.add(future.result())
        if total.rows == 0:  # datasets cannot load a split without rows ("corresponds to no data")
            raise ExportError("no post to export (none matches the selection): a dataset needs rows")
        files = _name_shards([Path(n) for n in names])
        (build / "README.md").write_text(_hf_card(root, plan, total), encoding="utf-8")
        _swap_in(build, target)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return total, [target / "data" / f.name for f in files]


def _name_shards(paths: list[Path]) -> list[Path]:
    """Drop parts that no row reached (a filter), keeping one file, and name the rest as the Hub does:
    ``train-00000-of-00003.parquet``."""
    import pyarrow.parquet as pq

    kept = [p for p in paths if pq.ParquetFile(p).metadata.num_rows > 0] or paths[:1]
    for p in paths:
        if p not in kept:
            p.unlink()
    named = []
    for i, p in enumerate(kept):
        final = p.with_name(f"train-{i:05d}-of-{len(kept):05d}.parquet")
        p.rename(final)
        named.append(final)
    return named


def _replaceable(target: Path) -> bool:
    """An empty directory, or a folder an earlier export wrote (its card carries the mark)."""
    if not target.is_dir():
        return False
    if not any(target.iterdir()):
        return True
    card = target / "README.md"
    return card.is_file() and CARD_MARK in card.read_text(encoding="utf-8", errors="replace")


def _swap_in(build: Path, target: Path) -> None:
    """Rename the finished folder into place (an earlier export moved aside first, then removed)."""
    old = _temp_beside(target, ".old") if target.exists() else None
    if old is not None:
        os.replace(target, old)
    os.replace(build, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --- the dataset card --------------------------------------------------------------------------------------

_GUSEV_MEANINGS = {
    "author": "author as `fullname (alias)`, or whichever of the two the page gives (as in IlyaGusev/habr)",
    "statistics": "counters: commentsCount, favoritesCount, readingCount, score, votesCount, votesCountPlus, "
    "votesCountMinus (null where the page does not carry one)",
    "comments": "comments: id, parent_id (null for a top-level comment), level, time_published, score, votes, "
    "message_html, message_markdown, author (`fullname (alias)`), children (ids of the replies); [] when "
    "the archive holds none",
}


def arrow_to_feature(kind: Any) -> Any:
    """An Arrow type as a ``datasets`` feature in its YAML form (as ``dataset_info.features`` writes it)."""
    import pyarrow as pa

    if pa.types.is_struct(kind):
        return {"struct": [feature_entry(f.name, arrow_to_feature(f.type)) for f in kind]}
    if pa.types.is_list(kind):
        inner = arrow_to_feature(kind.value_type)
        return {"list": inner["struct"] if isinstance(inner, dict) and "struct" in inner else inner}
    names = {pa.float64(): "float64", pa.float32(): "float32", pa.bool_(): "bool", pa.string(): "string"}
    return names.get(kind, str(kind))


def _type_text(kind: Any) -> str:
    import pyarrow as pa

    if pa.types.is_struct(kind):
        return "struct{" + ", ".join(f"{f.name} {_type_text(f.type)}" for f in kind) + "}"
    if pa.types.is_list(kind):
        return f"list<{_type_text(kind.value_type)}>"
    return str(arrow_to_feature(kind))


def _size_category(rows: int) -> str:
    for limit, name in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
    ):
        if rows < limit:
            return name
    return "1M<n<10M"


def _manifest(root: Path) -> dict[str, Any]:
    try:
        data = json.loads((root / "archive.json").read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _hf_card(root: Path, plan: _Plan, total: _PartResult) -> str:
    schema = plan.output_schema()
    manifest = _manifest(root)
    languages = sorted(total.languages & {"ru", "en"}) or ["ru"]
    header: dict[str, Any] = {
        "license": "other",
        "license_name": "posts belong to their authors",
        "license_link": "https://account.habr.com/info/agreement/",
        "language": languages,
        "pretty_name": "Habr posts (habrmirror export)",
        "size_categories": [_size_category(total.rows)],
        "source_datasets": ["original"],
        "configs": [
            {"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*.parquet"}]}
        ],
        "dataset_info": {
            "features": [feature_entry(f.name, arrow_to_feature(f.type)) for f in schema],
            "splits": [{"name": "train", "num_bytes": total.nbytes, "num_examples": total.rows}],
        },
    }
    descriptions = {name: str(prop.get("description", "")) for name, prop in record_properties().items()}
    if plan.profile == "gusev":
        descriptions.update(_GUSEV_MEANINGS)
    rows = "\n".join(
        f"| `{f.name}` | {_type_text(f.type)} | {descriptions.get(f.name, '').replace('|', '/')} |"
        for f in schema
    )
    selection = []
    if plan.since is not None:
        since = datetime.fromtimestamp(plan.since, timezone.utc).isoformat(timespec="seconds")
        selection.append(f"published at or after {since}")
    if plan.hub:
        selection.append(f"in the hub `{plan.hub}`")
    chosen = f" Only posts {' and '.join(selection)}." if selection else ""
    if plan.profile == "gusev":
        profile = (
            "Columns and types are exactly those of [IlyaGusev/habr](https://huggingface.co/datasets/IlyaGusev/habr),"
            " so code written for that dataset runs on this one. Posts that Habr has since deleted are included;"
            " this profile has no `gone_at` column to mark them."
        )
    else:
        profile = (
            "Columns and types are those of habrmirror's index (`habrmirror/schema/article.schema.json`), a"
            " superset of [IlyaGusev/habr](https://huggingface.co/datasets/IlyaGusev/habr). Posts that Habr has"
            f" since deleted are included, with `gone_at` set ({total.gone} of {total.rows} here)."
        )
    period = ""
    if total.min_time is not None and total.max_time is not None:
        first = datetime.fromtimestamp(total.min_time, timezone.utc).date().isoformat()
        last = datetime.fromtimestamp(total.max_time, timezone.utc).date().isoformat()
        period = f", published {first} to {last}"
    origin = manifest.get("origin") or "https://habr.com"
    crawled = "" if origin.rstrip("/") == "https://habr.com" else f" (this archive was crawled from {origin})"
    return f"""---
{to_yaml(header)}
---
{CARD_MARK}

# Habr posts

{total.rows} posts from [habr.com](https://habr.com){period}, exported by habrmirror {__version__} from an
archive that keeps every page as fetched in WARC files{crawled}.{chosen} {profile}

```python
import datasets
data = datasets.load_dataset("PATH/TO/THIS/FOLDER", split="train")  # no script, no arguments
```

## Source and terms

The texts, images and comments are the work of their authors and were published on
[habr.com](https://habr.com); they belong to their authors, and Habr's
[user agreement](https://account.habr.com/info/agreement/) applies to them. This copy is for research: credit
the authors and habr.com (each row's `url` is the post's address), and respect the authors' rights when you
reuse a text. Archive created {manifest.get("created", "?")} by {manifest.get("software", "habrmirror")}.

## Fields

| field | type | meaning |
|---|---|---|
{rows}
"""


# --- sqlite, csv, jsonl.zst: one writer process ---------------------------------------------------------


def _widened(plan: _Plan, extra: Sequence[str]) -> _Plan:
    """``plan`` reading and yielding also ``extra`` fields (what the writer needs besides the chosen ones)."""
    fields = (*plan.fields, *(name for name in extra if name not in plan.fields))
    read = tuple(name for name in record_schema().names if name in set(plan.read) | set(fields))
    return replace(plan, fields=fields, read=read)


def _row_slices(parts: list[list[Path]], plan: _Plan, total: _PartResult) -> Iterator[list[dict[str, Any]]]:
    """The selected rows as lists of dicts, ROWS_PER_SLICE at a time (one row group in Arrow at a time)."""
    for shards in parts:
        for batch in _part_groups(shards, plan, total):
            for start in range(0, batch.num_rows, ROWS_PER_SLICE):
                yield batch.slice(start, ROWS_PER_SLICE).to_pylist()
            del batch


def _json_text(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode("utf-8")


def _sqlite_type(kind: Any) -> type:
    import pyarrow as pa

    if pa.types.is_nested(kind):
        return str  # lists and objects as JSON text
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return int
    if pa.types.is_floating(kind):
        return float
    return str


def _child_rows(table: str, article_id: int, row: dict[str, Any]) -> list[dict[str, Any]]:
    """One article's rows of a child table of the sqlite export."""
    if table == "hubs":
        aliases, titles = row.get("hubs") or [], row.get("hub_titles") or []
        return [
            {"article_id": article_id, "alias": alias, "title": title}
            for alias, title in itertools.zip_longest(aliases, titles)
        ]
    if table == "tags":
        return [{"article_id": article_id, "tag": tag} for tag in row.get("tags") or []]
    columns = SQLITE_CHILDREN[table][1]
    out = []
    for position, item in enumerate(row.get(table) or []):
        values = {name: (item or {}).get(name) for name in columns if name not in ("article_id", "position")}
        values["article_id"] = article_id
        if "position" in columns:
            values["position"] = position
        out.append(values)
    return out


def _export_sqlite(parts: list[list[Path]], plan: _Plan, target: Path) -> tuple[_PartResult, list[Path]]:
    """One SQLite database, made by sqlite-utils in a temporary file and renamed into place."""
    import pyarrow as pa

    sqlite_utils = require("sqlite_utils", "export --format sqlite")
    chosen = ("id", *(name for name in plan.fields if name != "id"))
    children = [name for name, (source, _) in SQLITE_CHILDREN.items() if source in chosen]
    extra = ["id", "time_published", *(["hub_titles"] if "hubs" in children else [])]
    wide = _widened(replace(plan, fields=chosen), extra)
    schema = wide.output_schema()
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_beside(target)
    total = _PartResult()
    try:
        db = sqlite_utils.Database(temp)
        db.conn.execute("PRAGMA synchronous = OFF")  # a scratch file until it is renamed into place
        columns = {name: _sqlite_type(schema.field(name).type) for name in chosen}
        columns["year"] = int
        db["articles"].create(columns, pk="id")
        for table in children:
            db[table].create(SQLITE_CHILDREN[table][1], foreign_keys=[("article_id", "articles", "id")])
        scalar = {name for name in chosen if not pa.types.is_nested(schema.field(name).type)}
        for rows in _row_slices(parts, wide, total):
            articles = []
            child_rows: dict[str, list[dict[str, Any]]] = {table: [] for table in children}
            for row in rows:
                article = {name: row[name] if name in scalar else _json_text(row[name]) for name in chosen}
                published = row.get("time_published")
                article["year"] = (
                    None if published is None else datetime.fromtimestamp(published, timezone.utc).year
                )
                articles.append(article)
                for table in children:
                    child_rows[table].extend(_child_rows(table, row["id"], row))
            db["articles"].insert_all(articles, batch_size=SQLITE_BATCH)
            for table in children:
                db[table].insert_all(child_rows[table], batch_size=SQLITE_BATCH)
        for table in children:
            db[table].create_index(["article_id"])
        searchable = [name for name in ("title", "text") if name in chosen]
        if searchable:
            db["articles"].enable_fts(searchable, fts_version="FTS5", create_triggers=False)
        db.conn.commit()
        db.close()
        os.replace(temp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    return total, [target]


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        if all(not isinstance(item, dict | list) for item in value):
            return CSV_SEPARATOR.join("" if item is None else _csv_cell(item) for item in value)
        return orjson.dumps(value).decode("utf-8")
    if isinstance(value, dict):
        return orjson.dumps(value).decode("utf-8")
    return str(value)


def _csv_rows(stream: Any, parts: list[list[Path]], plan: _Plan, total: _PartResult) -> None:
    writer = csv.writer(stream)
    for rows in _row_slices(parts, plan, total):
        writer.writerows([_csv_cell(row[name]) for name in plan.fields] for row in rows)


def _csv_part(shards: list[str], plan: _Plan, target: str) -> _PartResult:
    """One part's CSV lines (no header) in ``target``: a worker's unit of work when jobs > 1."""
    total = _PartResult()
    with _returning_pool(), open(target, "w", encoding="utf-8", newline="") as stream:
        _csv_rows(stream, [[Path(shard) for shard in shards]], plan, total)
    return total


def _export_csv(
    parts: list[list[Path]], plan: _Plan, target: Path, jobs: int
) -> tuple[_PartResult, list[Path]]:
    """One CSV file (header line, UTF-8), written to a temporary file and renamed into place. With jobs > 1
    each part's lines are made by a worker into a file of their own and copied in, in part order: a CSV
    writer keeps no state from row to row, so the bytes are those one process writes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_beside(target)
    scratch = _temp_beside(target, ".d")
    total = _PartResult()
    try:
        with temp.open("w", encoding="utf-8", newline="") as stream:
            csv.writer(stream).writerow(plan.fields)
            if jobs == 1 or len(parts) == 1:
                _csv_rows(stream, parts, plan, total)
            else:
                scratch.mkdir()
                names = [str(scratch / f"{i:05d}.csv") for i in range(len(parts))]
                with process_pool(jobs) as pool:
                    futures = [
                        pool.submit(_csv_part, [str(s) for s in shards], plan, name)
                        for shards, name in zip(parts, names, strict=True)
                    ]
                    for future, name in zip(futures, names, strict=True):
                        total.add(future.result())
                        stream.flush()
                        with open(name, "rb") as lines:
                            shutil.copyfileobj(lines, stream.buffer)
                        os.unlink(name)
        os.replace(temp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        shutil.rmtree(scratch, ignore_errors=True)
    return total, [target]


def _line_selected(row: dict[str, Any], plan: _Plan) -> bool:
    """The filters of :func:`_select_rows`, on one parsed index line."""
    if plan.since is not None:
        published = row.get("time_published")
        if published is None or published < plan.since:
            return False
    if plan.hub is not None:
        names = [*(row.get("hubs") or []), *(row.get("hub_titles") or [])]
        if plan.hub not in {str(name).lower() for name in names if name is not None}:
            return False
    return True


def _export_jsonl_zst(parts: list[list[Path]], plan: _Plan, target: Path) -> tuple[_PartResult, list[Path]]:
    """The index lines, shard by shard, in one zstd stream: each line as stored unless ``fields`` narrows it."""
    zstandard = require("zstandard", "export --format jsonl.zst")
    all_fields = tuple(plan.fields) == tuple(record_schema().names)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_beside(target)
    total = _PartResult()
    try:
        with temp.open("wb") as raw, zstandard.ZstdCompressor(level=6).stream_writer(raw) as sink:
            for shards in parts:
                for shard in shards:
                    with shard.open("rb") as lines:
                        for line in lines:
                            if not line.strip():
                                continue
                            row = orjson.loads(line)
                            if not _line_selected(row, plan):
                                continue
                            total.rows += 1
                            total.gone += row.get("gone_at") is not None
                            if all_fields:
                                sink.write(line if line.endswith(b"\n") else line + b"\n")
                            else:
                                sink.write(
                                    orjson.dumps({name: row.get(name) for name in plan.fields}) + b"\n"
                                )
        os.replace(temp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    return total, [target]


SINGLE_WRITER_FORMATS = {"sqlite": _export_sqlite, "jsonl.zst": _export_jsonl_zst}
