"""Untrusted Markdown to safe HTML: CommonMark (markdown-it-py), then an explicit nh3 allowlist."""

from __future__ import annotations

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

_md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _shift_headings(tokens: list[Any]) -> None:
    """Author headings start below the page's own: '#' becomes h3, so the outline stays in order."""
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = min(6, int(token.tag[1]) + 2)
            token.tag = f"h{level}"


def sanitise(html: str) -> str:
    """Keep only the allowlisted tags, attributes and URL schemes. Idempotent."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style", "svg", "math", "iframe", "object", "embed", "template", "noscript"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        strip_comments=True,
        link_rel="noopener noreferrer",
    )


def markdown_to_html(text: str) -> str:
    tokens = _md.parse(text)
    _shift_headings(tokens)
    html = _md.renderer.render(tokens, _md.options, {})
    return sanitise(html)
