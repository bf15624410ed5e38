"""The trust report in words: the sentences and headings of the trust section and of the summary's trust block,
built once here; the templates lay them out (``analyse/trust.py`` and ``trust_story.py`` compute the levels)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from storybook.analyse.page_words import Part, Said, said, strong
from storybook.analyse.trust_story import TrustReport

__all__ = ["VERDICTS", "TrustWording", "trust_wording"]

# A piece of evidence: passed (True), not passed (False) or could not be checked (None).
VERDICTS: Mapping[bool | None, str] = {True: "Passed", False: "Not passed", None: "Could not check"}


@dataclass(frozen=True)
class TrustWording:
    lead: str
    areas: tuple[str, ...]  # each level's row in the table at a glance ("The model"), in the report's order
    headings: tuple[str, ...]  # each level's heading ("Trust in the model: established")
    summary: Said  # the one-page summary's line: each area and its level
    # every check the full page marks "Not passed", so the one-page summary never hides a failure: a broken
    # guardrail in full, the other failed checks counted
    failures: tuple[str, ...] = ()
    whys: tuple[str, ...] = ()  # each level's rule: "Why: ...", in the report's order


def trust_wording(trust: TrustReport) -> TrustWording:
    summary: list[str | Part] = []
    for index, level in enumerate(trust.levels):
        summary += [f"{' · ' if index else ''}The {level.area}: ", strong(level.level.label)]
    return TrustWording(
        lead=("Trust is earned at three levels: in the model, in the data it learned from and is used on, and in "
              "the way it sits in day-to-day work. Each level below comes from checks storybook ran on this build "
              f"and from statements people signed. {trust.spec.owner} answers for this report."),
        areas=tuple(f"The {level.area}" for level in trust.levels),
        headings=tuple(f"Trust in the {level.area}: {level.level.label}" for level in trust.levels),
        summary=said(*summary, "."),
        whys=tuple(f"Why: {level.rule}" for level in trust.levels),
        failures=_failures(trust),
    )


# A production failure the summary tells in full (the day a guardrail broke, the reading that broke it); the
# other failed checks are counted in one line, so the summary stays one page.
_TOLD_IN_FULL = ("system.guardrails",)


def _failures(trust: TrustReport) -> tuple[str, ...]:
    failed = [e for level in trust.levels for e in level.evidence if e.passed is False]
    told = [f"{VERDICTS[False]}: {e.sentence}" for e in failed if e.check in _TOLD_IN_FULL]
    others = len(failed) - len(told)
    if others:
        other = " other" if told else ""
        checks = f"1{other} check" if others == 1 else f"{others:,}{other} checks"
        told.append(f"{VERDICTS[False]}: {checks}; the full story says which and how.")
    return tuple(told)
