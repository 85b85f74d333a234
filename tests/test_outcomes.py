"""The outcome vocabulary lives in one place (``habrmirror.capture.Outcome``); ``judge`` maps pages onto it.

The README's outcome table is checked against the enum, and the status rules are checked on real saved pages.
"""

from __future__ import annotations

import gzip
import re
from datetime import datetime, timezone

import pytest

from habrmirror.capture import FetchedPage, Outcome, capture, judge
from tests.conftest import FIXTURES, ROOT

WHEN = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
PAGE = (FIXTURES / "article-tm-568382-2021.html").read_bytes()
URL = "https://habr.com/ru/articles/568382/"


def readme_outcomes() -> list[tuple[str, str, bool, bool]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z_]+)` \| (.+?) \| (yes|no) \| (yes|no) \|$", text, re.MULTILINE)
    return [
        (name, meaning, failure == "yes", transient == "yes") for name, meaning, failure, transient in rows
    ]


def test_readme_outcome_table_is_the_enum() -> None:
    expected = [(o.value, o.meaning, o.is_failure, o.is_transient) for o in Outcome]
    assert readme_outcomes() == expected


def test_skips_are_not_failures_and_transient_outcomes_are_failures() -> None:
    assert not Outcome.ROBOTS.is_failure and not Outcome.GONE.is_failure and not Outcome.ARCHIVED.is_failure
    assert all(o.is_failure for o in Outcome if o.is_transient)
    assert Outcome("network_error") is Outcome.NETWORK_ERROR and str(Outcome.GONE) == "gone"


@pytest.mark.parametrize(
    ("status", "outcome", "reason"),
    [
        (404, Outcome.GONE, "HTTP 404: deleted or never existed"),
        (410, Outcome.GONE, "HTTP 410: deleted or never existed"),
        (403, Outcome.FORBIDDEN, "HTTP 403: draft or hidden post"),
        (500, Outcome.HTTP_ERROR, "HTTP 500"),
        (429, Outcome.HTTP_ERROR, "HTTP 429"),
    ],
)
def test_statuses_that_are_not_pages(status: int, outcome: Outcome, reason: str) -> None:
    result = judge(FetchedPage(URL, status, PAGE, WHEN, article_id=568382))
    assert (result.outcome, result.reason, result.article, result.id) == (outcome, reason, None, 568382)
    assert result.time == "2026-12-01T12:00:00+00:00" and result.status == status


def test_a_page_is_parsed_stamped_and_validated() -> None:
    page = FetchedPage(URL, 200, gzip.compress(PAGE), WHEN, content_encoding="gzip", article_id=568382)
    result = capture(page)
    assert result.outcome is Outcome.ARCHIVED and result.reason is None
    assert result.row is not None and result.row["id"] == 568382
    assert (result.row["fetched_url"], result.row["captured_at"]) == (URL, "2026-12-01T12:00:00+00:00")


def test_pages_that_are_not_articles_blocked_or_unreadable() -> None:
    listing = (FIXTURES / "listing-articles-ru-2025-04.html").read_bytes()
    assert judge(FetchedPage(URL, 200, listing, WHEN)).outcome is Outcome.NOT_ARTICLE
    captcha = (
        "<html><head><title>Проверка браузера</title></head><body>Подтвердите, что вы не робот</body></html>"
    )
    blocked = judge(FetchedPage(URL, 200, captcha.encode(), WHEN))
    assert blocked.outcome is Outcome.BLOCKED and blocked.reason and "Проверка браузера" in blocked.reason
    torn = judge(FetchedPage(URL, 200, gzip.compress(PAGE)[:-40], WHEN, content_encoding="gzip"))
    assert torn.outcome is Outcome.PARSE_ERROR and torn.reason and "gzip" in torn.reason.lower()


LOGIN_WALL = """<!DOCTYPE html><html lang="ru"><head><meta charset="UTF-8"><title>Вход — Хабр Аккаунт</title></head>
<body><h1>Войдите, чтобы продолжить</h1><form action="/login/" method="post"><input name="email">
<input name="password" type="password"><button>Войти</button></form></body></html>"""
MAINTENANCE = """<!DOCTYPE html><html lang="ru"><head><meta charset="UTF-8"><title>Технические работы / Хабр</title>
</head><body><h1>Ведутся технические работы</h1><p>Хабр скоро вернётся.</p></body></html>"""


@pytest.mark.parametrize(
    ("page", "wall"), [(LOGIN_WALL, "login"), (MAINTENANCE, "maintenance")], ids=["login", "maintenance"]
)
def test_login_and_maintenance_walls_with_status_200_are_blocked_not_a_non_article(
    page: str, wall: str
) -> None:
    # blocked is retried by the next run; not_article would leave the post unarchived for good
    result = judge(FetchedPage(URL, 200, gzip.compress(page.encode()), WHEN, content_encoding="gzip"))
    assert result.outcome is Outcome.BLOCKED and result.row is None
    assert result.reason and result.reason.startswith(f"{wall} page instead of the article: ")


def test_a_not_found_page_with_the_login_button_stays_not_an_article() -> None:
    # every Habr page has a "Войти" button in its header: that alone is no login wall
    page = (
        "<html><head><title>Страница не найдена / Хабр</title></head>"
        '<body><a href="https://habr.com/kek/v1/auth/habrahabr/">Войти</a><h1>Страница не найдена</h1></body></html>'
    )
    assert judge(FetchedPage(URL, 200, page.encode(), WHEN)).outcome is Outcome.NOT_ARTICLE
