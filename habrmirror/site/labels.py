"""The mirror's words in Russian and English, and how it writes a date: the site's labels follow the archive's
language (the language most of its posts are in), each article's ``<html lang>`` its own."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from habrmirror.clock import parse_utc
from habrmirror.pages.text import MONTH_NAMES

LABELS: dict[str, dict[str, str]] = {
    "ru": {
        "site": "Архив Хабра",
        "all_articles": "Все статьи",
        "source": "Источник",
        "captured": "Сохранено",
        "earlier": "Ранее сохранялась",
        "gone": "Удалена с Хабра: обнаружено",
        "by": "Автор",
        "hubs": "Хабы",
        "all_hubs": "Все хабы",
        "authors": "Авторы",
        "tags": "Теги",
        "minutes": "мин",
        "reading_time": "Время чтения",
        "comments": "Комментарии",
        "comment_deleted": "Комментарий удалён",
        "comment_banned": "Комментарий скрыт модератором",
        "newer": "Новее",
        "older": "Старше",
        "page": "Страница",
        "of": "из",
        "search": "Поиск",
        "search_in": "Поиск по статьям на языке",
        "search_needs_server": "Поиск работает, когда сайт открыт через веб-сервер (habrmirror serve), а не как файл.",
        "post": "Пост",
        "articles_of_hub": "Хаб",
        "articles_of_author": "Статьи автора",
        "articles": "статей",
        "feed": "Лента Atom",
        "embed": "Встроенный контент",
        "image": "изображение",
        "image_missing": "изображение не сохранено",
        "mirror_note": "Зеркало из архива habrmirror: страницы собраны из WARC-файлов, без обращения к сети.",
        "language_ru": "русском",
        "language_en": "английском",
    },
    "en": {
        "site": "Habr archive",
        "all_articles": "All Articles",
        "source": "Source",
        "captured": "Captured at",
        "earlier": "Earlier captures",
        "gone": "Deleted from Habr: found gone on",
        "by": "Author",
        "hubs": "Hubs",
        "all_hubs": "All hubs",
        "authors": "Authors",
        "tags": "Tags",
        "minutes": "min",
        "reading_time": "Reading time",
        "comments": "Comments",
        "comment_deleted": "Comment deleted",
        "comment_banned": "Comment hidden by a moderator",
        "newer": "Newer",
        "older": "Older",
        "page": "Page",
        "of": "of",
        "search": "Search",
        "search_in": "Search the articles in",
        "search_needs_server": "Search works when the site is opened through a web server (habrmirror serve), not as files.",
        "post": "Post",
        "articles_of_hub": "Hub",
        "articles_of_author": "Articles by",
        "articles": "articles",
        "feed": "Atom feed",
        "embed": "Embedded content",
        "image": "image",
        "image_missing": "image not archived",
        "mirror_note": "A habrmirror archive mirror: pages built from WARC files, offline.",
        "language_ru": "Russian",
        "language_en": "English",
    },
}

_MONTHS = {  # the genitive names Habr prints ("26 декабря 2006"), the English ones of /en/ pages
    "ru": [ru for ru, _ in MONTH_NAMES],
    "en": [en.capitalize() for _, en in MONTH_NAMES],
}


def labels_for(language: str | None) -> dict[str, str]:
    return LABELS.get(language or "", LABELS["en"])


def site_language(language: str | None) -> str:
    """A language the mirror has labels for: ``ru`` or ``en`` (anything else reads English labels)."""
    return language if language in LABELS else "en"


@lru_cache(maxsize=65536)  # listings show the same post's date on every hub, author and tag page
def human_date(value: str | None, language: str, with_time: bool = True) -> str:
    """``2019-08-06T20:33:27+00:00`` -> ``6 августа 2019, 20:33 UTC`` (or the value as is, if unreadable)."""
    if not value:
        return ""
    try:
        moment: datetime = parse_utc(value)
    except ValueError:
        return value
    months = _MONTHS.get(language, _MONTHS["en"])
    text = f"{moment.day} {months[moment.month - 1]} {moment.year}"
    return f"{text}, {moment:%H:%M} UTC" if with_time else text
