"""Comments: Habr's comments API answers (kek/v2, app v1) and the comments article pages render, field by field.

Expected values were read off the real saved files by hand (the JSON as pretty-printed, the HTML's markup), not
dumped from the parser. Times are written as Habr gives them (ISO with its offset, or the Moscow wall-clock time
a legacy page prints, with the offset Moscow had then) and turned into Unix seconds by the standard library.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import pytest

from habrmirror.items import Article, Comment, article_record
from habrmirror.pages import ParseError, parse_article
from habrmirror.pages.comments import (
    CommentsPage,
    legacy_comment_time,
    parse_comments_api,
    thread_order,
)
from habrmirror.schema import validation_errors

FIXTURES = Path(__file__).parent / "fixtures" / "habr"


def ts(moment: str) -> int:
    return int(datetime.fromisoformat(moment).timestamp())


@cache
def kek() -> CommentsPage:
    return parse_comments_api((FIXTURES / "api-kek-v2-comments-2021.json").read_bytes())


@cache
def v1() -> CommentsPage:
    return parse_comments_api((FIXTURES / "api-v1-comments-2021.json").read_bytes())


# 462783 was saved on 2019-08-07 (MANIFEST: the source commit's date); its comments say "вчера в 23:42" and
# "сегодня в 20:37", so a capture time that evening (21:00 in Moscow) resolves them.
FETCHED_462783 = datetime(2019, 8, 7, 18, 0, tzinfo=timezone.utc)


@cache
def page(name: str, url: str, fetched_at: datetime | None = None) -> Article:
    return parse_article(url, (FIXTURES / name).read_bytes(), fetched_at=fetched_at)


def legacy_1000() -> Article:
    return page("article-legacy-1000-2018.html", "https://habr.com/post/1000/")


def legacy_462783(fetched_at: datetime | None = FETCHED_462783) -> Article:
    return page(
        "article-legacy-462783-company-2019.html",
        "https://habr.com/ru/company/parallels/blog/462783/",
        fetched_at,
    )


def tm_2025() -> Article:
    return page("article-tm-957816-browsersaved-2025.html", "https://habr.com/ru/articles/957816/")


def by_id(comments: list[Comment]) -> dict[int, Comment]:
    return {comment.id: comment for comment in comments}


def check(comment: Comment, message_start: str, **fields: object) -> None:
    """Every field given equals the comment's (one failing name at a time), the message starts as given."""
    for name, value in fields.items():
        assert getattr(comment, name) == value, (comment.id, name)
    assert comment.message_html.startswith(message_start), comment.id


def edges(comments: list[Comment]) -> set[tuple[int, int]]:
    return {(comment.parent_id, comment.id) for comment in comments if comment.parent_id}


def assert_consistent_tree(comments: list[Comment]) -> None:
    """children and parent_id say the same thing, and the list is depth-first (each reply follows its parent)."""
    known = by_id(comments)
    position = {comment.id: index for index, comment in enumerate(comments)}
    for comment in comments:
        for child in comment.children:
            assert known[child].parent_id == comment.id
            assert known[child].level == comment.level + 1
        if comment.parent_id in known:
            assert comment.id in known[comment.parent_id].children
            assert position[comment.parent_id] < position[comment.id]


# -- kek/v2 (/kek/v2/articles/ID/comments) ------------------------------------------------------------------------
KEK_ORDER = [
    19831270,
    19831502,
    19831736,
    19844546,
    19844548,
    19841482,
    19844602,
    19844550,
    19845418,
    19845460,
    19845508,
    19845664,
    19845716,
    19845780,
    19846190,
    19846548,
    19865436,
    19866984,
    19882394,
]
# every (parentId, id) of the answer
KEK_EDGES = {
    (19831502, 19831736),
    (19831736, 19844546),
    (19831502, 19844548),
    (19841482, 19844602),
    (19844550, 19845418),
    (19845418, 19845460),
    (19845460, 19845508),
    (19844550, 19845664),
    (19845664, 19845716),
    (19845716, 19845780),
    (19845780, 19846190),
    (19846190, 19846548),
    (19865436, 19866984),
    (19866984, 19882394),
}
KEK_THREADS = [19831270, 19831502, 19841482, 19844550, 19865436]


def test_kek_tree_shape() -> None:
    comments = kek().comments
    assert len(comments) == 19
    assert [c.id for c in comments] == KEK_ORDER  # depth-first from the threads, children in the API's order
    assert [c.id for c in comments if c.parent_id == 0] == KEK_THREADS
    assert edges(comments) == KEK_EDGES
    assert all(c.level == 0 for c in comments if c.parent_id == 0)
    assert_consistent_tree(comments)
    assert kek().pages is None and kek().pinned_ids == []  # this answer has neither


def test_kek_comments_field_by_field() -> None:
    comments = by_id(kek().comments)
    check(
        comments[19831270],
        "По мне anko неудобно по причине отсутствия адекватного превью",
        parent_id=0,
        level=0,
        time_published=ts("2019-03-03T14:56:56+00:00"),
        time_changed=ts("2019-03-03T15:03:06+00:00"),
        score=1,
        votes=1,
        author="androidovshchik",
        author_name="Влад",
        author_id=1103690,
        children=[],
        deleted=False,
        banned=False,
    )
    check(
        comments[19831502],
        "Я тоже использовал anko… Мне не нравилось разнесенный в java ui и логика",
        parent_id=0,
        level=0,
        time_published=ts("2019-03-03T16:19:00+00:00"),
        time_changed=None,
        score=0,
        votes=0,
        author="irbis_al",
        author_name="Александр",
        author_id=1317526,
        children=[19831736, 19844548],
        deleted=False,
        banned=False,
    )
    check(
        comments[19831736],
        "Ой да ладно<br/>\r\nПрям уж flutter взошел на олимп",
        parent_id=19831502,
        level=1,
        time_published=ts("2019-03-03T17:48:35+00:00"),
        time_changed=None,
        score=0,
        votes=2,
        author="androidovshchik",
        author_name="Влад",
        author_id=1103690,
        children=[19844546],
    )
    check(
        comments[19844546],
        "Знаете, скорее не сырой, а молодой",
        parent_id=19831736,
        level=2,
        time_published=ts("2019-03-06T15:00:33+00:00"),
        author="piconst",
        author_name=None,  # "fullname": null
        author_id=1988151,
        children=[],
    )
    check(
        comments[19846548],
        "<blockquote>сразу есть СУБД и «ORM»</blockquote>",
        parent_id=19846190,
        level=5,
        time_published=ts("2019-03-07T05:07:03+00:00"),
        time_changed=None,
        score=0,
        votes=0,
        author="Neikist",
        author_name="Kirill Vlasov",
        author_id=491702,
        children=[],
    )
    assert comments[19846548].message_markdown.startswith("> сразу есть СУБД и «ORM»")
    last = comments[19882394]
    check(
        last,
        "По-моему, на вкус и цвет товарищей нет.",
        parent_id=19866984,
        level=2,
        time_changed=ts("2019-03-14T09:25:00+00:00"),
        score=1,
        votes=1,
        author="androidovshchik",
    )
    assert last.time_published == 1552555368  # the answer's lastCommentTimestamp: the newest comment


def test_kek_message_wrapper_is_dropped_and_the_rest_kept() -> None:
    comment = by_id(kek().comments)[19831502]
    assert "xmlns" not in comment.message_html and not comment.message_html.startswith("<div")
    # the message's own markup as given (the wrapper's closing </div> too is gone)
    assert comment.message_html.endswith("<br/>\r\n(А потом появился flutter.)")
    assert comment.message_markdown == (
        "Я тоже использовал anko… Мне не нравилось разнесенный в java ui и логика… анко этот вопрос решала.  \n"
        "Но билделось очень долго.  \n(А потом появился flutter.)"
    )
    assert all("xmlns" not in c.message_html for c in kek().comments)


# -- app API v1 (/api/v1/comments/ID) ------------------------------------------------------------------------------
def test_v1_tree_is_built_from_parent_ids() -> None:
    comments = v1().comments
    assert len(comments) == 26
    known = by_id(comments)
    assert [c.id for c in comments if c.parent_id == 0] == [
        23265490,
        22982602,
        22982722,
        22983120,
        22983148,
        22983324,
        22983526,
        22983544,
        22983556,
        22983652,
        22983918,
        22984034,
        22984254,
    ]
    assert known[22982602].children == [22982674, 22982912]
    assert known[22983324].children == [22983330]
    assert known[22983330].children == [22983366, 22983420, 22983742, 22983768, 22984116]
    assert known[22983768].children == [22984008, 22984800]
    assert known[22983120].children == [22983826]
    assert_consistent_tree(comments)
    # depth-first: 22983768's replies come before its later sibling 22984116
    ids = [c.id for c in comments]
    assert ids.index(22983768) < ids.index(22984008) < ids.index(22984800) < ids.index(22984116)


def test_v1_comments_field_by_field() -> None:
    comments = by_id(v1().comments)
    check(
        comments[23265490],
        "<p>Здравствуйте, Сергей. </p><p>Та, ваша статья, была чрезвычайно вдохновляющей.",
        parent_id=0,
        level=0,
        time_published=ts("2021-07-16T05:42:35+03:00"),
        time_changed=None,
        score=6,
        votes=None,  # "vote": 1 is the requesting user's own vote, not a count
        author="KirovA",
        author_name=None,
        author_id=None,  # v1 authors carry no id
        children=[],
        deleted=False,
        banned=False,
    )
    check(
        comments[22982674],
        "<p>Удивительно, но… эти не текут.",
        parent_id=22982602,
        level=1,
        time_published=ts("2021-04-29T23:22:42+03:00"),
        score=1,
        author="tormozedison",
        author_name="Tormoz Edison",
    )
    check(
        comments[22984800],
        "<blockquote>Может ли быть так, что у IKEA большая ",
        parent_id=22983768,
        level=3,
        time_published=ts("2021-04-30T15:54:32+03:00"),
        score=0,
        author="barbadian",
        author_name=None,
        children=[],
    )
    assert comments[22982602].message_html.startswith("Нужно еще не забывать про такой параметр")  # no <p>


# -- legacy pages (post__ layout) ------------------------------------------------------------------------------------
def test_legacy_1000_both_comments() -> None:
    article = legacy_1000()
    assert article.comments_status == "page"
    first, second = article.comments
    check(
        first,
        "",
        id=24209,
        parent_id=0,
        level=0,
        time_published=ts("2006-12-29T14:41:00+03:00"),  # "29.12.06 в 14:41", Moscow winter time
        time_changed=None,
        score=0,
        votes=0,  # "Общий рейтинг 0: ↑0 и ↓0"
        message_html="",  # <div class="comment__message "></div>
        message_markdown="",
        author="vice_president",
        author_name=None,
        author_id=None,
        children=[5286865],
        deleted=False,
        banned=False,
    )
    check(
        second,
        "Ёмко",
        id=5286865,
        parent_id=24209,
        level=1,
        time_published=ts("2012-10-17T00:10:00+04:00"),  # "17.10.12 в 00:10": Moscow was UTC+4 in 2012
        time_changed=None,
        score=0,
        votes=0,
        message_html="Ёмко",
        message_markdown="Ёмко",
        author="ozonar",
        author_name=None,
        author_id=None,
        children=[],
        deleted=False,
        banned=False,
    )


def test_legacy_462783_count_and_banned_in_place() -> None:
    comments = legacy_462783().comments
    assert len(comments) == 115  # li.content-list__item_comment; the page's counter says 115 too
    assert legacy_462783().statistics["commentsCount"] == 115
    known = by_id(comments)
    assert [c.id for c in comments if c.banned] == [20478725, 20478747]
    check(
        known[20478725],
        "",
        parent_id=0,
        level=0,
        time_published=None,
        score=None,
        votes=None,
        author=None,
        message_html="",  # Habr's "НЛО прилетело..." placeholder is not the comment
        message_markdown="",
        children=[20478741],
        banned=True,
        deleted=False,
    )
    check(known[20478741], "<p>У вас к автору что-то личное?", parent_id=20478725, level=1, author="Cerium")
    assert known[20478741].children == [20478747]
    check(known[20478747], "", parent_id=20478741, level=2, author=None, children=[20478759], banned=True)
    check(known[20478759], "", parent_id=20478747, level=3, author="Exosphere")
    assert len([c for c in comments if c.parent_id == 0]) == 32
    assert_consistent_tree(comments)


def test_legacy_462783_five_comments() -> None:
    known = by_id(legacy_462783().comments)
    check(
        known[20478685],
        "Ну это жизнь ) <br>\nВсе меняется:<br>\nТелефонные будки",
        parent_id=0,
        level=0,
        time_published=ts("2019-08-06T23:42:00+03:00"),  # "вчера в 23:42", seen on 2019-08-07
        score=56,  # "+56"
        votes=56,  # "Общий рейтинг 56: ↑56 и ↓0"
        author="Valsha",
        author_name=None,
        children=[20478805, 20478931],
        banned=False,
    )
    check(
        known[20478805],
        "Воистину )))",
        parent_id=20478685,
        level=1,
        time_published=ts("2019-08-07T00:56:00+03:00"),  # "сегодня в 00:56"
        score=0,
        votes=2,  # ↑1 и ↓1
        message_html="Воистину )))",
        author="IsyanovDV",
        children=[],
    )
    check(
        known[20479287],
        '<pre><code class="cpp">class Comma {',
        parent_id=20479153,
        level=3,
        time_published=ts("2019-08-07T09:18:00+03:00"),
        score=3,
        votes=5,  # ↑4 и ↓1
        author="OldFisher",
    )
    assert "```cpp\nclass Comma {" in known[20479287].message_markdown
    check(
        known[20480819],
        "В далекой юности, еще задолго до Матрицы",
        parent_id=0,
        level=0,
        time_published=ts("2019-08-07T15:24:00+03:00"),
        score=-1,  # "–1" with an en dash; a downgraded (greyed) comment is not banned
        votes=1,
        author="dimakis",
        banned=False,
    )
    check(
        known[20481815],
        "&gt; Tesla, iphone",
        parent_id=20481559,
        level=1,
        time_published=ts("2019-08-07T20:37:00+03:00"),
        score=0,
        votes=0,
        author="vit1251",
        children=[],
    )


def test_legacy_relative_comment_dates_need_fetched_at() -> None:
    undated = by_id(legacy_462783(fetched_at=None).comments)
    assert undated[20478685].time_published is None  # "вчера в 23:42": never guessed
    assert legacy_1000().comments[0].time_published is not None  # absolute dates need no capture time
    assert legacy_comment_time("29.12.06 в 14:41") == ts("2006-12-29T14:41:00+03:00")
    assert legacy_comment_time("25 октября 2019 в 14:46") == ts("2019-10-25T14:46:00+03:00")
    assert legacy_comment_time("31.02.19 в 10:00") is None
    assert legacy_comment_time("") is None


# -- tm pages that render their comments (browser-saved) ---------------------------------------------------------------
def test_tm_2025_count_and_three_comments() -> None:
    article = tm_2025()
    assert article.comments_status == "page"
    comments = article.comments
    assert len(comments) == 8  # the header's "Комментарии 8"
    assert [c.id for c in comments] == [
        29035640,
        29036296,
        29036508,
        29036090,
        29036684,
        29037194,
        29037784,
        29052034,
    ]
    assert [c.level for c in comments] == [0, 1, 2, 0, 1, 2, 3, 0]  # .tm-comment-thread__indent_l-N
    assert_consistent_tree(comments)
    known = by_id(comments)
    check(
        known[29035640],
        "<p>Природа была в том состоянии, когда глаза на мокром месте",
        parent_id=0,
        level=0,
        time_published=ts("2025-10-29T16:43:54+00:00"),
        time_changed=None,
        score=3,  # "+3"
        votes=3,  # "Всего голосов 3: ↑3 и ↓0"
        author="SimuliantSurrogatov",
        author_name=None,
        author_id=None,
        children=[29036296],
        deleted=False,
        banned=False,
    )
    check(
        known[29036296],
        "<p>Дорогой мой комментатор, нечасто ваши комментарии вызывают улыбку",
        parent_id=29035640,
        level=1,
        time_published=ts("2025-10-29T19:16:39+00:00"),
        score=0,
        votes=0,  # "Комментарий пока не оценивали"
        author="SergioShpadi",
        children=[29036508],
    )
    assert "<blockquote><p>Я не сдержался" in known[29036296].message_html
    check(
        known[29052034],
        '<p>Вы пишите "Бог в умах людей представляется',
        parent_id=0,
        level=0,
        time_published=ts("2025-11-01T22:01:57+00:00"),
        score=0,  # the lever's score counter
        votes=0,  # the lever's title: not rated yet
        author="Zdravstvuite",
        children=[],
    )
    assert all("xmlns" not in c.message_html for c in comments)


def test_tm_2024_ids_come_from_the_comment_body() -> None:
    """2024 articles have no id attribute: div[data-comment-body] and a[name=comment_ID] carry it."""
    article = page("article-tm-804525-browsersaved-2024.html", "https://habr.com/ru/articles/804525/")
    comments = article.comments
    assert len(comments) == 7 and article.comments_status == "page"
    first, second = comments[0], comments[1]
    check(
        first,
        "<p>Давайте представим, что троичных компьютеров",
        id=26702873,
        parent_id=0,
        time_published=ts("2024-04-09T02:51:06+00:00"),
        score=3,
        votes=3,
        author="nin-jin",
    )
    check(second, "", id=26702875, score=4, votes=6, author="Neo5")  # "Всего голосов 6: ↑5 и ↓1", "+4"
    assert by_id(comments)[26704425].children == [comments[4].id]


def test_pages_without_a_comments_section_are_not_fetched() -> None:
    raw = page("article-tm-568382-2021.html", "https://habr.com/ru/post/568382/")
    assert (raw.comments, raw.comments_status) == ([], "not_fetched")  # only the counter link
    html = (
        '<html><head><link rel="canonical" href="https://habr.com/post/5/"></head><body>'
        '<div class="post__wrapper"><h1 class="post__title post__title_full"><span class="post__title-text">T'
        '</span></h1><div class="post__body post__body_full"><div class="post__text">x</div></div></div>'
    )
    assert parse_article("u", html + "</body></html>").comments_status == "not_fetched"
    empty = (
        '<div class="comments-section" id="comments"><ul class="content-list content-list_comments" '
        'id="comments-list"></ul></div></body></html>'
    )
    article = parse_article("u", html + empty)
    assert (article.comments, article.comments_status) == ([], "page")  # a section with no comments


def test_tm_comments_section_without_comments_is_page() -> None:
    html = (
        '<html><head><link rel="canonical" href="https://habr.com/ru/articles/5/"></head><body>'
        '<article class="tm-article-presenter__content"><div class="tm-article-presenter__header"><h1>T</h1></div>'
        '<div id="post-content-body"><div class="article-formatted-body">x</div></div></article>'
        '<div class="tm-comments-wrapper"><h2>Комментарии <span>0</span></h2><div class="tm-comments__tree">'
        "</div></div></body></html>"
    )
    article = parse_article("u", html)
    assert (article.parser, article.comments, article.comments_status) == ("tm-dom/1", [], "page")


def test_comments_are_not_in_the_body() -> None:
    for article in (legacy_1000(), legacy_462783(), tm_2025()):
        for comment in article.comments:
            text = comment.message_markdown.strip()
            if len(text) > 30:
                assert text[:30] not in article.text_markdown, comment.id


# -- the index row ---------------------------------------------------------------------------------------------
def test_comments_in_the_row_are_valid() -> None:
    article = legacy_462783()
    record = article_record(article)
    assert record["comments_status"] == "page" and len(record["comments"]) == 115
    assert record["comments"][0] == {
        "id": 20478685,
        "parent_id": 0,
        "level": 0,
        "time_published": ts("2019-08-06T23:42:00+03:00"),
        "time_changed": None,
        "score": 56,
        "votes": 56,
        "message_html": article.comments[0].message_html,
        "message_markdown": article.comments[0].message_markdown,
        "author": "Valsha",
        "author_name": None,
        "author_id": None,
        "children": [20478805, 20478931],
        "deleted": False,
        "banned": False,
    }
    assert record["comments"][0]["children"] is not article.comments[0].children  # a copy
    assert validation_errors(record) == []
    json.dumps(record)


# -- edge cases, invented answers ----------------------------------------------------------------------------------
def kek_answer(comments: object, **extra: object) -> str:
    return json.dumps({"comments": comments, **extra})


def test_missing_fields_are_none_and_unknown_fields_ignored() -> None:
    answer = kek_answer(
        {"7": {"id": 7, "somethingNew": {"x": 1}}, "8": {"id": "8", "parentId": "7", "message": "<b>hi</b>"}},
        threads=["7"],
        pages=3,
        pinnedCommentIds=["8"],
        futureField=[1, 2],
    )
    result = parse_comments_api(answer)
    assert (result.pages, result.pinned_ids) == (3, [8])
    root, reply = result.comments
    assert root == Comment(id=7, parent_id=0, level=0, children=[8])
    assert (reply.parent_id, reply.level, reply.message_html, reply.message_markdown) == (
        7,
        1,
        "<b>hi</b>",
        "**hi**",
    )
    assert (reply.author, reply.author_name, reply.author_id, reply.score, reply.votes) == (None,) * 5
    assert (reply.time_published, reply.time_changed) == (None, None)


def test_a_comment_whose_parent_is_missing_keeps_its_parent_id_and_comes_last() -> None:
    answer = kek_answer(
        {
            "1": {"id": 1, "parentId": None, "level": 0, "children": [2]},
            "5": {"id": 5, "parentId": 4, "level": 2, "children": [6]},  # 4 is not in the answer
            "2": {"id": 2, "parentId": 1, "level": 1},
            "6": {"id": 6, "parentId": 5, "level": 3},
        },
        threads=[1],
    )
    comments = parse_comments_api(answer).comments
    assert [c.id for c in comments] == [1, 2, 5, 6]
    orphan = comments[2]
    assert (orphan.parent_id, orphan.level, orphan.children) == (4, 2, [6])  # not re-labelled a root


def test_thread_order_repairs_children_and_breaks_cycles() -> None:
    comments = thread_order(
        [
            Comment(id=1, children=[3, 99]),  # 99 does not exist; 2 is not listed but says it replies to 1
            Comment(id=2, parent_id=1, level=-1),
            Comment(id=3, parent_id=1, level=-1),
            Comment(id=10, parent_id=11, level=-1),  # a cycle: 10 <-> 11
            Comment(id=11, parent_id=10, level=-1),
            Comment(id=1, children=[]),  # a duplicate: the first wins
        ]
    )
    assert [c.id for c in comments] == [1, 3, 2, 10, 11]
    assert by_id(comments)[1].children == [3, 2]
    assert [c.level for c in comments] == [0, 1, 1, 0, 1]


def test_v1_shape_without_levels_gets_depths() -> None:
    answer = json.dumps(
        {
            "data": [
                {"id": 1, "parent_id": 0},
                {"id": 2, "parent_id": 1},
                {"id": 3, "parent_id": 2, "is_banned": True},
            ]
        }
    )
    comments = parse_comments_api(answer).comments
    assert [(c.id, c.level, c.children, c.banned) for c in comments] == [
        (1, 0, [2], False),
        (2, 1, [3], False),
        (3, 2, [], True),
    ]


def test_suspended_kek_comment_is_banned_in_place() -> None:
    answer = kek_answer(
        {
            "1": {
                "id": 1,
                "isSuspended": True,
                "message": "НЛО прилетело и опубликовало эту надпись здесь",
                "children": [2],
            },
            "2": {"id": 2, "parentId": 1, "message": "ответ"},
        },
        threads=[1],
    )
    banned, reply = parse_comments_api(answer).comments
    assert (banned.banned, banned.message_html, banned.children) == (True, "", [2])
    assert (reply.banned, reply.parent_id, reply.message_html) == (False, 1, "ответ")


@pytest.mark.parametrize(
    "answer",
    [
        '{"comments": [], "threads": []}',  # PHP writes an empty map as a list
        '{"comments": {}, "threads": [], "lastCommentTimestamp": 0}',
        '{"comments": null}',
        '{"data": []}',
        '{"data": null, "last": 0}',
    ],
)
def test_empty_answers(answer: str) -> None:
    assert parse_comments_api(answer).comments == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"<html>502 Bad Gateway</html>",
        b"\xff\xfe\x00",
        "[1, 2]",
        '{"code": 404, "message": "Not found"}',
        '{"comments": "x"}',
        '{"data": {"1": {}}}',
    ],
    ids=["empty", "truncated", "html", "bytes", "list", "error-object", "comments-string", "data-object"],
)
def test_malformed_answers_raise_parse_error(body: bytes | str) -> None:
    with pytest.raises(ParseError):
        parse_comments_api(body)


def test_comments_page_reads_the_thread_as_the_article_page_renders_it() -> None:
    """The replica's comments page wraps the real 2025 page's thread: read as a comments page, it gives the
    same comments, field for field, as the article page itself; a page with no thread is a ParseError."""
    from habrmirror.pages.comments import parse_comments_page
    from habrmirror.replica.comments_page import THREAD_SAMPLE, comments_page

    url = "https://habr.com/ru/articles/957816/"
    article = parse_article(url, (FIXTURES / THREAD_SAMPLE).read_bytes())
    page = parse_comments_page(comments_page(article.title or "", "/ru/articles/957816/"), url + "comments/")
    assert len(page.comments) == 8 == len(article.comments)
    assert [vars(c) for c in page.comments] == [vars(c) for c in article.comments]
    with pytest.raises(ParseError, match="no comments list"):
        parse_comments_page(b"<html><body><h1>Maintenance</h1></body></html>", url + "comments/")


def test_comments_page_urls() -> None:
    from habrmirror.urls import comments_page_url, is_comments_page_url

    assert comments_page_url(5, "http://127.0.0.1:9/ru/companies/x/articles/5/") == (
        "http://127.0.0.1:9/ru/articles/5/comments/"
    )
    assert (
        comments_page_url(5, "https://habr.com/en/articles/5/") == "https://habr.com/en/articles/5/comments/"
    )
    assert is_comments_page_url("https://habr.com/ru/articles/5/comments/")
    assert is_comments_page_url("https://habr.com/ru/companies/x/articles/5/comments/")
    assert not is_comments_page_url("https://habr.com/kek/v2/articles/5/comments/")
    assert not is_comments_page_url("https://habr.com/ru/articles/5/")
