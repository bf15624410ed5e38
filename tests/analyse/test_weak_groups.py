"""storybook.analyse.weak_groups: the scan finds planted weak groups (a numeric quartile, a value, a pair, a mean)
and, in data with no weak group, finds something in at most about the stated false discovery rate of the runs."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from storybook.analyse.plain import Vocabulary, share_phrase
from storybook.analyse.trust_checks.weak_groups import check_weak_groups
from storybook.analyse.weak_groups import Figure, ScanSettings, scan
from storybook.analyse.weak_groups_story import WeakGroups, group_key
from storybook.analyse.weak_groups_words import chance_words, finding_sentence, weak_groups_wording
from storybook.metrics.binary import proportion

MISSES = Figure("misses", "share", among=(2, 3), event=(2,))
FALSE_ALARMS = Figure("false_alarms", "share", among=(0, 1), event=(1,))
BINARY = (MISSES, FALSE_ALARMS)


def binary_cells(labels: npt.NDArray[np.bool_], flagged: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    return labels.astype(np.int64) * 2 + flagged.astype(np.int64)


def planted(n: int = 2000, seed: int = 1) -> tuple[pd.DataFrame, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Patients aged 18 to 89 from four regions; the model misses half the positives in the oldest quarter (above
    the third quartile of age, 73 at seed 1), 15% of the others."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, n)
    region = rng.choice(["North", "South", "East", "West"], n)
    labels = rng.random(n) < 0.3
    missed = rng.random(n) < np.where(age > np.quantile(age, 0.75), 0.5, 0.15)
    flagged = np.where(labels, ~missed, rng.random(n) < 0.1)
    return pd.DataFrame({"age": age, "region": region}), labels, flagged


def test_a_planted_weak_quartile_is_found_and_told_with_both_ranges() -> None:
    frame, labels, flagged = planted()
    result = scan(frame, binary_cells(labels, flagged), 4, BINARY)
    # Age cut at its quartiles (4 groups), region by its 4 values, and the 16 pairs: 24 groups, each on 2 figures.
    assert result.binned == ("age",) and result.columns == ("age", "region") and result.pairs == 1
    assert result.groups == 24 and result.comparisons == 48
    assert [f.name for f in result.found] == ["age is above 73"]  # the pairs with a region are explained by it
    found = result.found[0]
    old = frame["age"].to_numpy() > 73
    assert found.cases == int(old.sum()) and found.total == 2000
    assert found.group == proportion(int((old & labels & ~flagged).sum()), int((old & labels).sum()))
    assert found.rest.successes == int((~old & labels & ~flagged).sum())
    assert found.rest.n == int((~old & labels).sum())
    assert found.difference.low is not None and found.difference.low > 0
    words = Vocabulary(unit="patients", positive="need a follow-up")
    sentence = finding_sentence(found, words)
    assert sentence == (f"Among the patients whose age is above 73 ({found.cases:,} of the 2,000), the model misses "
                        f"{share_phrase(found.group)} who need a follow-up, against {share_phrase(found.rest)} for "
                        "the others.")
    assert share_phrase(found.group).startswith("between ")  # told with its range


def test_a_planted_pair_is_found_first_before_its_parts() -> None:
    rng = np.random.default_rng(3)
    n = 4000
    frame = pd.DataFrame({"shift": rng.choice(["day", "night"], n), "site": rng.choice(["A", "B", "C"], n)})
    both = (frame["shift"] == "night").to_numpy() & (frame["site"] == "C").to_numpy()
    labels = rng.random(n) < 0.4
    flagged = np.where(labels, rng.random(n) > np.where(both, 0.45, 0.12), rng.random(n) < 0.05)
    result = scan(frame, binary_cells(labels, flagged), 4, BINARY)
    # Night shifts at site C miss 45 in 100; each part alone holds them, so it is worse too, but by less.
    assert [f.name for f in result.found] == ["shift is night and site is C", "site is C", "shift is night"]
    assert len(result.found[0].parts) == 2
    differences = [f.difference.value or 0.0 for f in result.found]
    assert differences == sorted(differences, reverse=True)


def test_numbers_with_missing_values_and_few_distinct_values_are_grouped_as_stated() -> None:
    rng = np.random.default_rng(5)
    n = 1200
    income = rng.normal(30_000, 8_000, n)
    income[rng.random(n) < 0.2] = np.nan
    frame = pd.DataFrame({"income": income, "children": rng.integers(0, 3, n), "constant": 1,
                          "id": [f"c{i}" for i in range(n)]})
    labels = rng.random(n) < 0.5
    unrecorded = np.isnan(income)
    flagged = np.where(labels, rng.random(n) > np.where(unrecorded, 0.6, 0.2), rng.random(n) < 0.1)
    result = scan(frame, binary_cells(labels, flagged), 4, BINARY, settings=ScanSettings(max_pair_columns=0))
    assert result.binned == ("income",)  # children: 3 values, grouped by value
    assert result.skipped == (("constant", "it holds one value only"),)
    assert result.pairs == 0
    # income: 4 quartiles + not recorded; children: 3 values; id: 20 values of one row each, never large enough.
    assert result.groups == 8
    assert result.found[0].name == "income is not recorded"


def test_in_data_with_no_weak_group_the_share_of_runs_finding_one_stays_near_the_rate() -> None:
    """200 seeds of 600 cases, 4 columns and their 6 pairs (about 100 groups, 200 comparisons each): nothing is
    planted, so every group found is chance. With every group equal, Benjamini-Hochberg at q keeps the chance of
    finding any at q; the exact (Fisher) p-values and the interval rule only make it rarer. 200 runs: 0.05 + 3
    standard errors is 0.096."""
    runs, any_found, tried = 200, 0, set()
    for seed in range(runs):
        rng = np.random.default_rng(1000 + seed)
        n = 600
        frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(list("xyz"), n),
                              "c": rng.integers(0, 100, n), "d": rng.choice(["p", "q"], n)})
        labels = rng.random(n) < 0.4
        flagged = np.where(labels, rng.random(n) > 0.2, rng.random(n) < 0.1)
        result = scan(frame, binary_cells(labels, flagged), 4, BINARY, settings=ScanSettings(min_group_size=30))
        any_found += bool(result.found)
        tried.add(result.groups)
    assert min(tried) > 40
    assert any_found / runs <= 0.096, any_found


def test_a_mean_figure_finds_costly_groups_and_per_row_values_find_large_misses() -> None:
    rng = np.random.default_rng(8)
    n = 3000
    frame = pd.DataFrame({"ward": rng.choice(["A", "B", "C", "D"], n)})
    labels = rng.random(n) < 0.3
    in_b = (frame["ward"] == "B").to_numpy()
    flagged = np.where(labels, rng.random(n) > np.where(in_b, 0.5, 0.2), rng.random(n) < 0.1)
    cells = binary_cells(labels, flagged)
    cost = Figure("cost", "mean", cell_values=(0.0, 1.0, 10.0, 2.0))
    result = scan(frame, cells, 4, (cost,))
    assert [f.name for f in result.found] == ["ward is B"]
    per_case = np.array([0.0, 1.0, 10.0, 2.0])[cells]
    assert result.found[0].group.value == pytest.approx(per_case[in_b].mean())
    assert result.found[0].rest.value == pytest.approx(per_case[~in_b].mean())
    # Per-row values (a regression story's misses): ward C's forecasts miss by more.
    misses = np.abs(rng.normal(0, np.where((frame["ward"] == "C").to_numpy(), 9.0, 5.0)))
    result = scan(frame, np.zeros(n, dtype=np.int64), 1, (Figure("average_miss", "mean"),), values=misses)
    assert [f.name for f in result.found] == ["ward is C"]
    assert result.found[0].group.value == pytest.approx(misses[(frame["ward"] == "C").to_numpy()].mean())


def test_weights_count_each_row_as_that_many_cases() -> None:
    frame, labels, flagged = planted(n=800, seed=2)
    cells = binary_cells(labels, flagged)
    doubled = scan(pd.concat([frame, frame], ignore_index=True), np.concatenate([cells, cells]), 4, BINARY)
    weighted = scan(frame, cells, 4, BINARY, weights=np.full(800, 2))
    assert weighted.rows == doubled.rows == 1600
    assert [(f.name, f.group, f.rest) for f in weighted.found] == [(f.name, f.group, f.rest) for f in doubled.found]


def test_the_section_and_the_trust_check_in_words() -> None:
    frame, labels, flagged = planted()
    result = scan(frame, binary_cells(labels, flagged), 4, BINARY)
    words = Vocabulary(unit="patients", positive="need a follow-up", negative="need nothing", flagged="called back")
    report = WeakGroups(result, ("misses", "false_alarms"), {})
    said = weak_groups_wording(report, words)
    assert said.summary == ("storybook found 1 group of patients clearly worse off than the rest, in columns the "
                            "story does not slice by.")
    assert said.found[0].authors == "The story's authors did not look at this group."
    assert result.groups == 24 and result.pair_groups == 16
    assert said.method.startswith("storybook tried 8 groups in the 2 columns the story does not slice by, and 16 "
                                  "groups in the 1 pair of those columns (both at once): 48 comparisons in all, on "
                                  "the share missed among those who need a follow-up and on the share called back "
                                  "among those who need nothing. Numbers (age) are cut into 4 groups of about equal "
                                  "size (quartiles).")
    assert ("at least 30 patients and at least 10 who need a follow-up or who need nothing; a pair counts only where "
            "it is worse than the rest of each of its two parts.") in said.method
    assert "about 1 in 20 at most (Benjamini-Hochberg)" in said.method
    check = check_weak_groups(report, unit="patients", source="evaluation set e of run r")
    assert check.passed is False and check.figures["not_acknowledged"] == 1
    assert "age is above 73" in check.sentence
    known = WeakGroups(result, ("misses", "false_alarms"), {group_key("Age  is above 73"): "seen in the pilot"})
    acknowledged = check_weak_groups(known, unit="patients", source="s")
    assert acknowledged.passed is True
    assert acknowledged.sentence == ("storybook tried 24 groups of patients the story does not slice by; the story's "
                                     "authors acknowledge the one group found clearly worse off that the page shows.")
    assert weak_groups_wording(known, words).found[0].authors == ("The story's authors know of this group: seen "
                                                                  "in the pilot")
    nothing = WeakGroups(scan(frame, np.zeros(2000, dtype=np.int64), 4, BINARY), ("misses", "false_alarms"), {})
    assert check_weak_groups(nothing, unit="patients", source="s").passed is True
    assert weak_groups_wording(nothing, words).summary.startswith("storybook found no group")
    assert chance_words(0.05) == "1 in 20" and chance_words(0.1) == "1 in 10" and chance_words(0.03) == "3 in 100"



def test_a_scan_that_tried_no_group_says_so_and_earns_no_trust() -> None:
    """With every group under the minimum size nothing is compared: the page must not say it found no weak group
    (as if it had looked), and the trust check must not pass on a search that did not happen."""
    frame, labels, flagged = planted(n=50)
    result = scan(frame, binary_cells(labels, flagged), 4, BINARY, settings=ScanSettings(min_group_size=60))
    assert result.comparisons == 0 and result.groups == 0 and not result.found
    words = Vocabulary(unit="patients", positive="need a follow-up", negative="need nothing", flagged="called back")
    report = WeakGroups(result, ("misses", "false_alarms"), {})
    said = weak_groups_wording(report, words)
    assert said.summary == ("storybook tried no group of patients: none in the 2 columns the story does not slice "
                            "by holds at least 60 patients and at least 10 who need a follow-up or who need nothing.")
    assert "found no group" not in said.summary and "so many tries" not in said.method
    check = check_weak_groups(report, unit="patients", source="s")
    assert check.passed is None and "tried no group of patients" in check.sentence


def test_thirty_columns_and_their_pairs_on_fifty_thousand_rows_stay_quick() -> None:
    """The bound on work, not a timing: 30 columns give 435 pairs, each counted with one bincount."""
    rng = np.random.default_rng(0)
    n = 50_000
    frame = pd.DataFrame({f"c{i}": (rng.normal(size=n) if i % 2 else rng.integers(0, 6, n)) for i in range(30)})
    labels = rng.random(n) < 0.3
    flagged = np.where(labels, rng.random(n) > 0.2, rng.random(n) < 0.1)
    result = scan(frame, binary_cells(labels, flagged), 4, BINARY)
    assert result.pairs == 435
    # Every column (numbers, or whole numbers 0 to 5: more than 4 values) is cut into quartiles: 4 groups each.
    assert result.binned == tuple(frame.columns)
    assert result.groups == 30 * 4 + 435 * 16 and result.comparisons == 2 * result.groups


def test_a_number_is_cut_where_its_words_say_to_the_last_digit_shown() -> None:
    """The quartile is told rounded ("0.684", "12,346"); the cut is made at the number told, so every case the
    sentence puts in the group is in it."""
    rng = np.random.default_rng(9)
    n = 3000
    for scale in (1.0, 10_000.0):
        x = rng.normal(size=n) * scale
        labels = rng.random(n) < 0.4
        top = x > np.quantile(x, 0.75)
        flagged = np.where(labels, rng.random(n) > np.where(top, 0.5, 0.15), rng.random(n) < 0.1)
        result = scan(pd.DataFrame({"x": x}), binary_cells(labels, flagged), 4, BINARY)
        found = result.found[0]
        told = found.name.removeprefix("x is above ")
        assert told != found.name and len(told.replace(",", "").replace("-", "").replace(".", "")) <= 6
        assert found.cases == int((x > float(told.replace(",", ""))).sum())


def test_names_and_values_from_the_set_are_told_on_one_short_line() -> None:
    rng = np.random.default_rng(12)
    n = 2000
    long_value = "x" * 500
    column = "ward\nname " + "y" * 100
    wards = rng.choice(np.array([long_value, "B"], dtype=object), n)
    labels = rng.random(n) < 0.4
    worse = wards == long_value
    flagged = np.where(labels, rng.random(n) > np.where(worse, 0.5, 0.15), rng.random(n) < 0.1)
    result = scan(pd.DataFrame({column: wards}), binary_cells(labels, flagged), 4, BINARY)
    part = result.found[0].parts[0]
    assert "\n" not in part.column and len(part.column) == 60 and part.column.endswith("...")
    assert part.words == "is " + "x" * 57 + "..."
