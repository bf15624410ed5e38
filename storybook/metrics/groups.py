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


# Fisher's exact test without scipy (importing scipy.stats took half a second of every page build that scans):
# P(X >= x) for X ~ Hypergeometric(M cases, K of them of the kind, N drawn), the chance of at least x of the kind
# among N drawn, summed term by term from the probability of one count.
#
# One count's probability: Loader's saddle-point form ("Fast and accurate computation of binomial probabilities",
# 2000; as R's dbinom and dhyper): with p = N / M, P(X = x) = b(x; K, p) b(N - x; M - K, p) / b(N; M, p), each b a
# binomial probability written as Stirling's formula's error terms and deviances x log(x / m) + m - x, all
# computed to full precision. From log-gamma functions instead, a million cases lose eight digits
# (lgamma(10**7) is 1.5e8, its rounding 3e-8).
#
# The sum: pmf(k + 1) / pmf(k) = r(k) = (K - k)(N - k) / ((k + 1)(M - K - N + k + 1)). Each factor of the
# numerator falls as k grows and each of the denominator grows, so r falls with k (the distribution is
# log-concave); r(k) < 1 exactly when (k + 1)(M + 2) > (K + 1)(N + 1) (expand both sides), i.e. for every k at or
# above the mode m = floor((K + 1)(N + 1) / (M + 2)). So from x above the mode, P(X >= x) sums upward from x, and
# from x at or below it, P(X >= x) = 1 - P(X <= x - 1) sums downward from x - 1 (there the ratio going down,
# 1 / r(k - 1), is below 1 and falls too): either way each term is below the one before, by a ratio that only
# falls. After a term t whose next ratio is rho < 1, all the rest together are at most t (rho + rho^2 + ...) =
# t rho / (1 - rho). A window of terms is summed at once (a cumulative product of the ratios); a sum whose rest
# may still exceed _NEGLIGIBLE of it is summed again over a window four times as long, until the bound holds or
# the window reaches the last possible count (where the ratio is 0): no sum is ever cut short. In the scan's exact
# groups the variance is under EXACT_UP_TO, so nearly all sums end within the first window.
_LN_2PI = math.log(2 * math.pi)
_STIRLING_UP_TO_15 = np.array([0.0] + [math.lgamma(n + 1) - (n + 0.5) * math.log(n) + n - _LN_2PI / 2
                                       for n in range(1, 16)])
_WINDOW = 64
_NEGLIGIBLE = 1e-17


def _stirling_error(n: Floats) -> Floats:
    """log(n!) - log(sqrt(2 pi n) (n / e)^n) for whole n >= 1: a table up to 15, its series above."""
    big = np.maximum(n, 16.0)
    square = big * big
    series = (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - 1 / 1188 / square) / square) / square) / square) / big
    return np.where(n <= 15, _STIRLING_UP_TO_15[np.clip(n, 0, 15).astype(np.intp)], series)


def _deviance(x: Floats, mean: Floats) -> Floats:
    """x log(x / mean) + mean - x (x >= 0, mean > 0); where x is near mean, as its series in
    v = (x - mean) / (x + mean), |v| < 0.1, so no digit is lost to cancellation (each term under 1% of the one
    before: twelve reach far below a float's precision)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = np.where(x > 0, x * np.log(x / mean), 0.0) + mean - x
        near = np.abs(x - mean) < 0.1 * (x + mean)
        v = np.where(near, (x - mean) / np.where(near, x + mean, 1.0), 0.0)
    total = (x - mean) * v
    term = 2 * x * v
    square = v * v
    for j in range(1, 13):
        term = term * square
        total = total + term / (2 * j + 1)
    return np.where(near, total, direct)


def _log_binomial_pmf(x: Floats, n: Floats, p: Floats, q: Floats) -> Floats:
    """log P(Binomial(n, p) = x) for whole 0 <= x <= n, n >= 1, 0 < p < 1 and q = 1 - p (Loader's form)."""
    inside = (x > 0) & (x < n)
    xs, ns = np.where(inside, x, 1.0), np.where(inside, n, 2.0)
    middle = (_stirling_error(ns) - _stirling_error(xs) - _stirling_error(ns - xs)
              - _deviance(xs, ns * p) - _deviance(ns - xs, ns * q)
              - 0.5 * (_LN_2PI + np.log(xs) + np.log1p(-xs / ns)))
    with np.errstate(divide="ignore", invalid="ignore"):
        none = np.where(p < 0.1, -_deviance(n, n * q) - n * p, n * np.log(q))
        every = np.where(q < 0.1, -_deviance(n, n * p) - n * q, n * np.log(p))
    return np.where(inside, middle, np.where(x <= 0, none, every))


def _falling_sum(start: Floats, up: npt.NDArray[np.bool_], total: Floats, kind: Floats, drawn: Floats) -> Floats:
    """The sum of pmf(k) / pmf(start) over k from ``start`` upward (where ``up``) or downward, to the end of the
    support, each term below the one before (see the comment above ``_LN_2PI``)."""
    sums = np.empty(start.shape)
    reach = np.where(up, np.minimum(kind, drawn) - start, start - np.maximum(0.0, drawn - (total - kind)))
    pending = np.arange(start.size)
    window = _WINDOW
    while pending.size:
        s, u, m, k, n = (a[pending, None] for a in (start, up, total, kind, drawn))
        width = max(1, min(window, int(reach[pending].max())))
        j = np.where(u, s + np.arange(width + 1.0), s - np.arange(width + 1.0))
        numerator = np.where(u, (k - j) * (n - j), j * (m - k - n + j))
        denominator = np.where(u, (j + 1) * (m - k - n + j + 1), (k - j + 1) * (n - j + 1))  # above 0 throughout
        ratio = np.maximum(numerator, 0.0) / denominator  # 0 past the last possible count
        terms = np.cumprod(ratio, axis=1)  # terms[:, i]: pmf(start +- (i + 1)) / pmf(start)
        summed = 1.0 + terms[:, :width].sum(axis=1)
        last, following = terms[:, width - 1], ratio[:, width]
        with np.errstate(divide="ignore", invalid="ignore"):
            rest = np.where(last == 0, 0.0, np.where(following < 1, last * following / (1 - following), np.inf))
        done = rest <= _NEGLIGIBLE * summed
        sums[pending[done]] = summed[done]
        pending = pending[~done]
        window *= 4
    return sums


def _hypergeometric_tail(x: Floats, total: Floats, kind: Floats, drawn: Floats) -> Floats:
    """P(X >= x) for X ~ Hypergeometric(``total`` cases, ``kind`` of them of the kind, ``drawn`` drawn), as
    ``scipy.stats.hypergeom.sf(x - 1, total, kind, drawn)``: arrays of whole numbers (as floats) of one shape."""
    x, total, kind, drawn = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (x, total, kind, drawn)))
    low, high = np.maximum(0.0, drawn - (total - kind)), np.minimum(kind, drawn)
    p = np.where(x <= low, 1.0, 0.0)  # at least the fewest possible: certain; more than the most possible: never
    inside = (x > low) & (x <= high)
    if inside.any():
        xs, ms, ks, ns = x[inside], total[inside], kind[inside], drawn[inside]
        up = xs > np.floor((ks + 1) * (ns + 1) / (ms + 2))
        start = np.where(up, xs, xs - 1)
        share, other = ns / ms, (ms - ns) / ms  # 0 < ns < ms and 0 < ks < ms here, as low < high
        log_pmf = (_log_binomial_pmf(start, ks, share, other) + _log_binomial_pmf(ns - start, ms - ks, share, other)
                   - _log_binomial_pmf(ns, ms, share, other))
        tail = np.exp(log_pmf + np.log(_falling_sum(start, up, ms, ks, ns)))
        p[inside] = np.where(up, tail, 1.0 - tail)
    return np.clip(p, 0.0, 1.0)


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
    p[exact] = _hypergeometric_tail(x1[exact], n1[exact] + n0[exact], x1[exact] + x0[exact], n1[exact])
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
