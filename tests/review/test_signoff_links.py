"""signoffs.yaml is a file in the story's folder: a link there (one a pull request adds) is refused when sign-offs
are read and when ``storybook sign`` appends, so nothing outside the project is read as sign-offs, created or
appended to."""

from __future__ import annotations

from pathlib import Path

import pytest

from storybook.errors import SourceError
from storybook.review.signoff import append_signoff, read_signoffs


def _pinned_story(root: Path) -> Path:
    story = root / "project" / "stories" / "s"
    story.mkdir(parents=True)
    (root / "project" / "storybook.yaml").write_text("title: Stories\n")
    (story / "story.yaml").write_text("title: S\n")
    (story / "snapshot.json").write_text('{"version": 1}\n')
    return story


@pytest.mark.parametrize("target_exists", [True, False])
def test_a_linked_signoffs_file_is_refused_and_nothing_outside_is_written(tmp_path: Path,
                                                                          target_exists: bool) -> None:
    story = _pinned_story(tmp_path)
    outside = tmp_path / "outside.yaml"
    if target_exists:
        outside.write_text("[]\n")
    (story / "signoffs.yaml").symlink_to(outside)
    with pytest.raises(SourceError) as caught:
        append_signoff(story, name="Eve", role="lead")
    assert "signoffs.yaml is a link" in caught.value.message
    assert caught.value.location is not None and caught.value.location.path == story / "signoffs.yaml"
    assert outside.read_text() == "[]\n" if target_exists else not outside.exists()
    with pytest.raises(SourceError, match="is a link"):
        read_signoffs(story)


def test_a_regular_signoffs_file_is_still_appended_to(tmp_path: Path) -> None:
    story = _pinned_story(tmp_path)
    append_signoff(story, name="Eve", role="lead")
    assert [s.name for s in read_signoffs(story)] == ["Eve"]
