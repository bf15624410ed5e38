"""The multiclass path of :func:`storybook.log_production_scores`: one window of a multiclass model's class chances.

    storybook.log_production_scores(probabilities=week_chances, window="2026-11-02", run_id=model_run_id)
    ...                                        # weeks later, when the outcomes are known:
    storybook.log_production_scores(probabilities=week_chances, window="2026-11-02", labels=outcomes,
                                    run_id=model_run_id)

``probabilities`` is a DataFrame with one column per class (its column names are the classes, as the story's
``evaluation.classes[].value`` spells them) or a 2-D array with ``classes=`` naming its columns. Each call adds one
window to the run's production-windows aggregate (kind ``production``, task ``multiclass``; see
:mod:`storybook.aggregate.format`): per window x true class (null until the labels are in) x called class (the most
likely; ties: the first class) x bin of the called class's chance (20 equal bins), the cases and the sum of each
class's chance. The rules are those of the binary path: a window already there is refused unless ``replace=True``;
labels for a window logged without them are taken only with the same chances again (checked cell by cell).
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np

from storybook.aggregate.format import MAX_CLASSES, AggregateInfo, class_sum_columns, equal_width_edges
from storybook.errors import Location, LoggingError, StorybookError

if TYPE_CHECKING:
    import numpy.typing as npt
    import pandas as pd

__all__ = ["CHANCE_BINS", "log_multiclass_window", "multiclass_cells"]

CHANCE_BINS = 20  # bins of the called class's chance: cases alike in how sure the model is are summed together
_TOLERANCE = 1e-6  # how far a row's chances may add up from 1


def log_multiclass_window(where: Location | None, probabilities: object, *, classes: Sequence[str] | None,
                          window: str, labels: npt.ArrayLike | None, run_id: str, artifact_path: str,
                          replace: bool) -> tuple[int, tuple[str, ...]]:
    """Check, then add the window to the run's aggregate; returns the window's cases and every window held."""
    names, chances = _chances(where, probabilities, classes)
    truth = None if labels is None else _labels(where, labels, names, chances.shape[0])

    from mlflow.tracking import MlflowClient

    from storybook.aggregate.format import write_aggregate

    client = MlflowClient()
    with tempfile.TemporaryDirectory(prefix="storybook-production-") as folder:
        cells, info = _existing(where, client, run_id, artifact_path, Path(folder), names)
        new = multiclass_cells(window, chances, names, truth)
        if window in info.windows:
            cells = _merge(where, cells, new, window, labelled=truth is not None, replace=replace)
            windows = info.windows
        else:
            cells = new if cells is None or cells.empty else _concat(cells, new)
            windows = (*info.windows, window)
        cells = _order(cells, windows)
        info = dataclasses.replace(info, rows=int(cells["n"].sum()), windows=windows)
        path = Path(folder) / "out" / PurePosixPath(artifact_path).name
        write_aggregate(cells, info, path)
        parent = str(PurePosixPath(artifact_path).parent)
        client.log_artifact(run_id, str(path), None if parent == "." else parent)
    return int(chances.shape[0]), windows


def multiclass_cells(window: str, chances: npt.NDArray[np.float64], classes: Sequence[str],
                     labels: npt.NDArray[np.int64] | None) -> pd.DataFrame:
    """One window's cells: per (true class or -1, called class, chance bin) the cases and each class's summed
    chance."""
    import pandas as pd

    n_rows, k = chances.shape
    called = np.argmax(chances, axis=1).astype(np.int64)
    top = chances[np.arange(n_rows), called]
    bins = np.minimum(np.floor(top * CHANCE_BINS), CHANCE_BINS - 1).astype(np.int64)
    truth = np.full(n_rows, -1, dtype=np.int64) if labels is None else labels
    key = ((truth + 1) * k + called) * CHANCE_BINS + bins
    unique, inverse = np.unique(key, return_inverse=True)
    n = np.bincount(inverse, minlength=unique.size)
    sums = {column: np.bincount(inverse, weights=chances[:, i], minlength=unique.size)
            for i, column in enumerate(class_sum_columns(k))}
    true_index = unique // (k * CHANCE_BINS) - 1
    called_index = (unique // CHANCE_BINS) % k
    names = np.asarray(classes, dtype=object)
    label = pd.array([None if t < 0 else str(names[t]) for t in true_index], dtype="string")
    return pd.DataFrame({
        "window": pd.array([window] * unique.size, dtype="string"), "label": label,
        "predicted": pd.array([str(names[c]) for c in called_index], dtype="string"),
        "prob_bin": (unique % CHANCE_BINS).astype(np.int32), "n": n.astype(np.int64), **sums,
    })


def _concat(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    return pd.concat([old, new], ignore_index=True)


def _order(cells: pd.DataFrame, windows: tuple[str, ...]) -> pd.DataFrame:
    rank = {name: i for i, name in enumerate(windows)}
    keyed = cells.assign(_w=cells["window"].map(rank), _l=cells["label"].fillna(""))
    ordered = keyed.sort_values(["_w", "_l", "predicted", "prob_bin"], kind="stable")
    return ordered.drop(columns=["_w", "_l"]).reset_index(drop=True)


def _merge(where: Location | None, cells: pd.DataFrame | None, new: pd.DataFrame, window: str, *, labelled: bool,
           replace: bool) -> pd.DataFrame:
    """The cells with ``window``'s replaced by ``new``: when asked, or to fill in the labels of a window logged
    without them, given the same chances again (the same cases in each called class and chance bin)."""
    assert cells is not None
    mine = cells["window"] == window
    old = cells[mine]
    if not replace:
        had_labels = bool(old["label"].notna().any())
        if not labelled or had_labels:
            what = "with its labels" if had_labels else "without labels"
            raise LoggingError(f"window {window!r} is already logged ({int(old['n'].sum()):,} cases, {what})",
                               location=where,
                               hint="pass replace=True to overwrite it, or name the new batch as another window"
                               if not labelled else "its labels are in already; pass replace=True to overwrite them")
        before = old.groupby(["predicted", "prob_bin"])["n"].sum()
        after = new.groupby(["predicted", "prob_bin"])["n"].sum()
        if not before.equals(after):
            raise LoggingError(f"the chances given with the labels of window {window!r} are not the ones logged for "
                               f"it ({int(after.sum()):,} cases now, {int(before.sum()):,} then, or called or "
                               "binned otherwise)", location=where,
                               hint="give the same chances as when the window was logged, in any order, with their "
                                    "labels")
    return _concat(cells[~mine], new)


def _existing(where: Location | None, client: object, run_id: str, artifact_path: str, folder: Path,
              classes: tuple[str, ...]) -> tuple[pd.DataFrame | None, AggregateInfo]:
    from importlib.metadata import PackageNotFoundError, version

    from storybook.aggregate.format import read_aggregate

    try:
        made_by = version("storybook-ml")
    except PackageNotFoundError:
        made_by = ""

    fresh = AggregateInfo(kind="production", task="multiclass", rows=0, bins=CHANCE_BINS, exact=False,
                          bin_edges=equal_width_edges(CHANCE_BINS), label_column=None, score_column="",
                          positive_value=None, engine=f"numpy {np.__version__}", source="log_production_scores",
                          storybook_version=made_by, window="window", classes=classes,
                          probability_columns=classes)
    parent = PurePosixPath(artifact_path).parent
    listed = {a.path for a in client.list_artifacts(run_id, None if parent == PurePosixPath(".")  # type: ignore[attr-defined]
                                                    else str(parent))}
    if artifact_path not in listed:
        return None, fresh
    local = Path(client.download_artifacts(run_id, artifact_path, str(folder)))  # type: ignore[attr-defined]
    try:
        cells, info = read_aggregate(local, where=where, kind="production")
    except StorybookError as exc:
        raise LoggingError(f"{artifact_path} of run {run_id} is not a production-windows aggregate storybook can "
                           f"add to ({exc.message})", location=where,
                           hint="log to another artifact_path, or remove that file") from None
    if info.task != "multiclass" or info.bins != CHANCE_BINS:
        raise LoggingError(f"{artifact_path} of run {run_id} holds a {info.task} model's windows, not the "
                           "multiclass windows log_production_scores(probabilities=...) adds to", location=where,
                           hint="log this model's windows to another artifact_path")
    if info.classes != classes:
        raise LoggingError(f"the classes given ({', '.join(classes)}) are not the ones of the windows already "
                           f"logged to {artifact_path} ({', '.join(info.classes)})", location=where,
                           hint="give one column per class, named and ordered as before")
    cells = cells.astype({"window": "string", "label": "string", "predicted": "string"})
    return cells, info


# --- checks --------------------------------------------------------------------------------------------------


def _chances(where: Location | None, probabilities: object, classes: Sequence[str] | None,
             ) -> tuple[tuple[str, ...], npt.NDArray[np.float64]]:
    import pandas as pd

    if isinstance(probabilities, pd.DataFrame):
        if classes is not None:
            raise LoggingError("classes= is for a 2-D array; a DataFrame's column names are its classes",
                               location=where, hint="drop classes=, or pass the DataFrame's values")
        names = tuple(str(c) for c in probabilities.columns)
        raw: object = probabilities.to_numpy()
    else:
        if classes is None or isinstance(classes, str):
            raise LoggingError("a 2-D array of chances needs classes=: the class of each column, in order",
                               location=where, hint="pass classes=[...] or a DataFrame whose columns are the classes")
        names = tuple(str(c) for c in classes)
        raw = probabilities
    try:
        chances = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise LoggingError("probabilities must be numbers (each class's chance, 0 to 1)", location=where,
                           hint="pass predict_proba's output, one column per class") from None
    if chances.ndim != 2 or chances.shape[0] == 0 or chances.shape[1] != len(names):
        raise LoggingError(f"probabilities must be one row per case and one column per class ({len(names):,} "
                           f"classes), not an array of shape {chances.shape}", location=where,
                           hint="pass predict_proba's output with the classes in its column order")
    if not 3 <= len(names) <= MAX_CLASSES or len(set(names)) != len(names) or any(not n.strip() for n in names):
        raise LoggingError(f"a multiclass window needs 3 to {MAX_CLASSES} classes, each named once, not "
                           f"{len(names):,} ({len(set(names)):,} distinct)", location=where,
                           hint="name each column by its class as the story's evaluation.classes spell them; for "
                                "a yes/no model pass scores= instead")
    bad = ~np.isfinite(chances).all(axis=1) | (chances < 0).any(axis=1) | (chances > 1).any(axis=1)
    bad |= np.abs(chances.sum(axis=1) - 1) > _TOLERANCE
    if bad.any():
        raise LoggingError(f"{int(bad.sum()):,} of the {chances.shape[0]:,} rows have chances that are missing, "
                           "outside 0 to 1 or do not add up to 1", location=where,
                           hint="log the model's predict_proba output, one row per case")
    return names, chances


def _labels(where: Location | None, labels: npt.ArrayLike, classes: tuple[str, ...],
            size: int) -> npt.NDArray[np.int64]:
    values = np.asarray(labels, dtype=object)
    if values.ndim != 1 or values.size != size:
        raise LoggingError(f"labels must give one outcome per row of chances: {values.size:,} labels for "
                           f"{size:,} rows", location=where, hint="give the labels in the same order as the rows")
    index = {name: i for i, name in enumerate(classes)}
    found = [index.get(str(v)) if v is not None and not (isinstance(v, float) and np.isnan(v)) else None
             for v in values]
    unknown = [str(v) for v, i in zip(values, found, strict=True) if i is None]
    if unknown:
        raise LoggingError(f"{len(unknown):,} of the {size:,} labels are not one of the classes "
                           f"({', '.join(classes)}), e.g. {unknown[0][:40]!r}", location=where,
                           hint="label each case by its class as spelt in the chances' columns; log a window's "
                                "labels only once they are all known")
    return np.asarray(found, dtype=np.int64)
