"""storybook.review.checks.findings: what check reports, one finding per problem (a problem two checks find is
told once), each with the file as people and GitHub expect it (relative to the working folder) and its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from storybook.errors import ConfigError, Location, SourceError
from storybook.review.checks.findings import CheckReport, Collector, Finding, config_finding


def test_findings_are_gathered_once_each_with_their_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    report = CheckReport(root=tmp_path)
    found = Collector(report)
    story = tmp_path / "stories" / "s" / "story.yaml"
    found.add("error", Location(story, 7), "schema", "metrics.0.kind is wrong", hint="use recall")
    found.add("error", Location(story, 7), "build", "metrics.0.kind is wrong (fix: use recall)")  # the same
    found.add("warning", story.parent / "caveats.md", "prose", "a literal number")
    found.error(SourceError("no such column", hint="check the name"), "reference", fallback=story)
    assert report.findings == [
        Finding("error", "stories/s/story.yaml", 7, "schema", "metrics.0.kind is wrong (fix: use recall)"),
        Finding("warning", "stories/s/caveats.md", None, "prose", "a literal number"),
        Finding("error", "stories/s/story.yaml", None, "reference", "no such column (fix: check the name)"),
    ]
    assert [f.code for f in report.errors] == ["schema", "reference"] and len(report.warnings) == 1
    assert not report.ok and CheckReport(root=tmp_path).ok


def test_a_file_outside_the_working_folder_keeps_its_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    report = CheckReport(root=tmp_path)
    Collector(report).add("error", Location(tmp_path / "there" / "story.yaml", 2), "schema", "x")
    assert report.findings[0].file == (tmp_path / "there" / "story.yaml").as_posix()


def test_a_configuration_error_is_a_finding_on_storybook_yaml() -> None:
    assert config_finding(ConfigError("tracking_uri is not set", hint="set it")) == Finding(
        "error", "storybook.yaml", None, "config", "tracking_uri is not set (fix: set it)")
