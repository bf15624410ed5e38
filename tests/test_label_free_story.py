"""Performance before labels arrive, end to end on a real sqlite MLflow store: production windows logged through
``storybook.log_production_scores`` (the first two weeks' labels filled in later), read by a story's
``trust.production_scores``, estimated, told on the page with its chart, pinned into a snapshot and read back the
same; a story whose scores are not calibrated is told that storybook does not estimate; wrong declarations are
refused on their story.yaml line."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest

import storybook
from storybook.analyse.story import StoryAnalysis, analyse_story
from storybook.errors import LoggingError, StorybookError
from storybook.render.pages import page_environment, render_story
from storybook.resolve.mlflow_source import MlflowSource
from storybook.resolve.resolved import ResolvedStory
from storybook.resolve.snapshot import load_snapshot, write_snapshot
from storybook.sources.loader import StorySource, load_story
from tests.stores import story, tracking_uri, use_experiment, write_project

WEEKS = ("2026-10-05", "2026-10-12", "2026-10-19", "2026-10-26")
EVALUATION = {"artifact": "evaluation/scored.csv", "label_column": "label", "score_column": "score",
              "positive_value": "1", "threshold": 0.5, "unit": "patients", "positive_means": "have cancer",
              "negative_means": "do not have cancer", "flagged_means": "sent for a biopsy"}
METRICS = [{"key": "recall", "label": "Cancers found", "kind": "recall"}]
COSTS = {"unit": "hours of specialist time", "owner": "Clinical lead", "false_positive": 1, "false_negative": 10,
         "population": 1000, "bootstrap_rounds": 0}
TRUST = {"owner": "Screening team", "production_scores": "production/windows.parquet",
         "estimate": {"guardrails": [{"figure": "estimated", "lower": 0.6}, {"figure": "realised", "lower": 0.6}]}}


@dataclass
class Store:
    root: Path
    stories: dict[str, StorySource]
    scores: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]


def _scores(rng: np.random.Generator, n: int, changed: bool) -> np.ndarray:
    """Each case's chance; after the scanner change, fewer cases look likely (still spread like the evaluation
    set's, so the estimate applies)."""
    return rng.beta(1.4, 3.0 if changed else 2.2, n)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    root = tmp_path_factory.mktemp("label_free")
    uri = tracking_uri(root)
    previous = mlflow.get_tracking_uri()
    rng = np.random.default_rng(17)
    use_experiment(uri, "screening")
    evaluation = rng.beta(1.4, 2.2, 1500)
    scores = {week: _scores(rng, 900, changed=i >= 2) for i, week in enumerate(WEEKS)}
    labels = {week: rng.random(900) < s for week, s in scores.items()}
    runs = {}
    for name, shown in (("calibrated", evaluation), ("squashed", 0.5 + (evaluation - 0.5) * 0.3)):
        with mlflow.start_run() as run:
            frame = pd.DataFrame({"label": (rng.random(1500) < evaluation).astype(int), "score": shown})
            storybook.log_scored_set(frame, label="label", score="score")
            mlflow.log_metric("recall", 0.7)
            logged = WEEKS if name == "calibrated" else WEEKS[:1]
            for week in logged:
                storybook.log_production_scores(scores[week], window=week)
            for week in logged[:2]:  # weeks later, the first two weeks' outcomes are known
                storybook.log_production_scores(scores[week][::-1], window=week, labels=labels[week][::-1])
            runs[name] = run.info.run_id
    sources: dict[str, Any] = {}
    for name, run_id in runs.items():
        told = story("m", "champion", METRICS, EVALUATION, cost_of_error=COSTS, trust=TRUST)
        told["model"] = {"run_id": run_id}
        sources[name] = told
    write_project(root, sources)
    yield Store(root, {slug: load_story(root, root / "stories" / slug) for slug in sources}, scores, labels)
    mlflow.set_tracking_uri(previous)


@pytest.fixture(scope="module")
def told(store: Store) -> dict[str, tuple[ResolvedStory, StoryAnalysis]]:
    found = {}
    for slug, source in store.stories.items():
        resolved = MlflowSource(tracking_uri(store.root), store.root / ".cache").resolve(source)
        found[slug] = (resolved, analyse_story(source, resolved))
    return found


def test_each_week_is_estimated_and_the_labels_sit_beside_the_first_two(
        store: Store, told: dict[str, tuple[ResolvedStory, StoryAnalysis]]) -> None:
    estimate = told["calibrated"][1].estimate
    assert estimate is not None and estimate.refused is None and estimate.report is not None
    weeks = estimate.report.windows
    assert [w.window for w in weeks] == list(WEEKS)
    for week in weeks:
        scores = store.scores[week.window]
        flagged = scores >= 0.5
        assert week.cases == 900 and week.comparable
        assert week.expected.tp == pytest.approx(scores[flagged].sum(), abs=1e-6)
        assert week.expected.fn == pytest.approx(scores[~flagged].sum(), abs=1e-6)
    for week in weeks[:2]:
        labels = store.labels[week.window]
        flagged = store.scores[week.window] >= 0.5
        assert week.realised is not None and week.realised.tp == int((labels & flagged).sum())
        assert week.realised_figure == pytest.approx((labels & flagged).sum() / labels.sum())
    assert all(w.realised is None for w in weeks[2:])
    # After the scanner change, the estimated share found falls clearly.
    before, after = weeks[1].interval, weeks[2].interval
    assert before is not None and after is not None and after[1] < before[0]


def test_the_page_tells_estimates_as_estimates_with_a_chart(
        store: Store, told: dict[str, tuple[ResolvedStory, StoryAnalysis]]) -> None:
    resolved, analysis = told["calibrated"]
    page = render_story(page_environment(None), store.stories["calibrated"], resolved, analysis,
                        built_at="2026-11-01", pdf_name=None)
    section = page.html.split('<section id="before-labels">', 1)[1].split("</section>", 1)[0]
    assert "Performance before the labels are in" in section
    assert "In window 2026-10-26, of the patients who have cancer, probably " in section
    assert "their labels are not in yet." in section
    first = analysis.estimate.report.windows[0] if analysis.estimate and analysis.estimate.report else None
    assert first is not None and first.realised is not None and first.realised_figure is not None
    shown = f"the labels, now in, show {round(first.realised_figure * 100)} in 100 ({first.realised.tp} of " \
            f"{first.realised.positives} patients who have cancer)"
    assert shown in section
    assert "hours of specialist time per 1,000 patients" in section
    assert "The story asks that the estimated share of cases found be at least 60 in 100" in section
    assert re.search(r'<img src="charts/calibrated-estimate.svg" alt="Chart of share of cases found in 4 production '
                     r'windows', section)
    assert "calibrated-estimate.svg" in page.charts and "<svg" in page.charts["calibrated-estimate.svg"]
    assert '<a href="#before-labels">' in page.html  # listed in the table of contents


def test_scores_that_are_not_calibrated_are_not_estimated(
        store: Store, told: dict[str, tuple[ResolvedStory, StoryAnalysis]]) -> None:
    resolved, analysis = told["squashed"]
    estimate = analysis.estimate
    assert estimate is not None and estimate.report is not None and not estimate.report.estimated
    labels = store.labels[WEEKS[0]]
    found = int((labels & (store.scores[WEEKS[0]] >= 0.5)).sum())
    # No estimate; what the labels of the first week showed is still told.
    assert estimate.windows == (f"In window {WEEKS[0]}, the labels show that of the patients who have cancer, "
                                f"{round(found / labels.sum() * 100)} in 100 are sent for a biopsy ({found} of "
                                f"{int(labels.sum())}).",)
    assert estimate.refused is not None and "percentage points on average" in estimate.refused
    page = render_story(page_environment(None), store.stories["squashed"], resolved, analysis,
                        built_at="2026-11-01", pdf_name=None)
    section = page.html.split('<section id="before-labels">', 1)[1].split("</section>", 1)[0]
    assert estimate.refused in html.unescape(section) and "squashed-estimate.svg" not in page.charts
    assert estimate.windows[0] in html.unescape(section)


def test_the_snapshot_pins_the_windows_and_gives_the_same_estimate(
        store: Store, told: dict[str, tuple[ResolvedStory, StoryAnalysis]]) -> None:
    resolved, analysis = told["calibrated"]
    source = store.stories["calibrated"]
    write_snapshot(source, resolved, source="sqlite")
    _, pinned = load_snapshot(source.directory)
    again = analyse_story(source, pinned).estimate
    assert again is not None and again.windows == analysis.estimate.windows if analysis.estimate else False


def test_logging_refuses_a_window_twice_and_labels_for_other_scores(store: Store) -> None:
    uri = tracking_uri(store.root)
    use_experiment(uri, "refusals")
    with mlflow.start_run():
        storybook.log_production_scores([0.1, 0.9, 0.4], window="2026-10-05")
        with pytest.raises(LoggingError, match=r"window '2026-10-05' is already logged \(3 scores, without labels\)"
                           ) as caught:
            storybook.log_production_scores([0.2], window="2026-10-05")
        assert caught.value.location is not None and caught.value.location.path == Path(__file__)
        with pytest.raises(LoggingError, match="are not the ones logged for it"):
            storybook.log_production_scores([0.1, 0.9, 0.5], window="2026-10-05", labels=[0, 1, 1])
        with pytest.raises(LoggingError, match="outside 0 to 1"):
            storybook.log_production_scores([0.1, 1.2], window="2026-10-12")
        with pytest.raises(LoggingError, match="1 \\(or True\\) for a positive case"):
            storybook.log_production_scores([0.1, 0.2], window="2026-10-12", labels=[0, 2])
        logged = storybook.log_production_scores([0.3], window="2026-10-05", replace=True)
        assert logged.windows == ("2026-10-05",) and logged.cases == 1


REGRESSION = {"task": "regression", "artifact": "evaluation/scored.csv", "unit": "patients",
              "actual_column": "actual", "prediction_column": "predicted", "amount_unit": "points",
              "target_means": "the progression score a year later"}


@pytest.mark.parametrize(("evaluation", "trust_change", "message", "key"), [
    (EVALUATION, {"estimate": {"metric": "roc_auc"}}, "'roc_auc' cannot be estimated", "metric:"),
    (EVALUATION, {"production_scores": None}, "trust.estimate needs trust.production_scores", "estimate:"),
    (REGRESSION, {"estimate": None, "model": {"metric": "mae", "maximum": 3}},
     "does not estimate a regression model's performance", "production_scores:"),
])
def test_a_wrong_declaration_is_refused_on_its_line(tmp_path: Path, evaluation: dict[str, Any],
                                                    trust_change: dict[str, Any], message: str, key: str) -> None:
    trust = {k: v for k, v in {**TRUST, **trust_change}.items() if v is not None}
    metrics = METRICS if evaluation is EVALUATION else [{"key": "mae", "label": "Miss", "kind": "mae"}]
    root = write_project(tmp_path, {"wrong": story("m", "champion", metrics, evaluation, trust=trust)})
    with pytest.raises(StorybookError, match=re.escape(message)) as caught:
        load_story(root, root / "stories" / "wrong")
    where = caught.value.location
    assert where is not None and where.line is not None
    line = (root / "stories" / "wrong" / "story.yaml").read_text().splitlines()[where.line - 1]
    assert key in line, line


def test_a_review_diff_lists_the_windows_estimates_and_labels_that_changed(
        told: dict[str, tuple[ResolvedStory, StoryAnalysis]]) -> None:
    from storybook.review.diff import _analysed

    before, after = told["squashed"][1], told["calibrated"][1]  # no estimate, then one for every week
    changes = {change.what: change for change in _analysed(before, after, [])}
    assert after.estimate is not None and after.estimate.report is not None
    first = after.estimate.report.windows[0]
    assert first.figure is not None
    new = changes[f"window {WEEKS[0]}: estimated recall"]
    assert (new.old, new.new) == (None, f"{first.figure:.4g}")
    assert f"window {WEEKS[1]}: recall the labels show" in changes  # only the calibrated story's second week
    assert f"window {WEEKS[0]}: recall the labels show" not in changes  # the same labels in both
    assert _analysed(after, after, []) == []
