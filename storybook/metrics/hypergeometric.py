"""The upper tail of the hypergeometric distribution, for Fisher's exact test in the scan for weak groups
(:mod:`storybook.metrics.groups`), from numpy and math alone (importing scipy.stats took half a second of every
page build that scans).

:func:`at_least` gives P(X >= x) for X ~ Hypergeometric(M cases, K of them of the kind, N drawn), the chance of
at least x of the kind among N drawn, summed term by term from the probability of one count.

One count's probability: Loader's saddle-point form ("Fast and accurate computation of binomial probabilities",
2000; as R's dbinom and dhyper): with p = N / M, P(X = x) = b(x; K, p) b(N - x; M - K, p) / b(N; M, p), each b a
binomial probability written as Stirling's formula's error terms and deviances x log(x / m) + m - x, all
computed to full precision. From log-gamma functions instead, a million cases lose eight digits
(lgamma(10**7) is 1.5e8, its rounding 3e-8).

The sum: pmf(k + 1) / pmf(k) = r(k) = (K - k)(N - k) / ((k + 1)(M - K - N + k + 1)). Each factor of the
numerator falls as k grows and each of the denominator grows, so r falls with k (the distribution is
log-concave); r(k) < 1 exactly when (k + 1)(M + 2) > (K + 1)(N + 1) (expand both sides), i.e. for every k at or
above the mode m = floor((K + 1)(N + 1) / (M + 2)). So from x above the mode, P(X >= x) sums upward from x, and
from x at or below it, P(X >= x) = 1 - P(X <= x - 1) sums downward from x - 1 (there the ratio going down,
1 / r(k - 1), is below 1 and falls too): either way each term is below the one before, by a ratio that only
falls. After a term t whose next ratio is rho < 1, all the rest together are at most t (rho + rho^2 + ...) =
t rho / (1 - rho). A window of terms is summed at once (a cumulative product of the ratios); a sum whose rest
may still exceed _NEGLIGIBLE of it is summed again over a window four times as long, until the bound holds or
the window reaches the last possible count (where the ratio is 0): no sum is ever cut short. In the scan's exact
groups (``groups.EXACT_UP_TO``) the variance is under 100, so nearly all sums end within the first window.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["at_least"]

Floats = npt.NDArray[np.float64]

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
    support, each term below the one before (see the module docstring)."""
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


def at_least(x: Floats, total: Floats, kind: Floats, drawn: Floats) -> Floats:
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
