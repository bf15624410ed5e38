"""Untrusted Markdown to safe HTML: CommonMark (markdown-it-py), then an explicit nh3 allowlist."""

from __future__ import annotations

import re
from typing import Any

import nh3
from markdown_it import MarkdownIt

__all__ = ["ALLOWED_TAGS", "markdown_to_html", "sanitise"]

ALLOWED_TAGS = {
    "p", "a", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "hr", "br", "del", "s", "sub", "sup", "abbr",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"scope"}, "td": set[str](), "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}
# An HTML parser drops one newline right after <pre>; nh3's serialiser does not write it back.
_PRE_NEWLINE = re.compile(r"(<pre(?:\s[^>]*)?>)\n")
_MAX_PASSES = 5

_md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _shift_headings(tokens: list[Any]) -> None:
    """Author headings start below the page's own: '#' becomes h3, so the outline stays in order."""
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = min(6, int(token.tag[1]) + 2)
            token.tag = f"h{level}"


def sanitise(html: str) -> str:
    """Keep only the allowlisted tags, attributes and URL schemes. Idempotent.

    One cleaning pass can leave a tree the HTML parser would not build (unwrapping a disallowed tag can nest
    a <p> in a <p>), so the browser would see something other than what was checked. Cleaning is repeated
    until the text stops changing, so what is returned is exactly what a second parse sees.
    """
    text = html
    for _ in range(_MAX_PASSES):
        cleaned = _clean_once(text)
        if cleaned == text:
            break
        text = cleaned
    return text


def _clean_once(html: str) -> str:
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style", "svg", "math", "iframe", "object", "embed", "template", "noscript"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        strip_comments=True,
        link_rel="noopener noreferrer",
    )
    # nh3 escapes '<' and '>' inside attribute values, so every '<pre' here is a real tag.
    return _PRE_NEWLINE.sub("\\1\n\n", cleaned)


def markdown_to_html(text: str) -> str:
    tokens = _md.parse(text)
    _shift_headings(tokens)
    html = _md.renderer.render(tokens, _md.options, {})
    return sanitise(html)
