"""The production-windows table the label-free estimate reads: each bin's score range from the file's metadata,
windows in the file's order, and a located refusal for sums no chances could give."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from storybook.aggregate.format import AggregateInfo, equal_width_edges, write_aggregate
from storybook.aggregate.windows import WINDOW_TABLE_COLUMNS, windows_table
from storybook.errors import AggregateError, Location


def _info(rows: int, *, exact: bool = False, edges: tuple[float, ...] | None = None,
          windows: tuple[str, ...] = ("b-week", "a-week")) -> AggregateInfo:
    bin_edges = edges if edges is not None else equal_width_edges(10)
    return AggregateInfo(kind="production", task="binary", rows=rows, bins=len(bin_edges) if exact else 10,
                         exact=exact, bin_edges=bin_edges, label_column=None, score_column="score",
                         positive_value="1", windows=windows, window="window")


def _cells(score_sum: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"window": pd.array(["a-week", "b-week", "b-week"], dtype="string"),
                         "label": pd.array([None, 1, 0], dtype="Int8"),
                         "score_bin": np.array([2, 9, 0], dtype=np.int32), "n": np.array([4, 2, 3], dtype=np.int64),
                         "score_sum": score_sum, "score_sq_sum": [0.4, 1.8, 0.0]})


def test_bins_carry_their_score_range_and_windows_keep_the_files_order(tmp_path: Path) -> None:
    path = write_aggregate(_cells([1.0, 1.9, 0.1]), _info(9), tmp_path / "w.parquet")
    table = windows_table(path)
    assert tuple(table.columns) == WINDOW_TABLE_COLUMNS
    assert table["window"].tolist() == ["b-week", "b-week", "a-week"]  # the metadata lists b-week first
    assert table["bin_low"].tolist() == pytest.approx([0.0, 0.9, 0.2])
    assert table["bin_high"].tolist() == pytest.approx([0.1, 1.0, 0.3])
    assert table["label"].isna().tolist() == [False, False, True]


def test_an_exact_aggregate_has_one_score_per_bin(tmp_path: Path) -> None:
    edges = tuple(i / 10 for i in range(10))
    path = write_aggregate(_cells([0.8, 1.8, 0.0]), _info(9, exact=True, edges=edges), tmp_path / "w.parquet")
    table = windows_table(path)
    assert (table["bin_low"] == table["bin_high"]).all()
    assert table["bin_low"].tolist() == pytest.approx([0.0, 0.9, 0.2])


def test_sums_no_chances_could_give_are_refused_where_the_story_names_the_file(tmp_path: Path) -> None:
    path = write_aggregate(_cells([1.0, 2.5, 0.1]), _info(9), tmp_path / "w.parquet")  # 2 cases cannot sum 2.5
    where = Location(tmp_path / "story.yaml", 12)
    with pytest.raises(AggregateError, match="score sums outside 0 to the number of cases") as caught:
        windows_table(path, where=where)
    assert caught.value.location == where
