"""A multiclass story's performance before labels arrive, end to end on a real sqlite MLflow store: class chances
logged a week at a time through ``storybook.log_production_scores(probabilities=...)`` (the first week's outcomes
filled in later), read by ``trust.production_scores``, estimated and told on the page; refusals of the logging
API on the calling line; a declaration the multiclass estimate cannot serve refused on its story.yaml line."""

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

CLASSES = ("stays", "moves", "leaves")
MEANS = {"stays": "stay on next year", "moves": "move to another school", "leaves": "leave school"}
WEEKS = ("2026-10-05", "2026-10-12")
EVALUATION = {"task": "multiclass", "artifact": "evaluation/scored.csv", "unit": "students", "label_column": "label",
              "classes": [{"value": v, "means": MEANS[v], "probability_column": f"p_{v}"} for v in CLASSES]}
METRICS = [{"key": "accuracy", "label": "Calls that are right", "kind": "multiclass_accuracy"}]
TRUST = {"owner": "School office", "model": {"metric": "multiclass_accuracy"},
         "production_scores": "production/windows.parquet"}


@dataclass
class Store:
    root: Path
    source: StorySource
    chances: dict[str, pd.DataFrame]
    labels: dict[str, np.ndarray]


def _chances(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.dirichlet([2.0, 0.8, 0.5], size=n)


def _draw(rng: np.random.Generator, chances: np.ndarray) -> np.ndarray:
    cumulative = chances.cumsum(axis=1)
    picked = np.minimum((rng.random(chances.shape[0])[:, None] > cumulative).sum(axis=1), len(CLASSES) - 1)
    return np.asarray(CLASSES)[picked]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    root = tmp_path_factory.mktemp("label_free_multiclass")
    uri = tracking_uri(root)
    previous = mlflow.get_tracking_uri()
    rng = np.random.default_rng(5)
    use_experiment(uri, "pupils")
    evaluation = _chances(rng, 800)
    frame = pd.DataFrame({"label": _draw(rng, evaluation), **{f"p_{c}": evaluation[:, i]
                                                              for i, c in enumerate(CLASSES)}})
    chances = {week: pd.DataFrame(_chances(rng, 400), columns=list(CLASSES)) for week in WEEKS}
    labels = {week: _draw(rng, chances[week].to_numpy()) for week in WEEKS}
    with mlflow.start_run() as run:
        storybook.log_scored_set(frame, task="multiclass", label="label",
                                 probabilities={c: f"p_{c}" for c in CLASSES})
        mlflow.log_metric("accuracy", 0.7)
        for week in WEEKS:
            storybook.log_production_scores(probabilities=chances[week], window=week)
        # weeks later, the first week's outcomes are known; the rows come back in another order
        shuffled = chances[WEEKS[0]].iloc[::-1]
        storybook.log_production_scores(probabilities=shuffled, window=WEEKS[0],
                                        labels=labels[WEEKS[0]][::-1])
    told = story("m", "champion", METRICS, EVALUATION, trust=TRUST)
    told["model"] = {"run_id": run.info.run_id}
    write_project(root, {"leavers": told})
    yield Store(root, load_story(root, root / "stories" / "leavers"), chances, labels)
    mlflow.set_tracking_uri(previous)


@pytest.fixture(scope="module")
def told(store: Store) -> tuple[ResolvedStory, StoryAnalysis]:
    resolved = MlflowSource(tracking_uri(store.root), store.root / ".cache").resolve(store.source)
    return resolved, analyse_story(store.source, resolved)


def test_each_week_is_estimated_and_the_page_says_so(store: Store, told: tuple[ResolvedStory, StoryAnalysis]) -> None:
    resolved, analysis = told
    estimate = analysis.estimate
    assert estimate is not None and estimate.refused is None and estimate.method is not None
    assert len(estimate.windows) == 2
    second = store.chances[WEEKS[1]].to_numpy()
    expected_right = second[np.arange(400), second.argmax(axis=1)].sum() / 400  # the chance of each call, summed
    assert re.match(rf"In window {WEEKS[1]}, the model probably calls between \d+ and \d+ in 100 "
                    r"students right, estimated from the chances of 400 students; their outcomes are not in yet\.",
                    estimate.windows[1])
    low, high = (int(v) for v in re.findall(r"between (\d+) and (\d+) in 100 students right",
                                             estimate.windows[1])[0])
    assert low <= round(expected_right * 100) <= high
    # the first week: its outcomes are in and shown beside the estimate, counted from the labels themselves
    truth = store.labels[WEEKS[0]]
    first = store.chances[WEEKS[0]].to_numpy()
    right = int((np.asarray(CLASSES)[first.argmax(axis=1)] == truth).sum())
    assert f"the outcomes, now in, show {round(right / 4)} in 100 ({right} of 400)." in estimate.windows[0]
    leaves = truth == "leaves"
    found = int((leaves & (first.argmax(axis=1) == 2)).sum())
    assert "Of the students who leave school, it was estimated to find " in estimate.windows[0]
    assert f"({found} of {int(leaves.sum())})" in estimate.windows[0]
    page = render_story(page_environment(None), store.source, resolved, analysis, built_at="2026-11-01",
                        pdf_name=None)
    section = html.unescape(page.html.split('<section id="before-labels">', 1)[1].split("</section>", 1)[0])
    assert estimate.windows[1] in section and estimate.method in section
    assert "percentage points on average" in section
    assert re.search(r'<img src="charts/leavers-estimate.svg" alt="Chart of share of calls that are right in 2 '
                     r'production windows', section)
    assert "<svg" in page.charts["leavers-estimate.svg"]


def test_a_review_diff_lists_the_windows_estimates_and_outcomes(told: tuple[ResolvedStory, StoryAnalysis]) -> None:
    import dataclasses

    from storybook.review.diff import _analysed

    _, analysis = told
    report = analysis.estimate.multiclass if analysis.estimate is not None else None
    assert report is not None and report.windows[0].right is not None
    changes = {c.what: c for c in _analysed(dataclasses.replace(analysis, estimate=None), analysis, [])}
    new = changes[f"window {WEEKS[0]}: estimated share of right calls"]
    assert (new.old, new.new) == (None, f"{report.windows[0].right:.4g}")
    assert f"window {WEEKS[0]}: share of right calls the outcomes show" in changes
    assert f"window {WEEKS[1]}: share of right calls the outcomes show" not in changes  # not in yet
    assert _analysed(analysis, analysis, []) == []


def test_logging_refuses_on_the_calling_line(store: Store) -> None:
    use_experiment(tracking_uri(store.root), "refusals")
    chances = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    with mlflow.start_run():
        with pytest.raises(LoggingError, match="needs classes=") as caught:
            storybook.log_production_scores(probabilities=chances, window="2026-10-05")
        assert caught.value.location is not None and caught.value.location.path == Path(__file__)
        with pytest.raises(LoggingError, match="do not add up to 1"):
            storybook.log_production_scores(probabilities=chances * 0.9, classes=CLASSES, window="2026-10-05")
        storybook.log_production_scores(probabilities=chances, classes=CLASSES, window="2026-10-05")
        with pytest.raises(LoggingError, match=r"already logged \(2 cases, without labels\)"):
            storybook.log_production_scores(probabilities=chances, classes=CLASSES, window="2026-10-05")
        with pytest.raises(LoggingError, match="not one of the classes"):
            storybook.log_production_scores(probabilities=chances, classes=CLASSES, window="2026-10-05",
                                            labels=["stays", "gone"])
        with pytest.raises(LoggingError, match="are not the ones logged for it"):
            other = np.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8]])  # the first case surer of its call than logged
            storybook.log_production_scores(probabilities=other, classes=CLASSES, window="2026-10-05",
                                            labels=["stays", "leaves"])
        with pytest.raises(LoggingError, match="not the ones of the windows already logged"):
            storybook.log_production_scores(probabilities=chances, classes=("a", "b", "c"), window="2026-10-12")
        with pytest.raises(LoggingError, match=r"either scores= .* or probabilities="):
            storybook.log_production_scores(window="2026-10-12")


def test_guardrails_on_a_multiclass_estimate_are_refused_on_their_line(tmp_path: Path) -> None:
    trust: dict[str, Any] = {**TRUST, "estimate": {"guardrails": [{"figure": "estimated", "lower": 0.6}]}}
    root = write_project(tmp_path, {"wrong": story("m", "champion", METRICS, EVALUATION, trust=trust)})
    with pytest.raises(StorybookError, match="guardrails on the estimate are for yes/no stories") as caught:
        load_story(root, root / "stories" / "wrong")
    where = caught.value.location
    assert where is not None and where.line is not None
    line = (root / "stories" / "wrong" / "story.yaml").read_text().splitlines()[where.line - 1]
    assert "guardrails:" in line, line


def test_the_snapshot_pins_the_windows_and_gives_the_same_sentences(
        store: Store, told: tuple[ResolvedStory, StoryAnalysis]) -> None:
    resolved, analysis = told
    write_snapshot(store.source, resolved, source="sqlite")
    _, pinned = load_snapshot(store.source.directory)
    again = analyse_story(store.source, pinned).estimate
    assert again is not None and analysis.estimate is not None
    assert again.windows == analysis.estimate.windows and again.method == analysis.estimate.method


def test_a_yes_no_reader_refuses_a_multiclass_windows_file(store: Store) -> None:
    from mlflow.tracking import MlflowClient

    from storybook.aggregate.windows import windows_table

    run_id = store.source.config.model.run_id
    assert run_id is not None
    local = Path(MlflowClient(tracking_uri(store.root), registry_uri=tracking_uri(store.root)).download_artifacts(
        run_id, "production/windows.parquet", str(store.root)))
    with pytest.raises(StorybookError, match="holds a multiclass model's production windows"):
        windows_table(local)
    with pytest.raises(LoggingError, match="log_production_windows logs a yes/no model's"):
        storybook.log_production_windows(local, run_id=run_id)
