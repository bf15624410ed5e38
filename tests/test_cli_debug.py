"""``--debug`` shows the traceback of the error it reports, also for a story that failed while the build went on:
that failure is reported after it was caught, where ``traceback.format_exc()`` printed only "NoneType: None"."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from storybook.cli import app

runner = CliRunner()


def test_debug_shows_the_traceback_of_a_story_that_failed(tmp_path: Path) -> None:
    (tmp_path / "stories" / "broken").mkdir(parents=True)
    (tmp_path / "storybook.yaml").write_text("title: t\npdf: false\ntracking_uri: sqlite:///none.db\n")
    (tmp_path / "stories" / "broken" / "story.yaml").write_text("title: x\nunknown_key: 1\n")
    result = runner.invoke(app, ["--debug", "build", str(tmp_path), "--jobs", "1"])
    assert result.exit_code == 1, result.output
    assert "NoneType: None" not in result.output
    assert "Traceback (most recent call last):" in result.output
    assert "in load_story" in result.output  # the frames of the failure itself
    assert "stories/broken/story.yaml" in result.output
