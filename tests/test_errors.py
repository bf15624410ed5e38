"""storybook.errors: one hierarchy, each error a message for the person who fixes it (where, what, how to fix),
with the builtin a caller may expect (ValueError, LookupError, ConnectionError, OSError)."""

from __future__ import annotations

from pathlib import Path

import pytest

from storybook.errors import (
    ConfigError,
    ExpressionError,
    Location,
    LoggingError,
    PublishError,
    ReferenceNotFound,
    SourceError,
    StorybookError,
    StoryError,
    TrackingError,
    UnexpectedError,
)


def test_the_message_says_where_what_and_how_to_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    where = Location(tmp_path / "stories" / "s" / "story.yaml", 7)
    error = SourceError("metrics.0.kind: Input should be 'recall'", location=where, hint="use one of the kinds")
    assert str(error) == ("stories/s/story.yaml:7: metrics.0.kind: Input should be 'recall'\n"
                          "  fix: use one of the kinds")
    assert error.args == (str(error),)
    assert str(SourceError("no hint")) == "no hint"
    assert str(Location(tmp_path / "storybook.yaml")) == "storybook.yaml"  # no line: the file alone


def test_a_place_outside_the_working_folder_keeps_its_full_path(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    elsewhere = tmp_path / "other" / "story.yaml"
    assert str(Location(elsewhere, 3)) == f"{elsewhere}:3"


@pytest.mark.parametrize(("error", "parents"), [
    (ConfigError, (StorybookError,)),
    (SourceError, (StoryError, ValueError)),
    (ExpressionError, (StoryError, ValueError)),
    (ReferenceNotFound, (StoryError, LookupError)),
    (UnexpectedError, (StoryError,)),
    (TrackingError, (StorybookError, ConnectionError)),
    (LoggingError, (StorybookError, ValueError)),
    (PublishError, (StorybookError, OSError)),
])
def test_each_error_is_a_storybook_error_and_the_builtin_callers_expect(error: type[StorybookError],
                                                                       parents: tuple[type, ...]) -> None:
    raised = error("x")
    assert all(isinstance(raised, parent) for parent in parents)
    assert isinstance(raised, StorybookError)
    assert isinstance(raised, StoryError) == (error in (SourceError, ExpressionError, ReferenceNotFound,
                                                        UnexpectedError))


def test_an_unexpected_error_names_the_kind_only_and_keeps_the_traceback_for_debug() -> None:
    try:
        {"a": 1}["password=hunter2"]
    except KeyError as caught:
        error = UnexpectedError.from_exception(caught, doing="reading the scored set")
    assert error.message == ("unexpected error (KeyError) while reading the scored set; run with --debug for the "
                             "traceback")
    assert "hunter2" not in str(error)  # the exception's text may carry untrusted data
    assert "hunter2" in error.traceback and "Traceback (most recent call last)" in error.traceback
    assert error.hint is not None and "storybook bug" in error.hint
    assert UnexpectedError.from_exception(ValueError(), doing="").message.startswith("unexpected error (ValueError);")
