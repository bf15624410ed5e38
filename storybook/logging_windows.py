"""Log a production windows aggregate made at scale (DuckDB or Spark) to the model's MLflow run.

    from pathlib import Path
    import storybook
    from storybook.aggregate.format import write_aggregate
    from storybook.aggregate.production import aggregate_production_with_duckdb

    cells, info = aggregate_production_with_duckdb("scores/*.parquet", score_column="p_click",
                                                   time_column="scored_at", window="day")
    write_aggregate(cells, info, Path("windows.parquet"))
    storybook.log_production_windows(Path("windows.parquet"), run_id=model_run_id)

The file becomes an artifact of the run (``production/windows.parquet`` by default, what a story's
``trust.production_scores`` reads), and each window's figures become readings of metric histories, one reading
per window at the time the window starts, which a story's ``series:`` and ``trust.guardrails`` read:
``<prefix>_rows`` (scores in the window), ``<prefix>_mean_score`` (exact, from the sums) and
``<prefix>_score_p10`` / ``_p50`` / ``_p90`` (the 10th, 50th and 90th percentiles of the scores, each within one
score bin, 1/1000 by default, of the exact value; the same whichever engine made the file).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

from storybook.errors import LoggingError, StorybookError, TrackingError, user_code_location

__all__ = ["LoggedWindows", "log_production_windows"]

DEFAULT_ARTIFACT = "production/windows.parquet"
_PREFIX = re.compile(r"^[A-Za-z0-9_\-./ ]{1,200}$")  # what MLflow accepts at the start of a metric key
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WEEK = re.compile(r"^\d{4}-W\d{2}$")


@dataclass(frozen=True)
class LoggedWindows:
    """What :func:`log_production_windows` logged: on which run, the artifact, the windows the file holds, the
    windows whose readings were new (the others were logged before and kept), and the metric keys."""

    run_id: str
    artifact_path: str
    windows: tuple[str, ...]
    new_windows: tuple[str, ...]
    keys: tuple[str, ...]


def log_production_windows(path: Path | str, *, run_id: str | None = None, artifact_path: str = DEFAULT_ARTIFACT,
                           prefix: str = "production") -> LoggedWindows:
    """Log the production windows aggregate at ``path`` as an artifact of the active MLflow run (or of
    ``run_id``) and each window's row count, mean score and percentiles as metric histories.

    Windows must be named by a date (YYYY-MM-DD, as day and week windows are) or an ISO week (2026-W45): each
    reading is timed at the window's start. A window whose reading a key already holds (from an earlier call) is
    not logged again, so a daily job may log a file that repeats earlier windows; aggregate only windows that are
    complete, since a window's readings are not replaced later. The artifact is replaced. Raises
    :class:`~storybook.errors.LoggingError` (nothing logged) when the file is not a production windows aggregate,
    and :class:`~storybook.errors.TrackingError` when MLflow refuses (the artifact is logged before the readings).
    """
    where = _caller()
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        raise LoggingError(f"the prefix {prefix!r} does not start a metric key MLflow accepts", location=where,
                           hint="use letters, digits, spaces and _ - . / only, e.g. production")
    pure = PurePosixPath(artifact_path) if isinstance(artifact_path, str) else None
    if pure is None or pure.is_absolute() or ".." in pure.parts or pure.suffix.lower() != ".parquet" \
            or "\\" in artifact_path:
        raise LoggingError(f"artifact_path must be a relative path ending in .parquet, not {artifact_path!r}",
                           location=where, hint=f"e.g. {DEFAULT_ARTIFACT} (the story's trust.production_scores)")
    from storybook.aggregate.format import read_aggregate
    from storybook.aggregate.production import window_summaries

    file = Path(path)
    try:
        cells, info = read_aggregate(file, where=where, kind="production")
    except StorybookError as error:
        raise LoggingError(error.message, location=where, hint=error.hint) from None
    if info.task != "binary":
        raise LoggingError(f"{file} holds a {info.task} model's production windows; log_production_windows logs a "
                           "yes/no model's", location=where,
                           hint="a multiclass model's windows are logged by log_production_scores(probabilities=)")
    starts = {name: _start(name) for name in info.windows}
    undated = [name for name, start in starts.items() if start is None]
    if undated:
        raise LoggingError(f"window {undated[0]!r} is not named by a date (YYYY-MM-DD) or an ISO week (2026-W45), "
                           f"so its readings would have no time ({len(undated):,} windows like it)",
                           location=where, hint="cut the scores into days or weeks (time_column=, window=), or "
                                                "name each window by its first day")
    summaries = window_summaries(cells, info)
    figures = {"rows": [float(s.rows) for s in summaries], "mean_score": [s.mean_score for s in summaries],
               "score_p10": [s.p10 for s in summaries], "score_p50": [s.p50 for s in summaries],
               "score_p90": [s.p90 for s in summaries]}

    import mlflow
    from mlflow.tracking import MlflowClient

    from storybook.logging_api import log_production_series

    if run_id is None:
        run = mlflow.active_run()
        if run is None:
            raise LoggingError("log_production_windows found no active MLflow run", location=where,
                               hint="call it inside 'with mlflow.start_run():', or pass run_id= (the model's run)")
        run_id = str(run.info.run_id)
    from mlflow.exceptions import MlflowException

    try:
        client = MlflowClient()
        parent = str(pure.parent)
        if pure.name == file.name:
            client.log_artifact(run_id, str(file), None if parent == "." else parent)
        else:  # the artifact keeps the name the story reads, whatever the local file is called
            import tempfile

            with tempfile.TemporaryDirectory(prefix="storybook-windows-") as folder:
                copy = Path(folder) / pure.name
                copy.write_bytes(file.read_bytes())
                client.log_artifact(run_id, str(copy), None if parent == "." else parent)
        new: set[str] = set()
        keys: list[str] = []
        for figure, values in figures.items():
            key = f"{prefix}_{figure}"
            keys.append(key)
            logged = {m.timestamp for m in client.get_metric_history(run_id, key)}
            todo = [(starts[name], value, name) for name, value in zip(info.windows, values, strict=True)
                    if _millis(starts[name]) not in logged]
            for start, every, readings in _runs([(s, v) for s, v, _ in todo if s is not None]):
                log_production_series(key, readings, start=start, every=every, run_id=run_id)
            new.update(name for _, _, name in todo)
    except MlflowException as error:
        said = "".join(ch for ch in str(error).splitlines()[0] if ch.isprintable())[:200] if str(error) else ""
        raise TrackingError(f"MLflow could not log the production windows to run {run_id}: {said}",
                            location=where, hint="check the run id and the tracking URI (MLFLOW_TRACKING_URI)"
                            ) from None
    return LoggedWindows(run_id=run_id, artifact_path=artifact_path, windows=info.windows,
                         new_windows=tuple(name for name in info.windows if name in new), keys=tuple(keys))


def _start(name: str) -> datetime | None:
    """The start of a window named by a date or an ISO week, at midnight UTC; None for any other name."""
    try:
        if _DAY.match(name):
            return datetime.strptime(name, "%Y-%m-%d").replace(tzinfo=UTC)
        if _WEEK.match(name):
            return datetime.strptime(name + "-1", "%G-W%V-%u").replace(tzinfo=UTC)
    except ValueError:
        return None
    return None


def _millis(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _runs(readings: Sequence[tuple[datetime, float]]) -> list[tuple[datetime, timedelta, list[float]]]:
    """The readings (in time order) cut into runs of evenly spaced ones, each as (start, step, values), so each
    run is one call of log_production_series with its readings at the right times."""
    ordered = sorted(readings)
    runs: list[tuple[datetime, timedelta, list[float]]] = []
    index = 0
    while index < len(ordered):
        start, first = ordered[index]
        values = [first]
        step = ordered[index + 1][0] - start if index + 1 < len(ordered) else timedelta(days=1)
        step = step if step > timedelta(0) else timedelta(days=1)  # two names for one day: logged apart
        index += 1
        while index < len(ordered) and ordered[index][0] - ordered[index - 1][0] == step:
            values.append(ordered[index][1])
            index += 1
        runs.append((start, step, values))
    return runs


_caller = user_code_location  # errors point at the line of the user's code that called storybook
