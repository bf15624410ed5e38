"""storybook.analyse.classification: the evaluation set broken down by slice (disaggregate), on the hand table
(the figures themselves are tested in tests/metrics/test_binary.py).

The hand table (10 rows, 4 positives; scores 0.7 and 0.4 each appear twice, once per class):

    row    0    1    2    3    4    5    6    7    8    9
    score  0.95 0.7  0.7  0.6  0.4  0.4  0.3  0.2  0.1  0.05
    label  1    1    0    0    1    0    0    1    0    0

At threshold 0.5 (flag when score >= 0.5) rows 0-3 are flagged:
    tp = rows 0, 1        = 2      fp = rows 2, 3             = 2
    fn = rows 4, 7        = 2      tn = rows 5, 6, 8, 9       = 4
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from storybook.analyse.classification import MISSING_GROUP, Confusion, disaggregate, group_order, group_rows

SCORES = np.array([0.95, 0.7, 0.7, 0.6, 0.4, 0.4, 0.3, 0.2, 0.1, 0.05])
LABELS = np.array([1, 1, 0, 0, 1, 0, 0, 1, 0, 0], dtype=bool)


def test_disaggregate_overall_and_by_group() -> None:
    groups = pd.DataFrame({"site": ["a", "a", "a", "a", "a", "b", "b", "b", "b", "b"]})
    overall, [table] = disaggregate(LABELS, SCORES, groups, 0.5)
    assert overall.value == "all" and overall.confusion == Confusion(tp=2, fp=2, tn=4, fn=2)
    assert table.column == "site"
    a, b = table.rows
    # site a = rows 0-4: scores .95 .7 .7 .6 .4, labels 1 1 0 0 1 -> flagged rows 0-3: tp 2, fp 2, fn 1 (row 4), tn 0
    assert (a.value, a.n, a.positives) == ("a", 5, 3)
    assert a.confusion == Confusion(tp=2, fp=2, tn=0, fn=1)
    # site b = rows 5-9: scores .4 .3 .2 .1 .05, labels 0 0 1 0 0 -> nothing flagged: tn 4, fn 1
    assert b.confusion == Confusion(tp=0, fp=0, tn=4, fn=1)
    assert b.rates["recall"].value == 0.0
    assert b.rates["precision"].value is None  # nothing flagged: no precision, not zero
    # site b AUC: the positive (0.2) beats 0.1 and 0.05, loses to 0.4 and 0.3 -> 2 of 4 pairs
    assert b.auc.value == pytest.approx(0.5)


def test_disaggregate_slice_with_one_class() -> None:
    groups = pd.DataFrame({"band": ["x", "x", "y", "y", "y", "y", "y", "y", "y", "y"]})
    _, [table] = disaggregate(LABELS, SCORES, groups, 0.5)
    x = table.rows[0]
    # band x = rows 0 and 1, both positive
    assert (x.value, x.n, x.positives) == ("x", 2, 2)
    assert x.auc.value is None and x.auc.low is None
    assert x.rates["specificity"].value is None and x.rates["specificity"].n == 0
    assert x.rates["recall"].value == 1.0


def test_disaggregate_missing_group_values_form_their_own_group() -> None:
    groups = pd.DataFrame({
        "site": ["a", None, "a", np.nan, "b", "b", pd.NA, "a", "b", "a"],
        "size": [1.0, 2.0, np.nan, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0],
    })
    _, tables = disaggregate(LABELS, SCORES, groups, 0.5)
    site = {row.value: row for row in tables[0].rows}
    assert set(site) == {"a", "b", "(missing)"}
    assert site["(missing)"].n == 3  # rows 1, 3, 6
    assert site["(missing)"].positives == 1  # row 1
    assert sum(row.n for row in site.values()) == 10
    size = {row.value: row.n for row in tables[1].rows}
    assert size == {"1.0": 5, "2.0": 4, "(missing)": 1}


def test_disaggregate_with_no_rows() -> None:
    overall, [table] = disaggregate([], [], pd.DataFrame({"site": pd.Series([], dtype=object)}), 0.5)
    assert overall.n == 0 and overall.auc.value is None
    assert table.rows == ()


def test_groups_that_are_ranges_keep_their_natural_order() -> None:
    assert group_order({"50 or older", "under 50"}) == ["under 50", "50 or older"]
    assert group_order({"30 or more", "under 25", "25 to 29.9"}) == ["under 25", "25 to 29.9", "30 or more"]
    assert group_order({"Year 10", "Year 9", "Year 11"}) == ["Year 9", "Year 10", "Year 11"]
    assert group_order({"1,000 or more", "200 to 999", "below 200"}) == ["below 200", "200 to 999", "1,000 or more"]
    assert group_order({"65+", "18 to 64", "under 18", MISSING_GROUP}) == ["under 18", "18 to 64", "65+",
                                                                           MISSING_GROUP]
    # Words alone are not ordered by a guess: by name, as before ("(missing)" sorts first by name).
    assert group_order({"small", "medium", "large"}) == ["large", "medium", "small"]
    assert group_order({"North clinic", "Mobile unit", MISSING_GROUP}) == [MISSING_GROUP, "Mobile unit",
                                                                           "North clinic"]
    assert group_order({"under 50", "unknown"}) == ["under 50", "unknown"]  # one without a number: by name
    # The rows follow the groups: each row's code points at its own group's name.
    column = pd.Series(["50 or older", "under 50", "under 50", None, "50 or older"])
    grouping = group_rows(column)
    assert grouping.names == ("under 50", "50 or older", MISSING_GROUP)
    assert [grouping.names[c] for c in grouping.codes] == ["50 or older", "under 50", "under 50", MISSING_GROUP,
                                                           "50 or older"]
