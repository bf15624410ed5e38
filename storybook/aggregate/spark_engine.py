"""Aggregate a scored set (binary, regression or multiclass), or production scores per window, where it lives:
on Spark.

On a team's own cluster (or Databricks), where ``spark`` is the notebook's session::

    from pathlib import Path
    from storybook.aggregate.spark_engine import aggregate_with_spark
    from storybook.aggregate.format import write_aggregate

    cells, info = aggregate_with_spark("lake.scored_clicks", label_column="clicked", score_column="p_click",
                                       positive_value="1", slices=["country"])
    write_aggregate(cells, info, Path("/tmp/aggregate.parquet"))

The function takes a PySpark DataFrame or the name of a table the active session can read. It runs the very SQL
text the DuckDB engine runs (:func:`storybook.aggregate.format.grouping_sql`, through ``spark.sql`` over a
temporary view), collects the grouped cells (small: at most 5,000,000 of them, usually a few thousand) to the
driver, and hands them to the shared code that checks them, draws the replicate columns and writes the file, so
both engines give the same aggregate for the same rows and seed. Regression and multiclass sets:
:func:`aggregate_regression_with_spark`, :func:`aggregate_multiclass_with_spark`. Production scores per day, week
or window: :func:`aggregate_production_with_spark` (the SQL is
:func:`storybook.aggregate.production.production_sql`). An error points at ``where`` when given, or else at the
line of your code that called the function.

Spark runs offline: storybook adds no packages (nothing is fetched from Maven); Java 17 must be installed
(``openjdk-17-jre-headless`` on Debian; ``scripts/setup.sh`` installs it) and on the PATH or in JAVA_HOME.
"""

from __future__ import annotations

import os
import shutil
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from storybook.aggregate import format as fmt
from storybook.aggregate import production as prod
from storybook.errors import AggregateError, Location, user_code_location

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["aggregate_files_with_spark", "aggregate_multiclass_with_spark", "aggregate_production_files_with_spark",
           "aggregate_production_with_spark", "aggregate_regression_with_spark", "aggregate_with_spark",
           "local_spark_session", "pyspark_version", "read_files_with_spark"]

LOCAL_MASTER = "local[2]"


def pyspark_version() -> str:
    """``pyspark 3.x.y`` (or 4.x.y); a located error saying how to install it when it is not installed."""
    try:
        import pyspark
    except ImportError:
        raise AggregateError("the Spark engine needs the pyspark package, which is not installed",
                             hint="pip install 'storybook-ml[spark]' (and Java 17, e.g. apt-get install "
                                  "openjdk-17-jre-headless)") from None
    return f"pyspark {pyspark.__version__}"


def local_spark_session(master: str = LOCAL_MASTER) -> SparkSession:
    """The active Spark session (a cluster's, e.g. in a Databricks notebook), or else a new local one on
    ``master`` (two cores by default) with the web UI off, two shuffle partitions, UTC as its time zone and
    nothing downloaded. Stop a session you started with ``session.stop()``."""
    pyspark_version()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        raise AggregateError("Spark needs Java, and no `java` is on the PATH (JAVA_HOME is not set either)",
                             hint="install Java 17 (on Debian: apt-get install openjdk-17-jre-headless), or set "
                                  "JAVA_HOME to a Java 17 installation")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # the session binds there; Spark stops warning about it
    builder: Any = SparkSession.builder
    builder = (
        builder.master(master).appName("storybook aggregate")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.log.level", "ERROR"))  # Spark's own warnings would fill the command's output
    with _quiet():
        session: SparkSession = builder.getOrCreate()
    return session


def read_files_with_spark(spark: SparkSession, source: str | Path, *, where: Location | None = None) -> DataFrame:
    """The Parquet or CSV files ``source`` names (a path, a folder of Parquet files, or a glob) as a DataFrame;
    a CSV's first line names its columns and its column types are inferred."""
    text = str(source)
    name = text.lower().rstrip("/")
    try:
        if name.endswith((".csv", ".csv.gz", ".tsv", ".txt")):
            return spark.read.csv(text, header=True, inferSchema=True, sep="\t" if name.endswith(".tsv") else ",")
        return spark.read.parquet(text)
    except Exception as error:  # pyspark's AnalysisException for a missing path, Py4J errors otherwise
        raise AggregateError(f"Spark could not read {Path(text).name}: {_said(error)}", location=where,
                             hint="give a Parquet or CSV file, a folder of Parquet files, or a glob such as "
                                  "'scored/*.parquet'") from None


def aggregate_with_spark(frame_or_table: DataFrame | str, *, label_column: str, score_column: str,
                         positive_value: str = "1", slices: Sequence[str] = (), bins: int = fmt.DEFAULT_BINS,
                         replicates: int = fmt.DEFAULT_REPLICATES, seed: int = 0,
                         task: Literal["binary"] = "binary", source: str | None = None,
                         where: Location | None = None) -> tuple[pd.DataFrame, fmt.AggregateInfo]:
    """The cells of the binary scored set in ``frame_or_table`` (a PySpark DataFrame, or the name of a table the
    active Spark session reads) and their metadata, ready for
    :func:`~storybook.aggregate.format.write_aggregate` (which draws the ``replicates`` from ``seed``).

    The arguments mean what they mean for :func:`storybook.aggregate.duckdb_engine.aggregate_with_duckdb`:
    ``positive_value`` is the label that counts as positive, as the column spells it in text; ``slices`` are
    columns with at most 1,000 values each; ``bins`` equal-width score bins over [0, 1], or the distinct scores
    themselves when there are at most ``bins`` of them. ``source`` names the data in the metadata (by default the
    table's name, or "a Spark DataFrame"; never put a URI with a password in it). Raises
    :class:`~storybook.errors.AggregateError` (located at ``where``) when the data cannot be read or does not
    have the shape a binary story needs.
    """
    where = where or _caller()
    if task != "binary":
        raise AggregateError(f"aggregate_with_spark counts binary sets, not {task!r} ones", location=where,
                             hint="use aggregate_regression_with_spark or aggregate_multiclass_with_spark")
    engine = pyspark_version()
    fmt.check_bins_and_replicates(bins, replicates, where=where)
    fmt.check_slice_names(slices, label_column=label_column, score_column=score_column, where=where)
    frame, shown = _frame(frame_or_table, source, where)
    _check_columns(frame, [(label_column, "label"), (score_column, "score"), *((s, "slice") for s in slices)],
                   shown, where)
    with _temp_view(frame) as (spark, view):
        exact = fmt.check_source(lambda sql: _rows(spark, sql, shown, where), view, label_column=label_column,
                                 score_column=score_column, positive_value=positive_value, slices=slices,
                                 bins=bins, dialect="spark", where=where)
        grouping = fmt.grouping_sql(view, label_column=label_column, score_column=score_column,
                                    positive_value=positive_value, slices=slices, bins=bins, exact=exact,
                                    dialect="spark")
        grouped = _collect(spark, grouping, shown, where)
    cells, edges = fmt.finish_cells(grouped, slices=slices, bins=bins, exact=exact, where=where)
    info = fmt.AggregateInfo(
        kind="scored", task="binary", rows=int(cells["n"].sum()), bins=len(edges) if exact else bins, exact=exact,
        bin_edges=edges, label_column=label_column, score_column=score_column, positive_value=positive_value,
        slices=tuple(slices), replicates=replicates, seed=seed, engine=engine, source=shown,
        storybook_version=prod.storybook_version())
    return cells, info


def aggregate_files_with_spark(source: str | Path, *, task: Literal["binary", "regression", "multiclass"] = "binary",
                               label_column: str | None = None, score_column: str | None = None,
                               positive_value: str = "1", actual_column: str | None = None,
                               prediction_column: str | None = None, probabilities: Mapping[str, str] | None = None,
                               slices: Sequence[str] = (), bins: int = fmt.DEFAULT_BINS,
                               replicates: int = fmt.DEFAULT_REPLICATES, seed: int = 0, threads: int | None = None,
                               where: Location | None = None) -> tuple[pd.DataFrame, fmt.AggregateInfo]:
    """What ``storybook aggregate --engine spark`` runs: the Parquet or CSV files ``source`` names, read and
    aggregated by :func:`aggregate_with_spark` (binary), :func:`aggregate_regression_with_spark` or
    :func:`aggregate_multiclass_with_spark`, on the active Spark session, or else on a local one (``threads``
    cores, two by default) started for this call and stopped after it."""
    where = where or _caller()
    name = Path(str(source)).name
    with _session_for_files(threads, where) as spark:
        frame = read_files_with_spark(spark, source, where=where)
        if task == "regression":
            return aggregate_regression_with_spark(frame, actual_column=str(actual_column),
                                                   prediction_column=str(prediction_column), slices=slices,
                                                   bins=bins, replicates=replicates, seed=seed, source=name,
                                                   where=where)
        if task == "multiclass":
            return aggregate_multiclass_with_spark(frame, label_column=str(label_column),
                                                   probabilities=dict(probabilities or {}),
                                                   prediction_column=prediction_column, slices=slices, bins=bins,
                                                   replicates=replicates, seed=seed, source=name, where=where)
        return aggregate_with_spark(frame, label_column=str(label_column), score_column=str(score_column),
                                    positive_value=positive_value, slices=slices, bins=bins, replicates=replicates,
                                    seed=seed, source=name, where=where)


def aggregate_regression_with_spark(frame_or_table: DataFrame | str, *, actual_column: str, prediction_column: str,
                                    slices: Sequence[str] = (), bins: int = fmt.DEFAULT_BINS,
                                    replicates: int = fmt.DEFAULT_REPLICATES, seed: int = 0,
                                    source: str | None = None,
                                    where: Location | None = None) -> tuple[pd.DataFrame, fmt.AggregateInfo]:
    """The cells of a regression set on Spark, as
    :func:`storybook.aggregate.duckdb_engine.aggregate_regression_with_duckdb` makes them (the same SQL): per
    slice value and error bin (prediction - actual, ``bins`` equal-width bins from the smallest error to the
    largest), the number of rows and the sums that give the mean error, the mean absolute error and the root mean
    squared error exactly."""
    where = where or _caller()
    engine = pyspark_version()
    fmt.check_bins_and_replicates(bins, replicates, where=where)
    fmt.check_slice_names(slices, label_column=actual_column, score_column=prediction_column, where=where)
    frame, shown = _frame(frame_or_table, source, where)
    _check_columns(frame, [(actual_column, "actual"), (prediction_column, "prediction"),
                           *((s, "slice") for s in slices)], shown, where)
    with _temp_view(frame) as (spark, view):
        fmt.check_slices(lambda sql: _rows(spark, sql, shown, where), view, slices, "spark", where=where)
        answer = _rows(spark, fmt.error_range_sql(view, actual_column=actual_column,
                                                  prediction_column=prediction_column, dialect="spark"),
                       shown, where)[0]
        edges = fmt.regression_edges(answer, bins, source=shown, where=where)
        grouped = _collect(spark, fmt.regression_grouping_sql(view, actual_column=actual_column,
                                                              prediction_column=prediction_column, slices=slices,
                                                              edges=edges, dialect="spark"), shown, where)
    cells = fmt.finish_regression_cells(grouped, slices=slices, where=where)
    info = fmt.AggregateInfo(
        kind="scored", task="regression", rows=int(cells["n"].sum()), bins=len(edges) - 1, exact=False,
        bin_edges=edges, label_column=actual_column, score_column=prediction_column, positive_value=None,
        slices=tuple(slices), replicates=replicates, seed=seed, engine=engine, source=shown,
        storybook_version=prod.storybook_version())
    return cells, info


def aggregate_multiclass_with_spark(frame_or_table: DataFrame | str, *, label_column: str,
                                    probabilities: Mapping[str, str], prediction_column: str | None = None,
                                    slices: Sequence[str] = (), bins: int = fmt.DEFAULT_BINS,
                                    replicates: int = fmt.DEFAULT_REPLICATES, seed: int = 0,
                                    source: str | None = None,
                                    where: Location | None = None) -> tuple[pd.DataFrame, fmt.AggregateInfo]:
    """The cells of a multiclass set on Spark, as
    :func:`storybook.aggregate.duckdb_engine.aggregate_multiclass_with_duckdb` makes them (the same SQL): per
    slice value, true class, called class and bin of the called class's chance. ``probabilities`` maps each class,
    as the label column spells it, to the column of its chance; the called class is ``prediction_column`` when
    given, else the most likely class."""
    where = where or _caller()
    engine = pyspark_version()
    pairs = [(str(name), str(column)) for name, column in probabilities.items()]
    fmt.check_bins_and_replicates(bins, replicates, where=where)
    fmt.check_slice_names(slices, label_column=label_column, score_column=prediction_column or label_column,
                          where=where)
    frame, shown = _frame(frame_or_table, source, where)
    _check_columns(frame, [(label_column, "label"), *((c, f"chance of {n!r}") for n, c in pairs),
                           *(((prediction_column, "called class"),) if prediction_column else ()),
                           *((s, "slice") for s in slices)], shown, where)
    with _temp_view(frame) as (spark, view):
        def run(sql: str) -> list[Any]:
            return _rows(spark, sql, shown, where)

        fmt.check_classes(run, view, label_column=label_column, prediction_column=prediction_column,
                          classes=[n for n, _ in pairs], dialect="spark", where=where)
        fmt.check_slices(run, view, slices, "spark", where=where)
        grouped = _collect(spark, fmt.multiclass_grouping_sql(
            view, label_column=label_column, prediction_column=prediction_column, probabilities=pairs,
            slices=slices, bins=bins, dialect="spark"), shown, where)
    cells = fmt.finish_multiclass_cells(grouped, slices=slices, classes=[n for n, _ in pairs], where=where)
    info = fmt.AggregateInfo(
        kind="scored", task="multiclass", rows=int(cells["n"].sum()), bins=bins, exact=False,
        bin_edges=fmt.equal_width_edges(bins), label_column=label_column, score_column=prediction_column or "",
        positive_value=None, slices=tuple(slices), replicates=replicates, seed=seed, engine=engine, source=shown,
        storybook_version=prod.storybook_version(), classes=tuple(n for n, _ in pairs),
        probability_columns=tuple(c for _, c in pairs))
    return cells, info


def aggregate_production_files_with_spark(source: str | Path, *, score_column: str, time_column: str | None = None,
                                          window: Literal["day", "week"] = "day", window_column: str | None = None,
                                          label_column: str | None = None, positive_value: str = "1",
                                          bins: int = fmt.DEFAULT_BINS, threads: int | None = None,
                                          where: Location | None = None) -> tuple[pd.DataFrame, fmt.AggregateInfo]:
    """The production windows of the Parquet or CSV files ``source`` names, by
    :func:`aggregate_production_with_spark`, on the active session or a local one started for this call."""
    where = where or _caller()
    with _session_for_files(threads, where) as spark:
        frame = read_files_with_spark(spark, source, where=where)
        return aggregate_production_with_spark(frame, score_column=score_column, time_column=time_column,
                                               window=window, window_column=window_column,
                                               label_column=label_column, positive_value=positive_value, bins=bins,
                                               source=Path(str(source)).name, where=where)


@contextmanager
def _session_for_files(threads: int | None, where: Location | None) -> Iterator[SparkSession]:
    """The active Spark session, or a local one on ``threads`` cores (two by default), stopped afterwards."""
    pyspark_version()
    from pyspark.sql import SparkSession

    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise AggregateError(f"threads must be a whole number of at least 1, not {threads!r}", location=where,
                             hint="leave it out to use two cores")
    started_here = SparkSession.getActiveSession() is None
    spark = local_spark_session(LOCAL_MASTER if threads is None else f"local[{threads}]")
    try:
        yield spark
    finally:
        if started_here:
            spark.stop()


def aggregate_production_with_spark(frame_or_table: DataFrame | str, *, score_column: str,
                                    time_column: str | None = None, window: Literal["day", "week"] = "day",
                                    window_column: str | None = None, label_column: str | None = None,
                                    positive_value: str = "1", bins: int = fmt.DEFAULT_BINS,
                                    source: str | None = None,
                                    where: Location | None = None) -> tuple[pd.DataFrame, fmt.AggregateInfo]:
    """The production windows aggregate of the scores in ``frame_or_table`` (a PySpark DataFrame or a table
    name): per window x label (null while not known) x score bin, the number of rows and the sums of the scores
    and of their squares. The arguments are those of
    :func:`storybook.aggregate.production.aggregate_production_with_duckdb`; days and weeks are UTC days and
    weeks starting on Monday, whatever the session's time zone."""
    where = where or _caller()
    engine = pyspark_version()
    fmt.check_bins_and_replicates(bins, 0, where=where)
    window_name = prod.check_window_choice(time_column, window, window_column, where=where)
    frame, shown = _frame(frame_or_table, source, where)
    wanted = [(score_column, "score")]
    wanted += [(time_column, "time")] if time_column is not None else []
    wanted += [(window_column, "window")] if window_column is not None else []
    wanted += [(label_column, "label")] if label_column is not None else []
    _check_columns(frame, wanted, shown, where)
    with _temp_view(frame) as (spark, view), _utc(spark):
        if label_column is not None:
            labels = _rows(spark, fmt.label_values_sql(view, label_column, "spark"), shown, where)
            prod.check_production_labels([None if row[0] is None else str(row[0]) for row in labels],
                                         label_column=label_column, positive_value=positive_value, where=where)
        expression = prod.window_expression(time_column=time_column, window=window, window_column=window_column,
                                            dialect="spark")
        count = int(_rows(spark, prod.window_count_sql(view, expression, prod.MAX_WINDOWS + 1), shown,
                          where)[0][0])
        prod.check_window_count(count, where=where)
        sql = prod.production_sql(view, window_expr=expression, score_column=score_column,
                                  label_column=label_column, positive_value=positive_value, bins=bins,
                                  dialect="spark")
        grouped = _collect(spark, sql, shown, where)
    cells, windows = prod.finish_windows(grouped, where=where)
    info = prod.production_info(cells, windows=windows, window=window_name, bins=bins, score_column=score_column,
                                label_column=label_column, positive_value=positive_value, engine=engine,
                                source=shown)
    return cells, info


# --- helpers ------------------------------------------------------------------------------------------------


def _frame(frame_or_table: DataFrame | str, source: str | None, where: Location | None) -> tuple[DataFrame, str]:
    """The DataFrame to aggregate and the name the metadata gives it."""
    from pyspark.sql import DataFrame, SparkSession

    if isinstance(frame_or_table, str):
        spark = SparkSession.getActiveSession()
        if spark is None:
            raise AggregateError(f"no active Spark session to read the table {frame_or_table!r} from",
                                 location=where, hint="start one (SparkSession.builder.getOrCreate()), or pass "
                                                      "a DataFrame")
        try:
            frame = spark.table(frame_or_table)
        except Exception as error:  # AnalysisException: no such table
            raise AggregateError(f"Spark could not read the table {frame_or_table!r}: {_said(error)}",
                                 location=where, hint="name a table the session can read (catalog.schema.table)"
                                 ) from None
        return frame, source or frame_or_table
    if not isinstance(frame_or_table, DataFrame) and not all(  # a Spark Connect DataFrame (pyspark 3.5) too
            hasattr(frame_or_table, name) for name in ("createOrReplaceTempView", "sparkSession", "columns")):
        raise AggregateError(f"the Spark engine reads a PySpark DataFrame or a table name, not "
                             f"{type(frame_or_table).__name__}", location=where,
                             hint="for a pandas DataFrame or files on this machine, use the DuckDB engine")
    return frame_or_table, source or "a Spark DataFrame"


def _check_columns(frame: DataFrame, wanted: Sequence[tuple[str, str]], shown: str, where: Location | None) -> None:
    columns = list(frame.columns)
    for name, role in wanted:
        if name not in columns:
            listed = ", ".join(repr(c) for c in columns[:10]) + (" ..." if len(columns) > 10 else "")
            raise AggregateError(f"the {role} column {name!r} is not in {shown}; its columns are {listed}",
                                 location=where, hint="name the column as the data spells it (upper and lower "
                                                      "case count)")


@contextmanager
def _quiet() -> Iterator[None]:
    """pyspark 4.x warns that it does not yet fully support pandas 3; storybook hands it no pandas data (the cells
    come back through Arrow), so the warning is kept out of the command's output."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        yield


@contextmanager
def _temp_view(frame: DataFrame) -> Iterator[tuple[SparkSession, str]]:
    """The DataFrame as a temporary view with a fresh name (dropped afterwards), and its session."""
    view = f"storybook_rows_{uuid.uuid4().hex}"
    spark = frame.sparkSession
    frame.createOrReplaceTempView(view)
    try:
        yield spark, view
    finally:
        spark.catalog.dropTempView(view)


@contextmanager
def _utc(spark: SparkSession) -> Iterator[None]:
    """Days and weeks cut in UTC while the block runs; the session's own time zone is put back afterwards."""
    key = "spark.sql.session.timeZone"
    before = spark.conf.get(key)
    spark.conf.set(key, "UTC")
    try:
        yield
    finally:
        if before is not None:
            spark.conf.set(key, before)
        else:
            spark.conf.unset(key)


def _rows(spark: SparkSession, sql: str, shown: str, where: Location | None) -> list[Any]:
    try:
        return list(spark.sql(sql).collect())
    except Exception as error:  # Spark's AnalysisException and Py4JJavaError have no common base in pyspark 3.5
        raise _spark_error(error, shown, where) from None


def _collect(spark: SparkSession, sql: str, shown: str, where: Location | None) -> pd.DataFrame:
    """The grouped cells on the driver as a pandas DataFrame (through Arrow when pyspark has toArrow)."""
    import pandas as pd

    try:
        result = spark.sql(sql)
        to_arrow = getattr(result, "toArrow", None)  # pyspark >= 4.0
        if to_arrow is not None:
            with _quiet():
                return to_arrow().to_pandas()  # type: ignore[no-any-return]
        rows = result.collect()
        return pd.DataFrame.from_records([tuple(row) for row in rows], columns=result.columns)
    except Exception as error:
        raise _spark_error(error, shown, where) from None


def _spark_error(error: BaseException, shown: str, where: Location | None) -> AggregateError:
    if "OutOfMemory" in str(error) or isinstance(error, MemoryError):
        return AggregateError(f"Spark ran out of memory aggregating {shown}", location=where,
                              hint="give the driver more memory, or use fewer bins or slices")
    return AggregateError(f"Spark could not aggregate {shown}: {_said(error)}", location=where,
                          hint="check that the columns given hold labels, scores (numbers from 0 to 1) and "
                               "slice values")


def _said(error: BaseException) -> str:
    """The first line of an engine's error message, printable characters only, shortened."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return "".join(ch for ch in text if ch.isprintable())[:300]


_caller = user_code_location  # errors point at the line of the user's code that called storybook
