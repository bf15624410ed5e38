"""The model card's values (Mitchell et al. 2019): its figures, slices and caveats, as plain data.

Values only: :mod:`storybook.analyse.model_card` builds them, :mod:`storybook.analyse.story` composes a story's
analysis, and its parts (decision, trust) read them without importing the composer back.
"""

from __future__ import annotations

from dataclasses import dataclass

from storybook.analyse.classification import Estimate, SliceRow, SliceTable
from storybook.analyse.plain import DEFAULT_RULES, GroupWording, Vocabulary, WordingRules, slice_heading
from storybook.analyse.reconcile import Mismatch
from storybook.resolve.resolved import DatasetRecord, Figure
from storybook.resolve.scored import CountedFrom
from storybook.sources.schema import MeasuredOn, MetricSpec, SliceSpec

__all__ = ["MetricLine", "ModelCard", "SliceAnalysis"]


@dataclass(frozen=True)
class MetricLine:
    """One reported figure. ``estimate`` is the interval that belongs to the logged figure (None when it was
    measured elsewhere, or the evaluation set does not reproduce it); ``recomputed`` is the figure on the
    evaluation set; ``mismatch`` says how they disagree (see storybook.analyse.reconcile)."""

    spec: MetricSpec
    figure: Figure
    definition: str
    sentence: str
    estimate: Estimate | None
    measured_on: MeasuredOn = "evaluation"
    recomputed: Estimate | None = None
    mismatch: Mismatch | None = None


@dataclass(frozen=True)
class SliceAnalysis:
    spec: SliceSpec
    table: SliceTable
    small: tuple[str, ...]
    told: dict[str, GroupWording] | None = None  # group value -> its shares and sentence, by the wording rules

    @property
    def heading(self) -> str:
        return slice_heading(self.spec.label)


@dataclass(frozen=True)
class ModelCard:
    words: Vocabulary
    threshold: float | None
    threshold_source: str
    metrics: tuple[MetricLine, ...]
    overall: SliceRow | None
    slices: tuple[SliceAnalysis, ...]
    training_data: tuple[DatasetRecord, ...]
    evaluation_data: tuple[DatasetRecord, ...]
    caveats: tuple[str, ...]
    rules: WordingRules = DEFAULT_RULES
    counted: CountedFrom | None = None  # the figures come from counts (evaluation.aggregate): of what, how
