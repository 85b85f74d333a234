"""Listing page objects on the real saved listing pages (tests/fixtures/habr, see MANIFEST.md there).

Expected values were read from the HTML by hand (grep), not dumped from the parser: counts of snippet
elements, and for the first and last entry of each page the id, link, title, author, <time datetime> (or the
legacy post__time text), hub list, the next-page link and the pagination's last page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from habrmirror.pages.errors import PageError, ParseError
from habrmirror.pages.listing import ListingPage, parse_listing

FIXTURES = Path(__file__).parent / "fixtures" / "habr"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Case:
    file: str
    url: str  # the page's original URL from MANIFEST.md
    layout: str
    count: int
    next_url: str | None
    page_count: int | None
    first: dict[str, Any] = field(default_factory=dict)
    last: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case(
        "listing-articles-ru-2025-04.html",
        "https://habr.com/ru/articles/",
        "tm",
        20,
        "https://habr.com/ru/articles/page2/",
        50,
        first=dict(
            id=898290,
            url="https://habr.com/ru/articles/898290/",
            title="Расскажите, зачем вам DI-контейнер в golang",
            author="abratko",
            published_at=utc(2025, 4, 7, 9, 30, 46),
            hubs=["Программирование", "Go"],
            hub_aliases=["programming", "go"],
            type="article",
        ),
        last=dict(
            id=898212,
            url="https://habr.com/ru/articles/898212/",
            title="Три способа реализовать кросспроектный триггер джобы с поправкой на права",
            author="jjanemur",
            published_at=utc(2025, 4, 7, 7, 16, 34),
            hubs=["Тестирование веб-сервисов"],
            hub_aliases=["web_testing"],
            type="article",
        ),
    ),
    Case(
        "listing-feed-en-2025-04.html",
        "https://habr.com/en/feed/",
        "tm",
        20,
        "https://habr.com/en/feed/page2/",
        50,
        first=dict(
            id=898582,
            url="https://habr.com/en/companies/postgrespro/articles/898582/",
            title="PostgreSQL 18: Part 3 or CommitFest 2024-11",
            author="kaze_no_saga",
            published_at=utc(2025, 4, 7, 23, 52, 4),
            hubs=["Postgres Professional corporate blog", "PostgreSQL", "SQL"],
            hub_aliases=["postgresql", "sql"],
            type="article",
        ),
        # A short "post" (2024+): no title, the date links it at /en/posts/N/.
        last=dict(
            id=890342,
            url="https://habr.com/en/posts/890342/",
            title="",
            author="Oksenija",
            published_at=utc(2025, 3, 12, 16, 5, 5),
            hubs=["Python", "Programming", "Data visualization"],
            hub_aliases=["python", "programming", "data_visualization"],
            type="post",
        ),
    ),
    Case(
        "listing-feed-ru-2025.html",
        "https://habr.com/ru/feed/",
        "tm",
        20,
        "https://habr.com/ru/feed/page2/",
        50,
        first=dict(
            id=1008124,
            url="https://habr.com/ru/articles/1008124/",
            title="Пользователь уходит из приложения: рынок забирают API, данные и ИИ-агенты",
            author="pushi",
            published_at=utc(2026, 3, 9, 11, 13, 12),
            hubs=[
                "Разработка мобильных приложений",
                "Аналитика мобильных приложений",
                "Дизайн мобильных приложений",
                "Монетизация мобильных приложений",
            ],
            hub_aliases=["mobile_dev", "mobileanalytics", "apps_design", "mobile_monetization"],
            type="article",
        ),
        last=dict(
            id=1008010,
            url="https://habr.com/ru/articles/1008010/",
            title="Interview Quest: как превратилась подготовка к собеседованию в RPG с реальными вакансиями "
            "и AI-боссами",
            author="DVZakusilo",
            published_at=utc(2026, 3, 9, 9, 0, 19),
            hubs=["Искусственный интеллект", "Разработка игр", "Карьера в IT-индустрии"],
            hub_aliases=["artificial_intelligence", "gamedev", "career"],
            type="article",
        ),
    ),
    Case(
        "listing-hub-java-articles-2025.html",
        "https://habr.com/ru/hubs/java/",
        "tm",
        20,
        "https://habr.com/ru/hubs/java/articles/page2/",
        291,
        first=dict(
            id=906318,
            url="https://habr.com/ru/articles/906318/",
            title="Пара советов по покрытию тестами проекта на SpringBoot",
            author="MGalaktionov",
            published_at=utc(2025, 5, 1, 14, 41, 58),
            hubs=["Java"],
            hub_aliases=["java"],
            type="article",
        ),
        last=dict(
            id=902240,
            url="https://habr.com/ru/companies/otus/articles/902240/",
            title="JDBC: Как Java научилась дружить с Базами Данных",
            author="MaxRokatansky",
            published_at=utc(2025, 4, 19, 14, 13, 59),
            hubs=["Блог компании OTUS", "Администрирование баз данных", "Java"],
            hub_aliases=["db_admins", "java"],
            type="article",
        ),
    ),
    Case(
        # The file holds the whole page twice (40 <article> elements, 20 distinct ids); compact snippets
        # without a hub list.
        "listing-hub-it_testing-2022-01.html",
        "https://habr.com/ru/hub/it_testing/",
        "tm",
        20,
        "https://habr.com/ru/hub/it_testing/page2/",
        50,
        first=dict(
            id=645133,
            url="https://habr.com/ru/post/645133/",
            title="Эпические баги прошлого",
            author="AKlimenkov",
            published_at=utc(2022, 1, 12, 12, 20, 9),
            hubs=[],
            hub_aliases=[],
            type="article",
        ),
        last=dict(
            id=597201,
            url="https://habr.com/ru/company/dins/blog/597201/",
            title="QA Meeting Point 2021: тестирование BigData, развитие команды, тонкости работы с AI",
            author="yurchenkovski",
            published_at=utc(2021, 12, 22, 13, 23, 7),
            hubs=[],
            hub_aliases=[],
            type="article",
        ),
    ),
    Case(
        "listing-news-2022-03.html",
        "https://habr.com/ru/news/",
        "tm",
        20,
        "https://habr.com/ru/news/page2/",
        929,
        first=dict(
            id=654743,
            url="https://habr.com/ru/news/t/654743/",
            title="Red Hat прекращает корпоративную работу в России",
            author="denis-19",
            published_at=utc(2022, 3, 8, 19, 56, 17),
            hubs=[
                "Open source",
                "IT-инфраструктура",
                "Разработка под Linux",
                "Облачные сервисы",
                "IT-компании",
            ],
            hub_aliases=["open_source", "it-infrastructure", "linux_dev", "cloud_services", "itcompanies"],
            type="news",
        ),
        last=dict(
            id=654607,
            url="https://habr.com/ru/news/t/654607/",
            title="Резиденты Фонда «Сколково» предоставят разработки для обучения студентов-медиков",
            author="Enigmat",
            published_at=utc(2022, 3, 6, 19, 23, 5),
            hubs=["Научно-популярное", "Медгаджеты"],
            hub_aliases=["popular_science", "medgadgets"],
            type="news",
        ),
    ),
    Case(
        "listing-search-html-css-2023-04.html",
        "https://habr.com/ru/search/?q=html+css",
        "tm",
        20,
        "https://habr.com/ru/search/page2/?q=html+css",
        50,
        first=dict(
            id=727252,
            url="https://habr.com/ru/companies/yandex_praktikum/news/727252/",
            title="Яндекс Практикум запускает курс по профессиональной вёрстке на HTML и CSS",  # <em> highlights
            author="ira-k",
            published_at=utc(2023, 4, 6, 7, 1, 1),
            hubs=[
                "Блог компании Яндекс Практикум",
                "Веб-разработка",
                "CSS",
                "HTML",
                "Карьера в IT-индустрии",
            ],
            hub_aliases=["webdev", "css", "html5", "career"],
            type="news",
        ),
        last=dict(
            id=760512,
            url="https://habr.com/ru/companies/timeweb/articles/760512/",
            title="Starting Electronics: руководство по веб-серверам на Arduino. Часть 16. CSS для позиционирования",
            author="smart_alex",
            published_at=utc(2023, 9, 27, 8, 1, 11),
            hubs=[
                "Блог компании Timeweb Cloud",
                "Программирование микроконтроллеров",
                "Разработка для интернета вещей",
                "Разработка под Arduino",
                "DIY или Сделай сам",
            ],
            hub_aliases=["controllers", "iot_dev", "arduino", "DIY"],
            type="article",
        ),
    ),
    Case(
        "listing-search-javascript-2021-09.html",
        "https://habr.com/ru/search/?q=javascript",
        "tm",
        20,
        "https://habr.com/ru/search/page2/?q=JavaScript&target_type=posts&order=relevance",
        50,
        first=dict(
            id=576378,
            url="https://habr.com/ru/company/ruvds/blog/576378/",
            title="Первое знакомство с JavaScript-библиотекой Solid",
            author="ru_vds",
            published_at=utc(2021, 9, 16, 13, 0, 2),
            hubs=["Блог компании RUVDS.com", "Разработка веб-сайтов", "JavaScript"],
            hub_aliases=["webdev", "javascript"],
            type="article",
        ),
        last=dict(
            id=82511,
            url="https://habr.com/ru/post/82511/",
            title="Nginx + серверный Javascript",
            author="FrolovS",
            published_at=utc(2010, 1, 29, 14, 22, 40),
            hubs=["Nginx"],
            hub_aliases=["nginx"],
            type="article",
        ),
    ),
    Case(
        "listing-all-legacy-2020.html",
        "https://habr.com/ru/all/",
        "legacy",
        20,
        "https://habr.com/ru/all/page2/",
        50,
        first=dict(
            id=504918,
            url="https://habr.com/ru/post/504918/",
            title="Самые эффективные сервисы онлайн-уроков для учеников и преподавателей: пятерка лучших",
            author="itNews",
            published_at=None,  # "сегодня в 08:48": relative, needs fetched_at
            hubs=["Учебный процесс в IT", "Облачные сервисы"],
            hub_aliases=["study", "cloud_services"],
            type=None,
        ),
        last=dict(
            id=504860,
            url="https://habr.com/ru/company/skillfactory/blog/504860/",
            title="24 датасета для ритейла и ecommerce",
            author="skillfactory_school",
            published_at=None,  # "вчера в 16:32"
            hubs=["Блог компании SkillFactory", "Big Data", "Машинное обучение", "Учебный процесс в IT"],
            hub_aliases=["bigdata", "machine_learning", "study"],
            type=None,
        ),
    ),
    Case(
        "listing-all-legacy-2021-05.html",
        "https://habr.com/ru/",
        "legacy",
        20,
        "https://habr.com/ru/page2/",
        50,
        first=dict(
            id=551328,
            url="https://habr.com/ru/post/551328/",
            title="Кто помнит «старшего брата» CD и DVD?",
            author="Poleznoe",
            published_at=None,  # "сегодня в 00:11"
            hubs=["Гаджеты", "История IT", "Звук"],
            hub_aliases=["gadgets", "history", "sound"],
            type=None,
        ),
        last=dict(
            id=551106,
            url="https://habr.com/ru/company/selectel/blog/551106/",
            title="Просто космос: NASA утвердило перечень первых целей для телескопа «Джеймс Уэбб»",
            author="Greiv656",
            published_at=None,  # "вчера в 15:44"
            hubs=["Блог компании Selectel", "Научно-популярное", "Космонавтика", "Будущее здесь"],
            hub_aliases=["popular_science", "space", "futurenow"],
            type=None,
        ),
    ),
    Case(
        "listing-news-legacy-2019.html",
        "https://habr.com/ru/news/",
        "legacy",
        20,
        "https://habr.com/ru/news/page2/",
        50,
        first=dict(
            id=467777,
            url="https://habr.com/ru/news/t/467777/",
            title="Заканчивается регистрация на международную конференцию нейротехнологий в Самаре",
            author="Russian_rehab_industry",
            published_at=None,  # "вчера в 17:35"
            hubs=["Accessibility", "Развитие стартапа", "Конференции", "Киберпанк", "AR и VR"],
            hub_aliases=["accessibility", "startuprise", "tech_events", "cyberpunk", "arvr"],
            type="news",
        ),
        last=dict(
            id=467469,
            url="https://habr.com/ru/news/t/467469/",
            title="Беспилотники использовались для атаки на крупные нефтеперерабатывающие заводы Саудовской Аравии",
            author="k_karina",
            published_at=utc(2019, 9, 14, 18, 40),  # "14 сентября 2019 в 21:40", Moscow time
            hubs=["Робототехника"],
            hub_aliases=["robot"],
            type="news",
        ),
    ),
    Case(
        # Pagination lists pages 1-3 and no "last page" link: the daily top has three pages.
        "listing-top-daily-legacy.html",
        "https://habr.com/",
        "legacy",
        20,
        "https://habr.com/page2/",
        3,
        first=dict(
            id=419155,
            url="https://habr.com/company/jugru/blog/419155/",
            title="Портирование JS на Эльбрус",
            author="phillennium",
            published_at=None,  # "вчера в 12:29"
            hubs=["JavaScript", "Блог компании JUG.ru Group"],
            hub_aliases=["javascript"],
            type=None,
        ),
        last=dict(
            id=423823,
            url="https://habr.com/post/423823/",
            title="Импортозамещение, глас вопиющего в пустыне",
            author="Smilshu",
            published_at=None,  # "вчера в 21:08"
            hubs=["Информационная безопасность", "Законодательство в IT", "Виртуализация"],
            hub_aliases=["infosecurity", "business-laws", "virtualization"],
            type=None,
        ),
    ),
]
CASE_IDS = [case.file.removeprefix("listing-").removesuffix(".html") for case in CASES]
FIELDS = ["id", "url", "title", "author", "published_at", "hubs", "hub_aliases", "type"]


@cache
def parsed(file: str, url: str) -> ListingPage:
    """Each fixture is parsed once for the whole module."""
    return parse_listing(url, (FIXTURES / file).read_bytes())


def test_every_listing_fixture_has_a_case() -> None:
    on_disk = sorted(path.name for path in FIXTURES.glob("listing-*.html"))
    assert sorted(case.file for case in CASES) == on_disk


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_page_fields(case: Case) -> None:
    page = parsed(case.file, case.url)
    assert page.url == case.url
    assert page.layout == case.layout
    assert len(page.entries) == case.count
    assert page.next_url == case.next_url
    assert page.page_count == case.page_count


@pytest.mark.parametrize("name", FIELDS)
@pytest.mark.parametrize("position", ["first", "last"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_entry_field(case: Case, position: str, name: str) -> None:
    page = parsed(case.file, case.url)
    entry = page.entries[0] if position == "first" else page.entries[-1]
    expected = getattr(case, position)[name]
    assert getattr(entry, name) == expected


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_entry_invariants(case: Case) -> None:
    page = parsed(case.file, case.url)
    ids = [entry.id for entry in page.entries]
    assert len(ids) == len(set(ids)), "ids are unique per page"
    for entry in page.entries:
        assert entry.id > 0
        assert entry.url.startswith("https://habr.com/")
        assert str(entry.id) in entry.url
        # Only Habr's short posts have no title.
        assert entry.title or entry.type == "post", entry
        assert entry.title == entry.title.strip()
        # The profiled-hub "*" marker is not part of a title (the hub "*nix" keeps its own star).
        assert all(hub and not hub.endswith("*") for hub in entry.hubs), entry.hubs
        assert len(entry.hub_aliases) <= len(entry.hubs)
        if entry.published_at is not None:
            assert entry.published_at.utcoffset() is not None
            assert entry.published_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        if page.layout == "tm":
            assert entry.author is not None or entry.type == "megapost"
            assert entry.published_at is not None
        else:
            assert entry.author is not None


def test_str_body_gives_the_same_page() -> None:
    case = CASES[0]
    text = (FIXTURES / case.file).read_text(encoding="utf-8")
    assert parse_listing(case.url, text) == parsed(case.file, case.url)


def test_tm_megapost_card() -> None:
    # 2021-22 megapost: a company promo card, no author, linked as /ru/article/N/ (sic, singular).
    page = parsed("listing-hub-it_testing-2022-01.html", "https://habr.com/ru/hub/it_testing/")
    megapost = next(entry for entry in page.entries if entry.id == 598441)
    assert megapost.type == "megapost"
    assert megapost.url == "https://habr.com/ru/article/598441/"
    assert megapost.title == "РСХБ на рейде: собираем профессиональную гильдию тестировщиков"
    assert megapost.author is None
    assert megapost.published_at == utc(2021, 12, 28, 14, 56, 46)
    assert megapost.hubs == ["Тестирование IT-систем", "Управление продуктом", "Карьера в IT-индустрии"]
    assert megapost.hub_aliases == ["it_testing", "productpm", "career"]


def test_tm_short_post() -> None:
    page = parsed("listing-feed-en-2025-04.html", "https://habr.com/en/feed/")
    post = next(entry for entry in page.entries if entry.id == 896926)
    assert (post.type, post.title, post.author) == ("post", "", "YuriPanchul")
    assert post.url == "https://habr.com/en/posts/896926/"
    assert post.published_at == utc(2025, 4, 2, 16, 1, 2)
    assert post.hubs == [
        "High performance",
        "Computer hardware",
        "History of IT",
        "CPU",
        "Electronics for beginners",
    ]
    assert post.hub_aliases == ["hi", "hardware", "history", "cpu", "easyelectronics"]
    assert [entry.type for entry in page.entries].count("post") == 3


def test_types_from_snippet_labels() -> None:
    # 2025+ publication-type-label: 15 "Статья" and 5 "Новость" snippets.
    feed = parsed("listing-feed-ru-2025.html", "https://habr.com/ru/feed/")
    assert [entry.type for entry in feed.entries].count("news") == 5
    # Legacy: the "Новость" mark on /post/N/ links.
    top = parsed("listing-top-daily-legacy.html", "https://habr.com/")
    assert sorted(entry.id for entry in top.entries if entry.type == "news") == [423761, 423773]


def test_legacy_relative_dates_need_fetched_at() -> None:
    body = (FIXTURES / "listing-all-legacy-2020.html").read_bytes()
    # 2020-06-03 01:30 in Moscow is still 2020-06-02 in UTC: "today" is the Moscow date.
    page = parse_listing("https://habr.com/ru/all/", body, fetched_at=utc(2020, 6, 2, 22, 30))
    assert page.entries[0].published_at == utc(2020, 6, 3, 5, 48)  # "сегодня в 08:48"
    assert page.entries[-1].published_at == utc(2020, 6, 2, 13, 32)  # "вчера в 16:32"
    assert all(entry.published_at is not None for entry in page.entries)


def test_legacy_absolute_dates_do_not_depend_on_fetched_at() -> None:
    body = (FIXTURES / "listing-news-legacy-2019.html").read_bytes()
    page = parse_listing("https://habr.com/ru/news/", body, fetched_at=utc(2019, 9, 18, 9, 0))
    assert page.entries[0].published_at == utc(2019, 9, 17, 14, 35)  # "вчера в 17:35"
    assert page.entries[-1].published_at == utc(2019, 9, 14, 18, 40)  # "14 сентября 2019 в 21:40"


def test_state_only_fallback() -> None:
    # A tm page whose snippet markup we do not recognise still yields its entries from __INITIAL_STATE__.
    case = CASES[0]
    text = (FIXTURES / case.file).read_text(encoding="utf-8").replace("tm-articles-list__item", "x-unknown")
    page = parse_listing(case.url, text)
    assert [entry.id for entry in page.entries] == [entry.id for entry in parsed(case.file, case.url).entries]
    assert page.entries[0].title == case.first["title"]
    assert page.entries[0].published_at == case.first["published_at"]
    assert page.page_count == 50


@pytest.mark.parametrize(
    "file",
    [
        "article-tm-568382-2021.html",  # its SSR state carries a daily-top list: still not a listing
        "article-mobile-462783-en-2019.html",  # route name says articles_list_top_daily
        "article-legacy-1000-2018.html",
        "article-tm-957816-browsersaved-2025.html",
        "article-tm-1064400-company-2026.html",  # a post: its Pinia state holds the one publication, no list
        "rss-all-2020.xml",
        "mirror-weekly-geekly-index.html",
    ],
)
def test_not_a_listing(file: str) -> None:
    with pytest.raises(ParseError, match="listing"):
        parse_listing("https://habr.com/ru/x/", (FIXTURES / file).read_bytes())


@pytest.mark.parametrize("body", [b"", b"  \n", "<html><body><p>hello</p></body></html>"])
def test_garbage_is_a_parse_error(body: bytes | str) -> None:
    with pytest.raises(PageError):
        parse_listing("https://habr.com/ru/articles/", body)


def test_listing_without_readable_entries() -> None:
    body = (
        '<html><body><div class="tm-articles-list"><article class="tm-articles-list__item"></article></div>'
    )
    with pytest.raises(ParseError, match="no readable entry"):
        parse_listing("https://habr.com/ru/articles/", body)


def test_a_listing_whose_state_says_it_is_empty_is_an_empty_page() -> None:
    """No snippets, and the page state lists no ids for the page's route: an empty listing, not a ParseError."""
    state = {
        "articlesList": {
            "articlesList": {},
            "articlesIds": {"NEWS_LIST_ALL": []},
            "route": {"name": "NEWS_LIST_ALL"},
            "pagesCount": {"NEWS_LIST_ALL": 0},
        }
    }
    body = (
        "<html><body><div class='tm-articles-list'></div>"
        f"<script>window.__INITIAL_STATE__={json.dumps(state)};(function(){{}})()</script></body></html>"
    )
    page = parse_listing("https://habr.com/ru/news/", body)
    assert (page.entries, page.next_url, page.page_count, page.layout) == ([], None, 0, "tm")
    lost = body.replace('"NEWS_LIST_ALL": []', '"NEWS_LIST_ALL": [5]')  # listed, but nothing readable
    with pytest.raises(ParseError):
        parse_listing("https://habr.com/ru/news/", lost)
