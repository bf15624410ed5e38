"""Link the first use of each glossary term on a page to its entry, working on the rendered HTML's text.

This runs on the finished page: the author's Markdown has already been rendered and sanitised
(:mod:`storybook.render.markdown`) and placed into the trusted, autoescaping templates. So the order is sound:
author HTML is sanitised first, then our code adds links, and only ours.

The page is read as a sequence of tags and text. Tags, attributes, comments and the raw text of script and
style elements are copied unchanged; only text is changed. Text is left alone inside links, code, pre,
headings and other places where a link would be wrong (:data:`SKIP_TAGS`), and inside any element marked
``data-no-glossary`` (the glossary section itself). A text node with a match is unescaped, split around the
match and escaped again, so an entity such as ``&amp;`` is never split and cannot be matched into. The link's
text is the page's own words; its href is the entry's anchor, made only of letters, digits and dashes
(:func:`storybook.analyse.glossary.anchor_for`).

Matching is case-insensitive, on whole words (not inside a longer or hyphenated word), longest spelling first,
with an optional plural "s" or "es", and spaces in a spelling match any run of white space. Each term is
linked once: at its first use in document order.
"""

from __future__ import annotations

import html as html_module
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Template

from storybook.analyse.glossary import Term

__all__ = ["SKIP_TAGS", "link_terms", "render_with_glossary", "terms_used"]

SKIP_TAGS = frozenset({
    "a", "code", "pre", "kbd", "samp", "h1", "h2", "h3", "h4", "h5", "h6", "summary", "button", "label",
    "option", "select", "textarea", "title", "script", "style", "nav", "svg", "math", "head", "template",
})
_RAW_TEXT = frozenset({"script", "style", "textarea", "title"})
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
                   "track", "wbr"})
_TAG = re.compile(
    r"<!--.*?-->|<![^>]*>|<\?[^>]*>"
    r"|</?[A-Za-z][^\s/>]*(?:\s+(?:[^\s\"'>/=]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?|/))*\s*/?>",
    re.DOTALL)
_NAME = re.compile(r"</?([A-Za-z][^\s/>]*)")
_NO_GLOSSARY = re.compile(r"\sdata-no-glossary(?=[\s=/>])")


@dataclass
class _Walk:
    pattern: re.Pattern[str] | None
    lookup: Mapping[str, Term]
    link: bool
    done: set[str] = field(default_factory=set)
    used: list[Term] = field(default_factory=list)


def _pattern(terms: Sequence[Term]) -> tuple[re.Pattern[str] | None, dict[str, Term]]:
    lookup: dict[str, Term] = {}
    for term in terms:
        for spelling in term.spellings:
            key = " ".join(spelling.lower().split())
            if key:
                lookup.setdefault(key, term)
    if not lookup:
        return None, lookup
    alternatives = sorted(lookup, key=lambda s: (-len(s), s))
    body = "|".join(re.escape(s).replace(r"\ ", r"\s+") for s in alternatives)
    return re.compile(rf"(?<![\w-])({body})(?:es|s)?(?![\w-])", re.IGNORECASE), lookup


def _text(text: str, walk: _Walk) -> str:
    if walk.pattern is None:
        return text
    plain = html_module.unescape(text)
    pieces: list[str] = []
    position = 0
    for match in walk.pattern.finditer(plain):
        term = walk.lookup[" ".join(match.group(1).lower().split())]
        if term.anchor in walk.done:
            continue
        walk.done.add(term.anchor)
        walk.used.append(term)
        if walk.link:
            pieces.append(html_module.escape(plain[position:match.start()], quote=False))
            pieces.append(f'<a class="term" href="#{term.anchor}">'
                          f"{html_module.escape(match.group(0), quote=False)}</a>")
            position = match.end()
    if not pieces:
        return text
    pieces.append(html_module.escape(plain[position:], quote=False))
    return "".join(pieces)


def _walk(page: str, walk: _Walk) -> str:
    out: list[str] = []
    skipping: list[list[Any]] = []  # [tag name, depth of that name] for each element being skipped
    position = 0
    while position < len(page):
        match = _TAG.search(page, position)
        end = match.start() if match else len(page)
        if end > position:
            chunk = page[position:end]
            out.append(chunk if skipping else _text(chunk, walk))
        if match is None:
            break
        tag = match.group(0)
        out.append(tag)
        position = match.end()
        name_match = _NAME.match(tag)
        if name_match is None:
            continue  # a comment, doctype or processing instruction
        name = name_match.group(1).lower()
        if tag.startswith("</"):
            if skipping and skipping[-1][0] == name:
                skipping[-1][1] -= 1
                if skipping[-1][1] == 0:
                    skipping.pop()
            continue
        if name in _RAW_TEXT:
            close = re.compile(rf"</{name}\s*>", re.IGNORECASE).search(page, position)
            stop = close.end() if close else len(page)
            out.append(page[position:stop])
            position = stop
            continue
        if name in _VOID or tag.endswith("/>"):
            continue
        if skipping and skipping[-1][0] == name:
            skipping[-1][1] += 1
        elif name in SKIP_TAGS or _NO_GLOSSARY.search(tag):
            skipping.append([name, 1])
    return "".join(out)


def terms_used(page: str, terms: Sequence[Term]) -> list[Term]:
    """The terms whose spellings appear in the page's linkable text, in order of first use."""
    pattern, lookup = _pattern(terms)
    walk = _Walk(pattern, lookup, link=False)
    _walk(page, walk)
    return walk.used


def link_terms(page: str, terms: Sequence[Term]) -> tuple[str, list[Term]]:
    """The page with the first use of each term linked to ``#<anchor>``, and the terms linked, in order."""
    pattern, lookup = _pattern(terms)
    walk = _Walk(pattern, lookup, link=True)
    return _walk(page, walk), walk.used


def render_with_glossary(template: Template, context: Mapping[str, Any], terms: Sequence[Term]) -> str:
    """Render a page whose glossary section (``glossary`` in the context) lists only the terms it uses, each
    linked from its first use. A template without a glossary section (``id="glossary"``) gets no links, so
    no link ever points at nothing."""
    first = template.render({**context, "glossary": ()})
    used = terms_used(first, terms)
    if not used:
        return first
    listed = sorted(used, key=lambda term: term.name.lower())
    page = template.render({**context, "glossary": listed})
    if 'id="glossary"' not in page:
        return first
    linked, _ = link_terms(page, listed)
    return linked
