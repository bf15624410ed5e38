"""A multiclass production-windows aggregate as the label-free estimate reads it: one row per window x true class
x called class x chance bin, the classes as indexes into the story's classes and each class's summed chance in
the story's order (``prob_sum_0`` ... ``prob_sum_{k-1}``), windows in the order the file lists them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from storybook.aggregate.format import class_sum_columns, read_aggregate
from storybook.errors import AggregateError, Location

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MULTICLASS_WINDOW_CHANCE_BINS", "index_classes", "multiclass_windows_table"]

MULTICLASS_WINDOW_CHANCE_BINS = 20  # the bins of the called class's chance the estimate reads (prob_bin / 20)


def index_classes(cells: pd.DataFrame, file_classes: Sequence[str], classes: Sequence[str]) -> pd.DataFrame:
    """The cells with ``label`` (float, NaN while not in) and ``predicted`` as indexes into ``classes`` and the
    chance sums reordered to ``classes``; ``file_classes`` are the file's classes, the same set."""
    import pandas as pd

    index = {name: i for i, name in enumerate(classes)}
    order = [list(file_classes).index(name) for name in classes]
    sums = cells[class_sum_columns(len(file_classes))].to_numpy(dtype=np.float64)[:, order]
    table = pd.DataFrame({
        "window": cells["window"].astype(str).to_numpy(),
        "label": cells["label"].astype(object).map(lambda v: np.nan if pd.isna(v) else float(index[str(v)])),
        "predicted": cells["predicted"].astype(str).map(index).to_numpy(dtype=np.int64),
        "prob_bin": cells["prob_bin"].to_numpy(dtype=np.int64), "n": cells["n"].to_numpy(dtype=np.int64)})
    for i, column in enumerate(class_sum_columns(len(classes))):
        table[column] = sums[:, i]
    return table.astype({"label": "float64"})


def multiclass_windows_table(path: Path, classes: Sequence[str], *, where: Location | None = None) -> pd.DataFrame:
    """The multiclass production windows at ``path``, for a story whose classes are ``classes``; a located
    :class:`~storybook.errors.AggregateError` for a file that is not one or holds other classes."""
    cells, info = read_aggregate(path, where=where, kind="production")
    here = where or Location(path)
    if info.task != "multiclass" or info.bins != MULTICLASS_WINDOW_CHANCE_BINS:
        raise AggregateError(f"{path} holds a {info.task} model's production windows, and this story tells a "
                             "multiclass model", location=here,
                             hint="log the model's class chances with log_production_scores(probabilities=...)")
    if sorted(info.classes) != sorted(classes):
        raise AggregateError(f"{path} holds windows of the classes {', '.join(info.classes)}, and the story's "
                             f"classes are {', '.join(classes)}", location=here,
                             hint="name each column of the logged chances by its class as evaluation.classes[]"
                                  ".value spells it")
    sums = cells[class_sum_columns(len(info.classes))].to_numpy(dtype=np.float64)
    n = cells["n"].to_numpy(dtype=np.float64)
    if not np.allclose(sums.sum(axis=1), n, rtol=1e-6, atol=1e-6):
        raise AggregateError(f"{path} has cells whose chances do not add up to their number of cases",
                             location=here, hint="log the windows again from chances that add up to 1 per case")
    table = index_classes(cells, info.classes, classes)
    order = {name: i for i, name in enumerate(info.windows)}
    unknown = sorted(set(table["window"]) - set(order))
    if unknown:
        raise AggregateError(f"{path} holds windows its metadata does not list: {', '.join(unknown[:3])}",
                             location=here, hint="write the aggregate again")
    table = table.assign(_order=table["window"].map(order)).sort_values(["_order"], kind="stable")
    return table.drop(columns=["_order"]).reset_index(drop=True)
