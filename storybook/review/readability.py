"""How hard a built page is to read: the reading grade of the sentences a reader meets, generated and authored.

Measured with textstat (Flesch-Kincaid grade and Flesch reading ease) on the running text of a page's main
content. Tables, code, figures, the provenance and glossary appendices and navigation are left out: they are
looked up, not read. ``storybook check`` compares the grades with ``readability.max_grade`` in storybook.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

__all__ = ["PageReadability", "page_readability", "page_text"]

_SKIPPED_TAGS = {"table", "code", "pre", "figure", "nav", "script", "style", "header", "footer", "svg", "details"}
_SKIPPED_IDS = {"provenance", "glossary"}
_BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "dd", "dt", "blockquote", "section", "div", "br"}
_VOID = {"br", "img", "hr", "meta", "link", "input", "wbr", "source", "col", "area", "base", "embed", "track"}


class _Text(HTMLParser):
    """Collects the text inside <main>, skipping what is looked up rather than read."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._in_main = 0
        self._skip_depth = 0
        self._stack: list[bool] = []  # per open element: does it start a skipped region?

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            if tag == "br":
                self.parts.append("\n")
            return
        ids = {value for name, value in attrs if name == "id"}
        skipped = tag in _SKIPPED_TAGS or bool(ids & _SKIPPED_IDS)
        self._stack.append(skipped)
        if skipped:
            self._skip_depth += 1
        if tag == "main":
            self._in_main += 1
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or not self._stack:
            return
        if self._stack.pop():
            self._skip_depth -= 1
        if tag == "main":
            self._in_main -= 1
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_main and not self._skip_depth:
            self.parts.append(data.replace("\n", " "))  # source line breaks inside a paragraph are spaces


def page_text(html: str) -> str:
    """The running text of a page's <main>: one paragraph per line, headings included."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (re.sub(r"\s+", " ", line).strip() for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)


@dataclass(frozen=True)
class PageReadability:
    grade: float  # Flesch-Kincaid: the school grade a reader needs (US grades; 8 is about age 13-14)
    reading_ease: float  # Flesch: 60-70 plain English, 30-50 hard, below 30 very hard
    words: int
    sentences: int


def page_readability(html: str) -> PageReadability:
    import textstat  # type: ignore[import-untyped]  # no type information shipped

    text = page_text(html)
    # Headings and list items rarely end in a full stop; end them so they count as sentences of their own.
    text = "\n".join(line if line[-1] in ".!?:;" else line + "." for line in text.splitlines())
    return PageReadability(grade=float(textstat.flesch_kincaid_grade(text)),
                           reading_ease=float(textstat.flesch_reading_ease(text)),
                           words=int(textstat.lexicon_count(text)), sentences=int(textstat.sentence_count(text)))
