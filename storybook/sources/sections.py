"""The one registry of a story page's sections: what each is called, who writes it, where it stands, its charts.

Every other place that needs to know about a section reads :data:`SECTIONS`: the story schema's allowed page
sections (``PageSection`` in ``schema/project.py``, checked against this table when it is imported), the loader
(which Markdown files a story may have and which it must have), the page's headings, table of contents and chart
placement (``render/pages.py`` and the templates), the titles of a review diff and the section checks of
``storybook check``. Adding a section is one row here, one name in ``PageSection`` (a typed ``Literal`` cannot
be built from a tuple, so the import-time check there fails until both agree) and its place in ``story.html``.

A leaf of ``sources``: it imports nothing from storybook.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "AUTHORED_SECTIONS",
    "CARD_SECTIONS",
    "CHART_IDS",
    "HEADINGS",
    "MARKDOWN_SECTIONS",
    "SECTIONS",
    "SECTION_IDS",
    "STORY_SECTIONS",
    "Section",
    "chart_section",
    "section",
]

# Who may write a section's Markdown file (<id>.md in the story's folder): "card" for a section of the model card
# of Mitchell et al. (2019), "story" for a narrative section beyond the card, told when the story asks for it;
# None when storybook writes the whole section itself.
Markdown = Literal["card", "story"] | None


@dataclass(frozen=True)
class Section:
    id: str  # the anchor on the page (<section id=...>), the name in `versions:` and the Markdown file's stem
    heading: str  # the heading a reader sees, also its line in the table of contents and in review diffs
    markdown: Markdown = None
    required: bool = False  # people must write its Markdown: a story without it does not build
    charts: tuple[str, ...] = ()  # the charts shown inside this section, by chart id (see render/pages.py)
    in_contents: bool = True  # listed in the page's table of contents when it is on the page


# In page order. The card's own sections keep the order of Mitchell et al. (2019).
SECTIONS: tuple[Section, ...] = (
    Section("decision", "The decision"),
    Section("model-details", "Model details", markdown="card"),
    Section("intended-use", "Intended use", markdown="card"),
    Section("factors", "Factors", markdown="card"),
    Section("metrics", "Metrics", markdown="card"),
    Section("evaluation-data", "Evaluation data", markdown="card"),
    Section("training-data", "Training data", markdown="card"),
    # "slices": one chart per slice and share; "series": one per production series the story follows;
    # "error-histogram" and "residuals": a regression story's misses, and misses against the forecast;
    # "class-calls": a multiclass story's calls per true class, as natural frequencies.
    Section("quantitative-analyses", "Quantitative analyses", markdown="card",
            charts=("slices", "series", "error-histogram", "residuals", "class-calls")),
    # Storybook's scan of the columns the story does not slice by (story.yaml scan:, analyse/weak_groups.py).
    Section("weak-groups", "Groups storybook found without being asked"),
    Section("drivers", "What drives the predictions", charts=("drivers",)),
    Section("history", "The model's history", charts=("timeline",)),
    # "icons": the icon array of the threshold in use; "cost-curve": the cost of every threshold;
    # "forecast-icons": a regression story's forecasts out of 100, within the tolerance, too high or too low.
    Section("cost-of-error", "What mistakes cost", markdown="story", charts=("icons", "cost-curve",
                                                                          "forecast-icons")),
    # "calibration": scores against what happened (trust in the model); "guard": a guarded production series.
    Section("trust", "How far to trust it", charts=("calibration", "guard")),
    # "estimate": each production window's figure estimated from the scores, beside what the labels showed.
    Section("before-labels", "Performance before the labels are in", charts=("estimate",)),
    Section("claims", "Claims checked against the data"),
    Section("ethical-considerations", "Ethical considerations", markdown="card", required=True),
    Section("caveats-and-recommendations", "Caveats and recommendations", markdown="card", required=True),
    Section("provenance", "Where the numbers come from"),
    # Listed by the template itself: only while rendering is it known which terms the page uses.
    Section("glossary", "Words used on this page", in_contents=False),
)

SECTION_IDS: tuple[str, ...] = tuple(s.id for s in SECTIONS)
HEADINGS: Mapping[str, str] = {s.id: s.heading for s in SECTIONS}
CARD_SECTIONS: Mapping[str, str] = {s.id: s.heading for s in SECTIONS if s.markdown == "card"}
STORY_SECTIONS: Mapping[str, str] = {s.id: s.heading for s in SECTIONS if s.markdown == "story"}
MARKDOWN_SECTIONS: tuple[str, ...] = tuple(s.id for s in SECTIONS if s.markdown is not None)
AUTHORED_SECTIONS: tuple[str, ...] = tuple(s.id for s in SECTIONS if s.required)
CHART_IDS: tuple[str, ...] = tuple(chart for s in SECTIONS for chart in s.charts)


def section(section_id: str) -> Section:
    """The registry's row for ``section_id`` (a ``KeyError`` names the known ids)."""
    for row in SECTIONS:
        if row.id == section_id:
            return row
    raise KeyError(f"no page section {section_id!r}; the sections are {', '.join(SECTION_IDS)}")


def chart_section(chart_id: str) -> Section:
    """The section a chart is shown in."""
    for row in SECTIONS:
        if chart_id in row.charts:
            return row
    raise KeyError(f"no chart {chart_id!r}; the charts are {', '.join(CHART_IDS)}")


# Mistakes in this file, caught when it is imported.
if len(set(SECTION_IDS)) != len(SECTION_IDS):  # pragma: no cover
    raise ImportError(f"a section id is listed twice: {SECTION_IDS}")
if len(set(CHART_IDS)) != len(CHART_IDS):  # pragma: no cover
    raise ImportError(f"a chart belongs to two sections: {CHART_IDS}")
if any(s.required and s.markdown is None for s in SECTIONS):  # pragma: no cover
    raise ImportError("a required section must be one people write in Markdown")
