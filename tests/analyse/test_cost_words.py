"""The cost sentences: built once for every audience version, true to the stated capacity, with printed
thresholds that reproduce the figures beside them and one denominator per section.

Hand-worked table (the one tests/analyse/test_costs.py uses): scores 0.9, 0.8, 0.8, 0.6, 0.4, 0.4, 0.2, 0.1
with labels 1, 1, 0, 1, 0, 1, 0, 0; a false alarm costs 1, a miss 5; per 100 cases.
- In use, 0.8: flags 3 (2 positive, 1 not), misses 2: cost (1 + 10) / 8 * 100 = 137.5.
- Cheapest with no limit, 0.4: flags 6 (4 and 2), misses none: 2 / 8 * 100 = 25.
- Capacity 50 of 100 (4 of the 8): the cheapest allowed is 0.6: flags 4 (3 and 1), misses 1: 6 / 8 * 100 = 75.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from storybook.analyse.cost_story import CostStory, analyse_cost_story
from storybook.analyse.cost_words import cost_wording
from storybook.analyse.costs import natural_frequencies, sweep, threshold_text
from storybook.analyse.plain import Vocabulary, full_stop, join_sentences, stated_threshold_text
from storybook.sources.schema import CostOfError

SCORES = np.array([0.9, 0.8, 0.8, 0.6, 0.4, 0.4, 0.2, 0.1])
LABELS = np.array([1, 1, 0, 1, 0, 1, 0, 0], dtype=bool)
WORDS = Vocabulary(unit="cases", positive="need a check", negative="need none", flagged="sent for review")


def _story(capacity: int | None, *, threshold: float = 0.8, rounds: int = 0, labels: np.ndarray = LABELS,
           scores: np.ndarray = SCORES, population: int = 100) -> CostStory:
    spec = CostOfError(unit="hours", owner="the review lead", false_positive=1, false_negative=5,
                       population=population, capacity=capacity, bootstrap_rounds=rounds)
    return analyse_cost_story(spec, labels, scores, threshold, pd.DataFrame(index=range(len(scores))), [], 30)


def _page_sentences(cost: CostStory) -> list[str]:
    said = cost_wording(cost, WORDS)
    return [*said.prices, said.current_heading, *said.current, said.current_cost, said.best_heading, *said.choice,
            *said.best, *said.threshold_uncertainty]


# --- capacity binds every audience version ------------------------------------------------------------


def test_a_binding_capacity_is_said_and_only_a_threshold_within_it_is_recommended() -> None:
    cost = _story(capacity=50)
    said = cost_wording(cost, WORDS)
    assert said.choice == (
        "There is room for at most 50 out of every 100 cases.",
        "Without that limit, the cheapest choice would have 75 out of every 100 sent for review, at about 25 hours "
        "per 100; there is no room for that many.",
        "Within that limit, a threshold of 0.5 would cost about 75 hours for every 100 cases, instead of 138: "
        "a saving of about 63.",  # 138 - 75, as the reader works it out from the figures shown
    )
    assert said.best == ("At 0.5, cases who score 0.5 or more are sent for review.",
                         "Out of 100 cases, 50 would then be sent for review: 37 of them need a check and 13 do not.",
                         "Of the 50 who need a check, 13 would be missed.")
    assert said.best_heading == "The threshold that costs least within the limit"
    # The summary says the same: the limit, that it binds, and only the recommendation within it.
    assert said.summary == (*said.current, said.current_cost, *said.choice)
    assert set(said.summary) <= set(_page_sentences(cost))
    # The unconstrained cheapest threshold (0.4, printed "0.3") is never offered as a choice.
    uncapped = threshold_text(sweep(LABELS, SCORES), 2)
    assert uncapped == "0.3"
    assert not any(f"threshold of {uncapped}" in sentence for sentence in _page_sentences(cost))


def test_without_a_capacity_the_cheapest_threshold_is_recommended() -> None:
    said = cost_wording(_story(capacity=None), WORDS)
    assert said.choice == ("A threshold of 0.3 would cost about 25 hours for every 100 cases, instead of 138: a "
                           "saving of about 113.",)
    assert said.best_heading == "The threshold that costs least"
    assert "room for" not in " ".join(said.summary)


def test_when_the_threshold_in_use_breaks_the_capacity_the_summary_says_so() -> None:
    # In use 0.4 flags 6 of 8 (75 of 100); room for 50. Keeping within it costs 75 instead of 25.
    cost = _story(capacity=50, threshold=0.4)
    said = cost_wording(cost, WORDS)
    assert said.choice[1] == "With the threshold in use now, 75 are sent for review: more than that."
    assert said.choice[2].startswith("Without that limit, the cheapest choice would have 75 out of every 100")
    assert said.choice[3] == ("Within that limit, a threshold of 0.5 would cost about 75 hours for every 100 cases: "
                              "about 50 more than the threshold in use now, which has more cases sent for review "
                              "than there is room for.")
    assert set(said.summary) <= set(_page_sentences(cost))


def test_a_capacity_nothing_fits_recommends_no_threshold() -> None:
    said = cost_wording(_story(capacity=10), WORDS)  # 10 of 100 is 0.8 of a case: only flagging nobody fits
    assert said.choice[-1] == "No threshold keeps within that limit and still flags anyone."
    assert said.best == () and said.threshold_uncertainty == ()
    assert not any("threshold of" in sentence for sentence in said.summary)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(20, 120), capacity=st.integers(5, 95))
def test_the_summary_is_the_pages_own_sentences_and_respects_capacity(seed: int, n: int, capacity: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < 0.4
    scores = np.round(np.clip(0.3 * labels + 0.7 * rng.random(n), 0, 1), 3)
    cost = _story(capacity=capacity, threshold=0.5, rounds=30, labels=labels, scores=scores)
    said = cost_wording(cost, WORDS)
    assert set(said.summary) <= set(_page_sentences(cost))
    for sentence in _page_sentences(cost):
        for printed in re.findall(r"threshold of ([\d.]+) would cost", sentence):
            assert (scores >= float(printed)).sum() * 100 <= capacity * n  # every recommendation fits
    if cost.comparison is not None and cost.comparison.best.capacity_binding:
        assert any(s.startswith("Without that limit") or s.startswith("No threshold keeps") for s in said.summary)


# --- printed thresholds reproduce their figures -----------------------------------------------------------


def test_a_threshold_on_a_cases_score_is_printed_so_that_it_still_flags_that_case() -> None:
    # The cheapest threshold sits exactly on a score, 0.229941; "0.23" would leave that case out.
    scores = np.array([0.1, 0.2, 0.229941, 0.3, 0.6, 0.9])
    result = sweep([0, 0, 1, 0, 1, 1], scores)
    index = int(np.searchsorted(result.thresholds, 0.229941))
    text = threshold_text(result, index)
    assert text == "0.21"  # the fewest decimals above 0.2 and at or below 0.229941, nearest their middle
    assert (scores >= float(text)).sum() == result.flagged[index] == 4
    assert threshold_text(result, 0) == "0" and threshold_text(result, result.thresholds.size - 1) == "1"


def test_a_stated_threshold_is_printed_as_stated() -> None:
    assert stated_threshold_text(0.5) == "0.5"
    assert stated_threshold_text(0.229941) == "0.229941"
    assert stated_threshold_text(1e-7) == "0.0000001"
    assert _story(capacity=None, threshold=0.5).current_threshold_text == "0.5"


score_sets = st.lists(st.one_of(st.floats(0, 1, allow_nan=False), st.sampled_from([0.0, 0.229941, 0.23, 0.5, 1.0]),
                                st.integers(0, 20).map(lambda k: k / 20)), min_size=1, max_size=60)


@settings(max_examples=300, deadline=None)
@given(scores=score_sets, data=st.data())
def test_applying_a_printed_threshold_reproduces_its_counts(scores: list[float], data: st.DataObject) -> None:
    values = np.array(scores)
    labels = np.array(data.draw(st.lists(st.booleans(), min_size=len(scores), max_size=len(scores))))
    result = sweep(labels, values)
    for index in range(result.thresholds.size):
        printed = float(threshold_text(result, index))
        flagged = values >= printed  # as a reader applies it
        assert flagged.sum() == result.flagged[index]
        assert (flagged & labels).sum() == result.tp[index]


@settings(max_examples=60, deadline=None)
@given(scores=score_sets, data=st.data(), capacity=st.one_of(st.none(), st.integers(0, 100)))
def test_the_recommended_threshold_as_printed_gives_the_told_cost(scores: list[float], data: st.DataObject,
                                                                   capacity: int | None) -> None:
    values = np.array(scores)
    labels = np.array(data.draw(st.lists(st.booleans(), min_size=len(scores), max_size=len(scores))))
    cost = _story(capacity=capacity, threshold=0.5, labels=labels, scores=values)
    assert cost.comparison is not None and cost.best_threshold_text is not None
    flagged = values >= float(cost.best_threshold_text)
    fp, fn = int((flagged & ~labels).sum()), int((~flagged & labels).sum())
    assert (fp * 1 + fn * 5) / len(values) * 100 == cost.comparison.best.cost_per
    assert cost.comparison.best.confusion.flagged == int(flagged.sum())


# --- one denominator per section ----------------------------------------------------------------------------


def test_every_table_of_one_section_has_the_same_number_who_are_positive() -> None:
    # 64 of 171 positive (374.27 per 1,000): each table rounded cell by cell showed 374 here and 375 there.
    rng = np.random.default_rng(3)
    labels = np.zeros(171, dtype=bool)
    labels[:64] = True
    scores = np.round(np.clip(0.45 * labels + 0.55 * rng.random(171), 0, 1), 4)
    for capacity in (None, 300):
        cost = _story(capacity=capacity, threshold=0.5, labels=labels, scores=scores, population=1000)
        text = " ".join(_page_sentences(cost))
        assert set(re.findall(r"Of the ([\d,]+) who need a check", text)) == {"374"}, text
    assert cost.comparison is not None and natural_frequencies(cost.comparison.current).positives == 374


# --- sentence ends --------------------------------------------------------------------------------------


def test_sentences_end_with_one_full_stop() -> None:
    assert full_stop("reliable systems.") == "reliable systems."
    assert full_stop("reliable systems") == "reliable systems."
    assert full_stop("Really? ") == "Really?"
    assert join_sentences("One.", "", "two", "Three!") == "One. two. Three!"
    cost = _story(capacity=None)
    owner_with_stop = CostOfError(unit="hours", owner="Review Ltd.", false_positive=1, false_negative=0,
                                  population=100, bootstrap_rounds=0)
    nobody = analyse_cost_story(owner_with_stop, LABELS, SCORES, 0.8, pd.DataFrame(index=range(8)), [], 30)
    said = cost_wording(nobody, WORDS)  # misses cost nothing: flagging nobody costs least
    assert said.choice[-1] == "The stated costs may be worth checking with Review Ltd."
    for sentence in _page_sentences(cost) + _page_sentences(nobody):
        assert ".." not in sentence and " ." not in sentence, sentence


def test_templates_end_author_and_mlflow_phrases_with_one_full_stop() -> None:
    from storybook.render.pages import page_environment

    env = page_environment(None)
    rendered = env.from_string('{{ sentence | full_stop }} {{ conditions | map("full_stop") | join(" ") }}').render(
        sentence="appropriate for mission-critical systems.",
        conditions=["Fix the scanner feed before switching.", "Review the sites with the clinic leads"])
    assert rendered == ("appropriate for mission-critical systems. Fix the scanner feed before switching. Review the "
                        "sites with the clinic leads.")
    assert env.from_string("{{ 0.229941 | threshold }} {{ 0.5 | threshold }}").render() == "0.229941 0.5"


def test_an_equally_cheap_threshold_is_told_as_about_the_same_not_as_over_capacity() -> None:
    # A false alarm and a miss both cost 1: totals 4, 3, 2, 2, 3, 3, 4 across the candidates, so 0.4 (in use)
    # and 0.6 tie at 2 / 8 * 100 = 25; ties go to the higher threshold, 0.6, printed "0.5".
    spec = CostOfError(unit="hours", owner="the review lead", false_positive=1, false_negative=1, population=100,
                       bootstrap_rounds=0)
    cost = analyse_cost_story(spec, LABELS, SCORES, 0.4, pd.DataFrame(index=range(8)), [], 30)
    assert cost_wording(cost, WORDS).choice == (
        "A threshold of 0.5 would cost about 25 hours for every 100 cases, about the same as the threshold in use "
        "now.",)


def test_the_cost_chart_marks_and_describes_the_threshold_the_page_recommends() -> None:
    from storybook.render.charts import cost_chart

    cost = _story(capacity=50)
    assert cost.comparison is not None and cost.curve is not None
    chart = cost_chart("s-cost", "hours", cost.per, list(cost.curve.thresholds), list(cost.curve.costs),
                       cost.comparison.best.threshold, cost.current_threshold, best_text=cost.best_threshold_text,
                       best_cost=cost.comparison.best.cost_per, current_text=cost.current_threshold_text,
                       capacity=cost.spec.capacity)
    # Not the curve's lowest point (25, at the threshold the capacity rules out) but the choice within it.
    assert chart.alt.endswith("The cost is lowest among thresholds that flag at most 50 per 100, 75, at threshold "
                              "0.5; the threshold in use now is 0.8.")
    assert "within the limit" in chart.caption
    marks = chart.spec["layer"][1]["data"]["values"]
    assert marks[0] == {"threshold": 0.6, "label": "lowest cost within the limit"}


def test_each_slice_table_says_its_groups_share_of_the_mistakes() -> None:
    from storybook.sources.schema import SliceSpec

    spec = CostOfError(unit="hours", owner="the review lead", false_positive=1, false_negative=5, population=100)
    groups = pd.DataFrame({"site": ["a"] * 4 + ["b"] * 4})
    slices = [SliceSpec(column="site", label="Site")]
    # At 0.8 (hand-worked): site a misses row 4 and alarms on row 3; site b misses row 6 and raises no alarm.
    (table,) = cost_wording(analyse_cost_story(spec, LABELS, SCORES, 0.8, groups, slices, 2), WORDS).slices
    assert table.caption == "Site: mistakes in the evaluation, and their cost per 100 cases"
    assert table.cost_heading == "Cost per 100"
    assert table.missed == ("1 of the 2 missed", "1 of the 2 missed")
    assert table.false_alarms == ("1 of the 1 false alarms", "0 of the 1 false alarms")
    # At 0.1 everyone is flagged: nobody is missed, and the 4 false alarms split 1 and 3.
    (table,) = cost_wording(analyse_cost_story(spec, LABELS, SCORES, 0.1, groups, slices, 2), WORDS).slices
    assert table.missed == ("none missed", "none missed")
    assert table.false_alarms == ("1 of the 4 false alarms", "3 of the 4 false alarms")
