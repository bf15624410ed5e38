"""``storybook pin``: resolve stories against MLflow and write their snapshots (the only writer of them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from storybook.errors import StorybookError, StoryError, TrackingError
from storybook.resolve.snapshot import SnapshotChange, write_snapshot
from storybook.resolve.source import open_source
from storybook.resolve.tracking import display_uri
from storybook.sources.loader import BrokenStory, load_project

__all__ = ["PinReport", "pin"]


@dataclass
class PinReport:
    pinned: dict[str, SnapshotChange] = field(default_factory=dict)
    failed: dict[str, StorybookError] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


def pin(root: Path, only: list[str] | None = None,
        on_story: Callable[[str, SnapshotChange | None, StorybookError | None], None] | None = None) -> PinReport:
    """Resolve each story (or only the slugs given) against MLflow and write ``stories/<slug>/snapshot.json``.

    Raises ConfigError for project-wide problems; a story that fails is reported and the others are pinned.
    """
    project = load_project(root, only)
    source = open_source(project).mlflow  # pin reads MLflow even for pinned stories: it refreshes them
    # The URI as storybook.yaml writes it (relative sqlite paths stay relative), so a snapshot pinned on one
    # machine does not differ on every line from one pinned on another; never with credentials.
    portable = display_uri(project.config.tracking_uri) if project.config.tracking_uri else source.shown_uri

    def scrub(text: str) -> str:
        return source.secrets.scrub(text).replace(source.shown_uri, portable)

    report = PinReport()
    source.prefetch([s for s in project.stories if not isinstance(s, BrokenStory)])  # batched MLflow reads
    for story in project.stories:
        if isinstance(story, BrokenStory):
            report.failed[story.slug] = story.error
            if on_story:
                on_story(story.slug, None, story.error)
            continue
        try:
            resolved = source.resolve(story)
            change = write_snapshot(story, resolved, source=portable, scrub=scrub)
        except (StoryError, TrackingError) as error:
            report.failed[story.slug] = error
            if on_story:
                on_story(story.slug, None, error)
            continue
        report.pinned[story.slug] = change
        if on_story:
            on_story(story.slug, change, None)
    return report
