"""Comments: Habr's comments API answers and the comments an article page renders, read into ``items.Comment``.

Place in the flow: pure parsing, beside the article page objects. :func:`parse_comments_api` reads a comments API
response (kek/v2 since 2021, the old app API v1); the article page objects call :func:`legacy_page_comments` and
:func:`tm_page_comments` on the page they parsed. Every path ends in :func:`thread_order`, so comments come out
the same way whatever the source:

* thread order: depth-first from the roots (kek: ``threads``), replies in the order Habr gives (kek: each
  comment's ``children``; v1 and pages: the order of the answer / the page);
* ``children`` lists only replies present in the answer, and every comment in it appears in its parent's;
* a comment whose parent is not in the answer (a cut page, a moderated parent the API left out) is kept, with
  its ``parent_id`` as Habr gave it (it is not re-labelled a root: that would invent a fact), listed after the
  complete threads as the top of its own branch; a cycle of parent ids is broken the same way;
* a banned comment (moderated: Habr shows "НЛО прилетело и опубликовало эту надпись здесь" instead, legacy
  ``div.comment__message_banned``; kek ``isSuspended``) keeps its place with ``banned`` set and the placeholder
  dropped from the message; ``deleted`` is set only where Habr marks a comment deleted (``isDeleted`` /
  ``is_deleted`` in an API answer, a ``comment__message_deleted`` class): none of the saved real answers has one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape
from typing import Any

from lxml import etree
from lxml.html import HtmlElement

from habrmirror.items import Comment
from habrmirror.pages.errors import ParseError
from habrmirror.pages.markdown import BodyRenderer
from habrmirror.pages.text import (
    MOSCOW,
    class_xpath,
    clean_text,
    decode_body,
    exact_int,
    first_match,
    parse_document,
    parse_fragment,
    parse_human_date,
    parse_iso,
    parse_votes_title,
)

__all__ = [
    "BANNED_TEXT",
    "CommentsPage",
    "legacy_page_comments",
    "parse_comments_api",
    "parse_comments_page",
    "thread_order",
    "tm_page_comments",
]

# What Habr shows in place of a moderated comment, in every era.
BANNED_TEXT = "НЛО прилетело и опубликовало эту надпись здесь"
# Habr's kek API and tm pages wrap each message in this element; it is not part of the message.
_XHTML_WRAPPER = '<div xmlns="http://www.w3.org/1999/xhtml">'
DEFAULT_BASE_URL = "https://habr.com/"


@dataclass
class CommentsPage:
    """One comments API answer: the comments in thread order, and what the answer says about paging."""

    comments: list[Comment] = field(default_factory=list)
    pages: int | None = None  # how many pages the thread list has, when the answer says
    pinned_ids: list[int] = field(default_factory=list)  # kek ``pinnedCommentIds``, when present


# -- values ---------------------------------------------------------------------------------------------------
def _int(value: Any) -> int | None:
    """An id or counter as int: ints and digit strings ("19831270"); anything else (bool, "", null) None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def _text(value: Any) -> str | None:
    return clean_text(value) or None if isinstance(value, str) else None


def _unix(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def _dict(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, dict) else {}


def _list(raw: dict[str, Any], key: str) -> list[Any]:
    value = raw.get(key)
    return value if isinstance(value, list) else []


def _str(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    return value if isinstance(value, str) else ""


def _flag(raw: dict[str, Any], *keys: str) -> bool:
    return any(raw.get(key) is True for key in keys)


def message_fields(html: str | None, base_url: str = DEFAULT_BASE_URL) -> tuple[str, str]:
    """(message_html, message_markdown) of an API message: the xhtml wrapper div dropped (the rest kept as
    given), Markdown by the body renderer."""
    html = (html or "").strip()
    if not html:
        return "", ""
    root = parse_fragment(html)
    element = root
    if html.startswith(_XHTML_WRAPPER) and html.endswith("</div>"):
        only = [child for child in root if isinstance(child.tag, str)]
        # one wrapper around everything (nothing beside it): slice it off the string, keep the bytes inside
        if len(only) == 1 and not (root.text or "").strip() and not (only[0].tail or "").strip():
            html = html[len(_XHTML_WRAPPER) : -len("</div>")].strip()
            element = only[0]
    return html, BodyRenderer(base_url).render(element)


# -- the tree -------------------------------------------------------------------------------------------------
def thread_order(comments: Iterable[Comment], roots: Iterable[int] = ()) -> list[Comment]:
    """The comments depth-first from ``roots`` (then every ``parent_id == 0`` comment not named there), each
    one's replies in the order of its ``children`` and then of the input; ``children`` rewritten to the replies
    present. Comments no root reaches (missing parent, cycles) follow, each the top of its own branch. A comment
    whose ``level`` is unknown (negative) gets its depth in this walk. Duplicated ids: the first one wins."""
    by_id: dict[int, Comment] = {}
    for comment in comments:
        by_id.setdefault(comment.id, comment)
    replies: dict[int, list[int]] = {ident: [] for ident in by_id}
    # Membership in sets beside the ordered lists: a list test made an answer of n threads (or one comment with
    # n unlisted replies) cost n**2 (10,000 threads: 0.5 s; the 40 MB an answer may have: minutes).
    listed: dict[int, set[int]] = {}
    for comment in by_id.values():  # declared order first, only replies that say so themselves
        replies[comment.id] = [
            child
            for child in dict.fromkeys(comment.children)
            if child in by_id and child != comment.id and by_id[child].parent_id == comment.id
        ]
        listed[comment.id] = set(replies[comment.id])
    for comment in by_id.values():  # then replies the parent did not list, in input order
        siblings = replies.get(comment.parent_id)
        if (
            siblings is not None
            and comment.parent_id != comment.id
            and comment.id not in listed[comment.parent_id]
        ):
            siblings.append(comment.id)
            listed[comment.parent_id].add(comment.id)
    starts = [ident for ident in dict.fromkeys(roots) if ident in by_id]
    named = set(starts)
    starts += [ident for ident, comment in by_id.items() if comment.parent_id == 0 and ident not in named]
    ordered: list[Comment] = []
    seen: set[int] = set()

    def walk(start: int) -> None:
        stack = [(start, 0)]
        while stack:
            ident, depth = stack.pop()
            if ident in seen:
                continue
            seen.add(ident)
            comment = by_id[ident]
            if comment.level < 0:  # the answer did not say
                comment.level = depth
            ordered.append(comment)
            stack.extend((child, depth + 1) for child in reversed(replies[ident]) if child not in seen)

    for start in starts:
        walk(start)
    for ident in by_id:  # orphans and cycles, in input order
        if ident not in seen:
            walk(ident)
    for comment in ordered:
        comment.children = replies[comment.id]
    return ordered


# -- the API --------------------------------------------------------------------------------------------------
def parse_comments_api(body: bytes | str, base_url: str = DEFAULT_BASE_URL) -> CommentsPage:
    """A comments API answer: kek/v2 (``/kek/v2/articles/ID/comments``: ``comments`` by id, ``threads``) or the old
    app API v1 (``/api/v1/comments/ID``: a ``data`` list with ``parent_id``). Unknown fields are ignored, missing
    ones are None; raises :class:`~habrmirror.pages.errors.ParseError` when the body is not JSON or not such an
    answer (an error object, a list)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise ParseError(f"comments API answer is not JSON: {error}") from None
    except RecursionError:  # arrays or objects nested deeper than Python's stack: no comments answer is
        raise ParseError("comments API answer nested too deeply to decode") from None
    if not isinstance(data, dict):
        raise ParseError(f"comments API answer is a {type(data).__name__}, not an object")
    if "comments" in data:
        return _kek_v2(data, base_url)
    if "data" in data:
        return _app_v1(data, base_url)
    keys = ", ".join(sorted(data)[:6]) or "nothing"
    raise ParseError(f"not a comments API answer (no comments or data; it has {keys})")


@dataclass(frozen=True)
class _Dialect:
    """Where one comments API puts each field of a comment (kek/v2 camelCase, the old app API v1 snake_case)."""

    parent: str
    published: str
    changed: str
    votes: str  # v1's "vote" is the requesting user's own vote (next to is_can_vote), not a count
    login: str
    banned: tuple[str, ...]
    deleted: tuple[str, ...]
    children: bool  # v1 has no children lists: thread_order builds them from parent_id, in answer order


_KEK = _Dialect(
    "parentId", "timePublished", "timeChanged", "votesCount", "alias",
    ("isSuspended",), ("isDeleted", "is_deleted", "deleted"), True,
)  # fmt: skip
_V1 = _Dialect(
    "parent_id", "time_published", "time_changed", "votes_count", "login",
    ("is_banned", "isSuspended"), ("is_deleted", "isDeleted"), False,
)  # fmt: skip


def _api_comment(raw: dict[str, Any], base_url: str, dialect: _Dialect) -> Comment | None:
    ident = _int(raw.get("id"))
    if ident is None:
        return None
    author = _dict(raw, "author")
    banned = _flag(raw, *dialect.banned)
    html, markdown = message_fields(_str(raw, "message"), base_url)
    if banned and clean_text(markdown) == BANNED_TEXT:
        html, markdown = "", ""
    level = _int(raw.get("level"))
    children = [child for child in (_int(c) for c in _list(raw, "children")) if child is not None]
    return Comment(
        id=ident,
        parent_id=_int(raw.get(dialect.parent)) or 0,
        level=level if level is not None and level >= 0 else -1,  # -1: thread_order gives the depth
        time_published=_unix(parse_iso(raw.get(dialect.published))),
        time_changed=_unix(parse_iso(raw.get(dialect.changed))),
        score=_int(raw.get("score")),
        votes=_int(raw.get(dialect.votes)),
        message_html=html,
        message_markdown=markdown,
        author=_text(author.get(dialect.login)),
        author_name=_text(author.get("fullname")),
        author_id=_int(author.get("id")),
        children=children if dialect.children else [],
        deleted=_flag(raw, *dialect.deleted),
        banned=banned,
    )


def _kek_v2(data: dict[str, Any], base_url: str) -> CommentsPage:
    raw_comments = data.get("comments")
    # PHP writes an empty map as []: both mean no comments
    if isinstance(raw_comments, dict):
        values: Iterable[Any] = raw_comments.values()
    elif isinstance(raw_comments, list):
        values = raw_comments
    elif raw_comments is None:
        values = []
    else:
        raise ParseError(f"kek comments answer: comments is a {type(raw_comments).__name__}")
    comments = [c for c in (_api_comment(v, base_url, _KEK) for v in values if isinstance(v, dict)) if c]
    roots = [ident for ident in (_int(t) for t in _list(data, "threads")) if ident is not None]
    pinned = _list(data, "pinnedCommentIds")
    return CommentsPage(
        comments=thread_order(comments, roots),
        pages=_int(data.get("pages")),
        pinned_ids=[ident for ident in (_int(p) for p in pinned) if ident is not None],
    )


def _app_v1(data: dict[str, Any], base_url: str) -> CommentsPage:
    raw_comments = data.get("data")
    if raw_comments is None:
        raw_comments = []
    if not isinstance(raw_comments, list):
        raise ParseError(f"v1 comments answer: data is a {type(raw_comments).__name__}")
    comments = [c for c in (_api_comment(v, base_url, _V1) for v in raw_comments if isinstance(v, dict)) if c]
    return CommentsPage(comments=thread_order(comments), pages=_int(data.get("pages")))


# -- comments rendered in an article page -------------------------------------------------------------------------
def _has(name: str) -> str:
    return class_xpath(name)


def _classes(element: HtmlElement) -> set[str]:
    return set((element.get("class") or "").split())


def _child_elements(element: HtmlElement) -> Iterator[HtmlElement]:
    return (child for child in element if isinstance(child.tag, str))


def _inner_html(element: HtmlElement) -> str:
    """The element's content as HTML, its leading text escaped like the rest ("&gt; quote" stays "&gt; quote")."""
    parts = [escape(element.text or "", quote=False)]
    parts.extend(etree.tostring(child, encoding="unicode", method="html") for child in element)
    return "".join(parts).strip()


def _child_with_class(element: HtmlElement | None, name: str, tag: str) -> HtmlElement | None:
    """The first direct child ``<tag>`` with the class token ``name``."""
    if element is None:
        return None
    for child in element:
        if child.tag == tag and name in (child.get("class") or "").split():
            return child
    return None


def _votes(title: str | None) -> int | None:
    """Votes cast from a counter's title: "Общий рейтинг 56: ↑56 и ↓0" / "Всего голосов 3: ↑3 и ↓0" -> up + down;
    "Комментарий пока не оценивали" (nobody voted yet) -> 0."""
    counts = parse_votes_title(title)
    if counts:
        return counts["votesCountPlus"] + counts["votesCountMinus"]
    if title and "не оценивали" in title:
        return 0
    return None


def _page_message(element: HtmlElement | None, base_url: str) -> tuple[str, str, bool]:
    """(message_html, message_markdown, banned) of a page's message element; the xhtml wrapper div of tm pages
    is stepped into, Habr's placeholder for a moderated comment dropped."""
    if element is None:
        return "", "", False
    inner = list(_child_elements(element))
    if (
        len(inner) == 1
        and inner[0].tag == "div"
        and inner[0].get("xmlns")
        and not (element.text or "").strip()
    ):
        element = inner[0]
    markdown = BodyRenderer(base_url).render(element)
    if clean_text(markdown) == BANNED_TEXT:
        return "", "", True
    return _inner_html(element), markdown, False


# Legacy comment dates: "29.12.06 в 14:41" (Moscow time), besides the forms parse_human_date reads.
_NUMERIC_DATE_RE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})\D+(\d{1,2}):(\d{2})")


def legacy_comment_time(text: str | None, fetched_at: datetime | None = None) -> int | None:
    """A legacy comment's date as Unix seconds: "29.12.06 в 14:41", "25 октября 2019 в 14:46", "сегодня в 15:24"
    (Moscow time; the relative forms need ``fetched_at``, else None)."""
    match = _NUMERIC_DATE_RE.search(clean_text(text))
    if match:
        day, month, year, hour, minute = (int(part) for part in match.groups())
        year += 2000 if year < 100 else 0  # Habr's comments start in 2006
        try:
            local = datetime(year, month, day, hour, minute, tzinfo=MOSCOW)
        except ValueError:
            return None
        return _unix(local.astimezone(timezone.utc))
    return _unix(parse_human_date(text, fetched_at))


def legacy_page_comments(
    doc: HtmlElement, base_url: str, fetched_at: datetime | None = None
) -> list[Comment] | None:
    """Comments of a legacy (``post__``, 2012-2021) page: ``ul#comments-list`` of ``li.content-list__item_comment``
    (``span.parent_id[data-parent_id]`` + ``div.comment#comment_ID``, replies in a nested
    ``ul.content-list_nested-comments``); None when the page has no comments section."""
    listing = first_match(doc, '//ul[@id="comments-list"]')
    if listing is None:
        section = first_match(doc, '//div[@id="comments"]')
        return [] if section is not None and "comments-section" in _classes(section) else None
    comments: list[Comment] = []
    roots: list[int] = []
    # Depth first with a stack of sibling iterators (page order, as a recursive walk would go): a recursive
    # walk passed Python's recursion limit on a thread 1,000 replies deep, which the page may hold.
    stack: list[tuple[Iterator[HtmlElement], Comment | None]] = [(_child_elements(listing), None)]
    while stack:
        items, owner = stack[-1]
        item = next(items, None)
        if item is None:
            stack.pop()
            continue
        if item.tag != "li" or "content-list__item_comment" not in _classes(item):
            continue
        parent, depth = (owner.id, owner.level + 1) if owner is not None else (0, 0)
        comment = _legacy_comment(item, parent, depth, base_url, fetched_at)
        if comment is None:
            continue
        comments.append(comment)
        (owner.children if owner is not None else roots).append(comment.id)
        nested = _child_with_class(item, "content-list_nested-comments", "ul")
        if nested is not None:
            comment.children = []
            stack.append((_child_elements(nested), comment))
    return thread_order(comments, roots)


def _legacy_comment(
    item: HtmlElement, parent: int, depth: int, base_url: str, fetched_at: datetime | None
) -> Comment | None:
    # direct children and one walk of the head: XPath per field cost as much as the messages' Markdown
    body = _child_with_class(item, "comment", "div")
    ident = _int(item.get("rel"))
    if ident is None and body is not None:
        ident = _int((body.get("id") or "").removeprefix("comment_"))
    if ident is None:
        return None
    marker = _child_with_class(item, "parent_id", "span")
    declared = _int(marker.get("data-parent_id")) if marker is not None else None
    head = _child_with_class(body, "comment__head", "div")
    login = published = counter = None
    for element in head.iter() if head is not None else ():
        if login is None and element.get("data-user-login") is not None:
            login = element
        elif element.get("class"):
            classes = _classes(element)
            if published is None and element.tag == "time" and "comment__date-time_published" in classes:
                published = element
            elif counter is None and "voting-wjt__counter" in classes:
                counter = element
    message = _child_with_class(body, "comment__message", "div")
    classes = _classes(message) if message is not None else set()
    html, markdown, placeholder = _page_message(message, base_url)
    banned = placeholder or "comment__message_banned" in classes
    if banned:
        html, markdown = "", ""
    return Comment(
        id=ident,
        parent_id=declared if declared is not None else parent,
        level=depth,
        time_published=legacy_comment_time(published.text_content(), fetched_at)
        if published is not None
        else None,
        score=exact_int(counter.text_content()) if counter is not None else None,
        votes=_votes(counter.get("title")) if counter is not None else None,
        message_html=html,
        message_markdown=markdown,
        author=_text(login.get("data-user-login")) if login is not None else None,
        deleted="comment__message_deleted" in classes,
        banned=banned,
    )


def tm_page_comments(doc: HtmlElement, base_url: str) -> list[Comment] | None:
    """Comments a tm page renders (browser-saved pages, 2023+): ``div.tm-comments__tree`` of
    ``section.tm-comment-thread`` (``article.tm-comment-thread__comment`` + ``div.tm-comment-thread__children``
    holding the replies' sections); None when the page has no comments list (raw SSR pages load them later)."""
    tree = first_match(doc, f"//div[{_has('tm-comments__tree')}]")
    if tree is None:
        wrapper = first_match(doc, f"//div[{_has('tm-comments-wrapper')}]")
        return [] if wrapper is not None else None
    comments: list[Comment] = []
    roots: list[int] = []
    # Depth first with a stack of section iterators (page order), not recursion: see legacy_page_comments.
    stack: list[tuple[Iterator[HtmlElement], Comment | None, int]] = [(_thread_sections(tree), None, 0)]
    while stack:
        sections, owner, depth = stack[-1]
        section = next(sections, None)
        if section is None:
            stack.pop()
            continue
        article = next(
            (
                child
                for child in _child_elements(section)
                if child.tag == "article" and "tm-comment-thread__comment" in _classes(child)
            ),
            None,
        )
        parent = owner.id if owner is not None else 0
        comment = _tm_comment(article, parent, depth, base_url) if article is not None else None
        replies = next(
            (c for c in _child_elements(section) if "tm-comment-thread__children" in _classes(c)), None
        )
        if comment is None:
            continue
        comments.append(comment)
        (owner.children if owner is not None else roots).append(comment.id)
        if replies is not None:
            comment.children = []
            stack.append((_thread_sections(replies), comment, depth + 1))
    return thread_order(comments, roots)


def _thread_sections(container: HtmlElement) -> Iterator[HtmlElement]:
    """The ``section.tm-comment-thread`` elements nearest below ``container`` (wrappers between are looked through),
    in document order. Iterative: a recursive walk passed Python's recursion limit under ~1,000 wrapper levels."""
    stack = list(_child_elements(container))[::-1]
    while stack:
        child = stack.pop()
        if child.tag == "section" and "tm-comment-thread" in _classes(child):
            yield child
        elif child.tag != "article":
            stack.extend(list(_child_elements(child))[::-1])


_INDENT_RE = re.compile(r"tm-comment-thread__indent_l-(\d+)")


def _tm_comment(article: HtmlElement, parent: int, depth: int, base_url: str) -> Comment | None:
    # the id: div[data-comment-body] (2024+), article@id (2025), a.tm-comment-thread__target[name=comment_ID]
    holder = first_match(article, ".//div[@data-comment-body]")
    target = first_match(article, f"./a[{_has('tm-comment-thread__target')}]")
    ident = _int(holder.get("data-comment-body")) if holder is not None else None
    ident = ident if ident is not None else _int(article.get("id"))
    if ident is None and target is not None:
        ident = _int((target.get("name") or target.get("id") or "").removeprefix("comment_"))
    if ident is None:
        return None
    indent = _INDENT_RE.search(holder.get("class") or "") if holder is not None else None
    header = first_match(article, f".//header[{_has('tm-comment__header')}]")
    published = first_match(header, ".//time[@datetime]")
    username = first_match(header, f".//*[{_has('tm-user-info__username')}]")
    body = first_match(article, f".//div[{_has('tm-comment__body-content')}]")
    html, markdown, banned = _page_message(body, base_url)
    footer = first_match(article, f".//div[{_has('tm-comment-footer')}]")
    # score: .tm-votes-meter__value (2021-2025) or .tm-votes-lever__score-counter (2024+); the votes are in a
    # title="Всего голосов 3: ↑3 и ↓0" on the meter's value or on the lever itself
    counter = first_match(
        footer, f".//*[{_has('tm-votes-meter__value')} or {_has('tm-votes-lever__score-counter')}]"
    )
    votes = None
    for element in footer.xpath(".//*[@title]") if footer is not None else []:
        votes = _votes(element.get("title"))
        if votes is not None:
            break
    return Comment(
        id=ident,
        parent_id=parent,
        level=int(indent.group(1)) if indent else depth,
        time_published=_unix(parse_iso(published.get("datetime"))) if published is not None else None,
        score=exact_int(counter.text_content()) if counter is not None else None,
        votes=votes,
        message_html=html,
        message_markdown=markdown,
        author=clean_text(username.text_content()) or None if username is not None else None,
        banned=banned,
    )


def parse_comments_page(
    body: bytes | str, base_url: str = DEFAULT_BASE_URL, fetched_at: datetime | None = None
) -> CommentsPage:
    """Habr's comments page (``/ru/articles/ID/comments/``): the tm layout renders the thread as an article page
    does (``div.tm-comments__tree``), a legacy one as ``ul#comments-list``; raises
    :class:`~habrmirror.pages.errors.ParseError` when the page has no comments list at all (a login wall, an
    error page, a layout this reader does not know)."""
    doc = parse_document(decode_body(body))
    found = tm_page_comments(doc, base_url)
    if found is None:
        found = legacy_page_comments(doc, base_url, fetched_at)
    if found is None:
        raise ParseError("the comments page has no comments list (tm-comments__tree or comments-list)")
    return CommentsPage(comments=found)
