"""The index record's JSON Schema (``article.schema.json``) and its validator, with no Scrapy import.

Used by the crawl's validation pipeline, by ``verify`` and ``reindex``, and by the tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator


@cache
def article_schema() -> dict[str, Any]:
    """The JSON Schema researchers rely on."""
    text = resources.files(__name__).joinpath("article.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def article_validator() -> Draft202012Validator:
    """The reference validator (JSON Schema 2020-12): slow, but names every violation."""
    return Draft202012Validator(article_schema())


@cache
def _fast_check() -> Callable[[dict[str, Any]], Any]:
    """The same schema compiled to Python by fastjsonschema (~40x faster): the hot path of crawl and reindex.

    fastjsonschema knows drafts up to 07; the schema uses nothing newer (a test checks both agree).
    """
    schema = dict(article_schema(), **{"$schema": "http://json-schema.org/draft-07/schema#"})
    return fastjsonschema.compile(schema)


# What ``comments`` will hold once comments are archived (the shape planned for the index row), used while
# ``article.schema.json`` still leaves ``comments`` untyped: every row carries null there today, and a reader
# given this type reads null as a missing list. Once the JSON Schema types ``comments``, its type is used.
PLANNED_COMMENT_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "integer"),
    ("parent_id", "integer"),
    ("level", "integer"),
    ("time_published", "integer"),
    ("time_changed", "integer"),
    ("score", "integer"),
    ("votes", "integer"),
    ("message_html", "string"),
    ("message_markdown", "string"),
    ("author", "string"),
    ("author_name", "string"),
    ("author_id", "integer"),
    ("children", "array"),
    ("deleted", "boolean"),
    ("banned", "boolean"),
)


def _planned_comments() -> dict[str, Any]:
    properties: dict[str, Any] = {
        name: {"type": "array", "items": {"type": "integer"}} if kind == "array" else {"type": [kind, "null"]}
        for name, kind in PLANNED_COMMENT_FIELDS
    }
    return {"type": ["array", "null"], "items": {"type": "object", "properties": properties}}


def _kind(prop: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The one non-null JSON type of a property (``"null"`` when it has none) and the schema that has it."""
    for key in ("oneOf", "anyOf"):  # null or an object, null or a string ...
        if key in prop:
            typed = [p for p in prop[key] if p.get("type", "null") != "null"]
            if typed:
                prop = typed[0]
    kinds = prop.get("type", "null")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    return next((k for k in kinds if k != "null"), "null"), prop


def record_properties() -> dict[str, dict[str, Any]]:
    """The record's properties in column order, ``comments`` given its planned shape while it is untyped."""
    properties = dict(article_schema()["properties"])
    if "comments" in properties and _kind(properties["comments"])[0] == "null":
        properties["comments"] = _planned_comments()
    return properties


def arrow_schema() -> Any:
    """The index record as a ``pyarrow.Schema``, for readers that infer types per file (``datasets``, pyarrow).

    JSON cannot say what type an all-null column has, so a shard whose rows all lack, say, ``original_url``
    infers ``null`` there and then clashes with a shard that has strings. Give readers this schema::

        features = datasets.Features.from_arrow_schema(arrow_schema())
        datasets.load_dataset("json", data_files="DIR/index/*.jsonl", features=features)

    Built from ``article.schema.json`` (a test keeps the two in step): integers are int64, objects structs,
    arrays lists; ``comments`` is a list of comment structs (null in today's rows). Needs pyarrow, imported here.
    """
    import pyarrow as pa

    scalars = {
        "string": pa.string(),
        "integer": pa.int64(),
        "number": pa.float64(),
        "boolean": pa.bool_(),
        "null": pa.null(),
    }

    def arrow_type(prop: dict[str, Any]) -> Any:
        kind, prop = _kind(prop)
        if kind == "object":
            return pa.struct([(name, arrow_type(sub)) for name, sub in prop.get("properties", {}).items()])
        if kind == "array":
            return pa.list_(arrow_type(prop.get("items", {})))
        return scalars[kind]

    return pa.schema([(name, arrow_type(prop)) for name, prop in record_properties().items()])


def hf_features(prop_or_kind: Any) -> Any:
    """A JSON Schema property as a Hugging Face ``datasets`` feature in its YAML form (``dataset_info``):
    ``"int64"``, ``{"struct": [...]}`` or ``{"list": ...}``: the same types :func:`arrow_schema` gives."""
    kind, prop = _kind(prop_or_kind)
    if kind == "object":
        return {"struct": [feature_entry(n, hf_features(p)) for n, p in prop.get("properties", {}).items()]}
    if kind == "array":
        inner = hf_features(prop.get("items", {}))
        # a list of structs is written ``list: [entries]``, as ``datasets`` writes it
        return {"list": inner["struct"] if isinstance(inner, dict) and "struct" in inner else inner}
    return {"string": "string", "integer": "int64", "number": "float64", "boolean": "bool", "null": "null"}[
        kind
    ]


def feature_entry(name: str, feature: Any) -> dict[str, Any]:
    """``{"name": ..., "dtype" | "struct" | "list": ...}``: one entry of a ``dataset_info.features`` list."""
    if isinstance(feature, str):
        return {"name": name, "dtype": feature}
    return {"name": name, **feature}


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def to_yaml(value: Any, indent: int = 0) -> str:
    """Block-style YAML for the nested dicts, lists and scalars of a dataset card header (no PyYAML needed);
    a list item that is a dict starts on the dash line, as ``datasets`` writes its cards."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{key}:")
                lines.append(to_yaml(item, indent + 2))
            else:
                lines.append(f"{pad}{key}: {_yaml_scalar(item) if item != [] else '[]'}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item:
                body = to_yaml(item, indent + 2)
                lines.append(f"{pad}- {body[indent + 2 :]}")
            elif isinstance(item, list) and item:
                lines.append(f"{pad}-")
                lines.append(to_yaml(item, indent + 2))
            else:
                lines.append(f"{pad}- {_yaml_scalar(item)}")
    else:
        lines.append(pad + _yaml_scalar(value))
    return "\n".join(lines)


def index_dataset_card(origin: str = "https://habr.com") -> str:
    """A dataset card (``README.md``) for the archive directory itself, so that
    ``datasets.load_dataset("DIR")`` reads ``index/*.jsonl`` with no script and no arguments, typed by the
    schema (the ``json`` builder alone types columns from the first file, see :func:`arrow_schema`).

    Static for a schema version: the store can write it once beside ``archive.json``. Pure: no pyarrow.
    """
    header = {
        "license": "other",
        "license_name": "posts belong to their authors",
        "license_link": "https://account.habr.com/info/agreement/",
        "pretty_name": "habrmirror archive index",
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": "index/*.jsonl"}]}],
        "dataset_info": {
            "features": [feature_entry(name, hf_features(prop)) for name, prop in record_properties().items()]
        },
    }
    return (
        f"---\n{to_yaml(header)}\n---\n\n# habrmirror archive\n\n"
        f"Posts of {origin} archived as WARC files (`warc/`) with a JSON index (`index/*.jsonl`, one line per "
        'post, schema `habrmirror/schema/article.schema.json`). `datasets.load_dataset("DIR")` reads the '
        "index with the types above.\n\nThe posts belong to their authors; the archive is a copy for "
        f"research, attribution: {origin}.\n"
    )


def validation_errors(record: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for each schema violation of one index record; empty when valid."""
    try:
        _fast_check()(record)
        return []
    except fastjsonschema.JsonSchemaException:
        pass  # invalid: let the reference validator list every violation by field
    errors = []
    for error in article_validator().iter_errors(record):
        field = str(error.path[0]) if error.path else (error.validator or "record")
        errors.append((str(field), error.message))
    return errors
