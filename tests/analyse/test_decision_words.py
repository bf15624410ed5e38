"""The decision brief's sentences (analyse/decision_words.py), built in Python for the templates to lay out."""

from __future__ import annotations

from storybook.analyse.decision import DecisionBrief, GroundChange, GroundResult, PersonDecision
from storybook.analyse.decision_words import decision_wording
from storybook.analyse.page_words import Part, Said
from storybook.sources.schema import DecisionSpec


def _text(said: Said | None) -> str:
    assert said is not None
    return "".join(part.text for part in said)


def _ground(id_: str, outcome: str, *, required: bool = True, section: str = "quantitative-analyses") -> GroundResult:
    return GroundResult(id=id_, kind="metric", label=f"ground {id_}", required=required,
                        condition=None if required else f"watch {id_} monthly", outcome=outcome,  # type: ignore[arg-type]
                        value=None, low=None, high=None, bound="", sentence="", section=section, source="MLflow")


def _brief(*grounds: GroundResult, **changes: object) -> DecisionBrief:
    spec = DecisionSpec.model_construct(question="Use it in clinics?", owner="The clinical lead")
    fields: dict[str, object] = dict(spec=spec, recommendation="cannot decide", action="Wait for more data.",
                                     rule="", grounds=grounds, conditions=(), undecided=())
    fields.update(changes)
    return DecisionBrief(**fields)  # type: ignore[arg-type]


def test_undecided_grounds_are_counted_with_the_right_verb() -> None:
    one = decision_wording(_brief(_ground("a", "cannot tell"), _ground("b", "holds"), undecided=("a",)))
    assert one.undecided == ("Storybook cannot tell yet whether 1 of the required grounds holds: “ground a”. "
                             "Each says below what evidence it lacks.")
    two = decision_wording(_brief(_ground("a", "cannot tell"), _ground("b", "cannot tell"), undecided=("a", "b")))
    assert two.undecided is not None and "whether 2 of the required grounds hold: “ground a”, “ground b”." in (
        two.undecided)
    assert one.heading == "The decision: Use it in clinics?"
    assert one.owner is not None and one.owner.startswith("For The clinical lead to decide.")
    assert one.recommends == (Part("Storybook recommends: "), Part("Cannot decide", "strong"),
                              Part(". Wait for more data."))


def test_each_ground_says_its_outcome_need_section_and_condition() -> None:
    said = decision_wording(_brief(_ground("a", "cannot tell"), _ground("c", "fails", required=False,
                                                                          section="cost-of-error"),
                                   _ground("d", "holds", required=False), conditions=("watch c monthly",)))
    a, c, d = said.grounds
    assert (a.outcome, a.needed, a.section, a.condition) == ("Cannot be told", "required for go",
                                                             "Quantitative analyses", None)
    assert (c.outcome, c.needed, c.section, c.condition) == ("Fails", "a condition of go", "What mistakes cost",
                                                             "Condition: watch c monthly")
    assert d.condition is None  # a condition that holds is not repeated
    assert (c.source, c.see) == ("from MLflow", "see What mistakes cost")
    assert decision_wording(_brief(rule="every required ground holds")).why == "Why: every required ground holds"
    assert said.summary_conditions == "watch c monthly."


def test_what_a_person_decided_and_whether_it_still_stands() -> None:
    person = PersonDecision("Sam Lee", "head of screening", "3 December 2026", "no-go", "too few cases", True, False)
    overruled = decision_wording(_brief(person=person))
    assert overruled.person_kind == "overruled"
    assert _text(overruled.person) == ("Overruled by Sam Lee, head of screening on 3 December 2026: decided no-go "
                                       "instead. Their reason: too few cases")
    agreed = decision_wording(_brief(person=PersonDecision("Sam Lee", "lead", "1 May", "go", "fine", True, True)))
    assert agreed.person_kind == "agreed" and _text(agreed.person) == "Agreed by Sam Lee, lead on 1 May: fine"
    stale = decision_wording(_brief(person=PersonDecision("Sam Lee", "lead", "1 May", "go", "fine", False, True)))
    assert stale.person_kind == "stale"
    assert _text(stale.person).startswith('Sam Lee, lead, decided go on 1 May ("fine"), but for an earlier version')
    assert decision_wording(_brief()).person is None


def test_grounds_that_stopped_holding_since_the_sign_off() -> None:
    changes = (GroundChange("a", "ground a", "holds", "cannot tell"), GroundChange("b", "ground b", "fails", "holds"))
    said = decision_wording(_brief(changes=changes, compared_with="the version signed on 1 May"))
    assert _text(said.changed) == ("The grounds for this decision have changed since the version signed on 1 May: "
                                   "“ground a” holds then and cannot be told now; “ground b” fails then and holds "
                                   "now.")
    unchanged = decision_wording(_brief(changes=(GroundChange("b", "ground b", "fails", "holds"),)))
    assert unchanged.changed is None  # nothing stopped holding
