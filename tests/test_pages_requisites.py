"""``body_image_urls``: every image URL an archived body makes a browser load, so replay finds them all.

Checked on every real saved page: each ``src``, ``data-src`` and ``srcset`` candidate of the body's ``<img>`` and
``<source>`` tags that points at a web host is returned; a saving browser's ``./<title>_files/`` copies are not.
"""

from __future__ import annotations

import re

import pytest

from habrmirror.pages import parse_article
from habrmirror.pages.requisites import HABR_ASSET_HOSTS, body_image_urls, page_requisites
from tests.conftest import FIXTURES

PAGES = sorted(p.name for p in FIXTURES.glob("article-*.html"))
_TAG = re.compile(r"<(?:img|source)\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"""\s(src|data-src|srcset|data-srcset)="([^"]*)\"""", re.IGNORECASE)


def loaded_urls(body: str) -> set[str]:
    """What the markup asks for, read independently of the function under test (absolute http(s) only)."""
    urls = set()
    for tag in _TAG.findall(body):
        for name, value in _ATTR.findall(tag):
            value = value.replace("&amp;", "&")
            parts = [p.strip().split(" ")[0] for p in value.split(",")] if "srcset" in name else [value]
            urls.update(p for p in parts if p.startswith(("https://", "http://")))
    return urls


@pytest.mark.parametrize("name", PAGES)
def test_every_web_image_url_of_the_body_is_listed(name: str) -> None:
    article = parse_article("https://habr.com/ru/articles/1/", (FIXTURES / name).read_bytes())
    found = body_image_urls(article.text_html, "https://habr.com/ru/articles/1/")
    assert loaded_urls(article.text_html or "") <= set(found)
    assert not [url for url in found if "_files/" in url and "upload_files/" not in url]


def test_habr_upload_files_are_kept_and_browser_copies_dropped() -> None:
    body = (
        '<img src="./Post%20_%20Habr_files/a8a535.png" data-src="https://habrastorage.org/getpro/habr/upload_files/'
        'a8a/535/606/a8a535.png"><picture><source srcset="https://habrastorage.org/r/w780/getpro/habr/upload_files/'
        "a8a/535/606/a8a535.png 780w, https://habrastorage.org/r/w1560/getpro/habr/upload_files/a8a/535/606/"
        'a8a535.png 1560w"></picture>'
    )
    assert body_image_urls(body, "https://habr.com/ru/articles/804525/") == [
        "https://habrastorage.org/getpro/habr/upload_files/a8a/535/606/a8a535.png",
        "https://habrastorage.org/r/w780/getpro/habr/upload_files/a8a/535/606/a8a535.png",
        "https://habrastorage.org/r/w1560/getpro/habr/upload_files/a8a/535/606/a8a535.png",
    ]


def test_the_2024_page_lists_its_images() -> None:
    name = "article-tm-804525-browsersaved-2024.html"
    article = parse_article("https://habr.com/ru/articles/804525/", (FIXTURES / name).read_bytes())
    found = body_image_urls(article.text_html, "https://habr.com/ru/articles/804525/")
    assert {image.url for image in article.images} <= set(found) and len(found) >= len(article.images) > 0


REQUISITE_PAGES = {
    # page: (how many requisites, one that must be there, one that must not)
    "article-tm-568382-2021.html": (15, "https://assets.habr.com/habr-web/css/app.cc282592.css", "gpt.js"),
    "article-legacy-1000-2018.html": (
        13,
        "https://dr.habracdn.net/habrcom/styles/1529408728/_build/global_main.css",
        "/viewcount/",
    ),
    "article-tm-1064400-company-2026.html": (
        94,
        "https://assets.habr.com/habr-web/release_2.339.1/client/css/theme/dark-v2.css",
        "fonts.googleapis.com",
    ),
}


@pytest.mark.parametrize("name", sorted(REQUISITE_PAGES))
def test_page_requisites_are_habrs_own_stylesheets_scripts_and_icons(name: str) -> None:
    count, present, absent = REQUISITE_PAGES[name]
    found = page_requisites((FIXTURES / name).read_bytes(), "https://habr.com/ru/articles/1/")
    assert len(found) == count and len(set(found)) == count
    assert present in found
    assert not [url for url in found if absent in url]
    assert all(url.split("/")[2] in HABR_ASSET_HOSTS for url in found)
