"""Checks of ``{{ expressions }}`` and the values they reference (review/checks/references.py): each error on its
section's line, and an alias the pinned registry data does not hold, with the likely one."""

from __future__ import annotations

from pathlib import Path

import pytest

from storybook.resolve.resolved import ModelVersionRecord, ResolvedRun, ResolvedStory
from storybook.review.checks.findings import CheckReport, Collector, Finding
from storybook.review.checks.references import alias_in_snapshot, expressions
from storybook.sources.loader import StorySource, load_story
from tests.stores import story, write_project

EVALUATION = {"artifact": "evaluation/scored.csv", "positive_means": "has it", "negative_means": "does not",
              "threshold": 0.5}
RUN = ResolvedRun("r" * 32, "bold-run", "screening", 1_764_547_200_000, None, {}, {}, {})


@pytest.fixture
def loaded(tmp_path: Path) -> StorySource:
    metrics = [{"key": "k", "label": "K", "kind": "other"}]
    root = write_project(tmp_path / "project", {"s": story("screening", "champion", metrics, EVALUATION)})
    return load_story(root, root / "stories" / "s")


def _pinned(*aliases: tuple[str, ...]) -> ResolvedStory:
    own, *others = [ModelVersionRecord("screening", number, "r" * 32, 0, names)
                    for number, names in enumerate(aliases, 1)]
    return ResolvedStory(source="sqlite:///mlflow.db", run=RUN, model=own, versions=tuple(others))


def _expressions(loaded: StorySource, text: str) -> list[Finding]:
    path = loaded.directory / "caveats-and-recommendations.md"
    path.write_text(text)
    again = load_story(loaded.directory.parents[1], loaded.directory)
    report = CheckReport(loaded.directory.parents[1])
    expressions(Collector(report), again, None)
    return report.findings


def test_well_formed_expressions_give_no_finding(loaded: StorySource) -> None:
    assert _expressions(loaded, 'Read it.\nIt finds {{ metric("k") | percent }} of them.\n') == []


def test_each_bad_expression_is_an_error_on_its_own_line(loaded: StorySource) -> None:
    found = _expressions(loaded, 'Fine.\nBad {{ metric( }} here.\nAlso {{ nosuch.x }} and {{ claim("c9") }}.\n')
    assert [(f.line, f.code) for f in found] == [(2, "expression"), (3, "expression"), (3, "reference")]
    assert found[0].message.startswith("expression syntax:")
    assert found[1].message.startswith("unknown name 'nosuch'")
    assert found[2].message.startswith("claim 'c9' is not available to this story")
    assert {Path(f.file).name for f in found} == {"caveats-and-recommendations.md"}


def test_an_unclosed_expression_is_an_error(loaded: StorySource) -> None:
    (finding,) = _expressions(loaded, "Fine.\nIt finds {{ metric(\"k\") of them.\n")
    assert finding.code == "expression" and finding.severity == "error"


def test_an_alias_no_pinned_version_carries_is_named_with_the_likely_one(loaded: StorySource) -> None:
    report = CheckReport(loaded.directory.parents[1])
    alias_in_snapshot(Collector(report), loaded, _pinned(("champoin",), ("challenger",)))
    (finding,) = report.findings
    assert (finding.code, finding.line) == ("reference", loaded.yaml.location(("model", "alias")).line)
    assert finding.message == ("no version of 'screening' carries the alias 'champion' in the pinned registry "
                               "data (aliases there: challenger, champoin) (fix: did you mean 'champoin'?)")


def test_an_alias_a_pinned_version_carries_gives_no_finding(loaded: StorySource) -> None:
    report = CheckReport(loaded.directory.parents[1])
    alias_in_snapshot(Collector(report), loaded, _pinned(("challenger",), ("champion", "production")))
    assert report.findings == []
