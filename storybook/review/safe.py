"""Story text on its way into Markdown, HTML and CI logs, made inert.

Story text is untrusted. In a pull-request comment it must not inject HTML, hidden content (HTML comments),
links or images, or ping people with ``@mentions``; in a CI log no line may start with ``::`` (a workflow
command).
"""

from __future__ import annotations

import html
import re

from storybook.text_controls import CONTROLS, TERMINAL_CONTROLS

__all__ = ["ZWJ", "escape_html", "escape_markdown", "for_terminal", "no_workflow_commands", "visible_controls"]

ZWJ = "\u200d"  # zero-width joiner: "@\u200dteam" reads as @team but pings nobody
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()|~:])")
_LINE_START = re.compile(r"(?m)^(\s*)([#>+=-])")
_ORDERED = re.compile(r"(?m)^(\s*\d+)([.)])")
_MENTION = re.compile(r"@(?=[A-Za-z0-9_-])")


def escape_markdown(text: str, *, inline: bool = True) -> str:
    """Plain text that renders as itself in GitHub Markdown: no HTML, comments, links, images or mentions.

    ``inline``: newlines become spaces (for table cells and single lines).
    """
    text = CONTROLS.sub("", _COMMENT.sub("", text))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    text = _MENTION.sub("@" + ZWJ, text)
    if inline:
        text = " ".join(text.split())
    text = _ORDERED.sub(r"\1\\\2", _LINE_START.sub(r"\1\\\2", text))
    return no_workflow_commands(text)


def escape_html(text: str) -> str:
    return html.escape(CONTROLS.sub("", text), quote=True)


def no_workflow_commands(text: str) -> str:
    """No line may start (after spaces) with ``::``, which a CI runner reads as a workflow command."""
    return re.sub(r"(?m)^(\s*):(?=:)", "\\1" + ZWJ + ":", text)


def visible_controls(text: str) -> str:
    """Every control character written out as an escape (ESC as ``\\x1b``), so it is shown, not obeyed;
    newlines and tabs stay."""
    return TERMINAL_CONTROLS.sub(lambda match: ascii(match.group())[1:-1], text)


def for_terminal(text: str) -> str:
    """Text from story files or MLflow made inert for a terminal and a CI log: control characters shown as
    escapes, and no line starting with a ``::`` workflow command."""
    return no_workflow_commands(visible_controls(text))
