"""The data that flows through a crawl: plain dataclasses, nothing else.

Page objects (``habrmirror.pages``) build an :class:`Article`; ``habrmirror.capture`` fills in what only the
capture knows (``fetched_url``, ``captured_at``, ``warc``; the media pipeline each image's ``archived`` and
``error``); the index gets :func:`article_record` of it as one JSON line. The JSON Schema in ``schema/article.schema.json`` is the
contract for that line, and a test keeps it, this module and the README field table in agreement.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

SCHEMA_VERSION = 1


@dataclass
class Image:
    """One image of the article body, in body order."""

    url: str
    alt: str | None = None
    archived: bool = False
    error: str | None = None


@dataclass
class Link:
    """One hyperlink of the article body (absolute URL and its visible text)."""

    url: str
    text: str


@dataclass
class WarcPointer:
    """Where the bytes of a capture are: a gzip member of a WARC file, relative to the archive directory."""

    filename: str
    offset: int
    length: int
    record_id: str


@dataclass
class Article:
    """One Habr post as the index stores it (a superset of the IlyaGusev/habr dataset record)."""

    id: int
    language: str | None = None
    url: str | None = None
    title: str | None = None
    text_markdown: str | None = None
    text_html: str | None = None
    author: str | None = None
    original_author: str | None = None
    original_url: str | None = None
    lead_html: str | None = None
    lead_markdown: str | None = None
    type: str | None = None
    time_published: int | None = None
    statistics: dict[str, int] | None = None
    labels: list[str] = field(default_factory=list)
    hubs: list[str] = field(default_factory=list)
    flows: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    reading_time: int | None = None
    format: str | None = None
    complexity: str | None = None
    comments: Any = None
    # --- habrmirror's own fields ---
    text: str | None = None
    author_name: str | None = None
    published_at: str | None = None
    hub_titles: list[str] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    fetched_url: str | None = None
    captured_at: str | None = None
    warc: WarcPointer | None = None
    parser: str | None = None
    gone_at: str | None = None
    schema_version: int = SCHEMA_VERSION


# The statistics keys the IlyaGusev/habr dataset uses; page objects fill only those the page carries.
STATISTICS_KEYS = (
    "commentsCount",
    "favoritesCount",
    "readingCount",
    "score",
    "votesCount",
    "votesCountPlus",
    "votesCountMinus",
)


_ARTICLE_FIELDS = tuple(f.name for f in fields(Article))


def article_record(article: Article) -> dict[str, Any]:
    """The JSON-ready dict of an article: exactly one index line (what ``dataclasses.asdict`` gives, without
    its recursive deep copy, which cost a tenth of a crawl's parse time)."""
    record = {name: getattr(article, name) for name in _ARTICLE_FIELDS}
    # every counter key in every row (null where the page lacks it): readers that infer a struct per file
    # (pyarrow, datasets) then see one shape
    record["statistics"] = (
        {key: article.statistics.get(key) for key in STATISTICS_KEYS}
        if article.statistics is not None
        else None
    )
    for name in ("labels", "hubs", "flows", "tags", "hub_titles"):
        record[name] = list(record[name])
    record["images"] = [asdict(image) for image in article.images]
    record["links"] = [{"url": link.url, "text": link.text} for link in article.links]
    record["warc"] = asdict(article.warc) if article.warc is not None else None
    return record
