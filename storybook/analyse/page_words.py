"""The model card's own sentences, and the page's about its claims and its sources, built once in words.

The templates lay these out and compose none of their own (the cost, trust, decision, drivers and history
sections have their wording beside their analyses). A sentence that names a model, a run, a dataset or a file
is a :data:`Said`: plain text with some parts to be shown in bold or as code, so that a template can emphasise
them without building the sentence itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from storybook.analyse.aggregate_words import counted_sentence
from storybook.analyse.card import ModelCard
from storybook.analyse.claims import ClaimResult
from storybook.analyse.plain import (
    format_count,
    format_date,
    full_stop,
    in_sentence,
    merged_groups_sentence,
    per_hundred,
    stated_threshold_text,
)
from storybook.resolve.resolved import DatasetRecord, ResolvedStory
from storybook.sources.schema import MeasuredOn, SliceSpec

__all__ = [
    "MEASURED_ON",
    "NOT_SIGNED",
    "PageWording",
    "Part",
    "Said",
    "SignedBy",
    "code",
    "page_wording",
    "said",
    "signed_off",
    "strong",
    "summary_source",
]

# Where a logged figure was measured, as the metrics table says it.
MEASURED_ON: Mapping[MeasuredOn, str] = {
    "evaluation": "the evaluation set", "training": "the training data", "cross_validation": "cross-validation",
    "other": "not known",
}


@dataclass(frozen=True)
class Part:
    """A piece of a sentence: plain text, or text a template shows in bold (``strong``) or as code."""

    text: str
    style: Literal["strong", "code"] | None = None


Said = tuple[Part, ...]


def strong(text: str) -> Part:
    return Part(text, "strong")


def code(text: str) -> Part:
    return Part(text, "code")


def said(*parts: str | Part) -> Said:
    return tuple(part if isinstance(part, Part) else Part(part) for part in parts)


@dataclass(frozen=True)
class PageWording:
    """The card's sentences, by section (None or empty when the section has nothing of that kind to say)."""

    model_details: Said
    factors_lead: str
    factors: tuple[Said, ...]  # one line per slice: its name, why it is looked at, how many groups
    threshold: str | None  # how a score becomes a flag (metrics), when the story has a threshold
    evaluation: str | None  # how many were tested and how many of them were positive
    evaluation_data: tuple[Said, ...]
    training_data: tuple[Said, ...]
    slices_lead: str  # what the ranges of the per-group figures mean (quantitative analyses)
    merged: Mapping[str, str]  # slice column -> the groups shown one by one and those counted together
    claims_lead: str
    provenance: Said
    model: str  # the registered model on the title page: "screen, version 3 (champion)" ("" when none)
    slice_captions: Mapping[str, str]  # slice column -> its table's caption
    checked_against: Mapping[str, str]  # claim id -> what it was checked against, as a sentence
    positive_column: str = ""  # the slice table's column of who has the outcome: "Who have a malignant tumour"
    summary_for: str = ""  # the one-page summary's first words: "One-page summary for clinic managers"


NO_SLICES = "This story does not break results down by group."


def _model_details(story_owner: str, resolved: ResolvedStory) -> Said:
    run, model = resolved.run, resolved.model
    if model is None:
        return said("This card describes the model trained in run ", code(run.run_name), f" on "
                    f"{format_date(run.start_ms)}. {story_owner} looks after it.")
    labelled = f", currently labelled {' and '.join(model.aliases)}" if model.aliases else ""
    return said(f"This card describes version {model.version} of the model ", strong(model.name),
                f"{labelled}. It was trained in run ", code(run.run_name),
                f" on {format_date(run.start_ms)} and registered on {format_date(model.created_ms)}. "
                f"{story_owner} looks after it.")


def _dataset(record: DatasetRecord, *, training: bool) -> Said:
    if training:
        rows = f" ({format_count(record.rows)} rows)" if record.rows else ""
        return said("The model learned from the dataset logged as ", strong(record.name), f"{rows}, fingerprint ",
                    code(record.digest), ".")
    rows = f", {format_count(record.rows)} rows" if record.rows else ""
    return said("Dataset ", strong(record.name), f"{rows}, fingerprint ", code(record.digest), ".")


def _merged(card: ModelCard) -> dict[str, str]:
    told = {}
    for s in card.slices:
        if s.table.merged:
            told[s.spec.column] = merged_groups_sentence(s.spec.label, len(s.table.rows) - 1, s.table.merged)
    return told


def _model(resolved: ResolvedStory) -> str:
    model = resolved.model
    if model is None:
        return ""
    aliases = f" ({', '.join(model.aliases)})" if model.aliases else ""
    return f"{model.name}, version {model.version}{aliases}"


def page_wording(card: ModelCard, resolved: ResolvedStory, *, owner: str, built_at: str,
                 snapshot_hash: str | None, task_slices: Sequence[tuple[SliceSpec, int]] = (),
                 claims: Sequence[ClaimResult] = (), audience: str = "",
                 tested_on: tuple[int, str] | None = None) -> PageWording:
    """The card's sentences for one build (``built_at`` as the page prints it; ``snapshot_hash`` when the
    figures come from the story's pinned snapshot). ``task_slices``: the slices a multiclass or regression
    story's own analysis tells, with each one's number of groups. ``tested_on``: a multiclass or regression
    story's evaluation set, as its number of rows and what is known of each ("class", "outcome")."""
    words = card.words
    overall = card.overall
    threshold = None
    if card.threshold is not None:
        threshold = (f"The model gives each of the {words.unit} a score from 0 to 1. Those scoring "
                     f"{stated_threshold_text(card.threshold)} or more are {words.flagged} (the threshold comes "
                     f"from {card.threshold_source}).")
    evaluation = None
    if overall is not None:
        evaluation = (f"The model was tested on {format_count(overall.n)} {words.unit} it had not seen while "
                      f"learning; {format_count(overall.positives)} of them {full_stop(words.positive)}")
        if card.counted is not None:
            evaluation += " " + counted_sentence(card.counted, words.unit)
    elif tested_on is not None:
        evaluation = f"The model was tested on {format_count(tested_on[0])} {words.unit} whose {tested_on[1]} is known."
    training = tuple(_dataset(d, training=True) for d in card.training_data) or (
        said("The run did not record its training data."),)
    factors = tuple(said(strong(s.spec.label), f": {s.spec.why}" if s.spec.why else "",
                         f" ({len(s.table.rows)} groups)") for s in card.slices)
    factors += tuple(said(strong(spec.label), f": {spec.why}" if spec.why else "", f" ({groups} groups)")
                     for spec, groups in task_slices)
    checked_against = ("the figures pinned in the story's snapshot" if snapshot_hash else "the figures in MLflow")
    if snapshot_hash:
        provenance = said("Every figure on this page comes from the story's pinned snapshot (", code("snapshot.json"),
                          ", sha256 ", code(snapshot_hash), f"), read from MLflow at {resolved.source} when it "
                          f"was pinned. The page was built {built_at}.")
    else:
        provenance = said(f"Every figure on this page was read from MLflow at {resolved.source} when the page was "
                          f"built ({built_at}); no snapshot was pinned.")
    return PageWording(
        model_details=_model_details(owner, resolved),
        factors_lead=("We check whether the model works equally well for different groups. The groups looked "
                      "at here:") if factors else NO_SLICES,
        factors=factors,
        threshold=threshold,
        evaluation=evaluation,
        evaluation_data=tuple(_dataset(d, training=False) for d in card.evaluation_data),
        training_data=training,
        slices_lead=(
            f"How the model does for each group. Each figure comes with the range the evaluation supports (a 95% "
            f"interval): the fewer {words.unit} in a group, the wider it is. When that range spans no more than "
            f"{per_hundred(card.rules.tight_width)}, the figure is told as \"about\"; with fewer than "
            f"{format_count(card.rules.min_count)} cases behind it, there are too few cases to say."
        ) if card.slices else NO_SLICES,
        merged=_merged(card),
        claims_lead=("Some sentences in this story are claims its authors asked storybook to check. Each was "
                     f"tested against {checked_against} when this page was built ({built_at}). A claim that no "
                     "longer holds is marked, not hidden."),
        provenance=provenance,
        model=_model(resolved),
        slice_captions={s.spec.column: f"{s.spec.label}: results per group at threshold "
                                       f"{stated_threshold_text(card.threshold)}"
                        for s in card.slices if card.threshold is not None},
        checked_against={c.spec.id: f"Checked against {c.source}." for c in claims},
        positive_column=f"Who {words.positive}",
        summary_for=f"One-page summary for {in_sentence(audience)}" if audience else "One-page summary",
    )


class SignedBy(Protocol):
    """What the page says of one sign-off (``storybook.review.signoff.SignoffStatus`` has all of it)."""

    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def date(self) -> str: ...
    @property
    def status(self) -> Literal["current", "stale"]: ...


STALE_SIGNOFF = "(signed an earlier version: the story has changed since)"


def signed_off(signoffs: Sequence[SignedBy]) -> tuple[tuple[str, str | None], ...]:
    """The title page's sign-offs: who, in what role, on which day, and a warning when they signed an earlier
    version. Empty when nobody has signed (the page then says :data:`NOT_SIGNED`)."""
    return tuple((f"{s.name} ({s.role}), {s.date[:10]}", STALE_SIGNOFF if s.status == "stale" else None)
                 for s in signoffs)


NOT_SIGNED = "Not signed off yet"


def summary_source(resolved_source: str, snapshot_hash: str | None, signoffs: Sequence[SignedBy]) -> str:
    """The one-page summary's last line: where its figures come from, and who signed the story."""
    where = (f"Figures from the pinned snapshot (sha256 {snapshot_hash[:12]}…)" if snapshot_hash
             else f"Figures read from MLflow at {resolved_source}")
    text = f"{where}; where each comes from is listed in the full story."
    if signoffs:
        names = "; ".join(f"{s.name} ({s.role}){', on an earlier version' if s.status == 'stale' else ''}"
                          for s in signoffs)
        text += f" Signed off by {names}."
    return text


