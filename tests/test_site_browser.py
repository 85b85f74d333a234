"""The mirror in a real browser: headless Chromium (Playwright, Debian's ``/usr/bin/chromium``) over
``serve_site``'s server, on a mirror built from the same kind of archive as ``tests/test_site.py`` (one per module).

Screenshots (desktop 1280 wide, phone 390 wide, light and dark) go to the test's tmp dir and ``/tmp/site-shots/``.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from habrmirror.site import build_site, make_server
from habrmirror.store.index import iter_rows
from tests.test_site import INVENTED, RECAPTURED, make_archive, newest_first

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp/site-shots")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
if not CHROMIUM.exists():
    pytest.skip("needs Debian's chromium (.ci/run installs it)", allow_module_level=True)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_archive(tmp_path_factory.mktemp("browser-archive") / "archive")


@pytest.fixture(scope="module")
def rows(archive: Path) -> dict[int, dict[str, Any]]:
    return {row["id"]: row for row in iter_rows(archive / "index")}


@pytest.fixture(scope="module")
def origin(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    site = tmp_path_factory.mktemp("browser-site") / "site"
    report = build_site(archive, site)
    assert report.search, report.notes
    server = make_server(site, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


class Watched:
    """A page whose console errors, page errors, failed requests and dialogs are collected."""

    def __init__(self, browser: Any, width: int, scheme: str = "light") -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on(
            "console", lambda m: self.problems.append(f"console: {m.text}") if m.type == "error" else None
        )
        self.page.on("pageerror", lambda error: self.problems.append(f"pageerror: {error}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"requestfailed: {r.url}"))
        self.page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def desktop(browser: Any) -> Iterator[Watched]:
    watched = Watched(browser, 1280)
    yield watched
    watched.close()
    assert watched.problems == []


def shoot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)


def test_all_articles_then_an_article_with_its_images_and_source(
    desktop: Watched, origin: str, rows: dict[int, dict[str, Any]], tmp_path: Path
) -> None:
    page = desktop.page
    page.goto(origin)
    assert page.locator("h1").inner_text() == "Все статьи"
    hrefs = page.locator("ol.listing a.entry-title").evaluate_all(
        "els => els.map(e => e.getAttribute('href'))"
    )
    assert hrefs == [f"articles/{article}.html" for article in newest_first(rows)]
    shoot(page, tmp_path, "all-articles-desktop")

    page.locator(f"a.entry-title[href='articles/{RECAPTURED}.html']").click()
    page.wait_for_load_state()
    assert page.url == f"{origin}articles/{RECAPTURED}.html"
    assert page.locator("h1").inner_text() == rows[RECAPTURED]["title"]
    images = page.locator(".post-body img")
    assert images.count() >= 10
    for index in range(images.count()):
        image = images.nth(index)
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete", arg=image.element_handle())
        assert image.evaluate("img => img.naturalWidth") > 0, image.get_attribute("src")
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, tmp_path, "article-desktop")
    source = page.locator("p.source a")
    assert source.get_attribute("href") == rows[RECAPTURED]["url"] == "https://habr.com/ru/articles/724768/"
    assert page.locator("p.source").inner_text().startswith("Источник:")
    page.locator("nav.post-nav a.all").click()
    page.wait_for_load_state()
    assert page.url in (origin, f"{origin}index.html")


def test_search_finds_an_article_by_a_word_of_its_text(desktop: Watched, origin: str, tmp_path: Path) -> None:
    page = desktop.page
    page.goto(f"{origin}search.html")
    page.locator(".pagefind-ui__search-input").fill("Мандельброта")  # a stemmed form of the title's word
    results = page.locator(".pagefind-ui__result-link")
    results.first.wait_for(timeout=15_000)
    links = results.evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert f"/articles/{RECAPTURED}.html" in links
    shoot(page, tmp_path, "search-desktop")
    results.filter(has_text="Мандельброт").first.click()
    page.wait_for_load_state()
    assert page.url == f"{origin}articles/{RECAPTURED}.html"


def test_hostile_article_shows_no_script_handler_or_javascript_link(desktop: Watched, origin: str) -> None:
    page = desktop.page
    page.goto(f"{origin}articles/{INVENTED}.html")
    assert page.locator(".post-body").inner_text().startswith("Probe paragraph")
    assert page.locator("script").count() == 0
    assert page.locator("iframe, embed, object, form").count() == 0
    handlers = page.evaluate(
        "() => Array.from(document.querySelectorAll('*')).flatMap(e => Array.from(e.attributes))"
        ".filter(a => a.name.toLowerCase().startsWith('on')).map(a => a.name)"
    )
    assert handlers == []
    javascript = page.evaluate(
        "() => Array.from(document.querySelectorAll('[href],[src],[action]'))"
        ".map(e => e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action'))"
        ".filter(v => v.trim().toLowerCase().startsWith('javascript:'))"
    )
    assert javascript == []
    assert page.evaluate("() => window.__pwned") is None
    page.locator("text=js link").click()  # a link without href now: clicking it runs nothing
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator(".comments li.comment").count() == 4


def test_phone_and_dark_screenshots(browser: Any, origin: str, tmp_path: Path) -> None:
    for width, scheme, name in (
        (390, "light", "phone"),
        (390, "dark", "phone-dark"),
        (1280, "dark", "desktop-dark"),
    ):
        watched = Watched(browser, width, scheme)
        try:
            page = watched.page
            page.goto(origin)
            shoot(page, tmp_path, f"all-articles-{name}")
            page.goto(f"{origin}articles/{RECAPTURED}.html")
            assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
            shoot(page, tmp_path, f"article-{name}")
            page.goto(f"{origin}articles/{INVENTED}.html")
            page.locator("pre.highlight").scroll_into_view_if_needed()
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            shoot(page, tmp_path, f"code-table-{name}")
        finally:
            watched.close()
        assert watched.problems == []
