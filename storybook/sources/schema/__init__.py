"""The schema of storybook.yaml and story.yaml: pydantic models, validated once, here.

Unknown keys are errors (with a "did you mean" hint): a misspelt key silently ignored would leave a story
telling something its author did not intend. Values arrive as strings from the YAML loader and are typed here.

The models live by section: :mod:`.common`, :mod:`.project`, :mod:`.evaluation`, :mod:`.cost`, :mod:`.trust`,
:mod:`.claims`, :mod:`.decision`, :mod:`.story`;
this package re-exports them, so ``from storybook.sources.schema import StoryConfig`` reads as before.
"""

from __future__ import annotations

from storybook.sources.schema.claims import (
    ClaimId,
    ClaimSpec,
)
from storybook.sources.schema.common import (
    DEFAULT_IN_USE_ALIAS,
    METRIC_KINDS,
    PROPORTION_KINDS,
    SLUG_PATTERN,
    AliasName,
    ImportanceMetric,
    IntervalKind,
    IsoDate,
    Key,
    KeyedValueError,
    MeasuredOn,
    MetricKind,
    Phrase,
    ProportionKind,
    ShortText,
    StrictModel,
    Text,
    is_slug,
)
from storybook.sources.schema.cost import (
    CostOfError,
)
from storybook.sources.schema.decision import (
    GROUND_KINDS,
    CostSavingGround,
    Criterion,
    CriterionId,
    DecisionOptions,
    DecisionSpec,
    Ground,
    GuardrailGround,
    MetricGround,
    SliceGapGround,
    TrustLevelGround,
    Version,
    VersionComparisonGround,
)
from storybook.sources.schema.evaluation import (
    ClassSpec,
    ConfusionKeys,
    EvaluationSpec,
    IntendedUse,
    MetricSpec,
    ModelRef,
    SeriesSpec,
    SliceSpec,
)
from storybook.sources.schema.project import (
    PAGE_SECTIONS,
    SUMMARY_BLOCKS,
    Glossary,
    GlossaryEntry,
    PageSection,
    ProjectConfig,
    Readability,
    SummaryBlock,
    TermName,
    Versions,
    Wording,
)
from storybook.sources.schema.scan import (
    AcknowledgedGroup,
    ScanSpec,
)
from storybook.sources.schema.story import (
    DriversSpec,
    HistorySpec,
    SignoffPolicy,
    StoryConfig,
)
from storybook.sources.schema.trust import (
    AttestationSpec,
    Guardrail,
    TrustData,
    TrustModel,
    TrustSpec,
)

__all__ = [
    "DEFAULT_IN_USE_ALIAS",
    "GROUND_KINDS",
    "METRIC_KINDS",
    "PAGE_SECTIONS",
    "PROPORTION_KINDS",
    "SLUG_PATTERN",
    "SUMMARY_BLOCKS",
    "AcknowledgedGroup",
    "AliasName",
    "AttestationSpec",
    "ClaimId",
    "ClaimSpec",
    "ClassSpec",
    "ConfusionKeys",
    "CostOfError",
    "CostSavingGround",
    "Criterion",
    "CriterionId",
    "DecisionOptions",
    "DecisionSpec",
    "DriversSpec",
    "EvaluationSpec",
    "Glossary",
    "GlossaryEntry",
    "Ground",
    "Guardrail",
    "GuardrailGround",
    "HistorySpec",
    "ImportanceMetric",
    "IntendedUse",
    "IntervalKind",
    "IsoDate",
    "Key",
    "KeyedValueError",
    "MeasuredOn",
    "MetricGround",
    "MetricKind",
    "MetricSpec",
    "ModelRef",
    "PageSection",
    "Phrase",
    "ProjectConfig",
    "ProportionKind",
    "Readability",
    "ScanSpec",
    "SeriesSpec",
    "ShortText",
    "SignoffPolicy",
    "SliceGapGround",
    "SliceSpec",
    "StoryConfig",
    "StrictModel",
    "SummaryBlock",
    "TermName",
    "Text",
    "TrustData",
    "TrustLevelGround",
    "TrustModel",
    "TrustSpec",
    "Version",
    "VersionComparisonGround",
    "Versions",
    "Wording",
    "is_slug",
]
