"""What the replica serves: one :class:`Entry` per article (real saved samples plus synthetic ones).

The real samples' facts (title, author, publication time, hubs, lead) were read once from the pages by
:func:`build_sample_catalog` and stored in ``samples/catalog.json``; the server loads that file, adds
``--synthetic N`` generated entries and keeps the mutable state the control endpoints change (added,
edited, deleted articles). The listings and article renderers read entries from here.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from habrmirror.pages.text import MONTH_NAMES

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
CATALOG_FILE = SAMPLES_DIR / "catalog.json"

MOSCOW = timezone(timedelta(hours=3))  # Habr prints Moscow time (UTC+3 since 2014, and in winter before)
SYNTHETIC_FIRST_ID = 800001
SYNTHETIC_EPOCH = datetime(2025, 11, 1, tzinfo=timezone.utc)  # after the newest real sample (2025-10-29)
SYNTHETIC_STEP = timedelta(minutes=47)  # id order == time order, as on Habr
# Real tm-era pages used as templates for synthetic articles (kept small so a 2,000-article bench is cheap).
SYNTHETIC_TEMPLATES = (568382, 724768, 804525)

_MONTHS_GENITIVE = [ru for ru, _ in MONTH_NAMES]  # "26 декабря 2006": the names Habr prints
_MONTHS_SHORT = ["янв", "фев", "мар", "апр", "мая", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"]


@dataclass
class Entry:
    """One article the replica knows; ``sample`` is the saved page (real) or the template page (synthetic)."""

    id: int
    type: str  # "article", "news" or "post"
    title: str
    author: str
    published: str  # ISO 8601 UTC, e.g. "2021-07-19T07:02:37Z"
    hubs: list[list[str]]  # [[slug, name], ...]
    lead: str
    sample: str  # file name in samples/
    era: str  # "legacy" / "tm" / "tm-browsersaved" / "amp" / "mirror"
    paths: list[str] = field(default_factory=list)  # where the page answers 200 (besides /ru/articles/ID/)
    canonical: bool = True  # also served at /ru/articles/ID/ (the AMP rendering and the mirror are not)
    listed: bool = True  # appears in the listings
    synthetic: bool = False
    template: int | None = None  # the real entry a synthetic one is rendered from

    @property
    def published_at(self) -> datetime:
        """The publication time as an aware UTC datetime."""
        return datetime.fromisoformat(self.published.replace("Z", "+00:00"))

    @property
    def path(self) -> str:
        """The path listings link to: ``/ru/articles/ID/`` or ``/ru/news/ID/``."""
        return f"/ru/{'news' if self.type == 'news' else 'articles'}/{self.id}/"


def iso_z(moment: datetime) -> str:
    """``2021-07-19T07:02:37Z``: second precision, UTC."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def moscow_title(moment: datetime) -> str:
    """The ``title`` Habr puts on ``<time>``: ``2021-07-19, 10:02`` (Moscow time)."""
    return moment.astimezone(MOSCOW).strftime("%Y-%m-%d, %H:%M")


def moscow_text(moment: datetime, short: bool = False) -> str:
    """Visible time text: ``19 июля 2021 в 10:02`` (legacy), ``19 июл 2021 в 10:02`` (tm, ``short``)."""
    local = moment.astimezone(MOSCOW)
    month = (_MONTHS_SHORT if short else _MONTHS_GENITIVE)[local.month - 1]
    return f"{local.day} {month} {local.year} в {local:%H:%M}"


# ---------------------------------------------------------------------------------------------------------
# Synthetic entries: pure functions of the id, so two runs (and two processes) agree byte for byte.

_ADJ = [
    "Быстрый",
    "Надёжный",
    "Простой",
    "Неочевидный",
    "Распределённый",
    "Ленивый",
    "Строгий",
    "Открытый",
    "Древний",
    "Новый",
]
_NOUN = [
    "парсер",
    "кэш",
    "компилятор",
    "планировщик",
    "индекс",
    "протокол",
    "сервер",
    "алгоритм",
    "архив",
    "интерпретатор",
    "балансировщик",
    "журнал",
]
_TOPIC = [
    "на Python",
    "в ядре Linux",
    "для Хабра",
    "без боли",
    "в продакшене",
    "за выходные",
    "на Rust",
    "и WARC",
    "в 2025 году",
]
_AUTHORS = ("rvnikita", "SergioShpadi", "habrmirror_bot", "itNews", "may-cat")
_HUBS = (
    ("python", "Python"),
    ("programming", "Программирование"),
    ("algorithms", "Алгоритмы"),
    ("linux", "Linux"),
    ("go", "Go"),
    ("popular_science", "Научно-популярное"),
    ("read", "Читальный зал"),
)


def synthetic_title(article: int) -> str:
    """A deterministic Russian-looking title that contains the id (so titles never collide)."""
    return (
        f"{_ADJ[article % len(_ADJ)]} {_NOUN[(article // 7) % len(_NOUN)]} "
        f"{_TOPIC[(article // 3) % len(_TOPIC)]} (№{article})"
    )


def synthetic_lead(article: int) -> str:
    """The first paragraph of a synthetic article (also its listing lead)."""
    return (
        f"Синтетическая публикация {article} реплики habrmirror: {_NOUN[article % len(_NOUN)]} "
        f"и {_NOUN[(article // 5) % len(_NOUN)]} в одном тексте, чтобы у каждой статьи было своё тело."
    )


def synthetic_entry(
    article: int, published: datetime, templates: dict[int, Entry], kind: str | None = None
) -> Entry:
    """The entry for synthetic id ``article``; every fifth one is news unless ``kind`` says otherwise."""
    template = templates[SYNTHETIC_TEMPLATES[article % len(SYNTHETIC_TEMPLATES)]]
    hub_a = _HUBS[article % len(_HUBS)]
    hub_b = _HUBS[(article // 2 + 3) % len(_HUBS)]
    hubs = [list(hub_a)] if hub_a == hub_b else [list(hub_a), list(hub_b)]
    return Entry(
        id=article,
        type=kind or ("news" if article % 5 == 0 else "article"),
        title=synthetic_title(article),
        author=template.author,
        published=iso_z(published),
        hubs=hubs,
        lead=synthetic_lead(article),
        sample=template.sample,
        era=template.era,
        synthetic=True,
        template=template.id,
    )


def synthetic_entries(count: int, templates: dict[int, Entry]) -> list[Entry]:
    """``count`` entries with ids 800001.. and times 47 minutes apart from 2025-11-01T00:00Z."""
    return [
        synthetic_entry(SYNTHETIC_FIRST_ID + i, SYNTHETIC_EPOCH + i * SYNTHETIC_STEP, templates)
        for i in range(count)
    ]


# ---------------------------------------------------------------------------------------------------------
# The mutable catalog the server holds.


class Catalog:
    """All entries plus the control-endpoint state; thread-safe because the in-thread server shares it."""

    def __init__(self, entries: list[Entry]) -> None:
        self._lock = threading.Lock()
        self.entries: dict[int, Entry] = {entry.id: entry for entry in entries}
        self.edits: dict[int, int] = {}  # id -> number of edits applied
        self.deleted: set[int] = set()
        self.version = 0  # bumped on every change; listing caches key on it
        self._ordered: dict[str, list[Entry]] = {}

    @classmethod
    def load(cls, synthetic: int = 0) -> Catalog:
        """The stored real samples plus ``synthetic`` generated entries."""
        real = load_sample_entries()
        templates = {entry.id: entry for entry in real}
        return cls(real + synthetic_entries(synthetic, templates))

    def get(self, article: int) -> Entry | None:
        """The live entry for an id (``None`` when unknown or deleted)."""
        if article in self.deleted:
            return None
        return self.entries.get(article)

    def listed(self, kind: str) -> list[Entry]:
        """Entries of a listing, newest first; ``kind`` is ``articles``, ``news`` or ``all`` (both)."""
        with self._lock:
            cached = self._ordered.get(kind)
            if cached is None:
                wanted = {"articles": {"article"}, "news": {"news"}, "all": {"article", "news"}}[kind]
                cached = sorted(
                    (
                        e
                        for e in self.entries.values()
                        if e.listed and e.type in wanted and e.id not in self.deleted
                    ),
                    key=lambda e: (e.published, e.id),
                    reverse=True,
                )
                self._ordered[kind] = cached
            return cached

    def _changed(self) -> None:
        self.version += 1
        self._ordered.clear()

    def add(self, count: int, kind: str = "article") -> list[Entry]:
        """``count`` new synthetic entries, newer (time and id) than everything served so far."""
        with self._lock:
            templates = {e.id: e for e in self.entries.values() if not e.synthetic}
            next_id = max([SYNTHETIC_FIRST_ID - 1, *(e.id for e in self.entries.values() if e.synthetic)]) + 1
            newest = max(e.published_at for e in self.entries.values())
            added = [
                synthetic_entry(next_id + i, newest + (i + 1) * timedelta(minutes=30), templates, kind)
                for i in range(count)
            ]
            for entry in added:
                self.entries[entry.id] = entry
            self._changed()
            return added

    def edit(self, article: int) -> int:
        """Record one more edit of an article; returns the new edit count."""
        with self._lock:
            self.edits[article] = self.edits.get(article, 0) + 1
            self._changed()
            return self.edits[article]

    def delete(self, article: int) -> None:
        """Make the article answer 404 and drop it from listings."""
        with self._lock:
            self.deleted.add(article)
            self._changed()


def load_sample_entries(path: Path = CATALOG_FILE) -> list[Entry]:
    """The real samples as stored in ``samples/catalog.json``."""
    rows = json.loads(path.read_text(encoding="utf-8"))["articles"]
    return [Entry(**row) for row in rows]


# ---------------------------------------------------------------------------------------------------------
# One-off: read the saved pages and write samples/catalog.json (python -m habrmirror.replica.catalog).

# file -> (id, era, paths answering 200, canonical, listed); the original URL of each is in
# tests/fixtures/habr/MANIFEST.md. /post/ID/ and /ru/post/ID/ forms are redirects, so they are not listed here.
SAMPLE_PAGES: dict[str, tuple[int, str, list[str], bool, bool]] = {
    "article-legacy-1000-2018.html": (1000, "legacy", [], True, True),
    "article-legacy-462783-company-2019.html": (
        462783,
        "legacy",
        ["/ru/company/parallels/blog/462783/"],
        True,
        True,
    ),
    "article-legacy-472278-company-2019-malformed-utf8.html": (
        472278,
        "legacy",
        ["/ru/company/flant/blog/472278/"],
        True,
        True,
    ),
    "article-tm-568382-2021.html": (568382, "tm", [], True, True),
    "article-tm-570002-browsersaved-2021.html": (570002, "tm-browsersaved", [], True, True),
    "article-tm-724768-browsersaved-2023.html": (724768, "tm-browsersaved", [], True, True),
    "article-tm-804525-browsersaved-2024.html": (804525, "tm-browsersaved", [], True, True),
    "article-tm-957816-browsersaved-2025.html": (957816, "tm-browsersaved", [], True, True),
    # The AMP rendering of 483202: only its AMP URL, never the canonical one, and not in listings.
    "article-amp-483202.html": (483202, "amp", ["/ru/amp/publications/483202/"], False, False),
    # A short company-blog "post" (2026, Pinia state, no title): only at its posts URL (/ru/posts/ID/ redirects
    # there), not at /ru/articles/ID/, and not in listings (the replica's listings render articles and news).
    "article-tm-1064400-company-2026.html": (
        1064400,
        "tm",
        ["/ru/companies/ruvds/posts/1064400/"],
        False,
        False,
    ),
    # A page of a third-party mirror of Habr (weekly-geekly), served under /mirror/.
    "mirror-weekly-geekly-article-100000.html": (
        100000,
        "mirror",
        ["/mirror/articles/100000/index.html"],
        False,
        False,
    ),
}


def _legacy_time(text: str) -> datetime:
    """``26 декабря 2006 в 12:10`` (Moscow) -> UTC."""
    match = re.search(r"(\d{1,2})\s+(\S+)\s+(\d{4})\D+(\d{1,2}):(\d{2})", text)
    if match is None:
        raise ValueError(f"unreadable legacy time {text!r}")
    day, month, year, hour, minute = match.groups()
    local = datetime(
        int(year), _MONTHS_GENITIVE.index(month) + 1, int(day), int(hour), int(minute), tzinfo=MOSCOW
    )
    return local.astimezone(timezone.utc)


def _read_sample(name: str, article: int, era: str) -> dict[str, object]:
    """Title, author, time, hubs and lead of one saved page (selectors per layout era)."""
    from lxml import html as lxml_html

    tree = lxml_html.fromstring(
        (SAMPLES_DIR / name).read_bytes(), parser=lxml_html.HTMLParser(encoding="utf-8")
    )

    def first(xpath: str) -> str:
        found = tree.xpath(xpath)
        if not found:
            return ""
        item = found[0]
        return (item if isinstance(item, str) else item.text_content()).strip()

    title = first("//meta[@property='og:title']/@content") or first("//h1") or first("//title")
    if '"publicationType":"post"' in (SAMPLES_DIR / name).read_text("utf-8", "replace") and not first("//h1"):
        title = ""  # a titleless short post: og:title is Habr's generated "Пост @login — ..."
    if era == "legacy":
        author = first("//*[contains(@class,'post__meta')]//*[contains(@class,'user-info__nickname')]")
        stamp = first("//*[contains(@class,'post__time')]/@data-time_published")
        published = (
            datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            if stamp
            else _legacy_time(first("//*[contains(@class,'post__time')]"))
        )
        hub_links = tree.xpath("//*[contains(@class,'post__hubs')]//a[contains(@class,'hub-link')]")
        body = "//*[contains(@class,'post__text-html')]"
    elif era == "amp":
        author = first("//*[contains(@class,'tm-user-info__username')]")
        match = re.search(r'"datePublished":"([^"]+)"', (SAMPLES_DIR / name).read_text("utf-8", "replace"))
        published = datetime.fromisoformat(match.group(1)) if match else datetime(2020, 1, 1)
        hub_links = []
        body = "//*[@id='post-content-body']"
    elif era == "mirror":
        author = ""
        published = datetime(2010, 7, 20, tzinfo=timezone.utc)  # unknown; only used for ordering
        hub_links = []
        body = "//*[contains(@class,'post__text-html')]"
    else:
        author = first(
            "//*[contains(@class,'tm-article-snippet__meta') or contains(@class,'tm-article-presenter__meta')"
            " or contains(@class,'tm-article-snippet__author')]//*[contains(@class,'tm-user-info__username')]"
        ) or first("//*[contains(@class,'tm-user-info__username')]")
        published = datetime.fromisoformat(
            first("//*[contains(@class,'datetime-published')]//time/@datetime").replace("Z", "+00:00")
        )
        hub_links = tree.xpath(
            "(//*[contains(@class,'tm-article-snippet__hubs') or contains(@class,'tm-publication-hubs')])[1]"
            "//a[contains(@class,'hubs-item-link') or contains(@class,'tm-publication-hub__link')]"
        )
        body = "//*[@id='post-content-body']"
    hubs = []
    for link in hub_links:
        # /ru/hub/X/, /ru/hubs/X/, /ru/hubs/X/posts/ (2026 post pages), company blogs /ru/companies/X/posts/
        named = re.search(r"/(?:hubs?|company|companies)/([^/?#]+)", link.get("href", ""))
        slug = named.group(1) if named else link.get("href", "").rstrip("/").rsplit("/", 1)[-1]
        name = " ".join(link.text_content().replace("*", "").split())
        if slug and name and [slug, name] not in hubs:
            hubs.append([slug, name])
    lead = " ".join(first(body).split())[:300]
    return {
        "title": title,
        "author": author,
        "published": iso_z(published),
        "hubs": hubs,
        "lead": lead,
    }


def build_sample_catalog() -> dict[str, object]:
    """Read every sample page and return the catalog document (written once to samples/catalog.json)."""
    rows = []
    for name, (article, era, paths, canonical, listed) in SAMPLE_PAGES.items():
        facts = _read_sample(name, article, era)
        entry = Entry(
            id=article,
            type="post" if any("/posts/" in path for path in paths) else "article",
            sample=name,
            era=era,
            paths=paths,
            canonical=canonical,
            listed=listed,
            **facts,  # type: ignore[arg-type]
        )
        rows.append(asdict(entry))
    return {
        "about": "Facts read from the saved real pages in this directory by "
        "habrmirror.replica.catalog.build_sample_catalog(); times are UTC.",
        "articles": rows,
    }


if __name__ == "__main__":
    CATALOG_FILE.write_text(
        json.dumps(build_sample_catalog(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    print(f"wrote {CATALOG_FILE}")
