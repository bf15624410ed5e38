"""The trust section's sentences and headings (analyse/trust_words.py), built in Python for the templates."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

from storybook.analyse.page_words import Part
from storybook.analyse.trust import Level
from storybook.analyse.trust_story import TrustReport
from storybook.analyse.trust_words import VERDICTS, trust_wording


def _report(*levels: tuple[str, Level]) -> TrustReport:
    return cast(TrustReport, SimpleNamespace(
        spec=SimpleNamespace(owner="The screening team"),
        levels=tuple(SimpleNamespace(area=area, level=level) for area, level in levels)))


def test_each_level_is_named_in_the_table_its_heading_and_the_summary() -> None:
    said = trust_wording(_report(("model", Level.ESTABLISHED), ("data", Level.NONE), ("system", Level.STRONG)))
    assert said.lead.endswith("statements people signed. The screening team answers for this report.")
    assert said.areas == ("The model", "The data", "The system")
    assert said.headings == ("Trust in the model: established", "Trust in the data: none",
                             "Trust in the system: strong")
    assert said.summary == (Part("The model: "), Part("established", "strong"), Part(" · The data: "),
                            Part("none", "strong"), Part(" · The system: "), Part("strong", "strong"), Part("."))


def test_evidence_verdicts() -> None:
    assert [VERDICTS[v] for v in (True, False, None)] == ["Passed", "Not passed", "Could not check"]
