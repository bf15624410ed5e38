"""Cost of error, checked against numbers worked out by hand and against scikit-learn.

The hand table used throughout (8 cases, 4 positives; two pairs of tied scores, 0.8 and 0.4):

    row    0    1    2    3    4    5    6    7
    score  0.9  0.8  0.8  0.6  0.4  0.4  0.2  0.1
    label  1    1    0    1    0    1    0    0

Flag when score >= threshold. At each candidate threshold (the distinct scores, then one above 0.9):

    threshold  flagged rows        tp fp tn fn
    0.1        all 8               4  4  0  0
    0.2        all but row 7       4  3  1  0
    0.4        rows 0-5            4  2  2  0
    0.6        rows 0-3            3  1  3  1
    0.8        rows 0-2            2  1  3  2
    0.9        row 0               1  0  4  3
    above 0.9  none                0  0  4  4

With cost_fp = 1 and cost_fn = 5 the totals are 4, 3, 2, 6, 11, 15, 20; divided by 8 cases and multiplied
by 1,000: 500, 375, 250, 750, 1375, 1875, 2500 per 1,000.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix

from storybook.analyse.classification import Confusion, confusion_at
from storybook.analyse.costs import (
    CostModel,
    best_threshold,
    bootstrap,
    by_slice,
    compare,
    costs_from_ratio,
    expected_cost,
    natural_frequencies,
    sweep,
)

SCORES = [0.9, 0.8, 0.8, 0.6, 0.4, 0.4, 0.2, 0.1]
LABELS = [1, 1, 0, 1, 0, 1, 0, 0]
FP1_FN5 = CostModel(cost_fp=1.0, cost_fn=5.0)


def _random_table(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A scored evaluation set with many ties (scores rounded to 2 decimals)."""
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < 0.3
    scores = np.round(np.clip(0.35 * labels + 0.65 * rng.random(n), 0.0, 1.0), 2)
    return labels, scores


# --- sweep ---------------------------------------------------------------------------------------------


def test_sweep_hand_table_with_ties() -> None:
    result = sweep(LABELS, SCORES)
    assert result.thresholds[:-1].tolist() == [0.1, 0.2, 0.4, 0.6, 0.8, 0.9]
    assert result.thresholds[-1] > 0.9  # the flag-nobody threshold
    assert result.tp.tolist() == [4, 4, 4, 3, 2, 1, 0]
    assert result.fp.tolist() == [4, 3, 2, 1, 1, 0, 0]
    assert result.tn.tolist() == [0, 1, 2, 3, 3, 4, 4]
    assert result.fn.tolist() == [0, 0, 0, 1, 2, 3, 4]
    assert (result.n, result.positives) == (8, 4)
    assert result.confusion(3) == Confusion(tp=3, fp=1, tn=3, fn=1)


def test_sweep_does_not_depend_on_row_order() -> None:
    order = [7, 2, 5, 0, 4, 1, 6, 3]
    shuffled = sweep([LABELS[i] for i in order], [SCORES[i] for i in order])
    assert shuffled.tp.tolist() == [4, 4, 4, 3, 2, 1, 0]
    assert shuffled.fp.tolist() == [4, 3, 2, 1, 1, 0, 0]


def test_sweep_arrays_are_read_only() -> None:
    result = sweep(LABELS, SCORES)
    with pytest.raises(ValueError, match="read-only"):
        result.tp[0] = 99


def test_sweep_agrees_with_sklearn_and_confusion_at_at_every_threshold() -> None:
    labels, scores = _random_table(2_000, seed=3)
    result = sweep(labels, scores)
    assert result.thresholds.size < 200  # rounding to 2 decimals really made ties
    assert np.all(np.diff(result.thresholds) > 0)
    for i, threshold in enumerate(result.thresholds):
        tn, fp, fn, tp = confusion_matrix(labels, scores >= threshold, labels=[False, True]).ravel()
        assert result.confusion(i) == Confusion(tp=int(tp), fp=int(fp), tn=int(tn), fn=int(fn))
        assert result.confusion(i) == confusion_at(labels, scores, float(threshold))


def test_index_for_any_threshold_matches_confusion_at() -> None:
    labels, scores = _random_table(500, seed=4)
    result = sweep(labels, scores)
    for threshold in [-1.0, 0.0, 0.005, 0.3, 0.333, 0.5, 0.999, 1.0, 1.5]:
        assert result.confusion(result.index_for(threshold)) == confusion_at(labels, scores, threshold)


def test_empty_input_gives_empty_sweep_and_costs() -> None:
    result = sweep([], [])
    assert result.n == 0 and result.thresholds.size == 0
    assert expected_cost(result, FP1_FN5).size == 0
    with pytest.raises(ValueError, match="no cases"):
        best_threshold(result, FP1_FN5)
    with pytest.raises(ValueError, match="no cases"):
        bootstrap([], [], FP1_FN5, rounds=5)
    assert by_slice([], [], pd.Series([], dtype=object), FP1_FN5, 0.5) == ()


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        sweep([1, 0], [0.5, float("nan")])
    with pytest.raises(ValueError, match="length"):
        sweep([1, 0, 1], [0.5, 0.2])
    with pytest.raises(ValueError, match="finite"):
        CostModel(cost_fp=float("inf"), cost_fn=1.0)
    with pytest.raises(ValueError, match="capacity"):
        best_threshold(sweep(LABELS, SCORES), FP1_FN5, capacity=1.5)


# --- expected cost and the best threshold --------------------------------------------------------------


def test_expected_cost_hand_table() -> None:
    # Totals 4, 3, 2, 6, 11, 15, 20 over 8 cases (see the module docstring).
    assert expected_cost(sweep(LABELS, SCORES), FP1_FN5).tolist() == [500, 375, 250, 750, 1375, 1875, 2500]
    # Per 100 instead: a tenth of the above.
    assert expected_cost(sweep(LABELS, SCORES), FP1_FN5, per=100).tolist() == [
        50, 37.5, 25, 75, 137.5, 187.5, 250]


def test_expected_cost_counts_every_cell() -> None:
    # tp costs 2, tn costs 1, fp 0, fn 0. At 0.6: 3 * 2 + 3 * 1 = 9 -> 9 / 8 * 1000 = 1125.
    # At 0.1 (flag all): 4 * 2 = 8 -> 1000. Flag nobody: 4 * 1 = 4 -> 500.
    costs = CostModel(cost_fp=0.0, cost_fn=0.0, cost_tp=2.0, cost_tn=1.0)
    cost = expected_cost(sweep(LABELS, SCORES), costs)
    assert (cost[3], cost[0], cost[-1]) == (1125.0, 1000.0, 500.0)


def test_best_threshold_hand_table() -> None:
    choice = best_threshold(sweep(LABELS, SCORES), FP1_FN5)
    # The cheapest total is 2 at threshold 0.4: 6 of 8 flagged.
    assert choice.threshold == 0.4 and choice.index == 2
    assert choice.confusion == Confusion(tp=4, fp=2, tn=2, fn=0)
    assert choice.cost_per == 250.0 and choice.flagged_share == 0.75
    assert not (choice.capacity_binding or choice.nothing_fits or choice.flags_nobody)


def test_ties_in_cost_choose_the_highest_threshold() -> None:
    # cost_fp = cost_fn = 1: totals 4, 3, 2, 2, 3, 3, 4. Thresholds 0.4 and 0.6 both cost 2; 0.6 flags fewer.
    choice = best_threshold(sweep(LABELS, SCORES), costs_from_ratio(1.0))
    assert choice.threshold == 0.6 and choice.confusion.flagged == 4 and choice.cost_per == 250.0


def test_ties_survive_floating_point_rounding() -> None:
    # cost_fp 0.3, cost_tn 0.2, cost_fn 0.1. At 0.4: 2 * 0.3 + 2 * 0.2 = 1.0 exactly on paper.
    # At 0.6: 0.3 + 3 * 0.2 + 0.1 = 1.0 on paper, but 1.0000000000000002 in floating point.
    # Every other threshold costs more (0.8: 0.3 + 0.6 + 0.2 = 1.1). The tie goes to the higher, 0.6.
    costs = CostModel(cost_fp=0.3, cost_fn=0.1, cost_tn=0.2)
    totals = expected_cost(sweep(LABELS, SCORES), costs) * 8 / 1000
    assert totals[3] != totals[2]  # the rounding really is there
    assert best_threshold(sweep(LABELS, SCORES), costs).threshold == 0.6


def test_capacity_not_binding() -> None:
    # At most 80% of 8 = 6.4, so 6 may be flagged: threshold 0.4 (6 flagged) is still allowed.
    choice = best_threshold(sweep(LABELS, SCORES), FP1_FN5, capacity=0.8)
    assert choice.threshold == 0.4 and not choice.capacity_binding and choice.cost_per == 250.0


def test_capacity_binding() -> None:
    # At most 50% = 4 flagged: allowed thresholds 0.6 (4), 0.8 (3), 0.9 (1), none (0) with totals 6, 11,
    # 15, 20. Cheapest is 0.6 at 6 / 8 * 1000 = 750, against 250 without the capacity.
    choice = best_threshold(sweep(LABELS, SCORES), FP1_FN5, capacity=0.5)
    assert choice.threshold == 0.6 and choice.capacity_binding and not choice.nothing_fits
    assert (choice.cost_per, choice.uncapped_cost_per, choice.flagged_share) == (750.0, 250.0, 0.5)


def test_capacity_of_exactly_one_case() -> None:
    # 12.5% of 8 = 1 case: only threshold 0.9 (1 flagged, total 15) or nobody (20). 15 / 8 * 1000 = 1875.
    choice = best_threshold(sweep(LABELS, SCORES), FP1_FN5, capacity=0.125)
    assert choice.threshold == 0.9 and choice.cost_per == 1875.0 and choice.capacity_binding


def test_capacity_that_fits_nobody_flags_nobody() -> None:
    # 10% of 8 = 0.8 cases: no threshold that flags anyone fits, so nobody is flagged: total 20 -> 2500.
    choice = best_threshold(sweep(LABELS, SCORES), FP1_FN5, capacity=0.1)
    assert choice.nothing_fits and choice.flags_nobody and choice.capacity_binding
    assert choice.threshold > max(SCORES) and choice.confusion.flagged == 0 and choice.cost_per == 2500.0


def test_capacity_share_is_not_lost_to_floating_point() -> None:
    # 0.29 * 100 is 28.999999999999996 in floating point; the capacity still means 29 out of 100.
    # Everyone is positive and a miss costs 1, so the best choice flags as many as allowed.
    scores = np.arange(100) / 100
    choice = best_threshold(sweep(np.ones(100, dtype=bool), scores), costs_from_ratio(1.0), capacity=0.29)
    assert choice.confusion.flagged == 29 and choice.threshold == 0.71


def test_all_positive_labels() -> None:
    # Labels 1, 1, 1 with scores 0.9, 0.5, 0.3: no false alarm is possible, so flag everyone (0.3, cost 0).
    result = sweep([1, 1, 1], [0.9, 0.5, 0.3])
    assert result.fp.tolist() == [0, 0, 0, 0] and result.tp.tolist() == [3, 2, 1, 0]
    choice = best_threshold(result, FP1_FN5)
    assert choice.threshold == 0.3 and choice.cost_per == 0.0


def test_all_negative_labels_flag_nobody() -> None:
    # Nothing to find: every threshold but the last flags at least one false alarm.
    choice = best_threshold(sweep([0, 0, 0], [0.9, 0.5, 0.3]), FP1_FN5)
    assert choice.flags_nobody and choice.cost_per == 0.0 and not choice.nothing_fits


def test_costs_from_ratio() -> None:
    assert costs_from_ratio(4.0) == CostModel(cost_fp=1.0, cost_fn=4.0, cost_tp=0.0, cost_tn=0.0)
    with pytest.raises(ValueError, match="positive"):
        costs_from_ratio(0.0)


# --- comparing with the threshold in use ---------------------------------------------------------------


def test_compare_current_against_best() -> None:
    # In use: 0.5, which flags the same rows as 0.6 (tp 3 fp 1 tn 3 fn 1, total 6 -> 750).
    # Best: 0.4 at 250. Saving 750 - 250 = 500 per 1,000.
    result = compare(sweep(LABELS, SCORES), FP1_FN5, 0.5)
    assert result.current == Confusion(tp=3, fp=1, tn=3, fn=1)
    assert (result.current_cost_per, result.best.cost_per, result.saving_per) == (750.0, 250.0, 500.0)


def test_compare_thresholds_outside_the_scores() -> None:
    # Above every score: nobody flagged, total 20 -> 2500. Below every score: all flagged, total 4 -> 500.
    above = compare(sweep(LABELS, SCORES), FP1_FN5, 0.95)
    below = compare(sweep(LABELS, SCORES), FP1_FN5, 0.0)
    assert (above.current.flagged, above.current_cost_per, above.saving_per) == (0, 2500.0, 2250.0)
    assert (below.current.flagged, below.current_cost_per, below.saving_per) == (8, 500.0, 250.0)


def test_compare_with_capacity_can_cost_more_than_today() -> None:
    # Today 0.4 (250); capped at 50% the best is 0.6 (750): the "saving" is 250 - 750 = -500.
    result = compare(sweep(LABELS, SCORES), FP1_FN5, 0.4, capacity=0.5)
    assert result.saving_per == -500.0 and result.best.capacity_binding


# --- natural frequencies -------------------------------------------------------------------------------


def test_natural_frequencies_exact_shares() -> None:
    # tp 4, fp 2, tn 2, fn 0 out of 8 -> 500, 250, 250, 0 out of 1,000, no rounding needed.
    freq = natural_frequencies(Confusion(tp=4, fp=2, tn=2, fn=0))
    assert (freq.tp, freq.fp, freq.tn, freq.fn, freq.out_of) == (500, 250, 250, 0, 8)


def test_natural_frequencies_round_the_margins_first() -> None:
    # 1, 1, 1, 0 out of 3. Margins first: positives 1/3 -> 333.33, negatives 666.67; whole parts 333 + 666,
    # the one left over goes to the larger remainder (negatives): 333 and 667. Flagged 2/3 -> 667. Cells:
    # tp 333.33 rounds to 333 or 334; tp = 334 would leave fn = -1, so tp 333, fp 334, tn 333, fn 0.
    freq = natural_frequencies(Confusion(tp=1, fp=1, tn=1, fn=0))
    assert (freq.tp, freq.fp, freq.tn, freq.fn) == (333, 334, 333, 0)


def test_natural_frequencies_where_plain_rounding_overshoots() -> None:
    # 1, 1, 1, 3 out of 6: shares 166.67, 166.67, 166.67, 500. Rounding each gives 167 * 3 + 500 = 1001.
    # Margins: positives 4/6 -> 667, flagged 2/6 -> 333. tp = 166 would need fn = 501 (fn is exactly 500),
    # so tp 167, fp 166, tn 167, fn 500.
    freq = natural_frequencies(Confusion(tp=1, fp=1, tn=1, fn=3))
    assert (freq.tp, freq.fp, freq.tn, freq.fn) == (167, 166, 167, 500)
    assert (freq.flagged, freq.positives, freq.negatives, freq.not_flagged) == (333, 667, 333, 667)


def test_natural_frequencies_choose_the_closest_rounding_that_adds_up() -> None:
    # 7, 3, 2, 1 out of 13: positives 8/13 -> 615.38 (remainder 5/13), negatives 384.62 (8/13) -> 615, 385.
    # Flagged 10/13 -> 769.23 (3/13), not flagged 230.77 (10/13) -> 769. Cells 538.46, 230.77, 153.85, 76.92:
    # tp 538 gives 538, 231, 154, 77 (each its share rounded down or up); tp 539 would need tn 155.
    freq = natural_frequencies(Confusion(tp=7, fp=3, tn=2, fn=1))
    assert (freq.tp, freq.fp, freq.tn, freq.fn) == (538, 231, 154, 77)
    # 2, 1, 1, 1 out of 5 per 2: positives 1.2 -> 1, flagged 1.2 -> 1; cells 0.8, 0.4, 0.4, 0.4. Both tp 0
    # (0, 1, 0, 1) and tp 1 (1, 0, 1, 0) add up; squared errors 1.52 and 0.72, so tp 1.
    freq = natural_frequencies(Confusion(tp=2, fp=1, tn=1, fn=1), per=2)
    assert (freq.tp, freq.fp, freq.tn, freq.fn) == (1, 0, 1, 0)
    # 1, 1, 4, 0 out of 6: positives 166.67 -> 167, flagged 333.33 -> 333; fn is exactly 0, so tp 167.
    freq = natural_frequencies(Confusion(tp=1, fp=1, tn=4, fn=0))
    assert (freq.tp, freq.fp, freq.tn, freq.fn) == (167, 166, 667, 0)


def test_natural_frequencies_of_one_set_share_their_positives() -> None:
    # The same 171 cases (64 positive) at every threshold: always 374 of 1,000 who are positive, the one
    # denominator a section tells ("Of the 374 who ..."). Rounding each cell on its own gave 374 or 375.
    positives, n = 64, 171
    told = set()
    for tp in range(positives + 1):
        for fp in range(0, n - positives + 1, 7):
            freq = natural_frequencies(Confusion(tp=tp, fp=fp, tn=n - positives - fp, fn=positives - tp))
            told.add(freq.positives)
    assert told == {374}  # 64 / 171 * 1000 = 374.27


def test_natural_frequencies_never_tell_a_count_over_capacity_as_within_it() -> None:
    # 301 flagged of 1,001 is 300.70 of 1,000: rounds to 301, above a capacity of 300 either way. 3,001 flagged
    # of 10,001 is 300.07 per 1,000: plain rounding says 300, which would read as within the capacity of 300;
    # with the capacity it is rounded up to 301.
    assert natural_frequencies(Confusion(tp=200, fp=101, tn=600, fn=100), capacity=300).flagged == 301
    close = Confusion(tp=2000, fp=1001, tn=6000, fn=1000)
    assert natural_frequencies(close).flagged == 300
    assert natural_frequencies(close, capacity=300).flagged == 301
    # Within the capacity, nothing changes.
    assert natural_frequencies(Confusion(tp=2000, fp=999, tn=6002, fn=1000), capacity=300).flagged == 300


def test_natural_frequencies_always_add_up() -> None:
    rng = np.random.default_rng(11)
    for _ in range(500):
        tp, fp, tn, fn = (int(x) for x in rng.integers(0, 60, size=4))
        if tp + fp + tn + fn == 0:
            continue
        confusion = Confusion(tp=tp, fp=fp, tn=tn, fn=fn)
        freq = natural_frequencies(confusion)
        assert freq.tp + freq.fp + freq.tn + freq.fn == 1000
        for cell, exact in zip((freq.tp, freq.fp, freq.tn, freq.fn), (tp, fp, tn, fn), strict=True):
            assert abs(cell - exact * 1000 / confusion.n) < 1
            if exact == 0:
                assert cell == 0


def test_natural_frequencies_of_nothing() -> None:
    with pytest.raises(ValueError, match="no cases"):
        natural_frequencies(Confusion(tp=0, fp=0, tn=0, fn=0))


# --- slices: who carries the mistakes ------------------------------------------------------------------


GROUPS = pd.Series(["a", "b", "a", "b", None, "a", "b", "c"])


def test_by_slice_hand_table() -> None:
    # Threshold 0.5 flags rows 0-3. Overall: tp 3, fp 1, tn 3, fn 1.
    #   a: rows 0 (tp), 2 (fp), 5 (label 1, score 0.4: fn) -> tp 1 fp 1 tn 0 fn 1; cost 1 + 5 = 6 over 3
    #      cases -> 2000 per 1,000; it carries the only fn and the only fp.
    #   b: rows 1 (tp), 3 (tp), 6 (tn) -> cost 0.   (missing): row 4 (tn).   c: row 7 (tn), one class.
    rows = by_slice(LABELS, SCORES, GROUPS, FP1_FN5, 0.5)
    assert [r.value for r in rows] == ["(missing)", "a", "b", "c"]
    a = rows[1]
    assert a.confusion == Confusion(tp=1, fp=1, tn=0, fn=1) and (a.n, a.positives) == (3, 2)
    assert a.cost_per == 2000.0 and a.share_of_cases == 3 / 8
    assert (a.share_of_false_negatives, a.share_of_false_positives) == (1.0, 1.0)
    assert rows[2].confusion == Confusion(tp=2, fp=0, tn=1, fn=0) and rows[2].cost_per == 0.0
    c = rows[3]
    assert c.confusion == Confusion(tp=0, fp=0, tn=1, fn=0) and c.positives == 0
    assert c.share_of_false_negatives == 0.0 and c.cost_per == 0.0
    assert all(r.small for r in rows)  # every group is under the default 30


def test_by_slice_min_size() -> None:
    rows = by_slice(LABELS, SCORES, GROUPS, FP1_FN5, 0.5, min_size=2)
    assert [r.small for r in rows] == [True, False, False, True]


def test_by_slice_agrees_with_confusion_at_per_group() -> None:
    labels, scores = _random_table(1_000, seed=5)
    groups = pd.Series(np.random.default_rng(6).choice(["north", "south", "east"], size=1_000))
    rows = by_slice(labels, scores, groups, FP1_FN5, 0.5)
    for row in rows:
        mask = (groups == row.value).to_numpy()
        assert row.confusion == confusion_at(labels[mask], scores[mask], 0.5)
    total = confusion_at(labels, scores, 0.5)
    assert sum(r.confusion.fn for r in rows) == total.fn
    assert sum(r.share_of_false_negatives or 0.0 for r in rows) == pytest.approx(1.0)
    assert sum(r.share_of_false_positives or 0.0 for r in rows) == pytest.approx(1.0)


def test_by_slice_empty_category_and_all_positive_labels() -> None:
    # All positive; threshold 0.5 flags 0.9 and 0.5, misses 0.3. Group "x" holds rows 0, 1 (tp, tp),
    # "y" holds row 2 (fn). The unused category "z" shows with n = 0 and no cost.
    groups = pd.Series(pd.Categorical(["x", "x", "y"], categories=["z", "y", "x"]))
    rows = by_slice([1, 1, 1], [0.9, 0.5, 0.3], groups, FP1_FN5, 0.5)
    assert [r.value for r in rows] == ["x", "y", "z"]
    x, y, z = rows
    assert x.confusion == Confusion(tp=2, fp=0, tn=0, fn=0) and x.cost_per == 0.0
    assert y.confusion == Confusion(tp=0, fp=0, tn=0, fn=1) and y.cost_per == 5000.0  # 5 over 1 case
    assert y.share_of_false_negatives == 1.0
    assert x.share_of_false_positives is None  # nobody anywhere is a false alarm
    assert (z.n, z.cost_per, z.share_of_cases, z.small) == (0, None, 0.0, True)


def test_by_slice_checks_lengths() -> None:
    with pytest.raises(ValueError, match="groups"):
        by_slice(LABELS, SCORES, pd.Series(["a"]), FP1_FN5, 0.5)


# --- bootstrap -----------------------------------------------------------------------------------------


def test_bootstrap_is_reproducible() -> None:
    labels, scores = _random_table(800, seed=8)
    first = bootstrap(labels, scores, FP1_FN5, rounds=200, seed=42, at_threshold=0.5)
    again = bootstrap(labels, scores, FP1_FN5, rounds=200, seed=42, at_threshold=0.5)
    other = bootstrap(labels, scores, FP1_FN5, rounds=200, seed=43, at_threshold=0.5)
    assert first == again
    assert first.min_cost != other.min_cost


def test_bootstrap_intervals_contain_the_point_estimates() -> None:
    labels, scores = _random_table(2_000, seed=9)
    result = bootstrap(labels, scores, FP1_FN5, rounds=300, seed=1, at_threshold=0.5)
    whole = compare(sweep(labels, scores), FP1_FN5, 0.5)
    assert result.min_cost.value == whole.best.cost_per
    assert result.threshold.value == whole.best.threshold
    assert result.cost_at_threshold is not None and result.saving is not None
    assert result.saving.value == whole.saving_per
    for estimate in (result.min_cost, result.threshold, result.cost_at_threshold, result.saving):
        assert estimate.low is not None and estimate.high is not None and estimate.value is not None
        assert estimate.low <= estimate.value <= estimate.high
    assert result.min_cost.width is not None and result.min_cost.width > 0
    assert result.saving.low is not None and result.saving.low > 0  # 0.5 is clearly costlier than the best


def test_bootstrap_one_round_is_the_documented_resample() -> None:
    # Round 1 resamples rows rng.integers(0, n, size=n) of default_rng(seed): redo it by hand.
    labels, scores = _random_table(300, seed=10)
    result = bootstrap(labels, scores, FP1_FN5, rounds=1, seed=5, at_threshold=0.5)
    rows = np.random.default_rng(5).integers(0, 300, size=300)
    again = compare(sweep(labels[rows], scores[rows]), FP1_FN5, 0.5)
    assert result.min_cost.low == result.min_cost.high == pytest.approx(again.best.cost_per)
    assert result.threshold.low == again.best.threshold
    assert result.cost_at_threshold is not None
    assert result.cost_at_threshold.low == pytest.approx(again.current_cost_per)


def test_bootstrap_paired_saving_of_the_same_threshold_is_zero() -> None:
    # Current = best: on every resample both costs come from the same rows, so every difference is 0.
    labels, scores = _random_table(500, seed=12)
    best = best_threshold(sweep(labels, scores), FP1_FN5)
    result = bootstrap(labels, scores, FP1_FN5, rounds=100, at_threshold=best.threshold)
    assert result.saving is not None
    assert (result.saving.value, result.saving.low, result.saving.high) == (0.0, 0.0, 0.0)
    assert result.cost_at_threshold is not None and result.cost_at_threshold.low != result.cost_at_threshold.high


def test_bootstrap_nothing_to_find() -> None:
    # All negative: every resample's cheapest choice is to flag nobody, at cost 0.
    result = bootstrap([0] * 20, np.linspace(0, 1, 20), FP1_FN5, rounds=50)
    assert (result.min_cost.low, result.min_cost.high) == (0.0, 0.0)
    assert result.threshold.low == result.threshold.high == result.threshold.value
    assert result.threshold.value is not None and result.threshold.value > 1.0
    assert result.cost_at_threshold is None and result.saving is None


def test_bootstrap_respects_capacity() -> None:
    labels, scores = _random_table(1_000, seed=13)
    capped = bootstrap(labels, scores, FP1_FN5, rounds=100, capacity=0.1)
    free = bootstrap(labels, scores, FP1_FN5, rounds=100)
    assert capped.min_cost.value is not None and free.min_cost.value is not None
    assert capped.min_cost.value > free.min_cost.value
    assert capped.threshold.low is not None and free.threshold.high is not None
    assert capped.threshold.low > free.threshold.high


def test_bootstrap_refuses_zero_rounds() -> None:
    with pytest.raises(ValueError, match="rounds"):
        bootstrap(LABELS, SCORES, FP1_FN5, rounds=0)
