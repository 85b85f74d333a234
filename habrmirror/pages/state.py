"""The page state a Habr SSR page ships in an inline script, decoded once: ``window.__INITIAL_STATE__`` (Vuex,
2019 m.habr.com and 2021-2025 habr.com) or ``window.__PINIA_STATE__`` (Pinia, 2025+; the same ``articlesList``
shape for listings and articles). Browser-saved pages have neither.

Used by the article page objects (``habrmirror.pages``) and the listing page objects alike.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lxml.html import HtmlElement

INITIAL_STATE = "__INITIAL_STATE__"
PINIA_STATE = "__PINIA_STATE__"
_STATE_START = re.compile(r"(?:window\.)?__(?:INITIAL|PINIA)_STATE__\s*=\s*")


def has_page_state(text: str) -> bool:
    """Cheap substring test on the decoded page before any script is looked at."""
    return INITIAL_STATE in text or PINIA_STATE in text


def is_pinia(text: str) -> bool:
    """True when the page keeps its state in Pinia's ``window.__PINIA_STATE__`` (Habr since 2025)."""
    return "window." + PINIA_STATE in text


def page_state(doc: HtmlElement) -> dict[str, Any] | None:
    """``window.__INITIAL_STATE__={...};(function(){...})()`` or ``window.__PINIA_STATE__={...}`` decoded; None
    when the page has neither (``raw_decode`` stops at the object's end). A script whose object does not decode
    is skipped, so a later script can still answer."""
    for script in doc.iter("script"):
        text = script.text
        if not text or "_STATE__" not in text:
            continue
        match = _STATE_START.search(text)
        if match is None:
            continue
        try:
            state, _ = json.JSONDecoder().raw_decode(text, match.end())
        except (
            ValueError,
            RecursionError,
        ):  # RecursionError: nested deeper than Python's stack (a JSON bomb)
            continue
        if isinstance(state, dict):
            return state
    return None


# Typed reads of the decoded state. The state is the page's JSON, so any value can have any type (a cut page, a
# schema change, a hostile server): a page object asks for the type it needs and gets None / {} / [] otherwise,
# never an AttributeError on ``True.get`` or a number where a title belongs.
def str_at(mapping: object, key: str) -> str | None:
    """``mapping[key]`` when it is a non-empty string, else None."""
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, str) and value else None


def dict_at(mapping: object, key: str) -> dict[str, Any]:
    """``mapping[key]`` when it is an object, else ``{}``."""
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, dict) else {}


def list_at(mapping: object, key: str) -> list[Any] | None:
    """``mapping[key]`` when it is an array, else None (absent and not-an-array alike)."""
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, list) else None
