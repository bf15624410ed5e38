"""The one located error for a column a story names that its scored set lacks (resolve/scored_columns.py): the
key and column asked for, the columns found (at most 20 listed), the closest column offered as the fix, on the
story.yaml line of that key."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from storybook.resolve.scored_columns import missing_column
from tests.resolve.task_stories import REGRESSION, task_story, yaml_line


def test_a_near_miss_names_the_key_the_columns_found_and_the_likely_fix_on_its_line(tmp_path: Path) -> None:
    s = task_story(tmp_path, REGRESSION)
    frame = pd.DataFrame({"actual": [1.0], "predictd": [2.0]})
    error = missing_column(s, frame, ("prediction_column",), "predicted", "the evaluation set 'scored.csv'")
    assert error.message == ("prediction_column 'predicted' is not a column of the evaluation set 'scored.csv' "
                             "(story 's'); the columns found are 'actual', 'predictd'")
    assert error.hint == "did you mean prediction_column: predictd?"
    assert error.location is not None and error.location.line == yaml_line(s, "prediction_column")


def test_with_nothing_close_the_hint_says_to_pick_a_column_found(tmp_path: Path) -> None:
    s = task_story(tmp_path, REGRESSION)
    error = missing_column(s, pd.DataFrame({"x": [1], "y": [2]}), ("actual_column",), "actual", "the set")
    assert error.hint == "set actual_column to one of the columns found"
    assert error.location is not None and error.location.line == yaml_line(s, "actual_column")


def test_an_empty_table_says_no_columns_were_found(tmp_path: Path) -> None:
    s = task_story(tmp_path, REGRESSION)
    error = missing_column(s, pd.DataFrame(), ("actual_column",), "actual", "the set")
    assert error.message.endswith("the columns found are none")


def test_a_wide_table_lists_twenty_columns_and_counts_the_rest(tmp_path: Path) -> None:
    s = task_story(tmp_path, REGRESSION)
    frame = pd.DataFrame({f"c{i}": [i] for i in range(25)})
    error = missing_column(s, frame, ("actual_column",), "actual", "the set")
    assert "'c19' and 5 more" in error.message and "'c20'" not in error.message
