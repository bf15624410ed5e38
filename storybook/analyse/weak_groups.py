"""Weak groups found unasked: the scan of every column the story does not slice by.

Each column of the evaluation set is cut into groups: a column of numbers with more than :data:`BINS` different
values into quartiles (four groups of about equal size), any other column by its values (the
``max_values`` most common; the others are never a group of their own but stay in "the rest"); an empty cell is a
group of its own ("not recorded"). Pairs of columns (both parts at once) are tried too, among the first
``max_pair_columns`` columns scanned, in the set's column order. A group is tried on a figure when it holds at
least ``min_group_size`` cases and at least ``min_denominator`` of the figure's denominator (e.g. positives, for
the share missed), and the rest of the set holds as many.

Every comparison tried (a group on one figure, against the rest of the set) gets a p-value; the p-values of ALL
comparisons go through Benjamini-Hochberg at the story's false discovery rate. A group is *found* when it passes
AND the 95% interval of its difference from the rest lies wholly on the worse side. A pair found only because
one of its two parts is found (its figure's interval holds that part's figure) is left out. The ``show`` found
groups that differ most are told.

The counting is one ``numpy.bincount`` per column and per pair (a case's *cell*: e.g. positive and flagged), so a
million rows and thirty columns with every pair stay within seconds (benchmarks/bench_scan.py).

Pure: plain arrays in, frozen dataclasses out. Which cells and figures a story's task compares is
:mod:`storybook.analyse.weak_groups_story`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations, pairwise
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from storybook.metrics.binary import Estimate
from storybook.metrics.groups import Gaps, benjamini_hochberg, mean_gap, share_gap

__all__ = [
    "BINS",
    "Figure",
    "Finding",
    "Part",
    "ScanResult",
    "ScanSettings",
    "scan",
]

BINS = 4  # quartiles

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ScanSettings:
    """How the scan cuts and judges groups (story.yaml's ``scan:``)."""

    min_group_size: int = 30
    min_denominator: int = 10
    false_discovery_rate: float = 0.05
    max_values: int = 20  # the most common values of a column tried as groups
    max_pair_columns: int = 30  # pairs among the first this many columns scanned
    show: int = 3


@dataclass(frozen=True)
class Figure:
    """A figure compared across groups, higher being worse. ``share``: the cases in cells ``event`` among those
    in cells ``among`` (e.g. misses among positives); ``mean``: the average per case of ``cell_values`` (one
    value per cell, e.g. the cost of each kind of call) or, when that is empty, of the per-row values given to
    :func:`scan`."""

    key: str
    kind: Literal["share", "mean"]
    among: tuple[int, ...] = ()
    event: tuple[int, ...] = ()
    cell_values: tuple[float, ...] = ()


@dataclass(frozen=True)
class Part:
    """One column's part of a group: ``column`` and the group in words completing "whose <column> ...":
    "is North", "is above 60", "is not recorded"."""

    column: str
    words: str

    @property
    def name(self) -> str:
        return f"{self.column} {self.words}"


@dataclass(frozen=True)
class Finding:
    """A group found clearly worse than the rest on one figure."""

    parts: tuple[Part, ...]
    figure: str  # Figure.key
    cases: int  # cases in the group
    total: int  # cases in the whole set
    group: Estimate  # the figure in the group (n: its denominator)
    rest: Estimate  # the figure in the rest of the set
    difference: Estimate  # group minus rest
    p_value: float
    adjusted_p: float  # Benjamini-Hochberg

    @property
    def name(self) -> str:
        """The group's name as an author acknowledges it in story.yaml: "age is above 60 and sex is F"."""
        return " and ".join(part.name for part in self.parts)


@dataclass(frozen=True)
class ScanResult:
    settings: ScanSettings
    rows: int  # cases in the set
    columns: tuple[str, ...]  # the columns scanned
    binned: tuple[str, ...]  # of those, the columns of numbers cut into quartiles
    skipped: tuple[tuple[str, str], ...]  # (column, why) left out
    pairs: int  # pairs of columns tried
    groups: int  # groups tried on at least one figure
    comparisons: int  # (group, figure) comparisons tried: the number Benjamini-Hochberg counts
    found: tuple[Finding, ...]  # every group found, most different first (pairs explained by a part left out)

    @property
    def shown(self) -> tuple[Finding, ...]:
        return self.found[: self.settings.show]


@dataclass(frozen=True)
class _Column:
    name: str
    codes: Ints  # 0..len(parts)-1 for a group, len(parts) for "not tried" (rare values)
    parts: tuple[Part, ...]
    binned: bool


def _number(value: float) -> str:
    return f"{value:,.4g}" if abs(value) < 1e15 else f"{value:.4g}"


def _cut_numbers(name: str, values: pd.Series) -> _Column | None:
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    present = ~np.isnan(numbers)
    if not present.any():
        return None
    edges = np.unique(np.quantile(numbers[present], [0.25, 0.5, 0.75]))
    codes = np.searchsorted(edges, numbers, side="left").astype(np.int64)  # bin k: (edge k-1, edge k]
    parts = [Part(name, f"is at most {_number(edges[0])}")]
    parts += [Part(name, f"is above {_number(low)} and at most {_number(high)}")
              for low, high in pairwise(edges)]
    parts.append(Part(name, f"is above {_number(edges[-1])}"))
    if not present.all():
        codes[~present] = len(parts)
        parts.append(Part(name, "is not recorded"))
    return _Column(name, codes, tuple(parts), True)


def _cut_values(name: str, values: pd.Series, max_values: int) -> _Column:
    text = values.astype("string")
    counts = text.value_counts(dropna=True)
    kept = [str(v) for v in counts.index[:max_values]]
    codes = pd.Categorical(text, categories=kept).codes.astype(np.int64)  # -1: empty or not kept
    parts = [Part(name, f"is {value}") for value in kept]
    missing = text.isna().to_numpy()
    if missing.any():
        codes[missing] = len(parts)
        parts.append(Part(name, "is not recorded"))
    codes[codes < 0] = len(parts)
    return _Column(name, codes, tuple(parts), False)


def _columns(frame: pd.DataFrame, settings: ScanSettings) -> tuple[list[_Column], list[tuple[str, str]]]:
    cut: list[_Column] = []
    skipped: list[tuple[str, str]] = []
    for name in frame.columns:
        values = frame[name]
        label = str(name)
        distinct = int(values.nunique(dropna=True))
        if distinct <= 1 and not values.isna().any():
            skipped.append((label, "it holds one value only"))
            continue
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        column = (_cut_numbers(label, values) if numeric and distinct > BINS
                  else _cut_values(label, values, settings.max_values))
        if column is None:
            skipped.append((label, "it is empty"))
            continue
        cut.append(column)
    return cut, skipped


@dataclass(frozen=True)
class _Block:
    """The groups of one column (or pair) compared on one figure: their parts, sizes, counts and gaps."""

    parts: list[tuple[Part, ...] | None]  # by group code
    figure: Figure
    rows: Ints  # the group codes compared
    cases: npt.NDArray[np.float64]
    gaps: Gaps
    x: npt.NDArray[np.float64]
    denominator: npt.NDArray[np.float64]
    rest_x: npt.NDArray[np.float64]
    rest_denominator: npt.NDArray[np.float64]


def scan(frame: pd.DataFrame, cells: npt.ArrayLike, n_cells: int, figures: Sequence[Figure], *,
         values: npt.ArrayLike | None = None, weights: npt.ArrayLike | None = None,
         settings: ScanSettings = ScanSettings()) -> ScanResult:
    """Scan the columns of ``frame`` (already without the story's slices, labels, scores and ids) for groups
    clearly worse than the rest on each of ``figures``. ``cells`` gives each row's cell (0..n_cells-1, e.g.
    label x flagged); ``values`` the per-row values of a ``mean`` figure without cell values; ``weights`` how
    many cases each row holds (None: one)."""
    cell = np.asarray(cells, dtype=np.int64)
    n = len(frame)
    if cell.shape != (n,) or (n and (cell.min() < 0 or cell.max() >= n_cells)):
        raise ValueError(f"cells must give each of the {n} rows a cell from 0 to {n_cells - 1}")
    weight = None if weights is None else np.asarray(weights, dtype=np.float64)
    value = None if values is None else np.asarray(values, dtype=np.float64)
    columns, skipped = _columns(frame, settings)
    totals = np.bincount(cell, weights=weight, minlength=n_cells).astype(np.float64)
    value_totals = _value_sums(np.zeros(n, dtype=np.int64), 1, value, weight)
    blocks: list[_Block] = []
    groups = 0

    def count(codes: Ints, size: int, parts: Sequence[tuple[Part, ...] | None]) -> None:
        nonlocal groups
        counted = np.bincount(codes * n_cells + cell, weights=weight, minlength=size * n_cells)
        table = counted.astype(np.float64, copy=False).reshape(size, n_cells)
        sums = _value_sums(codes, size, value, weight)
        keep = np.array([p is not None for p in parts])
        found_any = np.zeros(size, dtype=bool)
        for figure in figures:
            rows, gaps, x, d, rx, rd = _compare(figure, table, totals, sums, value_totals, keep, settings)
            found_any[rows] = True
            blocks.append(_Block(list(parts), figure, rows, table[rows].sum(axis=1), gaps, x, d, rx, rd))
        groups += int(found_any.sum())

    for column in columns:
        size = len(column.parts) + 1
        count(column.codes, size, [*((p,) for p in column.parts), None])
    paired = columns[: settings.max_pair_columns]
    for first, second in combinations(paired, 2):
        width = len(second.parts) + 1
        size = (len(first.parts) + 1) * width
        parts: list[tuple[Part, ...] | None] = [None] * size
        for i, a in enumerate(first.parts):
            for j, b in enumerate(second.parts):
                parts[i * width + j] = (a, b)
        count(first.codes * width + second.codes, size, parts)
    rows = n if weight is None else round(float(weight.sum()))
    found = _judge(blocks, rows, settings)
    return ScanResult(settings=settings, rows=rows,
                      columns=tuple(c.name for c in columns), binned=tuple(c.name for c in columns if c.binned),
                      skipped=tuple(skipped), pairs=len(paired) * (len(paired) - 1) // 2, groups=groups,
                      comparisons=sum(b.rows.size for b in blocks), found=found)


def _value_sums(codes: Ints, size: int, value: npt.NDArray[np.float64] | None,
                weight: npt.NDArray[np.float64] | None) -> npt.NDArray[np.float64] | None:
    """Per group: the sum of the values and of their squares (columns 0 and 1), weighted; None without values."""
    if value is None:
        return None
    w = np.ones_like(value) if weight is None else weight
    return np.stack([np.bincount(codes, weights=value * w, minlength=size),
                     np.bincount(codes, weights=value * value * w, minlength=size)], axis=1)


def _compare(figure: Figure, table: npt.NDArray[np.float64], totals: npt.NDArray[np.float64],
             sums: npt.NDArray[np.float64] | None, value_totals: npt.NDArray[np.float64] | None,
             keep: npt.NDArray[np.bool_], settings: ScanSettings,
             ) -> tuple[Ints, Gaps, npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64],
                        npt.NDArray[np.float64]]:
    """The groups (rows of ``table``) large enough to compare on ``figure``, and their gaps from the rest."""
    size = table.sum(axis=1)
    rest_size = totals.sum() - size
    if figure.kind == "share":
        d = table[:, list(figure.among)].sum(axis=1)
        x = table[:, list(figure.event)].sum(axis=1)
        rd = totals[list(figure.among)].sum() - d
        rx = totals[list(figure.event)].sum() - x
        rows = np.flatnonzero(keep & (size >= settings.min_group_size) & (rest_size >= settings.min_group_size)
                              & (d >= settings.min_denominator) & (rd >= settings.min_denominator))
        return rows, share_gap(x[rows], d[rows], rx[rows], rd[rows]), x[rows], d[rows], rx[rows], rd[rows]
    if figure.cell_values:
        per = np.asarray(figure.cell_values, dtype=np.float64)
        s, q = table @ per, table @ (per * per)
        rs, rq = totals @ per - s, totals @ (per * per) - q
    else:
        if sums is None or value_totals is None:
            raise ValueError(f"figure {figure.key!r} averages per-row values, and none were given")
        s, q = sums[:, 0], sums[:, 1]
        rs, rq = value_totals[0, 0] - s, value_totals[0, 1] - q
    rows = np.flatnonzero(keep & (size >= max(settings.min_group_size, 2))
                          & (rest_size >= max(settings.min_group_size, 2)))
    gaps = mean_gap(s[rows], q[rows], size[rows], rs[rows], rq[rows], rest_size[rows])
    zeros = np.zeros(rows.size)
    return rows, gaps, zeros, size[rows], zeros, rest_size[rows]


def _estimate(value: float, low: float, high: float, n: int, successes: int | None) -> Estimate:
    return Estimate(float(value), float(low), float(high), n, successes)


def _judge(blocks: list[_Block], total: int, settings: ScanSettings) -> tuple[Finding, ...]:
    """Benjamini-Hochberg over every comparison tried; the groups that pass and are clearly worse."""
    if not blocks:
        return ()
    p = np.concatenate([b.gaps.p_value for b in blocks])
    passed, adjusted = benjamini_hochberg(p, settings.false_discovery_rate)
    found: list[Finding] = []
    start = 0
    for b in blocks:
        g = b.gaps
        size = b.rows.size
        for i in np.flatnonzero(passed[start:start + size] & (g.low > 0)):
            share = b.figure.kind == "share"
            found.append(Finding(
                parts=b.parts[int(b.rows[i])] or (), figure=b.figure.key, cases=round(b.cases[i]), total=total,
                group=_estimate(g.group[i], g.group_low[i], g.group_high[i], round(b.denominator[i]),
                                round(b.x[i]) if share else None),
                rest=_estimate(g.rest[i], g.rest_low[i], g.rest_high[i], round(b.rest_denominator[i]),
                               round(b.rest_x[i]) if share else None),
                difference=_estimate(g.difference[i], g.low[i], g.high[i], round(b.denominator[i]), None),
                p_value=float(g.p_value[i]), adjusted_p=float(adjusted[start + i])))
        start += size
    singles: dict[tuple[tuple[Part, ...], str], Finding] = {(f.parts, f.figure): f for f in found
                                                            if len(f.parts) == 1}
    kept = [f for f in found if len(f.parts) == 1 or not _explained(f, singles)]
    kept.sort(key=lambda f: (-(f.difference.value or 0.0), f.name, f.figure))
    return tuple(kept)


def _explained(pair: Finding, singles: dict[tuple[tuple[Part, ...], str], Finding]) -> bool:
    """A pair found only because one of its parts is: that part is found on the same figure, and the pair's
    interval holds the part's figure."""
    for part in pair.parts:
        single = singles.get(((part,), pair.figure))
        if single is None:
            continue
        low, high, value = pair.group.low, pair.group.high, single.group.value
        if low is not None and high is not None and value is not None and low <= value <= high:
            return True
    return False
