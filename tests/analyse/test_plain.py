"""The wording rules of analyse/plain.py at their boundaries, and the glossary built from a story's words.

Wilson intervals used here, worked out by hand (z = 1.96) and checked against scipy's ``binomtest``:
7 of 100 -> 0.0343 to 0.1375 (10.3 in 100 wide); 14 of 200 -> 0.0422 to 0.1141 (7.2 wide);
70 of 1,000 -> 0.0558 to 0.0875 (3.2 wide); 100 of 100 -> 0.9630 to 1; 0 of 100 -> 0 to 0.0370.
"""

from __future__ import annotations

import pandas as pd
import pytest
from scipy.stats import binomtest

from storybook.analyse import glossary, plain
from storybook.analyse.classification import Estimate, disaggregate, proportion
from storybook.analyse.glossary import DEFAULT_TERMS, TermOverride, anchor_for, build_glossary
from storybook.analyse.plain import (
    Vocabulary,
    WordingRules,
    certainty,
    compare,
    metric_sentence,
    rate_sentence,
    share_phrase,
    slice_wording,
    verdict,
)

WORDS = Vocabulary(unit="patients", positive="have a malignant tumour", negative="have a harmless tumour",
                   flagged="put at the front of the queue")
RULES = WordingRules()  # tight_width 0.10, min_count 10


def test_all_is_the_public_api() -> None:
    for module in (plain, glossary):
        for name in module.__all__:
            assert hasattr(module, name), name


@pytest.mark.parametrize(("successes", "n"), [(7, 100), (14, 200), (70, 1000), (100, 100), (0, 100)])
def test_wilson_interval_agrees_with_scipy(successes: int, n: int) -> None:
    estimate = proportion(successes, n)
    reference = binomtest(successes, n).proportion_ci(method="wilson")
    assert estimate.low == pytest.approx(reference.low, abs=1e-12)
    assert estimate.high == pytest.approx(reference.high, abs=1e-12)


@pytest.mark.parametrize(("successes", "n", "phrase"), [
    (70, 1000, "about 7 in 100"),           # 3.2 in 100 wide: tight
    (14, 200, "between 4 and 11 in 100"),   # 7.2 wide: tight at 0.10 ... see the next test for 0.05
    (7, 100, "between 3 and 14 in 100"),    # 10.3 wide: wide
    (100, 100, "at least 96 in 100"),       # "about 100" would hide the 4 in 100 the evaluation allows
    (0, 100, "at most 4 in 100"),
    (3, 9, "too few cases to say"),         # 9 cases, under the minimum of 10
])
def test_share_phrase_from_real_intervals(successes: int, n: int, phrase: str) -> None:
    rules = WordingRules(tight_width=0.05) if (successes, n) == (14, 200) else RULES
    assert share_phrase(proportion(successes, n), rules) == phrase


def test_the_issue_examples_under_the_default_rules() -> None:
    assert share_phrase(proportion(70, 1000)) == "about 7 in 100"
    assert share_phrase(proportion(14, 200)) == "about 7 in 100"  # 7.2 in 100 wide is tight at 0.10
    assert share_phrase(proportion(14, 200), WordingRules(tight_width=0.07)) == "between 4 and 11 in 100"


def test_minimum_count_boundary() -> None:
    at_minimum = Estimate(0.5, 0.45, 0.55, 10)
    below = Estimate(0.5, 0.45, 0.55, 9)
    assert certainty(at_minimum, RULES) == "tight"
    assert share_phrase(at_minimum, RULES) == "about 50 in 100"
    assert certainty(below, RULES) == "too few"
    assert share_phrase(below, RULES) == "too few cases to say"
    assert certainty(Estimate(None, None, None, 0), RULES) == "too few"
    assert certainty(at_minimum, WordingRules(min_count=11)) == "too few"


def test_width_exactly_at_the_tight_limit() -> None:
    # 0.375 - 0.25 is exactly 0.125 in binary floating point; 0.35 - 0.25 is 0.09999999999999998.
    exact = Estimate(0.3, 0.25, 0.375, 100)
    assert exact.width == 0.125
    assert certainty(exact, WordingRules(tight_width=0.125)) == "tight"
    assert certainty(Estimate(0.3, 0.25, 0.3750001, 100), WordingRules(tight_width=0.125)) == "wide"
    rounded = Estimate(0.3, 0.25, 0.35, 100)
    assert certainty(rounded, WordingRules(tight_width=0.1)) == "tight"
    assert share_phrase(rounded, WordingRules(tight_width=0.1)) == "about 30 in 100"
    just_over = Estimate(0.3, 0.25, 0.350001, 100)
    assert share_phrase(just_over, WordingRules(tight_width=0.1)) == "between 25 and 35 in 100"


def test_no_interval_is_told_without_a_claim_of_certainty() -> None:
    assert certainty(None) == "unknown"
    assert certainty(Estimate(0.81, None, None, 50)) == "unknown"
    assert share_phrase(Estimate(0.81, None, None, 50)) == "81 in 100"
    assert metric_sentence("recall", 0.81, None, WORDS) == ("Of the patients who have a malignant tumour, 81 in 100 "
                                                           "are put at the front of the queue.")


def test_rules_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="tight_width"):
        WordingRules(tight_width=1.5)
    with pytest.raises(ValueError, match="min_count"):
        WordingRules(min_count=0)


# --- comparisons ---------------------------------------------------------------------------------------


def test_overlapping_touching_and_apart_intervals() -> None:
    low = Estimate(0.5, 0.4, 0.6, 100)
    overlapping = Estimate(0.65, 0.55, 0.75, 100)
    touching = Estimate(0.7, 0.6, 0.8, 100)
    apart = Estimate(0.7, 0.6000001, 0.8, 100)
    assert compare(low, overlapping) == "no clear difference"
    assert compare(low, touching) == "no clear difference"  # ends that touch count as overlap
    assert compare(touching, low) == "no clear difference"
    assert compare(low, apart) == "lower"
    assert compare(apart, low) == "higher"
    assert verdict(apart, low) == "better"
    assert verdict(apart, low, higher_is_better=False) == "worse"
    assert compare(low, Estimate(None, None, None, 0)) is None
    assert compare(low, Estimate(0.7, 0.61, 0.8, 9), RULES) == "too few cases to say"
    assert compare(low, Estimate(0.7, 0.61, 0.8, 10), RULES) == "lower"


# --- sentences -----------------------------------------------------------------------------------------


def test_metric_sentences_follow_the_rules() -> None:
    tight = proportion(105, 107)  # 107 harmless tumours, 105 left alone: 0.934 to 0.995, 6.1 wide
    assert metric_sentence("specificity", 105 / 107, tight, WORDS) == (
        "Of the patients who have a harmless tumour, about 98 in 100 are correctly not put at the front of the "
        "queue (measured on 107 patients who have a harmless tumour).")
    wide = proportion(52, 64)  # 0.70 to 0.89
    assert metric_sentence("recall", 52 / 64, wide, WORDS) == (
        "Of the patients who have a malignant tumour, between 70 and 89 in 100 are put at the front of the queue "
        "(measured on 64 patients who have a malignant tumour).")
    few = proportion(2, 3)
    assert metric_sentence("precision", 2 / 3, few, WORDS) == (
        "Too few cases to say: only 3 patients who are put at the front of the queue were in the evaluation, and "
        "at least 10 are needed.")
    assert metric_sentence("precision", 1.0, proportion(1, 1), WORDS) == (
        "Too few cases to say: only one of the patients who are put at the front of the queue was in the "
        "evaluation, and at least 10 are needed.")
    assert metric_sentence("brier", 0.057, None, WORDS).startswith("The Brier score is 0.057")
    assert rate_sentence("accuracy", proportion(160, 171), WORDS).startswith(
        "The model's call is right for about 94 in 100 patients (measured on 171 patients)")


def test_slice_wording_tells_each_group_and_compares_it_with_everyone() -> None:
    # Group a: 40 positives, 38 flagged (0.835 to 0.986, wide); b: 40 positives, 16 flagged (0.264 to 0.554);
    # c: 5 positives (too few). All: 85 positives, 58 flagged (0.578 to 0.772): a is above it, b below.
    labels = [1] * 40 + [1] * 40 + [1] * 5
    scores = [0.9] * 38 + [0.1] * 2 + [0.9] * 16 + [0.1] * 24 + [0.9] * 4 + [0.1]
    groups = pd.DataFrame({"band": ["a"] * 40 + ["b"] * 40 + ["c"] * 5})
    overall, (table,) = disaggregate(labels, scores, groups, 0.5)
    told = slice_wording(table.rows, overall, "recall", "Band", WORDS)
    assert told["a"].versus_all == "higher"
    assert told["a"].shares["recall"] == "between 83 and 99 in 100"  # 0.83498 rounds down
    assert told["a"].sentence == (
        "a (band, 40 patients): of the patients who have a malignant tumour, between 83 and 99 in 100 are put at the "
        "front of the queue (measured on 40 patients who have a malignant tumour); that is clearly higher than "
        "for all patients.")
    assert told["b"].versus_all == "lower"
    assert told["c"].versus_all == "too few cases to say"
    assert told["c"].sentence == ("c (band, 5 patients): too few cases to say: only 5 patients who have a malignant "
                                  "tumour were in the evaluation, and at least 10 are needed.")
    assert told["c"].shares["specificity"] == "too few cases to say"  # no harmless tumours at all


# --- glossary ------------------------------------------------------------------------------------------


def _by_name(terms: tuple[glossary.Term, ...]) -> dict[str, glossary.Term]:
    return {t.name.lower(): t for t in terms}


def test_default_glossary_speaks_in_the_storys_words() -> None:
    terms = _by_name(build_glossary(WORDS, false_positive_means="a harmless tumour jumps the queue",
                                    slice_labels=["Tumour size", "Screening site"]))
    for name in ("recall", "precision", "specificity", "threshold", "false positive", "false negative",
                 "calibration", "interval", "roc auc", "brier score", "drift", "psi", "guardrail", "slice",
                 "champion", "challenger"):
        assert name in terms, name
    assert terms["false positive"].in_story == ("Patients who have a harmless tumour but are put at the front of "
                                                "the queue anyway: a harmless tumour jumps the queue.")
    assert terms["recall"].in_story == ("Of the patients who have a malignant tumour, the share who are put at the "
                                        "front of the queue.")
    assert "by tumour size and by screening site" in str(terms["slice"].in_story)
    assert "sensitivity" in terms["recall"].also
    names = [t.name.lower() for t in build_glossary(WORDS)]
    assert names == sorted(names)
    assert len([t for t in DEFAULT_TERMS if "binary" in t.tasks]) == len(names)  # a binary story's


def test_project_and_story_entries_replace_add_and_drop() -> None:
    project = {"Recall": TermOverride("Project words for recall.", "Of the {unit} who {positive}: {flagged}."),
               "PSI": None}
    story = {"recall": TermOverride("Story words for recall."),
             "sensitivity": TermOverride("Kept apart from recall here.", also=("true positive rate",)),
             "scan reader": TermOverride("A specialist who reads scans.", also=("scan readers", "reader"))}
    terms = _by_name(build_glossary(WORDS, project=project, story=story))
    assert terms["recall"].plain == "Story words for recall."  # the story wins over the project
    assert terms["recall"].in_story is None                     # an entry is replaced whole
    assert "psi" not in terms                                   # null drops a default
    assert "sensitivity" not in terms["recall"].also            # a spelling claimed later moves with it
    assert terms["sensitivity"].also == ("true positive rate",)
    assert terms["scan reader"].anchor == "term-scan-reader"
    only_project = _by_name(build_glossary(WORDS, project=project))
    assert only_project["recall"].in_story == ("Of the patients who have a malignant tumour: put at the front of "
                                               "the queue.")


def test_author_text_is_substituted_never_formatted() -> None:
    story = {"odd": TermOverride("{unit.__class__} {0} {unit}", "{positive!r} {{unit}}")}
    term = _by_name(build_glossary(WORDS, story=story))["odd"]
    assert term.plain == "{unit.__class__} {0} patients"
    assert term.in_story == "{positive!r} {patients}"


def test_anchors_are_safe_and_unique() -> None:
    assert anchor_for('x"><script>alert(1)</script>') == "term-x-script-alert-1-script"
    assert anchor_for("ROC AUC") == "term-roc-auc"
    assert anchor_for("ü") == "term-entry"
    terms = build_glossary(WORDS, story={"F1": TermOverride("one"), "f-1": TermOverride("two")})
    anchors = [t.anchor for t in terms]
    assert len(anchors) == len(set(anchors))
    assert {"term-f1", "term-f-1"} <= set(anchors) or {"term-f1", "term-f1-2"} <= set(anchors)


def test_a_label_inside_a_sentence_keeps_its_acronyms_and_names() -> None:
    assert plain.in_sentence("Age band") == "age band"
    assert plain.in_sentence("BMI") == "BMI"  # never "bmi"
    assert plain.in_sentence("Body mass index (BMI)") == "Body mass index (BMI)"
    assert plain.in_sentence("New York region") == "New York region"
    assert plain.in_sentence("") == ""
    assert plain.slice_heading("BMI") == "By BMI" and plain.slice_heading("Tumour size") == "By tumour size"
    assert plain.merged_groups_sentence("Clinic", 12, 3) == ("Clinic has 15 groups: the 12 largest are shown one by "
                                                             "one, and the other 3 are counted together in the "
                                                             "last row.")


def test_a_sentence_carried_on_keeps_a_leading_acronym() -> None:
    assert plain.lower_first("The model finds most cases") == "the model finds most cases"
    assert plain.lower_first("BMI rose by 2 points") == "BMI rose by 2 points"  # never "bMI"
    assert plain.lower_first("") == ""
