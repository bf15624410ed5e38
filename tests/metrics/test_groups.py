"""storybook.metrics.groups: the statistics of the scan for weak groups, against hand-worked figures (Newcombe's
own example, a Benjamini-Hochberg table worked by hand), scipy (Fisher's exact test, false_discovery_control)
and statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from storybook.metrics.binary import wilson_interval
from storybook.metrics.groups import (
    EXACT_UP_TO,
    benjamini_hochberg,
    mean_gap,
    mean_p_value,
    share_gap,
    share_p_value,
    wilson_bounds,
)


def test_wilson_bounds_are_binarys_wilson_interval_row_by_row() -> None:
    successes, n = [0, 3, 10, 41, 7, 0], [10, 10, 10, 177, 0, 1]
    low, high = wilson_bounds(successes, n)
    for x, m, lo, hi in zip(successes, n, low, high, strict=True):
        assert (lo, hi) == pytest.approx(wilson_interval(x, m), abs=1e-12)
    assert (low[4], high[4]) == (0.0, 1.0)  # nothing counted: the whole range


def test_share_gap_is_newcombes_method_10_on_his_own_example() -> None:
    # Newcombe (1998), "Interval estimation for the difference between independent proportions", example (a):
    # 56/70 against 48/80, a difference of 0.2; method 10 (from the two Wilson intervals): 0.0524 to 0.3339.
    gap = share_gap([56], [70], [48], [80])
    assert gap.difference[0] == pytest.approx(0.2)
    assert (gap.low[0], gap.high[0]) == pytest.approx((0.0524, 0.3339), abs=5e-5)
    # Fisher's exact test, one-sided (the first share higher), as scipy computes it.
    fisher = stats.fisher_exact([[56, 14], [48, 32]], alternative="greater")
    assert gap.p_value[0] == pytest.approx(fisher.pvalue, rel=1e-9)
    assert 0.004 < gap.p_value[0] < 0.01
    assert (gap.group_low[0], gap.group_high[0]) == pytest.approx(wilson_interval(56, 70))
    assert (gap.rest_low[0], gap.rest_high[0]) == pytest.approx(wilson_interval(48, 80))


def test_share_gap_matches_statsmodels_on_many_groups() -> None:
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    rng = np.random.default_rng(4)
    n1, n0 = rng.integers(20, 400, 40), rng.integers(20, 400, 40)
    x1, x0 = rng.binomial(n1, 0.3), rng.binomial(n0, 0.25)
    gap = share_gap(x1, n1, x0, n0)
    for i in range(40):
        low, high = proportion.confint_proportions_2indep(x1[i], n1[i], x0[i], n0[i], method="newcomb")
        assert (gap.low[i], gap.high[i]) == pytest.approx((low, high), abs=1e-10)
        table = [[x1[i], n1[i] - x1[i]], [x0[i], n0[i] - x0[i]]]
        fisher = stats.fisher_exact(table, alternative="greater").pvalue
        share = (x1[i] + x0[i]) / (n1[i] + n0[i])
        if min(n1[i] * share, n1[i] * (1 - share)) < EXACT_UP_TO:  # Fisher's exact test itself
            assert gap.p_value[i] == pytest.approx(fisher, rel=1e-7)
        else:  # its normal approximation with Yates's continuity correction, for larger groups, by hand
            spread = 1 / n1[i] + 1 / n0[i]
            z = (x1[i] / n1[i] - x0[i] / n0[i] - spread / 2) / np.sqrt(share * (1 - share) * spread)
            assert gap.p_value[i] == pytest.approx(stats.norm.sf(z), rel=1e-9)
            assert abs(np.log10(gap.p_value[i]) - np.log10(fisher)) < 0.3  # within a factor of 2 of Fisher's
    assert (gap.p_value == share_p_value(x1, n1, x0, n0)).all()
    with pytest.raises(ValueError, match="at least one case"):
        share_gap([1], [0], [1], [5])


def test_no_difference_at_all_gives_p_one_and_a_gap_of_zero() -> None:
    gap = share_gap([0, 10], [10, 10], [0, 20], [30, 20])  # nobody missed anywhere; everybody missed everywhere
    assert list(gap.p_value) == pytest.approx([1.0, 1.0])
    assert list(gap.difference) == [0.0, 0.0]


def test_mean_gap_is_welchs_z_by_hand() -> None:
    group = np.array([3.0, 5.0, 4.0, 8.0, 10.0])
    rest = np.array([1.0, 2.0, 2.0, 3.0, 1.0, 2.0, 4.0])
    gap = mean_gap([group.sum()], [(group ** 2).sum()], [5], [rest.sum()], [(rest ** 2).sum()], [7])
    se = np.sqrt(group.var(ddof=1) / 5 + rest.var(ddof=1) / 7)
    assert gap.difference[0] == pytest.approx(6.0 - 15 / 7)
    assert (gap.low[0], gap.high[0]) == pytest.approx((6.0 - 15 / 7 - 1.959963984540054 * se,
                                                        6.0 - 15 / 7 + 1.959963984540054 * se))
    welch = stats.ttest_ind(group, rest, equal_var=False)
    z = (6.0 - 15 / 7) / se
    assert z == pytest.approx(welch.statistic)  # the same statistic; read on the normal curve (large groups)
    assert gap.p_value[0] == pytest.approx(stats.norm.sf(z))  # one-sided: the group's mean higher
    assert mean_p_value([group.sum()], [(group ** 2).sum()], [5], [rest.sum()], [(rest ** 2).sum()], [7]) \
        == pytest.approx(gap.p_value)
    assert (gap.group_low[0], gap.group_high[0]) == pytest.approx(
        (6.0 - 1.959963984540054 * group.std(ddof=1) / np.sqrt(5), 6.0 + 1.959963984540054 * group.std(ddof=1)
         / np.sqrt(5)))


def test_benjamini_hochberg_on_a_table_worked_by_hand() -> None:
    # m = 10, q = 0.05: the thresholds k q / m are 0.005, 0.010, ..., 0.050. Sorted, p(1..4) = 0.001, 0.008,
    # 0.012, 0.019 sit under 0.005, 0.010, 0.015, 0.020; p(5) = 0.030 > 0.025, p(6) = 0.032 > 0.030, and no later
    # one is under its threshold: the four smallest pass. Adjusted p(4) = min(0.019 * 10/4, later) = 0.0475.
    p = [0.032, 0.001, 0.3, 0.012, 0.8, 0.019, 0.03, 0.008, 0.5, 0.041]
    passed, adjusted = benjamini_hochberg(p, 0.05)
    assert [p[i] for i in np.flatnonzero(passed)] == [0.001, 0.012, 0.019, 0.008]
    assert adjusted[5] == pytest.approx(0.0475)
    assert adjusted[1] == pytest.approx(0.01)  # 0.001 * 10, below the later 0.008 * 5 = 0.04
    assert adjusted[4] == pytest.approx(0.8)
    assert list(benjamini_hochberg([], 0.05)[0]) == []
    with pytest.raises(ValueError, match="between 0 and 1"):
        benjamini_hochberg([0.1], 0)


def test_benjamini_hochberg_matches_scipy_and_statsmodels() -> None:
    rng = np.random.default_rng(7)
    p = np.concatenate([rng.uniform(size=300), rng.uniform(0, 0.002, size=20), [0.5, 0.5, 1.0]])
    for q in (0.05, 0.1, 0.2):
        passed, adjusted = benjamini_hochberg(p, q)
        assert adjusted == pytest.approx(stats.false_discovery_control(p, method="bh"), rel=1e-12)
        assert list(passed) == list(stats.false_discovery_control(p, method="bh") <= q)
        multitest = pytest.importorskip("statsmodels.stats.multitest")
        rejected, corrected, _, _ = multitest.multipletests(p, alpha=q, method="fdr_bh")
        assert list(passed) == list(rejected)
        assert adjusted == pytest.approx(corrected, rel=1e-12)


def test_the_normal_tail_is_scipy_s_far_into_the_tail() -> None:
    """mean_p_value's one-sided normal p-value (the standard library's erfc) against scipy's normal tail,
    from certain to far past what a float holds."""
    from storybook.metrics.groups import _above

    z = np.array([-np.inf, -40.0, -5.0, -1.0, 0.0, 0.5, 1.96, 3.0, 8.0, 20.0, 37.5, np.inf])
    expected = stats.norm.sf(z)
    assert np.allclose(_above(z), expected, rtol=1e-12, atol=0.0)
    assert _above(np.array([])).shape == (0,)


def _tables(rng: np.random.Generator, count: int, most: float, exact_groups: bool) -> tuple[
        np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Random (x, M, K, N) of the hypergeometric tail: M from 2 to ``most`` (even on a log scale); with
    ``exact_groups``, shaped as the scan's exact groups (fewer than EXACT_UP_TO of the rarer kind expected among
    the N drawn), else any K and N; x from one below the fewest possible count to one above the most, mostly
    within a few spreads of the mean (both tails, far out too)."""
    m = np.floor(np.exp(rng.uniform(np.log(2), np.log(most), count)))
    n = np.floor(rng.random(count) * (m + 1))
    if exact_groups:
        share = np.minimum(rng.uniform(0, EXACT_UP_TO, count) / np.maximum(n, 1), 1)
        k = np.floor(share * m)
        k = np.where(rng.random(count) < 0.5, m - k, k)
    else:
        k = np.floor(rng.random(count) * (m + 1))
    low, high = np.maximum(0, n - (m - k)), np.minimum(k, n)
    spread = np.sqrt(n * k / m * (1 - k / m) * (m - n) / np.maximum(m - 1, 1))
    x = np.clip(np.round(n * k / m + rng.normal(0, 4, count) * (spread + 1)), low - 1, high + 1)
    return x, m, k, n


def _assert_close_to(ours: np.ndarray, expected: np.ndarray, rel: float, near_one: float = 1e-12) -> None:
    """Relative ``rel`` where the tail is above 1e-300, ``near_one`` absolute above 0.5, both far below 1e-300
    else."""
    tiny = expected <= 1e-300
    assert ours[~tiny] == pytest.approx(expected[~tiny], rel=rel, abs=0.0)
    assert np.abs(ours - expected)[expected > 0.5].max(initial=0.0) < near_one
    assert (ours[tiny] < 1e-290).all()


def test_the_hypergeometric_tail_is_scipys_on_thousands_of_tables() -> None:
    """Fisher's exact test's tail P(X >= x) from numpy and math alone, against scipy.stats.hypergeom.sf (Boost's
    hypergeometric) on 12,000 random tables up to 100,000 cases, tiny and near-1 p-values included."""
    from storybook.metrics.hypergeometric import at_least

    rng = np.random.default_rng(21)
    for most, exact_groups in ((40, False), (2_000, False), (100_000, False), (100_000, True)):
        x, m, k, n = _tables(rng, 3_000, most, exact_groups)
        expected = stats.hypergeom.sf(x - 1, m, k, n)
        assert (expected < 1e-100).sum() > 100 and (expected > 0.999).sum() > 100  # both tails, far out
        _assert_close_to(at_least(x, m, k, n), expected, rel=1e-9)


def test_the_hypergeometric_tail_up_to_ten_million_cases_is_exact_where_scipy_drifts() -> None:
    """Up to 10**7 cases, scipy's own tail drifts by about 2e-9 (Boost's log-gamma at 1.5e8): ours is checked
    against scipy to 1e-8 on 3,000 exact groups, and against sums of 40-digit terms (mpmath's loggamma,
    mp.dps = 40, every count's probability added up) to 1e-12, where scipy is off by 1e-9."""
    from storybook.metrics.hypergeometric import at_least

    x, m, k, n = _tables(np.random.default_rng(22), 3_000, 10**7, exact_groups=True)
    _assert_close_to(at_least(x, m, k, n), stats.hypergeom.sf(x - 1, m, k, n), rel=1e-8,
                      near_one=1e-8)
    cases = {  # (x, M, K, N): P(X >= x) to 17 digits
        (65, 6_915_417, 1_151, 353_100): 0.21894663324442174,  # summed downward: 1 - P(X <= 64)
        (30, 10**7, 150, 200_000): 3.316679787374903e-21,  # 30 where about 3 are expected
        (3_875_435, 8_522_921, 8_067_303, 4_082_673): 9.2564190082602275e-248,  # 34 spreads above the mean
        (499_990, 10**7, 9_999_900, 500_000): 0.98852798979223045,  # at most 10 of the rarer kind, 5 expected
    }
    x, m, k, n = (np.array(column, dtype=np.float64) for column in zip(*cases, strict=True))
    assert at_least(x, m, k, n) == pytest.approx(list(cases.values()), rel=1e-12, abs=0.0)
    assert stats.hypergeom.sf(x[0] - 1, m[0], k[0], n[0]) != pytest.approx(cases[65, 6_915_417, 1_151, 353_100],
                                                                          rel=1e-9)


def test_the_hypergeometric_tail_at_the_ends_of_what_can_happen() -> None:
    """At or below the fewest possible count: certain; above the most possible: never; at the most possible: that
    one count's chance; nothing drawn, everything drawn, none or all of the kind; no groups at all."""
    from storybook.metrics.hypergeometric import at_least

    cases = [  # x, M, K, N, P(X >= x)
        (-3, 10, 4, 5, 1.0), (0, 10, 4, 5, 1.0), (5, 10, 4, 5, 0.0), (4, 10, 4, 5, 6 / 252),  # C(6,1) / C(10,5)
        (2, 10, 8, 5, 1.0), (3, 10, 8, 5, 1.0),  # at least 5 - 2 = 3 of the kind are drawn
        (6, 10, 8, 5, 0.0), (5, 10, 8, 5, 56 / 252),  # C(8,5) / C(10,5)
        (0, 10, 4, 0, 1.0), (1, 10, 4, 0, 0.0),  # nothing drawn
        (4, 10, 4, 10, 1.0), (5, 10, 4, 10, 0.0),  # everything drawn: all 4
        (0, 10, 0, 5, 1.0), (1, 10, 0, 5, 0.0), (5, 10, 10, 5, 1.0), (6, 10, 10, 5, 0.0),  # none or all of the kind
        (1, 1, 1, 1, 1.0), (1, 10**7, 1, 1, 1e-7),
    ]
    x, m, k, n, expected = (np.array(column, dtype=np.float64) for column in zip(*cases, strict=True))
    ours = at_least(x, m, k, n)
    # scipy agrees but at the last (1e-7 exactly: the one case of the kind drawn, 1 among 10**7), off by 9e-10.
    assert ours[:-1] == pytest.approx(stats.hypergeom.sf(x - 1, m, k, n)[:-1], rel=1e-12, abs=1e-300)
    assert ours == pytest.approx(expected, rel=1e-12, abs=0.0)
    assert at_least(np.array([]), np.array([]), np.array([]), np.array([])).shape == (0,)


def test_the_scan_s_fisher_test_imports_no_scipy() -> None:
    """The p-values of exact groups come without scipy (importing scipy.stats took half a second of every page
    build that scans for weak groups): checked in a new process, whose modules are its own."""
    import subprocess
    import sys

    code = ("import sys\nfrom storybook.metrics.groups import share_p_value\n"
            "p = share_p_value([56, 3, 40], [70, 10, 900], [48, 1, 300], [80, 100, 9000])\n"
            "assert 0.004 < p[0] < 0.01, p\n"
            "print(sorted(name for name in sys.modules if name.split('.')[0] == 'scipy'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]"
