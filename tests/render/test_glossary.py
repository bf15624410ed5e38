"""Linking glossary terms in rendered HTML: first use only, never inside tags, links, code or headings, and
nothing an author writes (in Markdown or in a glossary entry) can get through as HTML."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from jinja2 import Environment

from storybook.analyse.glossary import Term, TermOverride, build_glossary
from storybook.analyse.plain import Vocabulary
from storybook.render.glossary import link_terms, render_with_glossary, terms_used
from storybook.render.markdown import markdown_to_html
from storybook.render.pages import page_environment
from storybook.sources.sections import HEADINGS

WORDS = Vocabulary(unit="patients", positive="have a malignant tumour", negative="have a harmless tumour",
                   flagged="put at the front of the queue")
TERMS = build_glossary(WORDS)


def _term(name: str, *also: str) -> Term:
    return next(t for t in build_glossary(WORDS, story={name: TermOverride("x", also=also)})
                if t.name == name)


def _links(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<a class="term" href="#([^"]+)">([^<]*)</a>', html)


def test_first_use_only_in_document_order() -> None:
    html = "<p>The recall is high.</p><p>Recall again, and the threshold, and thresholds.</p>"
    linked, used = link_terms(html, TERMS)
    assert _links(linked) == [("term-recall", "recall"), ("term-threshold", "threshold")]
    assert [t.name for t in used] == ["recall", "threshold"]
    assert linked.replace('<a class="term" href="#term-recall">recall</a>', "recall").replace(
        '<a class="term" href="#term-threshold">threshold</a>', "threshold") == html


def test_plurals_other_spellings_case_and_whole_words_only() -> None:
    html = ("<p>Recalled items and precisionist views.</p><p>Two False\n  Alarms and the sensitivity.</p>"
            "<p>cross-validated, non-recall</p>")
    linked, _ = link_terms(html, TERMS)
    assert _links(linked) == [("term-false-positive", "False\n  Alarms"), ("term-recall", "sensitivity"),
                              ("term-cross-validation", "cross-validated")]


def test_longest_spelling_wins_and_consumes_its_words() -> None:
    terms = [_term("false positive rate"), *TERMS]
    linked, _ = link_terms("<p>The false positive rate, then a false positive.</p>", terms)
    assert _links(linked) == [("term-false-positive-rate", "false positive rate"),
                              ("term-false-positive", "false positive")]


def test_never_inside_links_code_headings_or_marked_sections() -> None:
    html = ('<h2>Recall</h2><a href="#x">recall</a><code>recall</code><pre>recall</pre><nav>recall</nav>'
            "<details><summary>recall</summary></details>"
            '<section data-no-glossary><section><p>recall</p></section><p>recall</p></section>'
            "<p><a href='#y'><em>recall</em></a> then <strong>recall</strong></p>")
    linked, _ = link_terms(html, TERMS)
    assert _links(linked) == [("term-recall", "recall")]
    assert linked.endswith('then <strong><a class="term" href="#term-recall">recall</a></strong></p>')


def test_tags_attributes_comments_and_raw_text_are_copied_unchanged() -> None:
    html = ('<!-- recall --><img alt="recall" src="a.svg"><p title="threshold">x</p>'
            "<script>var recall = 1;</script><style>.recall{}</style><p>recall</p>")
    linked, _ = link_terms(html, TERMS)
    assert linked.startswith('<!-- recall --><img alt="recall" src="a.svg"><p title="threshold">x</p>'
                             "<script>var recall = 1;</script><style>.recall{}</style>")
    assert _links(linked) == [("term-recall", "recall")]


def test_entities_are_never_split_or_matched_into() -> None:
    terms = [_term("amp"), _term("lt"), *TERMS]
    html = "<p>R&amp;D &lt;recall&gt; &quot;amp&quot;</p>"
    linked, _ = link_terms(html, terms)
    assert linked == ('<p>R&amp;D &lt;<a class="term" href="#term-recall">recall</a>&gt; "'
                      '<a class="term" href="#term-amp">amp</a>"</p>')
    assert "term-lt" not in linked


def test_hostile_markdown_stays_sanitised_once_linked() -> None:
    markdown = ('Recall <script>alert("recall")</script> [recall](javascript:alert(1)) '
                '<a href="https://e.org" onclick="x()">threshold</a> `recall` '
                '<span data-no-glossary="1">precision</span> <img src=x onerror="alert(\'recall\')">')
    html = markdown_to_html(markdown)
    linked, _ = link_terms(html, TERMS)
    assert "<script" not in linked and "onerror" not in linked and "onclick" not in linked
    assert "href=\"javascript" not in linked and "data-no-glossary" not in linked
    # Only the first plain "Recall" and the author's untouched "precision" text become our links.
    assert _links(linked) == [("term-recall", "Recall"), ("term-precision", "precision")]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def test_a_hostile_glossary_entry_cannot_inject_html() -> None:
    evil = '<img src=x onerror=alert(1)>"><script>alert(2)</script>'
    terms = build_glossary(WORDS, story={"recall": TermOverride(evil, evil, also=(evil,))})
    env = page_environment(None)
    page = env.from_string('<main><p>{{ text }}</p>{% include "_glossary.html" %}</main>')
    html = render_with_glossary(page, {"text": f"recall and {evil}", "headings": HEADINGS}, terms)
    parser = _Tags()
    parser.feed(html)
    assert "script" not in parser.tags and "img" not in parser.tags
    assert "&lt;script&gt;" in html
    # The hostile spelling matched only as escaped text: its link holds text, never markup.
    for _, text in _links(html):
        assert "<" not in text


def test_render_with_glossary_lists_only_used_terms_alphabetically() -> None:
    env = page_environment(None)
    page = env.from_string('<main><p>{{ text }}</p>{% if glossary %}{% include "_glossary.html" %}{% endif %}'
                           "</main>")
    html = render_with_glossary(page, {"text": "The threshold decides; recall follows.", "headings": HEADINGS},
                                TERMS)
    assert re.findall(r'<dt><span id="([^"]+)">', html) == ["term-recall", "term-threshold"]
    assert _links(html) == [("term-threshold", "threshold"), ("term-recall", "recall")]
    section = html.split('<section id="glossary"', 1)[1]
    assert '<a class="term"' not in section  # nothing is linked inside the glossary itself


def test_no_glossary_section_means_no_links() -> None:
    page = Environment(autoescape=True).from_string("<main><p>{{ text }}</p></main>")
    assert render_with_glossary(page, {"text": "recall"}, TERMS) == "<main><p>recall</p></main>"
    assert terms_used("<p>nothing here</p>", TERMS) == []
