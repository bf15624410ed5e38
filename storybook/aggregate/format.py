"""The aggregate of a scored set: a small, versioned Parquet file that every engine writes the same way.

A scored set of any size (millions or billions of rows) becomes one row per *cell*: each slice value x label x
score bin, keeping only cells with at least one row. Every figure a story tells about a binary scored set
(confusion counts at a threshold, the cost sweep, natural frequencies, slice tables, calibration, PSI) is a
function of these counts, and its uncertainty comes from the replicate columns.

Kind ``scored`` (schema version 1), columns:

- one column per slice, named as in the source, text (missing values stay null);
- ``label`` int8: 1 for the positive value, 0 for the other one;
- ``score_bin`` int32: see *bins* below;
- ``n`` int64 (rows in the cell), ``score_sum``, ``score_sq_sum``, ``score_min``, ``score_max`` float64;
- ``rep_0`` ... ``rep_{B-1}`` int32: the cell's Poisson bootstrap replicate counts (:func:`draw_replicates`).

Bins: K equal-width bins over [0, 1], ``score_bin = least(floor(score * K), K - 1)``, bin j covering
[j/K, (j+1)/K) (the last includes 1), so a threshold at an edge j/K is exact: flagged <=> bin >= j (the SQL
corrects floor(score * K) where floating point puts a score at an edge one bin low, e.g. 0.57 * 100). When the
whole set has at most K distinct scores the aggregate is *exact*: the bins are the sorted distinct scores and
``score_bin`` is a score's index among them, so every threshold at one of those scores is exact.

Regression (task ``regression``): one row per slice value x ``error_bin`` (error = prediction - actual, K
equal-width bins from the smallest error to the largest) with ``n`` and the sums ``error_sum``, ``abs_error_sum``,
``sq_error_sum``, ``actual_sum``, ``actual_sq_sum``. Multiclass (task ``multiclass``): one row per slice value x
``label`` (true class, text) x ``predicted`` (called class, text) x ``prob_bin`` (bin of the called class's chance)
with ``n``, ``prob_sum``, ``prob_sq_sum``. Both with the replicate columns.

Kind ``production`` (schema version 1): one row per ``window`` (text, e.g. "2026-11-02") x ``label`` (int8, null
while the labels are not in yet) x ``score_bin`` (int32), with ``n`` int64, ``score_sum``, ``score_sq_sum`` float64.

The metadata (:class:`AggregateInfo`) sits in the Parquet schema under the key ``storybook.aggregate`` as JSON.

How an engine makes one (storybook.aggregate.duckdb_engine; the Spark engine does the same):

1-2. :func:`check_source` (two labels, one the positive value; slices not too long), which also decides exact
   mode (at most K distinct scores), in bounded memory;
3. run :func:`grouping_sql` (ANSI SQL that DuckDB and Spark SQL both accept; the one place the GROUP BY lives);
4. :func:`finish_cells` on the grouped rows (as a pandas DataFrame): refuses bad scores and missing labels with
   their counts, numbers the exact bins, sorts the cells, checks the bounds;
5. :func:`write_aggregate` with an :class:`AggregateInfo`: draws the replicates (shared numpy code, so the engines
   give identical files for the same seed) and writes the file atomically.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from storybook.errors import AggregateError, Location
from storybook.files import file_mode
from storybook.typed_json import Mismatch, decode, encode

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "DEFAULT_BINS",
    "DEFAULT_REPLICATES",
    "FORMAT",
    "MAX_CELLS",
    "MAX_SLICE_VALUES",
    "METADATA_KEY",
    "SCHEMA_VERSION",
    "AggregateInfo",
    "Dialect",
    "bin_of_threshold",
    "check_classes",
    "check_label_values",
    "check_slice_names",
    "check_slices",
    "check_source",
    "distinct_count_sql",
    "draw_replicates",
    "error_range_sql",
    "finish_cells",
    "finish_multiclass_cells",
    "finish_regression_cells",
    "grouping_sql",
    "is_exact_threshold",
    "multiclass_grouping_sql",
    "profile_sql",
    "quote_identifier",
    "read_aggregate",
    "regression_edges",
    "regression_grouping_sql",
    "replicate_columns",
    "sql_string",
    "threshold_of_bin",
    "write_aggregate",
]

FORMAT = "storybook.aggregate"
METADATA_KEY = b"storybook.aggregate"
SCHEMA_VERSION = 1
DEFAULT_BINS = 1000
DEFAULT_REPLICATES = 200
MAX_SLICE_VALUES = 1000  # distinct values of one slice column
MAX_CELLS = 5_000_000  # cells in all (slices x label x bins that hold rows)
MAX_VALUES = 250_000_000  # cells x columns (with the replicates) a file may hold: about 1 GB read back
MAX_BINS = 1_000_000
MAX_REPLICATES = 10_000
_CHUNK = 50_000  # cells whose replicates are drawn and written at a time (bounded memory)

Kind = Literal["scored", "production"]
Task = Literal["binary", "regression", "multiclass"]
Dialect = Literal["duckdb", "spark"]

# The columns every aggregate of a kind has after its slice (or window) columns, with their Arrow type names.
SCORED_COLUMNS: dict[str, str] = {"label": "int8", "score_bin": "int32", "n": "int64", "score_sum": "double",
                                  "score_sq_sum": "double", "score_min": "double", "score_max": "double"}
PRODUCTION_COLUMNS: dict[str, str] = {"window": "string", "label": "int8", "score_bin": "int32", "n": "int64",
                                      "score_sum": "double", "score_sq_sum": "double"}
REGRESSION_COLUMNS: dict[str, str] = {"error_bin": "int32", "n": "int64", "error_sum": "double",
                                      "abs_error_sum": "double", "sq_error_sum": "double", "actual_sum": "double",
                                      "actual_sq_sum": "double"}
MULTICLASS_COLUMNS: dict[str, str] = {"label": "string", "predicted": "string", "prob_bin": "int32", "n": "int64",
                                      "prob_sum": "double", "prob_sq_sum": "double"}
# Kind "production" of a multiclass model (task "multiclass"): per window x true class (null until the labels are
# in) x called class (the most likely) x bin of the called class's chance, the cases and, after these columns, the
# sum of each class's chance: prob_sum_0 ... prob_sum_{k-1}, in the order of the metadata's classes.
PRODUCTION_MULTICLASS_COLUMNS: dict[str, str] = {"window": "string", "label": "string", "predicted": "string",
                                                 "prob_bin": "int32", "n": "int64"}
MAX_CLASSES = 100


def class_sum_columns(k: int) -> list[str]:
    """The columns of a multiclass production aggregate holding each class's summed chance, in class order."""
    return [f"prob_sum_{i}" for i in range(k)]
RESERVED = (frozenset(SCORED_COLUMNS) | frozenset(PRODUCTION_COLUMNS) | frozenset(REGRESSION_COLUMNS)
            | frozenset(MULTICLASS_COLUMNS)
            | {"score_key", "rep", "storybook_actual", "storybook_error", "storybook_label", "storybook_predicted",
               "storybook_prob", "storybook_bad"})


@dataclass(frozen=True)
class AggregateInfo:
    """What an aggregate holds and how it was made: the file's metadata (JSON under ``storybook.aggregate``).

    ``bins`` is the number of bins used: K, or the number of distinct scores when ``exact``. ``bin_edges`` holds
    the K + 1 edges j/K, or (exact) the distinct scores in order, bin j being the j-th of them. ``rows`` is the
    number of rows aggregated. ``source`` is a file or table name, never a URI with credentials.

    Task ``multiclass``: ``label_column`` holds the true class, ``score_column`` the called class (or "" when the
    called class is the most likely one); ``classes`` and ``probability_columns`` name each class's chance; the
    K + 1 ``bin_edges`` j/K bin the called class's chance.

    Task ``regression``: ``label_column`` is the column of actual amounts and ``score_column`` the predictions;
    ``positive_value`` is None; ``bin_edges`` are the K + 1 equal-width edges of the errors (prediction - actual)
    from the smallest to the largest, and the bins serve the errors' distribution only (never ``exact``).
    """

    kind: Kind
    task: Task
    rows: int
    bins: int
    exact: bool
    bin_edges: tuple[float, ...]
    label_column: str | None
    score_column: str
    positive_value: str | None
    slices: tuple[str, ...] = ()
    replicates: int = 0
    seed: int = 0
    engine: str = ""
    source: str = ""
    storybook_version: str = ""
    schema_version: int = SCHEMA_VERSION
    windows: tuple[str, ...] = ()  # kind "production": the windows in order
    window: str | None = None  # kind "production": "day", "week" or the window column's name
    classes: tuple[str, ...] = ()  # task "multiclass": the classes, in the order their chances were given
    probability_columns: tuple[str, ...] = ()  # task "multiclass": each class's chance, in that order

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **encode(self)}, sort_keys=True)

    @property
    def bin_width(self) -> float | None:
        """The width of a bin (1/K), or None when exact (no precision is lost at the distinct scores)."""
        return None if self.exact else 1.0 / self.bins


def equal_width_edges(bins: int) -> tuple[float, ...]:
    """The K + 1 edges 0, 1/K, ..., 1 of K equal-width bins."""
    return tuple(j / bins for j in range(bins + 1))


# --- thresholds on bins ------------------------------------------------------------------------------------


def bin_of_threshold(info: AggregateInfo, threshold: float) -> int:
    """The bin j such that "score >= threshold" holds for bins >= j: exact for a threshold at an edge (binned) or
    at one of the distinct scores (exact); otherwise the first bin starting at or above the threshold."""
    if info.exact:
        return bisect.bisect_left(info.bin_edges, threshold)
    bins = info.bins
    j = min(bins, max(0, math.ceil(threshold * bins)))
    while j > 0 and (j - 1) / bins >= threshold:  # the edges as the SQL compares them: the doubles j / K
        j -= 1
    while j < bins and j / bins < threshold:
        j += 1
    return j


def threshold_of_bin(info: AggregateInfo, j: int) -> float:
    """The lowest score bin j holds (its lower edge, or its distinct score when exact)."""
    return float(info.bin_edges[j]) if j < len(info.bin_edges) else 1.0


def is_exact_threshold(info: AggregateInfo, threshold: float) -> bool:
    """Whether the rows flagged at ``threshold`` are known exactly from the aggregate (not only to a bin)."""
    if info.exact:
        return True  # between two distinct scores, every threshold flags the same rows
    j = round(threshold * info.bins)
    # exactly an edge j/K with j < K (the last bin holds scores of exactly 1 too, so a threshold of 1 is not exact)
    return 0 <= j < info.bins and j / info.bins == threshold


# --- the SQL both engines run ---------------------------------------------------------------------------------


def quote_identifier(name: str, dialect: Dialect) -> str:
    """A column name quoted for the engine: "name" for DuckDB, `name` for Spark SQL (quotes doubled inside)."""
    mark = '"' if dialect == "duckdb" else "`"
    return mark + name.replace(mark, mark * 2) + mark


def sql_string(value: str, *, what: str, where: Location | None = None) -> str:
    """A text literal both engines read the same way. Spark reads a backslash as an escape and DuckDB does not,
    so a value with a backslash, quote or control character is refused rather than guessed at."""
    if any(ch in value for ch in "'\\\"") or any(ord(ch) < 32 for ch in value):
        raise AggregateError(f"{what} {value!r} holds a quote, backslash or control character, which the SQL "
                             "engines would read differently", location=where,
                             hint=f"recode the column so that {what} is plain text or a number")
    return f"'{value}'"


def _score_expr(score_column: str, dialect: Dialect) -> str:
    return f"CAST({quote_identifier(score_column, dialect)} AS DOUBLE)"


def _bin_sql(score: str, bins: int) -> str:
    """The bin j with j/K <= score < (j+1)/K, the edges being the doubles j/K (as Python's ``j / K`` gives them):
    floor(score * K) corrected by one where rounding put it across an edge (0.57 * 100 is 56.99999999999999), so
    that "score >= j/K" and "bin >= j" always agree."""
    floor = f"FLOOR({score} * {bins})"
    return (f"(CAST({floor} AS INTEGER) + CASE WHEN ({floor} + 1) / {bins} <= {score} THEN 1 "
            f"WHEN {floor} / {bins} > {score} THEN -1 ELSE 0 END)")


def distinct_count_sql(relation: str, column: str, limit: int, dialect: Dialect, *, as_text: bool = False) -> str:
    """How many distinct values ``column`` holds, counting at most ``limit`` (the engine stops early)."""
    value = quote_identifier(column, dialect)
    value = f"CAST({value} AS STRING)" if as_text else f"CAST({value} AS DOUBLE)"
    return f"SELECT COUNT(*) AS distinct_values FROM (SELECT DISTINCT {value} AS v FROM {relation} LIMIT {limit}) d"


def profile_sql(relation: str, *, label_column: str, score_column: str, slices: Sequence[str],
                dialect: Dialect) -> str:
    """One pass over the set: the approximate number of distinct labels, scores and values of each slice
    (HyperLogLog: a few per cent off, in bounded memory), so that no exact DISTINCT runs over a column with
    millions of values (an exact DISTINCT keeps every value it has seen, whatever its LIMIT)."""
    label = f"CAST({quote_identifier(label_column, dialect)} AS STRING)"
    counted = [f"approx_count_distinct({label})", f"approx_count_distinct({_score_expr(score_column, dialect)})"]
    counted += [f"approx_count_distinct(CAST({quote_identifier(s, dialect)} AS STRING))" for s in slices]
    return f"SELECT {', '.join(counted)} FROM {relation}"


def label_values_sql(relation: str, label_column: str, dialect: Dialect) -> str:
    """The label column's distinct values as text, at most 3 (two are expected)."""
    value = f"CAST({quote_identifier(label_column, dialect)} AS STRING)"
    return f"SELECT DISTINCT {value} AS v FROM {relation} WHERE {value} IS NOT NULL LIMIT 3"


def grouping_sql(relation: str, *, label_column: str, score_column: str, positive_value: str,
                 slices: Sequence[str], bins: int, exact: bool, dialect: Dialect) -> str:
    """The one GROUP BY of a binary scored set, in SQL that DuckDB and Spark SQL both run.

    ``relation`` is what the engine reads (DuckDB: ``read_parquet('...')``; Spark: a temp view's name). The
    result has the slice columns (text), ``label`` (1, 0, or null for a missing label), then ``score_bin`` (the
    equal-width bin, or -1 for a score that is missing, NaN or outside [0, 1]) or, when ``exact``, ``score_key``
    (the score itself, null for such a score), then ``n``, ``score_sum``, ``score_sq_sum``, ``score_min``,
    ``score_max``. :func:`finish_cells` turns it into the aggregate's cells.
    """
    score = _score_expr(score_column, dialect)
    label = quote_identifier(label_column, dialect)
    positive = sql_string(positive_value, what="positive value")
    bad = f"({score} IS NULL OR isnan({score}) OR {score} < 0 OR {score} > 1)"
    label_expr = (f"CASE WHEN {label} IS NULL THEN NULL WHEN CAST({label} AS STRING) = {positive} THEN 1 "
                  "ELSE 0 END")
    if exact:
        bin_expr, bin_name = f"CASE WHEN {bad} THEN NULL ELSE {score} END", "score_key"
    else:
        bin_expr = f"CASE WHEN {bad} THEN -1 ELSE LEAST({_bin_sql(score, bins)}, {bins - 1}) END"
        bin_name = "score_bin"
    keys = [(f"CAST({quote_identifier(s, dialect)} AS STRING)", quote_identifier(s, dialect)) for s in slices]
    keys += [(label_expr, "label"), (bin_expr, bin_name)]
    selected = ", ".join(f"{expr} AS {name}" for expr, name in keys)
    grouped = ", ".join(expr for expr, _ in keys)
    return (f"SELECT {selected}, COUNT(*) AS n, SUM({score}) AS score_sum, SUM({score} * {score}) AS score_sq_sum, "
            f"MIN({score}) AS score_min, MAX({score}) AS score_max FROM {relation} GROUP BY {grouped}")


# --- checks shared by the engines ---------------------------------------------------------------------------


def check_slice_names(slices: Sequence[str], *, label_column: str, score_column: str,
                      where: Location | None = None) -> None:
    """Slice names must differ from each other, from the label and score columns and from the aggregate's own
    column names."""
    seen: set[str] = set()
    for name in slices:
        if name in seen or name in (label_column, score_column):
            raise AggregateError(f"slice column {name!r} is given twice, or is the label or score column",
                                 location=where, hint="name each slice column once, apart from label and score")
        if name in RESERVED or name.startswith("rep_"):
            raise AggregateError(f"slice column {name!r} has a name the aggregate uses for its own columns",
                                 location=where, hint="rename the column in the source (e.g. add a prefix)")
        seen.add(name)


def check_label_values(values: Sequence[str | None], *, label_column: str, positive_value: str,
                       where: Location | None = None) -> None:
    """The label column must hold exactly two values, one of them the positive value (as text)."""
    found = sorted({v for v in values if v is not None})
    if len(found) != 2:
        shown = ", ".join(repr(v) for v in found[:3]) or "none"
        more = " (and maybe more)" if len(found) > 2 else ""
        raise AggregateError(f"label column {label_column!r} holds {len(found)} different values{more}: {shown}; "
                             "a binary story needs exactly two", location=where,
                             hint="aggregate a set with both positive and negative cases, and one label column "
                                  "of two values")
    if positive_value not in found:
        raise AggregateError(f"the positive value {positive_value!r} is not one of the labels in column "
                             f"{label_column!r} ({found[0]!r}, {found[1]!r})", location=where,
                             hint="give the positive value as the column spells it (e.g. --positive "
                                  f"{found[1]!r})")


Run = Callable[[str], Sequence[Sequence[Any]]]
APPROX_MARGIN = 2  # an approximate distinct count over twice a bound is taken as over it (HyperLogLog errs by %)
MAX_LABEL_GUESS = 10


def check_source(run: Run, relation: str, *, label_column: str, score_column: str, positive_value: str,
                 slices: Sequence[str], bins: int, dialect: Dialect, where: Location | None = None) -> bool:
    """The checks every engine makes before its GROUP BY, through ``run`` (SQL text -> rows): two labels, one of
    them the positive value; at most :data:`MAX_SLICE_VALUES` values per slice. Returns whether the aggregate is
    exact (at most ``bins`` distinct scores). Exact DISTINCT queries run only on columns the one-pass profile
    (:func:`profile_sql`) found small, so memory stays bounded whatever the set holds."""
    guesses = [int(v or 0) for v in run(profile_sql(relation, label_column=label_column, score_column=score_column,
                                                     slices=slices, dialect=dialect))[0]]
    label_guess, score_guess, slice_guesses = guesses[0], guesses[1], guesses[2:]
    if label_guess > MAX_LABEL_GUESS:
        raise AggregateError(f"label column {label_column!r} holds about {label_guess:,} different values; a binary "
                             "story needs exactly two", location=where,
                             hint="name the column of true outcomes (two values) as the label")
    labels = run(label_values_sql(relation, label_column, dialect))
    check_label_values([None if row[0] is None else str(row[0]) for row in labels], label_column=label_column,
                       positive_value=positive_value, where=where)
    for name, guess in zip(slices, slice_guesses, strict=True):
        if guess > APPROX_MARGIN * MAX_SLICE_VALUES:
            check_slice_count(name, guess, where=where)
        sql = distinct_count_sql(relation, name, MAX_SLICE_VALUES + 1, dialect, as_text=True)
        check_slice_count(name, int(run(sql)[0][0]), where=where)
    if score_guess > APPROX_MARGIN * bins:
        return False
    return int(run(distinct_count_sql(relation, score_column, bins + 1, dialect))[0][0]) <= bins


def check_slice_count(column: str, distinct: int, *, where: Location | None = None) -> None:
    """A slice column may hold at most :data:`MAX_SLICE_VALUES` distinct values."""
    if distinct > MAX_SLICE_VALUES:
        raise AggregateError(f"slice column {column!r} holds more than {MAX_SLICE_VALUES:,} different values; "
                             "a slice table that long tells a reader nothing", location=where,
                             hint="slice by a column with fewer values (e.g. a region rather than a customer id)")


def check_bins_and_replicates(bins: int, replicates: int, *, where: Location | None = None) -> None:
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= MAX_BINS:
        raise AggregateError(f"bins must be a whole number from 1 to {MAX_BINS:,}, not {bins!r}", location=where,
                             hint=f"the default, {DEFAULT_BINS}, puts thresholds 0.001 apart")
    if isinstance(replicates, bool) or not isinstance(replicates, int) or not 0 <= replicates <= MAX_REPLICATES:
        raise AggregateError(f"replicates must be a whole number from 0 to {MAX_REPLICATES:,}, not {replicates!r}",
                             location=where, hint=f"the default, {DEFAULT_REPLICATES}, is enough for 95% intervals")


def finish_cells(grouped: pd.DataFrame, *, slices: Sequence[str], bins: int, exact: bool,
                 where: Location | None = None) -> tuple[pd.DataFrame, tuple[float, ...]]:
    """The engine's grouped rows (from :func:`grouping_sql`) as the aggregate's cells, sorted, with their bin edges.

    Refuses (with the number of rows) scores that are missing, NaN or outside [0, 1], and missing labels; refuses
    more than :data:`MAX_CELLS` cells.
    """
    import numpy as np
    import pandas as pd

    bin_name = "score_key" if exact else "score_bin"
    bad_score = grouped[bin_name].isna() if exact else grouped[bin_name] == -1
    bad_rows = int(grouped.loc[bad_score, "n"].sum())
    if bad_rows:
        raise AggregateError(f"{_rows(bad_rows)} of the set {_have(bad_rows)} a score that is missing, not a "
                             "number, or outside 0 to 1", location=where,
                             hint="every row needs the model's chance of the positive class, from 0 to 1; drop "
                                  "or fix those rows first")
    no_label = int(grouped.loc[grouped["label"].isna(), "n"].sum())
    if no_label:
        raise AggregateError(f"{_rows(no_label)} of the set {_have(no_label)} no label", location=where,
                             hint="drop the rows whose outcome is not known yet, or aggregate them as production")
    if len(grouped) > MAX_CELLS:
        raise AggregateError(f"the aggregate would hold {len(grouped):,} cells, more than {MAX_CELLS:,}",
                             location=where, hint="use fewer bins (--bins) or fewer slice columns")
    cells = pd.DataFrame({s: grouped[s].astype("string") for s in slices})
    cells["label"] = grouped["label"].astype("int8")
    if exact:
        keys = grouped["score_key"].astype("float64").to_numpy()
        edges_array = np.unique(keys)
        cells["score_bin"] = np.searchsorted(edges_array, keys).astype("int32")
        edges = tuple(float(v) for v in edges_array)
    else:
        cells["score_bin"] = grouped["score_bin"].astype("int32")
        edges = equal_width_edges(bins)
    cells["n"] = grouped["n"].astype("int64")
    for column in ("score_sum", "score_sq_sum", "score_min", "score_max"):
        cells[column] = grouped[column].astype("float64")
    order = [*slices, "label", "score_bin"]
    cells = cells.sort_values(order, na_position="first", kind="stable").reset_index(drop=True)
    return cells, edges


# --- replicates ---------------------------------------------------------------------------------------------


def replicate_columns(replicates: int) -> list[str]:
    return [f"rep_{b}" for b in range(replicates)]


def draw_replicates(n: npt.ArrayLike, replicates: int, seed: int) -> npt.NDArray[np.int32]:
    """Each cell's B bootstrap replicate counts, drawn as Poisson(n): one row per cell, one column per replicate.

    The sum of n independent Poisson(1) row weights is Poisson(n), so this is the row-level Poisson bootstrap
    (Chamandy et al., 2012) for every figure made of counts, drawn after the GROUP BY and at no cost per row.
    """
    import numpy as np

    return next(_replicate_chunks(np.asarray(n, dtype=np.int64), replicates, seed, chunk=None))


def _replicate_chunks(n: npt.NDArray[np.int64], replicates: int, seed: int,
                      chunk: int | None) -> Iterator[npt.NDArray[np.int32]]:
    """The replicate counts of the cells in order, ``chunk`` cells at a time, from one generator: the chunks
    together are what one draw over all cells gives."""
    import numpy as np

    generator = np.random.Generator(np.random.PCG64(seed))
    step = len(n) if chunk is None else chunk
    for start in range(0, max(len(n), 1), max(step, 1)):
        part = n[start:start + step]
        yield generator.poisson(part[:, None], size=(len(part), replicates)).astype(np.int32)


# --- regression -------------------------------------------------------------------------------------------


def _error_columns(relation: str, actual_column: str, prediction_column: str, slices: Sequence[str],
                   dialect: Dialect) -> str:
    """The rows as the slices (text), the actual amount and the error (prediction - actual), as doubles."""
    actual = f"CAST({quote_identifier(actual_column, dialect)} AS DOUBLE)"
    prediction = f"CAST({quote_identifier(prediction_column, dialect)} AS DOUBLE)"
    keys = [f"CAST({quote_identifier(s, dialect)} AS STRING) AS {quote_identifier(s, dialect)}" for s in slices]
    columns = ", ".join([*keys, f"{actual} AS storybook_actual", f"{prediction} - {actual} AS storybook_error"])
    return f"(SELECT {columns} FROM {relation}) r"


def error_range_sql(relation: str, *, actual_column: str, prediction_column: str, dialect: Dialect) -> str:
    """One pass: the smallest and largest error (prediction - actual), and the number of rows whose error is not
    a number (a missing or NaN actual or prediction)."""
    rows = _error_columns(relation, actual_column, prediction_column, (), dialect)
    error = "storybook_error"
    usable = f"CASE WHEN {error} IS NULL OR isnan({error}) THEN NULL ELSE {error} END"
    return (f"SELECT MIN({usable}), MAX({usable}), SUM(CASE WHEN {error} IS NULL OR isnan({error}) THEN 1 ELSE 0 "
            f"END) FROM {rows}")


def regression_edges(answer: Sequence[Any], bins: int, *, source: str,
                     where: Location | None = None) -> tuple[float, ...]:
    """K + 1 equal-width edges from the smallest error to the largest (one bin when all errors are equal), from
    the answer of :func:`error_range_sql` (smallest, largest, rows without a number); refuses rows without a
    number (with their count), a set with no rows and an infinite error."""
    lowest, highest, missing = answer
    if missing:
        raise AggregateError(f"{_rows(int(missing))} of the set {_have(int(missing))} an actual amount or a "
                             "prediction that is missing or not a number", location=where,
                             hint="drop or fix those rows first")
    if lowest is None:
        raise AggregateError(f"{source} holds no rows", location=where, hint="aggregate a set with at least one row")
    low, high = float(lowest), float(highest)
    if not (math.isfinite(low) and math.isfinite(high)):
        raise AggregateError("some predictions or actual amounts are infinite, so their errors cannot be counted",
                             location=where, hint="drop or fix the rows with an infinite prediction or actual")
    if high <= low:
        return (low, high)
    width = (high - low) / bins
    return (*(low + j * width for j in range(bins)), high)


def regression_grouping_sql(relation: str, *, actual_column: str, prediction_column: str, slices: Sequence[str],
                            edges: Sequence[float], dialect: Dialect) -> str:
    """The one GROUP BY of a regression set (DuckDB and Spark SQL): per slice value and error bin, the number of
    rows and the sums of the error, its absolute value and square, the actual amount and its square. Bin j holds
    the errors from ``edges[j]`` up to ``edges[j + 1]`` (the last includes the largest): ``floor((error - low) /
    width)``, the same arithmetic as :func:`regression_edges`."""
    bins, low = len(edges) - 1, float(edges[0])
    error = "storybook_error"
    if bins == 1:
        bin_expr = "0"
    else:
        width = (float(edges[-1]) - low) / bins
        bin_expr = f"LEAST(GREATEST(CAST(FLOOR(({error} - {low!r}) / {width!r}) AS INTEGER), 0), {bins - 1})"
    keys = [quote_identifier(s, dialect) for s in slices]
    selected = ", ".join([*keys, f"{bin_expr} AS error_bin"])
    grouped = ", ".join([*keys, bin_expr])
    actual = "storybook_actual"
    return (f"SELECT {selected}, COUNT(*) AS n, SUM({error}) AS error_sum, SUM(ABS({error})) AS abs_error_sum, "
            f"SUM({error} * {error}) AS sq_error_sum, SUM({actual}) AS actual_sum, "
            f"SUM({actual} * {actual}) AS actual_sq_sum "
            f"FROM {_error_columns(relation, actual_column, prediction_column, slices, dialect)} "
            f"GROUP BY {grouped}")


def _multiclass_rows(relation: str, *, label_column: str, prediction_column: str | None,
                     probabilities: Sequence[tuple[str, str]], slices: Sequence[str], dialect: Dialect) -> str:
    """The rows as the slices (text), the true class, the called class (the given column, else the first most
    likely class), the called class's chance, and 1 where the chances are missing, outside [0, 1] or do not add
    up to 1 (within 0.001)."""
    chances = [(sql_string(name, what="class name"), f"CAST({quote_identifier(column, dialect)} AS DOUBLE)")
               for name, column in probabilities]
    if prediction_column is not None:
        predicted = f"CAST({quote_identifier(prediction_column, dialect)} AS STRING)"
        chance = "CASE " + " ".join(f"WHEN {predicted} = {name} THEN {p}" for name, p in chances) + " END"
    else:
        top = f"GREATEST({', '.join(p for _, p in chances)})"
        predicted = "CASE " + " ".join(f"WHEN {p} = {top} THEN {name}" for name, p in chances) + " END"
        chance = top
    bad = " OR ".join(f"{p} IS NULL OR isnan({p}) OR {p} < 0 OR {p} > 1" for _, p in chances)
    total = " + ".join(p for _, p in chances)
    bad = f"CASE WHEN {bad} OR ABS({total} - 1) > 0.001 THEN 1 ELSE 0 END"
    keys = [f"CAST({quote_identifier(s, dialect)} AS STRING) AS {quote_identifier(s, dialect)}" for s in slices]
    columns = ", ".join([*keys, f"CAST({quote_identifier(label_column, dialect)} AS STRING) AS storybook_label",
                         f"{predicted} AS storybook_predicted", f"{chance} AS storybook_prob",
                         f"{bad} AS storybook_bad"])
    return f"(SELECT {columns} FROM {relation}) r"


def multiclass_grouping_sql(relation: str, *, label_column: str, prediction_column: str | None,
                            probabilities: Sequence[tuple[str, str]], slices: Sequence[str], bins: int,
                            dialect: Dialect) -> str:
    """The one GROUP BY of a multiclass set (DuckDB and Spark SQL): per slice value, true class, called class and
    bin of the called class's chance (K equal-width bins over [0, 1], as for binary scores; -1 for a row whose
    chances are missing, outside [0, 1] or do not add up to 1), the number of rows and the sums of that chance
    and of its square. ``probabilities`` pairs each class (as the label column spells it) with its column."""
    prob = "storybook_prob"
    bin_expr = (f"CASE WHEN storybook_bad = 1 OR {prob} IS NULL THEN -1 "
                f"ELSE LEAST({_bin_sql(prob, bins)}, {bins - 1}) END")
    keys = [quote_identifier(s, dialect) for s in slices]
    selected = ", ".join([*keys, "storybook_label AS label", "storybook_predicted AS predicted",
                          f"{bin_expr} AS prob_bin"])
    grouped = ", ".join([*keys, "storybook_label", "storybook_predicted", bin_expr])
    rows = _multiclass_rows(relation, label_column=label_column, prediction_column=prediction_column,
                            probabilities=probabilities, slices=slices, dialect=dialect)
    return (f"SELECT {selected}, COUNT(*) AS n, SUM({prob}) AS prob_sum, SUM({prob} * {prob}) AS prob_sq_sum "
            f"FROM {rows} GROUP BY {grouped}")


def check_classes(run: Run, relation: str, *, label_column: str, prediction_column: str | None,
                  classes: Sequence[str], dialect: Dialect, where: Location | None = None) -> None:
    """Before a multiclass GROUP BY: at least three classes, at most :data:`MAX_CLASSES`, each named once; the
    label (and called class) columns hold only those classes (an approximate count first, so a column of ids is
    refused in bounded memory)."""
    if len(set(classes)) != len(classes) or not 3 <= len(classes) <= MAX_CLASSES:
        raise AggregateError(f"a multiclass set needs 3 to {MAX_CLASSES} classes, each with its own chance column; "
                             f"{len(classes)} were given ({len(set(classes))} different)", location=where,
                             hint="give one chance column per class, e.g. --probability support=p_support")
    for column, what in ((label_column, "true class"), (prediction_column, "called class")):
        if column is None:
            continue
        text = f"CAST({quote_identifier(column, dialect)} AS STRING)"
        guess = int(run(f"SELECT approx_count_distinct({text}) FROM {relation}")[0][0] or 0)
        if guess > APPROX_MARGIN * MAX_CLASSES:
            raise AggregateError(f"the {what} column {column!r} holds about {guess:,} different values, more than "
                                 f"the {len(classes)} classes", location=where,
                                 hint=f"name the column of the {what} (one of the classes) for it")
        found = [row[0] for row in run(f"SELECT DISTINCT {text} FROM {relation} WHERE {text} IS NOT NULL")]
        unknown = sorted(str(v) for v in set(found) - set(classes))
        if unknown:
            shown = ", ".join(repr(v) for v in unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5
                                                              else "")
            raise AggregateError(f"the {what} column {column!r} holds {shown}, which is not among the classes "
                                 f"given a chance ({', '.join(repr(c) for c in classes[:10])})", location=where,
                                 hint="give a chance column for every class, spelt as the label column spells it")


def finish_multiclass_cells(grouped: pd.DataFrame, *, slices: Sequence[str], classes: Sequence[str],
                            where: Location | None = None) -> pd.DataFrame:
    """The engine's grouped rows (from :func:`multiclass_grouping_sql`) as the aggregate's cells, sorted; refuses
    rows with bad chances, a missing true or called class, or a class that is not one of ``classes``."""
    import pandas as pd

    bad = int(grouped.loc[grouped["prob_bin"] == -1, "n"].sum())
    if bad:
        raise AggregateError(f"{_rows(bad)} of the set {_have(bad)} class chances that are missing, outside 0 to 1 "
                             "or do not add up to 1", location=where,
                             hint="every row needs each class's chance, from 0 to 1, adding up to 1")
    for column, what in (("label", "true class"), ("predicted", "called class")):
        missing = int(grouped.loc[grouped[column].isna(), "n"].sum())
        if missing:
            raise AggregateError(f"{_rows(missing)} of the set {_have(missing)} no {what}", location=where,
                                 hint=f"drop the rows whose {what} is not known")
        unknown = sorted(set(grouped[column].dropna()) - set(classes))
        if unknown:
            shown = ", ".join(repr(v) for v in unknown[:5])
            raise AggregateError(f"the {what} column holds {shown}, which is not among the classes given a chance "
                                 f"({', '.join(repr(c) for c in classes[:10])})", location=where,
                                 hint="give a chance column for every class, spelt as the label column spells it")
    if len(grouped) > MAX_CELLS:
        raise AggregateError(f"the aggregate would hold {len(grouped):,} cells, more than {MAX_CELLS:,}",
                             location=where, hint="use fewer bins (--bins) or fewer slice columns")
    cells = pd.DataFrame({s: grouped[s].astype("string") for s in slices})
    cells["label"] = grouped["label"].astype("string")
    cells["predicted"] = grouped["predicted"].astype("string")
    cells["prob_bin"] = grouped["prob_bin"].astype("int32")
    cells["n"] = grouped["n"].astype("int64")
    cells["prob_sum"] = grouped["prob_sum"].astype("float64")
    cells["prob_sq_sum"] = grouped["prob_sq_sum"].astype("float64")
    order = [*slices, "label", "predicted", "prob_bin"]
    return cells.sort_values(order, na_position="first", kind="stable").reset_index(drop=True)


def check_slices(run: Run, relation: str, slices: Sequence[str], dialect: Dialect,
                 where: Location | None = None) -> None:
    """At most :data:`MAX_SLICE_VALUES` values per slice: an approximate count first (bounded memory), an exact
    one only when it is small."""
    if not slices:
        return
    counted = ", ".join(f"approx_count_distinct(CAST({quote_identifier(s, dialect)} AS STRING))" for s in slices)
    guesses = [int(v or 0) for v in run(f"SELECT {counted} FROM {relation}")[0]]
    for name, guess in zip(slices, guesses, strict=True):
        if guess > APPROX_MARGIN * MAX_SLICE_VALUES:
            check_slice_count(name, guess, where=where)
        sql = distinct_count_sql(relation, name, MAX_SLICE_VALUES + 1, dialect, as_text=True)
        check_slice_count(name, int(run(sql)[0][0]), where=where)


def finish_regression_cells(grouped: pd.DataFrame, *, slices: Sequence[str],
                            where: Location | None = None) -> pd.DataFrame:
    """The engine's grouped rows (from :func:`regression_grouping_sql`) as the aggregate's cells, sorted."""
    import pandas as pd

    if len(grouped) > MAX_CELLS:
        raise AggregateError(f"the aggregate would hold {len(grouped):,} cells, more than {MAX_CELLS:,}",
                             location=where, hint="use fewer bins (--bins) or fewer slice columns")
    cells = pd.DataFrame({s: grouped[s].astype("string") for s in slices})
    cells["error_bin"] = grouped["error_bin"].astype("int32")
    cells["n"] = grouped["n"].astype("int64")
    for column in ("error_sum", "abs_error_sum", "sq_error_sum", "actual_sum", "actual_sq_sum"):
        cells[column] = grouped[column].astype("float64")
    return cells.sort_values([*slices, "error_bin"], na_position="first", kind="stable").reset_index(drop=True)


# --- writing and reading ------------------------------------------------------------------------------------


def _arrow_schema(cells: pd.DataFrame, info: AggregateInfo) -> pa.Schema:
    import pyarrow as pa

    types = {"string": pa.string(), "int8": pa.int8(), "int32": pa.int32(), "int64": pa.int64(),
             "double": pa.float64()}
    own = _own_columns(info)
    leading = list(info.slices) if info.kind == "scored" else []
    fields = [pa.field(name, pa.string()) for name in leading]
    fields += [pa.field(name, types[kind]) for name, kind in own.items()]
    fields += [pa.field(name, pa.int32()) for name in replicate_columns(info.replicates)]
    return pa.schema(fields, metadata={METADATA_KEY: info.to_json().encode()})


def write_aggregate(cells: pd.DataFrame, info: AggregateInfo, path: Path) -> Path:
    """Write the cells (from :func:`finish_cells`, without replicate columns) and their replicates drawn from
    ``info.seed`` to ``path``, whole or not at all (a temp file in the same folder, then a rename)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    if len(cells) * (info.replicates + len(info.slices) + 8) > MAX_VALUES:
        raise AggregateError(f"{len(cells):,} cells with {info.replicates:,} replicates each would be more than "
                             f"{MAX_VALUES:,} values, too many to read back", location=None,
                             hint="use fewer replicates (--replicates), bins (--bins) or slices")
    schema = _arrow_schema(cells, info)
    plain = [name for name in schema.names if not name.startswith("rep_")]
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name[:16]}-", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        counts = cells["n"].to_numpy(dtype=np.int64)
        chunks = _replicate_chunks(counts, info.replicates, info.seed, chunk=_CHUNK)
        with pq.ParquetWriter(temp, schema, compression="zstd") as writer:
            for start in range(0, max(len(cells), 1), _CHUNK):
                part = cells.iloc[start:start + _CHUNK]
                columns = [pa.array(part[name], type=schema.field(name).type, from_pandas=True) for name in plain]
                drawn = next(chunks)
                columns += [pa.array(drawn[:, b], type=pa.int32()) for b in range(info.replicates)]
                writer.write_table(pa.Table.from_arrays(columns, schema=schema))
        os.chmod(temp, file_mode())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def read_info(path: Path, *, where: Location | None = None) -> AggregateInfo:
    """The metadata of the aggregate at ``path``, after checking it is one this storybook can read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    here = where or Location(path)
    try:
        schema = pq.read_schema(path)
    except FileNotFoundError:
        raise AggregateError(f"aggregate file {path} does not exist", location=here,
                             hint="make it with `storybook aggregate`, or fix the path") from None
    except (pa.ArrowException, OSError) as error:
        raise AggregateError(f"{path} is not a Parquet file ({type(error).__name__})", location=here,
                             hint="point at a file written by `storybook aggregate`") from None
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise AggregateError(f"{path} is a Parquet file but not a storybook aggregate (it has no "
                             f"{METADATA_KEY.decode()} metadata)", location=here,
                             hint="point at a file written by `storybook aggregate`, not at the scored set itself")
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise AggregateError(f"{path} has malformed {METADATA_KEY.decode()} metadata", location=here,
                             hint="write the aggregate again with `storybook aggregate`")
    version = data.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise AggregateError(f"{path} was made by a newer storybook (aggregate format version {version}; this "
                             f"storybook reads version {SCHEMA_VERSION})", location=here,
                             hint="upgrade storybook (pip install -U storybook-ml)")
    data.pop("format")
    try:
        info: AggregateInfo = decode(AggregateInfo, data, "metadata")
    except Mismatch as error:
        raise AggregateError(f"{path} has malformed {METADATA_KEY.decode()} metadata ({error})", location=here,
                             hint="write the aggregate again with `storybook aggregate`") from None
    if info.schema_version != SCHEMA_VERSION:
        raise AggregateError(f"{path} has aggregate format version {info.schema_version}, which no storybook "
                             "wrote", location=here, hint="write the aggregate again with `storybook aggregate`")
    problem = _metadata_problem(info)
    if problem:
        raise AggregateError(f"{path} has metadata that does not hold together: {problem}", location=here,
                             hint="write the aggregate again with `storybook aggregate`")
    expected = _arrow_schema_types(info)
    found = {name: str(schema.field(name).type) for name in schema.names}
    if found != expected:
        missing = [name for name in expected if name not in found]
        unexpected = [name for name in found if name not in expected]
        wrong = [f"{name} is {found[name]}, not {kind}" for name, kind in expected.items()
                 if name in found and found[name] != kind]
        parts = [f"missing {', '.join(missing[:5])}" if missing else "",
                 f"unexpected {', '.join(unexpected[:5])}" if unexpected else "", ", ".join(wrong[:5])]
        said = "; ".join(part for part in parts if part)
        raise AggregateError(f"{path} does not have the columns its metadata describes ({said})", location=here,
                             hint="write the aggregate again with `storybook aggregate`")
    return info


def _metadata_problem(info: AggregateInfo) -> str:
    """What is inconsistent in the metadata (read from a file that may come from anyone), or ""."""
    edges = info.bin_edges
    if info.rows < 0 or info.replicates < 0 or info.bins < 1:
        return "a negative number of rows or replicates, or no bins"
    if len(edges) != info.bins + (0 if info.exact else 1):
        return f"{info.bins:,} bins but {len(edges):,} bin edges"
    if not all(math.isfinite(e) for e in edges) or any(b < a for a, b in itertools.pairwise(edges)):
        return "bin edges that are not finite numbers in order"
    if info.task != "regression" and info.kind == "scored" and not (info.exact or
                                                                    edges == equal_width_edges(info.bins)):
        return "score bin edges that are not j/K"
    if info.task == "multiclass" and (len(info.classes) != len(info.probability_columns) or len(info.classes) < 3):
        return "fewer than three classes, or not one chance column per class"
    if info.exact and info.task != "binary":
        return "an exact aggregate of a regression set"
    return ""


def _own_columns(info: AggregateInfo) -> dict[str, str]:
    if info.kind == "production" and info.task == "multiclass":
        return {**PRODUCTION_MULTICLASS_COLUMNS, **dict.fromkeys(class_sum_columns(len(info.classes)), "double")}
    if info.kind == "production":
        return PRODUCTION_COLUMNS
    return {"regression": REGRESSION_COLUMNS, "multiclass": MULTICLASS_COLUMNS}.get(info.task, SCORED_COLUMNS)


def _arrow_schema_types(info: AggregateInfo) -> dict[str, str]:
    own = _own_columns(info)
    leading = {name: "string" for name in info.slices} if info.kind == "scored" else {}
    return {**leading, **own, **dict.fromkeys(replicate_columns(info.replicates), "int32")}


def read_aggregate(path: Path, *, where: Location | None = None,
                   kind: Kind = "scored") -> tuple[pd.DataFrame, AggregateInfo]:
    """The cells and metadata of the aggregate at ``path``: checked to be an aggregate of ``kind`` that this
    storybook can read (a located :class:`AggregateError` otherwise, never a traceback). ``where`` is the place
    that named the file (e.g. a story.yaml line); errors point there, or at the file itself."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    here = where or Location(path)
    info = read_info(path, where=where)
    if info.kind != kind:
        raise AggregateError(f"{path} is a {info.kind} aggregate, not a {kind} one", location=here,
                             hint="point at the aggregate of the scored evaluation set" if kind == "scored"
                             else "point at the production windows aggregate")
    try:
        cells = pq.ParquetFile(path).metadata.num_rows
    except (pa.ArrowException, OSError) as error:
        raise AggregateError(f"{path} could not be read ({type(error).__name__}); it may be cut short",
                             location=here, hint="write the aggregate again with `storybook aggregate`") from None
    if cells > MAX_CELLS or cells * (info.replicates + len(info.slices) + 8) > MAX_VALUES:
        raise AggregateError(f"{path} holds {cells:,} cells with {info.replicates:,} replicates each, more than "
                             "storybook reads", location=here,
                             hint="aggregate again with fewer replicates, bins or slices")
    try:
        frame = pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as error:
        raise AggregateError(f"{path} could not be read ({type(error).__name__}); it may be cut short",
                             location=here, hint="write the aggregate again with `storybook aggregate`") from None
    if frame["n"].lt(1).any() or int(frame["n"].sum()) != info.rows:
        raise AggregateError(f"{path} says it holds {info.rows:,} rows but its cells add up to "
                             f"{int(frame['n'].sum()):,}", location=here,
                             hint="write the aggregate again with `storybook aggregate`")
    bin_column = {"regression": "error_bin", "multiclass": "prob_bin"}.get(info.task, "score_bin")
    if len(frame) and (frame[bin_column].min() < 0 or frame[bin_column].max() >= info.bins):
        raise AggregateError(f"{path} has bins outside 0 to {info.bins - 1}", location=here,
                             hint="write the aggregate again with `storybook aggregate`")
    problem = _cells_problem(frame, info)
    if problem:
        raise AggregateError(f"{path} holds cells that no aggregate has: {problem}", location=here,
                             hint="write the aggregate again with `storybook aggregate`")
    return frame, info


def _cells_problem(frame: pd.DataFrame, info: AggregateInfo) -> str:
    """What is impossible in the cells (a label other than 0 and 1, a sum that is not a number, a negative
    replicate count), or ""."""
    import numpy as np

    if info.task == "multiclass":
        if not (frame["label"].dropna().isin(info.classes).all() and frame["predicted"].dropna().isin(info.classes)
                .all()) or frame["predicted"].isna().any() or (info.kind == "scored" and frame["label"].isna().any()):
            return "a class that is not one of the aggregate's classes"
        chances = frame[class_sum_columns(len(info.classes))].to_numpy(dtype=np.float64) if info.kind == "production" \
            else None
        if chances is not None and not (np.isfinite(chances).all() and (chances >= -1e-9).all()):
            return "a sum of chances that is not a number of at least 0"
    elif "label" in frame and not frame["label"].dropna().isin([0, 1]).all():
        return "a label other than 0 and 1"
    if info.kind == "scored" and info.task == "binary" and frame["label"].isna().any():
        return "a missing label"
    sums = [c for c in frame.columns if c.endswith(("_sum", "_min", "_max"))]
    if sums and not np.isfinite(frame[sums].to_numpy(dtype=np.float64)).all():
        return "a sum that is not a finite number"
    reps = replicate_columns(info.replicates)
    if reps and (frame[reps].to_numpy() < 0).any():
        return "a negative replicate count"
    return ""


def _rows(count: int) -> str:
    return f"{count:,} row" if count == 1 else f"{count:,} rows"


def _have(count: int) -> str:
    return "has" if count == 1 else "have"
