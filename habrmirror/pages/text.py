"""Small pure helpers the article page objects share: decoding, dates, counters, class tests.

Sits under ``habrmirror.pages.article_*``: nothing here knows a layout, it only turns page strings into values.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from lxml import etree
from lxml import html as lxml_html

# Habr renders human dates in Moscow time (legacy pages: "26 декабря 2006 в 12:10").
MOSCOW = ZoneInfo("Europe/Moscow")

_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def _html_parser() -> lxml_html.HTMLParser:
    """lxml.html's parser with every element an ``HtmlElement`` chosen in C. lxml.html picks each element's
    class in Python (special classes for form controls, which no page object uses); that lookup ran for
    every element a parser touched and cost ~8% of an article's parse (bench/parse.py)."""
    parser = lxml_html.HTMLParser()
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


def parse_document(text: str) -> lxml_html.HtmlElement:
    """The whole page parsed once with lxml (the only full-page parse a page object does)."""
    # lxml refuses str input carrying an XML encoding declaration; browser-saved pages never have one,
    # but strip it defensively.
    if text.startswith("<?xml"):
        text = text[text.find("?>") + 2 :]
    return lxml_html.document_fromstring(text, parser=HTML_PARSER)


def class_xpath(name: str) -> str:
    """XPath predicate body for "has the exact class token ``name``" (``contains(@class, x)`` alone would match
    ``x-y`` too). The plain substring test runs first and rules most elements out: building the normalised class
    string for every element was most of a listing page's parse time."""
    return f'(contains(@class, "{name}") and contains(concat(" ", normalize-space(@class), " "), " {name} "))'


def clean_text(text: str | None) -> str:
    """Whitespace runs collapsed to one space, ends stripped."""
    return " ".join((text or "").split())


def parse_iso(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp (``...Z``, ``.000Z``, ``+03:00``, ``2019-08-06T20:33Z``) as aware UTC, else None."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None  # a naive time would be a guess about the zone
    return moment.astimezone(timezone.utc)


_RU_MONTHS = {
    "января": 1,
    "февраля": 2,
    "марта": 3,
    "апреля": 4,
    "мая": 5,
    "июня": 6,
    "июля": 7,
    "августа": 8,
    "сентября": 9,
    "октября": 10,
    "ноября": 11,
    "декабря": 12,
}
_EN_MONTHS = {
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
}
_HUMAN_DATE_RE = re.compile(
    r"(\d{1,2})\s+([A-Za-zА-Яа-яё]+)\s+(\d{4})(?:\s*(?:в|at|,)?\s*(\d{1,2}):(\d{2}))?"
)
_EN_DATE_RE = re.compile(r"([A-Za-z]+)\s+(\d{1,2}),\s*(\d{4})(?:\s*(?:at)?\s*(\d{1,2}):(\d{2}))?")
_RELATIVE_RE = re.compile(r"(сегодня|вчера|today|yesterday)\s*(?:в|at)?\s*(\d{1,2}):(\d{2})", re.IGNORECASE)


def parse_human_date(text: str | None, fetched_at: datetime | None = None) -> datetime | None:
    """A legacy "26 декабря 2006 в 12:10" / "вчера в 23:33" (Moscow time) as aware UTC, else None.

    Relative days ("сегодня", "вчера") are resolved against ``fetched_at`` only: without it we do not guess.
    """
    text = clean_text(text)
    if not text:
        return None
    match = _HUMAN_DATE_RE.search(text)
    if match:
        month = _RU_MONTHS.get(match.group(2).lower()) or _EN_MONTHS.get(match.group(2).lower())
        if month:
            hour, minute = int(match.group(4) or 0), int(match.group(5) or 0)
            local = datetime(int(match.group(3)), month, int(match.group(1)), hour, minute, tzinfo=MOSCOW)
            return local.astimezone(timezone.utc)
    match = _EN_DATE_RE.search(text)
    if match and match.group(1).lower() in _EN_MONTHS:
        hour, minute = int(match.group(4) or 0), int(match.group(5) or 0)
        local = datetime(
            int(match.group(3)),
            _EN_MONTHS[match.group(1).lower()],
            int(match.group(2)),
            hour,
            minute,
            tzinfo=MOSCOW,
        )
        return local.astimezone(timezone.utc)
    match = _RELATIVE_RE.search(text)
    if match and fetched_at is not None:
        if fetched_at.tzinfo is None:
            fetched_at = fetched_at.replace(tzinfo=timezone.utc)
        day: date = fetched_at.astimezone(MOSCOW).date()
        if match.group(1).lower() in ("вчера", "yesterday"):
            day -= timedelta(days=1)
        local = datetime(
            day.year, day.month, day.day, int(match.group(2)), int(match.group(3)), tzinfo=MOSCOW
        )
        return local.astimezone(timezone.utc)
    return None


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


def iso_utc(moment: datetime | None) -> str | None:
    """``2021-07-19T10:04:05+00:00`` (seconds precision), the form the index stores."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat()
