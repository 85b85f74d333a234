"""HTML -> Markdown / plain text of article bodies (``habrmirror.pages.markdown``): one test per construct on
invented HTML, then checks that real fixture constructs survive."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import html as lxml_html

from habrmirror.pages import parse_article
from habrmirror.pages.markdown import image_source, to_markdown, to_text

BASE = "https://habr.com/ru/articles/1/"
FIXTURES = Path(__file__).parent / "fixtures" / "habr"


def md(fragment: str) -> str:
    return to_markdown(lxml_html.fragment_fromstring(fragment, create_parent="div"), BASE)


def text(fragment: str) -> str:
    return to_text(lxml_html.fragment_fromstring(fragment, create_parent="div"), BASE)


def test_link_is_absolute() -> None:
    assert md('<p>See <a href="/ru/articles/2/">the other post</a>.</p>') == (
        "See [the other post](https://habr.com/ru/articles/2/)."
    )


def test_anchor_without_href_keeps_only_text() -> None:
    assert md('<p>a<a name="habracut"></a> b</p>') == "a b"


def test_image_prefers_data_src_over_placeholder() -> None:
    assert md('<p><img src="/img/px.gif" data-src="https://habrastorage.org/x.png" alt="A [b]"></p>') == (
        "![A \\[b\\]](https://habrastorage.org/x.png)"
    )


def test_image_from_srcset_drops_the_resize_proxy() -> None:
    img = lxml_html.fragment_fromstring(
        '<img src="./Page_files/a.jpg" srcset="https://habrastorage.org/r/w780/getpro/a.jpg 780w, '
        'https://habrastorage.org/r/w1560/getpro/a.jpg 1560w">'
    )
    assert image_source(img, BASE) == "https://habrastorage.org/getpro/a.jpg"


def test_local_copy_without_real_url_is_dropped() -> None:
    assert md('<p>x<img src="./Page_files/a.png">y</p>') == "xy"


def test_formula_keeps_tex() -> None:
    assert md('<p>z = <img class="formula inline" source="a+bi" src="./x_files/f.svg"></p>') == "z = $a+bi$"
    assert "$$e^{i\\pi}+1=0$$" in md('<p><img class="formula" source="e^{i\\pi}+1=0" src="x.svg"></p>')


def test_code_block_with_language() -> None:
    html = (
        '<pre><code class="python hljs"><span class="hljs-keyword">def</span> f():\n    return 1</code></pre>'
    )
    assert md(html) == "```python\ndef f():\n    return 1\n```"
    assert text(html) == "def f():\n    return 1"


def test_code_block_fence_longer_than_content_backticks() -> None:
    assert md("<pre><code>a ``` b</code></pre>") == "````\na ``` b\n````"


def test_inline_code() -> None:
    assert md("<p>run <code>rm -rf *</code> now</p>") == "run `rm -rf *` now"


def test_table() -> None:
    html = "<table><tr><th>a</th><th>b|c</th></tr><tr><td><b>1</b></td><td>2</td></tr></table>"
    assert md(html) == "| a | b\\|c |\n|---|---|\n| **1** | 2 |"
    assert text(html) == "a\tb|c\n1\t2"


def test_emphasis() -> None:
    assert md("<p><strong> bold </strong>and <em>it</em> <s>gone</s> x_y*z</p>") == (
        " **bold** and *it* ~~gone~~ x\\_y\\*z".strip()
    )


def test_lists_nested_and_ordered() -> None:
    html = "<ul><li>one<ul><li>one.a</li></ul></li><li>two</li></ul><ol><li>first</li><li>second</li></ol>"
    assert md(html) == "- one\n  - one.a\n- two\n\n1. first\n2. second"


def test_headings() -> None:
    assert md("<h2>Title <em>x</em></h2><h3>Sub</h3>") == "## Title *x*\n\n### Sub"
    assert text("<h2>Title</h2><p>body</p>") == "Title\n\nbody"


def test_blockquote() -> None:
    assert md("<blockquote><p>one</p><p>two</p></blockquote>") == "> one\n>\n> two"


def test_br_separated_legacy_paragraphs() -> None:
    html = "First line<br>same paragraph<br><br>\n<br>Second paragraph"
    assert md(html) == "First line  \nsame paragraph\n\nSecond paragraph"
    assert text(html) == "First line\nsame paragraph\n\nSecond paragraph"


def test_line_start_markers_are_escaped() -> None:
    assert md("<p># not a heading</p><p>1. not a list</p>") == "\\# not a heading\n\n\\1. not a list"


def test_scripts_and_styles_are_dropped() -> None:
    assert md("<p>a</p><script>var x = 1;</script><style>p{}</style><p>b</p>") == "a\n\nb"


def test_spoiler_and_figure() -> None:
    html = (
        '<details class="spoiler"><summary>Hidden</summary><div class="spoiler__content"><p>inside</p></div></details>'
        '<figure><img src="https://e.com/i.png" alt="x"><figcaption>Caption</figcaption></figure>'
    )
    assert md(html) == "Hidden\n\ninside\n\n![x](https://e.com/i.png)\n\nCaption"


def test_youtube_embed_becomes_a_link() -> None:
    assert md('<amp-youtube data-videoid="abc123"></amp-youtube>') == (
        "[https://www.youtube.com/watch?v=abc123](https://www.youtube.com/watch?v=abc123)"
    )


# -- real fixtures ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def euler():
    body = (FIXTURES / "article-tm-724768-browsersaved-2023.html").read_bytes()
    return parse_article("https://habr.com/ru/articles/724768/", body)


def test_real_code_block_survives_as_fenced_code(euler) -> None:
    # <pre><code class="javascript hljs"><span class="hljs-string">'4c1j...'</span>\n<span ...>'ab'</span>.repeat(...)
    assert (
        "```javascript\n'4c1j5b2p0cv4w1x8rx2y39umgw5q85s7uraqbjfdppa0q7nieieqe9noc4cvafzf'\n'ab'.repeat(32)\n```"
        in (euler.text_markdown)
    )
    assert "```\n(a, b) => a + b\n```" in euler.text_markdown  # &gt; decoded, no language class


def test_real_headings_links_quotes(euler) -> None:
    assert "\n## Всё из нуля\n" in euler.text_markdown
    assert "[лямбда-исчисление](https://ru.wikipedia.org/wiki/" in euler.text_markdown
    assert "\n> Красота - это сложность, порожденная простотой\n" in euler.text_markdown


def test_real_plain_text_has_no_markup(euler) -> None:
    assert "```" not in euler.text and "](" not in euler.text and "## " not in euler.text
    assert "Красота - это сложность, порожденная простотой" in euler.text


def test_real_amp_list_and_images() -> None:
    article = parse_article("u", (FIXTURES / "article-amp-483202.html").read_bytes())
    assert (
        "![](https://habrastorage.org/webt/uf/fc/qb/uffcqbxqp_7jy3xadbybzp3l19u.png)" in article.text_markdown
    )
    assert "\n- " in article.text_markdown  # <ul><li> lists of the AMP body
