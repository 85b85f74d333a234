"""The schema's validators agree (the fast compiled one is the hot path; jsonschema names the errors), and the
record conversion and the Arrow schema derived from it stay in step."""

import copy
from dataclasses import fields

import pytest

from habrmirror.items import (
    COMMENTS_STATUSES,
    STATISTICS_KEYS,
    Article,
    Comment,
    Image,
    Link,
    WarcPointer,
    article_record,
)
from habrmirror.schema import _fast_check, article_validator, validation_errors


def good_record() -> dict:
    article = Article(
        id=568382,
        language="ru",
        url="https://habr.com/ru/post/568382/",
        title="t",
        time_published=1626678157,
        statistics={"score": 3, "readingCount": 31},
        hubs=["hackathons"],
        images=[Image(url="http://127.0.0.1/x.png", alt=None, archived=True)],
        links=[Link(url="https://example.org/", text="x")],
        published_at="2021-07-19T07:02:37+00:00",
        warc=WarcPointer(filename="warc/a.warc.gz", offset=0, length=10, record_id="<urn:uuid:1>"),
        comments=[
            Comment(
                id=10,
                time_published=1626678200,
                score=2,
                votes=2,
                message_html="<p>a</p>",
                author="x",
                children=[11],
            ),
            Comment(id=11, parent_id=10, level=1, banned=True),
        ],
        comments_status="page",
    )
    return article_record(article)


BAD = [
    ("id", lambda r: r.update(id="568382")),
    ("title", lambda r: r.update(title=5)),
    ("statistics", lambda r: r["statistics"].update(likes=3)),
    ("images", lambda r: r["images"][0].pop("archived")),
    ("warc", lambda r: r.update(warc={"filename": "x"})),
    ("schema_version", lambda r: r.update(schema_version=1)),
    ("record", lambda r: r.update(extra_field=1)),
    ("hubs", lambda r: r.update(hubs="python")),
    ("statistics", lambda r: r.update(statistics=None)),  # always an object now
    ("comments", lambda r: r.update(comments=None)),  # always a list
    ("comments", lambda r: r["comments"][0].update(id="10")),
    ("comments", lambda r: r["comments"][0].pop("children")),
    ("comments", lambda r: r["comments"][1].update(banned=None)),
    ("comments", lambda r: r["comments"][0].update(likes=1)),
    ("comments_status", lambda r: r.update(comments_status=None)),
    ("comments_status", lambda r: r.update(comments_status="partial")),
]


def test_a_good_record_is_valid_for_both() -> None:
    record = good_record()
    assert validation_errors(record) == []
    assert article_validator().is_valid(record)
    _fast_check()(record)


@pytest.mark.parametrize(("field", "damage"), BAD, ids=[name for name, _ in BAD])
def test_both_validators_refuse_each_damage(field: str, damage) -> None:  # type: ignore[no-untyped-def]
    record = copy.deepcopy(good_record())
    damage(record)
    assert not article_validator().is_valid(record)
    errors = validation_errors(record)  # goes through the fast check first
    assert errors, "the fast validator accepted a record the schema refuses"
    assert field in {name for name, _ in errors} or field == "record"


def test_article_record_equals_asdict_on_real_pages() -> None:
    """The hand-written record conversion must stay what dataclasses.asdict gives (it exists only for speed)."""
    import dataclasses

    from habrmirror.pages import parse_article
    from tests.conftest import FIXTURES

    for name, url in (
        ("article-tm-568382-2021.html", "https://habr.com/ru/post/568382/"),
        ("article-legacy-462783-company-2019.html", "https://habr.com/ru/company/parallels/blog/462783/"),
    ):
        article = parse_article(url, (FIXTURES / name).read_bytes())
        article.warc = WarcPointer(filename="warc/a.warc.gz", offset=1, length=2, record_id="<urn:uuid:x>")
        record = article_record(article)
        expected = dataclasses.asdict(article)
        # the one difference: every counter key is present (null where the page lacks it)
        expected["statistics"] = {key: (article.statistics or {}).get(key) for key in STATISTICS_KEYS}
        assert record == expected
        assert record["images"] and validation_errors(record) == []
        assert bool(record["comments"]) == name.startswith("article-legacy")  # the legacy page renders 115


def test_row_defaults_statistics_object_and_comments_status() -> None:
    """A page without counters still gives a statistics object (every counter null); no comments: [] and
    "not_fetched"; the schema's vocabulary is the items module's."""
    record = article_record(Article(id=5))
    assert record["statistics"] == dict.fromkeys(STATISTICS_KEYS)
    assert (record["comments"], record["comments_status"]) == ([], "not_fetched")
    assert validation_errors(record) == []
    prop = article_validator().schema["properties"]["comments_status"]
    assert tuple(prop["enum"]) == COMMENTS_STATUSES
    assert all(
        f"{status} (" in prop["description"] or status in prop["description"] for status in COMMENTS_STATUSES
    )
    comment_props = article_validator().schema["properties"]["comments"]["items"]["properties"]
    assert list(comment_props) == [f.name for f in fields(Comment)]


def test_arrow_schema_follows_the_json_schema() -> None:
    import pyarrow as pa

    from habrmirror.schema import arrow_schema

    schema = arrow_schema()
    assert schema.names == list(article_validator().schema["properties"])
    assert schema.field("id").type == pa.int64()
    assert schema.field("statistics").type.names == list(STATISTICS_KEYS)
    assert schema.field("images").type.value_type.names == ["url", "alt", "archived", "error"]
    assert schema.field("warc").type.field("offset").type == pa.int64()
    table = pa.Table.from_pylist([good_record()], schema=schema)  # a real record fits it
    assert table.num_rows == 1 and table.column("title").to_pylist() == ["t"]


def test_a_titleless_post_is_a_valid_record() -> None:
    """Short posts (type "post", 2024+) carry no title: the record says null and still validates."""
    from pathlib import Path

    from habrmirror.pages import parse_article

    page = Path(__file__).parent / "fixtures" / "habr" / "article-tm-1064400-company-2026.html"
    article = parse_article("https://habr.com/ru/companies/ruvds/posts/1064400/", page.read_bytes())
    record = article_record(article)
    assert (record["type"], record["title"]) == ("post", None)
    assert validation_errors(record) == []
    assert "post" in article_validator().schema["properties"]["type"]["description"]
