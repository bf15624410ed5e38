"""storybook.aggregate.duckdb_engine and `storybook aggregate`: a real DuckDB aggregates small generated Parquet
and CSV files; every cell is checked against a pandas groupby of the same rows, and the command writes a file and
logs it to a real sqlite MLflow run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import storybook
from storybook.aggregate import format as fmt
from storybook.aggregate.duckdb_engine import aggregate_with_duckdb
from storybook.cli import app
from storybook.errors import AggregateError, ConfigError, LoggingError, TrackingError
from tests.stores import tracking_uri, use_experiment

ROWS = 30_000
BINS = 100


def _scored(rows: int, seed: int) -> pd.DataFrame:
    """A binary scored set: labels "yes"/"no", scores in [0, 1] with some exactly at bin edges (0.57, 0, 1),
    two slice columns (one with missing values, one a number)."""
    rng = np.random.default_rng(seed)
    scores = rng.beta(2, 5, rows)
    at_edges = rng.random(rows) < 0.2
    scores[at_edges] = rng.integers(0, BINS + 1, int(at_edges.sum())) / BINS
    scores[:3] = [0.57, 0.0, 1.0]
    labels = np.where(rng.random(rows) < scores, "yes", "no")
    site = rng.choice(np.array(["north", "south", "east", None], dtype=object), rows)
    return pd.DataFrame({"outcome": labels, "p": scores, "site": site, "tier": rng.integers(1, 4, rows),
                         "case_id": np.arange(rows)})


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("scored")
    frame = _scored(ROWS, seed=3)
    frame.to_parquet(folder / "scored.parquet", index=False)
    return folder / "scored.parquet", frame


@pytest.fixture(scope="module")
def aggregated(scored: tuple[Path, pd.DataFrame]) -> tuple[pd.DataFrame, fmt.AggregateInfo]:
    return aggregate_with_duckdb(scored[0], label_column="outcome", score_column="p", positive_value="yes",
                                 slices=["site", "tier"], bins=BINS, replicates=50, seed=11, threads=2,
                                 memory_limit="256MB")


def _expected_bins(scores: pd.Series, bins: int) -> np.ndarray:
    """The bin of each score by the format's rule, worked out from the edges j/K as Python writes them."""
    edges = np.array(fmt.equal_width_edges(bins))
    return np.minimum(np.searchsorted(edges, scores.to_numpy(), side="right") - 1, bins - 1)


def test_every_cell_equals_a_pandas_groupby_of_the_rows(scored: tuple[Path, pd.DataFrame],
                                                        aggregated: tuple[pd.DataFrame, fmt.AggregateInfo]) -> None:
    _, frame = scored
    cells, info = aggregated
    rows = frame.assign(label=(frame["outcome"] == "yes").astype(int), score_bin=_expected_bins(frame["p"], BINS),
                        site=frame["site"].fillna("(missing)"), tier=frame["tier"].astype(str))
    expected = rows.groupby(["site", "tier", "label", "score_bin"]).agg(
        n=("p", "size"), score_sum=("p", "sum"), score_min=("p", "min"), score_max=("p", "max")).reset_index()
    got = cells.assign(site=cells["site"].fillna("(missing)").astype(str), tier=cells["tier"].astype(str),
                       label=cells["label"].astype(int), score_bin=cells["score_bin"].astype(int))
    merged = expected.merge(got, on=["site", "tier", "label", "score_bin"], how="outer", suffixes=("", "_got"),
                            indicator=True)
    assert (merged["_merge"] == "both").all() and len(merged) == len(cells)
    assert (merged["n"] == merged["n_got"]).all()
    assert np.allclose(merged["score_sum"], merged["score_sum_got"], rtol=1e-12, atol=1e-12)
    assert (merged["score_min"] == merged["score_min_got"]).all()
    assert (merged["score_max"] == merged["score_max_got"]).all()
    assert info.rows == ROWS and not info.exact and info.bins == BINS and info.slices == ("site", "tier")
    assert info.engine.startswith("duckdb ") and info.source == "scored.parquet"
    assert cells["site"].isna().any()  # the missing slice value is kept as missing, not as text


def test_a_threshold_at_each_bin_edge_counts_the_same_rows_as_the_full_set(
        scored: tuple[Path, pd.DataFrame], aggregated: tuple[pd.DataFrame, fmt.AggregateInfo]) -> None:
    _, frame = scored
    cells, info = aggregated
    positives = frame["outcome"] == "yes"
    for threshold in (0.0, 0.01, 0.3, 0.57, 0.99):
        assert fmt.is_exact_threshold(info, threshold)
        flagged = cells["score_bin"] >= fmt.bin_of_threshold(info, threshold)
        above = frame["p"] >= threshold
        assert int(cells.loc[flagged & (cells["label"] == 1), "n"].sum()) == int((positives & above).sum())
        assert int(cells.loc[flagged & (cells["label"] == 0), "n"].sum()) == int((~positives & above).sum())
    assert cells.loc[cells["score_bin"] == BINS - 1, "score_max"].max() == 1.0  # a score of 1 is in the last bin
    assert not fmt.is_exact_threshold(info, 1.0) and not fmt.is_exact_threshold(info, 0.575)


@pytest.mark.parametrize("bins", [7, 100, 1000])
def test_scores_at_and_next_to_every_edge_fall_in_the_bin_a_threshold_there_expects(bins: int) -> None:
    import duckdb

    edges = np.array(fmt.equal_width_edges(bins))
    scores = np.concatenate([edges, np.nextafter(edges, 2.0), np.nextafter(edges, -1.0)])
    scores = scores[(scores >= 0) & (scores <= 1)]
    frame = pd.DataFrame({"y": np.arange(len(scores)) % 2, "p": scores})
    connection = duckdb.connect()
    connection.register("scored", frame)
    sql = fmt.grouping_sql("scored", label_column="y", score_column="p", positive_value="1", slices=[], bins=bins,
                           exact=False, dialect="duckdb")
    got = connection.execute(f"SELECT score_min, score_max, score_bin FROM ({sql}) g").fetchall()
    for low, high, j in got:  # every score of a cell is in [j/K, (j+1)/K), the last bin also holding 1
        assert edges[j] <= low and (high < edges[j + 1] or (j == bins - 1 and high == 1.0)), (low, high, j)
    assert sum(1 for _ in got) >= bins  # every bin holds a score


def test_replicates_written_are_poisson_around_each_cell(aggregated: tuple[pd.DataFrame, fmt.AggregateInfo],
                                                         tmp_path: Path) -> None:
    cells, info = aggregated
    frame, read = fmt.read_aggregate(fmt.write_aggregate(cells, info, tmp_path / "agg.parquet"))
    assert read == info
    reps = frame[fmt.replicate_columns(50)].to_numpy(dtype=float)
    n = frame["n"].to_numpy(dtype=float)[:, None]
    # Poisson(n): mean n and variance n in every cell, so (rep - n) / sqrt(n) has mean 0 and variance 1 overall
    standardised = (reps - n) / np.sqrt(n)
    assert abs(standardised.mean()) < 0.02 and abs(standardised.var() - 1) < 0.05
    assert abs(reps.sum(axis=0).mean() - ROWS) < 0.01 * ROWS


def test_few_distinct_scores_are_kept_exactly(tmp_path: Path) -> None:
    frame = pd.DataFrame({"y": [1, 0, 1, 0, 1, 0, 0], "p": [0.9, 0.1, 0.333, 0.333, 0.9, 0.9, 0.1]})
    frame.to_csv(tmp_path / "few.csv", index=False)
    cells, info = aggregate_with_duckdb(tmp_path / "few.csv", label_column="y", score_column="p", bins=3)
    assert info.exact and info.bins == 3 and info.bin_edges == (0.1, 0.333, 0.9)
    assert cells[["label", "score_bin", "n"]].values.tolist() == [[0, 0, 2], [0, 1, 1], [0, 2, 1], [1, 1, 1],
                                                                   [1, 2, 2]]
    _, binned = aggregate_with_duckdb(tmp_path / "few.csv", label_column="y", score_column="p", bins=2)
    assert not binned.exact and binned.bin_edges == (0.0, 0.5, 1.0)  # 3 distinct scores > 2 bins


def test_a_glob_of_files_is_one_set(scored: tuple[Path, pd.DataFrame], tmp_path: Path,
                                    aggregated: tuple[pd.DataFrame, fmt.AggregateInfo]) -> None:
    _, frame = scored
    frame.iloc[:10_000].to_parquet(tmp_path / "part-0.parquet", index=False)
    frame.iloc[10_000:].to_parquet(tmp_path / "part-1.parquet", index=False)
    cells, info = aggregate_with_duckdb(str(tmp_path / "part-*.parquet"), label_column="outcome",
                                        score_column="p", positive_value="yes", slices=["site", "tier"], bins=BINS)
    assert info.rows == ROWS and info.source == "part-*.parquet"
    pd.testing.assert_frame_equal(cells[["site", "tier", "label", "score_bin", "n"]],
                                  aggregated[0][["site", "tier", "label", "score_bin", "n"]])


def test_a_csv_renamed_parquet_gets_a_located_error(tmp_path: Path) -> None:
    fake = tmp_path / "scored.parquet"
    fake.write_text("y,p\n1,0.5\n0,0.2\n")
    with pytest.raises(AggregateError, match=r"DuckDB could not read scored\.parquet") as raised:
        aggregate_with_duckdb(fake, label_column="y", score_column="p")
    assert str(raised.value).startswith(f"{fake}: ") and "fix:" in str(raised.value)


@pytest.mark.parametrize(("kwargs", "said"), [
    ({"label_column": "clicked"}, "the label column 'clicked' is not in scored.parquet; its columns are 'outcome'"),
    ({"slices": ["region"]}, "the slice column 'region' is not in"),
    ({"positive_value": "1"}, "positive value '1' is not one of the labels in column 'outcome' \\('no', 'yes'\\)"),
    ({"label_column": "tier"}, "holds 3 different values"),
    ({"label_column": "case_id"}, r"holds about [\d,]+ different values; a binary story needs exactly two"),
    ({"score_column": "tier"}, "rows of the set have a score that is missing, not a number, or outside 0 to 1"),
    ({"slices": ["case_id"]}, "slice column .case_id. holds more than 1,000 different values"),
    ({"slices": ["p"]}, "is given twice, or is the label or score column"),
    ({"bins": 0}, "bins must be a whole number from 1"),
    ({"memory_limit": "lots"}, "memory limit 'lots' is not a size"),
    ({"memory_limit": "1GB'; SET threads = 1; --"}, "is not a size"),
    ({"threads": 0}, "threads must be a whole number of at least 1"),
])
def test_a_set_of_the_wrong_shape_is_refused(scored: tuple[Path, pd.DataFrame], kwargs: dict[str, object],
                                             said: str) -> None:
    arguments: dict[str, object] = {"label_column": "outcome", "score_column": "p", "positive_value": "yes",
                                    **kwargs}
    with pytest.raises(AggregateError, match=said):
        aggregate_with_duckdb(scored[0], **arguments)  # type: ignore[arg-type]


def test_scores_that_are_not_chances_are_counted(tmp_path: Path) -> None:
    frame = pd.DataFrame({"y": [1, 0, 1, 0, 1, 0], "p": [0.5, float("nan"), -0.1, 1.5, None, 0.2]})
    frame.to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(AggregateError, match=r"^.*bad\.parquet: 4 rows of the set have a score that is missing"):
        aggregate_with_duckdb(tmp_path / "bad.parquet", label_column="y", score_column="p")
    with pytest.raises(AggregateError, match="4 rows of the set have a score"):  # exact mode counts them too
        aggregate_with_duckdb(tmp_path / "bad.parquet", label_column="y", score_column="p", bins=10)


def test_without_duckdb_installed_it_says_which_extra_to_install(scored: tuple[Path, pd.DataFrame],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "duckdb", None)  # what `import duckdb` finds when it is not installed
    with pytest.raises(AggregateError, match="needs the duckdb package") as raised:
        aggregate_with_duckdb(scored[0], label_column="outcome", score_column="p", positive_value="yes")
    assert "pip install 'storybook-ml[scale]'" in str(raised.value)


def test_a_missing_source_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AggregateError, match="no file matches"):
        aggregate_with_duckdb(tmp_path / "none-*.parquet", label_column="y", score_column="p")


# --- regression ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def regression(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(5)
    actual = rng.normal(100, 20, 5000).round(1)
    frame = pd.DataFrame({"beds": actual, "forecast": actual + rng.normal(2, 8, 5000),
                          "ward": rng.choice(["A", "B", "C"], 5000)})
    path = tmp_path_factory.mktemp("regression") / "forecasts.csv"
    frame.to_csv(path, index=False)
    return path, pd.read_csv(path)  # the numbers as the CSV holds them


def test_a_regression_set_is_counted_per_error_bin_with_exact_sums(regression: tuple[Path, pd.DataFrame],
                                                                   tmp_path: Path) -> None:
    from sklearn.metrics import mean_absolute_error, mean_squared_error

    from storybook.aggregate.duckdb_engine import aggregate_regression_with_duckdb

    path, frame = regression
    cells, info = aggregate_regression_with_duckdb(path, actual_column="beds", prediction_column="forecast",
                                                   slices=["ward"], bins=50, replicates=10)
    error = frame["forecast"] - frame["beds"]
    low, high = float(error.min()), float(error.max())
    assert info.task == "regression" and info.bins == 50 and info.bin_edges[0] == low and info.bin_edges[-1] == high
    width = (high - low) / 50
    rows = frame.assign(error=error, error_bin=np.clip(np.floor((error - low) / width), 0, 49).astype(int))
    expected = rows.groupby(["ward", "error_bin"]).agg(n=("error", "size"), error_sum=("error", "sum"),
                                                        actual_sum=("beds", "sum")).reset_index()
    got = cells.assign(ward=cells["ward"].astype(str), error_bin=cells["error_bin"].astype(int))
    merged = expected.merge(got, on=["ward", "error_bin"], how="outer", suffixes=("", "_got"), indicator=True)
    assert (merged["_merge"] == "both").all() and (merged["n"] == merged["n_got"]).all()
    assert np.allclose(merged["error_sum"], merged["error_sum_got"])
    assert np.allclose(merged["actual_sum"], merged["actual_sum_got"])
    n = cells["n"].sum()
    assert n == 5000 and cells["abs_error_sum"].sum() / n == pytest.approx(
        mean_absolute_error(frame["beds"], frame["forecast"]), rel=1e-12)
    assert np.sqrt(cells["sq_error_sum"].sum() / n) == pytest.approx(
        np.sqrt(mean_squared_error(frame["beds"], frame["forecast"])), rel=1e-12)
    read, read_info = fmt.read_aggregate(fmt.write_aggregate(cells, info, tmp_path / "reg.parquet"))
    assert read_info == info and read["rep_9"].dtype == np.int32 and int(read["n"].sum()) == 5000


def test_a_regression_row_without_a_number_is_refused(tmp_path: Path) -> None:
    from storybook.aggregate.duckdb_engine import aggregate_regression_with_duckdb

    pd.DataFrame({"y": [1.0, None, 3.0, float("nan")], "f": [1.5, 2.0, None, 4.0]}).to_parquet(tmp_path / "r.parquet")
    with pytest.raises(AggregateError, match="3 rows of the set have an actual amount or a prediction that is "
                                             "missing or not a number"):
        aggregate_regression_with_duckdb(tmp_path / "r.parquet", actual_column="y", prediction_column="f")


# --- multiclass ------------------------------------------------------------------------------------------------

CLASSES = {"support": "p_support", "challenge": "p_challenge", "neither": "p_neither"}


@pytest.fixture(scope="module")
def multiclass(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(8)
    chances = rng.dirichlet([2, 1, 1], 4000)
    chances[:2] = [[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]]  # a tie (the first listed class is called) and an edge
    names = np.array(list(CLASSES))
    frame = pd.DataFrame({"outcome": names[rng.integers(0, 3, 4000)], "p_support": chances[:, 0],
                          "p_challenge": chances[:, 1], "p_neither": chances[:, 2],
                          "counsellor": names[rng.integers(0, 3, 4000)], "school": rng.choice(["Oak", "Elm"], 4000)})
    path = tmp_path_factory.mktemp("multiclass") / "students.parquet"
    frame.to_parquet(path, index=False)
    return path, frame


@pytest.mark.parametrize("called", [None, "counsellor"])
def test_a_multiclass_set_is_counted_per_true_and_called_class(multiclass: tuple[Path, pd.DataFrame],
                                                               called: str | None) -> None:
    from storybook.aggregate.duckdb_engine import aggregate_multiclass_with_duckdb

    path, frame = multiclass
    cells, info = aggregate_multiclass_with_duckdb(path, label_column="outcome", probabilities=CLASSES,
                                                   prediction_column=called, slices=["school"], bins=20,
                                                   replicates=5)
    chances = frame[list(CLASSES.values())].to_numpy()
    if called is None:
        predicted = np.array(list(CLASSES))[chances.argmax(axis=1)]  # argmax: the first on a tie, as the SQL
        chance = chances.max(axis=1)
    else:
        predicted = frame[called].to_numpy()
        chance = chances[np.arange(len(frame)), [list(CLASSES).index(c) for c in predicted]]
    rows = frame.assign(predicted=predicted, chance=chance, prob_bin=_expected_bins(pd.Series(chance), 20))
    expected = rows.groupby(["school", "outcome", "predicted", "prob_bin"]).agg(
        n=("chance", "size"), prob_sum=("chance", "sum")).reset_index().rename(columns={"outcome": "label"})
    got = cells.assign(school=cells["school"].astype(str), label=cells["label"].astype(str),
                       predicted=cells["predicted"].astype(str), prob_bin=cells["prob_bin"].astype(int))
    merged = expected.merge(got, on=["school", "label", "predicted", "prob_bin"], how="outer", suffixes=("", "_got"),
                            indicator=True)
    assert (merged["_merge"] == "both").all() and (merged["n"] == merged["n_got"]).all()
    assert np.allclose(merged["prob_sum"], merged["prob_sum_got"])
    assert info.task == "multiclass" and info.classes == tuple(CLASSES) and info.rows == 4000
    assert info.score_column == (called or "")


def test_a_multiclass_set_of_the_wrong_shape_is_refused(multiclass: tuple[Path, pd.DataFrame],
                                                        tmp_path: Path) -> None:
    from storybook.aggregate.duckdb_engine import aggregate_multiclass_with_duckdb

    path, frame = multiclass
    with pytest.raises(AggregateError, match="true class column 'outcome' holds 'neither'"):
        aggregate_multiclass_with_duckdb(path, label_column="outcome",
                                         probabilities={"support": "p_support", "challenge": "p_challenge",
                                                        "maybe": "p_neither"})
    with pytest.raises(AggregateError, match="needs 3 to 100 classes"):
        aggregate_multiclass_with_duckdb(path, label_column="outcome", probabilities={"support": "p_support"})
    broken = frame.copy()
    bad = [0.9, np.nan, np.nan, *([0.0] * 3997)]  # rows 0 to 2: chances adding up to 1.9, or missing
    broken["p_neither"] = broken["p_neither"].where(broken.index > 2, bad)
    broken.to_parquet(tmp_path / "broken.parquet")
    with pytest.raises(AggregateError, match="3 rows of the set have class chances that are missing, outside 0 "
                                             "to 1 or do not add up to 1"):
        aggregate_multiclass_with_duckdb(tmp_path / "broken.parquet", label_column="outcome", probabilities=CLASSES)


def test_the_command_aggregates_a_multiclass_set_and_logs_its_classes(multiclass: tuple[Path, pd.DataFrame],
                                                                      tmp_path: Path, experiment: str) -> None:
    import mlflow

    with mlflow.start_run() as run:
        pass
    out = tmp_path / "mc.parquet"
    arguments = ["aggregate", str(multiclass[0]), "--out", str(out), "--task", "multiclass", "--label", "outcome",
                 "--bins", "10", "--replicates", "3"]
    result = CliRunner().invoke(app, [*arguments, *(f"--probability={k}={v}" for k, v in CLASSES.items()),
                                      "--log-to-run", run.info.run_id, "--tracking-uri", experiment])
    assert result.exit_code == 0, result.output
    assert "counted per true class and called class (3 classes)" in result.output
    frame, info = fmt.read_aggregate(out)
    assert info.probability_columns == tuple(CLASSES.values()) and int(frame["n"].sum()) == 4000
    tag = json.loads(mlflow.get_run(run.info.run_id).data.tags["storybook.aggregate.evaluation/aggregate.parquet"])
    assert tag["task"] == "multiclass" and tag["probabilities"] == CLASSES
    wrong = CliRunner().invoke(app, [*arguments, "--probability", "p_support"])
    assert wrong.exit_code == 2 and "should be CLASS=COLUMN" in wrong.output


# --- the command and the Python API ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real sqlite store for the module, in memory-backed /dev/shm where there is one: MLflow's table migrations
    fsync often and take twice as long on disk."""
    import tempfile

    shm = Path("/dev/shm")
    if not shm.is_dir():
        yield tracking_uri(tmp_path_factory.mktemp("aggregate-store"))
        return
    with tempfile.TemporaryDirectory(prefix="storybook-aggregate-store-", dir=shm) as folder:
        yield tracking_uri(Path(folder))


@pytest.fixture
def experiment(store: str) -> Iterator[str]:
    use_experiment(store, "aggregate")
    yield store


def test_the_command_writes_the_aggregate_and_logs_it_to_a_run(scored: tuple[Path, pd.DataFrame], tmp_path: Path,
                                                               experiment: str) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    with mlflow.start_run() as run:
        pass
    out = tmp_path / "out" / "agg.parquet"
    result = CliRunner().invoke(app, ["aggregate", str(scored[0]), "--out", str(out), "--label", "outcome",
                                      "--score", "p", "--positive", "yes", "--slice", "site", "--bins", "100",
                                      "--replicates", "20", "--log-to-run", run.info.run_id, "--tracking-uri",
                                      experiment])
    assert result.exit_code == 0, result.output
    assert f"read {ROWS:,} rows of scored.parquet and wrote" in result.output
    assert "bins 0.01 wide: a threshold at a multiple of 0.01 (below 1) gives the same counts" in result.output
    assert f"logged it to run {run.info.run_id} as evaluation/aggregate.parquet" in result.output
    frame, info = fmt.read_aggregate(out)
    assert int(frame["n"].sum()) == ROWS and set(frame["site"].dropna()) == {"north", "south", "east"}
    assert info.rows == ROWS and info.replicates == 20 and info.slices == ("site",)
    assert sorted(p.name for p in out.parent.iterdir()) == ["agg.parquet"]  # no spill folder or temp file left
    client = MlflowClient(experiment, experiment)
    local = Path(client.download_artifacts(run.info.run_id, "evaluation/aggregate.parquet"))
    assert local.read_bytes() == out.read_bytes()
    tag = json.loads(client.get_run(run.info.run_id).data.tags["storybook.aggregate.evaluation/aggregate.parquet"])
    assert tag["rows"] == ROWS and tag["label"] == "outcome" and tag["slices"] == ["site"]


def test_the_command_says_what_is_wrong_without_a_traceback(scored: tuple[Path, pd.DataFrame],
                                                            tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["aggregate", str(scored[0]), "--out", str(tmp_path / "agg.parquet"),
                                      "--label", "outcome", "--score", "p"])
    assert result.exit_code == 1
    assert "positive value '1' is not one of the labels" in result.output and "Traceback" not in result.output
    assert "storybook/" not in result.output and ".py:" not in result.output  # no line of storybook's own code
    assert not (tmp_path / "agg.parquet").exists()
    no_actual = CliRunner().invoke(app, ["aggregate", str(scored[0]), "--out", str(tmp_path / "agg.parquet"),
                                         "--task", "regression", "--prediction", "p"])
    assert no_actual.exit_code == 2 and "a regression set needs --actual and --prediction" in no_actual.output
    bad_out = CliRunner().invoke(app, ["aggregate", str(scored[0]), "--out", str(tmp_path / "agg.csv"),
                                       "--label", "outcome", "--score", "p", "--positive", "yes"])
    assert bad_out.exit_code == 2 and "should end in .parquet" in bad_out.output
    parts = tmp_path / "parts"
    parts.mkdir()
    scored[1].head(50).to_parquet(parts / "part-0.parquet")
    for source, out in [(parts / "part-0.parquet", parts / "part-0.parquet"),
                        (parts / "*.parquet", parts / "aggregate.parquet")]:
        over = CliRunner().invoke(app, ["aggregate", str(source), "--out", str(out), "--label", "outcome",
                                        "--score", "p", "--positive", "yes"])
        assert over.exit_code == 2 and "would replace the scored set" in over.output
    assert sorted(p.name for p in parts.iterdir()) == ["part-0.parquet"]


def test_the_command_aggregates_a_regression_set(regression: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    out = tmp_path / "reg.parquet"
    result = CliRunner().invoke(app, ["aggregate", str(regression[0]), "--out", str(out), "--task", "regression",
                                      "--actual", "beds", "--prediction", "forecast", "--bins", "20",
                                      "--replicates", "0"])
    assert result.exit_code == 0, result.output
    assert "read 5,000 rows of forecasts.csv" in result.output
    assert "the mean absolute error and the root mean squared error come from exact sums" in result.output
    assert fmt.read_info(out).task == "regression"


def test_the_python_api_aggregates_and_logs_to_the_active_run(scored: tuple[Path, pd.DataFrame], tmp_path: Path,
                                                              experiment: str) -> None:
    import mlflow

    made = storybook.aggregate_scored_set(scored[0], tmp_path / "agg.parquet", label="outcome", score="p",
                                          positive="yes", bins=10, replicates=0)
    assert made.info.rows == ROWS and made.cells == 20 and made.path.exists()
    with mlflow.start_run() as run:
        logged = storybook.log_aggregate(made.path, artifact_path="eval/agg.parquet")
    assert logged == storybook.LoggedAggregate(run.info.run_id, "eval/agg.parquet", ROWS)
    with pytest.raises(TrackingError, match="MLflow could not log the aggregate to run 0123abcd"):
        storybook.log_aggregate(made.path, run_id="0123abcd")
    with pytest.raises(LoggingError, match=r"ending in \.parquet"), mlflow.start_run():
        storybook.log_aggregate(made.path, artifact_path="eval/agg.csv")
    foreign = tmp_path / "foreign.parquet"
    scored[1].head().to_parquet(foreign)
    with pytest.raises(AggregateError, match="not a storybook aggregate"), mlflow.start_run():
        storybook.log_aggregate(foreign)
    with pytest.raises(ConfigError, match="engine 'polars' is not one"):
        storybook.aggregate_scored_set(scored[0], tmp_path / "b.parquet", label="outcome", score="p",
                                       engine="polars")
