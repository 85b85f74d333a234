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
