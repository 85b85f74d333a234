"""Small pure helpers the article page objects share: decoding, dates, counters, class tests.

Sits under ``habrmirror.pages.article_*``: nothing here knows a layout, it only turns page strings into values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable
from datetime import date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import TypeVar
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml import etree
from lxml import html as lxml_html

from habrmirror.pages.errors import ParseError

# Habr renders human dates in Moscow time (legacy pages: "26 декабря 2006 в 12:10"). Without a tz database
# (Windows without tzdata) the fixed UTC+3 Moscow has kept since 2014-10-26 covers every layout that prints dates.
try:
    MOSCOW: tzinfo = ZoneInfo("Europe/Moscow")
except ZoneInfoNotFoundError:
    MOSCOW = timezone(timedelta(hours=3))

_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def _html_parser() -> lxml_html.HTMLParser:
    """lxml.html's parser with every element an ``HtmlElement`` chosen in C. lxml.html picks each element's
    class in Python (special classes for form controls, which no page object uses); that lookup ran for
    every element a parser touched and cost ~8% of an article's parse (bench/parse.py).

    ``huge_tree``: without it libxml2 stops building the tree at nesting depth 256 or at a 10 MB text node or
    attribute (an inline ``data:`` image) and returns what it has so far without an error, so a page read on as
    if it ended there (an "archived" article with half a body). With it the limits are depth 2048 and 1 GB,
    and :func:`_checked` turns reaching one into a :class:`ParseError`. The page's size is bounded before it
    gets here (``HABR_MAX_DECODED_BYTES``)."""
    parser = lxml_html.HTMLParser(huge_tree=True)
    parser.set_element_class_lookup(
        etree.ElementDefaultClassLookup(
            element=lxml_html.HtmlElement,
            comment=lxml_html.HtmlComment,
            pi=lxml_html.HtmlProcessingInstruction,
            entity=lxml_html.HtmlEntity,
        )
    )
    return parser


HTML_PARSER = _html_parser()  # one per process: the page objects parse one page at a time
_Parsed = TypeVar("_Parsed")


def decode_body(body: bytes | str) -> str:
    """Bytes as text: the charset a ``<meta>`` declares, else UTF-8; undecodable bytes become U+FFFD.

    One legacy fixture carries an invalid UTF-8 byte inside an inline script: strict decoding would lose the page.
    """
    if isinstance(body, str):
        return body
    match = _CHARSET_RE.search(body[:4096])
    encoding = "utf-8"
    if match:
        declared = match.group(1).decode("ascii", "replace").lower()
        try:
            "".encode(declared)
            encoding = declared
        except LookupError:
            encoding = "utf-8"
    return body.decode(encoding, errors="replace")


def _checked(parsed: _Parsed, what: str) -> _Parsed:
    """``parsed`` unless libxml2 gave up part of the input at a resource limit (nesting deeper than 2048, see
    :func:`_html_parser`): it then silently returns the tree up to that point, which must not pass for the page."""
    for error in HTML_PARSER.error_log:
        if error.type == etree.ErrorTypes.ERR_RESOURCE_LIMIT:
            raise ParseError(f"{what} passes a limit of the HTML parser, the rest is unread: {error.message}")
    return parsed


def parse_document(text: str) -> lxml_html.HtmlElement:
    """The whole page parsed once with lxml (the only full-page parse a page object does); :class:`ParseError`
    for a page with no markup at all (empty, whitespace, a lone BOM) or one the parser could not read to its end."""
    # lxml refuses str input carrying an XML encoding declaration; browser-saved pages never have one,
    # but strip it defensively ("<?xml" with no "?>" is not a declaration: lxml reads it as text).
    if text.startswith("<?xml") and "?>" in text:
        text = text[text.find("?>") + 2 :]
    try:
        return _checked(lxml_html.document_fromstring(text, parser=HTML_PARSER), "the page")
    except etree.ParserError as error:  # "Document is empty"
        raise ParseError(f"no HTML document in the page ({error})") from None


def parse_fragment(html: str) -> lxml_html.HtmlElement:
    """An HTML fragment (a body or a message from a page's state or an API answer) inside one ``<div>``;
    :class:`ParseError` when it is not a string or the parser could not read it to its end."""
    if not isinstance(html, str):
        raise ParseError(f"expected HTML text, got a {type(html).__name__}")
    return _checked(
        lxml_html.fragment_fromstring(html, create_parent="div", parser=HTML_PARSER), "an HTML fragment"
    )


def class_xpath(name: str) -> str:
    """XPath predicate body for "has the exact class token ``name``" (``contains(@class, x)`` alone would match
    ``x-y`` too). The plain substring test runs first and rules most elements out: building the normalised class
    string for every element was most of a listing page's parse time."""
    return f'(contains(@class, "{name}") and contains(concat(" ", normalize-space(@class), " "), " {name} "))'


def clean_text(text: str | None) -> str:
    """Whitespace runs collapsed to one space, ends stripped."""
    return " ".join((text or "").split())


def parse_iso(value: object) -> datetime | None:
    """An ISO 8601 timestamp (``...Z``, ``.000Z``, ``+03:00``, ``2019-08-06T20:33Z``) as aware UTC, else None.

    A timestamp without a zone gives None: every time Habr writes into its markup and state carries one
    (``Z`` or ``+00:00``), and a naive one could be Moscow time as well as UTC, so a zone would be invented.
    Non-strings (a state value of the wrong type) give None too.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(timezone.utc)


# Genitive month names as Habr prints them ("26 декабря 2006"), with the English ones of /en/ pages.
MONTH_NAMES: tuple[tuple[str, str], ...] = (
    ("января", "january"),
    ("февраля", "february"),
    ("марта", "march"),
    ("апреля", "april"),
    ("мая", "may"),
    ("июня", "june"),
    ("июля", "july"),
    ("августа", "august"),
    ("сентября", "september"),
    ("октября", "october"),
    ("ноября", "november"),
    ("декабря", "december"),
)
MONTHS: dict[str, int] = {name: number for number, names in enumerate(MONTH_NAMES, start=1) for name in names}
_TIME = r"(?:в|at|,)?\s*(?P<h>\d{1,2}):(?P<m>\d{2})\s*(?P<ampm>[AaPp][Mm]\b)?"
# "сегодня в 08:48", "вчера в 23:33", "today at 8:48 AM", "yesterday at 12:29"
_RELATIVE_RE = re.compile(r"(?P<day>сегодня|вчера|today|yesterday)\s*" + _TIME, re.IGNORECASE)
# "26 декабря 2006 в 12:10", "16 сентября в 18:55" (year-less: the current year), "5 марта 2019 г. в 10:00",
# "September 16, 2019 at 06:55 PM", "September 16 at 06:55 PM"
_ABSOLUTE_RE = re.compile(
    r"(?:(?P<d1>\d{1,2})\s+(?P<mon1>[^\W\d_]+)|(?P<mon2>[^\W\d_]+)\s+(?P<d2>\d{1,2}),?)"
    r"(?:\s+(?P<year>\d{4}))?\s*(?:г\.)?\s*" + _TIME
)


def parse_human_date(text: str | None, fetched_at: datetime | None = None) -> datetime | None:
    """A date as Habr prints it for people (Moscow time) as aware UTC, else None.

    Absolute ("26 декабря 2006 в 12:10", "September 16, 2019 at 06:55 PM"), year-less ("16 сентября в 18:55": the
    latest such day not after ``fetched_at``) and relative ("сегодня в 08:48", "вчера в 23:33") forms; the last
    two are resolved against ``fetched_at`` only: without it we do not guess. A date without a time of day gives
    None (midnight would be invented).
    """
    text = clean_text(text)
    if not text:
        return None
    now = None
    if fetched_at is not None:  # a naive fetched_at is taken as UTC, like WARC-Date
        now = (fetched_at if fetched_at.tzinfo else fetched_at.replace(tzinfo=timezone.utc)).astimezone(
            MOSCOW
        )
    match = _RELATIVE_RE.search(text)
    if match:
        if now is None:
            return None
        day: date = now.date() - timedelta(days=0 if match["day"].lower() in ("сегодня", "today") else 1)
        year, month, day_of_month = day.year, day.month, day.day
    else:
        for match in _ABSOLUTE_RE.finditer(text):
            if (match["mon1"] or match["mon2"] or "").lower() in MONTHS:
                break
        else:
            return None
        month = MONTHS[(match["mon1"] or match["mon2"]).lower()]
        day_of_month = int(match["d1"] or match["d2"])
        if match["year"]:
            year = int(match["year"])
        elif now is not None:
            year = now.year if (month, day_of_month) <= (now.month, now.day) else now.year - 1
        else:
            return None
    hour = int(match["h"])
    if match["ampm"]:
        hour = hour % 12 + (12 if match["ampm"].lower() == "pm" else 0)
    try:
        local = datetime(year, month, day_of_month, hour, int(match["m"]), tzinfo=MOSCOW)
    except ValueError:  # "31 февраля", "25:00"
        return None
    return local.astimezone(timezone.utc)


def exact_int(text: str | None) -> int | None:
    """A counter shown exactly ("97", "+30", "−5", "1 289") as int; abbreviated ("19K", "27,3k") gives None.

    Abbreviated view counts are rounded by the site; storing them would invent precision.
    """
    value = (
        clean_text(text).replace("\u2212", "-").replace("\u2013", "-").replace(" ", "").replace("\xa0", "")
    )
    if re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    return None


def put_exact(stats: dict[str, int], key: str, text: str | None) -> None:
    """``stats[key] = exact_int(text)`` when the counter is exact; otherwise the key stays absent."""
    value = exact_int(text)
    if value is not None:
        stats[key] = value


_VOTES_RE = re.compile(r"(\d+)\D*?↑\s*(\d+)\D*?↓\s*(\d+)")


def parse_votes_title(title: str | None) -> dict[str, int]:
    """ "Всего голосов 44: ↑37 и ↓7" / "Общий рейтинг 79: ↑43 и ↓36" -> votesCount/Plus/Minus."""
    match = _VOTES_RE.search(title or "")
    if not match:
        return {}
    return {
        "votesCount": int(match.group(1)),
        "votesCountPlus": int(match.group(2)),
        "votesCountMinus": int(match.group(3)),
    }


_MINUTES_RE = re.compile(r"(\d+)\s*(?:мин|min)", re.IGNORECASE)


def parse_minutes(text: str | None) -> int | None:
    """ "8 мин" / "8 min" -> 8."""
    match = _MINUTES_RE.search(text or "")
    return int(match.group(1)) if match else None


_T = TypeVar("_T")


def unique(values: Iterable[_T | None], key: Callable[[_T], Hashable] | None = None) -> list[_T]:
    """Order-preserving de-duplication (by ``key`` when given), empty values dropped: hubs appear above and below
    a tm body, one listing fixture holds its page twice."""
    seen: set[Hashable] = set()
    out: list[_T] = []
    for value in values:
        if value is None or value == "":
            continue
        marker = key(value) if key is not None else value
        if marker in seen:
            continue
        seen.add(marker)
        out.append(value)
    return out


@lru_cache(maxsize=512)
def _compiled(xpath: str) -> etree.XPath:
    """XPath expressions compiled once per process (``element.xpath(str)`` compiles on every call)."""
    return etree.XPath(xpath)


def first_match(
    context: lxml_html.HtmlElement | None, *queries: str | etree.XPath
) -> lxml_html.HtmlElement | None:
    """First match of the first query that matches, queries being XPath strings or compiled ``etree.XPath``; an
    XPath union would return document order instead, and ``a or b`` on elements tests their len()."""
    if context is None:
        return None
    for query in queries:
        found = (_compiled(query) if isinstance(query, str) else query)(context)
        if found:
            return found[0]
    return None


# /ru/hub/python/ (2006-2023), /ru/hubs/python/ (2023+), /ru/hubs/java/articles/ and /ru/hubs/electronics/posts/
# (2024+ hub links of snippets and short posts name a section); company blogs (/company/x/) are not hubs.
_HUB_HREF_RE = re.compile(r"/hubs?/([^/?#]+)(?:/(?:articles|posts|news|all|top[^/?#]*))?/?(?:[?#].*)?$")


def hub_alias(href: str | None) -> str | None:
    """``https://habr.com/ru/hubs/read/`` -> ``read``; None for anything that is not a hub page."""
    if not href:
        return None
    match = _HUB_HREF_RE.search(urlsplit(href.strip()).path)
    return unquote(match.group(1)) if match else None
