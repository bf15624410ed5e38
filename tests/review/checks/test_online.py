"""With --online (review/checks/online.py): each value MLflow no longer agrees with is an error on its line of the
pinned snapshot.json, with both values and the pin command as the fix."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from storybook.resolve.resolved import Figure, ModelVersionRecord, Provenance, ResolvedRun, ResolvedStory
from storybook.resolve.snapshot import snapshot_path, write_snapshot
from storybook.review.checks.findings import CheckReport, Collector, Finding
from storybook.review.checks.online import drift
from storybook.sources.loader import StorySource, load_story
from tests.stores import story, write_project

EVALUATION = {"artifact": "evaluation/scored.csv", "positive_means": "has it", "negative_means": "does not",
              "threshold": 0.5}
RUN_ID = "r" * 32


def _figure(key: str, value: float) -> Figure:
    return Figure(key, value, Provenance("sqlite:///mlflow.db", RUN_ID, "metric", key))


PINNED = ResolvedStory(
    source="sqlite:///mlflow.db",
    run=ResolvedRun(RUN_ID, "bold-run", "screening", 0, None,
                    {"recall": _figure("recall", 0.9), "auc": _figure("auc", float("nan"))}, {"depth": "3"}, {}),
    model=ModelVersionRecord("screening", 2, RUN_ID, 0, ("champion",)))


@pytest.fixture
def pinned(tmp_path: Path) -> StorySource:
    """A story whose snapshot.json holds PINNED."""
    metrics = [{"key": "recall", "label": "Recall", "kind": "other"}]
    root = write_project(tmp_path / "project", {"s": story("screening", "champion", metrics, EVALUATION)})
    loaded = load_story(root, root / "stories" / "s")
    write_snapshot(loaded, PINNED, source="sqlite:///mlflow.db")
    return loaded


def _drift(loaded: StorySource, fresh: ResolvedStory) -> list[Finding]:
    report = CheckReport(loaded.directory.parents[1])
    drift(Collector(report), loaded, PINNED, fresh)
    return report.findings


def _line(loaded: StorySource, text: str) -> int:
    lines = snapshot_path(loaded.directory).read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def test_the_same_values_give_no_finding_also_a_nan_pinned_and_read_again(
        pinned: StorySource) -> None:
    same = dataclasses.replace(PINNED, run=dataclasses.replace(
        PINNED.run, metrics={**PINNED.run.metrics, "auc": _figure("auc", float("nan"))}))
    assert _drift(pinned, same) == []   # NaN pinned and NaN now: no change


def test_a_changed_metric_is_an_error_on_its_snapshot_line(pinned: StorySource) -> None:
    fresh = dataclasses.replace(PINNED, run=dataclasses.replace(
        PINNED.run, metrics={**PINNED.run.metrics, "recall": _figure("recall", 0.85)}))
    (finding,) = _drift(pinned, fresh)
    assert (finding.severity, finding.code, Path(finding.file).name) == ("error", "pinned-drift", "snapshot.json")
    assert finding.message == ("metric 'recall' is pinned as 0.9 but MLflow now says 0.85 (fix: if the change is "
                               "expected, run `storybook pin --story s` and review the diff)")
    lines = snapshot_path(pinned.directory).read_text(encoding="utf-8").splitlines()
    assert finding.line is not None and '"value": 0.9' in lines[finding.line - 1]
    assert finding.line > _line(pinned, '"recall"')


def test_a_metric_or_param_gone_from_mlflow_says_missing(pinned: StorySource) -> None:
    fresh = dataclasses.replace(PINNED, run=dataclasses.replace(
        PINNED.run, metrics={"recall": PINNED.run.metrics["recall"]}, params={"depth": "4"}))
    messages = [f.message.split(" (fix:")[0] for f in _drift(pinned, fresh)]
    assert messages == ["metric 'auc' is pinned as nan but MLflow now says missing",
                        "param 'depth' is pinned as \"3\" but MLflow now says \"4\""]


def test_a_new_model_version_is_an_error_naming_both_versions(pinned: StorySource) -> None:
    assert PINNED.model is not None
    fresh = dataclasses.replace(PINNED, model=dataclasses.replace(PINNED.model, version=3))
    (finding,) = _drift(pinned, fresh)
    assert finding.message.startswith("model screening@champion is pinned as version 2 but MLflow now says version 3")
    assert finding.line == _line(pinned, '"version": 2')
