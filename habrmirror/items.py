"""The data that flows through a crawl: plain dataclasses, nothing else.

Page objects (``habrmirror.pages``) build an :class:`Article`, with the :class:`Comment` list the page renders (or
the comments API gives); ``habrmirror.capture`` fills in what only the capture knows (``fetched_url``,
``captured_at``, ``warc``; the media pipeline each image's ``archived`` and ``error``); the index gets
:func:`article_record` of it as one JSON line. The JSON Schema in ``schema/article.schema.json`` is the contract
for that line, and a test keeps it, this module and the README field table in agreement.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

# 2: every row has `comments` (a list of typed comments) and `comments_status`; `statistics` is always an
# object. Rows of version 1 are rewritten by `habrmirror reindex` (verify names the rows still at 1).
SCHEMA_VERSION = 2


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
class Comment:
    """One comment of a post, in thread order (depth-first from the roots, replies in the order Habr gives).

    A deleted or banned comment keeps its place in the tree (its replies hang under it), with what Habr still
    shows of it: ``banned`` (moderated, shown as "НЛО прилетело и опубликовало эту надпись здесь"; message "")
    and ``deleted`` say which. ``parent_id`` is 0 for a root; a reply whose parent is not in the answer keeps
    the parent's id (never re-labelled a root) and is listed after the complete threads.
    """

    id: int
    parent_id: int = 0
    level: int = 0
    time_published: int | None = None  # Unix seconds UTC
    time_changed: int | None = None
    score: int | None = None
    votes: int | None = None  # votes cast (up + down), not the score
    message_html: str = ""
    message_markdown: str = ""
    author: str | None = None  # login
    author_name: str | None = None  # display name
    author_id: int | None = None
    children: list[int] = field(default_factory=list)  # ids of the direct replies, in thread order
    deleted: bool = False
    banned: bool = False


# What ``Article.comments`` holds and where it came from (the schema's ``comments_status`` documents them).
COMMENTS_NOT_FETCHED = "not_fetched"  # no capture has read them (the page has no comments section)
COMMENTS_FROM_PAGE = "page"  # read from the article page itself: complete as the page rendered it
COMMENTS_FROM_API = (
    "api"  # from Habr's comments API: the whole thread in one answer, as Habr's web client asks
)
COMMENTS_FROM_COMMENTS_PAGE = "comments_page"  # from the post's comments page (/ru/articles/ID/comments/)
COMMENTS_NONE = "none"  # the post has no comments (the API said so)
COMMENTS_SKIPPED_ROBOTS = "skipped_robots"  # the comments URL is disallowed by robots.txt
COMMENTS_FAILED = "failed"  # fetching or reading them failed (the capture log says why)
COMMENTS_STATUSES = (
    COMMENTS_NOT_FETCHED,
    COMMENTS_FROM_PAGE,
    COMMENTS_FROM_API,
    COMMENTS_FROM_COMMENTS_PAGE,
    COMMENTS_NONE,
    COMMENTS_SKIPPED_ROBOTS,
    COMMENTS_FAILED,
)


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
    comments: list[Comment] = field(default_factory=list)
    comments_status: str | None = None  # one of COMMENTS_STATUSES; None is written as "not_fetched"
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
_COMMENT_FIELDS = tuple(f.name for f in fields(Comment))


def comment_record(comment: Comment) -> dict[str, Any]:
    """The JSON-ready dict of a comment (``dataclasses.asdict`` without its deep copy: a row may hold thousands)."""
    record = {name: getattr(comment, name) for name in _COMMENT_FIELDS}
    record["children"] = list(comment.children)
    return record


def article_record(article: Article) -> dict[str, Any]:
    """The JSON-ready dict of an article: exactly one index line (what ``dataclasses.asdict`` gives, without
    its recursive deep copy, which cost a tenth of a crawl's parse time)."""
    record = {name: getattr(article, name) for name in _ARTICLE_FIELDS}
    # always an object with every counter key (null where the page lacks it): readers that infer a struct per
    # file (pyarrow, datasets) then see one shape
    statistics = article.statistics or {}
    record["statistics"] = {key: statistics.get(key) for key in STATISTICS_KEYS}
    record["comments"] = [comment_record(comment) for comment in article.comments]
    record["comments_status"] = article.comments_status or COMMENTS_NOT_FETCHED
    for name in ("labels", "hubs", "flows", "tags", "hub_titles"):
        record[name] = list(record[name])
    record["images"] = [asdict(image) for image in article.images]
    record["links"] = [{"url": link.url, "text": link.text} for link in article.links]
    record["warc"] = asdict(article.warc) if article.warc is not None else None
    return record
