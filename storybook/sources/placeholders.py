"""The mark ``storybook new`` leaves where only people can write: a story holding it neither builds nor passes
``storybook check`` until every marked place is written.

The mark is plain text, so it shows in any editor and in ``git diff``: :data:`PLACEHOLDER` inside a story.yaml
value or comment, or on a line of a Markdown section.
"""

from __future__ import annotations

from pathlib import Path

from storybook.errors import Location, SourceError

__all__ = ["PLACEHOLDER", "placeholder_error", "placeholder_lines"]

PLACEHOLDER = "[storybook: to write]"
_HINT = "replace the line's placeholder with what people know (and delete the mark), then run storybook check"


def placeholder_lines(text: str) -> list[int]:
    """The 1-based lines of ``text`` that still hold the mark."""
    return [number for number, line in enumerate(text.splitlines(), start=1) if PLACEHOLDER in line]


def placeholder_error(path: Path, line: int) -> SourceError:
    """The located error of one marked line (the same words for the build and for ``storybook check``)."""
    return SourceError(f"{path.name} still holds a placeholder from storybook new: people must write this",
                       location=Location(path, line), hint=_HINT)
