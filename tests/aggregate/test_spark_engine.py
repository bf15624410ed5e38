"""storybook.aggregate.spark_engine on a real Spark (pyspark with Java, ``local[2]``, one session for the module):
it aggregates the same generated files as DuckDB and gives the same aggregate, cell for cell and file for file;
its production windows equal DuckDB's and a pandas groupby.

pyspark is imported at the top on purpose: where it is missing this module fails to load (CI installs it with
the ``spark`` extra), rather than being skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyspark  # at the top: fail here, loudly, when the spark extra is not installed
import pytest
from pyspark.sql import SparkSession
from typer.testing import CliRunner

import storybook
from storybook.aggregate import format as fmt
from storybook.aggregate.duckdb_engine import (
    aggregate_multiclass_with_duckdb,
    aggregate_regression_with_duckdb,
    aggregate_with_duckdb,
)
from storybook.aggregate.production import aggregate_production_with_duckdb
from storybook.aggregate.spark_engine import (
    aggregate_multiclass_with_spark,
    aggregate_production_with_spark,
    aggregate_regression_with_spark,
    aggregate_with_spark,
)
from storybook.cli import app
from storybook.errors import AggregateError
from tests.aggregate.test_production import assert_same_cells, expected_bins, expected_cells, production_rows

ROWS = 20_000
BINS = 100


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    """One local Spark on two cores for the module: no web UI, two shuffle partitions, a small driver. Tuned for
    many short queries on a few thousand rows (the module runs in about half the time): the JVM's quick compiler
    only (-XX:TieredStopAtLevel=1), no whole-stage code generation and no adaptive plans. A long aggregation wants
    all three, so storybook's own local session keeps Spark's defaults; the SQL and its results are the same."""
    builder = SparkSession.builder
    session = (builder.master("local[2]").appName("storybook tests")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2").config("spark.driver.memory", "512m")
               .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
               .config("spark.sql.codegen.wholeStage", "false").config("spark.sql.adaptive.enabled", "false")
               .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.sql.session.timeZone", "America/New_York")  # windows must still be UTC days
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _scored(rows: int, seed: int) -> pd.DataFrame:
    """A binary scored set with labels "yes"/"no", scores with many exactly on bin edges (and 0 and 1), a text
    slice with missing values and a number slice."""
    rng = np.random.default_rng(seed)
    scores = rng.beta(2, 5, rows)
    at_edges = rng.random(rows) < 0.2
    scores[at_edges] = rng.integers(0, BINS + 1, int(at_edges.sum())) / BINS
    labels = np.where(rng.random(rows) < scores, "yes", "no")
    site = rng.choice(np.array(["north", "south", "east", None], dtype=object), rows)
    return pd.DataFrame({"outcome": labels, "p": scores, "site": site, "tier": rng.integers(1, 4, rows)})


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("spark")
    _scored(ROWS, seed=3).to_parquet(folder / "scored.parquet", index=False)
    coarse = _scored(ROWS // 4, seed=4)
    coarse["p"] = coarse["p"].round(2)  # 101 distinct scores at most: exact mode
    coarse.to_parquet(folder / "coarse.parquet", index=False)
    production_rows(ROWS, seed=5).to_parquet(folder / "production.parquet", index=False)
    return {"scored": folder / "scored.parquet", "coarse": folder / "coarse.parquet",
            "production": folder / "production.parquet", "folder": folder}


def _same(duck: pd.DataFrame, sparked: pd.DataFrame, rtol: float = 1e-12, atol: float = 0.0) -> None:
    """Identical cells: the same columns, keys, counts, minimum and maximum exactly; the sums (columns ending in
    _sum) to the last few digits (the engines add the rows in different orders)."""
    assert list(sparked.columns) == list(duck.columns)
    sums = [c for c in duck.columns if c.endswith("_sum")]
    exact = [c for c in duck.columns if c not in sums]
    pd.testing.assert_frame_equal(sparked[exact], duck[exact])
    for column in sums:
        np.testing.assert_allclose(sparked[column], duck[column], rtol=rtol, atol=atol)


def test_spark_and_duckdb_make_the_same_aggregate(spark: SparkSession, files: dict[str, Path]) -> None:
    settings = {"label_column": "outcome", "score_column": "p", "positive_value": "yes", "slices": ["site", "tier"],
                "bins": BINS, "replicates": 20, "seed": 7}
    duck, duck_info = aggregate_with_duckdb(files["scored"], threads=2, **settings)  # type: ignore[arg-type]
    sparked, spark_info = aggregate_with_spark(spark.read.parquet(str(files["scored"])),
                                               **settings)  # type: ignore[arg-type]
    _same(duck, sparked)
    assert spark_info.engine == f"pyspark {pyspark.__version__}" and spark_info.source == "a Spark DataFrame"
    assert spark_info == duck_info.__class__(**{**duck_info.__dict__, "engine": spark_info.engine,
                                                "source": spark_info.source})
    assert (spark_info.rows, spark_info.exact, spark_info.bins) == (ROWS, False, BINS)

    # against the rows themselves: rows per site x label x bin
    rows = _scored(ROWS, seed=3)
    counted = rows.assign(site=rows["site"].astype("string"), label=(rows["outcome"] == "yes").astype("int8"),
                          score_bin=expected_bins(rows["p"], BINS))
    by_cell = counted.groupby(["site", "label", "score_bin"], dropna=False).size()
    found = sparked.groupby(["site", "label", "score_bin"], dropna=False)["n"].sum()
    assert by_cell.sort_index().tolist() == found.sort_index().tolist()
    assert sparked.loc[sparked["site"].isna(), "n"].sum() == rows["site"].isna().sum() > 0

    # written with the same seed, the two files hold the same replicate counts
    duck_file = fmt.write_aggregate(duck, duck_info, files["folder"] / "duck.parquet")
    spark_file = fmt.write_aggregate(sparked, spark_info, files["folder"] / "spark.parquet")
    replicates = fmt.replicate_columns(20)
    assert pq.read_table(duck_file, columns=replicates).equals(pq.read_table(spark_file, columns=replicates))
    again, read_info = fmt.read_aggregate(spark_file)
    assert read_info == spark_info and int(again["n"].sum()) == ROWS


def test_a_table_name_and_exact_mode_give_what_duckdb_gives(spark: SparkSession, files: dict[str, Path]) -> None:
    spark.read.parquet(str(files["coarse"])).createOrReplaceTempView("coarse_scores")
    try:
        sparked, info = aggregate_with_spark("coarse_scores", label_column="outcome", score_column="p",
                                             positive_value="yes", bins=BINS + 1, replicates=0)
    finally:
        spark.catalog.dropTempView("coarse_scores")
    duck, duck_info = aggregate_with_duckdb(files["coarse"], label_column="outcome", score_column="p",
                                            positive_value="yes", bins=BINS + 1, replicates=0)
    _same(duck, sparked)
    assert info.exact and info.source == "coarse_scores"
    assert info.bin_edges == duck_info.bin_edges and len(info.bin_edges) == info.bins <= 101


def test_without_arrow_collection_the_cells_are_the_same(spark: SparkSession, files: dict[str, Path],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # pyspark 3.5 (the extra's lowest version) has no DataFrame.toArrow: the cells then come back with collect()
    settings = {"label_column": "outcome", "score_column": "p", "positive_value": "yes", "slices": ["site"],
                "bins": BINS, "replicates": 0}
    frame = spark.read.parquet(str(files["coarse"]))
    with_arrow, _ = aggregate_with_spark(frame, **settings)  # type: ignore[arg-type]
    for cls in type(frame).__mro__:
        if "toArrow" in vars(cls):
            monkeypatch.delattr(cls, "toArrow")
    assert not hasattr(spark.read.parquet(str(files["coarse"])), "toArrow")
    collected, _ = aggregate_with_spark(spark.read.parquet(str(files["coarse"])), **settings)  # type: ignore[arg-type]
    _same(with_arrow, collected)


def test_the_command_aggregates_on_spark(spark: SparkSession, files: dict[str, Path], tmp_path: Path) -> None:
    # `storybook aggregate --engine spark` runs on the active session (the module's), and would start a local one
    result = CliRunner().invoke(app, ["aggregate", str(files["coarse"]), "--out", str(tmp_path / "agg.parquet"),
                                      "--label", "outcome", "--score", "p", "--positive", "yes", "--slice", "site",
                                      "--replicates", "5", "--engine", "spark"])
    assert result.exit_code == 0, result.output
    assert f"read {ROWS // 4:,} rows of coarse.parquet" in result.output
    cells, info = fmt.read_aggregate(tmp_path / "agg.parquet")
    assert info.engine == f"pyspark {pyspark.__version__}" and info.source == "coarse.parquet" and info.exact
    duck, _ = aggregate_with_duckdb(files["coarse"], label_column="outcome", score_column="p", positive_value="yes",
                                    slices=["site"], replicates=5)
    _same(duck, cells[duck.columns].astype({"site": "string"}))
    assert spark.sparkContext._jsc is not None  # the command left the session it did not start running
    broken = CliRunner().invoke(app, ["aggregate", str(files["coarse"]), "--out", str(tmp_path / "bad.parquet"),
                                      "--label", "outcome", "--score", "p", "--engine", "spark"])
    assert broken.exit_code == 1 and "positive value '1' is not one of the labels" in broken.output
    assert "Traceback" not in broken.output and not (tmp_path / "bad.parquet").exists()
    regression = CliRunner().invoke(app, ["aggregate", str(files["coarse"]), "--out", str(tmp_path / "reg.parquet"),
                                          "--task", "regression", "--actual", "tier", "--prediction", "p",
                                          "--replicates", "0", "--engine", "spark"])
    assert regression.exit_code == 0, regression.output
    assert fmt.read_info(tmp_path / "reg.parquet").engine.startswith("pyspark ")


def test_regression_and_multiclass_sets_from_spark_equal_duckdb(spark: SparkSession, tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    rows = 4_000
    actual = rng.normal(150, 40, rows)
    chances = rng.dirichlet([2, 3, 4], rows)
    classes = np.array(["support", "challenge", "neither"])
    frame = pd.DataFrame({"actual": actual, "predicted": actual + rng.normal(0, 15, rows),
                          "site": rng.choice(["north", "south"], rows),
                          "label": classes[[rng.choice(3, p=c) for c in chances]],
                          "p_support": chances[:, 0], "p_challenge": chances[:, 1], "p_neither": chances[:, 2]})
    frame.to_parquet(tmp_path / "sets.parquet", index=False)
    sparked_rows = spark.read.parquet(str(tmp_path / "sets.parquet"))

    regression = {"actual_column": "actual", "prediction_column": "predicted", "slices": ["site"], "bins": 50,
                  "replicates": 0}
    duck, duck_info = aggregate_regression_with_duckdb(tmp_path / "sets.parquet", **regression)  # type: ignore[arg-type]
    sparked, info = aggregate_regression_with_spark(sparked_rows, **regression)  # type: ignore[arg-type]
    _same(duck, sparked, rtol=1e-9, atol=1e-6)  # an error bin around 0 adds errors of both signs
    assert info.bin_edges == duck_info.bin_edges and info.task == "regression" and info.rows == rows
    squared = float(((frame["predicted"] - frame["actual"]) ** 2).sum())
    assert float(sparked["sq_error_sum"].sum()) == pytest.approx(squared, rel=1e-12)

    multiclass = {"label_column": "label", "slices": ["site"], "bins": 20, "replicates": 0,
                  "probabilities": {"support": "p_support", "challenge": "p_challenge", "neither": "p_neither"}}
    duck, duck_info = aggregate_multiclass_with_duckdb(tmp_path / "sets.parquet", **multiclass)  # type: ignore[arg-type]
    sparked, info = aggregate_multiclass_with_spark(sparked_rows, **multiclass)  # type: ignore[arg-type]
    _same(duck, sparked)
    assert info.classes == ("support", "challenge", "neither") and info.rows == rows
    called = classes[chances.argmax(axis=1)]
    assert sparked.groupby("predicted")["n"].sum().to_dict() == pd.Series(called).value_counts().to_dict()


def test_the_spark_engine_refuses_what_duckdb_refuses(spark: SparkSession, files: dict[str, Path]) -> None:
    frame = spark.read.parquet(str(files["scored"]))
    with pytest.raises(AggregateError, match="the slice column 'region' is not in a Spark DataFrame") as raised:
        aggregate_with_spark(frame, label_column="outcome", score_column="p", positive_value="yes",
                             slices=["region"])
    assert raised.value.location is not None and raised.value.location.path.name == "test_spark_engine.py"
    with pytest.raises(AggregateError, match="the positive value '1' is not one of the labels"):
        aggregate_with_spark(frame, label_column="outcome", score_column="p")
    broken = frame.selectExpr("outcome", "CASE WHEN tier = 1 THEN p * 3 ELSE p END AS p")
    tier_one = int(pd.read_parquet(files["scored"], columns=["tier", "p"]).query("tier == 1 and p * 3 > 1").shape[0])
    with pytest.raises(AggregateError, match=f"{tier_one:,} rows of the set have a score that is missing, not a "
                                             "number, or outside 0 to 1"):
        aggregate_with_spark(broken, label_column="outcome", score_column="p", positive_value="yes")
    with pytest.raises(AggregateError, match="reads a PySpark DataFrame or a table name, not DataFrame"):
        aggregate_with_spark(pd.DataFrame(), label_column="outcome",  # type: ignore[arg-type]
                             score_column="p")


def test_production_windows_from_spark_equal_duckdb_and_pandas(spark: SparkSession, files: dict[str, Path]) -> None:
    rows = production_rows(ROWS, seed=5)
    frame = spark.read.parquet(str(files["production"]))
    for window in ("day", "week"):
        sparked, info = aggregate_production_with_spark(frame, score_column="p", time_column="scored_at",
                                                        window=window, label_column="clicked", bins=BINS)
        duck, duck_info = aggregate_production_with_duckdb(files["production"], score_column="p",
                                                           time_column="scored_at", window=window,
                                                           label_column="clicked", bins=BINS)
        _same(duck, sparked)
        day = rows["scored_at"].dt.floor("D")
        cut = day if window == "day" else day - pd.to_timedelta(day.dt.weekday, unit="D")
        assert_same_cells(sparked, expected_cells(rows, cut.dt.strftime("%Y-%m-%d"), BINS))
        assert info.windows == duck_info.windows and info.window == window and info.rows == ROWS
    # the session's own time zone (New York) is untouched by the UTC cut
    assert spark.conf.get("spark.sql.session.timeZone") == "America/New_York"
    # storybook.aggregate_production with engine="spark" reads the files on the active session
    made = storybook.aggregate_production(files["production"], files["folder"] / "windows.parquet", score="p",
                                          time="scored_at", window="week", label="clicked", bins=BINS,
                                          engine="spark")
    cells, read_info = fmt.read_aggregate(made.path, kind="production")
    assert read_info.engine.startswith("pyspark ") and read_info.source == "production.parquet"
    _same(duck, cells.astype({"window": "string", "label": "Int8"}))  # duck: DuckDB's weeks, from the loop
