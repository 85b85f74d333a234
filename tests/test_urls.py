"""Every URL form Habr has used reduces to the article id; listing and canonical URLs."""

import pytest

from habrmirror.urls import NotAnArticleUrl, article_id, article_url, is_article_url, listing_url, request_url

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
        "https://habr.com/ru/articles/454184/comments/",
        "https://habr.com/ru/posts/",
        "https://habr.com/ru/companies/ruvds/posts/",
        "https://habr.com/ru/companies/ruvds/posts/page2/",
        "https://habr.com/ru/hubs/electronics/posts/",
        "hello",
        "",
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
    # a URL is fetched as given, whatever the origin
    assert request_url("https://habr.com/ru/post/1/", "http://127.0.0.1:9") == "https://habr.com/ru/post/1/"


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
    assert request_url(url, "http://127.0.0.1:9") == url
