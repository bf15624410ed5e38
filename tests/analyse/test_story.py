"""The one composer (storybook.analyse.story): each version's scored set is built once and the same object is
handed to every analysis that reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import storybook.analyse.story as composer
import storybook.resolve.scored as scored_module
from storybook.resolve.scored import ScoredSet
from storybook.resolve.source import open_source
from storybook.sources.loader import StorySource, load_project


def test_each_version_s_scored_set_is_built_once_and_handed_to_every_analysis(
        project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = load_project(project_copy)
    story = next(s for s in project.stories if isinstance(s, StorySource))
    built: list[ScoredSet] = []
    real_scored_set = scored_module.scored_set

    def counting_scored_set(*args: Any, **kwargs: Any) -> ScoredSet:
        made = real_scored_set(*args, **kwargs)
        built.append(made)
        return made

    received: dict[str, tuple[object, object]] = {}
    real_trust, real_decision = composer.analyse_trust, composer.analyse_decision

    def trust(*args: Any, **kwargs: Any) -> Any:
        received["trust"] = (args[3], kwargs["compared_set"])
        return real_trust(*args, **kwargs)

    def decision(*args: Any, **kwargs: Any) -> Any:
        received["decision"] = (args[5], kwargs["compared_set"])
        return real_decision(*args, **kwargs)

    monkeypatch.setattr(scored_module, "scored_set", counting_scored_set)
    monkeypatch.setattr(composer, "analyse_trust", trust)
    monkeypatch.setattr(composer, "analyse_decision", decision)
    # Resolving live checks each version's set once, where it is read (drivers and history reuse it) ...
    resolved = open_source(project).resolve(story)
    assert resolved.evaluation is not None and resolved.compared is not None
    assert len(built) == 2, "one scored set for the story's version and one for the compared version"
    assert resolved.scored is built[0] and resolved.compared.scored is built[1]
    # ... and the analysis builds none of its own: every part gets those same objects.
    analysis = composer.analyse_story(story, resolved, project.config)

    assert len(built) == 2, "one scored set for the story's version and one for the compared version"
    own, compared = built
    assert own.frame is resolved.evaluation and compared.frame is resolved.compared.evaluation
    assert received["trust"][0] is own and received["trust"][1] is compared
    assert received["decision"][0] is own and received["decision"][1] is compared
    assert analysis.trust is not None and analysis.decision is not None and analysis.cost is not None
    # The card reads the same threshold, and says where it came from, without reading the params again.
    assert analysis.card.threshold == own.threshold == 0.5
    assert analysis.card.threshold_source == own.threshold_source != ""
    overall = analysis.card.overall
    assert overall is not None and overall.n == own.n == 171
    assert overall.positives == int(own.labels.sum())
