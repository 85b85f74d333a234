"""Article page objects on the real saved pages: one assertion per field, counts, chrome kept out, cross-checks.

Expected values live in ``tests/expected/<fixture>.json`` and were read off the pages by hand (grep/inspection of
the HTML), not dumped from the parser, so a wrong selector fails here.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import pytest

from habrmirror.items import Article
from habrmirror.pages import (
    BlockedPage,
    NotAnArticlePage,
    ParseError,
    detect_article_layout,
    parse_article,
)
from habrmirror.pages.article_tm import TmDomPage
from habrmirror.pages.state import page_state
from habrmirror.pages.text import decode_body, parse_document

FIXTURES = Path(__file__).parent / "fixtures" / "habr"
EXPECTED = Path(__file__).parent / "expected"
CASES = sorted(path.stem for path in EXPECTED.glob("*.json"))


@cache
def expected(stem: str) -> dict:
    return json.loads((EXPECTED / f"{stem}.json").read_text(encoding="utf-8"))


@cache
def parsed(stem: str) -> Article:
    return parse_article(expected(stem)["url_fetched"], (FIXTURES / f"{stem}.html").read_bytes())


def paragraphs(article: Article) -> list[str]:
    return [block for block in (article.text or "").split("\n\n") if block.strip()]


# -- fixtures are byte-exact ---------------------------------------------------------------------------------------
def test_fixtures_match_sha256sums() -> None:
    lines = (FIXTURES / "SHA256SUMS").read_text().splitlines()
    assert lines, "empty SHA256SUMS"
    for line in lines:
        digest, name = line.split(maxsplit=1)
        name = name.lstrip("*")
        assert hashlib.sha256((FIXTURES / name).read_bytes()).hexdigest() == digest, f"{name} changed"


def test_every_article_fixture_has_expected_values() -> None:
    articles = {p.stem for p in FIXTURES.glob("article-*.html")} | {"mirror-weekly-geekly-article-100000"}
    assert articles == set(CASES)


# -- one assertion per field -------------------------------------------------------------------------------------
FIELD_CASES = [(stem, field) for stem in CASES for field in expected(stem)["fields"]]


@pytest.mark.parametrize(("stem", "field"), FIELD_CASES, ids=[f"{s}:{f}" for s, f in FIELD_CASES])
def test_field(stem: str, field: str) -> None:
    assert getattr(parsed(stem), field) == expected(stem)["fields"][field]


@pytest.mark.parametrize("stem", CASES)
def test_time_published_matches_published_at(stem: str) -> None:
    article = parsed(stem)
    published_at = expected(stem)["fields"].get("published_at")
    if published_at is None:
        assert article.time_published is None
    else:
        assert article.time_published == int(datetime.fromisoformat(published_at).timestamp())


COUNT_CASES = [(stem, what) for stem in CASES for what in expected(stem)["counts"]]


@pytest.mark.parametrize(("stem", "what"), COUNT_CASES, ids=[f"{s}:{w}" for s, w in COUNT_CASES])
def test_counts(stem: str, what: str) -> None:
    article = parsed(stem)
    actual = {
        "images": lambda: len(article.images),
        "links": lambda: len(article.links),
        "paragraphs": lambda: len(paragraphs(article)),
        # opening + closing fence lines (also inside blockquotes: "> ```")
        "code_blocks": lambda: len(re.findall(r"^(?:> ?)*```", article.text_markdown, re.MULTILINE)) // 2,
        # comments the page renders (li.content-list__item_comment / article.tm-comment-thread__comment)
        "comments": lambda: len(article.comments),
    }[what]()
    assert actual == expected(stem)["counts"][what]


@pytest.mark.parametrize("stem", [s for s in CASES if "first_image" in expected(s)])
def test_first_image_is_the_real_url(stem: str) -> None:
    assert parsed(stem).images[0].url == expected(stem)["first_image"]


@pytest.mark.parametrize("stem", CASES)
def test_images_and_links_are_absolute_and_not_local_copies(stem: str) -> None:
    article = parsed(stem)
    for url in [image.url for image in article.images] + [link.url for link in article.links]:
        assert url.startswith(("http://", "https://")), url
        assert "Хабр_files/" not in url and "px.gif" not in url and "image-loader" not in url, url
    for image in article.images:
        assert f"({image.url.replace('(', '%28').replace(')', '%29')})" in article.text_markdown


@pytest.mark.parametrize("stem", [s for s in CASES if "first_link" in expected(s)])
def test_first_link(stem: str) -> None:
    link = parsed(stem).links[0]
    assert [link.url, link.text] == expected(stem)["first_link"]


@pytest.mark.parametrize(
    "stem", [s for s in CASES if "first_paragraph_start" in expected(s) or "first_paragraph" in expected(s)]
)
def test_first_and_last_paragraph(stem: str) -> None:
    blocks = paragraphs(parsed(stem))
    data = expected(stem)
    if "first_paragraph" in data:
        assert blocks[0] == data["first_paragraph"]
    if "first_paragraph_start" in data:
        assert blocks[0].startswith(data["first_paragraph_start"])
    if "last_paragraph_start" in data:
        assert blocks[-1].startswith(data["last_paragraph_start"])


SNIPPET_CASES = [(stem, s, True) for stem in CASES for s in expected(stem)["must_contain"]] + [
    (stem, s, False) for stem in CASES for s in expected(stem)["must_not_contain"]
]


@pytest.mark.parametrize(("stem", "snippet", "present"), SNIPPET_CASES)
def test_body_snippets(stem: str, snippet: str, present: bool) -> None:
    """Body content is kept; comments, sidebars, author cards, polls, tag/hub footers and ads are not."""
    article = parsed(stem)
    bodies = article.text_markdown + "\n" + article.text
    if present:
        assert snippet in article.text_markdown
    else:
        assert snippet not in bodies


@pytest.mark.parametrize("stem", CASES)
def test_crawl_fields_left_empty(stem: str) -> None:
    article = parsed(stem)
    assert (article.fetched_url, article.captured_at, article.warc) == (None, None, None)
    assert all(not image.archived and image.error is None for image in article.images)
    # comments: those the page renders ("page"), else none and "not_fetched" (a later capture may add them)
    assert article.comments_status in ("page", "not_fetched")
    assert article.comments_status == "page" or article.comments == []


def test_lead_from_state() -> None:
    article = parsed("article-tm-568382-2021")
    assert article.lead_html.startswith(expected("article-tm-568382-2021")["lead_starts"])
    assert article.lead_markdown.startswith("Подборка мероприятий на неделю")
    assert (
        "![image](https://habrastorage.org/webt/sk/la/0r/skla0rb4ggcljeuxyqmgvmmxfp4.jpeg)"
        in article.lead_markdown
    )


def test_text_html_is_the_body_as_in_the_page() -> None:
    ssr = parsed("article-tm-568382-2021")
    raw = (FIXTURES / "article-tm-568382-2021.html").read_text(encoding="utf-8")
    assert ssr.text_html.startswith(
        '<div xmlns="http://www.w3.org/1999/xhtml"><p>Подборка мероприятий на неделю</p>'
    )
    assert ssr.text_html.replace("\r\n", "\n") in raw  # the SSR DOM carries the same bytes as the state
    mobile = parsed("article-mobile-462783-en-2019")  # state contentHTML is entity-escaped: &#x3C;div ...
    assert mobile.text_html.startswith(
        '<div xmlns="http://www.w3.org/1999/xhtml"><img src="/img/px.gif" data-src='
    )
    assert "<br/>\r\n<br/>\r\n" in mobile.text_html and "&#x" not in mobile.text_html
    legacy = parsed("article-legacy-1000-2018")
    assert legacy.text_html.startswith("Волна публикаций")
    assert "post-stats" not in legacy.text_html and "js-mediator-script" not in legacy.text_html


# -- cross-checks of independent paths ---------------------------------------------------------------------------
def test_legacy_and_mobile_renderings_of_462783_agree() -> None:
    legacy, mobile = parsed("article-legacy-462783-company-2019"), parsed("article-mobile-462783-en-2019")
    assert legacy.parser != mobile.parser
    for field in (
        "id",
        "url",
        "title",
        "author",
        "author_name",
        "time_published",
        "tags",
        "hubs",
        "language",
    ):
        assert getattr(legacy, field) == getattr(mobile, field), field
    shared = set(legacy.statistics) & set(mobile.statistics)
    assert shared >= {"commentsCount", "favoritesCount", "score"}
    assert {k: legacy.statistics[k] for k in shared} == {k: mobile.statistics[k] for k in shared}
    legacy_blocks, mobile_blocks = paragraphs(legacy), paragraphs(mobile)
    assert len(legacy_blocks) == len(mobile_blocks)
    assert legacy_blocks[0] == mobile_blocks[0] and legacy_blocks[-1] == mobile_blocks[-1]
    assert [i.url for i in legacy.images] == [i.url for i in mobile.images]


def test_568382_state_and_dom_agree() -> None:
    """The same bytes read through the state (tm-ssr) and through the DOM alone (tm-dom) give the same article."""
    body = (FIXTURES / "article-tm-568382-2021.html").read_bytes()
    ssr = parse_article("https://habr.com/ru/post/568382/", body)
    dom = TmDomPage("https://habr.com/ru/post/568382/", parse_document(decode_body(body))).parse()
    assert (ssr.parser, dom.parser) == ("tm-ssr/1", "tm-dom/1")
    for field in ("id", "url", "title", "author", "time_published", "hubs", "hub_titles", "tags", "language"):
        assert getattr(ssr, field) == getattr(dom, field), field
    assert ssr.text == dom.text and ssr.text_markdown == dom.text_markdown
    assert ssr.images == dom.images and ssr.links == dom.links
    shared = set(ssr.statistics) & set(dom.statistics)
    assert shared >= {"readingCount", "score", "favoritesCount"}
    assert {k: ssr.statistics[k] for k in shared} == {k: dom.statistics[k] for k in shared}
    # The state's body and the rendered body are the same markup.
    assert ssr.text_html.replace("\r\n", "\n").replace("<br/>", "<br>").replace(
        "/>", ">"
    ) == dom.text_html.replace("/>", ">")


def test_state_is_found_in_568382() -> None:
    doc = parse_document(decode_body((FIXTURES / "article-tm-568382-2021.html").read_bytes()))
    state = page_state(doc)
    assert state is not None and "568382" in state["articlesList"]["articlesList"]


# -- decoding --------------------------------------------------------------------------------------------------
def test_malformed_utf8_is_decoded_leniently() -> None:
    body = (FIXTURES / "article-legacy-472278-company-2019-malformed-utf8.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert (
        parse_article("https://habr.com/ru/company/flant/blog/472278/", body).title
        == "Мой любимый Git-коммит"
    )


def test_str_and_bytes_give_the_same_article() -> None:
    body = (FIXTURES / "article-tm-724768-browsersaved-2023.html").read_bytes()
    assert parse_article("x", body) == parse_article("x", body.decode("utf-8"))


def test_declared_charset_is_honoured() -> None:
    html = (
        '<html><head><meta charset="windows-1251"><link rel="canonical" href="https://habr.com/post/5/"></head><body>'
        '<div class="post__wrapper"><h1 class="post__title post__title_full"><span class="post__title-text">Заголовок'
        '</span></h1><div class="post__body post__body_full"><div class="post__text">Текст статьи</div></div></div>'
        "</body></html>"
    )
    article = parse_article("https://habr.com/post/5/", html.encode("cp1251"))
    assert (article.title, article.text, article.parser) == ("Заголовок", "Текст статьи", "legacy/1")


# -- layout detection and errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("stem", CASES)
def test_detect_article_layout(stem: str) -> None:
    assert (
        detect_article_layout((FIXTURES / f"{stem}.html").read_bytes()) == expected(stem)["fields"]["parser"]
    )


def test_fetched_at_does_not_override_markup() -> None:
    body = (FIXTURES / "article-legacy-1000-2018.html").read_bytes()
    late = datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert detect_article_layout(body, fetched_at=late) == "legacy/1"


def test_relative_legacy_date_needs_fetched_at() -> None:
    html = (
        '<html lang="ru"><head><link rel="canonical" href="https://habr.com/ru/post/7/"></head><body>'
        '<div class="post__wrapper"><header class="post__meta"><span class="post__time">вчера в 23:33</span></header>'
        '<h1 class="post__title post__title_full"><span class="post__title-text">T</span></h1>'
        '<div class="post__body post__body_full"><div class="post__text">x</div></div></div></body></html>'
    )
    assert parse_article("u", html).time_published is None  # never guessed
    fetched = datetime(2019, 8, 7, 9, 0, tzinfo=timezone.utc)  # 12:00 in Moscow on Aug 7
    assert parse_article("u", html, fetched_at=fetched).published_at == "2019-08-06T20:33:00+00:00"


@pytest.mark.parametrize(
    "name",
    [
        "listing-all-legacy-2020.html",
        "listing-articles-ru-2025-04.html",
        "listing-hub-it_testing-2022-01.html",
        "listing-news-2022-03.html",
        "listing-search-javascript-2021-09.html",
        "listing-top-daily-legacy.html",
        "mirror-weekly-geekly-index.html",
    ],
)
def test_non_article_pages_raise_not_an_article(name: str) -> None:
    with pytest.raises(NotAnArticlePage):
        parse_article("https://habr.com/ru/", (FIXTURES / name).read_bytes())


def test_404_page_is_not_an_article() -> None:
    html = (
        '<html lang="ru"><head><title>Страница не найдена / Хабр</title></head><body><div id="app">'
        '<div class="tm-error-message"><h1>Страница не найдена</h1><p>Страница устарела, была удалена или не '
        "существовала вовсе</p></div></div></body></html>"
    )
    with pytest.raises(NotAnArticlePage, match="error page"):
        parse_article("https://habr.com/ru/articles/1/", html)


@pytest.mark.parametrize(
    "html",
    [
        "<html><head><title>429 Too Many Requests</title></head><body><h1>429 Too Many Requests</h1>"
        "<hr><center>nginx</center></body></html>",
        '<html><head><title>Вы не робот?</title></head><body><form action="/checkcaptcha" method="post">'
        '<div class="SmartCaptcha"></div><p>Подтвердите, что вы не робот</p></form></body></html>',
        "<html><head><title>DDoS-Guard</title></head><body><p>Checking your browser before accessing habr.com"
        "</p></body></html>",
    ],
    ids=["rate-limit", "captcha", "ddos-guard"],
)
def test_blocked_pages(html: str) -> None:
    with pytest.raises(BlockedPage):
        parse_article("https://habr.com/ru/articles/1/", html)


def test_article_about_captchas_is_still_an_article() -> None:
    html = (
        '<html lang="ru"><head><link rel="canonical" href="https://habr.com/ru/post/9/"></head><body>'
        '<div class="post__wrapper"><h1 class="post__title post__title_full"><span class="post__title-text">'
        'Как обойти captcha</span></h1><div class="post__body post__body_full"><div class="post__text">Too many '
        "requests? Captcha!</div></div></div></body></html>"
    )
    assert parse_article("u", html).title == "Как обойти captcha"


@pytest.mark.parametrize(
    "html",
    [
        # tm markup with an empty title and no body container
        '<html><head><link rel="canonical" href="https://habr.com/ru/articles/5/"></head><body>'
        '<div id="post-content-body" class="article-formatted-body"></div></body></html>',
        # legacy markup, title present, body container missing
        '<html><body><div class="post__wrapper"><h1 class="post__title post__title_full"><span '
        'class="post__title-text">Only a title</span></h1></div></body></html>',
    ],
    ids=["tm-no-title-empty-body", "legacy-no-body"],
)
def test_unreadable_article_pages_raise_parse_error(html: str) -> None:
    with pytest.raises(ParseError):
        parse_article("https://habr.com/ru/articles/5/", html)


def _own_year(stem: str) -> int:
    """The capture year the fixture name states (``...-2019``), else the year it was published."""
    years = re.findall(r"-((?:19|20)\d\d)(?:-|$)", stem)
    if years:
        return int(years[-1])
    published = expected(stem)["fields"].get("published_at")
    return datetime.fromisoformat(published).year if published else 2021


@pytest.mark.parametrize("stem", CASES)
def test_markup_not_capture_date_decides_the_layout(stem: str) -> None:
    """A page fetched from an archive in 2030, or (per a wrong clock) in 2010, is the same page: the markup picks
    the parser, the capture date at most breaks a tie between equally specific matches."""
    body = (FIXTURES / f"{stem}.html").read_bytes()
    url = expected(stem)["url_fetched"]
    dates = [datetime(2010, 6, 1, tzinfo=timezone.utc), datetime(_own_year(stem), 6, 1, tzinfo=timezone.utc)]
    dates.append(datetime(2030, 6, 1, tzinfo=timezone.utc))
    for fetched_at in dates:
        assert detect_article_layout(body, fetched_at=fetched_at) == expected(stem)["fields"]["parser"], (
            fetched_at
        )
        article = parse_article(url, body, fetched_at=fetched_at)
        # a relative comment date ("сегодня в 15:24") is resolved against the capture date, and only then
        assert _without_relative_times(article, parsed(stem)) == parsed(stem), fetched_at


def _without_relative_times(article: Article, undated: Article) -> Article:
    """``article`` with the comment times that ``undated`` (parsed without a capture date) could not know unset."""
    import dataclasses

    known = {comment.id: comment.time_published for comment in undated.comments}
    comments = [
        dataclasses.replace(comment, time_published=None) if known.get(comment.id, 0) is None else comment
        for comment in article.comments
    ]
    return dataclasses.replace(article, comments=comments)


def test_2019_legacy_page_fetched_today_keeps_its_fields() -> None:
    """It carries an id="post-content-body" too; read as tm-dom it lost author, hubs, tags and statistics."""
    stem = "article-legacy-472278-company-2019-malformed-utf8"
    body = (FIXTURES / f"{stem}.html").read_bytes()
    article = parse_article(
        expected(stem)["url_fetched"], body, fetched_at=datetime(2026, 3, 1, tzinfo=timezone.utc)
    )
    assert article.parser == "legacy/1"
    for field in ("author", "hubs", "tags", "statistics"):
        assert getattr(article, field) == expected(stem)["fields"][field], field


# -- Pinia state (2025+) and short posts ------------------------------------------------------------------------------
def test_pinia_post_without_title_is_a_post() -> None:
    article = parsed("article-tm-1064400-company-2026")
    assert (article.parser, article.type, article.title) == ("tm-pinia/1", "post", None)
    # the generated <title>/og:title and the cut-off JSON-LD headline are not taken for a title
    assert "Пост @ru_vds" not in (article.title or "") and article.text.startswith("Китайская память")
    assert (
        article.text_html
        == page_state(
            parse_document(decode_body((FIXTURES / "article-tm-1064400-company-2026.html").read_bytes()))
        )["articlesList"]["articlesList"]["1064400"]["textHtml"]
    )


def test_pinia_post_body_is_read_from_the_dom() -> None:
    """The rendered post body and the state's textHtml give the same text (the DOM is not a state copy)."""
    from habrmirror.pages.article_tm import TmPiniaPage

    body = (FIXTURES / "article-tm-1064400-company-2026.html").read_bytes()
    doc = parse_document(decode_body(body))
    page = TmPiniaPage("https://habr.com/ru/companies/ruvds/posts/1064400/", doc, None, page_state(doc))
    element = page.body_element()
    assert element is not None and "article-formatted-body" in (element.get("class") or "")
    assert element.xpath("boolean(ancestor::div[contains(@class, 'tm-post-snippet__content')])")
    dom = page.parse()
    assert dom.text == parsed("article-tm-1064400-company-2026").text


def test_pinia_article_with_title_keeps_it() -> None:
    state = (
        '{"articlesList":{"articlesList":{"7":{"id":"7","publicationType":"article","titleHtml":"Заголовок &amp; ко",'
        '"textHtml":"<div><p>Текст</p></div>","timePublished":"2026-01-02T03:04:05+00:00","lang":"ru",'
        '"hubs":[],"tags":[],"flows":[],"labels":[{"type":"translation","data":{}}],'
        '"author":{"alias":"x","fullname":"X Y"},"statistics":{"score":1}}}}}'
    )
    html = (
        '<html><head><link rel="canonical" href="https://habr.com/ru/articles/7/"></head><body><div id="app">'
        '<div id="post-content-body"><div><div class="article-formatted-body"><div><p>Текст</p></div></div></div></div>'
        f"</div><script>window.__PINIA_STATE__={state}</script></body></html>"
    )
    article = parse_article("https://habr.com/ru/articles/7/", html)
    assert (article.parser, article.type, article.title) == ("tm-pinia/1", "article", "Заголовок & ко")
    assert (article.author, article.author_name, article.labels, article.text) == (
        "x",
        "X Y",
        ["translation"],
        "Текст",
    )
