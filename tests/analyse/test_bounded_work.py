"""Issue 24, class 5: analysis work stays bounded whatever the size of the data, and the page says how.

Slices: groups by one factorize + bincount, the largest MAX_GROUPS shown and the rest counted together; the
results agree with a plain per-group loop and with scikit-learn. Bootstrap: an exact resampling of counts when
there are few distinct scores (checked against the row-wise bootstrap within Monte-Carlo tolerance), a stated
random sample past its bounds.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from storybook.analyse import costs as cost_module
from storybook.analyse.classification import (
    MAX_GROUPS,
    auc_estimate,
    confusion_at,
    disaggregate,
    group_rows,
    other_groups_label,
)
from storybook.analyse.cost_words import cost_wording
from storybook.analyse.costs import BOOTSTRAP_SAMPLE, CostModel, bootstrap, by_slice

COSTS = CostModel(cost_fp=1.0, cost_fn=5.0)


def _scored(n: int, seed: int, digits: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < 0.3
    scores = 1.0 / (1.0 + np.exp(-(rng.normal(size=n) + 1.5 * labels - 1.0)))
    return labels, (np.round(scores, digits) if digits is not None else scores)


def test_disaggregate_agrees_with_a_per_group_loop_and_sklearn() -> None:
    labels, scores = _scored(3_000, seed=1, digits=2)
    rng = np.random.default_rng(2)
    column = pd.Series(rng.choice(["b", "a", "c", None], size=3_000), dtype=object)
    column[column == "c"] = 3  # a number among strings is grouped by its text, as before
    overall, [table] = disaggregate(labels, scores, pd.DataFrame({"site": column}), 0.4)
    assert table.merged == 0
    keys = column.astype("string").fillna("(missing)").to_numpy()
    assert [row.value for row in table.rows] == sorted(set(keys))
    for row in table.rows:
        mask = keys == row.value
        assert row.confusion == confusion_at(labels[mask], scores[mask], 0.4)
        assert row.auc == auc_estimate(labels[mask], scores[mask])
        assert row.auc.value == pytest.approx(roc_auc_score(labels[mask], scores[mask]), abs=1e-12)
    assert overall.n == 3_000


def test_many_groups_keep_the_largest_and_count_the_rest_together() -> None:
    rows = 120_000
    labels, scores = _scored(rows, seed=3)
    # 100,002 groups: 60 big ones (sizes 300..359), then 100,002 - 60 single-row groups.
    sizes = np.arange(300, 360)
    big = np.repeat(np.arange(60), sizes)
    codes = np.concatenate([big, 60 + np.arange(rows - big.size)])
    column = pd.Series(codes).map(lambda c: f"g{c:06d}")
    start = time.perf_counter()
    _, [table] = disaggregate(labels, scores, pd.DataFrame({"customer": column}), 0.5)
    assert time.perf_counter() - start < 20
    groups = 60 + rows - big.size
    assert table.merged == groups - MAX_GROUPS
    assert len(table.rows) == MAX_GROUPS + 1
    shown = [row.value for row in table.rows[:-1]]
    assert shown == sorted(f"g{c:06d}" for c in range(10, 60))  # the 50 largest, by name
    other = table.rows[-1]
    assert other.value == other_groups_label(groups - MAX_GROUPS)
    assert other.value == f"(the other {groups - MAX_GROUPS:,} smaller groups)"
    kept = np.isin(codes, np.arange(10, 60))
    assert other.n == rows - int(kept.sum())
    assert other.confusion == confusion_at(labels[~kept], scores[~kept], 0.5)
    assert sum(row.n for row in table.rows) == rows


def test_group_rows_breaks_size_ties_by_name_and_keeps_empty_categories_when_asked() -> None:
    column = pd.Series(pd.Categorical(["x", "y", "y", None], categories=["x", "y", "z"]))
    grouping = group_rows(column, categories=True)
    assert grouping.names == ("(missing)", "x", "y", "z")
    assert list(grouping.codes) == [1, 2, 2, 0]
    assert group_rows(column).names == ("(missing)", "x", "y")
    capped = group_rows(pd.Series(["b", "a", "c", "c"]), limit=2)
    assert capped.names == ("a", "c", "(the other 1 smaller groups)")  # a and b tie at 1: a, by name
    assert list(capped.codes) == [2, 0, 1, 1]


def test_cost_by_slice_with_many_groups_counts_every_case_once() -> None:
    rows = 60_000
    labels, scores = _scored(rows, seed=4)
    column = pd.Series(np.arange(rows) % 20_000)
    found = by_slice(labels, scores, column, COSTS, 0.5)
    assert len(found) == MAX_GROUPS + 1
    assert found[-1].value == "(the other 19,950 smaller groups)"
    assert sum(row.n for row in found) == rows
    assert sum(row.confusion.fn for row in found) == confusion_at(labels, scores, 0.5).fn


def _interval(result: cost_module.BootstrapResult) -> tuple[float, float]:
    assert result.saving is not None and result.saving.low is not None and result.saving.high is not None
    return result.saving.low, result.saving.high


def test_resampling_counts_matches_resampling_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Few distinct scores: resampling the counts of each (score, label) is the row bootstrap, exactly in law."""
    labels, scores = _scored(20_000, seed=5, digits=2)
    rows = bootstrap(labels, scores, COSTS, rounds=2_000, seed=1, at_threshold=0.5)
    assert rows.sampled is None
    monkeypatch.setattr(cost_module, "BOOTSTRAP_SAMPLE", 1_000)  # force the counts path on the same data
    counts = bootstrap(labels, scores, COSTS, rounds=2_000, seed=1, at_threshold=0.5)
    assert counts.sampled is None
    assert counts.min_cost.value == rows.min_cost.value and counts.saving.value == rows.saving.value  # type: ignore[union-attr]
    (low_r, high_r), (low_c, high_c) = _interval(rows), _interval(counts)
    width = high_r - low_r
    # Percentile ends from 2,000 rounds wander by a few percent of the width; the two laws are the same.
    assert abs(low_c - low_r) < 0.1 * width and abs(high_c - high_r) < 0.1 * width
    m_r, m_c = rows.min_cost, counts.min_cost
    assert abs(m_c.low - m_r.low) < 0.1 * (m_r.high - m_r.low)  # type: ignore[operator]
    assert abs(m_c.high - m_r.high) < 0.1 * (m_r.high - m_r.low)  # type: ignore[operator]


def test_large_sets_with_many_scores_bootstrap_a_stated_sample_in_bounded_time() -> None:
    n = 1_000_000
    labels, scores = _scored(n, seed=6)
    start = time.perf_counter()
    result = bootstrap(labels, scores, COSTS, rounds=200, seed=0, at_threshold=0.5)
    assert time.perf_counter() - start < 30
    assert result.sampled == min(BOOTSTRAP_SAMPLE, cost_module.BOOTSTRAP_WORK // 200) and result.cases == n
    whole = cost_module.compare(cost_module.sweep(labels, scores), COSTS, 0.5)
    assert result.saving is not None and result.saving.value == whole.saving_per  # the figure: every case
    low, high = _interval(result)
    assert low < whole.saving_per < high
    again = bootstrap(labels, scores, COSTS, rounds=200, seed=0, at_threshold=0.5)
    assert _interval(again) == (low, high)  # seeded: the same sample and resamples


def test_rounds_times_rows_is_bounded_too() -> None:
    labels, scores = _scored(50_000, seed=7)
    result = bootstrap(labels, scores, COSTS, rounds=10_000, seed=0)
    assert result.sampled == cost_module.BOOTSTRAP_WORK // 10_000 == 10_000


def test_the_page_says_the_intervals_come_from_a_sample() -> None:
    from storybook.analyse.cost_story import analyse_cost_story
    from storybook.analyse.plain import Vocabulary
    from storybook.sources.schema import CostOfError

    n = 400_000
    labels, scores = _scored(n, seed=8)
    spec = CostOfError(unit="hours", owner="the lead", false_positive=1, false_negative=20, population=1000,
                       bootstrap_rounds=100)
    story = analyse_cost_story(spec, labels, scores, 0.7, pd.DataFrame(index=range(n)), [], 30)
    said = cost_wording(story, Vocabulary(unit="patients"))
    text = " ".join((*said.choice, *said.threshold_uncertainty))
    drawn = min(BOOTSTRAP_SAMPLE, cost_module.BOOTSTRAP_WORK // 100)
    assert f"a random sample of {drawn:,} of its {n:,} patients" in text


def test_trust_data_checks_with_100002_groups_are_quick_and_name_at_most_12() -> None:
    from storybook.analyse.trust_checks import check_label_rates, check_missing, check_small_slices, label_rates

    rows = 200_000
    labels, _ = _scored(rows, seed=9)
    groups = pd.Series(np.concatenate([np.repeat(np.arange(2), 50_000), np.arange(2, 100_002)]), name="customer")
    start = time.perf_counter()
    rates = label_rates(labels, groups)
    small = check_small_slices(groups, min_size=30, source="the evaluation set")
    told = check_label_rates(labels, groups, min_size=30, source="the evaluation set")
    frame = pd.DataFrame({"a": np.where(np.arange(rows) % 10 == 0, np.nan, 1.0)})
    missing = check_missing(frame, groups, source="the evaluation set")
    assert time.perf_counter() - start < 20
    assert len(rates) == 100_002 and sum(r.n for r in rates) == rows
    assert rates[0].positives == int(labels[:50_000].sum())
    assert small.passed is False and "100,000 of 100,002 customer groups have fewer than 30" in small.sentence
    assert small.sentence.endswith("and 99,988 more.") and len(small.sentence) < 1_000
    assert "Too small to judge (fewer than 30 rows)" in told.sentence and len(told.sentence) < 2_000
    assert "1 in 10" in missing.sentence or "10 in 100" in missing.sentence


def test_a_million_point_series_is_checked_in_bounded_time() -> None:
    from storybook.analyse.trust_checks import MAX_CHANGE_READINGS, check_change, check_guardrails, find_change

    n = 1_000_000
    rng = np.random.default_rng(10)
    values = 0.4 + rng.normal(0, 0.01, n)
    values[700_000:] += 0.05  # a change in level at reading 700,000
    values[123_456] = 0.9  # one reading above the guardrail

    series = [(i, 1_700_000_000_000 + i * 60_000, float(v)) for i, v in enumerate(values)]  # (step, time, value)
    start = time.perf_counter()
    guard = check_guardrails(series, lower=0.2, upper=0.6, name="the average score", source="production")
    change = check_change(series, name="the average score", source="production")
    marked = find_change(values)  # what the chart marks: the same bounded test
    assert time.perf_counter() - start < 60
    assert marked.changed and marked.index == change.figures["index"]
    assert guard.passed is False and guard.figures["outside"] == 1 and guard.figures["first_break_step"] == 123_456
    assert change.passed is False
    # The change is found at the first reading of the average where it happened: within one average of it.
    assert abs(int(change.figures["index"]) - 700_000) <= n // MAX_CHANGE_READINGS  # type: ignore[arg-type]
    assert f"judged on {MAX_CHANGE_READINGS:,} averages of about 100 consecutive readings" in change.sentence
    assert change.figures["after_mean"] == pytest.approx(float(values[int(change.figures["index"]):].mean()))  # type: ignore[arg-type]



def test_reconciling_a_logged_figure_sweeps_every_cut_at_once_with_the_same_values() -> None:
    """reconcile._sweep (why a logged figure differs: another threshold?) agrees with a per-cut loop."""
    from storybook.analyse import reconcile
    from storybook.analyse.classification import Confusion

    rng = np.random.default_rng(11)
    for _ in range(20):
        n = int(rng.integers(1, 200))
        labels, scores = rng.random(n) < rng.random(), np.round(rng.random(n), 2)
        for kind in ("recall", "precision", "specificity", "accuracy", "false_positive_rate", "false_negative_rate",
                     "f1"):
            logged = float(rng.random())
            expected = []
            for cut in np.unique(scores):
                flagged = scores >= cut
                confusion = Confusion(tp=int((labels & flagged).sum()), fp=int((~labels & flagged).sum()),
                                      tn=int((~labels & ~flagged).sum()), fn=int((labels & ~flagged).sum()))
                value = reconcile._kind_at(kind, confusion)
                if reconcile._agrees(value, logged):
                    expected.append((float(cut), value))
            assert reconcile._sweep(kind, labels, scores, logged) == expected
    labels, scores = _scored(2_000_000, seed=12)
    start = time.perf_counter()
    reconcile._sweep("recall", labels, scores, 0.8)
    assert time.perf_counter() - start < 20


def test_a_steady_long_series_says_how_it_was_judged_without_a_date() -> None:
    from storybook.analyse.trust_checks import check_change

    values = 0.4 + np.random.default_rng(13).normal(0, 0.01, 30_000)
    series = [(i, 1_700_000_000_000 + i * 60_000, float(v)) for i, v in enumerate(values)]
    steady = check_change(series, name="the average score", source="production")
    assert steady.passed is True
    assert steady.sentence.endswith("(judged on 10,000 averages of about 3 consecutive readings each).")


def test_a_row_of_merged_groups_is_never_compared_as_one_group() -> None:
    from storybook.analyse.classification import proportion
    from storybook.analyse.trust_checks import check_slice_gaps

    rates = {"a": proportion(80, 100), "b": proportion(78, 100),
             "(the other 9,950 smaller groups)": proportion(10, 100_000)}
    found = check_slice_gaps(rates, 0.1, metric="recall", slice_name="customer", source="the evaluation set")
    assert found.passed is True and found.figures["lowest"] == "b"
    assert "Only the groups shown one by one are compared; the other 9,950 smaller groups are counted together." \
        in found.sentence
