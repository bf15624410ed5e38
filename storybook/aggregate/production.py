"""Production scores per day, week or window, at any size: the production windows aggregate.

    from pathlib import Path
    from storybook.aggregate.production import aggregate_production_with_duckdb
    from storybook.aggregate.format import write_aggregate

    cells, info = aggregate_production_with_duckdb("scores/*.parquet", score_column="p_click",
                                                   time_column="scored_at", window="day",
                                                   label_column="clicked")  # labels may still be missing
    write_aggregate(cells, info, Path("production/windows.parquet"))

One row per window x label x score bin (kind ``production`` of :mod:`storybook.aggregate.format`): ``window`` (the
day or the Monday a week starts, as "2026-11-02", or the value of a window column), ``label`` (1, 0, or null
while the outcome is not known yet), ``score_bin`` (K equal-width bins over [0, 1], as in a scored aggregate),
``n``, ``score_sum`` and ``score_sq_sum``. That is what a trust report needs per window: the counts for the
population stability index against the evaluation set's scores in the same bins, the mean score, and the sums a
label-free estimate of performance adds up. Days and weeks are cut in UTC (weeks start on Monday); for local days,
compute a window column and name it with ``window_column``.

The SQL (:func:`production_sql`) is one text that DuckDB and Spark SQL both run; the Spark engine is
:func:`storybook.aggregate.spark_engine.aggregate_production_with_spark`. :func:`window_summaries` reads each
window's row count, mean score and quantiles (10th, 50th, 90th percentile) back from the aggregate, the same for
both engines; ``storybook.log_production_windows`` logs them as metric histories with the file as an artifact.
"""

from __future__ import annotations

import importlib.metadata
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from storybook.aggregate import format as fmt
from storybook.errors import AggregateError, Location

if TYPE_CHECKING:
    import numpy.typing as npt
    import pandas as pd

__all__ = [
    "MAX_WINDOWS",
    "QUANTILES",
    "WindowSummary",
    "aggregate_production_with_duckdb",
    "check_production_labels",
    "check_window_choice",
    "check_window_count",
    "finish_windows",
    "histogram_quantile",
    "production_info",
    "production_sql",
    "storybook_version",
    "window_count_sql",
    "window_expression",
    "window_summaries",
]

MAX_WINDOWS = 10_000  # about 27 years of days
QUANTILES = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class WindowSummary:
    """One window's scores as read back from the aggregate.

    ``rows`` scores in the window, ``labelled`` of them with a known outcome, ``positives`` of those positive;
    ``mean_score`` is exact (from the sums); ``p10``, ``p50`` and ``p90`` are the 10th, 50th and 90th percentiles
    of the scores, each within one bin width (1/K) of the exact value: the bin that holds the exact percentile is
    known, and the figure is placed inside it as if its scores were spread evenly.
    """

    window: str
    rows: int
    labelled: int
    positives: int
    mean_score: float
    p10: float
    p50: float
    p90: float


# --- the SQL both engines run ---------------------------------------------------------------------------------


def window_expression(*, time_column: str | None, window: Literal["day", "week"], window_column: str | None,
                      dialect: fmt.Dialect) -> str:
    """The SQL of a row's window, as text: the UTC day (or the Monday of the week) of ``time_column`` as
    "YYYY-MM-DD", or the value of ``window_column``. ``date_trunc`` takes its unit first in both engines."""
    if window_column is not None:
        return f"CAST({fmt.quote_identifier(window_column, dialect)} AS STRING)"
    assert time_column is not None  # check_window_choice said one of them is given
    moment = f"CAST({fmt.quote_identifier(time_column, dialect)} AS TIMESTAMP)"
    return f"CAST(CAST(date_trunc('{window}', {moment}) AS DATE) AS STRING)"


def window_count_sql(relation: str, window_expr: str, limit: int) -> str:
    """How many windows the rows fall in, counting at most ``limit`` (the engine stops early)."""
    return f"SELECT COUNT(*) AS windows FROM (SELECT DISTINCT {window_expr} AS w FROM {relation} LIMIT {limit}) d"


def production_sql(relation: str, *, window_expr: str, score_column: str, label_column: str | None,
                   positive_value: str, bins: int, dialect: fmt.Dialect) -> str:
    """The one GROUP BY of production scores, in SQL that DuckDB and Spark SQL both run.

    The result has ``window_name`` (text, null for a row with no time or window), ``label`` (1, 0, or null: not
    known yet, or no label column), ``score_bin`` (the equal-width bin, or -1 for a score that is missing, NaN or
    outside [0, 1]), ``n``, ``score_sum`` and ``score_sq_sum``. :func:`finish_windows` turns it into the cells.
    """
    score = f"CAST({fmt.quote_identifier(score_column, dialect)} AS DOUBLE)"
    bad = f"({score} IS NULL OR isnan({score}) OR {score} < 0 OR {score} > 1)"
    bin_expr = f"CASE WHEN {bad} THEN -1 ELSE LEAST({fmt._bin_sql(score, bins)}, {bins - 1}) END"  # as scored
    keys = [window_expr, bin_expr]
    if label_column is None:
        label_expr = "CAST(NULL AS INTEGER)"
    else:
        label = fmt.quote_identifier(label_column, dialect)
        positive = fmt.sql_string(positive_value, what="positive value")
        label_expr = (f"CASE WHEN {label} IS NULL THEN NULL WHEN CAST({label} AS STRING) = {positive} THEN 1 "
                      "ELSE 0 END")
        keys.append(label_expr)
    return (f"SELECT {window_expr} AS window_name, {label_expr} AS label, {bin_expr} AS score_bin, "
            f"COUNT(*) AS n, SUM({score}) AS score_sum, SUM({score} * {score}) AS score_sq_sum "
            f"FROM {relation} GROUP BY {', '.join(keys)}")


# --- checks shared by the engines -----------------------------------------------------------------------------


def check_window_choice(time_column: str | None, window: str, window_column: str | None, *,
                        where: Location | None = None) -> str:
    """Exactly one of a time column (cut into days or weeks) and a window column; returns how the metadata names
    the windows: "day", "week" or the window column's name."""
    if (time_column is None) == (window_column is None):
        raise AggregateError("give either a time column (cut into days or weeks) or a window column, not "
                             f"{'both' if time_column is not None else 'neither'}", location=where,
                             hint="e.g. time_column='scored_at', window='day'; or window_column='batch_week'")
    if window_column is not None:
        return window_column
    if window not in ("day", "week"):
        raise AggregateError(f"window must be 'day' or 'week', not {window!r}", location=where,
                             hint="for other windows, compute a window column and pass window_column=")
    return window


def check_production_labels(values: Sequence[str | None], *, label_column: str, positive_value: str,
                            where: Location | None = None) -> None:
    """Production labels may be missing, or all one value so far; but at most two values, and when there are
    two, one of them is the positive value."""
    found = sorted({v for v in values if v is not None})
    if len(found) > 2:
        shown = ", ".join(repr(v) for v in found[:3])
        raise AggregateError(f"label column {label_column!r} holds more than two different values ({shown} ...); "
                             "a binary story needs two", location=where,
                             hint="aggregate one label column of two values (or leave the labels out)")
    if len(found) == 2 and positive_value not in found:
        raise AggregateError(f"the positive value {positive_value!r} is not one of the labels in column "
                             f"{label_column!r} ({found[0]!r}, {found[1]!r})", location=where,
                             hint=f"give the positive value as the column spells it (e.g. {found[1]!r})")


def check_window_count(count: int, *, where: Location | None = None) -> None:
    if count > MAX_WINDOWS:
        raise AggregateError(f"the scores fall in more than {MAX_WINDOWS:,} windows", location=where,
                             hint="cut them into weeks, or name coarser windows in the window column")


def finish_windows(grouped: pd.DataFrame, *,
                   where: Location | None = None) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The engine's grouped rows (from :func:`production_sql`) as the aggregate's cells, sorted by window, label
    (unknown first) and bin, with the windows in order. Refuses (with the number of rows) scores that are
    missing, NaN or outside [0, 1], rows with no window, and more than 5,000,000 cells."""
    import pandas as pd

    bad_rows = int(grouped.loc[grouped["score_bin"] == -1, "n"].sum())
    if bad_rows:
        raise AggregateError(f"{_rows(bad_rows)} of the production scores {_have(bad_rows)} a score that is "
                             "missing, not a number, or outside 0 to 1", location=where,
                             hint="every row needs the model's chance of the positive class, from 0 to 1; drop "
                                  "or fix those rows first")
    no_window = int(grouped.loc[grouped["window_name"].isna(), "n"].sum())
    if no_window:
        raise AggregateError(f"{_rows(no_window)} of the production scores {_have(no_window)} no time (or no "
                             "window), so no window to count them in", location=where,
                             hint="drop those rows, or give them their time or window")
    if len(grouped) > fmt.MAX_CELLS:
        raise AggregateError(f"the aggregate would hold {len(grouped):,} cells, more than {fmt.MAX_CELLS:,}",
                             location=where, hint="use fewer bins, or longer windows")
    cells = pd.DataFrame({"window": grouped["window_name"].astype("string")})
    cells["label"] = pd.to_numeric(grouped["label"]).astype("Int8")
    cells["score_bin"] = grouped["score_bin"].astype("int32")
    cells["n"] = grouped["n"].astype("int64")
    cells["score_sum"] = grouped["score_sum"].astype("float64")
    cells["score_sq_sum"] = grouped["score_sq_sum"].astype("float64")
    cells = cells.sort_values(["window", "label", "score_bin"], na_position="first",
                              kind="stable").reset_index(drop=True)
    windows = tuple(sorted(str(w) for w in cells["window"].unique()))
    return cells, windows


def production_info(cells: pd.DataFrame, *, windows: tuple[str, ...], window: str, bins: int, score_column: str,
                    label_column: str | None, positive_value: str, engine: str,
                    source: str) -> fmt.AggregateInfo:
    """The metadata of a production windows aggregate."""
    return fmt.AggregateInfo(
        kind="production", task="binary", rows=int(cells["n"].sum()), bins=bins, exact=False,
        bin_edges=fmt.equal_width_edges(bins), label_column=label_column, score_column=score_column,
        positive_value=positive_value if label_column is not None else None, engine=engine, source=source,
        storybook_version=storybook_version(), windows=windows, window=window)


def storybook_version() -> str:
    try:
        return importlib.metadata.version("storybook-ml")
    except importlib.metadata.PackageNotFoundError:
        return ""


# --- DuckDB ---------------------------------------------------------------------------------------------------


def aggregate_production_with_duckdb(source: str | Path, *, score_column: str, time_column: str | None = None,
                                     window: Literal["day", "week"] = "day", window_column: str | None = None,
                                     label_column: str | None = None, positive_value: str = "1",
                                     bins: int = fmt.DEFAULT_BINS, memory_limit: str = "1GB",
                                     threads: int | None = None, temp_directory: Path | None = None,
                                     where: Location | None = None) -> tuple[pd.DataFrame, fmt.AggregateInfo]:
    """The production windows aggregate of the scores in ``source`` (a Parquet or CSV file, or a glob of them),
    ready for :func:`~storybook.aggregate.format.write_aggregate`.

    Give a ``time_column`` (a date or a timestamp) cut into UTC days or weeks (``window="day"`` or ``"week"``;
    weeks start on Monday and are named by that day), or a ``window_column`` whose values name the windows (name
    them so they sort in order as text, as dates written YYYY-MM-DD do). ``label_column`` is optional: a row
    whose label is missing counts as not known yet. ``bins``, ``memory_limit``, ``threads`` and
    ``temp_directory`` mean what they mean for :func:`storybook.aggregate.duckdb_engine.aggregate_with_duckdb`.
    Raises :class:`~storybook.errors.AggregateError` (located at ``where``, or at the source) when the source
    cannot be read or a row has no window or a score outside 0 to 1.
    """
    from storybook.aggregate import duckdb_engine as engine_module

    engine = engine_module.duckdb_version()
    import duckdb

    fmt.check_bins_and_replicates(bins, 0, where=where)
    window_name = check_window_choice(time_column, window, window_column, where=where)
    files, relation = engine_module._relation(source, where)
    here = where or Location(Path(files[0]))
    shown = engine_module._shown_source(source)
    connection = duckdb.connect(":memory:")
    try:
        engine_module._configure(connection, memory_limit=memory_limit, threads=threads,
                                 temp_directory=temp_directory, where=here)
        connection.execute("SET TimeZone = 'UTC'")  # days are cut in UTC, whatever this machine's zone
        columns = [str(row[0]) for row in engine_module._run(connection, f"DESCRIBE SELECT * FROM {relation}",
                                                             source, here)]
        wanted = [(score_column, "score"), (time_column, "time"), (window_column, "window"),
                  (label_column, "label")]
        for name, role in wanted:
            if name is not None and name not in columns:
                listed = ", ".join(repr(c) for c in columns[:10]) + (" ..." if len(columns) > 10 else "")
                raise AggregateError(f"the {role} column {name!r} is not in {shown}; its columns are {listed}",
                                     location=here, hint="name the column as the file spells it (upper and "
                                                         "lower case count)")
        if label_column is not None:
            labels = engine_module._run(connection, fmt.label_values_sql(relation, label_column, "duckdb"),
                                        source, here)
            check_production_labels([None if row[0] is None else str(row[0]) for row in labels],
                                    label_column=label_column, positive_value=positive_value, where=here)
        expression = window_expression(time_column=time_column, window=window, window_column=window_column,
                                       dialect="duckdb")
        count = engine_module._run(connection, window_count_sql(relation, expression, MAX_WINDOWS + 1), source,
                                   here)
        check_window_count(int(str(count[0][0])), where=here)
        sql = production_sql(relation, window_expr=expression, score_column=score_column,
                             label_column=label_column, positive_value=positive_value, bins=bins,
                             dialect="duckdb")
        engine_module._run(connection, f"CREATE TEMP TABLE cells AS {sql}", source, here)
        grouped = connection.execute("SELECT * FROM cells").df()
    finally:
        connection.close()
    cells, windows = finish_windows(grouped, where=here)
    return cells, production_info(cells, windows=windows, window=window_name, bins=bins, score_column=score_column,
                                  label_column=label_column, positive_value=positive_value, engine=engine,
                                  source=shown)


# --- reading it back ------------------------------------------------------------------------------------------


def window_summaries(cells: pd.DataFrame, info: fmt.AggregateInfo) -> list[WindowSummary]:
    """Each window's rows, labelled rows, positives, mean score and percentiles (10th, 50th, 90th), in the
    windows' order, from a production windows aggregate (as :func:`~storybook.aggregate.format.read_aggregate`
    returns it with ``kind="production"``)."""
    edges = np.asarray(info.bin_edges, dtype=np.float64)
    summaries: list[WindowSummary] = []
    for name in info.windows:
        part = cells[cells["window"] == name]
        counts = np.bincount(part["score_bin"].to_numpy(dtype=np.int64), weights=part["n"].to_numpy(np.float64),
                             minlength=len(edges) - 1)
        rows = int(part["n"].sum())
        known = part[part["label"].notna()]
        p10, p50, p90 = (histogram_quantile(counts, edges, q) for q in QUANTILES)
        summaries.append(WindowSummary(
            window=str(name), rows=rows, labelled=int(known["n"].sum()),
            positives=int(known.loc[known["label"] == 1, "n"].sum()),
            mean_score=float(part["score_sum"].sum()) / rows, p10=p10, p50=p50, p90=p90))
    return summaries


def histogram_quantile(counts: npt.ArrayLike, edges: npt.ArrayLike, q: float) -> float:
    """The ``q`` quantile of the scores counted per bin (``counts[j]`` scores in [edges[j], edges[j + 1])).

    The exact quantile is the k-th smallest score, k = ceil(q x N) (at least 1; numpy's ``inverted_cdf``): the
    bin holding it is known from the counts, and the figure is placed in that bin in proportion to how far into
    the bin's scores the k-th one falls. So it is never further than one bin's width from the exact value.
    """
    counted = np.asarray(counts, dtype=np.float64)
    bounds = np.asarray(edges, dtype=np.float64)
    total = float(counted.sum())
    if total <= 0:
        raise ValueError("no scores to take a quantile of")
    rank = max(1.0, math.ceil(q * total))
    cumulative = np.cumsum(counted)
    j = int(np.searchsorted(cumulative, rank, side="left"))
    before = float(cumulative[j] - counted[j])
    share = (rank - before) / float(counted[j])
    return float(bounds[j] + share * (bounds[j + 1] - bounds[j]))


def _rows(count: int) -> str:
    return f"{count:,} row" if count == 1 else f"{count:,} rows"


def _have(count: int) -> str:
    return "has" if count == 1 else "have"
