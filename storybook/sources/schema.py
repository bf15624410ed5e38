"""The schema of storybook.yaml and story.yaml: pydantic models, validated once, here.

Unknown keys are errors (with a "did you mean" hint): a misspelt key silently ignored would leave a story
telling something its author did not intend. Values arrive as strings from the YAML loader and are typed here.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from storybook.metrics.kinds import MetricKindName, kinds_where

__all__ = [
    "DEFAULT_IN_USE_ALIAS",
    "GROUND_KINDS",
    "METRIC_KINDS",
    "PAGE_SECTIONS",
    "SLUG_PATTERN",
    "SUMMARY_BLOCKS",
    "ClaimSpec",
    "ConfusionKeys",
    "CostOfError",
    "CostSavingGround",
    "Criterion",
    "DecisionOptions",
    "DecisionSpec",
    "DriversSpec",
    "EvaluationSpec",
    "Glossary",
    "GlossaryEntry",
    "GuardrailGround",
    "HistorySpec",
    "IntendedUse",
    "KeyedValueError",
    "MeasuredOn",
    "MetricGround",
    "MetricKind",
    "MetricSpec",
    "ModelRef",
    "ProjectConfig",
    "Readability",
    "SeriesSpec",
    "SignoffPolicy",
    "SliceGapGround",
    "SliceSpec",
    "StoryConfig",
    "TrustLevelGround",
    "TrustSpec",
    "VersionComparisonGround",
    "Versions",
    "Wording",
]

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
# The kinds a story may name, and the subsets some fields accept, all read from the one table of kinds
# (storybook.metrics.kinds). At run time each is a Literal built from the table (so pydantic checks and
# documents the allowed names); mypy, which cannot read a Literal built from a tuple, sees names as strings.
METRIC_KINDS: tuple[str, ...] = kinds_where(lambda k: True)
_PROPORTION_KINDS = kinds_where(lambda k: k.proportion)
if TYPE_CHECKING:
    MetricKind = MetricKindName
    ProportionKind = str
    IntervalKind = str
    ImportanceMetric = str
else:
    MetricKind = Literal[METRIC_KINDS]
    ProportionKind = Literal[_PROPORTION_KINDS]
    IntervalKind = Literal[kinds_where(lambda k: k.interval != "none")]
    ImportanceMetric = Literal[kinds_where(lambda k: k.importance)]
MeasuredOn = Literal["evaluation", "training", "cross_validation", "other"]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _phrase(text: str) -> str:
    if text.endswith((".", "!", "?", ",", ";", ":")):
        raise ValueError(f"{text!r} ends with {text[-1]!r}; this phrase goes inside sentences storybook writes "
                         f"(\"Of the patients who have a malignant tumour, ...\"), so leave the punctuation out: "
                         f"{text.rstrip('.!?,;:')!r}")
    return text


# A phrase storybook puts inside its own sentences: no sentence punctuation at its end (no "tumour.," on a page).
Phrase = Annotated[ShortText, AfterValidator(_phrase)]
Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=250,
                                       pattern=r"^[A-Za-z0-9_./ -]+$")]


def _real_date(text: str) -> str:
    try:
        date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date on the calendar; write YYYY-MM-DD, e.g. 2026-09-28") from None
    return text


IsoDate = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$"), AfterValidator(_real_date)]
AliasName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,255}$")]
DEFAULT_IN_USE_ALIAS = "champion"


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Readability(_Schema):
    """How hard the prose may be to read: `storybook check` warns above this reading grade."""

    max_grade: Annotated[float, Field(gt=0, le=30)] = Field(default=12.0,
        description="the highest reading grade (Flesch-Kincaid) of a page or summary that "
                    "`storybook check` accepts without a warning")


class Wording(_Schema):
    """When a share reads "about 7 in 100" (interval at most ``tight_width`` wide), "between 4 and 11 in 100"
    (wider), or "too few cases to say" (fewer than ``min_count`` cases behind it). See analyse/plain.py."""

    tight_width: Annotated[float, Field(ge=0, le=1)] = Field(default=0.10,
        description='an interval at most this wide (0.1: 10 in 100) reads "about"; a wider '
                    'one "between"')
    min_count: Annotated[int, Field(ge=1, le=1_000_000)] = Field(default=10,
        description='fewer cases than this behind a share read "too few cases to say"')


TermName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60,
                                            pattern=r"^[^\W_][\w .'/+-]*$")]


class GlossaryEntry(_Schema):
    """A glossary entry: plain words for anyone, and optionally the same in the story's own terms.

    ``in_story`` may use {unit}, {positive}, {negative} and {flagged} (from the story's evaluation section).
    """

    plain: Text = Field(description="the term in plain words, for anyone")
    in_story: Text | None = Field(default=None,
        description="the term in the story's own words; may use {unit}, {positive}, "
                    "{negative} and {flagged}")
    also: list[TermName] = Field(default_factory=list, max_length=20,
                                 description="other spellings linked to this entry, e.g. plurals or acronyms")


# A term name to its entry; null drops one of storybook's default entries.
Glossary = Annotated[dict[TermName, GlossaryEntry | None], Field(max_length=500)]


PageSection = Literal[
    "decision", "model-details", "intended-use", "factors", "metrics", "evaluation-data", "training-data",
    "quantitative-analyses", "drivers", "history", "cost-of-error", "trust", "claims", "ethical-considerations",
    "caveats-and-recommendations", "provenance", "glossary",
]
PAGE_SECTIONS: tuple[str, ...] = PageSection.__args__  # type: ignore[attr-defined]
SummaryBlock = Literal["decision", "key-figures", "cost-of-error", "trust", "claims", "drivers", "caveats"]
SUMMARY_BLOCKS: tuple[str, ...] = SummaryBlock.__args__  # type: ignore[attr-defined]


def _default_summary() -> list[SummaryBlock]:
    return ["decision", "key-figures", "cost-of-error", "trust", "claims"]


class Versions(_Schema):
    """The audience versions one story renders as, and which sections each shows (in the page's order).

    ``summary``: the executive one-page summary (``<slug>.summary.html``, and a PDF when PDFs are on);
    ``page``: the full site page; ``compliance``: the PDF (its provenance appendix is always included).
    ``all`` means every section the story has. A story's ``versions:`` overrides the project's, key by key.
    """

    summary: list[SummaryBlock] = Field(
        default_factory=_default_summary,
        min_length=1, max_length=len(SUMMARY_BLOCKS))
    page: list[PageSection] | Literal["all"] = Field(default="all",
        description="sections of the full page, in the page's order (`all`: every section "
                    "the story has)")
    compliance: list[PageSection] | Literal["all"] = Field(default="all",
        description="sections of the PDF (`all`: every section the story has)")

    def sections(self, version: Literal["page", "compliance"]) -> frozenset[str]:
        chosen = self.page if version == "page" else self.compliance
        shown = frozenset(PAGE_SECTIONS if chosen == "all" else chosen)
        return shown | {"provenance"} if version == "compliance" else shown

    def merged(self, story: Versions | None) -> Versions:
        """These (the project's) versions with the keys a story sets replacing them."""
        if story is None:
            return self
        return self.model_copy(update={key: getattr(story, key) for key in story.model_fields_set})


class ProjectConfig(_Schema):
    """storybook.yaml at the project root."""

    title: ShortText = Field(default="Model stories", description="the site's title, on the index and every page")
    description: Text | None = Field(default=None, description="a sentence under the title on the index")
    tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking URI; ${VAR} is read from the environment. "
        "Falls back to MLFLOW_TRACKING_URI. Relative sqlite paths are relative to the project.",
    )
    tracking_timeout: Annotated[int, Field(ge=1, le=3600)] | None = Field(
        default=None, description="seconds storybook waits for each answer from the tracking server before it "
        "gives up; default MLFLOW_HTTP_REQUEST_TIMEOUT, else 10")
    tracking_retries: Annotated[int, Field(ge=0, le=10)] | None = Field(
        default=None, description="how many more times storybook asks the tracking server after an answer did "
        "not come; default MLFLOW_HTTP_REQUEST_MAX_RETRIES, else 1")
    stories_dir: ShortText = Field(default="stories", description="the folder with one folder per story")
    site_dir: ShortText = Field(default="site",
        description="where the site is written; storybook replaces only a folder it wrote")
    templates_dir: ShortText = Field(default="templates",
        description="your own versions of storybook's templates, searched before the "
                    "shipped ones")
    artifact_locations: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9+.-]*://[^@?#\s]+$")]] = (
        Field(default_factory=list, max_length=20, description="artifact stores storybook may read besides the "
              "tracking server, as URI prefixes (e.g. s3://team-bucket/mlflow); runs whose artifacts are "
              "anywhere else are refused, so that no credential goes to a host a run names"))
    pdf: bool = Field(default=False, description="also write a PDF of each story (and of its one-page summary)")
    readability: Readability | None = None
    wording: Wording = Field(default_factory=Wording)
    glossary: Glossary = Field(default_factory=dict)
    versions: Versions = Field(default_factory=Versions)
    in_use_alias: AliasName = Field(
        default=DEFAULT_IN_USE_ALIAS, description="the registry alias that marks the version in use (serving), "
        "e.g. production; a story may override it with model.in_use_alias")


class ModelRef(_Schema):
    """Which model a story is about: a registered name with an alias or version, or a run id."""

    name: ShortText | None = Field(default=None, description="the registered model's name")
    alias: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,255}$")] | None = Field(default=None,
        description="the alias of the version the story is about, e.g. champion")
    version: Annotated[int, Field(ge=1)] | None = Field(default=None,
        description="the version number the story is about (instead of alias)")
    run_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8,64}$")] | None = Field(default=None,
        description="a run to tell instead of a registered model version")
    in_use_alias: AliasName | None = Field(
        default=None, description="the registry alias that marks the version in use (serving), for this story; "
        f"default: in_use_alias in storybook.yaml, else {DEFAULT_IN_USE_ALIAS}")

    @model_validator(mode="after")
    def _one_way_to_name_it(self) -> ModelRef:
        if self.run_id is not None:
            if self.in_use_alias is not None:
                raise KeyedValueError("in_use_alias names an alias of a registered model; a story about a run "
                                      "(run_id) has none: give the model's name with alias or version",
                                      ("in_use_alias",))
            if self.alias is not None or self.version is not None:
                raise ValueError("give either run_id, or name with alias or version, not both")
            return self
        if self.name is None:
            raise ValueError("give the registered model's name (with alias or version) or a run_id")
        if (self.alias is None) == (self.version is None):
            raise ValueError("give exactly one of alias (e.g. champion) or version (e.g. 3)")
        return self

    def describe(self) -> str:
        if self.run_id is not None:
            return f"run {self.run_id}"
        which = f"@{self.alias}" if self.alias is not None else f" version {self.version}"
        return f"model {self.name}{which}"


class IntendedUse(_Schema):
    """Mitchell et al.: primary intended uses and users, and uses that are out of scope."""

    primary: Text = Field(description="what the model is for")
    users: list[ShortText] = Field(min_length=1, description="who uses what it says")
    out_of_scope: list[Text] = Field(min_length=1, description="uses it is not meant for")


class MetricSpec(_Schema):
    """A metric the story reports: a key logged on the run, told in plain words."""

    key: Key = Field(description="the metric's key, as logged on the run")
    label: ShortText = Field(description="what the figure is, in the reader's words")
    kind: MetricKind = Field(default="other",
        description="what the figure measures: decides its sentence and, where the "
                    "evaluation set allows, its 95% interval")
    higher_is_better: bool = Field(default=True,
        description="false for a figure where lower is better, such as the Brier score")
    measured_on: MeasuredOn | None = Field(
        default=None, description="where the figure was measured: evaluation (the story's scored set), training, "
        "cross_validation or other; by default read from the key as MLflow names it (training_..., cv_...)")


class ConfusionKeys(_Schema):
    """Metric keys holding the four confusion counts at the threshold in use, for runs without scores."""

    tp: Key = Field(description="metric key of the count of true positives")
    fp: Key = Field(description="metric key of the count of false positives")
    tn: Key = Field(description="metric key of the count of true negatives")
    fn: Key = Field(description="metric key of the count of false negatives")


class EvaluationSpec(_Schema):
    """The scored evaluation set the run logged as an artifact (one row per example), or its confusion counts."""

    artifact: Key | None = Field(default="evaluation/scored.csv",
        description="path of the scored evaluation set among the run's artifacts (CSV or "
                    "Parquet)")
    counts: ConfusionKeys | None = Field(
        default=None, description="instead of a scored set: metric keys of the confusion counts at the threshold")
    label_column: Key = Field(default="label", description="the column with the true outcome")
    score_column: Key = Field(default="score", description="the column with the model's score (a chance from 0 to 1)")
    positive_value: ShortText = Field(default="1", description="the label value that means positive, as text")
    threshold: Annotated[float, Field(ge=0, le=1)] | None = Field(default=None,
        description="the threshold in use, from 0 to 1 (instead of threshold_param)")
    threshold_param: Key | None = Field(default="threshold",
        description="the run param that holds the threshold in use")
    id_column: Key | None = Field(
        default=None, description="a column naming each case; two versions' scored sets with the same ids are "
        "compared case by case (paired)")
    positive_means: Phrase = Field(description="the positive class in plain words, e.g. 'has cancer'")
    negative_means: Phrase = Field(description="the negative class in plain words, e.g. 'has a harmless tumour'")
    flagged_means: Phrase = Field(default="flagged", description="what the model's 'yes' leads to")
    unit: Phrase = Field(default="cases", description="what one row is, in plural: 'patients'")

    @model_validator(mode="before")
    @classmethod
    def _counts_replace_artifact(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("counts") is not None and "artifact" not in data:
            return {**data, "artifact": None}
        return data

    @model_validator(mode="after")
    def _threshold_source(self) -> EvaluationSpec:
        if (self.artifact is None) == (self.counts is None):
            raise ValueError("give either artifact (the scored evaluation set) or counts (confusion count metrics)")
        if self.threshold is None and self.threshold_param is None:
            raise ValueError("give threshold (a number) or threshold_param (the run param that holds it)")
        return self


class SliceSpec(_Schema):
    """A column of the evaluation set to disaggregate by (a Mitchell et al. 'factor')."""

    column: Key = Field(description="a column of the evaluation set")
    label: ShortText = Field(description="the slice's name, for the reader")
    why: Text | None = Field(default=None, description="why this breakdown matters")


class SeriesSpec(_Schema):
    """A metric history (e.g. a production series) the story shows."""

    key: Key = Field(description="a metric the run logged step by step (its history)")
    label: ShortText = Field(description="what the series is, for the reader")


class CostOfError(_Schema):
    """What each kind of mistake costs, in the stakeholder's own unit, and who stated it."""

    unit: Phrase = Field(description="what costs are counted in, plural: 'hours of specialist time'")
    owner: ShortText = Field(description="who stated these costs and answers for them")
    false_positive: Annotated[float, Field(ge=0)] | None = Field(default=None,
        description="the cost of one false alarm (flagged, but negative), in unit")
    false_negative: Annotated[float, Field(ge=0)] | None = Field(default=None,
        description="the cost of one miss (positive, but not flagged), in unit")
    true_positive: Annotated[float, Field(ge=0)] = Field(default=0.0,
        description="the cost of one case rightly flagged (e.g. the work of following it "
                    "up)")
    true_negative: Annotated[float, Field(ge=0)] = Field(default=0.0,
        description="the cost of one case rightly left alone")
    ratio: Annotated[float, Field(gt=0)] | None = Field(
        default=None, description="instead of both costs: a false negative costs this many false positives")
    false_positive_means: ShortText | None = Field(default=None, description="a false alarm in the reader's words")
    false_negative_means: ShortText | None = Field(default=None, description="a miss in the reader's words")
    population: Annotated[int, Field(ge=10, le=1_000_000)] = Field(default=1000,
        description='costs and counts are told per this many cases ("out of 1,000 patients '
                    '...")')
    capacity: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="at most this many may be flagged out of every `population`")
    bootstrap_rounds: Annotated[int, Field(ge=0, le=10_000)] = Field(default=1000,
        description="resamples of the evaluation set behind the cost intervals")
    seed: int = Field(default=0, description="seed of those resamples: the same seed gives the same intervals")

    @model_validator(mode="after")
    def _costs_or_ratio(self) -> CostOfError:
        both = self.false_positive is not None and self.false_negative is not None
        if self.ratio is not None and (self.false_positive is not None or self.false_negative is not None):
            raise ValueError("give either ratio, or false_positive and false_negative costs, not both")
        if self.ratio is None and not both:
            raise ValueError("give the cost of a false_positive and of a false_negative (or a ratio)")
        if self.capacity is not None and self.capacity > self.population:
            raise ValueError(f"capacity {self.capacity} is more than the population {self.population}")
        return self

    @property
    def cost_fp(self) -> float:
        return 1.0 if self.ratio is not None else float(self.false_positive or 0.0)

    @property
    def cost_fn(self) -> float:
        return float(self.ratio) if self.ratio is not None else float(self.false_negative or 0.0)


class SignoffPolicy(_Schema):
    """Who must sign a story before `storybook check` passes (see `storybook sign`)."""

    required_roles: list[ShortText] = Field(
        default_factory=list,
        description="roles that must have signed the current content before `storybook check` passes")


class TrustModel(_Schema):
    """Evidence of trust in the model: held-out fit, stability across folds, calibration, slice gaps."""

    metric: MetricKind = Field(default="recall", description="the metric the held-out and slice checks read")
    minimum: Annotated[float, Field(ge=0, le=1)] = Field(default=0.8,
        description="the lowest value of that metric on held-out cases that passes")
    folds: Key | None = Field(default=None, description="a metric history with one step per CV fold")
    fold_tolerance: Annotated[float, Field(ge=0)] = Field(default=0.1,
        description="the largest spread between cross-validation folds that passes")
    calibration_tolerance: Annotated[float, Field(ge=0, le=1)] = Field(default=0.05,
        description="the largest average gap between predicted chances and what happened "
                    "that passes")
    slice_gap_tolerance: Annotated[float, Field(ge=0, le=1)] = Field(default=0.2,
        description="the largest gap in the metric between slice groups that passes")
    compare_with: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,255}$")] | None = Field(
        default=None, description="alias of the version to compare with, e.g. challenger")


class TrustData(_Schema):
    """Evidence of trust in the data: the run's training table and production inputs, as artifacts."""

    training_artifact: Key | None = Field(default=None,
        description="the run's training table (an artifact), compared with the evaluation "
                    "set and production inputs")
    production_artifact: Key | None = Field(default=None,
        description="a table of production inputs (an artifact), compared with the training "
                    "data")
    features: list[Key] = Field(default_factory=list, description="columns to compare; default: shared ones")


class Guardrail(_Schema):
    series: Key = Field(description="a metric history of the run (e.g. a production series)")
    name: ShortText = Field(description="what the series is, inside a sentence: 'the mean prediction'")
    lower: float | None = Field(default=None, description="the series must stay at or above this")
    upper: float | None = Field(default=None, description="the series must stay at or below this")

    @model_validator(mode="after")
    def _a_bound(self) -> Guardrail:
        if self.lower is None and self.upper is None:
            raise ValueError("a guardrail needs lower, upper or both")
        return self


class AttestationSpec(_Schema):
    who: ShortText = Field(description="the person who attests")
    role: ShortText = Field(description="their role")
    when: IsoDate = Field(description="the date of the statement (YYYY-MM-DD)")
    statement: Text = Field(description="what they attest, in plain words")
    check: Key = Field(description="the check it covers: a check id or ML Test Score test id (tables below)")
    automated: bool = Field(default=False, description="true when the attested work runs automatically and repeatedly")


class TrustSpec(_Schema):
    """A trust report: what storybook checks automatically, and what people attest."""

    owner: ShortText = Field(description="who answers for the trust report")
    model: TrustModel = Field(default_factory=TrustModel)
    data: TrustData = Field(default_factory=TrustData)
    guardrails: list[Guardrail] = Field(default_factory=list, description="limits a production series must stay within")
    attestations: list[AttestationSpec] = Field(
        default_factory=list, description="people's signed statements, each covering one check")


ClaimId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]


class ClaimSpec(_Schema):
    """A sentence the author asserts, checked against the data at every build (``{{ claim("id") }}`` in prose).

    Exactly one kind: ``series`` with ``stays_above``/``stays_below`` (optionally ``since``/``until``, dates in
    UTC); ``metric`` with ``at_least``/``at_most``; ``slice`` with ``group``, ``no_worse_than`` and ``rate``.
    """

    id: ClaimId = Field(description='the claim\'s id, used in prose as {{ claim("id") }}')
    says: Text = Field(description="the claim in plain words, as the reader will see it")
    series: Key | None = Field(default=None,
        description="a history the story reads (series:, trust folds or guardrails)")
    stays_above: float | None = Field(default=None, description="the series never goes below this (inclusive)")
    stays_below: float | None = Field(default=None, description="the series never goes above this (inclusive)")
    since: IsoDate | None = Field(default=None, description="first day checked (YYYY-MM-DD, whole UTC days)")
    until: IsoDate | None = Field(default=None, description="last day checked (YYYY-MM-DD, whole UTC days)")
    metric: Key | None = Field(default=None, description="a metric key of the story")
    at_least: float | None = Field(default=None, description="the metric is at least this")
    at_most: float | None = Field(default=None, description="the metric is at most this")
    slice: Key | None = Field(default=None, description="a slice column of the story")
    group: ShortText | None = Field(default=None, description="the group that must do no worse")
    no_worse_than: ShortText | None = Field(default=None, description="the group it is compared with")
    rate: ProportionKind = Field(default="recall",
                                                 description="the share the two groups are compared on")

    @model_validator(mode="after")
    def _one_kind(self) -> ClaimSpec:
        kinds = [name for name in ("series", "metric", "slice") if getattr(self, name) is not None]
        if len(kinds) != 1:
            raise ValueError("a claim checks exactly one of series, metric or slice")
        kind = kinds[0]
        bounds = {"series": ("stays_above", "stays_below", "since", "until"), "metric": ("at_least", "at_most"),
                  "slice": ("group", "no_worse_than")}
        for other, fields in bounds.items():
            stray = [f for f in fields if other != kind and getattr(self, f) is not None]
            if stray:
                raise ValueError(f"{', '.join(stray)} belong to a {other} claim, not a {kind} claim")
        if kind == "series" and self.stays_above is None and self.stays_below is None:
            raise ValueError("a series claim needs stays_above, stays_below or both")
        if kind == "series" and self.since and self.until and self.since > self.until:
            raise ValueError(f"since ({self.since}) is after until ({self.until})")
        if kind == "metric" and self.at_least is None and self.at_most is None:
            raise ValueError("a metric claim needs at_least, at_most or both")
        if kind == "slice" and (self.group is None or self.no_worse_than is None):
            raise ValueError("a slice claim needs group and no_worse_than (two values of the slice column)")
        return self

    @property
    def kind(self) -> Literal["series", "metric", "slice"]:
        return "series" if self.series is not None else "metric" if self.metric is not None else "slice"


class KeyedValueError(ValueError):
    """A validation error that knows which key, below the model that raised it, is wrong.

    The loader appends ``path`` to pydantic's location, so a cross-reference error (a criterion naming a slice
    the story does not have) points at the line of that key, not at the top of the file.
    """

    def __init__(self, message: str, path: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.path = path


CriterionId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Version = Literal["story", "compared"]


class CostSavingGround(_Schema):
    """Switching saves at least ``at_least`` (cost_of_error unit per its population); judged on the bootstrap
    interval: holds when even its low end reaches ``at_least``."""

    versus: Literal["best_threshold", "compared_version"] = Field(
        default="best_threshold", description="best_threshold: moving to the threshold that costs least; "
        "compared_version: switching from the version in use (the one carrying the in-use alias) to the other of "
        "the story's version and the one trust.model.compare_with names")
    at_least: float = Field(default=0.0,
        description="the saving must be at least this (cost_of_error's unit per its "
                    "population)")


class TrustLevelGround(_Schema):
    """The trust report gives ``area`` at least the level ``at_least``."""

    area: Literal["model", "data", "system"] = Field(description="model, data or system")
    at_least: Literal["emerging", "established", "strong"] = Field(description="the lowest trust level that holds")


class SliceGapGround(_Schema):
    """The gap in ``metric`` between the groups of ``slice`` stays within ``tolerance``, allowing for chance."""

    slice: Key = Field(description="a column listed under slices:")
    metric: ProportionKind = Field(default="recall", description="the share compared between groups")
    tolerance: Annotated[float, Field(ge=0, le=1)] = Field(
        description="the largest gap allowed between any two groups, allowing for chance")
    version: Version = Field(default="story",
        description="story: the story's version; compared: the version it compares with")


class GuardrailGround(_Schema):
    """The guardrail on ``series`` (one of trust.guardrails) held at every reading."""

    series: Key = Field(description="a series with a guardrail under trust.guardrails")


class MetricGround(_Schema):
    """A metric of the story (by its key) is at least / at most a bound, judged on its 95% interval."""

    key: Key = Field(description="a key listed under metrics:")
    at_least: float | None = Field(default=None, description="the metric is at least this (on its 95% interval)")
    at_most: float | None = Field(default=None, description="the metric is at most this (on its 95% interval)")
    version: Version = Field(default="story",
        description="story: the story's version; compared: the version it compares with")

    @model_validator(mode="after")
    def _one_bound(self) -> MetricGround:
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("give exactly one of at_least or at_most")
        return self


class VersionComparisonGround(_Schema):
    """The version that would replace the one in use (of the story's version and the one
    ``trust.model.compare_with`` names, the one not carrying the in-use alias) is no worse at ``metric`` than the
    one in use by more than ``margin``; paired when both scored the same cases."""

    metric: IntervalKind = Field(default="recall",
        description="the figure compared between the two versions")
    margin: Annotated[float, Field(ge=0, le=1)] = Field(default=0.0,
        description="the compared version may be worse by at most this")


GROUND_KINDS = ("cost_saving", "trust_level", "slice_gap", "guardrail", "metric", "version_comparison")
Ground = (CostSavingGround | TrustLevelGround | SliceGapGround | GuardrailGround | MetricGround
          | VersionComparisonGround)


class Criterion(_Schema):
    """One ground of a decision: exactly one of the ground keys, required for "go" or only a condition."""

    id: CriterionId = Field(description="the ground's id")
    label: ShortText | None = Field(default=None, description="the ground in plain words, for the reader")
    required: bool = Field(default=True, description="true: it must hold for 'go'; false: only a condition")
    condition: Text | None = Field(default=None, description="when not required: what must be done if it "
                                   "does not hold (the condition of 'go with conditions')")
    cost_saving: CostSavingGround | None = None
    trust_level: TrustLevelGround | None = None
    slice_gap: SliceGapGround | None = None
    guardrail: GuardrailGround | None = None
    metric: MetricGround | None = None
    version_comparison: VersionComparisonGround | None = None

    @model_validator(mode="after")
    def _one_ground(self) -> Criterion:
        given = [kind for kind in GROUND_KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            raise ValueError(f"a criterion has exactly one of {', '.join(GROUND_KINDS)}"
                             + (f"; this one has {', '.join(given)}" if given else ""))
        if self.required and self.condition is not None:
            raise KeyedValueError("a required ground has no condition: it must hold for 'go'; set "
                                  "required: false to make it a condition", ("condition",))
        if not self.required and self.condition is None:
            raise KeyedValueError("a ground that is only a condition (required: false) needs condition: what "
                                  "must be done while it does not hold", ("required",))
        return self

    @property
    def kind(self) -> str:
        return next(kind for kind in GROUND_KINDS if getattr(self, kind) is not None)

    @property
    def ground(self) -> Ground:
        found: Ground = getattr(self, self.kind)
        return found


class DecisionOptions(_Schema):
    """What each recommendation means here, in the reader's words."""

    go: Text = Field(description="what 'go' means here")
    no_go: Text = Field(description="what 'no-go' means here")
    go_with_conditions: Text | None = Field(default=None,
        description="what 'go with conditions' means here (needed when a ground is only a "
                    "condition)")


class DecisionSpec(_Schema):
    """A decision brief: the question, what each answer means, and the grounds, each tied to evidence."""

    question: ShortText = Field(description="the question the brief answers")
    owner: ShortText | None = Field(default=None, description="who takes the decision")
    options: DecisionOptions
    criteria: list[Criterion] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_and_conditions(self) -> DecisionSpec:
        seen: set[str] = set()
        for index, criterion in enumerate(self.criteria):
            if criterion.id in seen:
                raise KeyedValueError(f"criterion id {criterion.id!r} is used twice", ("criteria", index, "id"))
            seen.add(criterion.id)
        if self.options.go_with_conditions is None and any(not c.required for c in self.criteria):
            raise KeyedValueError("some grounds are conditions (required: false), so say what 'go with "
                                  "conditions' means here", ("options",))
        return self


class DriversSpec(_Schema):
    """What drives the predictions: permutation importance, from the logged model or from an artifact."""

    source: Key = Field(default="model", description="'model' loads the logged model (this runs its code: "
                        "only for models you trust) and shuffles each feature of the evaluation set; or the "
                        "path of a CSV artifact the run logged: feature, repeat, drop (or feature, mean, std)")
    metric: ImportanceMetric = Field(default="accuracy",
        description="the figure whose loss measures a feature's importance")
    repeats: Annotated[int, Field(ge=1, le=100)] = Field(default=10,
        description="shuffles per feature; the page gives the mean loss with its 95% range")
    seed: int = Field(default=0,
        description="the same seed gives the same shuffles (as "
                    "sklearn.inspection.permutation_importance)")
    show: Annotated[int, Field(ge=1, le=50)] = Field(default=8, description="how many features to show")
    names: dict[Key, ShortText] = Field(default_factory=dict, description="friendly names: 'mean radius: tumour "
                                        "size'")
    features: list[Key] = Field(default_factory=list, description="the columns the model reads; default: the "
                                "model's signature")
    model_path: Key = Field(default="model", description="for a story that names a run_id: the logged model's name")
    by_slice: bool = Field(default=True, description="also shuffle within each slice group")

    @field_validator("source")
    @classmethod
    def _model_or_table(cls, source: str) -> str:
        if source != "model" and not source.endswith((".csv", ".parquet")):
            raise ValueError("source is 'model' or the path of a .csv or .parquet artifact")
        return source


class HistorySpec(_Schema):
    """The registered model's history: its versions, where its aliases moved, and their headline figures."""

    metrics: list[Key] = Field(default_factory=list, description="keys of the story's metrics to follow; "
                               "default: all of them")
    compare_with: AliasName | None = Field(default=None, description="alias to set beside the story's model; "
                                           "default: trust.model.compare_with")
    last: Annotated[int, Field(ge=1, le=100)] = Field(default=10, description="show the most recent versions")
    scored_sets: bool | None = Field(
        default=None, description="read scored evaluation sets for ranges: by default those of the story's "
        "version and the version it compares with; true: every shown version's (each version's run then "
        "decides what is read); false: none")


class StoryConfig(_Schema):
    """stories/<slug>/story.yaml."""

    title: ShortText = Field(description="the story's title")
    summary: Text = Field(description="a few sentences under the title: what the model does and for whom")
    audience: ShortText = Field(description="who the story is written for")
    owner: ShortText = Field(description="who answers for the story")
    model: ModelRef
    intended_use: IntendedUse
    metrics: list[MetricSpec] = Field(min_length=1, description="logged metrics, told in plain words")
    evaluation: EvaluationSpec | None = None
    slices: list[SliceSpec] = Field(
        default_factory=list, description="columns of the evaluation set to break results down by")
    series: list[SeriesSpec] = Field(
        default_factory=list, description="metric histories to chart (e.g. production series)")
    min_slice_size: Annotated[int, Field(ge=1)] = Field(default=30,
        description="a slice group with fewer cases than this is named as too small to "
                    "judge")
    cost_of_error: CostOfError | None = None
    trust: TrustSpec | None = None
    signoffs: SignoffPolicy | None = None
    claims: list[ClaimSpec] = Field(
        default_factory=list, description="checked statements about the data, marked on the page")
    glossary: Glossary = Field(default_factory=dict)
    decision: DecisionSpec | None = None
    drivers: DriversSpec | None = None
    history: HistorySpec | None = None
    versions: Versions | None = None

    @model_validator(mode="after")
    def _drivers_and_history_sources(self) -> StoryConfig:
        if self.drivers is not None and self.drivers.source == "model" and (
                self.evaluation is None or self.evaluation.artifact is None):
            raise KeyedValueError("drivers from the model need an evaluation: section naming the scored evaluation "
                                  "set (with the feature columns)", ("drivers", "source"))
        if self.history is not None:
            if self.model.name is None:
                raise KeyedValueError("a model history needs a registered model (model: name with alias or "
                                      "version)", ("history",))
            keys = {m.key for m in self.metrics}
            for index, key in enumerate(self.history.metrics):
                if key not in keys:
                    raise KeyedValueError(f"history metric {key!r} is not one of the story's metrics",
                                          ("history", "metrics", index))
        return self

    @model_validator(mode="after")
    def _compared_with_another_version(self) -> StoryConfig:
        """A comparison with the story's own alias would compare a version with itself."""
        own = self.model.alias
        places = [(("trust", "model", "compare_with"), self.trust.model.compare_with if self.trust else None),
                  (("history", "compare_with"), self.history.compare_with if self.history else None)]
        for path, alias in places:
            if own is not None and alias == own:
                raise KeyedValueError(f"compare_with names {alias!r}, the alias this story is about "
                                      "(model.alias): a version cannot be compared with itself; name the alias "
                                      "of another version, e.g. the one in use", path)
        return self

    @field_validator("metrics")
    @classmethod
    def _unique_metric_keys(cls, metrics: list[MetricSpec]) -> list[MetricSpec]:
        seen: set[str] = set()
        for metric in metrics:
            if metric.key in seen:
                raise ValueError(f"metric {metric.key!r} is listed twice")
            seen.add(metric.key)
        return metrics

    @field_validator("slices")
    @classmethod
    def _unique_slice_columns(cls, slices: list[SliceSpec]) -> list[SliceSpec]:
        seen: set[str] = set()
        for spec in slices:
            if spec.column in seen:
                raise ValueError(f"slice column {spec.column!r} is listed twice; list each column once")
            seen.add(spec.column)
        return slices

    @model_validator(mode="after")
    def _slices_need_evaluation(self) -> StoryConfig:
        if self.slices and (self.evaluation is None or self.evaluation.artifact is None):
            raise ValueError("slices need an evaluation: section naming the scored evaluation set (artifact)")
        if self.cost_of_error is not None and self.evaluation is None:
            raise ValueError("cost_of_error needs an evaluation: section naming the scored evaluation set")
        return self

    @field_validator("claims")
    @classmethod
    def _unique_claim_ids(cls, claims: list[ClaimSpec]) -> list[ClaimSpec]:
        seen: set[str] = set()
        for claim in claims:
            if claim.id in seen:
                raise ValueError(f"claim id {claim.id!r} is used twice")
            seen.add(claim.id)
        return claims

    @model_validator(mode="after")
    def _decision_grounds_exist(self) -> StoryConfig:
        if self.decision is None:
            return self
        for index, criterion in enumerate(self.decision.criteria):
            problem = _missing_evidence(self, criterion)
            if problem is not None:
                key, message = problem
                raise KeyedValueError(message, ("decision", "criteria", index, criterion.kind, *key))
        return self




def _missing_evidence(config: StoryConfig, criterion: Criterion) -> tuple[tuple[str, ...], str] | None:
    """What a criterion needs from the rest of the story and does not find: (key below the ground, message)."""
    ground = criterion.ground
    compared = config.trust is not None and config.trust.model.compare_with is not None
    needs_compared = "the compared version: set trust.model.compare_with (e.g. challenger)"
    if isinstance(ground, CostSavingGround):
        if config.cost_of_error is None:
            return (), "a cost_saving ground needs a cost_of_error: section (what each mistake costs)"
        if ground.versus == "compared_version" and not compared:
            return ("versus",), f"versus: compared_version needs {needs_compared}"
    elif isinstance(ground, TrustLevelGround | GuardrailGround) and config.trust is None:
        return (), f"a {criterion.kind} ground needs a trust: section"
    elif isinstance(ground, GuardrailGround):
        assert config.trust is not None
        declared = [g.series for g in config.trust.guardrails]
        if ground.series not in declared:
            return ("series",), (f"no guardrail on series {ground.series!r} under trust.guardrails"
                                 + (f" (there are: {', '.join(declared)})" if declared else ""))
    elif isinstance(ground, SliceGapGround):
        columns = [s.column for s in config.slices]
        if ground.slice not in columns:
            return ("slice",), (f"{ground.slice!r} is not a column listed under slices:"
                                + (f" (there are: {', '.join(columns)})" if columns else ""))
        if ground.version == "compared" and not compared:
            return ("version",), f"version: compared needs {needs_compared}"
    elif isinstance(ground, MetricGround):
        kinds = {m.key: m.kind for m in config.metrics}
        if ground.key not in kinds:
            return ("key",), f"{ground.key!r} is not a key listed under metrics: (there are: {', '.join(kinds)})"
        interval_kinds = kinds_where(lambda k: k.interval != "none")
        if kinds[ground.key] not in interval_kinds:
            return ("key",), (f"metric {ground.key!r} is of kind {kinds[ground.key]}, which has no 95% range in "
                              "storybook, so a decision cannot be judged on it; use a metric of kind "
                              f"{', '.join(interval_kinds)}")
        if ground.version == "compared" and not compared:
            return ("version",), f"version: compared needs {needs_compared}"
    elif isinstance(ground, VersionComparisonGround) and not compared:
        return (), f"a version_comparison ground needs {needs_compared}"
    return None  # evidence the data may lack (no scored set, no readings) is judged "cannot tell", not refused


def is_slug(name: str) -> bool:
    return re.fullmatch(SLUG_PATTERN, name) is not None
