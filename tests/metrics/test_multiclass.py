"""Multiclass metrics: each figure against scikit-learn and against numbers worked out by hand, and the cost
rule (alone and within class limits) against brute force over every way of calling a tiny set."""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
)

from storybook.metrics import kinds, multiclass
from storybook.metrics.binary import wilson_interval
from storybook.metrics.multiclass import MulticlassScores

CLASSES = ("support", "challenge", "neither")
# Hand-worked: 8 students. Calls are the most likely class of each row.
#   row  truth      probabilities (support, challenge, neither)   call
#   0    support    .7 .2 .1                                       support
#   1    support    .2 .2 .6                                       neither
#   2    support    .5 .4 .1                                       support
#   3    challenge  .1 .8 .1                                       challenge
#   4    challenge  .6 .3 .1                                       support
#   5    neither    .1 .1 .8                                       neither
#   6    neither    .2 .5 .3                                       challenge
#   7    neither    .3 .3 .4                                       neither
TRUTH = np.array([0, 0, 0, 1, 1, 2, 2, 2])
PROBABILITIES = np.array([[.7, .2, .1], [.2, .2, .6], [.5, .4, .1], [.1, .8, .1], [.6, .3, .1], [.1, .1, .8],
                          [.2, .5, .3], [.3, .3, .4]])
HAND = MulticlassScores.from_probabilities(CLASSES, TRUTH, PROBABILITIES)


def random_scores(n: int, k: int, seed: int) -> MulticlassScores:
    """A model that leans towards the truth, with every class present."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, size=n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), truth] += 1.2
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return MulticlassScores.from_probabilities(tuple(f"c{i}" for i in range(k)), truth, probabilities)


def test_hand_worked_set() -> None:
    assert HAND.predicted.tolist() == [0, 2, 0, 1, 0, 2, 1, 2]
    assert multiclass.confusion_matrix(HAND).tolist() == [[2, 0, 1], [1, 1, 0], [0, 1, 2]]
    found = multiclass.class_recall(HAND)
    assert [(e.successes, e.n) for e in found] == [(2, 3), (1, 2), (2, 3)]
    right = multiclass.class_precision(HAND)
    assert [(e.successes, e.n) for e in right] == [(2, 3), (1, 2), (2, 3)]
    assert (found[1].low, found[1].high) == pytest.approx(wilson_interval(1, 2))
    assert multiclass.accuracy(HAND).value == pytest.approx(5 / 8)
    # F1 per class: 2*2/(3+3), 2*1/(2+2), 2*2/(3+3) -> mean (2/3 + 1/2 + 2/3) / 3
    assert multiclass.macro_f1(HAND).value == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 3)
    assert multiclass.balanced_accuracy(HAND).value == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 3)
    given = [.7, .2, .5, .8, .3, .8, .3, .4]
    assert multiclass.log_loss(HAND).value == pytest.approx(-np.mean(np.log(given)))


@pytest.mark.parametrize("k", [3, 5])
def test_against_scikit_learn(k: int) -> None:
    scores = random_scores(600, k, seed=k)
    truth, called = scores.truth, scores.predicted
    labels = list(range(k))
    assert multiclass.confusion_matrix(scores).tolist() == confusion_matrix(truth, called, labels=labels).tolist()
    precision, recall, _, support = precision_recall_fscore_support(truth, called, labels=labels, average=None)
    assert [e.value for e in multiclass.class_recall(scores)] == pytest.approx(recall)
    assert [e.value for e in multiclass.class_precision(scores)] == pytest.approx(precision)
    assert [e.n for e in multiclass.class_recall(scores)] == support.tolist()
    assert multiclass.accuracy(scores).value == pytest.approx(accuracy_score(truth, called))
    assert multiclass.macro_f1(scores).value == pytest.approx(f1_score(truth, called, average="macro"))
    assert multiclass.balanced_accuracy(scores).value == pytest.approx(balanced_accuracy_score(truth, called))
    assert multiclass.log_loss(scores).value == pytest.approx(
        log_loss(truth, y_proba=scores.probabilities, labels=labels))


def test_log_loss_clips_a_zero_chance_as_scikit_learn_does() -> None:
    probabilities = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.25, 0.25]])
    scores = MulticlassScores.from_probabilities(CLASSES, [1, 1, 2], probabilities)
    expected = log_loss([1, 1, 2], y_proba=probabilities, labels=[0, 1, 2])
    assert multiclass.log_loss(scores).value == pytest.approx(expected)
    assert multiclass.log_loss(MulticlassScores(CLASSES, TRUTH, HAND.predicted)).value is None


def test_a_class_with_no_row_leaves_the_class_averages_without_a_value() -> None:
    # No student truly needs a challenge: scikit-learn would average over two classes; storybook says nothing.
    scores = MulticlassScores(CLASSES, np.array([0, 0, 2, 2]), np.array([0, 1, 2, 2]))
    assert multiclass.macro_f1(scores).value is None
    assert multiclass.balanced_accuracy(scores).value is None
    assert multiclass.class_recall(scores)[1].value is None
    assert multiclass.class_precision(scores)[1].value == 0.0


def test_balanced_accuracy_interval_is_a_seeded_bootstrap_around_the_value() -> None:
    scores = random_scores(400, 3, seed=1)
    first = multiclass.balanced_accuracy(scores, seed=3)
    assert first == multiclass.balanced_accuracy(scores, seed=3)
    assert first.low is not None and first.high is not None and first.value is not None
    assert first.low < first.value < first.high
    # The bootstrap spread of a mean of 3 recalls, each on about 133 rows: about 2 x 1.96 x sqrt(.25/133)/sqrt(3).
    assert 0.05 < first.high - first.low < 0.15
    # Drawing counts per cell is the same as resampling rows: compare with a plain row bootstrap.
    rng = np.random.default_rng(0)
    rows = [balanced_accuracy_score(scores.truth[i], scores.predicted[i])
            for i in (rng.integers(0, scores.n, scores.n) for _ in range(1000))]
    low, high = np.percentile(rows, [2.5, 97.5])
    assert first.low == pytest.approx(low, abs=0.015) and first.high == pytest.approx(high, abs=0.015)


def test_top_label_and_class_calibration_match_scikit_learn_bands() -> None:
    scores = random_scores(2000, 3, seed=5)
    assert scores.probabilities is not None
    top = multiclass.top_label_calibration(scores, bins=10)
    assert top is not None and sum(b.n for b in top) == scores.n
    confidence = scores.probabilities.max(axis=1)
    observed, stated = calibration_curve(scores.truth == scores.predicted, confidence, n_bins=10, strategy="uniform")
    filled = [b for b in top if b.n]
    assert [b.observed.value for b in filled] == pytest.approx(observed)
    assert [b.stated for b in filled] == pytest.approx(stated)
    per_class = multiclass.class_calibration(scores, bins=5)
    assert per_class is not None and len(per_class) == 3
    observed, stated = calibration_curve(scores.truth == 2, scores.probabilities[:, 2], n_bins=5, strategy="uniform")
    assert [b.observed.value for b in per_class[2] if b.n] == pytest.approx(observed)
    assert [b.stated for b in per_class[2] if b.n] == pytest.approx(stated)
    assert multiclass.top_label_calibration(MulticlassScores(CLASSES, TRUTH, HAND.predicted)) is None


# --- the cost rule --------------------------------------------------------------------------------------

# true class x call. Missing a student who needs support costs most.
COST = np.array([[0.0, 10.0, 8.0], [2.0, 0.0, 3.0], [1.0, 1.0, 0.0]])


def brute_force(expected: npt.NDArray[np.float64], limits: tuple[int | None, ...]) -> float:
    """The least total expected cost over every way of calling the rows that keeps within the limits."""
    n, k = expected.shape
    best = np.inf
    for calls in itertools.product(range(k), repeat=n):
        counts = np.bincount(calls, minlength=k)
        if all(limit is None or counts[c] <= limit for c, limit in enumerate(limits)):
            best = min(best, float(expected[np.arange(n), calls].sum()))
    return best


def test_the_rule_without_limits_takes_each_rows_least_expected_cost() -> None:
    expected = multiclass.expected_costs(PROBABILITIES, COST)
    # Row 1 by hand: support .2*0 + .2*2 + .6*1 = 1.0; challenge .2*10 + .6*1 = 2.6; neither .2*8 + .2*3 = 2.2.
    assert expected[1].tolist() == pytest.approx([1.0, 2.6, 2.2])
    calls = multiclass.least_cost_calls(expected)
    assert calls.tolist() == [int(np.argmin(row)) for row in expected]
    assert expected[np.arange(8), calls].sum() == pytest.approx(brute_force(expected, (None, None, None)))


@pytest.mark.parametrize("limits", [
    (1, None, None),  # one limited class: the greedy path
    (2, 1, None),  # two limited classes: the linear programme
    (3, 3, 2),  # every class limited, just enough places
    (0, None, 1),
])
@pytest.mark.parametrize("seed", range(6))
def test_the_rule_within_limits_matches_brute_force(limits: tuple[int | None, ...], seed: int) -> None:
    rng = np.random.default_rng(seed)
    probabilities = rng.dirichlet(np.ones(3), size=8)
    expected = multiclass.expected_costs(probabilities, COST)
    calls = multiclass.least_cost_calls(expected, limits)
    counts = np.bincount(calls, minlength=3)
    assert all(limit is None or counts[c] <= limit for c, limit in enumerate(limits))
    assert expected[np.arange(8), calls].sum() == pytest.approx(brute_force(expected, limits), abs=1e-9)


def test_limits_that_cannot_hold_every_row_are_refused() -> None:
    expected = multiclass.expected_costs(PROBABILITIES, COST)
    with pytest.raises(ValueError, match="the limits allow 7 calls in all, fewer than the 8 rows"):
        multiclass.least_cost_calls(expected, (3, 2, 2))


def test_cost_rule_against_the_most_likely_class_by_hand() -> None:
    result = multiclass.cost_rule(HAND, COST, per=1000, rounds=500, seed=1)
    expected = multiclass.expected_costs(PROBABILITIES, COST)
    rule = np.argmin(expected, axis=1)
    assert result.calls.tolist() == rule.tolist()
    # Realised costs on the true classes, per 1,000 students.
    rule_cost = COST[TRUTH, rule].sum() / 8 * 1000
    likely_cost = COST[TRUTH, HAND.predicted].sum() / 8 * 1000
    assert result.cost.value == pytest.approx(rule_cost)
    assert result.most_likely_cost.value == pytest.approx(likely_cost)
    assert result.saving.value == pytest.approx(likely_cost - rule_cost)
    assert result.saving.low is not None and result.saving.high is not None
    assert result.saving.low <= likely_cost - rule_cost <= result.saving.high
    assert result.expected == pytest.approx(expected[np.arange(8), rule].mean() * 1000)
    assert sum(result.calls_per_class) == sum(result.most_likely_per_class) == 8


def test_with_zero_one_costs_the_rule_is_the_most_likely_class_and_saves_nothing() -> None:
    scores = random_scores(300, 4, seed=2)
    result = multiclass.cost_rule(scores, 1 - np.eye(4))
    assert result.calls.tolist() == scores.predicted.tolist()
    assert (result.saving.value, result.saving.low, result.saving.high) == (0.0, 0.0, 0.0)
    # Its cost is the error rate per 1,000.
    assert result.cost.value == pytest.approx((1 - accuracy_score(scores.truth, scores.predicted)) * 1000)


def test_saving_interval_is_paired_and_seeded() -> None:
    scores = random_scores(2000, 3, seed=4)
    first = multiclass.cost_rule(scores, COST, capacity=(0.3, None, None), seed=9)
    assert first.saving == multiclass.cost_rule(scores, COST, capacity=(0.3, None, None), seed=9).saving
    assert first.calls_per_class[0] <= 600 and first.limits == (600, None, None)
    # Paired: the saving's interval is narrower than the difference of two independent intervals would be.
    assert first.saving.width is not None and first.cost.width is not None
    assert first.saving.width < first.cost.width + (first.most_likely_cost.width or 0.0)
    # A plain paired row bootstrap gives the same interval, within the noise of 4,000 rounds.
    many = multiclass.cost_rule(scores, COST, capacity=(0.3, None, None), rounds=4000).saving
    rng = np.random.default_rng(0)
    differences = (COST[scores.truth, scores.predicted] - COST[scores.truth, first.calls]) * 1000
    rounds = [differences[rng.integers(0, scores.n, scores.n)].mean() for _ in range(4000)]
    low, high = np.percentile(rounds, [2.5, 97.5])
    assert many.value == pytest.approx(differences.mean())
    noise = 0.06 * (high - low)
    assert many.low == pytest.approx(low, abs=noise) and many.high == pytest.approx(high, abs=noise)


def test_cost_rule_refuses_what_it_cannot_do() -> None:
    with pytest.raises(ValueError, match="needs each class's probability"):
        multiclass.cost_rule(MulticlassScores(CLASSES, TRUTH, HAND.predicted), COST)
    with pytest.raises(ValueError, match="must be 3 x 3"):
        multiclass.cost_rule(HAND, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="a share of rows from 0 to 1"):
        multiclass.cost_rule(HAND, COST, capacity=(1.5, None, None))


def test_metric_kinds_compute_from_the_multiclass_set() -> None:
    scores = random_scores(500, 3, seed=8)
    assert kinds.kinds_of("multiclass") == ("multiclass_accuracy", "balanced_accuracy", "macro_f1", "log_loss",
                                            "other")
    expected = {
        "multiclass_accuracy": accuracy_score(scores.truth, scores.predicted),
        "balanced_accuracy": balanced_accuracy_score(scores.truth, scores.predicted),
        "macro_f1": f1_score(scores.truth, scores.predicted, average="macro"),
        "log_loss": log_loss(scores.truth, y_proba=scores.probabilities, labels=[0, 1, 2]),
    }
    for name, value in expected.items():
        info = kinds.kind_info(name)
        assert info is not None and info.task == "multiclass" and not info.proportion
        estimate = info.measure_set(scores)
        assert estimate.value == pytest.approx(value)
        assert (estimate.low is None) == (info.interval == "none")
    info = kinds.kind_info("log_loss")
    assert info is not None and info.higher_is_better is False
    with pytest.raises(TypeError, match="needs a multiclass scored set"):
        info.from_set(object())  # type: ignore[arg-type, misc]


def test_the_cost_of_logged_calls_without_probabilities() -> None:
    calls_only = MulticlassScores(CLASSES, TRUTH, HAND.predicted)
    cost = multiclass.calls_cost(calls_only, COST, per=1000, rounds=500, seed=2)
    # By hand: row 1 support->neither 8, row 4 challenge->support 2, row 6 neither->challenge 1: 11 over 8 rows.
    assert cost.value == pytest.approx(11 / 8 * 1000)
    assert cost.low is not None and cost.high is not None and cost.low <= cost.value <= cost.high
    assert cost.value == multiclass.cost_rule(HAND, COST, rounds=1).most_likely_cost.value


def test_resampling_in_chunks_draws_what_one_batch_would(monkeypatch: pytest.MonkeyPatch) -> None:
    scores = random_scores(500, 4, seed=6)
    cost = np.arange(16, dtype=np.float64).reshape(4, 4) * (1 - np.eye(4))
    whole = multiclass.cost_rule(scores, cost, rounds=300, seed=2)
    balanced = multiclass.balanced_accuracy(scores, rounds=300, seed=2)
    monkeypatch.setattr(multiclass, "_DRAWN_AT_ONCE", 50)  # a few resamples at a time
    chunked = multiclass.cost_rule(scores, cost, rounds=300, seed=2)
    assert (chunked.saving, chunked.cost, chunked.most_likely_cost) == (whole.saving, whole.cost,
                                                                       whole.most_likely_cost)
    assert multiclass.balanced_accuracy(scores, rounds=300, seed=2) == balanced


def test_many_classes_keep_the_rule_exact_without_a_cell_per_combination() -> None:
    # 120 classes: 1,728,000 combinations of (true class, most likely, rule), counted only where rows fall.
    scores = random_scores(3000, 120, seed=7)
    assert scores.probabilities is not None
    rng = np.random.default_rng(1)
    cost = rng.uniform(0, 5, size=(120, 120)) * (1 - np.eye(120))
    result = multiclass.cost_rule(scores, cost, rounds=200, seed=0)
    rule = np.argmin(scores.probabilities @ cost, axis=1)
    assert result.calls.tolist() == rule.tolist()
    saving = (cost[scores.truth, scores.predicted] - cost[scores.truth, rule]).mean() * 1000
    assert result.saving.value == pytest.approx(saving)
    assert result.saving.low is not None and result.saving.low <= saving <= (result.saving.high or 0.0)


def test_too_many_rows_to_place_within_several_limits_is_said_not_run(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = multiclass.expected_costs(PROBABILITIES, COST)
    monkeypatch.setattr(multiclass, "PLACED_AT_MOST", 2)
    with pytest.raises(multiclass.TooManyToPlace, match="places at most 2 such rows"):
        multiclass.least_cost_calls(expected, (1, 1, None))
    with pytest.raises(multiclass.TooManyToPlace, match="a limit on every class"):
        multiclass.least_cost_calls(expected, (3, 3, 2))
    # One limit is placed greedily, with no such bound.
    assert np.bincount(multiclass.least_cost_calls(expected, (1, None, None)), minlength=3)[0] <= 1
