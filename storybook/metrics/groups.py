"""Comparing many groups with the rest of a set at once, with the false discovery rate controlled.

Vectorised over groups (numpy arrays in, arrays out), for the scan of weak groups (``analyse/weak_groups.py``):

- :func:`wilson_bounds`: the Wilson score interval of each group's share (as ``binary.wilson_interval``);
- :func:`share_gap`: a share in a group against the rest: the difference with Newcombe's hybrid score interval
  (Newcombe 1998, method 10: from the two Wilson intervals) and the one-sided p-value of Fisher's exact test
  (is the group's share higher?), exact however small the counts; where the group expects at least
  :data:`EXACT_UP_TO` cases of each kind (e.g. missed and found), its normal approximation with a continuity
  correction (Yates), as close there and far quicker;
- :func:`mean_gap`: a mean (a cost per case, an average miss) in a group against the rest: the difference with
  its normal (Welch) interval and the one-sided p-value of the same z statistic (is the group's mean higher?);
- :func:`benjamini_hochberg`: which of many p-values pass at a false discovery rate ``q``, and their adjusted
  p-values (as ``scipy.stats.false_discovery_control`` and statsmodels' ``multipletests(method="fdr_bh")``).

No story, no words, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from storybook.metrics.binary import Z_95
from storybook.metrics.hypergeometric import at_least

__all__ = [
    "EXACT_UP_TO",
    "Gaps",
    "benjamini_hochberg",
    "mean_gap",
    "mean_p_value",
    "share_gap",
    "share_p_value",
    "wilson_bounds",
]

Floats = npt.NDArray[np.float64]

# Fisher's exact test sums over the group's possible counts, so its work grows with them: where a group expects at
# least this many cases of each kind, its normal approximation (with a continuity correction) is used instead.
EXACT_UP_TO = 100


@dataclass(frozen=True)
class Gaps:
    """Figures of many groups, each against the rest (arrays of one length): the group's and the rest's
    figure with their 95% intervals, the difference (group minus rest) with its interval, and the one-sided
    p-value: how likely a gap at least this far above the rest would be, were the group no different."""

    group: Floats
    group_low: Floats
    group_high: Floats
    rest: Floats
    rest_low: Floats
    rest_high: Floats
    difference: Floats
    low: Floats
    high: Floats
    p_value: Floats


def wilson_bounds(successes: npt.ArrayLike, n: npt.ArrayLike, z: float = Z_95) -> tuple[Floats, Floats]:
    """The Wilson score interval of each share ``successes / n``; (0, 1) where ``n`` is 0."""
    x = np.asarray(successes, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    safe = np.where(m > 0, m, 1.0)
    p = np.where(m > 0, np.clip(x / safe, 0.0, 1.0), 0.0)
    denominator = 1 + z * z / safe
    centre = (p + z * z / (2 * safe)) / denominator
    half = z * np.sqrt(p * (1 - p) / safe + z * z / (4 * safe * safe)) / denominator
    low = np.where(x <= 0, 0.0, np.maximum(0.0, centre - half))
    high = np.where(x >= m, 1.0, np.minimum(1.0, centre + half))
    return np.where(m > 0, low, 0.0), np.where(m > 0, high, 1.0)


_ERFC = np.frompyfunc(math.erfc, 1, 1)


def _above(z: Floats) -> Floats:
    """The one-sided p-value of a z statistic: the chance of one at least this high, 1 - Phi(z) =
    erfc(z / sqrt 2) / 2 (the standard library's erfc keeps the far tail exact; importing scipy.special for it
    took 0.15 s of a page build)."""
    return np.asarray(_ERFC(np.asarray(z, dtype=np.float64) / math.sqrt(2.0)), dtype=np.float64) / 2.0


def share_gap(successes: npt.ArrayLike, n: npt.ArrayLike, rest_successes: npt.ArrayLike, rest_n: npt.ArrayLike,
              ) -> Gaps:
    """Each group's share (``successes`` of ``n``) against the rest's: Newcombe's hybrid score interval of the
    difference and Fisher's exact test, one-sided (the group's share higher: the chance of at least ``successes``
    among ``n`` drawn from all the cases, given how many there are in all). Every ``n`` and ``rest_n`` must be
    above 0."""
    x1, n1 = np.asarray(successes, dtype=np.float64), np.asarray(n, dtype=np.float64)
    x0, n0 = np.asarray(rest_successes, dtype=np.float64), np.asarray(rest_n, dtype=np.float64)
    if np.any(n1 <= 0) or np.any(n0 <= 0):
        raise ValueError("every group and every rest needs at least one case")
    p1, p0 = x1 / n1, x0 / n0
    l1, u1 = wilson_bounds(x1, n1)
    l0, u0 = wilson_bounds(x0, n0)
    d = p1 - p0
    low = d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return Gaps(p1, l1, u1, p0, l0, u0, d, low, high, share_p_value(x1, n1, x0, n0))


def share_p_value(successes: npt.ArrayLike, n: npt.ArrayLike, rest_successes: npt.ArrayLike,
                  rest_n: npt.ArrayLike) -> Floats:
    """The p-value of :func:`share_gap` alone (one-sided: is the group's share higher?), without the intervals."""
    x1, n1, x0, n0 = np.broadcast_arrays(*(np.atleast_1d(np.asarray(a, dtype=np.float64))
                                           for a in (successes, n, rest_successes, rest_n)))
    p = np.empty(x1.shape)
    share = (x1 + x0) / (n1 + n0)
    exact = np.minimum(n1 * share, n1 * (1 - share)) < EXACT_UP_TO
    p[exact] = at_least(x1[exact], n1[exact] + n0[exact], x1[exact] + x0[exact], n1[exact])
    large = ~exact
    pooled = share[large]
    spread = 1 / n1[large] + 1 / n0[large]
    se = np.sqrt(pooled * (1 - pooled) * spread)
    corrected = x1[large] / n1[large] - x0[large] / n0[large] - spread / 2  # Yates: half a case on each side
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, corrected / np.where(se > 0, se, 1.0), -np.inf)
    p[large] = _above(z)
    return np.clip(p, 0.0, 1.0)


def mean_p_value(total: npt.ArrayLike, squares: npt.ArrayLike, n: npt.ArrayLike, rest_total: npt.ArrayLike,
                 rest_squares: npt.ArrayLike, rest_n: npt.ArrayLike) -> Floats:
    """The p-value of :func:`mean_gap` alone (one-sided: is the group's mean higher?)."""
    s1, q1, n1 = (np.asarray(a, dtype=np.float64) for a in (total, squares, n))
    s0, q0, n0 = (np.asarray(a, dtype=np.float64) for a in (rest_total, rest_squares, rest_n))
    m1, m0 = s1 / n1, s0 / n0
    v1 = np.maximum(q1 - n1 * m1 * m1, 0.0) / (n1 - 1)
    v0 = np.maximum(q0 - n0 * m0 * m0, 0.0) / (n0 - 1)
    se = np.sqrt(v1 / n1 + v0 / n0)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(se > 0, (m1 - m0) / np.where(se > 0, se, 1.0), 0.0)
    return _above(stat)


def mean_gap(total: npt.ArrayLike, squares: npt.ArrayLike, n: npt.ArrayLike, rest_total: npt.ArrayLike,
             rest_squares: npt.ArrayLike, rest_n: npt.ArrayLike, z: float = Z_95) -> Gaps:
    """Each group's mean (from the sum ``total`` and sum of ``squares`` of its ``n`` values) against the rest's:
    the difference with its normal interval (the two variances apart, as Welch) and the one-sided p-value of
    the same z statistic (the group's mean higher). Every ``n`` and ``rest_n`` must be at least 2."""
    s1, q1, n1 = (np.asarray(a, dtype=np.float64) for a in (total, squares, n))
    s0, q0, n0 = (np.asarray(a, dtype=np.float64) for a in (rest_total, rest_squares, rest_n))
    if np.any(n1 < 2) or np.any(n0 < 2):
        raise ValueError("every group and every rest needs at least two cases")
    m1, m0 = s1 / n1, s0 / n0
    v1 = np.maximum(q1 - n1 * m1 * m1, 0.0) / (n1 - 1)  # sample variances, never below 0 from rounding
    v0 = np.maximum(q0 - n0 * m0 * m0, 0.0) / (n0 - 1)
    e1, e0 = np.sqrt(v1 / n1), np.sqrt(v0 / n0)
    d = m1 - m0
    se = np.sqrt(v1 / n1 + v0 / n0)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(se > 0, d / np.where(se > 0, se, 1.0), 0.0)
    return Gaps(m1, m1 - z * e1, m1 + z * e1, m0, m0 - z * e0, m0 + z * e0, d, d - z * se, d + z * se,
                _above(stat))


def benjamini_hochberg(p_values: npt.ArrayLike, q: float = 0.05) -> tuple[npt.NDArray[np.bool_], Floats]:
    """Which p-values pass the Benjamini-Hochberg procedure at false discovery rate ``q``, and the adjusted
    p-values (a p-value passes exactly when its adjusted value is at most ``q``).

    Sorted p(1) <= ... <= p(m): the largest k with p(k) <= k q / m passes with every smaller one; the adjusted
    value of p(i) is the smallest of p(j) m / j over j >= i, at most 1."""
    if not 0 < q < 1:
        raise ValueError(f"the false discovery rate must be between 0 and 1, not {q}")
    p = np.asarray(p_values, dtype=np.float64).ravel()
    m = p.size
    if m == 0:
        return np.zeros(0, dtype=bool), np.zeros(0)
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, m + 1)
    adjusted_sorted = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    return adjusted <= q, adjusted
