"""storybook.yaml: the project's settings (readability, wording, glossary, page sections, versions)."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, StringConstraints

from storybook.sources.schema.common import DEFAULT_IN_USE_ALIAS, AliasName, ShortText, StrictModel, Text
from storybook.sources.sections import SECTION_IDS


class Readability(StrictModel):
    """How hard the prose may be to read: `storybook check` warns above this reading grade."""

    max_grade: Annotated[float, Field(gt=0, le=30)] = Field(default=12.0,
        description="the highest reading grade (Flesch-Kincaid) of a page or summary that "
                    "`storybook check` accepts without a warning")


class Wording(StrictModel):
    """When a share reads "about 7 in 100" (interval at most ``tight_width`` wide), "between 4 and 11 in 100"
    (wider), or "too few cases to say" (fewer than ``min_count`` cases behind it). See analyse/plain.py."""

    tight_width: Annotated[float, Field(ge=0, le=1)] = Field(default=0.10,
        description='an interval at most this wide (0.1: 10 in 100) reads "about"; a wider '
                    'one "between"')
    min_count: Annotated[int, Field(ge=1, le=1_000_000)] = Field(default=10,
        description='fewer cases than this behind a share read "too few cases to say"')


TermName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60,
                                            pattern=r"^[^\W_][\w .'/+-]*$")]


class GlossaryEntry(StrictModel):
    """A glossary entry: plain words for anyone, and optionally the same in the story's own terms.

    ``in_story`` may use {unit}, {positive}, {negative} and {flagged} (from the story's evaluation section).
    """

    plain: Text = Field(description="the term in plain words, for anyone")
    in_story: Text | None = Field(default=None,
        description="the term in the story's own words; may use {unit}, {positive}, "
                    "{negative} and {flagged}")
    also: list[TermName] = Field(default_factory=list, max_length=20,
                                 description="other spellings linked to this entry, e.g. plurals or acronyms")


Glossary = Annotated[dict[TermName, GlossaryEntry | None], Field(max_length=500)]
# The page's sections in page order, as storybook/sources/sections.py lists them (a typed Literal cannot be built
# from that table, so the check below fails at import until both agree).
PageSection = Literal[
    "decision", "model-details", "intended-use", "factors", "metrics", "evaluation-data", "training-data",
    "quantitative-analyses", "weak-groups", "drivers", "history", "cost-of-error", "trust", "before-labels",
    "claims", "ethical-considerations", "caveats-and-recommendations", "provenance", "glossary",
]
PAGE_SECTIONS: tuple[str, ...] = SECTION_IDS
if get_args(PageSection) != SECTION_IDS:  # pragma: no cover - a mistake in the schema or the registry
    raise ImportError(f"PageSection {get_args(PageSection)} does not list the sections of "
                      f"storybook/sources/sections.py in their order: {SECTION_IDS}")
SummaryBlock = Literal["decision", "key-figures", "cost-of-error", "trust", "claims", "drivers", "caveats"]
SUMMARY_BLOCKS: tuple[str, ...] = SummaryBlock.__args__  # type: ignore[attr-defined]


def _default_summary() -> list[SummaryBlock]:
    return ["decision", "key-figures", "cost-of-error", "trust", "claims"]


class Versions(StrictModel):
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


class ProjectConfig(StrictModel):
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
        "gives up (then no other story of the command asks it again); default MLFLOW_HTTP_REQUEST_TIMEOUT, "
        "else 10")
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
