"""The binary figures of a counted set (an aggregate's cells, each standing for n cases) against scikit-learn, the
same figures row by row, and the row-level bootstrap: confusion counts, ROC AUC, the cost sweep and its printed
thresholds, the cost slices; on 200,000 generated cases with continuous scores, aggregated by the real DuckDB
engine into 1,000 bins, the best threshold within one bin of the row-level one and the replicate intervals close
to the row-level bootstrap's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix, roc_auc_score

from storybook.aggregate.duckdb_engine import aggregate_with_duckdb
from storybook.aggregate.format import AggregateInfo, draw_replicates, replicate_columns
from storybook.analyse.aggregate_words import counted_sentence, drivers_sample_phrase, engine_name
from storybook.analyse.costs import (
    CostModel,
    best_threshold,
    bootstrap,
    by_slice,
    compare,
    sweep,
    threshold_text,
)
from storybook.metrics.binary import confusion_at, weighted_roc_auc
from storybook.resolve.scored import CountedFrom
from storybook.resolve.scored_aggregate import weighted_set

COSTS = CostModel(cost_fp=1.0, cost_fn=6.0)


def _small(seed: int = 1) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Cells: a label, a score on a grid (with ties across labels), and how many cases each stands for."""
    rng = np.random.default_rng(seed)
    labels = rng.random(300) < 0.4
    scores = np.round(rng.random(300), 2)
    weights = rng.integers(1, 20, size=300).astype(np.int64)
    return labels, scores, weights


def test_weighted_counts_and_ranking_agree_with_scikit_learn() -> None:
    labels, scores, weights = _small()
    for threshold in (0.0, 0.25, 0.5, 0.73, 1.0):
        found = confusion_at(labels, scores, threshold, weights)
        tn, fp, fn, tp = confusion_matrix(labels, scores >= threshold, sample_weight=weights,
                                          labels=[False, True]).ravel()
        assert (found.tp, found.fp, found.tn, found.fn) == (tp, fp, tn, fn)
    area, pos, neg = weighted_roc_auc(labels, scores, weights)
    assert area == pytest.approx(roc_auc_score(labels, scores, sample_weight=weights), abs=1e-12)
    assert (pos, neg) == (int(weights[labels].sum()), int(weights[~labels].sum()))


def test_a_weighted_sweep_is_the_sweep_of_its_cases_one_by_one() -> None:
    labels, scores, weights = _small(2)
    counted = sweep(labels, scores, weights)
    rows = sweep(np.repeat(labels, weights), np.repeat(scores, weights))
    for name in ("thresholds", "tp", "fp", "tn", "fn"):
        assert np.array_equal(getattr(counted, name), getattr(rows, name)), name
    assert (counted.n, counted.positives) == (rows.n, rows.positives)
    best, expected = best_threshold(counted, COSTS), best_threshold(rows, COSTS)
    assert (best.threshold, best.confusion, best.cost_per) == (expected.threshold, expected.confusion,
                                                               expected.cost_per)
    groups = pd.Series(np.where(np.arange(300) % 3 == 0, "a", "b"))
    one_by_one = pd.Series(np.repeat(groups.to_numpy(), weights))
    assert by_slice(labels, scores, groups, COSTS, 0.5, weights=weights) == by_slice(
        np.repeat(labels, weights), np.repeat(scores, weights), one_by_one, COSTS, 0.5)


def test_a_counted_sweep_prints_each_threshold_at_its_edge() -> None:
    # Cells of a 100-bin aggregate: lower edges 0.3 and 0.31; the cases of the 0.3 bin may score up to 0.3099...
    labels = np.array([True, False, True])
    scores = np.array([0.3, 0.3, 0.31])
    counted = sweep(labels, scores, np.array([2, 5, 1]), top=0.3175)
    assert [threshold_text(counted, i) for i in range(2)] == ["0.3", "0.31"]
    assert threshold_text(counted, 2) == "1"  # flag nobody: the fewest decimals above the top case's 0.3175
    rows = sweep(labels, scores)
    assert threshold_text(rows, 1) == "0.305"  # row by row, any number in the gap flags the same rows


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame, AggregateInfo]:
    """200,000 cases with continuous scores, and their aggregate from the real DuckDB engine (1,000 bins, 200
    Poisson replicates)."""
    rng = np.random.default_rng(11)
    n = 200_000
    labels = rng.random(n) < 0.2
    scores = 1 / (1 + np.exp(-rng.normal(np.where(labels, 0.8, -0.9), 1.1)))
    frame = pd.DataFrame({"label": labels.astype(np.int8), "score": scores})
    path = tmp_path_factory.mktemp("large") / "scored.parquet"
    frame.to_parquet(path, index=False)
    cells, info = aggregate_with_duckdb(path, label_column="label", score_column="score", bins=1000,
                                        replicates=200, seed=3)
    drawn = draw_replicates(cells["n"].to_numpy(), info.replicates, info.seed)
    cells = pd.concat([cells, pd.DataFrame(drawn, columns=replicate_columns(info.replicates))], axis=1)
    return frame, cells, info


def test_the_best_threshold_of_the_bins_is_within_one_bin_of_the_row_level_one(
        large: tuple[pd.DataFrame, pd.DataFrame, AggregateInfo]) -> None:
    frame, cells, info = large
    scored = weighted_set(cells, info, 0.5, artifact="evaluation/aggregate.parquet")
    counted = sweep(scored.labels, scored.scores, scored.weights, top=float(cells["score_max"].max()))
    rows = sweep(frame["label"] == 1, frame["score"])
    assert counted.n == rows.n == 200_000
    best, expected = best_threshold(counted, COSTS), best_threshold(rows, COSTS)
    assert abs(best.threshold - expected.threshold) <= 1 / 1000
    assert best.cost_per >= expected.cost_per  # fewer thresholds to choose from, never a cheaper one
    # At its edge the bins' figures are the row-level ones exactly.
    assert compare(rows, COSTS, best.threshold).current == best.confusion
    assert compare(counted, COSTS, 0.5).current == compare(rows, COSTS, 0.5).current


def test_intervals_from_the_replicates_agree_with_the_row_level_bootstrap(
        large: tuple[pd.DataFrame, pd.DataFrame, AggregateInfo]) -> None:
    frame, cells, info = large
    scored = weighted_set(cells, info, 0.5, artifact="evaluation/aggregate.parquet")
    counted = bootstrap(scored.labels, scored.scores, COSTS, weights=scored.weights, replicates=scored.replicates,
                        at_threshold=0.5, seed=info.seed, top=float(cells["score_max"].max()))
    rows = bootstrap(frame["label"] == 1, frame["score"], COSTS, rounds=200, seed=5, at_threshold=0.5)
    assert counted.rounds == 200 and counted.sampled is None and rows.sampled is None
    for name in ("cost_at_threshold", "min_cost"):
        mine, theirs = getattr(counted, name), getattr(rows, name)
        assert mine.low is not None and mine.high is not None and theirs.low is not None and theirs.high is not None
        assert mine.low < mine.value < mine.high if name == "cost_at_threshold" else mine.low < mine.high
        width = theirs.high - theirs.low
        # Two bootstraps of 200 rounds: their ends differ by chance, well within a third of the width; a
        # resampling of the wrong size (cells as cases, or n cases per cell) would be several times off.
        assert abs(mine.low - theirs.low) < width / 3 and abs(mine.high - theirs.high) < width / 3, name
        assert 0.7 < (mine.high - mine.low) / width < 1.4, name
    assert counted.cost_at_threshold is not None and rows.cost_at_threshold is not None
    assert counted.cost_at_threshold.value == pytest.approx(rows.cost_at_threshold.value, abs=1e-9)


def test_the_counted_sentences() -> None:
    counted = CountedFrom(cases=12_400_000, bins=1000, exact=False, engine="duckdb 1.1.3", made_on="2026-12-01",
                          step=0.001, artifact="evaluation/aggregate.parquet")
    assert counted_sentence(counted, "cases") == (
        "These figures come from 12,400,000 cases counted in 1,000 score bins (made by DuckDB 1.1.3 on "
        "2026-12-01); a threshold can be set to the nearest 0.001.")
    odd = CountedFrom(cases=70, bins=7, exact=False, engine="pyspark 3.5.1", made_on="", step=1 / 7, artifact="a")
    assert counted_sentence(odd, "loans").endswith(
        "70 loans counted in 7 score bins (made by Spark 3.5.1); a threshold can be set to the nearest a multiple "
        "of 1/7 (about 0.143).")
    exact = CountedFrom(cases=500, bins=42, exact=True, engine="", made_on="", step=0.0, artifact="a")
    assert counted_sentence(exact, "patients") == (
        "These figures come from 500 patients counted by score: each of their 42 different scores was kept, so "
        "nothing is lost by counting.")
    assert drivers_sample_phrase(counted, 5000, "cases") == (
        "a sample of 5,000 of the 12,400,000 cases (logged beside the counts)")
    assert engine_name("something 2") == "something 2"


def test_an_aggregate_without_replicates_gives_no_intervals_rather_than_guessing(tmp_path: Path) -> None:
    frame = pd.DataFrame({"label": [1, 0, 1, 0, 0, 1], "score": [0.9, 0.1, 0.7, 0.4, 0.6, 0.2]})
    frame.to_parquet(tmp_path / "s.parquet", index=False)
    cells, info = aggregate_with_duckdb(tmp_path / "s.parquet", label_column="label", score_column="score",
                                        bins=10, replicates=0)
    scored = weighted_set(cells, info, 0.5, artifact="a")
    assert scored.replicates is None and scored.n == 6 and scored.counted is not None and scored.counted.exact
    with pytest.raises(ValueError, match="resampled by its replicates"):
        bootstrap(scored.labels, scored.scores, COSTS, weights=scored.weights, replicates=scored.replicates)
