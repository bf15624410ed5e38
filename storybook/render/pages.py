"""Turn an analysed story into HTML pages, using the project's templates first and storybook's own after."""

from __future__ import annotations

import importlib.resources
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, TemplateError
from markupsafe import Markup

from storybook.analyse.claims import ClaimResult
from storybook.analyse.model_card import ModelCard, StoryAnalysis
from storybook.analyse.plain import format_count, format_date, format_number, format_percent, per_hundred
from storybook.errors import Location, PublishError
from storybook.render.charts import (
    Chart,
    cost_chart,
    guarded_series_chart,
    icon_array,
    reliability_chart,
    series_chart,
    slice_chart,
    to_svg,
)
from storybook.render.expressions import Vocabulary, provenance_anchor, render_expressions
from storybook.render.glossary import render_with_glossary
from storybook.render.markdown import markdown_to_html
from storybook.resolve.resolved import Provenance, ResolvedStory
from storybook.sources.loader import CARD_SECTIONS, StorySource

__all__ = ["RenderedStory", "StoryEntry", "page_environment", "render_index", "render_story", "stylesheet"]

KIND_LABELS = {
    "recall": "Share of cases found", "precision": "Share of flags that are right",
    "specificity": "Share of non-cases left alone", "accuracy": "Share of calls that are right",
    "false_positive_rate": "False alarm rate", "false_negative_rate": "Miss rate",
}


@dataclass(frozen=True)
class RenderedStory:
    slug: str
    html: str
    charts: dict[str, str]  # file name -> SVG


@dataclass(frozen=True)
class StoryEntry:
    """One line of the index: a story that built, or one that failed and why."""

    slug: str
    title: str
    audience: str
    model: str
    status: str
    message: str = ""
    pdf: bool = False


def _templates_root() -> Path:
    return Path(str(importlib.resources.files("storybook.templates")))


def page_environment(project_templates: Path | None) -> Environment:
    """Templates are trusted (they belong to the project), so this is a normal, autoescaping environment."""
    search = [str(project_templates)] if project_templates is not None and project_templates.is_dir() else []
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(search), FileSystemLoader(str(_templates_root()))]),
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters.update(percent=format_percent, number=format_number, count=format_count, date=format_date,
                       per_hundred=per_hundred, anchor=provenance_anchor)
    return env


def stylesheet() -> str:
    return (_templates_root() / "static" / "style.css").read_text(encoding="utf-8")


CLAIM_MARKS = {"holds": "✓ checked", "fails": "✗ no longer true", "unchecked": "? could not be checked"}


def _claim_markdown(result: ClaimResult) -> str:
    """The claim as the author wrote it, then a mark linking to its evidence in the checked-claims section."""
    title = result.evidence.replace('"', "'").replace("\n", " ")
    return f'{result.spec.says} [({CLAIM_MARKS[result.status]})](#claim-{result.spec.id} "{title}")'


def _vocabulary(resolved: ResolvedStory, card: ModelCard, claims: Sequence[ClaimResult] = ()) -> Vocabulary:
    model = resolved.model
    return Vocabulary(
        metrics=resolved.run.metrics,
        params=resolved.run.params,
        tags={k: v for k, v in resolved.run.tags.items() if not k.startswith("mlflow.")},
        model={
            "name": model.name if model else resolved.run.run_name,
            "version": str(model.version) if model else "",
            "alias": ", ".join(model.aliases) if model else "",
            "run_id": resolved.run.run_id,
        },
        evaluation={
            "size": card.overall.n if card.overall else 0,
            "positives": card.overall.positives if card.overall else 0,
        },
        claims={result.spec.id: _claim_markdown(result) for result in claims},
    )


def _charts(story: StorySource, resolved: ResolvedStory, card: ModelCard) -> list[Chart]:
    charts: list[Chart] = []
    for analysis in card.slices:
        for kind in ("recall", "specificity"):
            chart = slice_chart(f"{story.slug}-{analysis.spec.column}-{kind}", analysis.spec.label,
                                KIND_LABELS[kind], kind, analysis.table)
            if chart is not None:
                charts.append(chart)
    for spec in story.config.series:
        chart = series_chart(f"{story.slug}-series-{spec.key}", spec.label, resolved.series[spec.key])
        if chart is not None:
            charts.append(chart)
    return charts


def _cost_charts(story: StorySource, analysis: StoryAnalysis) -> list[Chart]:
    cost = analysis.cost
    assert cost is not None
    words = analysis.card.words
    charts = []
    if cost.curve is not None and cost.comparison is not None:
        charts.append(cost_chart(f"{story.slug}-cost-curve", cost.spec.unit, cost.per,
                                 list(cost.curve.thresholds), list(cost.curve.costs),
                                 cost.comparison.best.threshold, cost.current_threshold))
    frequencies = cost.current
    counts = {"found": frequencies.tp, "false alarm": frequencies.fp, "missed": frequencies.fn,
              "rightly left alone": frequencies.tn}
    descriptions = {
        "found": f"who {words.positive} and are {words.flagged}",
        "false alarm": f"who {words.negative} but are {words.flagged}",
        "missed": f"who {words.positive} but are missed",
        "rightly left alone": f"who {words.negative} and are left alone",
    }
    charts.append(icon_array(f"{story.slug}-icons", words.unit, counts, descriptions))
    return charts


def _trust_charts(story: StorySource, analysis: StoryAnalysis) -> list[Chart]:
    trust = analysis.trust
    assert trust is not None
    charts: list[Chart] = []
    for guarded in trust.guarded:
        change = guarded.change
        change_ms = (guarded.series.points[change.index].timestamp_ms
                     if change.changed and change.index is not None else None)
        chart = guarded_series_chart(f"{story.slug}-guard-{guarded.guardrail.series}",
                                     guarded.guardrail.name.capitalize(), guarded.series, guarded.guardrail.lower,
                                     guarded.guardrail.upper, change_ms)
        if chart is not None:
            charts.append(chart)
    if trust.reliability is not None:
        bins = [(b.mean_score, b.observed_rate, b.n) for b in trust.reliability.bins
                if b.mean_score is not None and b.observed_rate is not None]
        chart = reliability_chart(f"{story.slug}-calibration", analysis.card.words.unit, bins)
        if chart is not None:
            charts.append(chart)
    return charts


def _provenance(story: StorySource, resolved: ResolvedStory, used_metrics: set[str]) -> list[Provenance]:
    entries: dict[str, Provenance] = {}
    keys = [m.key for m in story.config.metrics] + sorted(used_metrics - {m.key for m in story.config.metrics})
    for key in keys:
        if key in resolved.run.metrics:
            p = resolved.run.metrics[key].provenance
            entries[provenance_anchor(p)] = p
    for series in resolved.series.values():
        entries[provenance_anchor(series.provenance)] = series.provenance
    if resolved.evaluation_provenance is not None:
        entries[provenance_anchor(resolved.evaluation_provenance)] = resolved.evaluation_provenance
    return list(entries.values())


def render_story(env: Environment, story: StorySource, resolved: ResolvedStory, analysis: StoryAnalysis,
                 *, built_at: str, pdf_name: str | None, signoffs: Sequence[object] = (),
                 snapshot_hash: str | None = None) -> RenderedStory:
    card = analysis.card
    vocabulary = _vocabulary(resolved, card, analysis.claims)
    prose: dict[str, Markup] = {}
    used_metrics: set[str] = set()
    from storybook.render.expressions import find_references

    for section_id, source in story.sections.items():
        where = Location(source.path, 1)
        used_metrics.update(r.key for r in find_references(source.text, where) if r.function == "metric")
        # Sanitised by markdown_to_html, so it may be placed into the page as HTML.
        prose[section_id] = Markup(markdown_to_html(render_expressions(source.text, where, vocabulary)))
    charts = _charts(story, resolved, card)
    if analysis.cost is not None:
        charts += _cost_charts(story, analysis)
    if analysis.trust is not None:
        charts += _trust_charts(story, analysis)
    svgs = {f"{chart.name}.svg": to_svg(chart) for chart in charts}
    context: dict[str, Any] = {
        "story": story.config, "slug": story.slug, "card": card, "cost": analysis.cost, "trust": analysis.trust,
        "claims": analysis.claims, "claim_marks": CLAIM_MARKS,
        "resolved": resolved,
        "prose": prose,
        "sections": CARD_SECTIONS, "charts": charts, "built_at": built_at, "pdf_name": pdf_name,
        "provenance": _provenance(story, resolved, used_metrics), "kind_labels": KIND_LABELS,
        "signoffs": list(signoffs), "snapshot_hash": snapshot_hash,
    }
    try:
        html = render_with_glossary(env.get_template("story.html"), context, analysis.glossary)
    except TemplateError as exc:
        raise PublishError(f"template failed for story {story.slug!r}: {exc}",
                           hint="check the project's templates/ overrides") from None
    return RenderedStory(slug=story.slug, html=html, charts=svgs)


def render_index(env: Environment, title: str, description: str | None, entries: list[StoryEntry],
                 built_at: str) -> str:
    return env.get_template("index.html").render(
        title=title, description=description, entries=entries, built_at=built_at)
