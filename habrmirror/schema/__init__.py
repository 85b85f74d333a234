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


def arrow_schema() -> Any:
    """The index record as a ``pyarrow.Schema``, for readers that infer types per file (``datasets``, pyarrow).

    JSON cannot say what type an all-null column has, so a shard whose rows all lack, say, ``original_url``
    infers ``null`` there and then clashes with a shard that has strings. Give readers this schema::

        features = datasets.Features.from_arrow_schema(arrow_schema())
        datasets.load_dataset("json", data_files="DIR/index/*.jsonl", features=features)

    Built from ``article.schema.json`` (a test keeps the two in step); needs pyarrow, imported here only.
    """
    import pyarrow as pa

    def arrow_type(prop: dict[str, Any]) -> Any:
        if "oneOf" in prop:  # null or an object
            prop = next(p for p in prop["oneOf"] if p.get("type") == "object")
        kinds = prop.get("type", "null")
        kinds = [kinds] if isinstance(kinds, str) else kinds
        kind = next((k for k in kinds if k != "null"), "null")
        if kind == "object":
            return pa.struct([(name, arrow_type(sub)) for name, sub in prop["properties"].items()])
        if kind == "array":
            return pa.list_(arrow_type(prop["items"]))
        return {
            "string": pa.string(),
            "integer": pa.int64(),
            "number": pa.float64(),
            "boolean": pa.bool_(),
            "null": pa.null(),
        }[kind]

    return pa.schema([(name, arrow_type(prop)) for name, prop in article_schema()["properties"].items()])


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
