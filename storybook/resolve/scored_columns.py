"""The one located error for a column a story names that its scored set does not have (every task, every
version): the key and column asked for, the columns found, on the story.yaml line of that key, with the closest
column offered as the likely fix."""

from __future__ import annotations

import difflib

import pandas as pd

from storybook.errors import SourceError
from storybook.sources.loader import StorySource

__all__ = ["missing_column"]

_LISTED = 20


def missing_column(story: StorySource, frame: pd.DataFrame, path: tuple[str | int, ...], column: str,
                   subject: str) -> SourceError:
    """``path`` is the key below ``evaluation`` (e.g. ("label_column",)); ``subject`` names the set."""
    found = [str(name) for name in frame.columns]
    listed = ", ".join(repr(name) for name in found[:_LISTED]) + (
        f" and {len(found) - _LISTED} more" if len(found) > _LISTED else "")
    key = str(path[-1])
    close = difflib.get_close_matches(column, found, n=1)
    hint = f"did you mean {key}: {close[0]}?" if close else f"set {key} to one of the columns found"
    return SourceError(f"{key} {column!r} is not a column of {subject} (story {story.slug!r}); the columns found "
                       f"are {listed or 'none'}", location=story.yaml.location(("evaluation", *path)), hint=hint)
