"""A production-windows aggregate as the label-free estimate reads it: one row per window x label x score bin,
each bin with its score range, windows in the order the file lists them.

The bins' edges live in the file's metadata; this table carries them in columns (``bin_low``, ``bin_high``), so
it stands alone (a story's snapshot pins it as a plain table). An exact aggregate's bin is one distinct score:
``bin_low == bin_high``. Equal-width bin j covers [j/K, (j+1)/K).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from storybook.aggregate.format import read_aggregate
from storybook.errors import AggregateError, Location

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["WINDOW_TABLE_COLUMNS", "windows_table"]

WINDOW_TABLE_COLUMNS = ("window", "label", "bin_low", "bin_high", "n", "score_sum", "score_sq_sum")


def windows_table(path: Path, *, where: Location | None = None) -> pd.DataFrame:
    """The production windows at ``path`` (checked by :func:`~storybook.aggregate.format.read_aggregate`), with
    each bin's score range; a located :class:`~storybook.errors.AggregateError` for a file that is not one."""
    cells, info = read_aggregate(path, where=where, kind="production")
    if info.task != "binary":
        raise AggregateError(f"{path} holds a {info.task} model's production windows, and this story tells a yes/no "
                             "model", location=where or Location(path),
                             hint="log the model's scores with log_production_scores(scores), or point at its file")
    edges = np.asarray(info.bin_edges, dtype=np.float64)
    bins = cells["score_bin"].to_numpy(dtype=np.int64)
    if info.exact:
        low = high = edges[bins]
    else:
        if edges.size != info.bins + 1:
            raise AggregateError(f"{path} lists {edges.size:,} bin edges for {info.bins:,} bins", location=where
                                 or Location(path), hint="write the aggregate again")
        low, high = edges[bins], edges[bins + 1]
    n = cells["n"].to_numpy(dtype=np.float64)
    sums = cells["score_sum"].to_numpy(dtype=np.float64)
    if not (np.isfinite(sums).all() and (sums >= -1e-9 * n).all() and (sums <= n * (1 + 1e-9)).all()):
        raise AggregateError(f"{path} has score sums outside 0 to the number of cases in their bin, so its scores "
                             "are not chances from 0 to 1", location=where or Location(path),
                             hint="write the aggregate again from scores between 0 and 1")
    order = {name: i for i, name in enumerate(info.windows)}
    unknown = sorted(set(cells["window"].astype(str)) - set(order))
    if unknown:
        raise AggregateError(f"{path} holds windows its metadata does not list: {', '.join(unknown[:3])}",
                             location=where or Location(path), hint="write the aggregate again")
    table = cells.assign(window=cells["window"].astype(str), label=cells["label"].astype("float64"),
                         bin_low=low, bin_high=high, _order=cells["window"].astype(str).map(order))
    table = table.sort_values(["_order", "label", "bin_low"], na_position="first", kind="stable")
    return table[list(WINDOW_TABLE_COLUMNS)].reset_index(drop=True)
