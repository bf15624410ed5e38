"""Leaks and surprises in the data: planted in generated sets, found (or not) by the rules of
storybook.analyse.data_surprises, with figures checked against scikit-learn, scipy and hand-worked counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import balanced_accuracy_score, r2_score, roc_auc_score

from storybook.analyse.data_surprises import LEAK_AT, find_surprises, group_gaps, id_like
from storybook.analyse.data_surprises_words import empty_sentence, in_100
from storybook.analyse.plain import Vocabulary
from storybook.analyse.trust_checks.surprises import surprise_evidence
from storybook.metrics.separation import (
    average_ranks,
    column_auc,
    conflicting_rows,
    majority_balanced_accuracy,
    r_squared,
    spearman,
)

WORDS = Vocabulary(unit="patients", positive="have cancer", negative="do not have cancer")
N = 600


@pytest.fixture(scope="module")
def planted() -> tuple[pd.DataFrame, np.ndarray]:
    """A binary set: 'discharge_code' copies the label with a little noise (a leak), 'blood_marker' is a strong
    but honest feature (ROC AUC about 0.85), 'ward' is constant, 'old_test' is missing for 97 in 100 rows, and
    'patient_id' is numbered after sorting by label (it separates perfectly, but is an id)."""
    rng = np.random.default_rng(3)
    y = rng.random(N) < 0.3
    frame = pd.DataFrame({
        "label": y.astype(int),
        "score": rng.random(N).round(4),
        "discharge_code": y + rng.normal(0, 0.1, N),
        "blood_marker": y * 1.5 + rng.normal(0, 1.0, N),
        "ward": "B",
        "old_test": np.where(np.arange(N) < 18, 1.0, np.nan),
        "site": rng.choice(["north", "south"], N),
    })
    order = np.argsort(~y, kind="stable")
    frame["patient_id"] = np.empty(N, dtype=np.int64)
    frame.loc[order, "patient_id"] = np.arange(N)
    return frame, y


def test_planted_leak_is_found_and_an_honest_feature_is_not(planted: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, y = planted
    found = find_surprises(frame, y, task="binary", skip={"label", "score"})
    assert [leak.column for leak in found.leaks] == ["discharge_code"]
    leak = found.leaks[0]
    assert leak.measure == "auc" and leak.rows == N
    assert leak.value == pytest.approx(roc_auc_score(y, frame["discharge_code"]))
    honest = roc_auc_score(y, frame["blood_marker"])
    assert 0.8 < honest < 0.9  # strong, but not a leak
    assert "blood_marker" in found.inputs
    assert "patient_id" not in found.inputs and id_like(frame["patient_id"])  # perfect, but an id: left out
    assert roc_auc_score(y, frame["patient_id"]) < 0.02


def test_column_auc_matches_scikit_learn_either_way_round() -> None:
    rng = np.random.default_rng(0)
    y = rng.random(300) < 0.4
    x = np.round(y + rng.normal(0, 1, 300), 1)  # ties too
    assert column_auc(y, x) == pytest.approx(roc_auc_score(y, x))
    assert column_auc(y, -x) == pytest.approx(roc_auc_score(y, x))  # low for the "yes" cases separates as well
    assert column_auc(np.ones(5, dtype=bool), np.arange(5)) is None


def test_constant_and_mostly_missing_columns_are_found(planted: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, y = planted
    found = find_surprises(frame, y, task="binary", skip={"label", "score"})
    by_column = {e.column: e for e in found.empty}
    assert set(by_column) == {"ward", "old_test"}
    assert by_column["ward"].kind == "constant" and by_column["ward"].value == "B"
    assert (by_column["old_test"].kind, by_column["old_test"].missing, by_column["old_test"].n) == ("missing", 582, N)
    assert "ward" not in found.inputs and "old_test" not in found.inputs
    # 94% missing is below the 95% rule: told by the missing-values check, not here.
    frame94 = frame.assign(old_test=np.where(np.arange(N) < 37, np.arange(N) % 2, np.nan))  # two values
    assert "old_test" not in {e.column for e in find_surprises(frame94, y, task="binary", skip={"label"}).empty}


def test_categorical_leak_by_commonest_outcome_and_id_like_text_ignored() -> None:
    rng = np.random.default_rng(1)
    y = rng.random(400) < 0.25
    code = np.where(y, "D-17", "D-02")
    flip = rng.random(400) < 0.01
    code = np.where(flip, np.where(y, "D-02", "D-17"), code)
    frame = pd.DataFrame({"code": code, "name": [f"p{i}" for i in range(400)],
                          "region": rng.choice(["a", "b", "c"], 400)})
    found = find_surprises(frame, y, task="binary")
    assert [leak.column for leak in found.leaks] == ["code"]
    predicted = np.where(frame["code"] == "D-17", True, False)
    assert found.leaks[0].value == pytest.approx(balanced_accuracy_score(y, predicted))
    assert "name" not in found.inputs  # every value distinct: a name, not a measurement


def test_majority_balanced_accuracy_hand_worked() -> None:
    # group 0: outcomes 0,0,1 -> says 0; group 1: 1,1,0 -> says 1; group 2: 0,1 -> a tie says 0.
    groups = [0, 0, 0, 1, 1, 1, 2, 2]
    outcomes = [0, 0, 1, 1, 1, 0, 0, 1]
    # outcome 0 (4 rows): right in group 0 (2) and group 2 (1) -> 3 of 4; outcome 1 (4 rows): right in group 1 (2)
    assert majority_balanced_accuracy(groups, outcomes) == pytest.approx((3 / 4 + 2 / 4) / 2)
    assert majority_balanced_accuracy([0, 1], [1, 1]) is None


def test_rare_values_are_pooled_so_they_cannot_look_telling() -> None:
    rng = np.random.default_rng(2)
    y = rng.random(300) < 0.5
    # 100 values of three rows each: a perfect per-value rule by chance would be easy; pooled, it says nothing.
    frame = pd.DataFrame({"batch": np.repeat(np.arange(100), 3).astype(str)})
    assert find_surprises(frame, y, task="binary").leaks == ()


def test_regression_and_multiclass_leaks() -> None:
    rng = np.random.default_rng(4)
    amount = rng.normal(150, 40, 500)
    frame = pd.DataFrame({"recorded_later": amount * 1.01 + rng.normal(0, 2, 500),
                          "bmi": amount / 10 + rng.normal(0, 5, 500)})
    found = find_surprises(frame, amount, task="regression")
    assert [leak.column for leak in found.leaks] == ["recorded_later"]
    assert found.conflicts is None  # identical inputs with different amounts are not a contradiction
    rho = spearmanr(frame["recorded_later"], amount).statistic
    line = r2_score(amount, np.polyval(np.polyfit(frame["recorded_later"], amount, 1), frame["recorded_later"]))
    assert found.leaks[0].value == pytest.approx(max(abs(rho), line))
    assert spearman(frame["bmi"], amount) == pytest.approx(spearmanr(frame["bmi"], amount).statistic)
    assert r_squared(frame["bmi"], amount) == pytest.approx(
        r2_score(amount, np.polyval(np.polyfit(frame["bmi"], amount, 1), frame["bmi"])))

    classes = rng.integers(0, 3, 500)
    multi = pd.DataFrame({"track": np.array(["x", "y", "z"])[classes], "age": rng.normal(12, 1, 500)})
    leaks = find_surprises(multi, classes, task="multiclass").leaks
    assert [(leak.column, leak.measure, leak.value) for leak in leaks] == [("track", "balanced_accuracy", 1.0)]


def test_categorical_r_squared_is_the_group_means_share() -> None:
    x = np.array([0, 0, 1, 1])
    y = np.array([1.0, 3.0, 5.0, 7.0])  # group means 2 and 6; residuals 1 each: 4 of a total 20 left
    assert r_squared(x, y, categorical=True) == pytest.approx(1 - 4 / 20)


def test_contradicting_labels_counted_exactly() -> None:
    frame = pd.DataFrame({"a": [1, 1, 1, 2, 2, 3, 3, 4, np.nan, np.nan],
                          "b": ["x", "x", "x", "y", "y", "z", "w", "v", "u", "u"]})
    outcomes = [0, 1, 1, 0, 0, 1, 0, 1, 1, 0]
    # (1, x) three rows with outcomes 0/1/1: all three count; (2, y) agree; (3, z) and (3, w) differ in b;
    # (missing, u) two rows 1/0: missing matches missing, both count. 5 rows in 2 sets.
    conflicts = conflicting_rows(frame, ["a", "b"], outcomes)
    assert (conflicts.rows, conflicts.groups, conflicts.n) == (5, 2, 10)
    # a alone: (1) 0/1/1 counts 3, (2) 0/0 agrees, (3) 1/0 counts 2, (4) alone, (missing) 1/0 counts 2
    alone = conflicting_rows(frame, ["a"], outcomes)
    assert (alone.rows, alone.groups) == (7, 3)
    found = find_surprises(frame, np.array(outcomes), task="binary")
    assert found.conflicts is not None and found.conflicts.rows == 5


def test_training_only_and_evaluation_only_groups() -> None:
    training = pd.DataFrame({"site": ["north"] * 50 + ["south"] * 40 + ["mobile"] * 10 + ["tiny"] * 1})
    evaluation = pd.DataFrame({"site": ["north"] * 30 + ["south"] * 12 + ["annex"] * 8})
    gaps, compared = group_gaps(training, evaluation, ["site"])
    assert compared == ("site",)
    told = {(g.group, g.present_in, g.count, round(g.expected, 2)) for g in gaps}
    # mobile: 10 of 101 training rows -> about 4.95 of 50 evaluation rows: under 5, not told; tiny: 1 row.
    # annex: 8 of 50 evaluation rows -> about 16.16 of 101 training rows.
    assert told == {("annex", "evaluation", 8, 16.16)}
    # With twice the evaluation rows, mobile's share gives about 9.9 of 100: its absence is told.
    gaps, _ = group_gaps(training, pd.concat([evaluation] * 2, ignore_index=True), ["site"])
    assert [(g.group, g.present_in, g.count, round(g.expected, 2)) for g in gaps] == [
        ("annex", "evaluation", 16, 16.16), ("mobile", "training", 10, 9.9)]  # the larger first


def test_evidence_counts_a_leak_and_contradictions_as_failed(planted: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, y = planted
    frame = frame.copy()
    frame.loc[1, ["discharge_code", "blood_marker", "site"]] = frame.loc[0, ["discharge_code", "blood_marker", "site"]]
    y = y.copy()
    y[1] = not y[0]
    training = frame.assign(site=np.where(np.arange(N) % 2 == 0, "east", frame["site"]))
    found = find_surprises(frame, y, task="binary", skip={"label", "score"}, training=training)
    evidence = {e.check: e for e in surprise_evidence(found, task="binary", words=WORDS, columns=7, source="s")}
    leak = evidence["data.leaks"]
    assert leak.passed is False
    assert leak.sentence.startswith(f"The column 'discharge_code' alone tells apart {in_100(found.leaks[0].value)} of "
                                    "the patients who have cancer from those who do not have cancer")
    assert leak.sentence.endswith("Check how this column is filled, and whether the model reads it, before trusting "
                                  "the figures.")
    contradictions = evidence["data.contradictions"]
    assert contradictions.passed is False
    assert contradictions.sentence.startswith("2 of 600 patients (1 in 300) have the same value")
    assert evidence["data.empty_columns"].passed is False
    assert "'ward' holds one value only ('B') for all 600 patients" in evidence["data.empty_columns"].sentence
    assert "'old_test' is missing for 97% of the patients (582 of 600)" in evidence["data.empty_columns"].sentence
    coverage = evidence["data.group_coverage"]
    assert coverage.passed is False and "'east' of 'site' has 300 rows in the training data but none" in \
        coverage.sentence


def test_clean_set_passes_every_check() -> None:
    rng = np.random.default_rng(5)
    y = rng.random(200) < 0.5
    frame = pd.DataFrame({"x": rng.normal(0, 1, 200) + y, "g": rng.choice(["a", "b"], 200)})
    found = find_surprises(frame, y, task="binary", training=frame)
    evidence = surprise_evidence(found, task="binary", words=WORDS, columns=2, source="s")
    assert [(e.check, e.passed) for e in evidence] == [("data.leaks", True), ("data.contradictions", True),
                                                        ("data.empty_columns", True), ("data.group_coverage", True)]
    no_inputs = find_surprises(frame[[]], y, task="binary")
    [needs] = surprise_evidence(no_inputs, task="binary", words=WORDS, columns=0, source="s")
    assert needs.passed is None and "need one row per case with its inputs" in needs.sentence


def test_in_100_never_rounds_up_to_all() -> None:
    assert [in_100(v) for v in (LEAK_AT, 0.994, 0.996, 1.0)] == ["98 in 100", "99 in 100", "more than 99 in 100",
                                                                  "100 in 100"]


def test_average_ranks_match_scipy_with_ties() -> None:
    from scipy.stats import rankdata

    values = np.array([3.0, 1.0, 3.0, 2.0, 3.0, 1.0, 7.5])
    assert average_ranks(values).tolist() == rankdata(values).tolist()


def test_a_column_name_from_the_data_is_told_on_one_line() -> None:
    rng = np.random.default_rng(6)
    y = rng.random(100) < 0.5
    hostile = "code\n::error::" + "x" * 200
    found = find_surprises(pd.DataFrame({hostile: y.astype(float)}), y, task="binary")
    [evidence] = [e for e in surprise_evidence(found, task="binary", words=WORDS, columns=1, source="s")
                  if e.check == "data.leaks"]
    assert evidence.passed is False
    assert "\n" not in evidence.sentence and "'code ::error::" + "x" * 46 + "'" in evidence.sentence


def test_the_sentence_for_columns_that_all_vary_agrees_in_number() -> None:
    assert empty_sentence([], columns=1, rows=40, unit="patients") == (
        "The one column varies, and is missing in fewer than 95 in 100 patients (40 patients).")
    assert empty_sentence([], columns=3, rows=40, unit="patients") == (
        "Every one of the 3 columns varies, and none is missing in 95 in 100 patients or more (40 patients).")
