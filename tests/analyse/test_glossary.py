"""The glossary a page links its terms to (analyse/glossary.py), built directly: storybook's defaults, then the
project's entries, then the story's; one entry per name, one owner per spelling, unique anchors, in order."""

from __future__ import annotations

import pytest

from storybook.analyse.glossary import Term, TermOverride, anchor_for, build_glossary
from storybook.analyse.plain import Vocabulary

WORDS = Vocabulary(unit="patients")


def _by_name(terms: tuple[Term, ...]) -> dict[str, Term]:
    return {term.name: term for term in terms}


@pytest.mark.parametrize(("name", "anchor"), [
    ("ROC AUC", "term-roc-auc"), ("F1 score", "term-f1-score"), ("  Größe ", "term-gr-e"), ("!!", "term-entry")])
def test_anchors_are_safe_as_an_html_id(name: str, anchor: str) -> None:
    assert anchor_for(name) == anchor


def test_the_defaults_of_a_binary_story_are_in_alphabetical_order_with_their_other_spellings() -> None:
    terms = build_glossary(WORDS)
    names = [term.name for term in terms]
    assert names == sorted(names, key=str.lower)
    assert _by_name(terms)["recall"].spellings == ("recall", "sensitivity")
    assert len({term.anchor for term in terms}) == len(terms)


def test_the_story_s_entry_replaces_the_project_s_which_replaces_the_default() -> None:
    project = {"Recall": TermOverride("The share of {unit} with it that the model finds.", also=("hit rate",))}
    story = {"recall ": TermOverride("Of every 100 {unit} with it, how many are found.")}
    recall = _by_name(build_glossary(WORDS, project=project))["Recall"]
    assert (recall.plain, recall.also) == ("The share of patients with it that the model finds.", ("hit rate",))
    recall = _by_name(build_glossary(WORDS, project=project, story=story))["recall"]
    assert (recall.plain, recall.also) == ("Of every 100 patients with it, how many are found.", ())


def test_none_removes_an_entry() -> None:
    assert "drift" not in _by_name(build_glossary(WORDS, story={"Drift": None}))


def test_a_spelling_claimed_by_a_later_entry_is_taken_from_the_earlier_one() -> None:
    terms = _by_name(build_glossary(WORDS, project={"sensitivity": TermOverride("How many are found.")}))
    assert terms["recall"].also == () and terms["sensitivity"].plain == "How many are found."


def test_two_names_with_one_anchor_get_numbered_anchors() -> None:
    terms = _by_name(build_glossary(WORDS, project={"time to act": TermOverride("How long."),
                                                    "time-to-act": TermOverride("Also how long.")}))
    assert sorted([terms["time to act"].anchor, terms["time-to-act"].anchor]) == ["term-time-to-act",
                                                                                  "term-time-to-act-2"]
