"""Checks of what the analysis concludes and who signed it (review/checks/outcomes.py): roles with no current
sign-off on their story.yaml line, a sign-off made stale by an edit, and claims that fail or cannot be checked on
their own line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from storybook.analyse.claims import ClaimResult
from storybook.resolve.resolved import ResolvedRun, ResolvedStory
from storybook.resolve.snapshot import write_snapshot
from storybook.review.checks.findings import CheckReport, Collector, Finding
from storybook.review.checks.outcomes import autolog_averages, claim_findings, figure_mismatches, signoffs
from storybook.review.signoff import append_signoff
from storybook.sources.loader import StorySource, load_story
from tests.stores import story, write_project

EVALUATION = {"artifact": "evaluation/scored.csv", "positive_means": "has it", "negative_means": "does not",
              "threshold": 0.5}
CLAIM = {"says": "Women fare no worse.", "slice": "sex", "group": "F", "no_worse_than": "M"}
ROLES = ["Clinical lead", "Data protection officer"]


@pytest.fixture
def loaded(tmp_path: Path) -> StorySource:
    metrics = [{"key": "k", "label": "K", "kind": "other"}]
    root = write_project(tmp_path / "project", {"s": story(
        "m", "champion", metrics, EVALUATION, claims=[{"id": f"c{i}", **CLAIM} for i in (1, 2, 3)],
        signoffs={"required_roles": ROLES})})
    return load_story(root, root / "stories" / "s")


def _line(loaded: StorySource, text: str) -> int:
    lines = loaded.story_file.read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if line.strip() == text)


def _signoffs(loaded: StorySource) -> list[Finding]:
    report = CheckReport(loaded.directory.parents[1])
    signoffs(Collector(report), loaded.directory, ROLES, loaded)
    return report.findings


def test_each_role_without_a_sign_off_is_an_error_on_its_line(loaded: StorySource) -> None:
    found = _signoffs(loaded)
    assert [(f.code, f.line) for f in found] == [("signoff-missing", _line(loaded, "- Clinical lead")),
                                                 ("signoff-missing", _line(loaded, "- Data protection officer"))]
    assert found[0].message == ("the story needs a current sign-off by the role 'Clinical lead': none yet (fix: "
                                "after review, run `storybook sign s --name ... --role 'Clinical lead'`)")


def test_a_current_sign_off_covers_its_role_and_an_edit_makes_it_stale(loaded: StorySource) -> None:
    run = ResolvedRun("r" * 32, "bold-run", "screening", 0, None, {}, {}, {})
    write_snapshot(loaded, ResolvedStory(source="sqlite:///mlflow.db", run=run), source="sqlite:///mlflow.db")
    when = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    append_signoff(loaded.directory, name="Dr Ada Jones", role="Clinical lead", now=when)
    assert [f.line for f in _signoffs(loaded)] == [_line(loaded, "- Data protection officer")]
    (loaded.directory / "caveats-and-recommendations.md").write_text("Read the figures with care.\n")
    found = {(f.severity, f.code) for f in _signoffs(loaded)}
    assert found == {("warning", "signoff-stale"), ("error", "signoff-missing")}
    clinical = next(f for f in _signoffs(loaded) if "'Clinical lead':" in f.message)
    assert "only a stale sign-off (by Dr Ada Jones on 2026-03-01" in clinical.message


def test_a_failed_claim_is_an_error_and_an_unchecked_one_a_warning_each_on_its_line(loaded: StorySource) -> None:
    one, two, three = loaded.config.claims or ()
    report = CheckReport(loaded.directory.parents[1])
    claim_findings(Collector(report), loaded, (ClaimResult(one, "holds", "recall 0.91 and 0.90", "slices"),
                                               ClaimResult(two, "fails", "recall 0.70 against 0.85", "slices"),
                                               ClaimResult(three, "unchecked", "no rows for F", "slices")),
                   "version 2")
    assert [(f.severity, f.code, f.line) for f in report.findings] == [
        ("error", "claim-failed", _line(loaded, "- id: c2")), ("warning", "claim-unchecked", _line(loaded, "- id: c3"))]
    assert report.findings[0].message.startswith("claim 'c2' no longer holds against version 2: recall 0.70 "
                                                 "against 0.85")


def test_autolog_s_weighted_averages_told_as_one_class_s_figures_are_a_warning_on_their_line(tmp_path: Path) -> None:
    """mlflow.sklearn.autolog logs training_recall_score averaged over the classes, weighted by their counts (it is
    the accuracy): told as the recall of the positive class, the page says a wrong figure. Its accuracy, its
    ROC AUC, and a weighted figure told as kind other, are left alone."""
    metrics = [{"key": "training_recall_score", "label": "Found", "kind": "recall"},
               {"key": "training_accuracy_score", "label": "Right", "kind": "accuracy"},
               {"key": "training_f1_score", "label": "F1, averaged over both classes", "kind": "other"},
               {"key": "training_roc_auc", "label": "Ranking", "kind": "roc_auc"},
               {"key": "training_precision_score", "label": "Right when flagged", "kind": "precision"}]
    root = write_project(tmp_path / "project", {"s": story("m", "champion", metrics, EVALUATION)})
    loaded = load_story(root, root / "stories" / "s")
    report = CheckReport(root)
    autolog_averages(Collector(report), loaded)
    lines = loaded.story_file.read_text().splitlines()
    keys = [line.strip() for line in lines]
    assert [(f.code, f.severity, f.line) for f in report.findings] == [
        ("autolog-average", "warning", keys.index("- key: training_recall_score") + 1),
        ("autolog-average", "warning", keys.index("- key: training_precision_score") + 1)]
    assert report.findings[0].message.startswith(
        "metric 'training_recall_score' is told as recall, but mlflow.sklearn.autolog logs it averaged over the "
        "classes, each weighted by its count")


def test_a_share_with_nothing_to_count_among_fails_check_on_its_line(tmp_path: Path) -> None:
    """No case scores 0.9 or more, so none is flagged: scikit-learn logs precision 0 and the page says it cannot be
    told; prose that refers to it would still show 0, so check fails on the metric's line. Recall (of the
    positives, who are there) is not reported."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import precision_score

    from storybook.analyse.story import analyse_story
    from storybook.resolve.resolved import Figure, ModelVersionRecord, Provenance, ResolvedRun

    labels = np.array([1, 0, 1, 0, 0, 1, 0, 0, 1, 0] * 3)
    scores = np.linspace(0.1, 0.8, labels.size)
    logged = float(precision_score(labels, scores >= 0.9, zero_division=0))
    metrics = [{"key": "test_recall", "label": "Found", "kind": "recall"},
               {"key": "test_precision", "label": "Right when flagged", "kind": "precision"}]
    root = write_project(tmp_path / "project", {"s": story("m", "champion", metrics, EVALUATION | {"threshold": 0.9})})
    loaded = load_story(root, root / "stories" / "s")
    figures = {k: Figure(k, v, Provenance("sqlite:///m.db", "r" * 32, "metric", k))
               for k, v in {"test_recall": 0.0, "test_precision": logged}.items()}
    run = ResolvedRun("r" * 32, "run", "exp", 0, None, figures, {}, {})
    resolved = ResolvedStory(source="sqlite:///m.db", run=run, model=ModelVersionRecord("m", 1, "r" * 32, 0,
                             ("champion",)), evaluation=pd.DataFrame({"label": labels, "score": scores}))
    report = CheckReport(root)
    figure_mismatches(Collector(report), loaded, analyse_story(loaded, resolved))
    keys = [line.strip() for line in loaded.story_file.read_text().splitlines()]
    assert [(f.code, f.severity, f.line) for f in report.findings] == [
        ("figure-untold", "error", keys.index("- key: test_precision") + 1)]
    assert report.findings[0].message.startswith("metric 'test_precision' (precision) was logged as 0.0000, but the "
                                                 "evaluation set holds no case to count it among")
