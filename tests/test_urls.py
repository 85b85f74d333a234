"""Every URL form Habr has used reduces to the article id; listing and canonical URLs."""

from urllib.parse import urlsplit

import pytest

from habrmirror.urls import (
    HABR_HOSTS,
    MAX_ARTICLE_ID,
    NotAnArticleUrl,
    article_id,
    article_url,
    at_origin,
    checked_origin,
    is_article_url,
    listing_url,
    request_url,
)

FORMS = [
    ("454184", 454184),
    ("https://habr.com/ru/post/454184/", 454184),
    ("https://habr.com/ru/post/454184", 454184),
    ("https://habr.com/ru/articles/454184/", 454184),
    ("https://habr.com/en/articles/454184/?utm_source=x#comments", 454184),
    ("https://habr.com/ru/companies/yandex/articles/454184/", 454184),
    ("https://habr.com/ru/companies/yandex/news/454184/", 454184),
    ("https://habr.com/ru/company/parallels/blog/462783/", 462783),
    ("https://habr.com/ru/news/454184/", 454184),
    ("https://habr.com/ru/news/t/454184/", 454184),
    ("https://habr.com/p/454184/", 454184),
    ("https://habr.com/post/1000/", 1000),
    ("https://habr.com/en/post/454184/", 454184),
    ("https://habr.com/en/company/x/blog/454184/", 454184),
    ("https://m.habr.com/ru/post/454184/", 454184),
    ("https://m.habr.com/ru/company/parallels/blog/462783/", 462783),
    ("https://habrahabr.ru/post/100000/", 100000),
    ("https://habr.com/ru/amp/publications/483202/", 483202),
    ("https://habr.com/ru/amp/post/483202/", 483202),
    ("habr.com/ru/articles/454184/", 454184),
    ("http://127.0.0.1:8089/ru/post/454184/", 454184),
    ("https://habr.com/ru/sandbox/454184/", 454184),
    ("https://habr.com/ru/article/454184/", 454184),
    ("https://weekly-geekly.github.io/articles/100000/index.html", 100000),
    ("http://127.0.0.1:8089/mirror/articles/100000/index.html", 100000),
    ("https://habr.com/en/posts/454184/", 454184),
    # short "posts" (2024+), also in company blogs
    ("https://habr.com/ru/posts/1064400/", 1064400),
    ("https://habr.com/ru/companies/ruvds/posts/1064400/", 1064400),
    ("https://habr.com/en/companies/ruvds/posts/1064400/?utm_source=x", 1064400),
    ("http://127.0.0.1:8089/ru/companies/ruvds/posts/1064400/", 1064400),
    # pasted from a browser: the comments page, tracking parameters, a fragment
    ("https://habr.com/ru/articles/454184/comments/", 454184),
    ("https://habr.com/ru/articles/454184/comments/#comment_1", 454184),
    ("https://habr.com/ru/companies/yandex/articles/454184/comments/?utm_campaign=y", 454184),
    ("https://habr.com/ru/post/454184/comments", 454184),
    ("https://habr.com/ru/news/454184/?utm_source=habrahabr&utm_medium=rss", 454184),
    ("https://geektimes.ru/post/300000/", 300000),
    ("https://www.habr.com/ru/articles/454184/", 454184),
    ("/ru/articles/454184/", 454184),
]


@pytest.mark.parametrize(("text", "expected"), FORMS)
def test_article_id_from_every_form(text: str, expected: int) -> None:
    assert article_id(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "https://habr.com/ru/articles/",
        "https://habr.com/ru/articles/page2/",
        "https://habr.com/ru/hubs/python/",
        "https://habr.com/ru/users/someone/",
        "https://habr.com/ru/posts/",
        "https://habr.com/ru/companies/ruvds/posts/",
        "https://habr.com/ru/companies/ruvds/posts/page2/",
        "https://habr.com/ru/hubs/electronics/posts/",
        "hello",
        "",
        # ids outside 1..99,999,999 (Habr's ids are about 1,070,000 in 2026)
        "0",
        "100000000",
        "18446744073709551616",
        "https://habr.com/ru/articles/0/",
        "https://habr.com/ru/articles/99999999999999999999/",
        "\u0661\u0662",  # Arabic-Indic digits: str.isdigit() says yes, Habr does not
        "ftp://habr.com/ru/post/1/",
    ],
)
def test_non_article_urls_are_refused(text: str) -> None:
    with pytest.raises(NotAnArticleUrl):
        article_id(text)
    assert not is_article_url(text)


def test_canonical_and_request_urls() -> None:
    assert article_url(454184) == "https://habr.com/ru/articles/454184/"
    assert article_url(5, "http://127.0.0.1:9/", "en") == "http://127.0.0.1:9/en/articles/5/"
    assert request_url("454184", "http://127.0.0.1:9") == "http://127.0.0.1:9/ru/articles/454184/"
    # a Habr URL is fetched from the origin; with the default origin it is unchanged
    assert request_url("https://habr.com/ru/post/1/", "http://127.0.0.1:9") == "http://127.0.0.1:9/ru/post/1/"
    assert request_url("https://habr.com/ru/post/1/") == "https://habr.com/ru/post/1/"


def test_listing_urls() -> None:
    assert listing_url("https://habr.com", "articles", 1) == "https://habr.com/ru/articles/"
    assert listing_url("https://habr.com", "articles", 3) == "https://habr.com/ru/articles/page3/"
    assert listing_url("https://habr.com", "news", 2, "en") == "https://habr.com/en/news/page2/"
    assert listing_url("https://habr.com", "all", 2) == "https://habr.com/ru/all/page2/"
    with pytest.raises(ValueError):
        listing_url("https://habr.com", "feed")


def test_absolute_is_urljoin_for_every_link_on_the_real_pages() -> None:
    """``absolute`` skips urljoin for plain absolute URLs; the answer must still be urljoin's, exactly."""
    import html
    import re
    from urllib.parse import urljoin

    from habrmirror.urls import absolute
    from tests.conftest import FIXTURES

    values = {
        "https://x.org/a?", "https://x.org/a#", "https://x.org/a?#b", "https://x.org/./a", "https://x.org/a/..",
        "https://X.org/A", "http://x.org", "https://x.org//a", "https://x.org/a;p?q=1#f", "https://x.org/a\tb",
        "https://x.org/.well-known", "http:///a", "https:///a", "http://", "https://?q", "https://x.org/a b",
        "https://x.org/%2e%2e/a", "https://user:pw@x.org:80/a", "https://x.org/a?b#", "https://x.org/a#?",
        "http://x.org?a", "http://x.org#f", "https://[::1]:80/a", "https://x.org:/a", "HTTPS://x.org/a",
    }  # fmt: skip
    for page in FIXTURES.glob("*.html"):
        for match in re.finditer(r'(?:href|src|data-src|srcset)="([^"]*)"', page.read_text(errors="replace")):
            value = html.unescape(match.group(1)).strip()
            values.add(value)
            values.update(part.strip().split(" ")[0] for part in value.split(","))
    checked = 0
    for value in values:
        if value and not value.startswith(("javascript:", "data:", "#")):
            for base in ("https://habr.com/ru/articles/1/", "http://127.0.0.1:8000/ru/post/2/"):
                assert absolute(base, value) == urljoin(base, value), value
            checked += 1
    assert checked > 3000


def test_posts_urls() -> None:
    assert is_article_url("https://habr.com/ru/companies/ruvds/posts/1064400/")
    assert is_article_url("/ru/posts/1064400/")
    assert not is_article_url("1064400")
    assert article_url(1064400, kind="post") == "https://habr.com/ru/posts/1064400/"
    assert article_url(7, "http://127.0.0.1:9", "en", kind="news") == "http://127.0.0.1:9/en/news/7/"
    assert article_url(7, kind="megapost") == article_url(7, kind=None) == "https://habr.com/ru/articles/7/"
    url = "https://habr.com/ru/companies/ruvds/posts/1064400/"
    assert request_url(url) == url
    assert request_url(url, "http://127.0.0.1:9") == "http://127.0.0.1:9/ru/companies/ruvds/posts/1064400/"


ORIGIN = "http://127.0.0.1:9"


@pytest.mark.parametrize(("text", "expected"), [form for form in FORMS if not form[0].isdigit()])
def test_origin_replaces_habrs_hosts_in_every_form(text: str, expected: int) -> None:
    """The origin rule: Habr's hosts (and a bare path) are fetched from --origin, any other host from itself;
    never a fragment, never utm_ parameters, never the comments page (the post's page instead)."""
    fetched = request_url(text, ORIGIN)
    given = urlsplit(text if "://" in text or text.startswith("/") else "https://" + text)
    parts = urlsplit(fetched)
    if not given.netloc or given.hostname in HABR_HOSTS:
        assert f"{parts.scheme}://{parts.netloc}" == ORIGIN, fetched
    else:
        assert parts.netloc == given.netloc, fetched
    assert "#" not in fetched and "utm_" not in fetched and "/comments" not in fetched
    assert article_id(fetched) == expected and is_article_url(fetched)
    assert request_url(fetched, ORIGIN) == fetched  # fetching what request_url says changes nothing


def test_request_url_keeps_what_is_not_tracking() -> None:
    assert (
        request_url("https://habr.com/ru/articles/1/comments/#comment_5") == "https://habr.com/ru/articles/1/"
    )
    assert (
        request_url("https://m.habr.com/ru/post/5/?utm_source=x&a=1%20b")
        == "https://habr.com/ru/post/5/?a=1%20b"
    )
    assert request_url("https://m.habr.com/ru/post/5/", ORIGIN) == f"{ORIGIN}/ru/post/5/"
    assert request_url("/ru/post/7/", ORIGIN) == f"{ORIGIN}/ru/post/7/"
    mirror = "https://weekly-geekly.github.io/articles/100000/index.html#top"
    assert request_url(mirror, ORIGIN) == mirror.removesuffix("#top")
    # listing links (not always an article form) get the same host rule, no validation
    assert at_origin("https://habr.com/ru/specials/123/#x", ORIGIN) == f"{ORIGIN}/ru/specials/123/"


def test_comments_page_names_the_post_but_is_not_its_page() -> None:
    assert article_id("https://habr.com/ru/articles/454184/comments/") == 454184
    assert not is_article_url("https://habr.com/ru/articles/454184/comments/")  # reindex skips such records


def test_id_bounds() -> None:
    assert article_id("1") == 1 and article_id(str(MAX_ARTICLE_ID)) == MAX_ARTICLE_ID
    with pytest.raises(NotAnArticleUrl, match="Habr ids are 1 to 99,999,999"):
        article_id(str(MAX_ARTICLE_ID + 1))
    with pytest.raises(NotAnArticleUrl):
        article_id(0)


@pytest.mark.parametrize(
    ("text", "origin"),
    [
        ("https://habr.com", "https://habr.com"),
        ("https://habr.com/", "https://habr.com"),
        ("habr.com", "https://habr.com"),
        ("http://127.0.0.1:8089", "http://127.0.0.1:8089"),
        ("http://[::1]:8089/", "http://[::1]:8089"),
    ],
)
def test_good_origins(text: str, origin: str) -> None:
    assert checked_origin(text) == origin


@pytest.mark.parametrize(
    "text",
    ["ftp://habr.com", "http://", "https://habr.com/ru/", "http://127.0.0.1:99999", "http://127.0.0.1:x",
     "http://a b", "https://user@habr.com", "https://habr.com?x=1", "http://host:"],
)  # fmt: skip
def test_bad_origins(text: str) -> None:
    with pytest.raises(ValueError, match="--origin must look like"):
        checked_origin(text)
