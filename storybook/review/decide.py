"""The decision brief of one story as it stands now, for ``storybook sign`` to record next to the content hash.

It reuses the build's stages (the pinned snapshot when there is one, MLflow otherwise; then the analysis), so
what is signed is what the page shows.
"""

from __future__ import annotations

from storybook.analyse.decision import DecisionBrief
from storybook.errors import SourceError
from storybook.resolve.source import open_source
from storybook.sources.loader import Project, StorySource

__all__ = ["current_brief", "decision_argument"]


def decision_argument(text: str) -> str:
    """``--decision`` as typed (``go``, ``no-go``, ``go-with-conditions``) to the recorded words."""
    words = text.strip().lower().replace("_", " ").replace("-", " ")
    chosen = {"go": "go", "no go": "no-go", "nogo": "no-go", "go with conditions": "go with conditions"}.get(words)
    if chosen is None:
        raise SourceError(f"--decision is go, no-go or go-with-conditions, not {text!r}",
                          hint="pass --decision go, --decision no-go or --decision go-with-conditions")
    return chosen


def current_brief(project: Project, story: StorySource) -> DecisionBrief | None:
    """The story's decision brief from its snapshot (or MLflow), or None when it declares no decision."""
    if story.config.decision is None:
        return None
    from storybook.analyse.story import analyse_story

    return analyse_story(story, open_source(project).resolve(story), project.config).decision

