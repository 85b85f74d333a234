"""The index record's JSON Schema (``article.schema.json``) and its validator, with no Scrapy import.

Used by the crawl's validation pipeline, by ``verify`` and ``reindex``, and by the tests.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator


@cache
def article_schema() -> dict[str, Any]:
    """The JSON Schema researchers rely on."""
    text = resources.files(__name__).joinpath("article.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def article_validator() -> Draft202012Validator:
    return Draft202012Validator(article_schema())


def validation_errors(record: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for each schema violation of one index record; empty when valid."""
    errors = []
    for error in article_validator().iter_errors(record):
        field = str(error.path[0]) if error.path else (error.validator or "record")
        errors.append((str(field), error.message))
    return errors
