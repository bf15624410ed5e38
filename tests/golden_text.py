"""The visible text of a built page, scrubbed of what changes from one build to the next (for the golden tests)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["page_text", "scrub", "section_texts"]

_HIDDEN = {"script", "style", "template", "head"}
_BLOCKS = {"p", "div", "section", "article", "header", "footer", "main", "nav", "aside", "li", "tr", "table",
           "h1", "h2", "h3", "h4", "h5", "h6", "figure", "figcaption", "details", "summary", "dt", "dd", "br",
           "blockquote", "pre", "ul", "ol", "dl", "caption", "thead", "tbody"}
_CELLS = {"td", "th"}


class _Text(HTMLParser):
    """Collects what a reader sees: text outside script/style/head, one block per line, cells split by ' | '.

    With ``sections``, only the text inside ``<section id=...>`` elements of those ids, each in ``by_section``.
    """

    def __init__(self, sections: frozenset[str] | None = None) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.by_section: dict[str, list[str]] = {}
        self._hidden = 0
        self._sections = sections
        self._open: str | None = None  # the wanted section being read
        self._depth = 0  # <section> elements open inside it

    def _add(self, text: str) -> None:
        if self._sections is None:
            self.parts.append(text)
        elif self._open is not None:
            self.by_section[self._open].append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section" and self._sections is not None:
            if self._open is not None:
                self._depth += 1
            elif dict(attrs).get("id") in self._sections:
                self._open = str(dict(attrs)["id"])
                self.by_section[self._open] = []
                self._depth = 0
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag in _BLOCKS:
            self._add("\n")
        elif tag in _CELLS:
            self._add(" | ")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self._add(f"\n[image: {alt}]\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "section" and self._open is not None:
            if self._depth == 0:
                self._open = None
                return
            self._depth -= 1
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCKS:
            self._add("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._add(data)


def _lines(parts: list[str]) -> str:
    lines = (" ".join(line.split()) for line in "".join(parts).splitlines())
    return "\n".join(line for line in lines if line and line != "|") + "\n"


def page_text(html: str) -> str:
    """The page's visible text: whitespace folded, one block per line, no blank lines."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return _lines(parser.parts)


def section_texts(html: str, ids: tuple[str, ...]) -> dict[str, str]:
    """The visible text of each ``<section id=...>`` of ``ids`` found on the page, as :func:`page_text`."""
    parser = _Text(frozenset(ids))
    parser.feed(html)
    parser.close()
    return {section: _lines(parts) for section, parts in parser.by_section.items()}


_SCRUBS = (
    (re.compile(r"\b[0-9a-f]{32}\b"), "<run-id>"),
    (re.compile(r"\b(?=[0-9]*[a-f])[0-9a-f]{12}\b"), "<run>"),  # a run id shortened to 12 characters
    (re.compile(r"\b\d{1,2} [A-Z][a-z]+ \d{4}, \d{2}:\d{2}( UTC)?"), "<time>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?( ?(UTC|Z|[+-]\d{2}:?\d{2}))?"), "<time>"),
    (re.compile(r"(?:file://|sqlite:///?)?/(?:tmp|private|home|root|work|var)/[^\s|,;)\"']*[^\s|,;)\"':.]"), "<path>"),
)


def scrub(text: str, dates: tuple[str, ...] = ()) -> str:
    """``text`` without run ids, timestamps, absolute paths and the given dates (e.g. the build's own day)."""
    for pattern, replacement in _SCRUBS:
        text = pattern.sub(replacement, text)
    for date in dates:
        text = text.replace(date, "<date>")
    return text
