"""storybook.review.safe: story text made inert on its way into a pull-request comment (GitHub Markdown) and a
CI log. Checked with a real CommonMark renderer (markdown-it-py): escaped text renders as the same words, with
no HTML, link, image, emphasis, heading or list of its own; mentions ping nobody; no line is a workflow command."""

from __future__ import annotations

import html
import re

import pytest
from markdown_it import MarkdownIt

from storybook.review.safe import ZWJ, escape_html, escape_markdown, for_terminal, no_workflow_commands

HOSTILE = [
    "<script>alert(1)</script>",
    "[click](https://evil.example) and ![pixel](https://evil.example/p.png)",
    "*bold* _it_ `code` ~~gone~~ | a | b |",
    "# Heading",
    "> quoted",
    "- item",
    "+ item",
    "1. first",
    "2) second",
    "=== underline",
    "a \\* b {c} (d)",
    "<https://autolink.example>",
    "https://bare.example/a_b_c",
]


def _rendered_text(markdown: str) -> str:
    """What a reader sees: the rendered HTML's text, with the ZWJ a mention carries removed."""
    rendered = MarkdownIt("commonmark").render(markdown)
    return html.unescape(re.sub(r"<[^>]+>", "", rendered)).replace(ZWJ, "").strip()


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_text_renders_as_itself_and_nothing_more(text: str) -> None:
    rendered = MarkdownIt("commonmark").render(escape_markdown(text))
    assert rendered.startswith("<p>") and rendered.count("<") == 2  # one paragraph: <p> and </p>, nothing else
    assert _rendered_text(escape_markdown(text)) == text


def test_comments_are_removed_even_unclosed() -> None:
    assert escape_markdown("seen <!-- hidden --> too") == "seen too"
    assert escape_markdown("seen <!-- hidden to the end") == "seen"


def test_mentions_ping_nobody_but_read_the_same() -> None:
    escaped = escape_markdown("ask @team or @octocat, not me@example")
    assert "@team" not in escaped and "@octocat" not in escaped
    assert escaped.replace(ZWJ, "") == "ask @team or @octocat, not me@example"


def test_a_block_keeps_its_lines_and_no_line_is_a_workflow_command() -> None:
    escaped = escape_markdown("first\n::error::pwned\n  ::set-output name=x::y", inline=False)
    lines = escaped.split("\n")
    assert len(lines) == 3 and not any(line.lstrip().startswith("::") for line in lines)
    assert escape_markdown("a\nb") == "a b"  # inline: one line


def test_workflow_commands_are_broken_only_at_the_start_of_a_line() -> None:
    assert no_workflow_commands("::warning::x\n  ::error::y\nkeep a::b") == (
        f"{ZWJ}::warning::x\n  {ZWJ}::error::y\nkeep a::b")


def test_html_and_terminal_escapes() -> None:
    assert escape_html('<a href="x">\'&\'</a>') == "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"
    assert for_terminal("red \x1b[31m\n::error::x") == f"red \\x1b[31m\n{ZWJ}::error::x"
