"""With ``--online``: whether MLflow still agrees with the values pinned in the snapshot."""

from __future__ import annotations

import json
import math

from storybook.errors import Location
from storybook.resolve.resolved import ResolvedStory
from storybook.resolve.snapshot import line_of, snapshot_path
from storybook.review.checks.findings import Collector
from storybook.sources.loader import StorySource


def drift(found: Collector, story: StorySource, pinned: ResolvedStory, fresh: ResolvedStory) -> None:
    path = snapshot_path(story.directory)
    text = path.read_text(encoding="utf-8")
    hint = f"if the change is expected, run `storybook pin --story {story.slug}` and review the diff"

    def differ(where: str, what: str, old: object, new: object) -> None:
        found.add("error", Location(path, line_of(text, where)), "pinned-drift",
                  f"{what} is pinned as {old} but MLflow now says {new}", hint)

    if (pinned.model is None) != (fresh.model is None) or (
            pinned.model is not None and fresh.model is not None
            and (pinned.model.version, pinned.model.run_id) != (fresh.model.version, fresh.model.run_id)):
        old = f"version {pinned.model.version}" if pinned.model else "no model"
        new = f"version {fresh.model.version}" if fresh.model else "no model"
        differ("resolved.model.version", story.config.model.describe(), old, new)
    for key in sorted(set(pinned.run.metrics) | set(fresh.run.metrics)):
        old_figure, new_figure = pinned.run.metrics.get(key), fresh.run.metrics.get(key)
        old_value = old_figure.value if old_figure else None
        new_value = new_figure.value if new_figure else None
        if not _same(old_value, new_value):
            differ(f"resolved.run.metrics.{key}.value", f"metric {key!r}", _text(old_value), _text(new_value))
    for key in sorted(set(pinned.run.params) | set(fresh.run.params)):
        if pinned.run.params.get(key) != fresh.run.params.get(key):
            differ(f"resolved.run.params.{key}", f"param {key!r}", json.dumps(pinned.run.params.get(key)),
                   json.dumps(fresh.run.params.get(key)))


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or (math.isnan(a) and math.isnan(b))


def _text(value: float | None) -> str:
    return "missing" if value is None else repr(value)
