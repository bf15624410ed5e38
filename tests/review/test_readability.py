"""storybook.review.readability: the running text a reader meets on a page (what is looked up is left out), and
its reading grade measured with textstat on exactly that text."""

from __future__ import annotations

import pytest
import textstat  # type: ignore[import-untyped]

from storybook.review.readability import page_readability, page_text

PAGE = """<!doctype html><html><head><title>Not read</title><style>p { color: red }</style></head><body>
<nav><a href="#a">Contents</a></nav>
<header>Site banner</header>
<main>
  <h1>Which scans come first</h1>
  <p>The model finds most
     tumours.<br>It misses a few.</p>
  <ul><li>Ask a specialist</li><li>Check twice</li></ul>
  <table><tr><td>0.93 recall</td></tr></table>
  <figure><svg><text>chart label</text></svg><figcaption>A caption</figcaption></figure>
  <section id="provenance"><p>run 123abc, metric test_recall</p></section>
  <details><summary>Technical table</summary><p>Hidden detail.</p></details>
  <div id="glossary"><dl><dt>Recall</dt><dd>A share.</dd></dl></div>
  <p>Read it with care &amp; calm.<img src="x.png"></p>
</main>
<footer>Built by storybook</footer>
</body></html>"""


def test_page_text_keeps_the_running_text_of_main_one_paragraph_a_line() -> None:
    assert page_text(PAGE) == ("Which scans come first\n"
                               "The model finds most tumours.\n"
                               "It misses a few.\n"
                               "Ask a specialist\n"
                               "Check twice\n"
                               "Read it with care & calm.")


def test_text_outside_main_is_never_read() -> None:
    assert page_text("<p>Outside.</p><main><p>Inside.</p></main><p>After.</p>") == "Inside."
    assert page_text("<p>No main at all.</p>") == ""


def test_the_grade_is_textstats_on_that_text_with_each_line_ended_as_a_sentence() -> None:
    measured = page_readability(PAGE)
    # Headings and list items get a full stop; lines that end in one keep theirs.
    text = ("Which scans come first.\nThe model finds most tumours.\nIt misses a few.\nAsk a specialist.\n"
            "Check twice.\nRead it with care & calm.")
    assert measured.grade == pytest.approx(textstat.flesch_kincaid_grade(text))
    assert measured.reading_ease == pytest.approx(textstat.flesch_reading_ease(text))
    # Counted by hand as textstat counts: 4 + 5 + 4 + 3 + 2 + 5 words ("&" is punctuation, not a word), and
    # five sentences (textstat does not count one of two words or fewer, "Check twice.").
    assert (measured.words, measured.sentences) == (23, 5)


def test_a_page_of_short_plain_sentences_reads_easier_than_one_of_long_technical_ones() -> None:
    plain = page_readability("<main><p>The model finds most cases. It misses a few. A person checks each one.</p>"
                             "</main>")
    hard = page_readability("<main><p>Discriminative performance, quantified by the area under the receiver "
                            "operating characteristic curve, demonstrates considerable heterogeneity across "
                            "demographically stratified subpopulations.</p></main>")
    assert plain.grade < 6 < 14 < hard.grade
    assert plain.reading_ease > 60 > 30 > hard.reading_ease
