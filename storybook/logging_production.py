"""Log production scores per window, from a monitoring job, for the estimate of performance before labels arrive.

    import storybook

    storybook.log_production_scores(this_weeks_scores, window="2026-11-02", run_id=model_run_id)
    ...                                        # weeks later, when the outcomes are known:
    storybook.log_production_scores(this_weeks_scores, window="2026-11-02", labels=outcomes,
                                    run_id=model_run_id)

Each call adds one window to the run's production-windows aggregate (:mod:`storybook.aggregate.format`, kind
``production``: counts, sums and sums of squares of the scores per window x label x score bin), a small Parquet
artifact whatever the number of scores. A window already there is refused unless ``replace=True``, except that
``labels=`` for a window logged without them fills in its labels, once the same scores are given again (checked
bin by bin, so labels cannot be attached to another batch). A story reads the file with
``trust.production_scores: <artifact path>``. Each call rewrites the artifact with the window added: log from one
job at a time (two jobs adding windows to one run at the same moment can lose one).

Everything is checked before anything is logged; a mistake raises :class:`~storybook.errors.LoggingError` that
names the calling line.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np

from storybook.errors import Location, LoggingError, StorybookError, user_code_location

if TYPE_CHECKING:
    import numpy.typing as npt
    import pandas as pd

    from storybook.aggregate.format import AggregateInfo

__all__ = ["DEFAULT_PRODUCTION_ARTIFACT", "LoggedWindow", "log_production_scores"]

DEFAULT_PRODUCTION_ARTIFACT = "production/windows.parquet"
BINS = 1000
_WINDOW = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:/+-]{0,63}$")  # a date, a week ("2026-W45") or a short name


@dataclass(frozen=True)
class LoggedWindow:
    """What :func:`log_production_scores` logged: where, which window, its cases, and every window now held."""

    run_id: str
    artifact_path: str
    window: str
    cases: int
    labelled: bool
    windows: tuple[str, ...]


def log_production_scores(scores: npt.ArrayLike | None = None, *, window: str, labels: npt.ArrayLike | None = None,
                          run_id: str | None = None, artifact_path: str = DEFAULT_PRODUCTION_ARTIFACT,
                          replace: bool = False, probabilities: object = None,
                          classes: Sequence[str] | None = None) -> LoggedWindow:
    """Add one window of production scores (the model's chances, 0 to 1) to the run's production-windows
    aggregate, with their ``labels`` (1 or True for a positive case, 0 or False otherwise) when they are known.

    ``window`` names the batch (e.g. the first day of its week, "2026-11-02"); windows are told in the order they
    are first logged. Logs to the active MLflow run, or to ``run_id`` (the run of the model the story tells).

    A multiclass model logs ``probabilities=`` instead of scores: a DataFrame with one column per class (named by
    its class) or a 2-D array with ``classes=``; its ``labels`` are class names
    (:mod:`storybook.logging_production_multiclass`).
    """
    where = _caller()
    _check_path(where, artifact_path)
    if not isinstance(window, str) or not _WINDOW.match(window):
        raise _error(where, f"window must be a short name such as '2026-11-02', not {window!r}",
                     "name it by its first day (YYYY-MM-DD) or week; letters, digits, spaces and - _ . : / +")
    if (scores is None) == (probabilities is None):
        raise _error(where, "give either scores= (a yes/no model's chances) or probabilities= (a multiclass "
                            "model's chances, one column per class), not both or neither",
                     "pass predict_proba(...)[:, 1] as scores, or predict_proba(...) as probabilities")
    if probabilities is not None:
        from storybook.logging_production_multiclass import log_multiclass_window

        target = _run_id(where, run_id)
        cases, windows = log_multiclass_window(where, probabilities, classes=classes, window=window, labels=labels,
                                               run_id=target, artifact_path=artifact_path, replace=replace)
        return LoggedWindow(run_id=target, artifact_path=artifact_path, window=window, cases=cases,
                            labelled=labels is not None, windows=windows)
    assert scores is not None
    values = _scores(where, scores)
    truth = None if labels is None else _labels(where, labels, values.size)
    target = _run_id(where, run_id)

    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    with tempfile.TemporaryDirectory(prefix="storybook-production-") as folder:
        cells, info = _existing(where, client, target, artifact_path, Path(folder))
        new = _cells(window, values, truth)
        if window in info.windows:
            cells = _merge(where, cells, new, window, labelled=truth is not None, replace=replace)
            windows = info.windows
        else:
            cells = _order(_concat(cells, new), (*info.windows, window))
            windows = (*info.windows, window)
        info = dataclasses.replace(info, rows=int(cells["n"].sum()), windows=windows)
        from storybook.aggregate.format import write_aggregate

        path = Path(folder) / "out" / PurePosixPath(artifact_path).name
        write_aggregate(cells, info, path)
        parent = str(PurePosixPath(artifact_path).parent)
        client.log_artifact(target, str(path), None if parent == "." else parent)
    return LoggedWindow(run_id=target, artifact_path=artifact_path, window=window, cases=int(values.size),
                        labelled=truth is not None, windows=windows)


# --- the cells ---------------------------------------------------------------------------------------------


def _cells(window: str, scores: npt.NDArray[np.float64], labels: npt.NDArray[np.int8] | None) -> pd.DataFrame:
    """One window's cells: rows per (label, score bin) with n, the sum and the sum of squares of the scores."""
    import pandas as pd

    bins = np.minimum(np.floor(scores * BINS), BINS - 1).astype(np.int64)
    label_key = np.full(scores.size, -1, dtype=np.int64) if labels is None else labels.astype(np.int64)
    key = (label_key + 1) * BINS + bins  # -1 (not in), 0, 1 -> one key per (label, bin)
    unique, inverse = np.unique(key, return_inverse=True)
    n = np.bincount(inverse, minlength=unique.size)
    score_sum = np.bincount(inverse, weights=scores, minlength=unique.size)
    score_sq_sum = np.bincount(inverse, weights=scores * scores, minlength=unique.size)
    label = unique // BINS - 1
    return pd.DataFrame({
        "window": pd.array([window] * unique.size, dtype="string"),
        "label": pd.Series(label, dtype="Int8").mask(label < 0),
        "score_bin": (unique % BINS).astype(np.int32),
        "n": n.astype(np.int64), "score_sum": score_sum, "score_sq_sum": score_sq_sum,
    })


def _concat(old: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    return new if old is None or old.empty else pd.concat([old, new], ignore_index=True)


def _order(cells: pd.DataFrame, windows: tuple[str, ...]) -> pd.DataFrame:
    """Cells sorted by window (in logging order), label (not in first) and bin."""
    rank = {name: i for i, name in enumerate(windows)}
    keyed = cells.assign(_w=cells["window"].map(rank), _l=cells["label"].fillna(-1).astype(int))
    return keyed.sort_values(["_w", "_l", "score_bin"]).drop(columns=["_w", "_l"]).reset_index(drop=True)


def _merge(where: Location | None, cells: pd.DataFrame | None, new: pd.DataFrame, window: str, *, labelled: bool,
           replace: bool) -> pd.DataFrame:
    """The cells with ``window``'s replaced by ``new``: when asked (``replace``), or to fill in the labels of a
    window logged without them, given the same scores again."""
    assert cells is not None
    mine = cells["window"] == window
    old = cells[mine]
    windows = tuple(dict.fromkeys(cells["window"].tolist()))
    if not replace:
        had_labels = bool(old["label"].notna().any())
        if not labelled or had_labels:
            what = "with its labels" if had_labels else "without labels"
            raise _error(where, f"window {window!r} is already logged ({int(old['n'].sum()):,} scores, {what})",
                         "pass replace=True to overwrite it, or name the new batch as another window"
                         if not labelled else "its labels are in already; pass replace=True to overwrite them")
        before = old.groupby("score_bin")["n"].sum()
        after = new.groupby("score_bin")["n"].sum()
        if not before.equals(after):
            raise _error(where, f"the scores given with the labels of window {window!r} are not the ones logged for "
                                f"it ({int(after.sum()):,} scores now, {int(before.sum()):,} then, or in other "
                                "score bins)",
                         "give the same scores as when the window was logged, in any order, with their labels")
    return _order(_concat(cells[~mine], new), windows)


# --- the existing file -------------------------------------------------------------------------------------


def _existing(where: Location | None, client: object, run_id: str, artifact_path: str, folder: Path,
              ) -> tuple[pd.DataFrame | None, AggregateInfo]:
    """The run's aggregate at ``artifact_path`` (cells and metadata), or none yet with fresh metadata."""
    from storybook.aggregate.format import AggregateInfo, equal_width_edges, read_aggregate

    fresh = AggregateInfo(kind="production", task="binary", rows=0, bins=BINS, exact=False,
                          bin_edges=equal_width_edges(BINS), label_column=None, score_column="score",
                          positive_value="1", engine=f"numpy {np.__version__}", source="log_production_scores",
                          storybook_version=_version(), window="window")
    listed = {a.path for a in client.list_artifacts(run_id, str(PurePosixPath(artifact_path).parent)  # type: ignore[attr-defined]
                                                    if PurePosixPath(artifact_path).parent != PurePosixPath(".")
                                                    else None)}
    if artifact_path not in listed:
        return None, fresh
    local = Path(client.download_artifacts(run_id, artifact_path, str(folder)))  # type: ignore[attr-defined]
    try:
        cells, info = read_aggregate(local, where=where, kind="production")
    except StorybookError as exc:
        raise _error(where, f"{artifact_path} of run {run_id} is not a production-windows aggregate storybook can "
                            f"add to ({exc.message})", "log to another artifact_path, or remove that file") from None
    if info.exact or info.bins != BINS:
        raise _error(where, f"{artifact_path} of run {run_id} uses {info.bins:,} {'exact' if info.exact else ''} "
                            f"score bins, and log_production_scores adds windows in {BINS:,} equal bins",
                     "add windows with the engine that made the file (storybook aggregate), or log to another "
                     "artifact_path")
    cells = cells.astype({"window": "string", "label": "Int8"})
    return cells, info


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("storybook-ml")
    except PackageNotFoundError:
        return ""


# --- checks --------------------------------------------------------------------------------------------------


def _scores(where: Location | None, scores: npt.ArrayLike) -> npt.NDArray[np.float64]:
    try:
        values = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError):
        raise _error(where, "scores must be numbers (the model's chances, 0 to 1)",
                     "pass a list, numpy array or pandas Series of floats") from None
    if values.ndim != 1 or values.size == 0:
        raise _error(where, f"scores must be a non-empty list of numbers, not an array of shape {values.shape}",
                     "pass one score per case of the window")
    bad = int(np.count_nonzero(~np.isfinite(values) | (values < 0) | (values > 1)))
    if bad:
        raise _error(where, f"{bad:,} of the {values.size:,} scores are missing or outside 0 to 1",
                     "log the model's predicted chance of the positive outcome (predict_proba[:, 1])")
    return values


def _labels(where: Location | None, labels: npt.ArrayLike, size: int) -> npt.NDArray[np.int8]:
    values = np.asarray(labels)
    if values.ndim != 1 or values.size != size:
        raise _error(where, f"labels must give one outcome per score: {values.size:,} labels for {size:,} scores",
                     "give the labels in the same order as the scores")
    if values.dtype == bool:
        return values.astype(np.int8)
    try:
        numbers = values.astype(np.float64)
    except (TypeError, ValueError):
        numbers = None
    if numbers is None or not np.all(np.isin(numbers, (0.0, 1.0))):
        raise _error(where, "labels must be 1 (or True) for a positive case and 0 (or False) otherwise",
                     "turn the outcome into 0 and 1 first; log a window's labels only once they are all known")
    return numbers.astype(np.int8)


def _check_path(where: Location | None, artifact_path: str) -> None:
    pure = PurePosixPath(artifact_path) if isinstance(artifact_path, str) else None
    if pure is None or pure.is_absolute() or ".." in pure.parts or pure.suffix.lower() != ".parquet" \
            or "\\" in artifact_path:
        raise _error(where, f"artifact_path must be a relative path ending in .parquet, not {artifact_path!r}",
                     f"e.g. {DEFAULT_PRODUCTION_ARTIFACT} (the story's trust.production_scores)")


def _run_id(where: Location | None, run_id: str | None) -> str:
    if run_id is not None:
        return run_id
    import mlflow

    run = mlflow.active_run()
    if run is None:
        raise _error(where, "log_production_scores found no active MLflow run",
                     "call it inside 'with mlflow.start_run():', or pass run_id= (the model's run)")
    return str(run.info.run_id)


_caller = user_code_location  # errors point at the line of the user's code that called storybook


def _error(where: Location | None, message: str, hint: str) -> LoggingError:
    return LoggingError(message, location=where, hint=hint)

