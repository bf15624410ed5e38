"""Which way a comparison of two versions runs: the story's version, the compared one, and which is in use.

A story is about one version of a registered model (``model:``) and may compare it with another
(``trust.model.compare_with``, ``history.compare_with``). Either may be the one in use: a story about the
champion compares it with a challenger that might replace it; a story about a candidate compares it with the
production version it might replace. Which version is in use is the one carrying the **in-use alias**:
``model.in_use_alias`` in story.yaml, else ``in_use_alias`` in storybook.yaml, else ``champion``
(:data:`storybook.sources.schema.DEFAULT_IN_USE_ALIAS`). storybook never guesses it from alias names.

:class:`Comparison` is made once per story (:func:`compare_versions`) and every sentence about the two versions
(decision grounds, the trust report's comparison, the history's side-by-side) is built from it: switching
always runs from the version in use to the proposed one. When neither version carries the in-use alias the
direction is not known, and sentences that need it say so (:attr:`Comparison.no_direction`) instead of
choosing one.

Pure: reads only what was resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from storybook.analyse.plain import capitalise
from storybook.resolve.resolved import ModelVersionRecord, ResolvedStory
from storybook.sources.schema import DEFAULT_IN_USE_ALIAS, ProjectConfig, StoryConfig

__all__ = ["Comparison", "VersionRef", "compare_versions", "comparison_between", "in_use_alias", "model_aliases",
           "version_ref"]

Side = Literal["story", "compared"]


@dataclass(frozen=True)
class VersionRef:
    """One version as the reader sees it named: "version 2 (candidate)"."""

    version: int | None  # None: a run with no registered version
    aliases: tuple[str, ...]
    run_id: str

    @property
    def name(self) -> str:
        if self.version is None:
            return f"the model of run {self.run_id[:12]}"
        aliases = f" ({', '.join(self.aliases)})" if self.aliases else ""
        return f"version {self.version}{aliases}"


def version_ref(model: ModelVersionRecord | None, run_id: str) -> VersionRef:
    if model is None:
        return VersionRef(None, (), run_id)
    return VersionRef(model.version, tuple(model.aliases), model.run_id or run_id)


def in_use_alias(config: StoryConfig, project: ProjectConfig | None) -> str:
    """The alias that marks the version in use: the story's, else the project's, else ``champion``."""
    if config.model.in_use_alias is not None:
        return config.model.in_use_alias
    return project.in_use_alias if project is not None else DEFAULT_IN_USE_ALIAS


@dataclass(frozen=True)
class Comparison:
    """The story's version and the version it is compared with, and which of them is in use.

    ``in_use`` says which side carries the in-use alias (None: neither does); the other side is then the
    proposed one, the version that would replace it. ``elsewhere`` is the version that carries the in-use
    alias when it is neither of the two; ``aliases`` are all the model's aliases and their versions.
    """

    story_version: VersionRef
    compared_version: VersionRef
    in_use_alias: str
    in_use: Side | None
    elsewhere: int | None = None
    aliases: tuple[tuple[str, int], ...] = ()

    @property
    def same_version(self) -> bool:
        """Both sides are one version (e.g. the story names version 2 and compare_with an alias on version 2)."""
        return self.story_version.version is not None and \
            self.story_version.version == self.compared_version.version

    @property
    def itself(self) -> str:
        return (f"The version compared with is {self.compared_version.name}, the version this story is about: a "
                "version cannot be compared with itself. Name the alias of another version in compare_with.")

    @property
    def in_use_version(self) -> VersionRef | None:
        if self.in_use is None:
            return None
        return self.story_version if self.in_use == "story" else self.compared_version

    @property
    def proposed_version(self) -> VersionRef | None:
        if self.in_use is None:
            return None
        return self.compared_version if self.in_use == "story" else self.story_version

    @property
    def other_is_older(self) -> bool:
        """The version not in use was registered before the one in use (a lower version number): it is an older
        version the story looks back at, not one proposed to replace the version in use."""
        in_use, other = self.in_use_version, self.proposed_version
        return (in_use is not None and other is not None and in_use.version is not None
                and other.version is not None and other.version < in_use.version)

    def role(self, side: Side) -> str:
        """What a version is in this comparison: "this story's version, in use", "proposed to replace the one in
        use" (a newer version) or "an older version, not in use"."""
        if self.in_use is None:
            return "this story's version" if side == "story" else "the version compared with"
        if side == self.in_use:
            role = "in use"
        else:
            role = "an older version, not in use" if self.other_is_older else "proposed to replace the one in use"
        return f"this story's version, {role}" if side == "story" else role

    def named(self, side: Side) -> str:
        """ "version 1 (production; in use)": the version, its aliases and its role in this comparison."""
        ref = self.story_version if side == "story" else self.compared_version
        if ref.version is None:
            return f"{ref.name} ({self.role(side)})"
        aliases = f"{', '.join(ref.aliases)}; " if ref.aliases else ""
        return f"version {ref.version} ({aliases}{self.role(side)})"

    @property
    def direction(self) -> str:
        """One sentence saying which version is in use and which would replace it (or is an older one), or that
        it is not known."""
        if self.same_version:
            return self.itself
        in_use, proposed = self.in_use_version, self.proposed_version
        if in_use is None or proposed is None:
            return self.no_direction
        which = "this story's version" if self.in_use == "story" else "the version compared with"
        other = "the one this story is about" if self.in_use == "compared" else "the version compared with"
        then = "an older version, not in use" if self.other_is_older else "the one that would replace it"
        return (f"{capitalise(in_use.name)}, {which}, is in use (it carries the alias \"{self.in_use_alias}\"); "
                f"{proposed.name}, {other}, is {then}.")

    @property
    def no_direction(self) -> str:
        """Why it is not known which version is in use, and how to say it."""
        there = ", ".join(f"\"{alias}\" on version {version}" for alias, version in self.aliases) or "none"
        neither = f"Neither {self.story_version.name} nor {self.compared_version.name} carries the alias " \
            f"\"{self.in_use_alias}\" that marks the version in use"
        if self.elsewhere is not None:
            return (f"{neither}: it is on version {self.elsewhere}, so neither of the two is in use and there is no "
                    f"switch from one to the other to judge here (the model's aliases: {there}).")
        return (f"{neither} (no version carries it; the model's aliases: {there}), so storybook cannot tell which "
                "would replace which. Say which alias marks the version in use with model.in_use_alias in "
                "story.yaml or in_use_alias in storybook.yaml.")


def model_aliases(resolved: ResolvedStory) -> dict[str, int]:
    """Every alias of the story's registered model and the version it is on, as far as it was resolved."""
    records = list(resolved.versions)
    for extra in (resolved.model, resolved.compared.model if resolved.compared is not None else None):
        if extra is not None and all(r.version != extra.version for r in records):
            records.append(extra)
    return {alias: record.version for record in sorted(records, key=lambda r: r.version) for alias in record.aliases}


def compare_versions(config: StoryConfig, resolved: ResolvedStory, project: ProjectConfig | None,
                     ) -> Comparison | None:
    """The comparison the story makes (None when it compares with no other version)."""
    compared = resolved.compared
    if compared is None:
        return None
    return comparison_between(version_ref(resolved.model, resolved.run.run_id),
                              version_ref(compared.model, compared.run.run_id), in_use_alias(config, project),
                              model_aliases(resolved))


def comparison_between(story: VersionRef, other: VersionRef, alias: str, aliases: dict[str, int]) -> Comparison:
    """``story``'s version compared with ``other``, the version in use being the one ``alias`` is on."""
    holder = aliases.get(alias)
    side: Side | None = None
    if story.version is not None and story.version == other.version:
        side = None   # one version on both sides: no direction (Comparison.same_version says why)
    elif holder is not None and holder == story.version:
        side = "story"
    elif holder is not None and holder == other.version:
        side = "compared"
    elsewhere = holder if side is None else None
    return Comparison(story_version=story, compared_version=other, in_use_alias=alias, in_use=side,
                      elsewhere=elsewhere, aliases=tuple(sorted(aliases.items(), key=lambda item: (item[1], item[0]))))
