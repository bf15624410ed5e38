"""The decision brief in words: what the page and the summary say of the recommendation, the grounds and the
people who decided, built once here; the templates only lay it out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from storybook.analyse.decision import DecisionBrief, GroundResult, PersonDecision
from storybook.analyse.page_words import Said, said, strong
from storybook.analyse.plain import full_stop
from storybook.sources.sections import HEADINGS

__all__ = ["OUTCOME_WORDS", "DecisionWording", "GroundWording", "decision_wording"]

# A ground's outcome inside a sentence ("... holds then and cannot be told now").
OUTCOME_WORDS: Mapping[str, str] = {"holds": "holds", "fails": "fails", "cannot tell": "cannot be told",
                                    "no longer a ground": "is no longer a ground"}


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class GroundWording:
    ground: GroundResult  # the judged ground (its id, label, outcome, sentence and source)
    outcome: str  # "Holds", "Fails", "Cannot be told"
    needed: str  # whether "go" needs it
    section: str  # the heading of the section whose evidence it weighs
    condition: str | None  # the condition of "go", said when the ground does not hold
    source: str = ""  # where its evidence comes from: "from the evaluation set"
    see: str = ""  # the link to that section: "see Trust"


@dataclass(frozen=True)
class DecisionWording:
    heading: str
    owner: str | None  # who decides, and how storybook weighs the grounds
    recommends: Said
    person: Said | None  # what a person decided, and whether it still stands
    person_kind: str | None  # "agreed", "overruled" or "stale" (how the page marks it)
    changed: Said | None  # the grounds that held when it was signed and do not now
    undecided: str | None  # the required grounds storybook cannot tell yet
    grounds: tuple[GroundWording, ...]  # in the order of the brief's grounds
    summary_conditions: str  # the conditions as sentences, for the one-page summary ("" when none)
    why: str = ""  # the rule that gave the recommendation: "Why: ..."


def _person(person: PersonDecision) -> tuple[Said, str]:
    who = f"{person.name}, {person.role}"
    if person.current and not person.agrees:
        return said(strong(f"Overruled by {who} on {person.date}"), ": decided ", strong(person.decision),
                    f" instead. Their reason: {person.reason}"), "overruled"
    if person.current:
        return said(f"Agreed by {who} on {person.date}: {person.reason}"), "agreed"
    return said(f'{who}, decided {person.decision} on {person.date} ("{person.reason}"), but for an earlier '
                "version of this story: it has changed since, so that decision no longer stands until it is signed "
                "again."), "stale"


def decision_wording(brief: DecisionBrief) -> DecisionWording:
    owner = None
    if brief.spec.owner:
        owner = (f"For {brief.spec.owner} to decide. Storybook weighs the grounds the story's authors declared, "
                 "each against evidence computed for this page, and recommends by the rules at the end of this "
                 "section.")
    person, kind = _person(brief.person) if brief.person is not None else (None, None)
    changed = None
    if brief.grounds_changed:
        changes = "; ".join(f"“{c.label}” {OUTCOME_WORDS.get(c.before, c.before)} then and "
                            f"{OUTCOME_WORDS.get(c.after, c.after)} now" for c in brief.changes)
        changed = said(strong("The grounds for this decision have changed"),
                       f" since {brief.compared_with}: {changes}.")
    undecided = None
    if brief.undecided:
        count = len(brief.undecided)
        labels = ", ".join(f"“{g.label}”" for g in brief.grounds if g.id in brief.undecided)
        undecided = (f"Storybook cannot tell yet whether {count} of the required grounds "
                     f"hold{'s' if count == 1 else ''}: {labels}. Each says below what evidence it lacks.")
    grounds = tuple(GroundWording(
        ground=g,
        outcome=_capitalised(OUTCOME_WORDS[g.outcome]),
        needed="required for go" if g.required else "a condition of go",
        section=HEADINGS.get(g.section, g.section),
        condition=f"Condition: {g.condition}" if not g.required and g.outcome != "holds" else None,
        source=f"from {g.source}",
        see=f"see {HEADINGS.get(g.section, g.section)}",
    ) for g in brief.grounds)
    return DecisionWording(
        heading=f"{HEADINGS['decision']}: {brief.spec.question}",
        owner=owner,
        recommends=said("Storybook recommends: ", strong(_capitalised(brief.recommendation)), f". {brief.action}"),
        person=person,
        person_kind=kind,
        changed=changed,
        undecided=undecided,
        grounds=grounds,
        summary_conditions=" ".join(full_stop(c) for c in brief.conditions),
        why=f"Why: {brief.rule}",
    )
