"""One definition of the characters that change how text shows (storybook/text_controls.py), used by every output."""

from __future__ import annotations

import pytest

from storybook.render.charts import drawable
from storybook.render.expressions import as_text
from storybook.render.sandbox import without_controls
from storybook.review.safe import escape_html, escape_markdown, visible_controls
from storybook.text_controls import CONTROLS, TERMINAL_CONTROLS

HOSTILE = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9b", "\u200e", "\u200f", "\u202e", "\u2066", "\u2069"]


@pytest.mark.parametrize("char", HOSTILE)
def test_every_output_drops_or_shows_each_control(char: str) -> None:
    text = f"a{char}b"
    for cleaned in (without_controls(text), escape_html(text), escape_markdown(text), as_text(text),
                    drawable(text)):
        assert char not in cleaned and "a" in cleaned and "b" in cleaned
    shown = visible_controls(text)
    assert char not in shown and shown.startswith("a\\") and shown.endswith("b")


def test_tab_and_newline_stay_where_lines_are_kept() -> None:
    assert CONTROLS.sub("", "a\tb\nc\rd") == "a\tb\nc\rd"
    assert TERMINAL_CONTROLS.sub("", "a\tb\nc\rd") == "a\tb\ncd"  # a carriage return overwrites a terminal line


def test_one_line_outputs_turn_breaks_into_spaces() -> None:
    assert drawable("a\nb\u2028c") == "a b c"
    assert as_text("a\n\nb") == "a b"
