"""The trust section's sentences and headings (analyse/trust_words.py), built in Python for the templates."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

from storybook.analyse.page_words import Part
from storybook.analyse.trust import Level
from storybook.analyse.trust_checks.evidence import Evidence
from storybook.analyse.trust_story import TrustReport
from storybook.analyse.trust_words import VERDICTS, trust_wording


def _report(*levels: tuple[str, Level] | tuple[str, Level, tuple[Evidence, ...]]) -> TrustReport:
    return cast(TrustReport, SimpleNamespace(
        spec=SimpleNamespace(owner="The screening team"),
        levels=tuple(SimpleNamespace(area=area, level=level, evidence=evidence, rule=f"the {area} rule")
                     for area, level, *rest in levels for evidence in (rest[0] if rest else (),))))


def test_each_level_is_named_in_the_table_its_heading_and_the_summary() -> None:
    said = trust_wording(_report(("model", Level.ESTABLISHED), ("data", Level.NONE), ("system", Level.STRONG)))
    assert said.lead.endswith("statements people signed. The screening team answers for this report.")
    assert said.areas == ("The model", "The data", "The system")
    assert said.whys == ("Why: the model rule", "Why: the data rule", "Why: the system rule")
    assert said.headings == ("Trust in the model: established", "Trust in the data: none",
                             "Trust in the system: strong")
    assert said.summary == (Part("The model: "), Part("established", "strong"), Part(" · The data: "),
                            Part("none", "strong"), Part(" · The system: "), Part("strong", "strong"), Part("."))


def test_evidence_verdicts() -> None:
    assert [VERDICTS[v] for v in (True, False, None)] == ["Passed", "Not passed", "Could not check"]


def test_the_summary_never_hides_a_failed_check() -> None:
    broken = Evidence("system", "system.guardrails", "The average forecast broke its upper guardrail of 400 on 22 "
                      "September 2026, at 152,000.", False, {}, "metric mean_prediction of run r")
    held = Evidence("system", "system.deployments", "Two deployments are recorded.", True, {}, "registry")
    unknown = Evidence("data", "data.shift", "No production inputs were logged.", None, {}, "run r")
    gap = Evidence("model", "model.slice_gaps", "The recall differs by 30 points between sites.", False, {}, "r")
    gap_again = Evidence("model", "model.slice_gaps", "The precision differs by 25 points.", False, {}, "r")
    said = trust_wording(_report(("model", Level.EMERGING, (gap, gap_again)), ("data", Level.NONE, (unknown,)),
                                 ("system", Level.EMERGING, (held, broken))))
    assert said.failures == ("Not passed: The average forecast broke its upper guardrail of 400 on 22 September "
                             "2026, at 152,000.",
                             "Not passed: 2 other checks; the full story says which and how.")
    assert trust_wording(_report(("model", Level.EMERGING, (gap,)))).failures == (
        "Not passed: 1 check; the full story says which and how.",)
    assert trust_wording(_report(("system", Level.STRONG, (held,)))).failures == ()
