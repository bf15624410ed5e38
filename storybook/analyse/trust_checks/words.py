"""Wording shared by the trust checks: shares as "1 in 12", counts, lists of groups, a figure and its range.

The wording rules themselves ("about", "between", "too few to say") are :mod:`storybook.analyse.plain`'s;
these helpers only phrase the checks' sentences with them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from storybook.analyse.classification import (
    Estimate,
    group_rows,
)
from storybook.analyse.plain import (
    WordingRules,
    share_phrase,
)
from storybook.metrics.kinds import INTERVAL_KINDS


def one_in(part: int, whole: int) -> str:
    """A share in words: "1 in 12" below one in five, a whole percent otherwise, "all" and "none" exactly.

    A share that is neither none nor all never shows as 0% or 100% ("1 in 2,400", "more than 99%").
    """
    if whole <= 0 or part < 0 or part > whole:
        raise ValueError(f"not a share: {part} of {whole}")
    if part == 0:
        return "none"
    if part == whole:
        return "all"
    share = part / whole
    if share < 0.2:
        return f"1 in {round(whole / part):,}"
    percent = round(share * 100)
    return "more than 99%" if percent >= 100 else f"{percent}%"


def number(value: float) -> str:
    """Two decimals, or two significant digits for small non-zero numbers (0.004), with thousands commas; a
    whole number from 100 up ("about 147,921", "guardrails (100 to 220)", never "about 147,921.21")."""
    if value != 0 and abs(value) < 0.1:
        return f"{value:.2g}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def pct(value: float) -> str:
    """A declared share as a percent with up to three significant digits: 0.05 -> "5%", 0.025 -> "2.5%"."""
    return f"{value * 100:.3g}%"


def count_of(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def has(n: int) -> str:
    return "has" if n == 1 else "have"


def every(n: int, noun: str) -> str:
    return f"the one {noun} compared" if n == 1 else f"all {n:,} {noun}s"


def listing(parts: Sequence[str]) -> str:
    return ", ".join(parts)


# Groups named one by one in a sentence; the rest are counted ("and 99,950 more").
MAX_LISTED = 12


def listed(parts: Sequence[str]) -> str:
    more = len(parts) - MAX_LISTED
    return listing(parts) if more <= 0 else f"{listing(parts[:MAX_LISTED])} and {more:,} more"


def all_groups(groups: pd.Series, n: int) -> tuple[tuple[str, ...], npt.NDArray[np.intp]]:
    """Every group (in group_order: ranges by number, else by name) and each row's group, in O(rows)."""
    if len(groups) != n:
        raise ValueError(f"groups has {len(groups)} rows but there are {n} labels")
    grouping = group_rows(groups.reset_index(drop=True), limit=max(n, 1))
    return grouping.names, grouping.codes


def column_name(groups: pd.Series) -> str:
    return "group" if groups.name is None else str(groups.name)


def group_noun(groups: pd.Series) -> str:
    """ "school group", but "year group" for a slice already named a group (never "year group group")."""
    name = column_name(groups)
    return name if name.split()[-1].lower() == "group" else f"{name} group"


# --- model checks --------------------------------------------------------------------------------------

def declared(kind: str, value: float, apart_from: float | None = None) -> str:
    """A figure as a bound is told ("70 in 100"); with ``apart_from``, with enough digits that a value on the
    other side of that bound never prints as the bound itself ("69.96 in 100", not "70 in 100")."""
    def told(x: float, digits: int) -> str:
        if kind in INTERVAL_KINDS:
            return f"{x * 100:.{digits}g} in 100"
        return number(x) if digits == 3 else f"{x:,.{digits}g}"

    text = told(value, 3)
    if apart_from is None or value == apart_from:
        return text
    for digits in range(3, 9):
        text = told(value, digits)
        if text != told(apart_from, digits):
            break
    return text


def told_as(kind: str, e: Estimate, rules: WordingRules) -> str:
    """A share by the wording rules, or another figure as its value and range; with the count of cases."""
    if kind in INTERVAL_KINDS:  # shares and ROC AUC: figures from 0 to 1, said as so many in 100
        return f"{share_phrase(e, rules)}, of {e.n:,} cases"
    return f"{number(e.value or 0.0)}, from {number(e.low or 0.0)} to {number(e.high or 0.0)}, of {e.n:,} cases"
