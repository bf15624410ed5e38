"""Decision briefs: a recommendation (go, no-go, go with conditions) whose every ground is tied to evidence.

The author declares, under ``decision:`` in story.yaml, the question, what each answer means, and the
criteria: each a typed ground (:mod:`storybook.analyse.decision_grounds`) that is either **required** for
"go" or only a **condition** (``required: false``, with the condition the author wrote). Each ground comes
out as "holds", "fails" or "cannot tell" (:mod:`storybook.analyse.decision_judge`), and the recommendation
follows these rules, in this order (the reader sees them, see :data:`RULES`):

1. **No-go** when any required ground fails.
2. **Go** when every required ground holds and every condition holds.
3. **Go with conditions** when every required ground holds but some condition does not (it fails, or
   cannot be told): the conditions of those grounds are the conditions of the "go".
4. **Cannot decide** otherwise, i.e. no required ground fails but at least one cannot be told: storybook
   names the grounds that lack evidence and recommends nothing. (A required ground is one the author said
   must hold; "we could not tell" is not "it holds", and it is not "it fails" either.)

People may decide otherwise. A decision recorded with ``storybook sign --decision ... --reason ...`` is
bound to the story's content hash like any sign-off; :func:`settle` shows it next to the computed
recommendation (never instead of it) and compares the grounds' outcomes recorded when the story was signed
with today's: a ground that held then and does not now means "the grounds for this decision have changed".

Pure: no I/O and no clock; sign-off records arrive from the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal, Protocol

from storybook.analyse.classification import Estimate
from storybook.analyse.comparison import Comparison, compare_versions, version_ref
from storybook.analyse.decision_grounds import GroundInputs, evaluate
from storybook.analyse.decision_judge import GroundResult, Outcome, Scored, case_ids
from storybook.analyse.task_versions import TaskVersion
from storybook.resolve.resolved import ModelVersionRecord, ResolvedStory
from storybook.resolve.scored import AnyScoredSet, ScoredSet
from storybook.resolve.scored_multiclass import MulticlassSet
from storybook.resolve.scored_regression import RegressionSet
from storybook.sources.schema import DecisionSpec, StoryConfig

if TYPE_CHECKING:

    from storybook.analyse.card import ModelCard
    from storybook.analyse.cost_story import CostStory
    from storybook.analyse.trust_story import TrustReport

__all__ = [
    "OUTCOMES",
    "RECOMMENDATIONS",
    "RULES",
    "DecisionBrief",
    "GroundChange",
    "GroundResult",
    "Outcome",
    "PersonDecision",
    "Recommendation",
    "SignedRecord",
    "analyse_decision",
    "ground_changes",
    "grounds_record",
    "recommend",
    "settle",
]

Recommendation = Literal["go", "no-go", "go with conditions", "cannot decide"]
RECOMMENDATIONS: tuple[Recommendation, ...] = ("go", "no-go", "go with conditions", "cannot decide")
OUTCOMES: tuple[Outcome, ...] = ("holds", "fails", "cannot tell")
RULES: dict[Recommendation, str] = {
    "no-go": "No-go: at least one required ground fails.",
    "go": "Go: every required ground holds, and so does every condition.",
    "go with conditions": "Go with conditions: every required ground holds, but some conditions do not (yet); "
                          "the go stands only with those conditions met.",
    "cannot decide": "Cannot decide: no required ground fails, but at least one cannot be told from the evidence "
                     "there is; storybook recommends nothing until it can.",
}


@dataclass(frozen=True)
class GroundChange:
    """A ground whose outcome differs from the one recorded when the story was signed."""

    id: str
    label: str
    before: str
    after: str

    @property
    def stopped_holding(self) -> bool:
        return self.before == "holds" and self.after != "holds"


@dataclass(frozen=True)
class PersonDecision:
    """A decision a person recorded with a reason (``storybook sign --decision``), and how it stands."""

    name: str
    role: str
    date: str
    decision: str
    reason: str
    current: bool
    agrees: bool

    @property
    def overrules(self) -> bool:
        return self.current and not self.agrees


@dataclass(frozen=True)
class DecisionBrief:
    """The recommendation, the rule that gave it, each ground judged, and what people recorded about it."""

    spec: DecisionSpec
    recommendation: Recommendation
    action: str
    rule: str
    grounds: tuple[GroundResult, ...]
    conditions: tuple[str, ...]
    undecided: tuple[str, ...]
    person: PersonDecision | None = None
    compared_with: str | None = None
    changes: tuple[GroundChange, ...] = ()
    direction: str | None = None  # which version is in use and which would replace it (or that it is not known)

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(RULES[r] for r in ("no-go", "go", "go with conditions", "cannot decide"))

    @property
    def grounds_changed(self) -> bool:
        return any(change.stopped_holding for change in self.changes)


class SignedRecord(Protocol):
    """What :func:`settle` reads of a sign-off (``storybook.review.signoff.SignoffStatus`` has all of it)."""

    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def date(self) -> str: ...
    @property
    def current(self) -> bool: ...
    @property
    def decision(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def grounds(self) -> Mapping[str, str]: ...


def recommend(grounds: Sequence[GroundResult]) -> tuple[Recommendation, tuple[str, ...], tuple[str, ...]]:
    """The recommendation by the rules of the module docstring, the conditions that apply, and the ids of the
    required grounds that cannot be told."""
    required = [g for g in grounds if g.required]
    if any(g.outcome == "fails" for g in required):
        return "no-go", (), ()
    undecided = tuple(g.id for g in required if g.outcome == "cannot tell")
    if undecided:
        return "cannot decide", (), undecided
    pending = tuple(g.condition or g.label for g in grounds if not g.required and g.outcome != "holds")
    return ("go with conditions" if pending else "go"), pending, ()


def _action(spec: DecisionSpec, recommendation: Recommendation) -> str:
    options = spec.options
    return {"go": options.go, "no-go": options.no_go,
            "go with conditions": options.go_with_conditions or options.go,
            "cannot decide": "Storybook does not recommend either way until the grounds below can be told."
            }[recommendation]


def _version_name(model: ModelVersionRecord | None, run_id: str) -> str:
    return version_ref(model, run_id).name


def analyse_decision(config: StoryConfig, resolved: ResolvedStory, card: ModelCard, cost: CostStory | None,
                     trust: TrustReport | None, scored: AnyScoredSet | None, comparison: Comparison | None = None,
                     compared_set: AnyScoredSet | None = None,
                     task_slices: Mapping[str, Sequence[tuple[str, Mapping[str, Estimate]]]] | None = None,
                     ) -> DecisionBrief:
    """Judge every criterion of ``config.decision`` and recommend by the rules. ``scored`` and ``compared_set``
    are the story's and the compared version's checked scored sets (:mod:`storybook.resolve.scored`), built once
    by the composer.

    ``comparison`` says which version is in use (:func:`storybook.analyse.comparison.compare_versions`; by
    default with the story's in-use alias, else ``champion``). ``task_slices``: a multiclass or regression
    story's results per group (slice column -> each group's figures by kind), as its page tells them."""
    if comparison is None:
        comparison = compare_versions(config, resolved, None)
    id_column = config.evaluation.id_column if config.evaluation is not None else None
    spec = config.decision
    assert spec is not None
    slice_columns = [s.column for s in config.slices]
    current_name = _version_name(resolved.model, resolved.run.run_id)
    artifact = config.evaluation.artifact if config.evaluation is not None else None
    other = resolved.compared
    current_task = compared_task = None   # a multiclass or regression story's versions
    if isinstance(scored, MulticlassSet | RegressionSet):
        current_task = TaskVersion(current_name, scored, f"evaluation set {artifact} of run {resolved.run.run_id[:12]}",
                                   ids=case_ids(scored.frame, id_column))
    if isinstance(compared_set, MulticlassSet | RegressionSet) and other is not None:
        compared_task = TaskVersion(_version_name(other.model, other.run.run_id), compared_set,
                                    f"evaluation set {artifact} of run {other.run.run_id[:12]}",
                                    ids=case_ids(compared_set.frame, id_column))
    # A counted set (an aggregate) gives no rows to compare case by case: its grounds read the card and costs.
    counted = isinstance(scored, ScoredSet) and scored.weights is not None
    scored = scored if isinstance(scored, ScoredSet) and scored.weights is None else None
    compared_set = compared_set if isinstance(compared_set, ScoredSet) and compared_set.weights is None else None
    current = None
    if scored is not None and card.threshold is not None and resolved.evaluation is not None:
        current = Scored(name=current_name, labels=scored.labels, scores=scored.scores, threshold=card.threshold,
                         groups=resolved.evaluation[[c for c in slice_columns if c in resolved.evaluation.columns]],
                         source=f"evaluation set {artifact} of run {resolved.run.run_id[:12]}",
                         ids=case_ids(resolved.evaluation, id_column))
    compared_name = _version_name(other.model, other.run.run_id) if other is not None else None
    compared = None
    evaluation = config.evaluation
    if other is not None and compared_set is not None and evaluation is not None and card.threshold is not None \
            and compared_name is not None:
        frame = compared_set.frame  # checked once by storybook.resolve.scored, like the story's own set
        compared = Scored(
            name=compared_name, labels=compared_set.labels, scores=compared_set.scores,
            threshold=compared_set.threshold, groups=frame[[c for c in slice_columns if c in frame.columns]],
            source=f"evaluation set {artifact} of run {other.run.run_id[:12]}", ids=case_ids(frame, id_column))
    inputs = GroundInputs(config=config, card=card, cost=cost, trust=trust, current_name=current_name,
                          current=current, compared_name=compared_name, compared=compared, comparison=comparison,
                          current_task=current_task, compared_task=compared_task,
                          task_slices=dict(task_slices or {}), counted=counted)
    grounds = tuple(evaluate(criterion, inputs) for criterion in spec.criteria)
    recommendation, conditions, undecided = recommend(grounds)
    return DecisionBrief(spec=spec, recommendation=recommendation, action=_action(spec, recommendation),
                         rule=RULES[recommendation], grounds=grounds, conditions=conditions, undecided=undecided,
                         direction=comparison.direction if comparison is not None else None)


def grounds_record(brief: DecisionBrief) -> dict[str, str]:
    """Each ground's outcome by id: what ``storybook sign`` records next to the content hash."""
    return {ground.id: ground.outcome for ground in brief.grounds}


def ground_changes(recorded: Mapping[str, str], brief: DecisionBrief) -> tuple[GroundChange, ...]:
    """Grounds whose outcome differs from ``recorded``; a recorded ground that is gone counts as changed."""
    now = {ground.id: ground for ground in brief.grounds}
    changes = []
    for ground_id, before in recorded.items():
        ground = now.get(ground_id)
        after = ground.outcome if ground is not None else "no longer a ground"
        if after != before:
            changes.append(GroundChange(ground_id, ground.label if ground is not None else ground_id, before, after))
    return tuple(changes)


def settle(brief: DecisionBrief, records: Sequence[SignedRecord]) -> DecisionBrief:
    """The brief with what people recorded: the latest decision a person took (current or stale), and the
    changes since the latest sign-off that recorded the grounds' outcomes."""
    person = None
    decided = [r for r in records if r.decision]
    if decided:
        last = decided[-1]
        person = PersonDecision(name=last.name, role=last.role, date=last.date[:10], decision=last.decision,
                                reason=last.reason, current=last.current, agrees=last.decision == brief.recommendation)
    recorded = [r for r in records if r.grounds]
    compared_with = None
    changes: tuple[GroundChange, ...] = ()
    if recorded:
        last_recorded = recorded[-1]
        compared_with = f"{last_recorded.name} ({last_recorded.role}) signed on {last_recorded.date[:10]}"
        changes = ground_changes(last_recorded.grounds, brief)
    return replace(brief, person=person, compared_with=compared_with, changes=changes)
