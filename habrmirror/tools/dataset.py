"""The index as a researcher's data set: rows streamed as dicts, as Arrow or pandas with the schema's types, and
from any row back to the archived HTTP response its ``warc`` pointer names.

Offline, over an archive directory (tools/, no Scrapy): ``index/*.jsonl`` shard by shard (one shard in memory
at a time), typed by :func:`habrmirror.schema.arrow_schema`, the bytes read with :mod:`habrmirror.archive.reader`.
pyarrow and pandas are optional (the ``research`` extra) and imported only by the calls that need them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from habrmirror.archive.reader import decoded_payload, read_record
from habrmirror.items import WarcPointer

EXTRA = "pip install 'habrmirror[research]'"
_BLOCK_BYTES = (
    1 << 20
)  # pyarrow's JSON block (its default): rows are parsed in parallel by block; a longer row grows it


class MissingExtra(ImportError):
    """An optional research package (pyarrow, pandas, datasets, duckdb) is not installed."""


def require(module: str, purpose: str) -> Any:
    """``import module``, or a one-line :class:`MissingExtra` naming the extra that brings it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise MissingExtra(f"{purpose} needs {top}, which is not installed: {EXTRA}") from None


def index_dir_of(root: Path | str) -> Path:
    """The ``index/`` of an archive directory (or ``root`` itself when it is an index directory)."""
    path = Path(root)
    if (path / "index").is_dir():
        return path / "index"
    if path.is_dir() and any(path.glob("*.jsonl")) and not (path / "warc").is_dir():
        return path
    raise FileNotFoundError(f"no index at {path} (no index/ directory in it)")


def archive_dir_of(index_dir: Path) -> Path:
    """The archive directory an index directory belongs to (where ``warc`` pointers are relative to)."""
    return index_dir.parent if index_dir.name == "index" else index_dir


def read_shard(path: Path, schema: Any) -> Any:
    """One shard as a ``pyarrow.Table`` of exactly ``schema`` (its columns, in its order, with its types):
    fields the schema does not name are skipped by the parser, so a narrow schema reads only what it names."""
    import pyarrow as pa
    import pyarrow.json as pj

    size = path.stat().st_size
    if size == 0:
        return schema.empty_table()
    parse = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    block = min(_BLOCK_BYTES, size + 1)
    while True:
        try:
            table = pj.read_json(path, read_options=pj.ReadOptions(block_size=block), parse_options=parse)
            break
        except pa.ArrowInvalid as error:
            # a row longer than a block ("straddling object", "JSON conversion"): read in larger blocks
            if block > size or not ("straddl" in str(error) or "conversion" in str(error)):
                raise
            block *= 4
    return table.select(schema.names)


def record_schema(fields: Sequence[str] | None = None) -> Any:
    """The Arrow schema of the index record, narrowed to ``fields`` (in the order given) when they are named."""
    from habrmirror.schema import arrow_schema

    require("pyarrow", "reading the index as Arrow")
    schema = arrow_schema()
    if fields is None:
        return schema
    unknown = [name for name in fields if name not in schema.names]
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; the index has: {', '.join(schema.names)}")
    import pyarrow as pa

    return pa.schema([schema.field(name) for name in fields])


@dataclass(frozen=True)
class ArchivedResponse:
    """The HTTP response an index row points at, as archived: status line, headers as received (in order,
    duplicates kept), body with its Content-Encoding removed (``payload`` is the body as stored)."""

    url: str | None
    date: str | None  # WARC-Date: when it was downloaded
    record_id: str
    protocol: str | None
    status: int | None
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    payload: bytes

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case ignored)."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def text(self) -> str:
        """The body as text, in the charset its Content-Type names (UTF-8 otherwise), bad bytes replaced."""
        content_type = self.header("Content-Type") or ""
        charset = next(
            (part.split("=", 1)[1].strip(" \"'") for part in content_type.split(";") if "charset=" in part),
            "utf-8",
        )
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


def _pointer_of(row: Any) -> WarcPointer:
    warc = row if isinstance(row, WarcPointer) else row["warc"]
    if isinstance(warc, WarcPointer):
        return warc
    if warc is None or not isinstance(warc, Mapping):
        ident = row.get("id") if isinstance(row, Mapping) else None
        raise ValueError(f"row {ident if ident is not None else '?'} has no WARC pointer (warc is null)")
    return WarcPointer(
        filename=str(warc["filename"]),
        offset=int(warc["offset"]),
        length=int(warc["length"]),
        record_id=str(warc["record_id"]),
    )


def open_record(row: Any, root: Path | str = "archives") -> ArchivedResponse:
    """The archived HTTP response of an index row (a dict, a pandas row, a ``datasets`` row, or its ``warc``
    pointer), read from the archive at ``root``: the gzip member at ``warc.offset``, checked to be the record
    ``warc.record_id``."""
    base = Path(root)
    is_archive = (base / "index").is_dir() or (base / "warc").is_dir()
    archive = base if is_archive else archive_dir_of(base)  # else an index directory was given
    stored = read_record(archive, _pointer_of(row))
    http = stored.http_headers
    protocol = http.protocol if http is not None else None
    statusline = str(http.statusline) if http is not None else ""
    code, _, reason = statusline.partition(" ")
    return ArchivedResponse(
        url=stored.target_uri,
        date=stored.warc_date,
        record_id=stored.record_id,
        protocol=protocol or None,
        status=int(code) if code.isdigit() else None,
        reason=reason,
        headers=[(str(k), str(v)) for k, v in http.headers] if http is not None else [],
        body=decoded_payload(stored),
        payload=stored.payload,
    )


class ArchiveIndex:
    """The index of one archive: iterate it for rows as dicts (streamed, shard by shard), or read it whole
    with :meth:`to_arrow` / :meth:`to_pandas`; :meth:`open_record` leads from a row to its archived bytes."""

    def __init__(self, root: Path | str, fields: Sequence[str] | None = None) -> None:
        self.index_dir = index_dir_of(root)
        self.root = archive_dir_of(self.index_dir)
        self.fields = list(fields) if fields is not None else None

    def __repr__(self) -> str:
        return f"ArchiveIndex({str(self.root)!r}, shards={len(self.shards)})"

    @property
    def shards(self) -> list[Path]:
        """The shard files, in id order."""
        return sorted(self.index_dir.glob("*.jsonl"))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        wanted = self.fields
        for path in self.shards:
            with path.open("rb") as handle:
                for line in handle:
                    if not line.strip():
                        continue
                    row = orjson.loads(line)
                    yield row if wanted is None else {name: row.get(name) for name in wanted}

    def iter_tables(self) -> Iterator[Any]:
        """One ``pyarrow.Table`` per shard, every one of the same schema (streamed: one shard at a time)."""
        schema = record_schema(self.fields)
        for path in self.shards:
            yield read_shard(path, schema)

    def to_arrow(self) -> Any:
        """The whole index as one ``pyarrow.Table`` with the schema's types (:func:`~habrmirror.schema.arrow_schema`)."""
        pa = require("pyarrow", "to_arrow()")
        tables = list(self.iter_tables())
        return pa.concat_tables(tables) if tables else record_schema(self.fields).empty_table()

    def to_pandas(self, dtype_backend: str = "pyarrow") -> Any:
        """The whole index as a ``pandas.DataFrame``.

        ``dtype_backend="pyarrow"`` (default) keeps the schema's types: integers stay integers where values
        are missing, a list cell is a Python list, a struct cell a dict. ``"numpy"`` gives pandas' classic
        dtypes (float for integers with gaps, arrays for lists).
        """
        pd = require("pandas", "to_pandas()")
        table = self.to_arrow()
        if dtype_backend == "pyarrow":
            return table.to_pandas(types_mapper=pd.ArrowDtype)
        if dtype_backend == "numpy":
            return table.to_pandas()
        raise ValueError(f"dtype_backend must be 'pyarrow' or 'numpy', got {dtype_backend!r}")

    def open_record(self, row: Any) -> ArchivedResponse:
        """The archived HTTP response of ``row`` (see :func:`open_record`)."""
        return open_record(row, self.root)

    def get(self, article_id: int) -> dict[str, Any] | None:
        """The row of one id (read from its shard only), or None."""
        from habrmirror.store.index import find_line, shard_name

        line = find_line(self.index_dir / shard_name(article_id), article_id)
        if line is None:
            return None
        row: dict[str, Any] = orjson.loads(line)
        return row if self.fields is None else {name: row.get(name) for name in self.fields}


def load_index(root: Path | str = "archives", fields: Iterable[str] | None = None) -> ArchiveIndex:
    """The index of the archive at ``root``: ``for row in load_index(DIR)`` streams rows as dicts;
    ``.to_pandas()`` / ``.to_arrow()`` read it whole, typed; ``.open_record(row)`` gives a row's archived
    response. ``fields`` narrows every row (and every table) to those fields."""
    return ArchiveIndex(root, list(fields) if fields is not None else None)
