"""Words for people: counts with the right plural, shared by every room that prints (cli, crawl, store, tools)."""

from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 article``, ``2 articles`` (``many`` for irregular plurals: ``plural(2, "index", "indexes")``)."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"
