"""Bad input for the page parsers: every real saved page, mutated, and hand-made hostile pages.

The page parsers (``parse_article``, ``parse_listing``, ``parse_comments_api``, the page requisites and body image
readers, the comments page reader) may refuse a page only with their documented errors (``habrmirror.pages.errors.PageError``), must never
loop, and must stay within a bound of time and memory per page: at most ``TIME_RATIO`` times the CPU time and
``MEMORY_RATIO`` times the tracemalloc peak of parsing the unmutated page in this same process (scaled by how
much larger the mutated input is), so the bound is a ratio, not a timing. A hang is caught by an alarm at a much
larger multiple and reported as one.

Mutations (hypothesis, derandomized and bounded): bytes (truncation, flips, NUL and invalid UTF-8 bytes), the tree
(elements deleted, duplicated, attributes swapped between elements, an element wrapped in a deep nest, a huge
attribute), and the page state and API JSON (a value replaced by another type, a deep or huge value, a key
deleted). Every crash found was fixed in the parser; its input stays here as an ``@example`` or a hand case.
"""

from __future__ import annotations

import copy
import gc
import json
import re
import signal
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree
from lxml import html as lxml_html

from habrmirror.pages import PageError, parse_article, parse_comments_api, parse_listing
from habrmirror.pages.comments import parse_comments_page
from habrmirror.pages.requisites import body_image_urls, page_requisites
from habrmirror.pages.state import page_state

FIXTURES = Path(__file__).parent / "fixtures" / "habr"
PAGES = sorted(path.name for path in FIXTURES.iterdir() if path.suffix in (".html", ".xml"))
ANSWERS = sorted(path.name for path in FIXTURES.iterdir() if path.suffix == ".json")
ARTICLE_URL = "https://habr.com/ru/articles/568382/"
LISTING_URL = "https://habr.com/ru/articles/"

TM = "article-tm-568382-2021.html"
LEGACY = "article-legacy-1000-2018.html"
PINIA = "article-tm-1064400-company-2026.html"

TIME_RATIO = 20  # CPU time of a mutated page <= this many times the unmutated page's (per input byte)
MEMORY_RATIO = 20  # tracemalloc peak <= this many times the unmutated page's (per input byte)
TIME_FLOOR = 0.005  # seconds: below this process_time's resolution and the garbage collector are the signal
HANG_RATIO = 200  # a page still parsing at this many times its baseline (and at least HANG_FLOOR) is a hang
HANG_FLOOR = 5.0

# Deterministic and bounded: the same examples every run, no database, no shrinking on the clock.
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


class Hang(BaseException):
    """Raised by the alarm inside a parser that runs far past its bound (BaseException: a parser's own
    ``except Exception`` must not swallow it)."""


@contextmanager
def alarm(seconds: float) -> Iterator[None]:
    def ring(signum: int, frame: object) -> None:
        raise Hang(f"still parsing after {seconds:.1f}s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _article_and_its_images(body: bytes) -> None:
    article = parse_article(ARTICLE_URL, body)
    body_image_urls(article.text_html, ARTICLE_URL)


PARSERS: tuple[tuple[str, Callable[[bytes], object]], ...] = (
    ("article", _article_and_its_images),
    ("listing", lambda body: parse_listing(LISTING_URL, body)),
    ("comments", lambda body: parse_comments_api(body, ARTICLE_URL)),
    ("comments page", lambda body: parse_comments_page(body, ARTICLE_URL)),
)


def run_parsers(body: bytes) -> list[str]:
    """Every parser on ``body``; what each did (``ok`` or the PageError subclass). Any other exception escapes."""
    done = []
    for name, parse in PARSERS:
        try:
            parse(body)
            done.append(f"{name} ok")
        except PageError as error:
            done.append(f"{name} {type(error).__name__}")
    page_requisites(body, ARTICLE_URL)
    return done


@dataclass(frozen=True)
class Cost:
    seconds: float
    peak: int


def measure(body: bytes, hang_after: float = HANG_FLOOR) -> Cost:
    """CPU time and tracemalloc peak of :func:`run_parsers` on ``body`` (an alarm turns a loop into Hang)."""
    tracemalloc.start()
    try:
        with alarm(hang_after):
            start = time.process_time()
            run_parsers(body)
            seconds = time.process_time() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return Cost(seconds, peak)


@cache
def original(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@cache
def baseline(name: str) -> Cost:
    """The unmutated page's cost: the fastest of three runs (the first warms caches)."""
    costs = [measure(original(name), hang_after=60) for _ in range(3)]
    return Cost(min(cost.seconds for cost in costs), min(cost.peak for cost in costs))


def check_bounded(name: str, body: bytes) -> None:
    """The parsers on a mutation of fixture ``name``: documented errors only, no hang, within the bounds."""
    base = baseline(name)
    scale = max(1.0, len(body) / max(1, len(original(name))))
    time_bound = TIME_RATIO * max(base.seconds, TIME_FLOOR) * scale
    memory_bound = MEMORY_RATIO * base.peak * scale
    cost = measure(body, hang_after=max(HANG_FLOOR, HANG_RATIO * base.seconds * scale))
    if cost.seconds > time_bound:  # one more try before calling it: a GC pass or a busy neighbour
        cost = Cost(min(cost.seconds, measure(body).seconds), cost.peak)
    assert cost.seconds <= time_bound, (
        f"{name}: {cost.seconds:.3f}s > {TIME_RATIO}x the page's {base.seconds:.3f}s (x{scale:.1f} for size)"
    )
    assert cost.peak <= memory_bound, (
        f"{name}: peak {cost.peak:,} B > {MEMORY_RATIO}x the page's {base.peak:,} B (x{scale:.1f} for size)"
    )


# -- byte mutations -------------------------------------------------------------------------------------------
BAD_BYTES = [
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"<",
    b">",
    b'"',
    b"'",
    b"&",
    b"\xef\xbb\xbf",
    b"<!--",
]


@st.composite
def byte_mutations(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(PAGES + ANSWERS))
    body = bytearray(original(name))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "duplicate"]))
        at = draw(st.integers(0, max(0, len(body) - 1)))
        if kind == "truncate":
            del body[at:]
        elif kind == "flip" and body:
            body[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            body[at:at] = draw(st.sampled_from(BAD_BYTES)) * draw(st.integers(1, 64))
        elif kind == "delete":
            del body[at : at + draw(st.integers(1, 4096))]
        else:
            body[at:at] = body[at : at + draw(st.integers(1, 4096))]
    return name, bytes(body)


@FUZZ
@given(byte_mutations())
@example(("article-tm-568382-2021.html", b""))  # empty: lxml's "Document is empty" escaped parse_article
@example(("article-tm-568382-2021.html", b"\xef\xbb\xbf"))  # a lone BOM: the same
def test_byte_mutations_raise_only_page_errors(case: tuple[str, bytes]) -> None:
    check_bounded(*case)


# -- tree mutations -------------------------------------------------------------------------------------------
@cache
def tree(name: str) -> Any:
    return lxml_html.document_fromstring(original(name).decode("utf-8", "replace"))


_LOOKED_AT = ("class", "id", "itemprop", "property", "datetime", "href", "data-src", "name")


def _element(doc: Any, choice: int) -> Any:
    """One of the elements page objects look at (with a class, id, itemprop, property, datetime, href ...) in
    the tree as mutated so far; the rest are mutated rarely and uninterestingly."""
    elements = [
        element
        for element in doc.iter()
        if isinstance(element.tag, str) and any(key in element.attrib for key in _LOOKED_AT)
    ]
    return elements[choice % len(elements)] if elements else doc


@st.composite
def tree_mutations(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from([page for page in PAGES if not page.endswith(".xml")]))
    doc = copy.deepcopy(tree(name))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "nest", "huge", "empty"]))
        element = _element(doc, draw(st.integers(0, 10**6)))
        parent = element.getparent()
        if kind == "delete" and parent is not None:
            element.drop_tree()
        elif kind == "duplicate" and parent is not None:
            for _ in range(draw(st.integers(1, 50))):
                element.addnext(copy.deepcopy(element))
        elif kind == "swap":
            other = _element(doc, draw(st.integers(0, 10**6)))
            mine, theirs = dict(element.attrib), dict(other.attrib)
            element.attrib.clear()
            other.attrib.clear()
            element.attrib.update(theirs)
            other.attrib.update(mine)
        elif kind == "nest" and parent is not None:
            depth = draw(st.sampled_from([10, 200, 600, 2100]))
            tag = draw(st.sampled_from(["div", "blockquote", "ul", "table", "b", "a", "span"]))
            outer = inner = lxml_html.Element(tag)
            for _ in range(depth - 1):
                inner = etree.SubElement(inner, tag)
            element.addprevious(outer)
            inner.append(element)
        elif kind == "huge":
            key = draw(st.sampled_from(sorted(element.attrib) or ["class"]))
            element.set(key, (element.get(key) or "x") * draw(st.integers(1, 20_000)))
        elif kind == "empty":
            element.attrib.clear()
            element.text = None
            for child in list(element):
                element.remove(child)
    return name, lxml_html.tostring(doc, encoding="utf-8")


@FUZZ
@given(tree_mutations())
def test_tree_mutations_raise_only_page_errors(case: tuple[str, bytes]) -> None:
    check_bounded(*case)


# -- page state and API JSON ----------------------------------------------------------------------------------
_STATE_SCRIPT = re.compile(rb"(window\.__(?:INITIAL|PINIA)_STATE__\s*=\s*)")
STATE_PAGES = [name for name in PAGES if _STATE_SCRIPT.search(original(name))]

# What a value can turn into: every JSON type, an empty one, a huge one, a deep one, a "number" that is not.
HOSTILE_VALUES: list[Any] = [
    None,
    0,
    -1,
    10**30,
    1.5,
    True,
    "",
    "x" * 100_000,
    "<div>" * 3000,
    [],
    {},
    [[[[[[]]]]]],
    {"a": {"b": {"c": None}}},
    "2021-13-45T99:99:99Z",
    "NaN",
]


def json_paths(value: Any, path: tuple[Any, ...] = (), limit: int = 20_000) -> list[tuple[Any, ...]]:
    """Every path into a JSON value (breadth first, bounded), the root excluded."""
    found: list[tuple[Any, ...]] = []
    queue = [(path, value)]
    while queue and len(found) < limit:
        here, node = queue.pop(0)
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            found.append((*here, key))
            queue.append(((*here, key), child))
    return found


def mutate_json(data: Any, draw: st.DrawFn, paths: list[tuple[Any, ...]]) -> Any:
    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, 4))):
        path = paths[draw(st.integers(0, len(paths) - 1))]
        node = data
        try:
            for key in path[:-1]:
                node = node[key]
            if draw(st.booleans()) and isinstance(node, dict):
                del node[path[-1]]
            else:
                node[path[-1]] = copy.deepcopy(draw(st.sampled_from(HOSTILE_VALUES)))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    return data


@cache
def state_of(name: str) -> tuple[bytes, bytes, Any]:
    """(text before the state object, text after it, the decoded state) of a page with an SSR state script."""
    body = original(name)
    match = _STATE_SCRIPT.search(body)
    assert match is not None
    text = body.decode("utf-8", "replace")
    start = len(body[: match.end()].decode("utf-8", "replace"))
    state, end = json.JSONDecoder().raw_decode(text, start)
    return text[:start].encode(), text[end:].encode(), state


@cache
def state_paths(name: str) -> list[tuple[Any, ...]]:
    """The paths worth mutating, most read first: the fields of the entries in ``articlesList.articlesList`` (the
    article of an article page, the snippets of a listing) down to three levels below an entry, then every path
    one or two keys deep (``route``, ``location``: the ones that pick the article), then the rest."""
    paths = json_paths(state_of(name)[2])

    def rank(path: tuple[Any, ...]) -> int:
        if path[:2] == ("articlesList", "articlesList") and len(path) <= 6:
            return 0
        return 1 if len(path) <= 3 else 2

    return sorted(paths, key=rank)[:3000]


@st.composite
def state_mutations(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(STATE_PAGES))
    before, after, state = state_of(name)
    mutated = mutate_json(state, draw, state_paths(name))
    return name, before + json.dumps(mutated, ensure_ascii=False).encode() + after


def with_state_value(name: str, path: tuple[Any, ...], value: Any) -> tuple[str, bytes]:
    """Page ``name`` with one value of its state replaced (a regression example)."""
    before, after, state = state_of(name)
    state = copy.deepcopy(state)
    node = state
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return name, before + json.dumps(state, ensure_ascii=False).encode() + after


MOBILE = "article-mobile-462783-en-2019.html"
PINIA_ARTICLE = ("articlesList", "articlesList", "1064400")


# The examples: values of the wrong type in the state raised AttributeError / TypeError out of the tm page objects
# (found by an exhaustive pass over every state path up to the article's fields, each set to every JSON type).
@FUZZ
@given(state_mutations())
@example(with_state_value(MOBILE, ("location",), "x"))  # 'str' object has no attribute 'get'
@example(with_state_value(MOBILE, ("articlesList",), "x"))
@example(with_state_value(MOBILE, ("route", "params"), "x"))
@example(with_state_value(PINIA, (*PINIA_ARTICLE, "author"), "x"))
@example(with_state_value(PINIA, (*PINIA_ARTICLE, "tags", 0, "titleHtml"), True))  # html.unescape(True)
@example(with_state_value(PINIA, (*PINIA_ARTICLE, "hubs", 1, "title"), True))  # clean_text(True)
@example(with_state_value(PINIA, (*PINIA_ARTICLE, "textHtml"), 12))  # fragment_fromstring(12)
@example(with_state_value(TM, ("articlesList", "articlesList", "568382", "textHtml"), "<div>" * 3000))
def test_state_mutations_raise_only_page_errors(case: tuple[str, bytes]) -> None:
    check_bounded(*case)


TYPE_REPRESENTATIVES: list[Any] = [None, "x", True, 7, [], {}]  # one value of each JSON type


def type_confusion_paths(name: str) -> list[tuple[Any, ...]]:
    """The state paths the article page objects read: the article's entry down to three levels below its fields
    (first element of each list only) and the keys that pick the article (``route``, ``location``)."""
    state = state_of(name)[2]
    entries = state["articlesList"]["articlesList"]
    key = next(k for k, v in entries.items() if "textHtml" in v or "contentHTML" in v)
    paths = [path for path in json_paths(state) if not any(isinstance(k, int) and k >= 1 for k in path)]
    entry = [path for path in paths if path[:3] == ("articlesList", "articlesList", key) and len(path) <= 6]
    pick = [
        path
        for path in paths
        if len(path) <= 3
        and path[0] in ("route", "location", "articlesList")
        and not (len(path) == 3 and path[1] == "articlesList")
    ]
    return entry + pick


def with_state_values(name: str, path: tuple[Any, ...], value: Any) -> bytes:
    """Page ``name`` with the state value at ``path`` replaced, copying only the containers along the path."""
    before, after, state = state_of(name)
    root = node = copy.copy(state)
    original_node = state
    for key in path[:-1]:
        original_node = original_node[key]
        child = copy.copy(original_node)
        node[key] = child
        node = child
    node[path[-1]] = value
    return before + json.dumps(root, ensure_ascii=False).encode() + after


@pytest.mark.parametrize("name", [page for page in STATE_PAGES if page.startswith("article")])
def test_every_state_field_of_another_type_is_at_most_a_page_error(name: str) -> None:
    """Exhaustive where it matters: every field the article page objects read, set to a value of each JSON
    type in turn (~800 pages per fixture). Random mutations rarely hit one field with one wrong type; this pass
    found the six AttributeError / TypeError crashes kept as examples above."""
    crashes = []
    for path in type_confusion_paths(name):
        for value in TYPE_REPRESENTATIVES:
            try:
                parse_article(ARTICLE_URL, with_state_values(name, path, value))
            except PageError:
                pass
            except Exception as error:  # noqa: BLE001 - every crash is collected, then reported together
                crashes.append(f"{path} = {value!r}: {type(error).__name__}: {error}")
    assert not crashes, "\n".join(crashes[:20])


@cache
def answer(name: str) -> Any:
    return json.loads(original(name))


@st.composite
def answer_mutations(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(ANSWERS))
    mutated = mutate_json(answer(name), draw, json_paths(answer(name)))
    return name, json.dumps(mutated, ensure_ascii=False).encode()


@FUZZ
@given(answer_mutations())
def test_comments_answer_mutations_raise_only_page_errors(case: tuple[str, bytes]) -> None:
    check_bounded(*case)


# -- hand cases -----------------------------------------------------------------------------------------------
def _in_body(name: str, marker: bytes, insert: bytes) -> bytes:
    """``insert`` spliced in right after the opening tag of the element whose class starts with ``marker``."""
    body = original(name)
    at = body.index(marker)
    end = body.index(b">", at) + 1
    return body[:end] + insert + body[end:]


def _state_with(name: str, state: bytes) -> bytes:
    before, after, _ = state_of(name)
    return before + state + after


LEGACY_THREAD = b"".join(
    b'<li class="content-list__item content-list__item_comment" rel="%d"><div class="comment" id="comment_%d">'
    b'<div class="comment__message">reply %d</div></div><ul class="content-list content-list_nested-comments">'
    % (n, n, n)
    for n in range(10**6, 10**6 + 1000)
)
HAND_CASES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "empty body": (TM, lambda: b""),
    "only a BOM": (TM, lambda: b"\xef\xbb\xbf"),
    "whitespace": (TM, lambda: b" \r\n\t "),
    "NUL bytes": (TM, lambda: b"\x00" * 1000),
    "NUL in the body": (TM, lambda: _in_body(TM, b"article-formatted-body", b"\x00" * 100)),
    "invalid UTF-8": (TM, lambda: b"\xff\xfe\xc3\x28\xa0\xa1" * 1000),
    "invalid UTF-8 in the body": (
        TM,
        lambda: _in_body(TM, b"article-formatted-body", b"\xc3\x28\xed\xa0\x80"),
    ),
    "unknown charset": (TM, lambda: b'<meta charset="x-no-such-charset">' + original(TM)),
    "utf-16 declared": (TM, lambda: b'<meta charset="utf-16">' + original(TM)),
    "xml declaration only": (TM, lambda: b"<?xml"),
    # 50,000 levels: libxml2 stops at 256 (2048 with huge_tree) and returned the page cut there, read as if whole
    "50k-deep div nest (tm)": (TM, lambda: _in_body(TM, b"article-formatted-body", b"<div>" * 50_000)),
    "50k-deep div nest (legacy)": (LEGACY, lambda: _in_body(LEGACY, b"post__text", b"<div>" * 50_000)),
    # 1,000 levels (under the parser's limit): the body renderer passed Python's recursion limit
    "1k-deep lists and quotes": (
        LEGACY,
        lambda: _in_body(LEGACY, b"post__text", b"<div><blockquote><ul><li>" * 250 + b"deep"),
    ),
    "2k-deep inline nest": (TM, lambda: _in_body(TM, b"article-formatted-body", b"<b><i>" * 1000 + b"deep")),
    "2k-deep ul without li": (PINIA, lambda: _in_body(PINIA, b"article-formatted-body", b"<ul>" * 2000)),
    # nested tables: each table rendered every row below it too (quadratic: 47 MB of Markdown from 2,000 levels)
    "nested tables": (
        TM,
        lambda: _in_body(TM, b"article-formatted-body", b"<table><tr><td>" * 600 + b"cell"),
    ),
    # a 10 MB attribute: libxml2 (without huge_tree) dropped the rest of the page after it without a word
    "10 MB attribute": (
        TM,
        lambda: _in_body(
            TM, b"article-formatted-body", b'<img src="data:image/png;base64,' + b"A" * 10_500_000 + b'">'
        ),
    ),
    "10 MB text node": (LEGACY, lambda: _in_body(LEGACY, b"post__text", b"word " * 2_100_000)),
    "100k attributes": (
        TM,
        lambda: _in_body(TM, b"article-formatted-body", b"<p " + b"a=1 " * 100_000 + b">"),
    ),
    # the tm comments tree looked through wrappers recursively: RecursionError under ~1,000 of them
    "comments under 1,900 wrappers": (
        "article-tm-804525-browsersaved-2024.html",
        lambda: _in_body("article-tm-804525-browsersaved-2024.html", b"tm-comments__tree", b"<div>" * 1900),
    ),
    "a legacy thread 1,000 replies deep": (
        LEGACY,
        lambda: _in_body(LEGACY, b'id="comments-list"', LEGACY_THREAD),
    ),
    "broken state JSON": (TM, lambda: _state_with(TM, b'{"articlesList": {"articlesList": {"568382": ')),
    "state is a list": (TM, lambda: _state_with(TM, b"[1, 2, 3]")),
    "state is a string": (PINIA, lambda: _state_with(PINIA, b'"x"')),
    # a JSON bomb: nesting past Python's stack raised RecursionError out of page_state
    "state nested 100k deep": (TM, lambda: _state_with(TM, b"[" * 100_000)),
    "state object nested 100k deep": (PINIA, lambda: _state_with(PINIA, b'{"a":' * 100_000)),
    "state 5 MB wide": (TM, lambda: _state_with(TM, b"[" + b"0," * 2_500_000 + b"0]")),
    "JSON-LD nested 100k deep": (
        TM,
        lambda: original(TM).replace(
            b"<head>", b'<head><script type="application/ld+json">' + b"[" * 100_000 + b"</script>", 1
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(HAND_CASES))
def test_hand_cases_raise_only_page_errors(case: str) -> None:
    name, build = HAND_CASES[case]
    check_bounded(name, build())


ANSWER_CASES: dict[str, bytes] = {
    "empty": b"",
    "BOM only": b"\xef\xbb\xbf",
    "invalid UTF-8": b'{"comments": {"1": {"message": "\xff\xfe"}}}',
    "a list": b"[]",
    "null": b"null",
    # a JSON bomb: RecursionError escaped parse_comments_api, and the comments pipeline catches only ParseError
    "array nested 100k deep": b"[" * 100_000,
    "comments nested 100k deep": b'{"comments": ' + b"[" * 100_000,
    "comments a string": b'{"comments": "x"}',
    "comment a list": b'{"comments": {"1": [1, 2]}, "threads": [1]}',
    "comment parent is itself": b'{"comments": {"1": {"id": 1, "parentId": 1, "children": [1]}}, "threads": [1]}',
    "parent cycle": b'{"comments": {"1": {"id": 1, "parentId": 2}, "2": {"id": 2, "parentId": 1}}, "threads": []}',
    "children cycle": (
        b'{"comments": {"1": {"id": 1, "children": [2]}, "2": {"id": 2, "children": [1]}}, "threads": [1, 2]}'
    ),
    "message nested 3k deep": json.dumps({"comments": {"1": {"id": 1, "message": "<div>" * 3000}}}).encode(),
    "v1 data not a list": b'{"data": {"a": 1}}',
    "v1 parent cycle": b'{"data": [{"id": 1, "parent_id": 2}, {"id": 2, "parent_id": 1}]}',
    "ids are huge": b'{"comments": {"1": {"id": 100000000000000000000000000, "parentId": -5}}, "threads": [1e400]}',
}


@pytest.mark.parametrize("case", sorted(ANSWER_CASES))
def test_comments_answer_hand_cases_raise_only_page_errors(case: str) -> None:
    check_bounded("api-kek-v2-comments-2021.json", ANSWER_CASES[case])


# -- the guard itself -----------------------------------------------------------------------------------------
def test_the_bound_catches_a_slow_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """A parser that got 100x slower fails the check (so the bound is a real one)."""
    name = "mirror-weekly-geekly-article-100000.html"
    base = baseline(name)
    real = parse_listing

    def slow(url: str, body: bytes) -> Any:
        end = time.process_time() + TIME_RATIO * 5 * max(base.seconds, TIME_FLOOR)
        while time.process_time() < end:
            pass
        return real(url, body)

    monkeypatch.setattr(f"{__name__}.parse_listing", slow)
    with pytest.raises(AssertionError, match="x the page's"):
        check_bounded(name, original(name))


def test_the_alarm_catches_a_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    def forever(body: bytes, url: str) -> Any:
        while True:
            pass

    monkeypatch.setattr(f"{__name__}.parse_comments_api", forever)
    with pytest.raises(Hang):
        measure(b"{}", hang_after=0.2)


def test_every_fixture_is_in_the_corpus() -> None:
    """The corpus covers every saved page and answer, and the state mutations reach every SSR page."""
    assert len(PAGES) + len(ANSWERS) == len(
        [p for p in FIXTURES.iterdir() if p.suffix in (".html", ".xml", ".json")]
    )
    assert {"article-tm-568382-2021.html", "article-tm-1064400-company-2026.html"} <= set(STATE_PAGES)
    for name in STATE_PAGES:
        assert state_of(name)[2] == page_state(tree(name))


# -- read to the end, or refused ------------------------------------------------------------------------------
BROWSER_SAVED = "article-tm-957816-browsersaved-2025.html"


def last_words(name: str, marker: bytes) -> str:
    text = parse_article(ARTICLE_URL, original(name)).text or ""
    return " ".join(text.split()[-6:])


@pytest.mark.parametrize(
    ("name", "marker", "insert"),
    [
        # 1,000 levels: libxml2 (without huge_tree) stopped at 256 and returned the page cut there, so the
        # article came out with the body up to the nest and nothing after it, as if that were the whole post
        (LEGACY, b"post__text", b"<div><blockquote><ul><li>" * 250),
        (BROWSER_SAVED, b"article-formatted-body", b"<div>" * 1000),
        (BROWSER_SAVED, b"article-formatted-body", b"<table><tr><td>" * 300),
        # a 10 MB attribute (an inline data: image): libxml2 dropped everything after it, without an error
        (LEGACY, b"post__text", b'<img alt="' + b"A" * 10_500_000 + b'">'),
    ],
    ids=["1k-deep lists", "1k-deep divs", "900-deep tables", "10 MB attribute"],
)
def test_a_deep_or_huge_page_is_read_to_its_end(name: str, marker: bytes, insert: bytes) -> None:
    closing = b"".join(
        b"</" + tag + b">" for tag in reversed(re.findall(rb"<(\w+)", insert)) if tag != b"img"
    )
    article = parse_article(ARTICLE_URL, _in_body(name, marker, insert + b"NESTEDMARK " + closing))
    text = " ".join((article.text or "").split())
    assert "NESTEDMARK" in text
    assert text.endswith(last_words(name, marker))
    assert len(article.text_markdown or "") < 20 * len(
        parse_article(ARTICLE_URL, original(name)).text_markdown or ""
    )


@pytest.mark.parametrize("depth", [2100, 50_000])
def test_a_page_nested_past_the_parser_limit_is_a_parse_error(depth: int) -> None:
    """Past libxml2's 2048 levels the rest of the page is unread: a ParseError (the WARC keeps the bytes), not
    an article that silently ends at the nest."""
    with pytest.raises(PageError, match="limit of the HTML parser"):
        parse_article(ARTICLE_URL, _in_body(LEGACY, b"post__text", b"<div>" * depth))


def _answer_cost(threads: int, replies: int) -> float:
    """CPU seconds (the least of three) to read a kek answer: ``threads`` root comments and one more comment with
    ``replies`` replies it does not list in its ``children``."""
    comments = {str(n): {"id": n, "parentId": 0, "message": "m"} for n in range(1, threads + 1)}
    comments.update(
        {str(n): {"id": n, "parentId": 1, "message": "m"} for n in range(threads + 1, threads + replies + 1)}
    )
    body = json.dumps({"comments": comments, "threads": list(range(1, threads + 1))}).encode()
    costs = []
    gc.collect()
    gc.disable()  # a full suite keeps many objects alive: a collection inside one run would be charged to it
    try:
        for _ in range(5):
            start = time.process_time()
            parse_comments_api(body, ARTICLE_URL)
            costs.append(time.process_time() - start)
    finally:
        gc.enable()
    return min(costs)


@pytest.mark.parametrize(("threads", "replies"), [(4000, 1), (1, 4000)], ids=["threads", "unlisted replies"])
def test_a_comments_answer_costs_linear_time_in_its_threads_and_replies(threads: int, replies: int) -> None:
    """4x the comments, at most ~4x the time (a ratio in one process): a list membership test made n threads,
    or n replies a comment does not list, cost n**2 (16x here; a 40 MB answer would have taken minutes)."""
    small = _answer_cost(threads, replies)
    large = _answer_cost(threads * 4, replies * 4 if replies > 1 else 1)
    assert large <= 8 * small, f"{large:.3f}s for 4x the comments of {small:.3f}s"
