"""The page helpers articles and listings share (habrmirror.pages.text, habrmirror.pages.state): one behaviour
each, pinned here where the two former copies disagreed (ISO times without a zone, human dates, state scripts,
declared charsets, hub links)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from lxml import etree

from habrmirror.pages import parse_article
from habrmirror.pages.listing import parse_listing
from habrmirror.pages.state import page_state
from habrmirror.pages.text import (
    MOSCOW,
    clean_text,
    first_match,
    hub_alias,
    parse_document,
    parse_human_date,
    parse_iso,
    unique,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


# -- ISO timestamps ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-04-07T09:30:46.000Z", utc(2025, 4, 7, 9, 30, 46)),
        ("2025-04-07T09:01:26+00:00", utc(2025, 4, 7, 9, 1, 26)),
        ("2019-08-06T23:33+03:00", utc(2019, 8, 6, 20, 33)),
        ("2019-08-06T20:33Z", utc(2019, 8, 6, 20, 33)),
        (" 2026-07-30T10:00:21+00:00 ", utc(2026, 7, 30, 10, 0, 21)),
        # No zone: Habr always writes one; UTC or Moscow would be a guess, so the field stays null.
        ("2025-04-07T09:30:46", None),
        ("2025-04-07", None),
        ("вчера", None),
        ("", None),
        (None, None),
        (1744018246, None),  # a state value of the wrong type
    ],
)
def test_parse_iso(value: object, expected: datetime | None) -> None:
    assert parse_iso(value) == expected


def test_listing_time_without_zone_is_null() -> None:
    """The listing's former copy took a naive ``<time datetime>`` as UTC; a page that does not say is not guessed."""
    html = (
        '<html><body><div class="tm-articles-list"><article id="5" class="tm-articles-list__item">'
        '<h2><a href="/ru/articles/5/">T</a></h2><time datetime="2025-04-07T09:30:46">вчера</time>'
        '</article><article id="6" class="tm-articles-list__item"><h2><a href="/ru/articles/6/">U</a></h2>'
        '<time datetime="2025-04-07T09:30:46.000Z">вчера</time></article></div></body></html>'
    )
    page = parse_listing("https://habr.com/ru/articles/", html)
    assert [entry.published_at for entry in page.entries] == [None, utc(2025, 4, 7, 9, 30, 46)]


# -- human dates (Moscow time) ---------------------------------------------------------------------------------------
FETCHED = utc(2019, 9, 18, 9, 0)  # 12:00 in Moscow


@pytest.mark.parametrize(
    ("text", "fetched_at", "expected"),
    [
        ("26 декабря 2006 в 12:10", None, utc(2006, 12, 26, 9, 10)),
        ("14 сентября 2019 в 21:40", FETCHED, utc(2019, 9, 14, 18, 40)),
        ("5 марта 2019 г. в 10:00", None, utc(2019, 3, 5, 7, 0)),
        ("September 16, 2019 at 06:55 PM", None, utc(2019, 9, 16, 15, 55)),
        ("September 16, 2019 at 12:05 AM", None, utc(2019, 9, 15, 21, 5)),
        ("December 26, 2006 at 12:10", None, utc(2006, 12, 26, 9, 10)),
        ("  Опубликовано\n 26 декабря 2006 в 12:10 ", None, utc(2006, 12, 26, 9, 10)),
        # year-less: this year when the day has come, else last year; only with a capture date
        ("16 сентября в 18:55", FETCHED, utc(2019, 9, 16, 15, 55)),
        ("20 сентября в 18:55", FETCHED, utc(2018, 9, 20, 15, 55)),
        ("September 16 at 06:55 PM", FETCHED, utc(2019, 9, 16, 15, 55)),
        ("16 сентября в 18:55", None, None),
        # relative: the Moscow day of the capture
        ("сегодня в 08:48", FETCHED, utc(2019, 9, 18, 5, 48)),
        ("вчера в 23:33", FETCHED, utc(2019, 9, 17, 20, 33)),
        ("yesterday at 11:33 PM", FETCHED, utc(2019, 9, 17, 20, 33)),
        ("Today at 8:48 AM", FETCHED, utc(2019, 9, 18, 5, 48)),
        ("вчера в 23:33", None, None),
        # never invented: no time of day, no such day, no month
        ("26 декабря 2006", None, None),
        ("31 февраля 2019 в 10:00", None, None),
        ("26 smarch 2006 в 12:10", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_parse_human_date(text: str | None, fetched_at: datetime | None, expected: datetime | None) -> None:
    assert parse_human_date(text, fetched_at) == expected


def test_naive_fetched_at_is_utc() -> None:
    assert parse_human_date("сегодня в 02:00", datetime(2019, 9, 17, 22, 30)) == utc(2019, 9, 17, 23, 0)


def test_moscow_is_utc_plus_3_since_2014() -> None:
    assert datetime(2020, 1, 1, tzinfo=MOSCOW).utcoffset() == timedelta(hours=3)


def test_legacy_article_year_less_date_uses_fetched_at() -> None:
    html = (
        '<html lang="ru"><head><link rel="canonical" href="https://habr.com/ru/post/7/"></head><body>'
        '<div class="post__wrapper"><header class="post__meta"><span class="post__time">16 сентября в 18:55</span>'
        '</header><h1 class="post__title post__title_full"><span class="post__title-text">T</span></h1>'
        '<div class="post__body post__body_full"><div class="post__text">x</div></div></div></body></html>'
    )
    assert parse_article("u", html).published_at is None
    assert parse_article("u", html, fetched_at=FETCHED).published_at == "2019-09-16T15:55:00+00:00"


# -- page state --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["__INITIAL_STATE__", "__PINIA_STATE__"])
def test_page_state_reads_vuex_and_pinia(name: str) -> None:
    doc = parse_document(
        "<html><head><script>var x = window.__INITIAL_STATE__ === undefined;</script>"
        f'<script>window.{name}={{"articlesList":{{"a":1}}}};(function(){{}})()</script></head><body></body></html>'
    )
    assert page_state(doc) == {"articlesList": {"a": 1}}


def test_page_state_absent() -> None:
    assert page_state(parse_document("<html><body><script>var a = 1;</script></body></html>")) is None


# -- decoding ----------------------------------------------------------------------------------------------------------
def test_listing_declared_charset_is_honoured() -> None:
    """Listings were decoded as UTF-8 whatever they declared; now the same ``decode_body`` as articles."""
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251"></head><body>'
        '<div class="posts_list"><ul class="content-list content-list_posts"><li id="post_42" '
        'class="content-list__item content-list__item_post"><article class="post post_preview"><header '
        'class="post__meta"><a href="https://habr.com/ru/users/vasya/" class="post__user-info user-info">'
        '<span class="user-info__nickname">vasya</span></a><span class="post__time">26 декабря 2006 в 12:10</span>'
        '</header><h2 class="post__title"><a href="https://habr.com/ru/post/42/" class="post__title_link">Привет, '
        'мир</a></h2><ul class="post__hubs inline-list"><li class="inline-list__item"><a '
        'href="https://habr.com/ru/hub/python/" class="inline-list__item-link hub-link">Питон</a></li></ul>'
        "</article></li></ul></div></body></html>"
    )
    page = parse_listing("https://habr.com/ru/all/", html.encode("windows-1251"))
    [entry] = page.entries
    assert (entry.id, entry.title, entry.author, entry.hubs, entry.hub_aliases) == (
        42,
        "Привет, мир",
        "vasya",
        ["Питон"],
        ["python"],
    )
    assert entry.published_at == utc(2006, 12, 26, 9, 10)


# -- small helpers -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("href", "alias"),
    [
        ("https://habr.com/ru/hub/python/", "python"),
        ("/ru/hubs/read/", "read"),
        ("/ru/hubs/java/articles/", "java"),
        ("/ru/hubs/electronics/posts/", "electronics"),
        ("/ru/hub/c%2B%2B", "c++"),
        ("/ru/hubs/read/?page=2", "read"),
        ("/ru/companies/ruvds/posts/", None),
        ("/ru/company/flant/blog/", None),
        ("/ru/hub/python/blog/123/", None),
        ("", None),
        (None, None),
    ],
)
def test_hub_alias(href: str | None, alias: str | None) -> None:
    assert hub_alias(href) == alias


def test_clean_text_collapses_every_unicode_space() -> None:
    assert clean_text(" a\xa0\u2009b\n\tc ") == "a b c"
    assert clean_text(None) == ""


def test_unique() -> None:
    assert unique(["b", None, "a", "", "b"]) == ["b", "a"]
    assert unique([(1, "x"), (2, "y"), (1, "z")], key=lambda pair: pair[0]) == [(1, "x"), (2, "y")]


def test_first_match() -> None:
    doc = parse_document("<html><body><p>1</p><div><b>2</b><p>3</p></div></body></html>")
    assert first_match(doc, "//i", "//div//*").text == "2"  # the first query that matches, not document order
    assert first_match(doc, etree.XPath("//p")).text == "1"
    assert first_match(None, "//p") is None
    assert first_match(doc, "//i") is None
