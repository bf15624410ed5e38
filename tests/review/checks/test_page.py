"""Checks of the built page (review/checks/page.py): the reading grade of the page and of its one-page summary,
each recorded and held against the project's target. Rendering and alt text in a whole check run are tested in
tests/review/test_check.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from storybook.render.pages import RenderedStory
from storybook.review.checks.findings import CheckReport, Collector
from storybook.review.checks.page import built_page_readability
from storybook.review.readability import page_readability
from storybook.sources.loader import StorySource, load_story
from tests.stores import story, write_project

PLAIN = "<main><p>The model finds most cases. It misses a few. A nurse checks each one.</p></main>"
HARD = ("<main><p>Notwithstanding considerable methodological heterogeneity, the aforementioned discriminative "
        "characteristics demonstrate substantially comparable generalisation performance across institutionally "
        "differentiated operational environments.</p></main>")
EVALUATION = {"artifact": "evaluation/scored.csv", "positive_means": "has it", "negative_means": "does not",
              "threshold": 0.5}


@pytest.fixture
def loaded(tmp_path: Path) -> StorySource:
    metrics = [{"key": "k", "label": "K", "kind": "other"}]
    root = write_project(tmp_path / "project", {"s": story("m", "champion", metrics, EVALUATION)})
    return load_story(root, root / "stories" / "s")


def _checked(loaded: StorySource, max_grade: float | None) -> CheckReport:
    report = CheckReport(loaded.directory.parents[1], max_grade=max_grade)
    page = RenderedStory("s", PLAIN, {}, pages={"s.summary.html": HARD, "s.compliance.html": HARD})
    built_page_readability(Collector(report), report, loaded, page)
    return report


def test_both_grades_are_recorded_and_only_the_one_above_the_target_warns(loaded: StorySource) -> None:
    report = _checked(loaded, 10)
    measured = report.readability["s"]
    assert sorted(measured) == ["page", "summary"]   # the compliance version is not a reader's page
    assert measured["page"] == page_readability(PLAIN) and measured["summary"] == page_readability(HARD)
    assert measured["page"].grade <= 10 < measured["summary"].grade
    (finding,) = report.findings
    assert (finding.severity, finding.code, Path(finding.file).name) == ("warning", "page-readability", "story.yaml")
    assert finding.message.startswith(f"the built summary reads at grade {measured['summary'].grade:.1f}, above "
                                      "the project's readability.max_grade of 10")


def test_without_a_target_the_grades_are_recorded_and_nothing_warns(loaded: StorySource) -> None:
    report = _checked(loaded, None)
    assert sorted(report.readability["s"]) == ["page", "summary"] and report.findings == []
