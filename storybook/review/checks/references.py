"""Checks of ``{{ expressions }}`` and the values they reference, against the pinned snapshot (or MLflow)."""

from __future__ import annotations

import difflib

from storybook.errors import Location, StorybookError
from storybook.resolve.resolved import ResolvedStory
from storybook.review.checks.findings import CheckReport, Collector
from storybook.review.checks.prose import EXPRESSION
from storybook.sources.loader import StorySource


def expressions(found: Collector, story: StorySource, resolved: ResolvedStory | None) -> None:
    """Every ``{{ ... }}`` of every section, compiled by the build's own sandbox, each error on its line.

    With values at hand (the pinned snapshot, or MLflow with --online) every metric(), param(), tag(),
    claim(), model.* and evaluation.* reference is also looked up, by the build's own check
    (:func:`storybook.render.expressions.unknown_references`), so a missing key fails here, not at build.
    """
    from storybook.errors import ExpressionError
    from storybook.render.expressions import Reference, available_names, find_references, unknown_references

    task = story.config.task if story.config.evaluation is not None else None
    names = available_names(resolved, (claim.id for claim in story.config.claims or ()), task)
    for section in story.sections.values():
        text = section.text
        references: list[Reference] = []
        failed = False
        for match in EXPRESSION.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            try:
                references += find_references(match.group(0), Location(section.path, line))
            except ExpressionError as error:
                failed = True
                found.error(error, "expression", section.path)
        if not failed:
            try:
                find_references(text, Location(section.path, 1))  # what spans expressions (an unclosed {{)
            except ExpressionError as error:
                found.error(error, "expression", section.path)
        for missing in unknown_references(references, section.path, names):
            found.error(missing, "reference", section.path)


def stale_snapshot(story: StorySource) -> ResolvedStory | None:
    """The pinned values even when they no longer match story.yaml (to look references up), None if unreadable."""
    from storybook.resolve.source import read_pinned

    try:
        return read_pinned(story)
    except StorybookError:
        return None


def alias_in_snapshot(found: Collector, story: StorySource, pinned: ResolvedStory) -> None:
    """An alias story.yaml names that no version carries in the pinned registry data: a typo, found offline."""
    ref = story.config.model
    if ref.alias is None or pinned.model is None or ref.name != pinned.model.name:
        return
    aliases = {alias for version in (pinned.model, *pinned.versions) for alias in version.aliases}
    if pinned.history is not None:
        aliases |= set(pinned.history.aliases)
    if not aliases or ref.alias in aliases:
        return
    close = difflib.get_close_matches(ref.alias, sorted(aliases), n=1)
    found.add("error", story.yaml.location(("model", "alias")), "reference",
              f"no version of {ref.name!r} carries the alias {ref.alias!r} in the pinned registry data "
              f"(aliases there: {', '.join(sorted(aliases))})",
              f"did you mean {close[0]!r}?" if close else "check the alias in the MLflow registry, then "
              f"`storybook pin --story {story.slug}`")


def offline_gaps(report: CheckReport, story: StorySource, pinned: bool) -> None:
    """What an offline check could not look at for this story, said once per story."""
    if pinned:
        report.pinned_offline.append(story.slug)
        return
    report.needs_online.append(f"{story.slug}: not pinned, so {story.config.model.describe()} (does the alias or "
                               "version exist?), its metric keys, params and tags, claims, decision grounds and "
                               "the page build")
