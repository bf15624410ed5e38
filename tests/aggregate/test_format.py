"""storybook.aggregate.format: the aggregate file (cells, replicates, metadata) written, read back and refused
when it is foreign, malformed or newer, with the error pointing at the file."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from storybook.aggregate import format as fmt
from storybook.aggregate.format import AggregateInfo
from storybook.errors import AggregateError, Location, StoryError


def _info(**changes: Any) -> AggregateInfo:
    info = AggregateInfo(kind="scored", task="binary", rows=10, bins=4, exact=False,
                         bin_edges=fmt.equal_width_edges(4), label_column="y", score_column="p",
                         positive_value="1", slices=("site",), replicates=3, seed=7, engine="test",
                         source="scored.parquet", storybook_version="0.1.0")
    return replace(info, **changes)


def _grouped() -> pd.DataFrame:
    """What the engine's GROUP BY returns for 10 hand-made rows (one missing site)."""
    return pd.DataFrame({
        "site": ["b", "a", None, "a"], "label": [1, 0, 1, 1], "score_bin": [3, 0, 2, 3],
        "n": [4, 3, 1, 2], "score_sum": [3.6, 0.3, 0.6, 1.9], "score_sq_sum": [3.24, 0.03, 0.36, 1.81],
        "score_min": [0.8, 0.05, 0.6, 0.9], "score_max": [1.0, 0.2, 0.6, 1.0]})


def test_cells_round_trip_with_their_metadata_and_replicates(tmp_path: Path) -> None:
    cells, edges = fmt.finish_cells(_grouped(), slices=["site"], bins=4, exact=False)
    assert edges == (0.0, 0.25, 0.5, 0.75, 1.0)
    # sorted by slice (missing first), label, bin
    assert cells["site"].tolist()[1:] == ["a", "a", "b"] and pd.isna(cells["site"].iloc[0])
    assert cells["n"].tolist() == [1, 3, 2, 4]
    path = fmt.write_aggregate(cells, _info(), tmp_path / "out" / "agg.parquet")
    frame, info = fmt.read_aggregate(path)
    assert info == _info()
    assert frame["n"].tolist() == [1, 3, 2, 4]
    assert frame["label"].dtype == np.int8 and frame["score_bin"].dtype == np.int32
    reps = frame[["rep_0", "rep_1", "rep_2"]].to_numpy()
    assert np.array_equal(reps, fmt.draw_replicates([1, 3, 2, 4], 3, seed=7))
    schema = pq.read_schema(path)
    assert json.loads(schema.metadata[fmt.METADATA_KEY])["format"] == "storybook.aggregate"
    assert [p.name for p in path.parent.iterdir()] == ["agg.parquet"]  # no temp file left behind


def test_replicates_are_poisson_counts_drawn_the_same_in_chunks() -> None:
    n = np.full(4000, 50)
    drawn = fmt.draw_replicates(n, 20, seed=1)
    assert drawn.shape == (4000, 20) and drawn.dtype == np.int32
    assert abs(drawn.mean() - 50) < 0.5 and abs(drawn.var() - 50) < 2.5  # Poisson(50): mean = variance = 50
    chunked = np.concatenate(list(fmt._replicate_chunks(n.astype(np.int64), 20, 1, chunk=333)))
    assert np.array_equal(drawn, chunked)
    assert not np.array_equal(drawn, fmt.draw_replicates(n, 20, seed=2))


def test_exact_mode_numbers_the_distinct_scores() -> None:
    grouped = pd.DataFrame({"label": [1, 0, 0], "score_key": [0.9, 0.1, 0.9], "n": [2, 5, 1],
                            "score_sum": [1.8, 0.5, 0.9], "score_sq_sum": [1.62, 0.05, 0.81],
                            "score_min": [0.9, 0.1, 0.9], "score_max": [0.9, 0.1, 0.9]})
    cells, edges = fmt.finish_cells(grouped, slices=[], bins=1000, exact=True)
    assert edges == (0.1, 0.9)
    assert cells[["label", "score_bin", "n"]].values.tolist() == [[0, 0, 5], [0, 1, 1], [1, 1, 2]]
    info = _info(exact=True, bins=2, bin_edges=edges, slices=())
    assert fmt.bin_of_threshold(info, 0.9) == 1 and fmt.bin_of_threshold(info, 0.5) == 1
    assert fmt.is_exact_threshold(info, 0.37)


def test_thresholds_at_bin_edges_are_exact_and_others_are_not() -> None:
    info = _info(bins=1000, bin_edges=fmt.equal_width_edges(1000))
    assert fmt.bin_of_threshold(info, 0.3) == 300 and fmt.threshold_of_bin(info, 300) == 0.3
    assert fmt.is_exact_threshold(info, 0.3) and not fmt.is_exact_threshold(info, 0.3004)
    assert not fmt.is_exact_threshold(info, 0.3 + 1e-12)  # a hair above an edge flags fewer rows than the edge
    assert fmt.bin_of_threshold(info, 0.3 + 1e-12) == 301 and fmt.bin_of_threshold(info, 0.57) == 570
    assert fmt.bin_of_threshold(info, 0.3004) == 301
    assert fmt.bin_of_threshold(info, 0.0) == 0 and fmt.bin_of_threshold(info, 1.0) == 1000
    assert fmt.is_exact_threshold(info, 0.999) and not fmt.is_exact_threshold(info, 1.0)  # the last bin holds 1


@pytest.mark.parametrize(("column", "value", "said"), [
    ("score_bin", -1, "2 rows of the set have a score that is missing"),
    ("label", None, "2 rows of the set have no label"),
])
def test_bad_rows_are_refused_with_their_count(column: str, value: object, said: str) -> None:
    grouped = _grouped().astype({"label": "Int8"})
    grouped[column] = grouped[column].where(grouped.index != 3, value)
    with pytest.raises(AggregateError, match=said):
        fmt.finish_cells(grouped, slices=["site"], bins=4, exact=False)


def test_the_grouping_sql_quotes_names_and_refuses_a_literal_the_engines_read_differently() -> None:
    sql = fmt.grouping_sql("t", label_column='say "yes"', score_column="p", positive_value="yes",
                           slices=["a`b"], bins=10, exact=False, dialect="spark")
    assert "`a``b`" in sql and "CAST(`say \"yes\"` AS STRING) = 'yes'" in sql and "LEAST(" in sql
    assert '"say ""yes"""' in fmt.grouping_sql("t", label_column='say "yes"', score_column="p",
                                                positive_value="1", slices=[], bins=10, exact=True,
                                                dialect="duckdb")
    with pytest.raises(AggregateError, match="quote, backslash"):
        fmt.grouping_sql("t", label_column="y", score_column="p", positive_value="it's", slices=[], bins=10,
                         exact=False, dialect="duckdb")


def test_label_and_slice_checks() -> None:
    with pytest.raises(AggregateError, match="holds 3 different values"):
        fmt.check_label_values(["a", "b", "c"], label_column="y", positive_value="a")
    with pytest.raises(AggregateError, match="positive value '1' is not one of the labels"):
        fmt.check_label_values(["0.0", "1.0"], label_column="y", positive_value="1")
    fmt.check_label_values(["0", "1"], label_column="y", positive_value="1")
    with pytest.raises(AggregateError, match="more than 1,000 different values"):
        fmt.check_slice_count("customer", 1001)
    with pytest.raises(AggregateError, match="uses for its own columns"):
        fmt.check_slice_names(["n"], label_column="y", score_column="p")
    with pytest.raises(AggregateError, match="given twice"):
        fmt.check_slice_names(["y"], label_column="y", score_column="p")


def test_too_many_cells_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fmt, "MAX_CELLS", 3)
    with pytest.raises(AggregateError, match="4 cells, more than 3") as raised:
        fmt.finish_cells(_grouped(), slices=["site"], bins=4, exact=False)
    assert "fewer bins" in str(raised.value)


# --- files that are not aggregates -----------------------------------------------------------------------------


def _written(tmp_path: Path) -> Path:
    cells, _ = fmt.finish_cells(_grouped(), slices=["site"], bins=4, exact=False)
    return fmt.write_aggregate(cells, _info(), tmp_path / "agg.parquet")


def _with_metadata(tmp_path: Path, change: dict[str, object]) -> Path:
    table = pq.read_table(_written(tmp_path))
    data = json.loads(table.schema.metadata[fmt.METADATA_KEY])
    data.update(change)
    target = tmp_path / "changed.parquet"
    pq.write_table(table.replace_schema_metadata({fmt.METADATA_KEY: json.dumps(data).encode()}), target)
    return target


def test_a_foreign_parquet_file_is_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "scored.parquet"
    pq.write_table(pa.table({"y": [0, 1], "p": [0.1, 0.9]}), foreign)
    with pytest.raises(AggregateError, match="not a storybook aggregate") as raised:
        fmt.read_aggregate(foreign)
    assert str(raised.value).startswith(f"{foreign}: ") and "fix:" in str(raised.value)
    assert isinstance(raised.value, StoryError)  # a story that reads it fails alone


def test_a_csv_renamed_parquet_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "agg.parquet"
    fake.write_text("y,p\n0,0.1\n1,0.9\n")
    where = Location(tmp_path / "story.yaml", 12)
    with pytest.raises(AggregateError, match="is not a Parquet file") as raised:
        fmt.read_aggregate(fake, where=where)
    assert str(raised.value).startswith(f"{where}: ")


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AggregateError, match="does not exist"):
        fmt.read_aggregate(tmp_path / "nowhere.parquet")


def test_a_newer_schema_version_asks_for_an_upgrade(tmp_path: Path) -> None:
    with pytest.raises(AggregateError, match=r"made by a newer storybook .*version 2") as raised:
        fmt.read_aggregate(_with_metadata(tmp_path, {"schema_version": 2}))
    assert "upgrade storybook" in str(raised.value)


@pytest.mark.parametrize(("change", "said"), [
    ({"format": "other"}, "malformed"),
    ({"rows": "ten"}, "malformed .*rows"),
    ({"slices": ["site", "region"]}, "missing region"),
    ({"replicates": 2}, "unexpected rep_2"),
    ({"rows": 11}, "says it holds 11 rows but its cells add up to 10"),
    ({"kind": "production"}, "missing window"),
    ({"bin_edges": [0.0, 0.5, 1.0]}, "4 bins but 3 bin edges"),
    ({"bin_edges": [0.0, 0.3, 0.5, 0.75, 1.0]}, "score bin edges that are not j/K"),
    ({"exact": True, "bin_edges": [0.9, 0.1, 0.5, 0.7]}, "bin edges that are not finite numbers in order"),
    ({"exact": True, "bins": 2, "bin_edges": [0.1, 0.9]}, "bins outside 0 to 1"),
])
def test_metadata_that_does_not_match_the_cells_is_refused(tmp_path: Path, change: dict[str, object],
                                                           said: str) -> None:
    with pytest.raises(AggregateError, match=said):
        fmt.read_aggregate(_with_metadata(tmp_path, change))


@pytest.mark.parametrize(("column", "value", "said"), [
    ("label", 2, "a label other than 0 and 1"),
    ("score_sum", float("nan"), "a sum that is not a finite number"),
    ("rep_1", -1, "a negative replicate count"),
])
def test_cells_no_aggregate_has_are_refused(tmp_path: Path, column: str, value: object, said: str) -> None:
    table = pq.read_table(_written(tmp_path))
    values = table[column].to_pylist()
    values[0] = value
    index = table.schema.get_field_index(column)
    table = table.set_column(index, table.schema.field(index), pa.array(values, type=table.schema.field(index).type))
    target = tmp_path / "tampered.parquet"
    pq.write_table(table, target)
    with pytest.raises(AggregateError, match=said):
        fmt.read_aggregate(target)


def test_an_aggregate_too_large_to_read_back_is_neither_written_nor_read(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = _written(tmp_path)
    monkeypatch.setattr(fmt, "MAX_VALUES", 30)  # 4 cells x (3 replicates + 1 slice + 8) = 48 values
    with pytest.raises(AggregateError, match="4 cells with 3 replicates each, more than storybook reads"):
        fmt.read_aggregate(path)
    cells, _ = fmt.finish_cells(_grouped(), slices=["site"], bins=4, exact=False)
    with pytest.raises(AggregateError, match="too many to read back"):
        fmt.write_aggregate(cells, _info(), tmp_path / "big.parquet")
    assert not (tmp_path / "big.parquet").exists()


def test_a_column_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    table = pq.read_table(_written(tmp_path))
    table = table.set_column(table.schema.get_field_index("n"), "n", table["n"].cast(pa.float64()))
    target = tmp_path / "retyped.parquet"
    pq.write_table(table, target)
    with pytest.raises(AggregateError, match="n is double, not int64"):
        fmt.read_aggregate(target)


def test_a_production_aggregate_is_not_read_as_a_scored_one(tmp_path: Path) -> None:
    cells = pd.DataFrame({"window": ["2026-11-02"], "label": pd.array([None], dtype="Int8"), "score_bin": [1],
                          "n": [5], "score_sum": [1.5], "score_sq_sum": [0.5]})
    info = _info(kind="production", rows=5, slices=(), replicates=0, label_column=None, windows=("2026-11-02",),
                 window="day")
    path = fmt.write_aggregate(cells, info, tmp_path / "prod.parquet")
    frame, read = fmt.read_aggregate(path, kind="production")
    assert read == info and frame["label"].isna().all()
    with pytest.raises(AggregateError, match="is a production aggregate, not a scored one"):
        fmt.read_aggregate(path)
