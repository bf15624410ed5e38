"""Aggregate a scored set held in Parquet or CSV files of any size, on one machine, with DuckDB: a binary set
(:func:`aggregate_with_duckdb`), a regression set (:func:`aggregate_regression_with_duckdb`) or a multiclass set
(:func:`aggregate_multiclass_with_duckdb`).

    from storybook.aggregate.duckdb_engine import aggregate_with_duckdb
    from storybook.aggregate.format import write_aggregate

    cells, info = aggregate_with_duckdb("scored/*.parquet", label_column="clicked", score_column="p_click",
                                        positive_value="1", slices=["country"])
    write_aggregate(cells, info, Path("evaluation/aggregate.parquet"))

DuckDB streams the files (``read_parquet`` / ``read_csv``) through one GROUP BY, in bounded memory: the memory
limit is set (``SET memory_limit``) and what does not fit spills to a temporary folder. The SQL is
:func:`storybook.aggregate.format.grouping_sql`, the same text the Spark engine runs; the replicate columns are
drawn afterwards in shared numpy code (:func:`~storybook.aggregate.format.write_aggregate`).
"""

from __future__ import annotations

import glob
import importlib.metadata
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from storybook.aggregate import format as fmt
from storybook.errors import AggregateError, Location

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

__all__ = ["DEFAULT_MEMORY_LIMIT", "aggregate_multiclass_with_duckdb", "aggregate_regression_with_duckdb",
           "aggregate_with_duckdb", "duckdb_version"]

DEFAULT_MEMORY_LIMIT = "1GB"
_PARQUET = (".parquet", ".pq", ".parq")
_CSV = (".csv", ".csv.gz", ".tsv", ".txt")


def duckdb_version() -> str:
    """``duckdb <version>``; a located error saying how to install it when it is not installed."""
    try:
        import duckdb
    except ImportError:
        raise AggregateError("the DuckDB engine needs the duckdb package, which is not installed",
                             hint="pip install 'storybook-ml[scale]'") from None
    return f"duckdb {duckdb.__version__}"


def aggregate_with_duckdb(source: str | Path, *, label_column: str, score_column: str, positive_value: str = "1",
                          slices: Sequence[str] = (), bins: int = fmt.DEFAULT_BINS,
                          replicates: int = fmt.DEFAULT_REPLICATES, seed: int = 0,
                          task: Literal["binary"] = "binary", memory_limit: str = DEFAULT_MEMORY_LIMIT,
                          threads: int | None = None, temp_directory: Path | None = None,
                          where: Location | None = None) -> tuple[pd.DataFrame, fmt.AggregateInfo]:
    """The cells of the binary scored set in ``source`` (a Parquet or CSV file, or a glob of them) and their
    metadata, ready for :func:`~storybook.aggregate.format.write_aggregate` (which draws the ``replicates``).

    ``positive_value`` is the label that counts as positive, as the column spells it in text (``1``, ``yes``,
    ``true``). ``slices`` are text or number columns with at most 1,000 values each. ``bins`` equal-width score
    bins over [0, 1], or the distinct scores themselves when there are at most ``bins`` of them. DuckDB uses at
    most ``memory_limit`` (e.g. "1GB") and ``threads`` (all cores by default), spilling to ``temp_directory``.
    Raises :class:`~storybook.errors.AggregateError` (located at ``where``, or at the source) when the source
    cannot be read or does not have the shape a binary story needs.
    """
    if task != "binary":
        raise AggregateError(f"aggregate_with_duckdb counts binary sets, not {task!r} ones", location=where,
                             hint="for a regression set, call aggregate_regression_with_duckdb")
    engine = duckdb_version()
    import duckdb

    fmt.check_bins_and_replicates(bins, replicates, where=where)
    fmt.check_slice_names(slices, label_column=label_column, score_column=score_column, where=where)
    files, relation = _relation(source, where)
    here = where or Location(Path(files[0]))
    connection = duckdb.connect(":memory:")
    try:
        _configure(connection, memory_limit=memory_limit, threads=threads, temp_directory=temp_directory,
                   where=here)
        _check_columns(connection, relation, [(label_column, "label"), (score_column, "score"),
                                              *((s, "slice") for s in slices)], source, here)
        exact = fmt.check_source(lambda sql: _run(connection, sql, source, here), relation,
                                 label_column=label_column, score_column=score_column,
                                 positive_value=positive_value, slices=slices, bins=bins, dialect="duckdb",
                                 where=here)
        grouping = fmt.grouping_sql(relation, label_column=label_column, score_column=score_column,
                                    positive_value=positive_value, slices=slices, bins=bins, exact=exact,
                                    dialect="duckdb")
        _run(connection, f"CREATE TEMP TABLE cells AS {grouping}", source, here)
        count = int(_run(connection, "SELECT COUNT(*) FROM cells", source, here)[0][0])
        if count > fmt.MAX_CELLS:
            raise AggregateError(f"the aggregate would hold {count:,} cells, more than {fmt.MAX_CELLS:,}",
                                 location=here, hint="use fewer bins (--bins) or fewer slice columns")
        grouped = connection.execute("SELECT * FROM cells").df()
    finally:
        connection.close()
    cells, edges = fmt.finish_cells(grouped, slices=slices, bins=bins, exact=exact, where=here)
    info = fmt.AggregateInfo(
        kind="scored", task="binary", rows=int(cells["n"].sum()), bins=len(edges) if exact else bins, exact=exact,
        bin_edges=edges, label_column=label_column, score_column=score_column, positive_value=positive_value,
        slices=tuple(slices), replicates=replicates, seed=seed, engine=engine, source=_shown_source(source),
        storybook_version=_storybook_version())
    return cells, info


def aggregate_regression_with_duckdb(source: str | Path, *, actual_column: str, prediction_column: str,
                                     slices: Sequence[str] = (), bins: int = fmt.DEFAULT_BINS,
                                     replicates: int = fmt.DEFAULT_REPLICATES, seed: int = 0,
                                     memory_limit: str = DEFAULT_MEMORY_LIMIT, threads: int | None = None,
                                     temp_directory: Path | None = None,
                                     where: Location | None = None) -> tuple[pd.DataFrame, fmt.AggregateInfo]:
    """The cells of the regression set in ``source`` (Parquet or CSV files: a path or a glob) and their metadata:
    per slice value and bin of the error (prediction - actual; ``bins`` equal-width bins from the smallest error
    to the largest), the number of rows and the sums that give the mean error, the mean absolute error and the
    root mean squared error exactly. Two passes: the errors' range, then the GROUP BY. Refuses rows whose actual
    amount or prediction is missing or not a number (with their count)."""
    engine = duckdb_version()
    import duckdb

    fmt.check_bins_and_replicates(bins, replicates, where=where)
    fmt.check_slice_names(slices, label_column=actual_column, score_column=prediction_column, where=where)
    files, relation = _relation(source, where)
    here = where or Location(Path(files[0]))
    connection = duckdb.connect(":memory:")
    try:
        _configure(connection, memory_limit=memory_limit, threads=threads, temp_directory=temp_directory,
                   where=here)
        _check_columns(connection, relation, [(actual_column, "actual"), (prediction_column, "prediction"),
                                              *((s, "slice") for s in slices)], source, here)
        fmt.check_slices(lambda sql: _run(connection, sql, source, here), relation, slices, "duckdb", where=here)
        answer = _run(connection, fmt.error_range_sql(relation, actual_column=actual_column,
                                                      prediction_column=prediction_column, dialect="duckdb"),
                      source, here)[0]
        edges = fmt.regression_edges(answer, bins, source=_shown_source(source), where=here)
        grouping = fmt.regression_grouping_sql(relation, actual_column=actual_column,
                                               prediction_column=prediction_column, slices=slices, edges=edges,
                                               dialect="duckdb")
        grouped = connection.execute(grouping).df()
    except duckdb.Error as error:
        raise _read_error(error, source, here) from None
    finally:
        connection.close()
    cells = fmt.finish_regression_cells(grouped, slices=slices, where=here)
    info = fmt.AggregateInfo(
        kind="scored", task="regression", rows=int(cells["n"].sum()), bins=len(edges) - 1, exact=False,
        bin_edges=edges, label_column=actual_column, score_column=prediction_column, positive_value=None,
        slices=tuple(slices), replicates=replicates, seed=seed, engine=engine, source=_shown_source(source),
        storybook_version=_storybook_version())
    return cells, info


def aggregate_multiclass_with_duckdb(source: str | Path, *, label_column: str, probabilities: Mapping[str, str],
                                     prediction_column: str | None = None, slices: Sequence[str] = (),
                                     bins: int = fmt.DEFAULT_BINS, replicates: int = fmt.DEFAULT_REPLICATES,
                                     seed: int = 0, memory_limit: str = DEFAULT_MEMORY_LIMIT,
                                     threads: int | None = None, temp_directory: Path | None = None,
                                     where: Location | None = None) -> tuple[pd.DataFrame, fmt.AggregateInfo]:
    """The cells of the multiclass set in ``source`` (Parquet or CSV files: a path or a glob) and their metadata:
    per slice value, true class, called class and bin of the called class's chance (``bins`` equal-width bins over
    [0, 1]), the number of rows and the sums of that chance and its square.

    ``probabilities`` maps each class, as the label column spells it, to the column of its chance (3 to 100
    classes; the chances of a row add up to 1). The called class is ``prediction_column`` when given, else the
    most likely class (the first listed on a tie)."""
    engine = duckdb_version()
    import duckdb

    pairs = [(str(name), str(column)) for name, column in probabilities.items()]
    fmt.check_bins_and_replicates(bins, replicates, where=where)
    fmt.check_slice_names(slices, label_column=label_column, score_column=prediction_column or label_column,
                          where=where)
    files, relation = _relation(source, where)
    here = where or Location(Path(files[0]))
    connection = duckdb.connect(":memory:")
    try:
        _configure(connection, memory_limit=memory_limit, threads=threads, temp_directory=temp_directory,
                   where=here)
        roles = [(label_column, "label"), *((c, f"chance of {n!r}") for n, c in pairs),
                 *(((prediction_column, "called class"),) if prediction_column else ()),
                 *((s, "slice") for s in slices)]
        _check_columns(connection, relation, roles, source, here)

        def run(sql: str) -> list[tuple[Any, ...]]:
            return _run(connection, sql, source, here)

        fmt.check_classes(run, relation, label_column=label_column, prediction_column=prediction_column,
                          classes=[n for n, _ in pairs], dialect="duckdb", where=here)
        fmt.check_slices(run, relation, slices, "duckdb", where=here)
        grouped = connection.execute(fmt.multiclass_grouping_sql(
            relation, label_column=label_column, prediction_column=prediction_column, probabilities=pairs,
            slices=slices, bins=bins, dialect="duckdb")).df()
    except duckdb.Error as error:
        raise _read_error(error, source, here) from None
    finally:
        connection.close()
    cells = fmt.finish_multiclass_cells(grouped, slices=slices, classes=[n for n, _ in pairs], where=here)
    info = fmt.AggregateInfo(
        kind="scored", task="multiclass", rows=int(cells["n"].sum()), bins=bins, exact=False,
        bin_edges=fmt.equal_width_edges(bins), label_column=label_column, score_column=prediction_column or "",
        positive_value=None, slices=tuple(slices), replicates=replicates, seed=seed, engine=engine,
        source=_shown_source(source), storybook_version=_storybook_version(),
        classes=tuple(n for n, _ in pairs), probability_columns=tuple(c for _, c in pairs))
    return cells, info


def _check_columns(connection: duckdb.DuckDBPyConnection, relation: str, roles: Sequence[tuple[str, str]],
                   source: str | Path, where: Location) -> None:
    """Each named column is in the source; a located error listing the source's columns otherwise."""
    columns = [str(row[0]) for row in _run(connection, f"DESCRIBE SELECT * FROM {relation}", source, where)]
    for name, role in roles:
        if name not in columns:
            shown = ", ".join(repr(c) for c in columns[:10]) + (" ..." if len(columns) > 10 else "")
            raise AggregateError(f"the {role} column {name!r} is not in {_shown_source(source)}; its columns "
                                 f"are {shown}", location=where,
                                 hint="name the column as the file spells it (upper and lower case count)")


def _relation(source: str | Path, where: Location | None) -> tuple[list[str], str]:
    """The files ``source`` names (a path or a glob) and the DuckDB table function that reads them."""
    text = str(source)
    files = sorted(glob.glob(text)) if glob.has_magic(text) else ([text] if Path(text).is_file() else [])
    if not files:
        raise AggregateError(f"no file matches {text}", location=where,
                             hint="give a Parquet or CSV file, or a glob such as 'scored/*.parquet'")
    name = text.lower()
    literal = "'" + text.replace("'", "''") + "'"
    if name.endswith(_PARQUET):
        return files, f"read_parquet({literal})"
    if name.endswith(_CSV):
        return files, f"read_csv({literal}, header = true)"
    raise AggregateError(f"{text} is neither Parquet nor CSV (by its name)", location=where,
                         hint="give files ending in .parquet or .csv")


def _configure(connection: duckdb.DuckDBPyConnection, *, memory_limit: str, threads: int | None,
               temp_directory: Path | None, where: Location) -> None:
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", memory_limit.strip(), re.IGNORECASE):
        raise AggregateError(f"memory limit {memory_limit!r} is not a size", location=where,
                             hint="give it like 512MB or 4GB")
    connection.execute(f"SET memory_limit = '{memory_limit.strip()}'")
    connection.execute("SET preserve_insertion_order = false")  # lets DuckDB stream without keeping row order
    connection.execute("SET enable_progress_bar = false")  # DuckDB's own bar would write into the command's output
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise AggregateError(f"threads must be a whole number of at least 1, not {threads!r}", location=where,
                                 hint="leave it out to use every core")
        connection.execute(f"SET threads = {threads}")
    if temp_directory is not None:
        connection.execute("SET temp_directory = '" + str(temp_directory).replace("'", "''") + "'")


def _run(connection: duckdb.DuckDBPyConnection, sql: str, source: str | Path,
         where: Location) -> list[tuple[Any, ...]]:
    """The rows of ``sql``, or a located error saying what DuckDB could not read (its first line, shortened)."""
    import duckdb

    try:
        return connection.execute(sql).fetchall()
    except duckdb.Error as error:
        raise _read_error(error, source, where) from None


def _read_error(error: Exception, source: str | Path, where: Location) -> AggregateError:
    """What DuckDB could not do, said in one located line (its message's first line, shortened)."""
    import duckdb

    if isinstance(error, duckdb.OutOfMemoryException):
        return AggregateError(f"DuckDB ran out of memory aggregating {_shown_source(source)}", location=where,
                              hint="raise the memory limit, or use fewer bins or slices")
    said = str(error).splitlines()[0] if str(error) else type(error).__name__
    said = "".join(ch for ch in said if ch.isprintable())[:300]
    return AggregateError(f"DuckDB could not read {_shown_source(source)}: {said}", location=where,
                          hint="check that the files are the Parquet or CSV their names say, with the columns given")


def _shown_source(source: str | Path) -> str:
    """The source as the metadata and messages name it: its file name (or glob), never the folders above."""
    return Path(str(source)).name


def _storybook_version() -> str:
    try:
        return importlib.metadata.version("storybook-ml")
    except importlib.metadata.PackageNotFoundError:
        return ""
