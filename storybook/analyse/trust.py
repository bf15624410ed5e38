"""Trust levels: how far a reader can rely on the model, the data and the system, and why.

Each area earns a :class:`Level` from evidence only: automatic checks (:mod:`storybook.analyse.trust_checks`)
with their figures, and attestations signed by a named person. No evidence, no level. The rule for each
level is a sentence the reader sees (:func:`level_rules`), and every result says what would raise it.

The ML Test Score rubric of Breck et al. (2017) scores the system's testing practice; see :data:`RUBRIC`.

Pure functions: no I/O, no clock (dates arrive as ISO strings from the caller).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import IntEnum
from typing import Literal

from storybook.analyse.plain import lower_first
from storybook.analyse.trust_checks.evidence import CHECK_TITLES, Area, Evidence

__all__ = [
    "AREAS",
    "BANDS",
    "RUBRIC",
    "RUBRIC_CHECKS",
    "SECTIONS",
    "Attestation",
    "Level",
    "LevelResult",
    "RubricItem",
    "RubricScore",
    "RubricTest",
    "Section",
    "level_for",
    "level_rules",
    "levels_for",
    "rubric_band",
    "score_rubric",
]

AREAS: tuple[Area, ...] = ("model", "data", "system")
STRONG_MIN = 3
ESTABLISHED_MIN = 2


class Level(IntEnum):
    """How far a reader can rely on one area; ordered none < emerging < established < strong."""

    NONE = 0
    EMERGING = 1
    ESTABLISHED = 2
    STRONG = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def meaning(self) -> str:
        """What the level tells a reader."""
        return {
            Level.NONE: "Nothing yet shows that this can be relied on.",
            Level.EMERGING: "There is some evidence, but also gaps or failed checks: read the details before "
                            "relying on it.",
            Level.ESTABLISHED: "Every check that could run passed: it can be relied on with the usual care.",
            Level.STRONG: "A broad set of checks all ran and passed, and a named person vouches for it.",
        }[self]


@dataclass(frozen=True)
class Attestation:
    """A person's signed statement that covers one check: a storybook check id ("model.calibration") or an
    ML Test Score test id ("infra-1"). ``when`` is an ISO date ("2024-03-04") given by the caller;
    ``automated`` says the attested work runs automatically and repeatedly (a full rubric point)."""

    who: str
    role: str
    when: str
    statement: str
    check: str
    automated: bool = False

    def __post_init__(self) -> None:
        try:
            date.fromisoformat(self.when)
        except ValueError:
            raise ValueError(f"an attestation's date must be an ISO date such as 2024-03-04, not {self.when!r}"
                             ) from None

    @property
    def area(self) -> Area | None:
        """The area the covered check belongs to; None for an id storybook does not know."""
        if "." in self.check:
            head = self.check.split(".", 1)[0]
        elif self.check in _RUBRIC_IDS:
            head = self.check.split("-", 1)[0]
        else:
            return None
        areas: dict[str, Area] = {"model": "model", "data": "data", "system": "system", "infra": "system",
                                  "monitor": "system"}
        return areas.get(head)


def level_rules(strong_min: int = STRONG_MIN, established_min: int = ESTABLISHED_MIN) -> dict[Level, str]:
    """The rule for each level, as the reader sees it."""
    return {
        Level.STRONG: f"Strong: every check ran and passed, at least {strong_min} different checks ran, and a "
                      "named person attested to the work.",
        Level.ESTABLISHED: f"Established: at least {established_min} different checks ran and every check that "
                           "ran passed.",
        Level.EMERGING: "Emerging: at least one check passed, or a named person attested to the work.",
        Level.NONE: "None: no check has passed and no one has attested; without evidence there is no level.",
    }


@dataclass(frozen=True)
class LevelResult:
    """The level one area earned, the rule that gave it, the counts behind it and what would raise it.

    Counts of "different checks" count check ids, so one check run on five metrics counts once.
    ``to_raise`` lists what stands between this level and the next one (empty at strong).
    """

    area: Area
    level: Level
    rule: str
    rules: tuple[str, ...]
    checks_ran: int
    checks_passed: int
    failed: int
    not_checked: int
    attested: int
    to_raise: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    attestations: tuple[Attestation, ...]


def level_for(evidence: Sequence[Evidence], attestations: Sequence[Attestation] = (), *, area: Area,
              expected: Collection[str] | None = None, strong_min: int = STRONG_MIN,
              established_min: int = ESTABLISHED_MIN) -> LevelResult:
    """The level of one area from the evidence and attestations that belong to it (others are ignored).

    ``expected`` lists the check ids the area could have (default: every check of the area storybook
    knows); those that have not run are named in ``to_raise`` when more checks are needed.
    """
    if not 1 <= established_min <= strong_min:
        raise ValueError("the level rules need 1 <= established_min <= strong_min")
    mine = tuple(e for e in evidence if e.area == area)
    signed = tuple(a for a in attestations if a.area == area)
    ran = {e.check for e in mine if e.passed is not None}
    failures = [e for e in mine if e.passed is False]
    unchecked = [e for e in mine if e.passed is None]
    passed_ids = {e.check for e in mine if e.passed is True}
    failed_ids = {e.check for e in failures}
    clean = not failures

    if clean and not unchecked and len(ran) >= strong_min and signed:
        level = Level.STRONG
    elif clean and len(ran) >= established_min:
        level = Level.ESTABLISHED
    elif passed_ids or signed:
        level = Level.EMERGING
    else:
        level = Level.NONE

    known = [c for c in CHECK_TITLES if c.startswith(f"{area}.")] if expected is None else list(expected)
    not_run = [c for c in known if c not in {e.check for e in mine}]

    def more(needed: int) -> list[str]:
        short = needed - len(ran)
        if short <= 0:
            return []
        names = f"; not run yet: {', '.join(CHECK_TITLES.get(c, c) for c in not_run)}" if not_run else ""
        return [f"Run {short} more different {area} check{'s' if short != 1 else ''}{names}."]

    fix = [f"Make this check pass ({e.title}): {e.sentence}" for e in failures]
    supply = [f"Give this check what it needs to run ({e.title}): {e.sentence}" for e in unchecked]
    attest = f"Ask a person responsible for the {area} to attest to it (name, role, date and statement)."
    steps: list[str]
    if level is Level.NONE:
        steps = [*fix, *supply, *more(1), f"Or: {lower_first(attest)}"]
    elif level is Level.EMERGING:
        steps = [*fix, *more(established_min)]
    elif level is Level.ESTABLISHED:
        steps = [*supply, *more(strong_min), *([] if signed else [attest])]
    else:
        steps = []

    rules = level_rules(strong_min, established_min)
    return LevelResult(
        area=area, level=level, rule=rules[level], rules=tuple(rules.values()), checks_ran=len(ran),
        checks_passed=len(passed_ids - failed_ids), failed=len(failures), not_checked=len(unchecked),
        attested=len(signed), to_raise=tuple(steps), evidence=mine, attestations=signed,
    )


def levels_for(evidence: Sequence[Evidence], attestations: Sequence[Attestation] = (), *,
               strong_min: int = STRONG_MIN, established_min: int = ESTABLISHED_MIN,
               expected: Mapping[Area, Collection[str]] | None = None) -> tuple[LevelResult, ...]:
    """:func:`level_for` for each area, in the order model, data, system; ``expected`` lists, per area, the
    checks a story of its kind could have (default: every check of the area)."""
    return tuple(level_for(evidence, attestations, area=area, strong_min=strong_min,
                           established_min=established_min, expected=(expected or {}).get(area))
                 for area in AREAS)


# --- the ML Test Score rubric --------------------------------------------------------------------------

Section = Literal["data", "model", "infrastructure", "monitoring"]


@dataclass(frozen=True)
class RubricTest:
    id: str
    section: Section
    title: str


def _section(section: Section, prefix: str, titles: Sequence[str]) -> tuple[RubricTest, ...]:
    return tuple(RubricTest(f"{prefix}-{i}", section, title) for i, title in enumerate(titles, start=1))


# Breck, Cai, Nielsen, Salib and Sculley, "The ML Test Score: A Rubric for ML Production Readiness and
# Technical Debt Reduction", IEEE Big Data 2017, Tables I-IV. The titles follow the paper's test names as
# closely as storybook's authors recall them; where the wording is not the paper's exact phrasing, it is a
# faithful paraphrase. The count (28), the grouping (7 per section) and the order are the paper's. (The
# 2016 workshop version, "What's your ML Test Score?", words the tests differently and scores 1 + 1 points.)
RUBRIC: tuple[RubricTest, ...] = (
    *_section("data", "data", (
        "Feature expectations are captured in a schema",
        "All features are beneficial",
        "No feature's cost is too much",
        "Features adhere to meta-level requirements",
        "The data pipeline has appropriate privacy controls",
        "New features can be added quickly",
        "All input feature code is tested",
    )),
    *_section("model", "model", (
        "Model specs are reviewed and submitted",
        "Offline and online metrics correlate",
        "All hyperparameters have been tuned",
        "The impact of model staleness is known",
        "A simpler model is not better",
        "Model quality is sufficient on important data slices",
        "The model is tested for considerations of inclusion",
    )),
    *_section("infrastructure", "infra", (
        "Training is reproducible",
        "Model specs are unit tested",
        "The ML pipeline is integration tested",
        "Model quality is validated before serving",
        "The model is debuggable",
        "Models are canaried before serving",
        "Serving models can be rolled back",
    )),
    *_section("monitoring", "monitor", (
        "Dependency changes result in notification",
        "Data invariants hold for inputs",
        "Training and serving are not skewed",
        "Models are not too stale",
        "Models are numerically stable",
        "Computing performance has not regressed",
        "Prediction quality has not regressed",
    )),
)
_RUBRIC_IDS = frozenset(t.id for t in RUBRIC)
SECTIONS: tuple[Section, ...] = ("data", "model", "infrastructure", "monitoring")

# Which automatic storybook check counts as running which rubric test (a project can pass its own map).
RUBRIC_CHECKS: dict[str, str] = {
    "model.slice_gaps": "model-6",          # model quality on important data slices
    "data.weak_groups": "model-6",          # ... and on the slices nobody declared (the scan for weak groups)
    "model.held_out": "infra-4",            # quality validated against a declared minimum
    "model.previous_version": "infra-4",    # ... and against the version before
    "data.shift": "monitor-3",              # training and serving inputs compared
    "system.guardrails": "monitor-7",       # the paper's bias check: mean prediction watched in production
    "system.change": "monitor-7",
    "system.estimate_guardrails": "monitor-7",  # prediction quality watched per window, before and after labels
}

# The paper's interpretation of the final score (Table V): upper bound of each band, and what it says.
BANDS: tuple[tuple[float, str], ...] = (
    (0.0, "More of a research project than a productionized system."),
    (1.0, "Not totally untested, but it is worth considering the possibility of serious holes in reliability."),
    (2.0, "There's been first pass at basic productionization, but additional investment may be needed."),
    (3.0, "Reasonably tested, but it's possible that more of those tests and procedures may be automated."),
    (5.0, "Strong levels of automated testing and monitoring, appropriate for mission-critical systems."),
    (float("inf"), "Exceptional levels of automated testing and monitoring."),
)


def rubric_band(score: float) -> str:
    """The paper's reading of a final score: 0, (0, 1], (1, 2], (2, 3], (3, 5], above 5."""
    if score < 0:
        raise ValueError(f"an ML Test Score is never negative, not {score!r}")
    return next(text for upper, text in BANDS if score <= upper)


@dataclass(frozen=True)
class RubricItem:
    """One rubric test: 0 (not done), 0.5 (done by hand, documented) or 1 (automated, run repeatedly)."""

    test: RubricTest
    points: float
    basis: str


@dataclass(frozen=True)
class RubricScore:
    """Per-test points, section sums, and the final score: the MINIMUM of the four section sums."""

    items: tuple[RubricItem, ...]
    sections: dict[Section, float]
    score: float
    band: str

    @property
    def weakest(self) -> tuple[Section, ...]:
        return tuple(s for s in SECTIONS if self.sections[s] == self.score)

    @property
    def sentence(self) -> str:
        parts = ", ".join(f"{s} {self.sections[s]:g}" for s in SECTIONS)
        return (f"ML Test Score {self.score:g} out of 7, the lowest of its four sections ({parts}): "
                f"{lower_first(self.band)}")


def score_rubric(evidence: Sequence[Evidence], attestations: Sequence[Attestation] = (), *,
                 checks: Mapping[str, str] = RUBRIC_CHECKS) -> RubricScore:
    """Score the 28 tests as the paper does, from storybook's own evidence and people's attestations.

    - An automatic check that ran (passed or failed: the rubric scores whether a test is run, not its
      outcome) ticks the test ``checks`` maps it to: 1 point, as storybook runs it on every build.
    - An attestation covering a test id (or a check mapped to one) gives 0.5, or 1 when it says the work is
      automated. A test takes its best tick.
    """
    unknown = sorted(set(checks.values()) - _RUBRIC_IDS)
    if unknown:
        raise ValueError(f"not ML Test Score test ids: {', '.join(unknown)}")
    best: dict[str, tuple[float, str]] = {}

    def tick(test_id: str | None, points: float, basis: str) -> None:
        if test_id in _RUBRIC_IDS and (test_id not in best or points > best[test_id][0]):
            best[test_id] = (points, basis)

    for e in evidence:
        if e.passed is not None:
            tick(checks.get(e.check), 1.0, f"automatic check: {e.title} ({e.source})")
    for a in attestations:
        how = "automated" if a.automated else "done by hand and documented"
        target = a.check if a.check in _RUBRIC_IDS else checks.get(a.check)
        tick(target, 1.0 if a.automated else 0.5, f"attested by {a.who} ({a.role}) on {a.when}: {how}")
    items = tuple(RubricItem(t, *best.get(t.id, (0.0, "not done"))) for t in RUBRIC)
    sections: dict[Section, float] = {s: sum(i.points for i in items if i.test.section == s) for s in SECTIONS}
    score = min(sections.values())
    return RubricScore(items=items, sections=sections, score=score, band=rubric_band(score))
