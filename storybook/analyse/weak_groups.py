"""Weak groups found unasked: the scan of every column the story does not slice by.

Each column of the evaluation set is cut into groups: a column of numbers with more than :data:`BINS` different
values into quartiles (four groups of about equal size), any other column by its values (the
``max_values`` most common; the others are never a group of their own but stay in "the rest"); an empty cell is a
group of its own ("not recorded"). Pairs of columns (both parts at once) are tried too, among the first
``max_pair_columns`` columns scanned, in the set's column order. A group is tried on a figure when it holds at
least ``min_group_size`` cases and at least ``min_denominator`` of the figure's denominator (e.g. positives, for
the share missed), and the rest it is compared with holds as many.

Every comparison tried (a group on one figure) gets a one-sided p-value (is the group worse?): a single group
against the rest of the set; a pair against the rest of each of its two parts (the larger p-value of the two), so
a pair worse only because one of its parts is worse is not found. The p-values of ALL comparisons go through
Benjamini-Hochberg at the story's false discovery rate. A group is *found* when it passes
AND the 95% interval of its difference from the rest lies wholly on the worse side. The ``show`` found groups
that differ most are told.

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

from storybook.analyse.plain import amount_number
from storybook.metrics.binary import Estimate
from storybook.metrics.groups import Gaps, benjamini_hochberg, mean_gap, mean_p_value, share_gap, share_p_value

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
Codes = npt.NDArray[np.int32]


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
    found: tuple[Finding, ...]  # every group found, most different first
    pair_groups: int = 0  # of the groups tried, those of pairs of columns

    @property
    def shown(self) -> tuple[Finding, ...]:
        return self.found[: self.settings.show]


@dataclass(frozen=True)
class _Column:
    name: str
    codes: Codes  # 0..len(parts)-1 for a group, len(parts) for "not tried" (rare values)
    parts: tuple[Part, ...]
    binned: bool


SHOWN_CHARACTERS = 60  # a column's name or value longer than this is cut short on the page ("...")


def _shown(value: object) -> str:
    """A column name or value from the set (untrusted, like any MLflow content) as a sentence shows it: on one
    line, at most SHOWN_CHARACTERS long."""
    text = " ".join(str(value).split())
    return text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 3] + "..."


def _cut_at(value: float) -> tuple[float, str]:
    """A quartile as the page says it ("51", "0.677", "12,346") and the number that text means, which is where
    the cut is made: a case is in the group its sentence says, to the last digit shown."""
    text = amount_number(value)
    return float(text.replace(",", "")), text


def _cut_numbers(name: str, values: pd.Series) -> _Column | None:
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    present = ~np.isnan(numbers)
    if not present.any():
        return None
    told = dict(_cut_at(q) for q in np.quantile(numbers[present], [0.25, 0.5, 0.75]))
    edges = np.array(sorted(told))
    words = [told[e] for e in edges]
    codes = np.searchsorted(edges, numbers, side="left").astype(np.int32)  # bin k: (edge k-1, edge k]
    parts = [Part(name, f"is at most {words[0]}")]
    parts += [Part(name, f"is above {low} and at most {high}") for low, high in pairwise(words)]
    parts.append(Part(name, f"is above {words[-1]}"))
    if not present.all():
        codes[~present] = len(parts)
        parts.append(Part(name, "is not recorded"))
    return _Column(name, codes, tuple(parts), True)


def _cut_values(name: str, values: pd.Series, max_values: int) -> _Column:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)  # -1: empty
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    kept = np.argsort(-counts, kind="stable")[:max_values]  # the most common values, ties in order of appearance
    parts = [Part(name, f"is {_shown(uniques[i])}") for i in kept]
    remap = np.full(len(uniques) + 1, -1, dtype=np.int32)  # the last entry: an empty cell (code -1)
    remap[kept] = np.arange(len(kept))
    grouped = remap[codes]
    missing = codes < 0
    if missing.any():
        grouped[missing] = len(parts)
        parts.append(Part(name, "is not recorded"))
    grouped[grouped < 0] = len(parts)
    return _Column(name, grouped, tuple(parts), False)


def _distinct(values: pd.Series) -> int:
    """How many different values a column holds, at least; exact up to BINS + 1 (all the scan needs to know), so
    a column of a million numbers is told apart from a few values by its first 10,000 rows."""
    head = values.iloc[:10_000]
    found = int(head.nunique(dropna=True))
    return found if found > BINS else int(values.nunique(dropna=True))


def _columns(frame: pd.DataFrame, settings: ScanSettings) -> tuple[list[_Column], list[tuple[str, str]]]:
    cut: list[_Column] = []
    skipped: list[tuple[str, str]] = []
    for name in frame.columns:
        values = frame[name]
        label = _shown(name)
        distinct = _distinct(values)
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
    """The groups of one column (or pair) compared on one figure: their parts and sizes, the figure against the
    rest of the set (told on the page) and the p-values Benjamini-Hochberg reads."""

    parts: list[tuple[Part, ...] | None]  # by group code
    rows: Ints  # the group codes compared
    cases: npt.NDArray[np.float64]
    whole: _Side  # the figure in each group of the table against the rest of the set
    tests: tuple[tuple[str, int, int], ...]  # where its p-values are in the scan's batch, one per rest compared


class _Batch:
    """Every comparison's counts, gathered so that their p-values are worked out in one call per kind."""

    def __init__(self) -> None:
        self.parts: dict[str, list[tuple[npt.NDArray[np.float64], ...]]] = {"share": [], "mean": []}
        self.sizes = {"share": 0, "mean": 0}
        self.p: dict[str, npt.NDArray[np.float64]] = {}

    def add(self, side: _Side, rows: Ints) -> tuple[str, int, int]:
        kind = side.figure.kind
        counts: tuple[npt.NDArray[np.float64], ...]
        if kind == "share":
            counts = (side.x[rows], side.d[rows], side.rx[rows], side.rd[rows])
        else:
            counts = (side.s[rows], side.q[rows], side.size[rows], side.rs[rows], side.rq[rows], side.rest_size[rows])
        start = self.sizes[kind]
        self.parts[kind].append(counts)
        self.sizes[kind] += rows.size
        return kind, start, start + rows.size

    def solve(self) -> None:
        for kind, test in (("share", share_p_value), ("mean", mean_p_value)):
            gathered = self.parts[kind]
            self.p[kind] = (test(*(np.concatenate(column) for column in zip(*gathered, strict=True)))
                            if self.sizes[kind] else np.zeros(0))

    def p_value(self, tests: tuple[tuple[str, int, int], ...]) -> npt.NDArray[np.float64]:
        """The larger p-value of a block's comparisons, group by group."""
        return np.asarray(np.maximum.reduce([self.p[kind][start:stop] for kind, start, stop in tests]))


def scan(frame: pd.DataFrame, cells: npt.ArrayLike, n_cells: int, figures: Sequence[Figure], *,
         values: npt.ArrayLike | None = None, weights: npt.ArrayLike | None = None,
         settings: ScanSettings = ScanSettings()) -> ScanResult:
    """Scan the columns of ``frame`` (already without the story's slices, labels, scores and ids) for groups
    clearly worse than the rest on each of ``figures``. ``cells`` gives each row's cell (0..n_cells-1, e.g.
    label x flagged); ``values`` the per-row values of a ``mean`` figure without cell values; ``weights`` how
    many cases each row holds (None: one).

    A single group is compared with the rest of the set. A pair (both parts at once) is tried on whether it is
    worse than the rest of each of its parts (e.g. night shifts at site C against the other night shifts, and
    against site C's other shifts; its p-value is the larger of the two), so a pair that is worse only because
    one of its parts is worse is not found; when found, it is told against the rest of the set, like any group."""
    cell = np.asarray(cells).astype(np.int32)
    n = len(frame)
    if cell.shape != (n,) or (n and (cell.min() < 0 or cell.max() >= n_cells)):
        raise ValueError(f"cells must give each of the {n} rows a cell from 0 to {n_cells - 1}")
    weight = None if weights is None else np.asarray(weights, dtype=np.float64)
    value = None if values is None else np.asarray(values, dtype=np.float64)
    if value is not None:
        if value.shape != (n,):
            raise ValueError(f"values must give each of the {n} rows a value")
        value_weights = value if weight is None else value * weight
        square_weights = value * value_weights
    columns, skipped = _columns(frame, settings)

    def counted(index: Codes, size: int) -> npt.NDArray[np.float64]:
        """Per group (``index`` = group code * n_cells + cell): the cases in each cell, then (with values) the
        sum of the values and of their squares."""
        table = np.bincount(index, weights=weight, minlength=size * n_cells).astype(np.float64, copy=False)
        table = table.reshape(size, n_cells)
        if value is None:
            return table
        codes = index // n_cells
        return np.concatenate([table, np.bincount(codes, weights=value_weights, minlength=size)[:, None],
                               np.bincount(codes, weights=square_weights, minlength=size)[:, None]], axis=1)

    totals = counted(cell, 1)[0]
    blocks: list[_Block] = []
    batch = _Batch()
    groups = pair_groups = 0

    def judge(parts: list[tuple[Part, ...] | None], table: npt.NDArray[np.float64],
              within: Sequence[npt.NDArray[np.float64]] = ()) -> None:
        """Compare each group of ``table`` with the rest of the set, and (a pair) with each rest in ``within``."""
        nonlocal groups, pair_groups
        keep = np.array([p is not None for p in parts])
        tried = np.zeros(len(parts), dtype=bool)
        for figure in figures:
            whole = _Side(figure, n_cells, table, totals[None, :] - table)
            ok = keep & whole.large_enough(settings)
            sides = [_Side(figure, n_cells, table, rest) for rest in within]
            for side in sides:
                ok &= side.large_enough(settings)
            rows = np.flatnonzero(ok)
            tried[rows] = True
            blocks.append(_Block(parts, rows, whole.size[rows], whole,
                                 tuple(batch.add(side, rows) for side in (whole, *sides))))
        groups += int(tried.sum())
        if within:
            pair_groups += int(tried.sum())

    shifted = []
    for column in columns:
        size = len(column.parts) + 1
        index = column.codes * np.int32(n_cells) + cell
        shifted.append(index)
        judge([*((p,) for p in column.parts), None], counted(index, size))
    paired = list(range(min(len(columns), settings.max_pair_columns)))
    index_buffer = np.empty(n, dtype=np.int32)
    for a, b in combinations(paired, 2):
        first, second = columns[a], columns[b]
        wide, width = len(first.parts) + 1, len(second.parts) + 1
        parts: list[tuple[Part, ...] | None] = [None] * (wide * width)
        for i, one in enumerate(first.parts):
            for j, other in enumerate(second.parts):
                parts[i * width + j] = (one, other)
        np.multiply(first.codes, width * n_cells, out=index_buffer)
        np.add(index_buffer, shifted[b], out=index_buffer)
        table = counted(index_buffer, wide * width)
        cube = table.reshape(wide, width, -1)
        rest_of_first = (cube.sum(axis=1, keepdims=True) - cube).reshape(wide * width, -1)
        rest_of_second = (cube.sum(axis=0, keepdims=True) - cube).reshape(wide * width, -1)
        judge(parts, table, (rest_of_first, rest_of_second))
    rows = n if weight is None else round(float(weight.sum()))
    batch.solve()
    found = _judge(blocks, batch, rows, settings)
    return ScanResult(settings=settings, rows=rows,
                      columns=tuple(c.name for c in columns), binned=tuple(c.name for c in columns if c.binned),
                      skipped=tuple(skipped), pairs=len(paired) * (len(paired) - 1) // 2, groups=groups,
                      pair_groups=pair_groups,
                      comparisons=sum(b.rows.size for b in blocks), found=found)


class _Side:
    """A figure in each group of a table against a rest (one row of counts per group, as ``counted`` makes)."""

    def __init__(self, figure: Figure, n_cells: int, table: npt.NDArray[np.float64],
                 rest: npt.NDArray[np.float64]) -> None:
        self.figure = figure
        self.size, self.rest_size = table[:, :n_cells].sum(axis=1), rest[:, :n_cells].sum(axis=1)
        if figure.kind == "share":
            self.d, self.x = table[:, list(figure.among)].sum(axis=1), table[:, list(figure.event)].sum(axis=1)
            self.rd, self.rx = rest[:, list(figure.among)].sum(axis=1), rest[:, list(figure.event)].sum(axis=1)
            return
        if figure.cell_values:
            per = np.asarray(figure.cell_values, dtype=np.float64)
            self.s, self.q = table[:, :n_cells] @ per, table[:, :n_cells] @ (per * per)
            self.rs, self.rq = rest[:, :n_cells] @ per, rest[:, :n_cells] @ (per * per)
        elif table.shape[1] == n_cells + 2:
            self.s, self.q, self.rs, self.rq = table[:, -2], table[:, -1], rest[:, -2], rest[:, -1]
        else:
            raise ValueError(f"figure {figure.key!r} averages per-row values, and none were given")
        self.d, self.rd = self.size, self.rest_size
        self.x = self.rx = np.zeros_like(self.size)

    def large_enough(self, settings: ScanSettings) -> npt.NDArray[np.bool_]:
        least = max(settings.min_group_size, 2)
        enough = (self.size >= least) & (self.rest_size >= least)
        if self.figure.kind == "share":
            enough &= (self.d >= settings.min_denominator) & (self.rd >= settings.min_denominator)
        return np.asarray(enough, dtype=bool)

    def gaps(self, rows: Ints) -> Gaps:
        if self.figure.kind == "share":
            return share_gap(self.x[rows], self.d[rows], self.rx[rows], self.rd[rows])
        return mean_gap(self.s[rows], self.q[rows], self.size[rows], self.rs[rows], self.rq[rows],
                        self.rest_size[rows])


def _estimate(value: float, low: float, high: float, n: int, successes: int | None) -> Estimate:
    return Estimate(float(value), float(low), float(high), n, successes)


def _judge(blocks: list[_Block], batch: _Batch, total: int, settings: ScanSettings) -> tuple[Finding, ...]:
    """Benjamini-Hochberg over every comparison tried; the groups that pass and are clearly worse."""
    if not blocks:
        return ()
    by_block = [batch.p_value(b.tests) for b in blocks]
    p = np.concatenate(by_block)
    passed, adjusted = benjamini_hochberg(p, settings.false_discovery_rate)
    found: list[Finding] = []
    start = 0
    for b, block_p in zip(blocks, by_block, strict=True):
        size = b.rows.size
        chosen = np.flatnonzero(passed[start:start + size])
        if not chosen.size:
            start += size
            continue
        side, rows = b.whole, b.rows[chosen]
        g = side.gaps(rows)  # the intervals, only for the groups that pass
        share = side.figure.kind == "share"
        for k, i in enumerate(chosen):
            if g.low[k] <= 0:
                continue
            r = int(rows[k])
            found.append(Finding(
                parts=b.parts[r] or (), figure=side.figure.key, cases=round(b.cases[i]), total=total,
                group=_estimate(g.group[k], g.group_low[k], g.group_high[k], round(side.d[r]),
                                round(side.x[r]) if share else None),
                rest=_estimate(g.rest[k], g.rest_low[k], g.rest_high[k], round(side.rd[r]),
                               round(side.rx[r]) if share else None),
                difference=_estimate(g.difference[k], g.low[k], g.high[k], round(side.d[r]), None),
                p_value=float(block_p[i]), adjusted_p=float(adjusted[start + i])))
        start += size
    found.sort(key=lambda f: (-(f.difference.value or 0.0), f.name, f.figure))
    return tuple(found)
