"""Production scores of any size, counted per day, week or window into a small file, from Python:

    import storybook

    made = storybook.aggregate_production("scores/*.parquet", "windows.parquet", score="p_click",
                                          time="scored_at", window="day", label="clicked")
    storybook.log_production_windows(made.path, run_id=model_run_id)

The file is the production windows aggregate of :mod:`storybook.aggregate.production` (one row per window x label
x score bin); :func:`storybook.log_production_windows` logs it and each window's figures to the model's run.
"""

from __future__ import annotations

import tempfile
import time as clock
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from storybook.aggregate import format as fmt
from storybook.errors import ConfigError, user_code_location

__all__ = ["ProductionWindows", "aggregate_production"]

ENGINES = ("duckdb", "spark")


@dataclass(frozen=True)
class ProductionWindows:
    """What :func:`aggregate_production` wrote: the file, its metadata, its number of cells and how long it took."""

    path: Path
    info: fmt.AggregateInfo
    cells: int
    seconds: float


def aggregate_production(source: str | Path, out: str | Path, *, score: str, time: str | None = None,
                         window: Literal["day", "week"] = "day", window_column: str | None = None,
                         label: str | None = None, positive: str = "1", bins: int = fmt.DEFAULT_BINS,
                         engine: str = "duckdb", memory_limit: str = "1GB",
                         threads: int | None = None) -> ProductionWindows:
    """Count the production scores in ``source`` (Parquet or CSV files: a path or a glob) per window into ``out``
    (a ``.parquet`` file, written whole or not at all).

    ``score`` names the column of the model's chances (0 to 1). Give ``time`` (a date or timestamp column, cut
    into UTC days or weeks starting on Monday by ``window``) or ``window_column`` (a column naming each row's
    window). ``label`` (optional) is the column of outcomes, missing while they are not in; ``positive`` the value
    that counts as positive, as the column spells it. ``engine`` is ``duckdb`` (in ``memory_limit``, on
    ``threads`` cores) or ``spark`` (the active Spark session, or a local one on ``threads`` cores, two by
    default). Raises :class:`~storybook.errors.AggregateError` (nothing written) when the scores cannot be
    counted.
    """
    where = _caller()
    target = Path(out)
    if target.suffix.lower() != ".parquet":
        raise ConfigError(f"the production windows aggregate is a Parquet file: {target} should end in .parquet",
                          location=where, hint="e.g. windows.parquet")
    if engine not in ENGINES:
        raise ConfigError(f"engine {engine!r} is not one storybook runs; it runs {', '.join(ENGINES)}",
                          location=where, hint="duckdb on this machine, spark on a Spark session")
    if Path(str(source)).resolve() == target.resolve():
        raise ConfigError(f"{target} is the file of scores to count; writing it would replace them",
                          location=where, hint="write the aggregate under another name")
    target.parent.mkdir(parents=True, exist_ok=True)
    started = clock.perf_counter()
    if engine == "spark":
        from storybook.aggregate.spark_engine import aggregate_production_files_with_spark

        cells, info = aggregate_production_files_with_spark(
            source, score_column=score, time_column=time, window=window, window_column=window_column,
            label_column=label, positive_value=positive, bins=bins, threads=threads, where=where)
    else:
        from storybook.aggregate.production import aggregate_production_with_duckdb

        with tempfile.TemporaryDirectory(prefix=".storybook-production-", dir=target.parent) as spill:
            cells, info = aggregate_production_with_duckdb(
                source, score_column=score, time_column=time, window=window, window_column=window_column,
                label_column=label, positive_value=positive, bins=bins, memory_limit=memory_limit,
                threads=threads, temp_directory=Path(spill), where=where)
    fmt.write_aggregate(cells, info, target)
    return ProductionWindows(path=target, info=info, cells=len(cells), seconds=clock.perf_counter() - started)


_caller = user_code_location  # errors point at the line of the user's code that called storybook
