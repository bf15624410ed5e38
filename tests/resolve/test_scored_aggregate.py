"""A story told from an aggregate (evaluation.aggregate) in a real sqlite MLflow store: the aggregate made by the
real DuckDB engine from a generated scored set, logged beside that set; a second story on the same run tells the
row-level set. Checked: every figure of the card and the cost of error is the same (scores on the bins' edges, so
nothing is lost by counting), the calibration too; the page says where the figures come from; a broken or
foreign aggregate, or one counted for other columns, is refused at the story.yaml line to fix; drivers with only
an aggregate are left out, and the page says why."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from storybook.aggregate.duckdb_engine import aggregate_with_duckdb
from storybook.aggregate.format import write_aggregate
from storybook.analyse.model_card import vocabulary
from storybook.analyse.page_words import page_wording
from storybook.analyse.story import StoryAnalysis, analyse_story
from storybook.analyse.trust_checks.statistics import counted_curve, reliability_curve
from storybook.errors import StorybookError
from storybook.resolve.mlflow_source import MlflowSource
from storybook.resolve.resolved import ResolvedStory, story_task_set
from storybook.resolve.scored import ScoredSet
from storybook.sources.loader import StorySource, load_story
from tests.stores import story, tracking_uri, use_experiment, write_project

BINS = 50
ROWS = 6_000


def _scored_set(seed: int = 3) -> pd.DataFrame:
    """Scores on the bins' edges j/50: 51 different scores (1.0 shares the last bin with 0.98), so 50 bins count
    them in bins, and 100 bins keep each score (exact)."""
    rng = np.random.default_rng(seed)
    label = rng.random(ROWS) < 0.3
    raw = np.clip(rng.normal(np.where(label, 0.62, 0.35), 0.18), 0, 1)
    score = np.floor(raw * BINS) / BINS
    region = rng.choice(["north", "south", "east"], size=ROWS, p=[0.5, 0.3, 0.2])
    return pd.DataFrame({"label": label.astype(int), "score": score, "region": region,
                         "x1": rng.normal(size=ROWS)})


EVALUATION = {"label_column": "label", "score_column": "score", "positive_value": "1", "threshold": 0.5,
              "unit": "customers", "positive_means": "leave within a year", "negative_means": "stay",
              "flagged_means": "offered a call"}
COSTS = {"unit": "euros", "owner": "Retention lead", "false_positive": 20, "false_positive_means": "a call for nothing",
         "false_negative": 150, "false_negative_means": "a customer lost", "population": 1000, "bootstrap_rounds": 0}
TRUST = {"owner": "Retention team", "model": {"metric": "recall", "minimum": 0.5, "calibration_tolerance": 0.5}}
DECISION = {"question": "Should the retention team call the customers the model flags?", "owner": "the board",
            "options": {"go": "Call them.", "no_go": "Do not call them.",
                        "go_with_conditions": "Call them once the conditions are met."},
            "criteria": [{"id": "finds-enough", "metric": {"key": "recall", "at_least": 0.3}},
                         {"id": "regions-alike", "slice_gap": {"slice": "region", "metric": "recall",
                                                               "tolerance": 0.25}}]}
METRICS: list[dict[str, Any]] = [{"key": "recall", "label": "Leavers found", "kind": "recall"},
           {"key": "brier", "label": "Calibration error", "kind": "brier", "higher_is_better": False}]


def _story(run_id: str, evaluation: dict[str, Any], **more: Any) -> dict[str, Any]:
    told = story("m", "champion", METRICS, {**EVALUATION, **evaluation}, **more)
    told["model"] = {"run_id": run_id}
    return told


@dataclass
class Store:
    root: Path
    run_id: str
    frame: pd.DataFrame
    stories: dict[str, StorySource]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, trained_project: Path) -> Iterator[Store]:
    root = tmp_path_factory.mktemp("aggregate_store")
    # The session's example store, copied: its tables are made already (making them costs MLflow 10 s); the
    # runs here go to an experiment of their own, with artifacts under this folder.
    shutil.copyfile(trained_project / "mlflow" / "mlflow.db", root / "mlflow.db")
    uri = tracking_uri(root)
    previous = mlflow.get_tracking_uri()
    frame = _scored_set()
    use_experiment(uri, "aggregates")
    with tempfile.TemporaryDirectory() as folder, mlflow.start_run() as run:
        here = Path(folder)
        frame.to_csv(here / "scored.csv", index=False)
        frame.head(500).to_csv(here / "sample.csv", index=False)
        frame.to_parquet(here / "rows.parquet", index=False)
        cells, info = aggregate_with_duckdb(here / "rows.parquet", label_column="label", score_column="score",
                                            slices=["region"], bins=BINS, replicates=20, seed=5)
        write_aggregate(cells, info, here / "aggregate.parquet")
        other, other_info = aggregate_with_duckdb(here / "rows.parquet", label_column="label", score_column="score",
                                                  bins=BINS, replicates=0)
        write_aggregate(other, other_info, here / "no_slices.parquet")
        exact, exact_info = aggregate_with_duckdb(here / "rows.parquet", label_column="label", score_column="score",
                                                  slices=["region"], bins=100, replicates=0)
        write_aggregate(exact, exact_info, here / "exact.parquet")
        (here / "broken.parquet").write_bytes(b"PAR1 this is not really parquet")
        pq.write_table(pa.Table.from_pandas(frame), here / "foreign.parquet")
        positive, flagged = frame["label"] == 1, frame["score"] >= 0.5
        mlflow.log_metrics({"recall": float((positive & flagged).sum() / positive.sum()),
                            "brier": float(((frame["score"] - frame["label"]) ** 2).mean())})
        for name in ("scored.csv", "sample.csv", "aggregate.parquet", "no_slices.parquet", "exact.parquet",
                     "broken.parquet", "foreign.parquet"):
            mlflow.log_artifact(str(here / name), "evaluation")
        run_id = run.info.run_id
    slices = [{"column": "region", "label": "Region"}]
    sources = {
        "rows": _story(run_id, {"artifact": "evaluation/scored.csv"}, slices=slices, cost_of_error=COSTS,
                       trust=TRUST, decision=DECISION),
        "counted": _story(run_id, {"aggregate": "evaluation/aggregate.parquet"}, slices=slices,
                          cost_of_error=COSTS, trust=TRUST, decision=DECISION),
        "beside": _story(run_id, {"aggregate": "evaluation/aggregate.parquet", "artifact": "evaluation/sample.csv"},
                         slices=slices),
        "exact": _story(run_id, {"aggregate": "evaluation/exact.parquet"}, slices=slices),
        "broken": _story(run_id, {"aggregate": "evaluation/broken.parquet"}),
        "foreign": _story(run_id, {"aggregate": "evaluation/foreign.parquet"}),
        "other-label": _story(run_id, {"aggregate": "evaluation/aggregate.parquet", "label_column": "churned"}),
        "no-slice": _story(run_id, {"aggregate": "evaluation/no_slices.parquet"}, slices=slices),
        # 0.99 falls in the last bin, which counts cases at 0.98 and at 1.0 together; 0.51 would not be refused:
        # every case of its bin scored 0.5.
        "inside-bin": _story(run_id, {"aggregate": "evaluation/aggregate.parquet", "threshold": 0.99}),
        "top-edge": _story(run_id, {"aggregate": "evaluation/aggregate.parquet", "threshold": 1}),
        "drivers": _story(run_id, {"aggregate": "evaluation/aggregate.parquet"},
                          drivers={"source": "model", "metric": "accuracy"}),
    }
    write_project(root, sources)
    stories = {slug: load_story(root, root / "stories" / slug) for slug in sources}
    yield Store(root, run_id, frame, stories)
    mlflow.set_tracking_uri(previous)


def _resolve(store: Store, slug: str) -> ResolvedStory:
    return MlflowSource(tracking_uri(store.root), store.root / ".cache").resolve(store.stories[slug])


@pytest.fixture(scope="module")
def told(store: Store) -> dict[str, tuple[ResolvedStory, StoryAnalysis]]:
    found = {}
    for slug in ("rows", "counted", "exact"):
        resolved = _resolve(store, slug)
        found[slug] = (resolved, analyse_story(store.stories[slug], resolved))
    return found


def test_the_aggregate_becomes_a_weighted_set_of_the_same_cases(
        store: Store, told: dict[str, tuple[ResolvedStory, StoryAnalysis]]) -> None:
    resolved, _ = told["counted"]
    scored = resolved.scored
    assert isinstance(scored, ScoredSet) and scored.weights is not None and scored.counted is not None
    assert resolved.evaluation is None  # no row-level set beside it
    assert scored.n == ROWS and int(scored.weights.sum()) == ROWS
    assert len(scored.labels) < 400  # cells, not rows: 3 regions x 2 labels x at most 50 bins
    assert scored.replicates is not None and scored.replicates.shape == (len(scored.labels), 20)
    assert scored.counted.bins == BINS and not scored.counted.exact and scored.counted.step == pytest.approx(0.02)
    # Each cell's score is its bin's lower edge, which its lowest case scored (the grid), but for the last bin's
    # cells that hold only 1.0.
    lowest, below_top = scored.frame["score_min"].to_numpy(), scored.frame["score_bin"].to_numpy() < BINS - 1
    assert np.array_equal(scored.scores[below_top], lowest[below_top]) and (scored.scores <= lowest).all()
    assert scored.frame["score_max"].max() == 1.0 and scored.scores.max() == 0.98
    assert story_task_set(store.stories["counted"], resolved) is scored


def test_every_figure_of_the_card_is_the_row_level_one(told: dict[str, tuple[ResolvedStory, StoryAnalysis]],
                                                       ) -> None:
    rows, counted = told["rows"][1].card, told["counted"][1].card
    assert rows.overall is not None and counted.overall is not None
    assert counted.overall.confusion == rows.overall.confusion
    assert counted.overall.n == ROWS
    for kind, estimate in rows.overall.rates.items():
        assert counted.overall.rates[kind] == estimate, kind
    (row_table,), (counted_table,) = (s.table for s in rows.slices), (s.table for s in counted.slices)
    assert [(r.value, r.n, r.confusion, r.rates) for r in counted_table.rows] == \
        [(r.value, r.n, r.confusion, r.rates) for r in row_table.rows]
    # Brier from the cells' sums, equal to the row-level one; ROC AUC is not told from bins (order lost).
    brier = {line.spec.kind: line.recomputed for line in counted.metrics}["brier"]
    expected = {line.spec.kind: line.recomputed for line in rows.metrics}["brier"]
    assert brier is not None and expected is not None and brier.value == pytest.approx(expected.value, abs=1e-12)
    assert counted.overall.auc.value is None and rows.overall.auc.value is not None


def test_a_sample_beside_the_aggregate_serves_only_what_needs_rows(
        store: Store, told: dict[str, tuple[ResolvedStory, StoryAnalysis]]) -> None:
    resolved = _resolve(store, "beside")
    assert resolved.evaluation is not None and len(resolved.evaluation) == 500  # the sample, for the drivers
    card = analyse_story(store.stories["beside"], resolved).card
    assert card.overall is not None and card.overall.n == ROWS  # every figure from the aggregate
    assert card.overall == told["counted"][1].card.overall
    assert card.counted is not None and card.counted.sample_rows == 500


def test_an_exact_aggregate_keeps_the_ranking_too(told: dict[str, tuple[ResolvedStory, StoryAnalysis]]) -> None:
    rows, exact = told["rows"][1].card, told["exact"][1].card
    assert rows.overall is not None and exact.overall is not None
    assert exact.overall.confusion == rows.overall.confusion
    assert exact.overall.auc == rows.overall.auc  # ROC AUC (ties as half) and its Hanley-McNeil range
    assert [r.auc for r in exact.slices[0].table.rows] == [r.auc for r in rows.slices[0].table.rows]
    resolved = told["exact"][0]
    wording = page_wording(exact, resolved, owner="x", built_at="today", snapshot_hash=None)
    assert wording.evaluation is not None
    assert (f"These figures come from {ROWS:,} customers counted by score: each of their 51 different scores was "
            "kept (made by DuckDB ") in wording.evaluation
    assert wording.evaluation.endswith("so nothing is lost by counting.")


def test_every_figure_of_the_cost_of_error_is_the_row_level_one(
        told: dict[str, tuple[ResolvedStory, StoryAnalysis]]) -> None:
    rows, counted = told["rows"][1].cost, told["counted"][1].cost
    assert rows is not None and counted is not None
    assert rows.comparison is not None and counted.comparison is not None
    assert counted.current_counts == rows.current_counts and counted.current == rows.current
    assert counted.current_cost_per == pytest.approx(rows.current_cost_per, abs=1e-9)
    assert counted.comparison.best.threshold == rows.comparison.best.threshold
    assert counted.comparison.best.confusion == rows.comparison.best.confusion
    assert counted.comparison.best.cost_per == pytest.approx(rows.comparison.best.cost_per, abs=1e-9)
    assert counted.best == rows.best
    # Printed at the edge itself: flagging at it flags exactly the cases counted above it.
    assert float(counted.best_threshold_text or "nan") == counted.comparison.best.threshold
    assert [(r.value, r.confusion, r.cost_per) for r in counted.slices[0].rows] == \
        [(r.value, r.confusion, r.cost_per) for r in rows.slices[0].rows]


def test_the_decision_grounds_are_judged_alike(told: dict[str, tuple[ResolvedStory, StoryAnalysis]]) -> None:
    rows, counted = told["rows"][1].decision, told["counted"][1].decision
    assert rows is not None and counted is not None
    assert [(g.id, g.outcome, g.value, g.low, g.high) for g in counted.grounds] == \
        [(g.id, g.outcome, g.value, g.low, g.high) for g in rows.grounds]
    assert {g.outcome for g in counted.grounds} <= {"holds", "fails"}  # judged, not "cannot tell"
    assert counted.recommendation == rows.recommendation


def test_calibration_from_the_sums_is_the_row_level_curve(
        store: Store, told: dict[str, tuple[ResolvedStory, StoryAnalysis]]) -> None:
    scored = told["counted"][0].scored
    assert isinstance(scored, ScoredSet)
    curve = counted_curve(scored)
    expected = reliability_curve(store.frame["label"] == 1, store.frame["score"])
    assert curve is not None and curve.n == expected.n
    assert curve.brier == pytest.approx(expected.brier, abs=1e-12)
    assert curve.ece == pytest.approx(expected.ece, abs=1e-12)
    assert [b.n for b in curve.bins] == [b.n for b in expected.bins]
    trust = told["counted"][1].trust
    assert trust is not None
    evidence = [e for level in trust.levels for e in level.evidence]
    calibration = next(e for e in evidence if e.check == "model.calibration")
    assert calibration.figures["ece"] == pytest.approx(expected.ece, abs=1e-12)
    assert trust.reliability is curve or trust.reliability == curve
    rows_evidence = [e for level in told["rows"][1].trust.levels for e in level.evidence]  # type: ignore[union-attr]
    for check in ("data.class_balance", "data.label_rates", "data.small_slices"):  # counted alike
        found = next(e for e in evidence if e.check == check)
        expected_evidence = next(e for e in rows_evidence if e.check == check)
        assert (found.sentence, found.passed, found.figures) == (expected_evidence.sentence, expected_evidence.passed,
                                                                 expected_evidence.figures), check
    assert next(e for e in evidence if e.check == "data.class_balance").figures["n"] == ROWS
    assert not any(e.check == "data.missing" for e in evidence)  # missing values need the rows
    held_out = next(e for e in evidence if e.check == "model.held_out")
    assert "aggregate evaluation/aggregate.parquet" in held_out.source


def test_the_page_says_the_figures_come_from_counts(store: Store,
                                                    told: dict[str, tuple[ResolvedStory, StoryAnalysis]]) -> None:
    resolved, analysis = told["counted"]
    wording = page_wording(analysis.card, resolved, owner="x", built_at="today", snapshot_hash=None)
    assert wording.evaluation is not None
    assert (f"These figures come from {ROWS:,} customers counted in 50 score bins (made by DuckDB "
            in wording.evaluation)
    assert wording.evaluation.endswith("a threshold can be set to the nearest 0.02.")
    rows_wording = page_wording(told["rows"][1].card, told["rows"][0], owner="x", built_at="today",
                                snapshot_hash=None)
    assert rows_wording.evaluation is not None and "counted" not in rows_wording.evaluation


def _line(story: StorySource, text: str) -> int:
    lines = (story.directory / "story.yaml").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


@pytest.mark.parametrize(("slug", "key", "said"), [
    ("broken", "aggregate:", "is not a Parquet file"),
    ("foreign", "aggregate:", "not a storybook aggregate"),
    ("other-label", "label_column:", "was counted with label_column 'label', and the story says 'churned'"),
    ("no-slice", "- column: region", "was not counted by 'region'"),
    ("inside-bin", "threshold: 0.99", "cannot say which of them the threshold flags"),
    ("top-edge", "threshold: 1", "cannot say which of them the threshold flags"),  # 1.0 shares the last bin
])
def test_an_aggregate_that_does_not_fit_is_refused_at_its_line(store: Store, slug: str, key: str,
                                                               said: str) -> None:
    story_source = store.stories[slug]
    with pytest.raises(StorybookError) as caught:
        _resolve(store, slug)
    error = caught.value
    assert said in error.message
    assert error.location is not None and error.location.path == story_source.directory / "story.yaml"
    assert error.location.line == _line(story_source, key)
    assert error.hint


def test_drivers_with_only_an_aggregate_are_left_out_and_the_page_says_why(store: Store) -> None:
    from storybook.resolve.snapshot import SnapshotSource, write_snapshot

    resolved = _resolve(store, "drivers")
    assert resolved.drivers is None
    story_source = store.stories["drivers"]
    write_snapshot(story_source, resolved, source="sqlite:///mlflow.db")
    try:  # pinned without drivers: nothing missing, they cannot be worked out
        assert SnapshotSource().resolve(story_source).drivers is None
    finally:
        for made in (story_source.directory / "snapshot.json", *(story_source.directory / "snapshot").glob("*")):
            made.unlink()
    analysis = analyse_story(store.stories["drivers"], resolved)
    assert analysis.drivers is None
    unit = vocabulary(store.stories["drivers"]).unit
    assert any(c.startswith("What the model relies on most is not worked out here") and unit in c
               for c in analysis.card.caveats)


def test_a_pinned_aggregate_story_tells_the_same_figures(
        store: Store, told: dict[str, tuple[ResolvedStory, StoryAnalysis]]) -> None:
    from storybook.resolve.snapshot import SnapshotSource, write_snapshot

    story_source = store.stories["counted"]
    resolved, analysis = told["counted"]
    write_snapshot(story_source, resolved, source="sqlite:///mlflow.db")
    try:
        pinned = SnapshotSource().resolve(story_source)
        assert pinned.aggregate_info == resolved.aggregate_info
        again = analyse_story(story_source, pinned)
    finally:
        for made in (story_source.directory / "snapshot.json", *(story_source.directory / "snapshot").glob("*")):
            made.unlink()
    assert again.card.overall == analysis.card.overall
    assert [s.table for s in again.card.slices] == [s.table for s in analysis.card.slices]
    assert again.card.counted == analysis.card.counted
    assert again.cost is not None and analysis.cost is not None
    assert again.cost.comparison is not None and analysis.cost.comparison is not None
    assert again.cost.comparison.best.threshold == analysis.cost.comparison.best.threshold
    assert again.trust is not None and again.trust.reliability == analysis.trust.reliability  # type: ignore[union-attr]


def test_an_aggregate_says_the_leak_checks_need_rows(told: dict[str, tuple[ResolvedStory, StoryAnalysis]]) -> None:
    """Leaks and contradicting outcomes are looked for row by row: counted cells cannot tell them, and say so."""
    _resolved, analysis = told["counted"]
    assert analysis.trust is not None
    [leaks] = [e for level in analysis.trust.levels for e in level.evidence if e.check == "data.leaks"]
    assert leaks.passed is None
    assert "need one row per case with its inputs: this evaluation set holds counts of cases in score bins" in \
        leaks.sentence
    _rows, row_level = told["rows"]
    assert row_level.trust is not None
    assert [e.passed for level in row_level.trust.levels for e in level.evidence if e.check == "data.leaks"] == [True]


def test_the_aggregate_is_among_the_reads_fetched_ahead(store: Store) -> None:
    from storybook.resolve.batch import plan_reads

    assert plan_reads(store.stories["beside"]).artifacts == ("evaluation/sample.csv", "evaluation/aggregate.parquet")
    assert plan_reads(store.stories["counted"]).artifacts == ("evaluation/aggregate.parquet",)


def test_the_rendered_page_tells_the_counts_and_the_same_cost(
        store: Store, told: dict[str, tuple[ResolvedStory, StoryAnalysis]]) -> None:
    import html

    from storybook.render.pages import page_environment, render_story

    resolved, analysis = told["counted"]
    page = html.unescape(render_story(page_environment(None), store.stories["counted"], resolved, analysis,
                                      built_at="(test)", pdf_name=None).html)
    assert f"These figures come from {ROWS:,} customers counted in 50 score bins (made by DuckDB" in page
    cost = analysis.cost
    assert cost is not None and cost.best_threshold_text is not None
    assert cost.comparison is not None and cost.comparison.best.confusion != cost.current_counts
    assert f"A threshold of {cost.best_threshold_text} would cost about" in page  # the edge itself, as computed


@pytest.mark.parametrize(("evaluation", "key", "said"), [
    ({"task": "multiclass", "aggregate": "evaluation/aggregate.parquet", "label_column": "label",
      "classes": [{"value": v, "means": f"need {v}", "probability_column": f"p_{v}"} for v in ("a", "b", "c")]},
     "aggregate:", "aggregate belongs to a binary story"),
    ({**EVALUATION, "aggregate": "evaluation/aggregate.parquet",
      "counts": {"tp": "tp", "fp": "fp", "tn": "tn", "fn": "fn"}}, "counts:", "not both"),
])
def test_an_aggregate_where_it_cannot_serve_is_refused_at_its_line(tmp_path: Path, evaluation: dict[str, Any],
                                                                   key: str, said: str) -> None:
    root = write_project(tmp_path, {"s": story("m", "champion", [{"key": "k", "label": "K"}], evaluation)})
    with pytest.raises(StorybookError) as caught:
        load_story(root, root / "stories" / "s")
    lines = (root / "stories" / "s" / "story.yaml").read_text().splitlines()
    assert said in caught.value.message
    assert caught.value.location is not None
    assert caught.value.location.line == next(i for i, line in enumerate(lines, 1) if key in line)


def test_prose_about_a_group_of_the_aggregate_is_linted_like_row_level_prose(
        store: Store, told: dict[str, tuple[ResolvedStory, StoryAnalysis]], tmp_path: Path) -> None:
    from storybook.review.plain_lints import story_prose_findings

    root = write_project(tmp_path, {"c": {}})
    shutil.copyfile(store.stories["counted"].directory / "story.yaml", root / "stories" / "c" / "story.yaml")
    (root / "stories" / "c" / "caveats-and-recommendations.md").write_text(
        "In the north region, 80% of the leavers are called.\n")
    found = story_prose_findings(load_story(root, root / "stories" / "c"), told["counted"][0])
    assert ("slice-without-size", "a figure for a group (north) without the number of cases it rests on") in [
        (f.code, f.message) for _, f in found]
