"""storybook.analyse.trust_checks.data: the data's checks (balance of outcomes and rates per group, missing values,
rows shared between training and evaluation, groups too small to judge, shift of production inputs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from storybook.analyse.trust_checks.data import (
    check_class_balance,
    check_duplicates,
    check_label_rates,
    check_missing,
    check_shift,
    check_small_slices,
    duplicated_rows,
)

SRC = "metric test_recall of run abc"

def test_class_balance_sentence_and_boundary() -> None:
    labels = [1, 1, 1] + [0] * 9  # 3 of 12 positive: 25%
    ev = check_class_balance(labels, min_share=0.25, source=SRC)
    assert ev.passed is True
    assert ev.sentence == ("25% of cases are positive (3 of 12); the rarer outcome makes up 25%, and the story asks "
                           "for at least 25%.")
    assert check_class_balance(labels, min_share=0.26, source=SRC).passed is False
    assert check_class_balance([], source=SRC).passed is None


def _banded() -> tuple[list[int], pd.Series]:
    """a: 40 rows, 10 positive; b: 40 rows, 2 positive; c: 5 rows, 1 positive."""
    labels = [1] * 10 + [0] * 30 + [1] * 2 + [0] * 38 + [1] + [0] * 4
    groups = pd.Series(["a"] * 40 + ["b"] * 40 + ["c"] * 5, name="band")
    return labels, groups


def test_label_rates_sentence() -> None:
    labels, groups = _banded()
    ev = check_label_rates(labels, groups, min_size=30, min_per_class=5, source=SRC)
    assert ev.passed is False
    assert ev.sentence == ("Share of cases who are positive, by band: a 25% (10 of 40), b 1 in 20 (2 of 40). Fewer "
                           "than 5 of one outcome, too few to measure the model on: b. Too small to judge (fewer than "
                           "30 rows): c (5).")
    assert check_label_rates(labels, groups, min_size=30, min_per_class=2, source=SRC).passed is True
    assert check_label_rates(labels, groups, min_size=50, source=SRC).passed is None


def test_small_slices_sentence() -> None:
    _, groups = _banded()
    ev = check_small_slices(groups, min_size=30, source=SRC)
    assert ev.passed is False
    assert ev.sentence == "1 of 3 band groups has fewer than 30 rows, too few to judge: c (5)."
    fine = check_small_slices(groups, min_size=5, source=SRC)
    assert fine.passed is True
    assert fine.sentence == "Every band group has at least 5 rows: a (40), b (40), c (5)."
    # A slice already named a group is not told twice ("year group group"), and ranges keep their order.
    years = pd.Series(["Year 10"] * 31 + ["Year 9"] * 40, name="year group")
    assert check_small_slices(years, min_size=30, source=SRC).sentence == (
        "Every year group has at least 30 rows: Year 9 (40), Year 10 (31).")
    assert check_small_slices(years, min_size=35, source=SRC).sentence == (
        "1 of 2 year groups has fewer than 35 rows, too few to judge: Year 10 (31).")


def _missing_table() -> tuple[pd.DataFrame, pd.Series]:
    """40 rows in two bands of 20. age: 2 missing (one per band); income: none; city: 8, all in "small"."""
    age = [np.nan] + [30.0] * 19 + [np.nan] + [40.0] * 19
    city = ["x"] * 20 + [None] * 8 + ["y"] * 12
    frame = pd.DataFrame({"age": age, "income": [1.0] * 40, "city": city})
    return frame, pd.Series(["big"] * 20 + ["small"] * 20, name="band")


def test_missing_sentence_and_boundary() -> None:
    frame, groups = _missing_table()
    # city overall 8 of 40 = 20%; age 2 of 40 = 1 in 20; within small, city 8 of 20 = 40%.
    ev = check_missing(frame, groups, tolerance=0.05, min_size=20, source=SRC)
    assert ev.passed is False
    assert ev.sentence == ("2 of 3 columns have missing values: city 20% (8 of 40), age 1 in 20 (2 of 40). Most "
                           "missing within one group: city where band is small, 40% (8 of 20). The story allows up to "
                           "5% missing in any column or group.")
    assert check_missing(frame, groups, tolerance=0.4, min_size=20, source=SRC).passed is True
    # Groups under min_size do not count: then the worst share is city overall, 20%.
    assert check_missing(frame, groups, tolerance=0.2, min_size=21, source=SRC).passed is True
    clean = check_missing(frame[["income"]], source=SRC)
    assert clean.passed is True and clean.sentence == "No values are missing in 1 column (40 rows)."


def test_duplicates_on_a_known_table() -> None:
    training = pd.DataFrame({"a": [1, 2, 3, 4], "b": ["x", "y", "z", None], "id": [10, 11, 12, 13]})
    # Evaluation row 0 equals training row 1 over (a, b); row 1 equals training row 3 (missing b matches missing b)
    # with a read as float; the id column is not compared. The other 10 rows are new.
    evaluation = pd.DataFrame({
        "a": [2.0, 4.0] + [float(v) for v in range(100, 110)],
        "b": ["y", None] + ["x"] * 10,
        "id": list(range(50, 62)),
    })
    shared = duplicated_rows(training, evaluation, ["a", "b"])
    assert shared.tolist() == [True, True] + [False] * 10
    ev = check_duplicates(training, evaluation.iloc[1:], ["a", "b"], source=SRC)
    assert ev.passed is False
    assert ev.sentence == "1 in 11 evaluation rows also appears in training (1 of 11 rows)."
    # 2 of 12 is 1 in 6; a tolerance of exactly 2/12 lets it pass.
    assert check_duplicates(training, evaluation, ["a", "b"], tolerance=2 / 12, source=SRC).passed is True
    half = check_duplicates(training, evaluation.iloc[:4], ["a", "b"], source=SRC)
    assert half.sentence == "50% of evaluation rows also appear in training (2 of 4 rows)."
    none = check_duplicates(training, evaluation.iloc[2:], ["a", "b"], source=SRC)
    assert none.passed is True and none.sentence == "No evaluation row also appears in training (0 of 10 rows)."


def test_shift_names_the_features_that_moved() -> None:
    training = pd.DataFrame({"x": range(1, 11), "y": range(1, 11)})
    production = pd.DataFrame({"x": [1, 2, 3, 4, 5, 5, 9, 10], "y": [1, 2, 3, 4, 7, 8, 9, 10]})
    ev = check_shift(training, production, bins=2, source=SRC)
    assert ev.passed is False
    assert ev.sentence == ("Production inputs have moved away from the training data in 1 of 2 features: x changed a "
                           "lot (PSI 0.27).")
    # The story's friendly names (drivers.names) are what the reader sees; the PSI and the verdict are the same.
    named = check_shift(training, production, bins=2, source=SRC, labels={"x": "body-mass index"})
    assert named.sentence == ("Production inputs have moved away from the training data in 1 of 2 features: "
                              "body-mass index changed a lot (PSI 0.27).")
    assert named.passed is False and named.figures == ev.figures
    calm = check_shift(training, production, ["y"], bins=2, source=SRC)
    assert calm.passed is True
    assert calm.sentence == ("Production inputs look like the training data in the one feature compared (no "
                             "feature's Population Stability Index reaches 0.1).")
    assert check_shift(training, production.iloc[:0], source=SRC).passed is None
    with pytest.raises(ValueError, match="z"):
        check_shift(training, production, ["z"], source=SRC)
