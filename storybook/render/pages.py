"""Turn an analysed story into HTML pages, using the project's templates first and storybook's own after."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from storybook.analyse.claims import ClaimResult
from storybook.analyse.cost_words import cost_wording
from storybook.analyse.decision_words import OUTCOME_WORDS, decision_wording
from storybook.analyse.drivers_words import drivers_wording
from storybook.analyse.history_words import history_wording
from storybook.analyse.model_card import ModelCard
from storybook.analyse.multiclass import MulticlassPerformance
from storybook.analyse.page_words import (
    MEASURED_ON,
    NOT_SIGNED,
    SignedBy,
    page_wording,
    signed_off,
    summary_source,
)
from storybook.analyse.plain import (
    RATE_NAMES,
    amount_number,
    capitalise,
)
from storybook.analyse.regression import RegressionPerformance
from storybook.analyse.story import StoryAnalysis
from storybook.analyse.trust_words import VERDICTS, trust_wording
from storybook.analyse.weak_groups_words import weak_groups_wording
from storybook.errors import Location
from storybook.metrics.kinds import kind_info
from storybook.render.charts import (
    Chart,
    EstimatedWindow,
    class_calls_chart,
    class_icon_arrays,
    cost_chart,
    error_histogram_chart,
    estimate_chart,
    forecast_icon_array,
    guarded_series_chart,
    icon_array,
    reliability_chart,
    residuals_chart,
    series_chart,
    slice_chart,
    to_svg,
)
from storybook.render.expressions import Vocabulary, provenance_anchor, render_expressions
from storybook.render.glossary import render_with_glossary
from storybook.render.markdown import markdown_to_html
from storybook.render.model_charts import importance_chart, timeline_chart
from storybook.render.rendered import (
    RenderedStory,
    StoryEntry,
    page_environment,
    render_index,
    search_roots,
    stylesheet,
)
from storybook.render.sandbox import template_failure
from storybook.resolve.resolved import Provenance, ResolvedStory
from storybook.sources.loader import StorySource
from storybook.sources.schema import SliceSpec, Versions
from storybook.sources.sections import CHART_IDS, HEADINGS, SECTION_IDS, SECTIONS

__all__ = ["RenderedStory", "StoryEntry", "page_environment", "render_index", "render_story", "stylesheet"]

KIND_LABELS = {kind: name[0].upper() + name[1:] for kind, name in RATE_NAMES.items()}


CLAIM_MARKS = {"holds": "✓ checked", "fails": "✗ no longer true", "unchecked": "? could not be checked"}


def _claim_markdown(result: ClaimResult) -> str:
    """The claim as the author wrote it, then a mark linking to its evidence in the checked-claims section."""
    title = result.evidence.replace('"', "'").replace("\n", " ")
    mark = CLAIM_MARKS[result.status] + (f", {result.checked}" if result.checked else "")
    return f'{result.spec.says} [({mark})](#claim-{result.spec.id} "{title}")'


def _vocabulary(resolved: ResolvedStory, card: ModelCard, claims: Sequence[ClaimResult] = (), *,
                size: int | None = None) -> Vocabulary:
    """What story Markdown may reach; ``size`` is the evaluation set's rows for a story whose card has no binary
    overall row (multiclass, regression)."""
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
        # Only the counts this story's set has: a multiclass or regression set has no positives (never told as 0),
        # and a story without a scored set has no size (storybook.render.expressions.evaluation_fields).
        evaluation=({
            "size": card.overall.n,
            "positives": card.overall.positives,
            "negatives": card.overall.confusion.negatives,
            "flagged": card.overall.confusion.flagged,
        } if card.overall else {"size": size} if size is not None else {}),
        claims={result.spec.id: _claim_markdown(result) for result in claims},
    )


# A chart on the page: the registry's chart id (sources/sections.py), the group it is drawn for ("" when it is
# drawn once; a slice's column for a chart drawn per slice), and the chart.
Placed = tuple[str, str, Chart]


@dataclass(frozen=True)
class Figures:
    """The page's charts by the registry's chart id: a template places them with ``figures.of("icons")`` (or
    ``figures.of("slices", column)``), inside the section the registry gives that chart."""

    placed: Sequence[Placed] = ()

    def of(self, chart_id: str, group: str = "") -> list[Chart]:
        if chart_id not in CHART_IDS:
            raise KeyError(f"no chart {chart_id!r} in storybook/sources/sections.py; the charts are "
                           f"{', '.join(CHART_IDS)}")
        return [chart for placed_id, placed_group, chart in self.placed
                if placed_id == chart_id and placed_group == group]

    @property
    def charts(self) -> list[Chart]:
        return [chart for _, _, chart in self.placed]


def _charts(story: StorySource, resolved: ResolvedStory, card: ModelCard) -> list[Placed]:
    charts: list[Placed] = []
    for analysis in card.slices:
        for kind in ("recall", "specificity"):
            chart = slice_chart(f"{story.slug}-{analysis.spec.column}-{kind}", analysis.spec.label,
                                KIND_LABELS[kind], kind, analysis.table, card.rules.min_count)
            if chart is not None:
                charts.append(("slices", analysis.spec.column, chart))
    for spec in story.config.series:
        chart = series_chart(f"{story.slug}-series-{spec.key}", spec.label, resolved.series[spec.key])
        if chart is not None:
            charts.append(("series", "", chart))
    return charts


def _cost_charts(story: StorySource, analysis: StoryAnalysis) -> list[Placed]:
    cost = analysis.cost
    assert cost is not None
    words = analysis.card.words
    charts: list[Placed] = []
    if cost.curve is not None and cost.comparison is not None:
        charts.append(("cost-curve", "", cost_chart(
            f"{story.slug}-cost-curve", cost.spec.unit, cost.per, list(cost.curve.thresholds),
            list(cost.curve.costs), cost.comparison.best.threshold, cost.current_threshold,
            best_text=cost.best_threshold_text, best_cost=cost.comparison.best.cost_per,
            current_text=cost.current_threshold_text, capacity=cost.spec.capacity)))
    frequencies = cost.current
    counts = {"found": frequencies.tp, "false alarm": frequencies.fp, "missed": frequencies.fn,
              "rightly left alone": frequencies.tn}
    descriptions = {
        "found": f"who {words.positive} and are {words.flagged}",
        "false alarm": f"who {words.negative} but are {words.flagged}",
        "missed": f"who {words.positive} but are missed",
        "rightly left alone": f"who {words.negative} and are left alone",
    }
    charts.append(("icons", "", icon_array(f"{story.slug}-icons", words.unit, counts, descriptions)))
    return charts


def _tested_on(analysis: StoryAnalysis) -> tuple[int, str] | None:
    """A multiclass or regression story's evaluation set: how many rows, and what is known of each."""
    if analysis.multiclass is not None:
        return analysis.multiclass.performance.n, "class"
    if analysis.regression is not None:
        return analysis.regression.figures.mae.n, "outcome"
    return None


def _task_slices(analysis: StoryAnalysis) -> list[tuple[SliceSpec, int]]:
    """The slices a regression story's own analysis tells, with each one's number of groups."""
    if analysis.regression is None:
        return []
    return [(s.spec, len(s.groups) - 1 + s.merged if s.merged else len(s.groups)) for s in analysis.regression.slices]


def _regression_charts(story: StorySource, performance: RegressionPerformance) -> list[Placed]:
    histogram = performance.histogram
    charts: list[Placed] = []
    chart = error_histogram_chart(f"{story.slug}-errors", performance.amount_unit, histogram.edges,
                                  histogram.counts, histogram.too_high, histogram.too_low, histogram.beyond)
    if chart is not None:
        charts.append(("error-histogram", "", chart))
    chart = residuals_chart(f"{story.slug}-residuals", performance.amount_unit, performance.points, performance.n)
    if chart is not None:
        charts.append(("residuals", "", chart))
    return charts


def _multiclass_charts(story: StorySource, performance: MulticlassPerformance) -> list[Placed]:
    """The calls per true class as natural frequencies (classes with too few rows to tell are left out)."""
    rows = [(line.means, line.frequencies) for line in performance.lines if line.frequencies is not None]
    chart = class_calls_chart(f"{story.slug}-class-calls", performance.unit, performance.per, rows,
                              [c.means for c in performance.classes])
    icons = class_icon_arrays(f"{story.slug}-class-icons", performance.unit, performance.per, rows,
                              [c.means for c in performance.classes])
    return ([] if chart is None else [("class-calls", "", chart)]) + [("class-calls", "", icon) for icon in icons]


def _estimate_charts(story: StorySource, analysis: StoryAnalysis) -> list[Placed]:
    """Each production window's estimated figure beside what its labels showed (section "before-labels")."""
    report = analysis.estimate.report if analysis.estimate is not None else None
    multiclass = analysis.estimate.multiclass if analysis.estimate is not None else None
    if report is None and multiclass is not None:  # a multiclass story: the share of right calls
        right = [EstimatedWindow(w.window, w.right, w.right_interval[0], w.right_interval[1], w.realised_right)
                 for w in multiclass.windows if w.right is not None and w.right_interval is not None]
        chart = estimate_chart(f"{story.slug}-estimate", "Share of calls that are right", right, [])
        return [] if chart is None else [("estimate", "", chart)]
    if report is None:
        return []
    points = [EstimatedWindow(w.window, w.figure, w.interval[0], w.interval[1], w.realised_figure)
              for w in report.windows if w.figure is not None and w.interval is not None]
    info = kind_info(report.metric)
    label = capitalise(info.words.rate_name or report.metric) if info is not None else report.metric
    bounds = sorted({bound for o in (report.windows[0].guards if report.windows else ())
                     for bound in (o.guard.lower, o.guard.upper) if bound is not None})
    chart = estimate_chart(f"{story.slug}-estimate", label, points, bounds)
    return [] if chart is None else [("estimate", "", chart)]


def _trust_charts(story: StorySource, analysis: StoryAnalysis) -> list[Placed]:
    trust = analysis.trust
    assert trust is not None
    charts: list[Placed] = []
    for guarded in trust.guarded:
        change = guarded.change
        change_ms = (guarded.series.points[change.index].timestamp_ms
                     if change.changed and change.index is not None else None)
        chart = guarded_series_chart(f"{story.slug}-guard-{guarded.guardrail.series}",
                                     guarded.guardrail.name.capitalize(), guarded.series, guarded.guardrail.lower,
                                     guarded.guardrail.upper, change_ms)
        if chart is not None:
            charts.append(("guard", "", chart))
    if trust.reliability is not None:
        bins = [(b.mean_score, b.observed_rate, b.n) for b in trust.reliability.bins
                if b.mean_score is not None and b.observed_rate is not None]
        chart = reliability_chart(f"{story.slug}-calibration", analysis.card.words.unit, bins,
                                  of_calls=analysis.multiclass is not None)
        if chart is not None:
            charts.append(("calibration", "", chart))
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
    for pinned in (resolved.drivers, resolved.history):
        if pinned is not None:
            entries[provenance_anchor(pinned.provenance)] = pinned.provenance
    return list(entries.values())



def render_story(env: Environment, story: StorySource, resolved: ResolvedStory, analysis: StoryAnalysis,
                 *, built_at: str, pdf_name: str | None, signoffs: Sequence[SignedBy] = (),
                 snapshot_hash: str | None = None) -> RenderedStory:
    """Render one story's page, summary and compliance version.

    Sign-offs are settled before rendering, by the command that builds (see ``workers.render_one``):
    ``analysis.decision`` already carries what people recorded, and ``signoffs`` are only listed.
    """
    card = analysis.card
    size = (analysis.regression.n if analysis.regression is not None
            else analysis.multiclass.performance.n if analysis.multiclass is not None else None)
    vocabulary = _vocabulary(resolved, card, analysis.claims, size=size)
    prose: dict[str, Markup] = {}
    used_metrics: set[str] = set()
    from storybook.render.expressions import find_references

    for section_id, source in story.sections.items():
        where = Location(source.path, 1)
        used_metrics.update(r.key for r in find_references(source.text, where) if r.function == "metric")
        # Sanitised by markdown_to_html, so it may be placed into the page as HTML.
        prose[section_id] = Markup(markdown_to_html(render_expressions(source.text, where, vocabulary)))
    placed = _charts(story, resolved, card)
    if analysis.cost is not None:
        placed += _cost_charts(story, analysis)
    if analysis.trust is not None:
        placed += _trust_charts(story, analysis)
    if analysis.drivers is not None:
        placed += [("drivers", "", c) for c in (importance_chart(f"{story.slug}-drivers", analysis.drivers),)
                   if c is not None]
    if analysis.history is not None:
        placed += [("timeline", "", c) for c in (timeline_chart(f"{story.slug}-timeline", analysis.history),)
                   if c is not None]
    if analysis.regression is not None:
        placed += _regression_charts(story, analysis.regression)
    frequencies = analysis.regression_cost.frequencies if analysis.regression_cost is not None else None
    if frequencies is not None:
        tolerance = f"{amount_number(frequencies.tolerance)} {card.words.amount_unit}"
        placed.append(("forecast-icons", "", forecast_icon_array(
            f"{story.slug}-forecast-icons", frequencies.within, frequencies.too_high, frequencies.too_low,
            tolerance)))
    if analysis.multiclass is not None:
        placed += _multiclass_charts(story, analysis.multiclass.performance)
    placed += _estimate_charts(story, analysis)
    figures = Figures(placed)
    charts = figures.charts
    svgs = {f"{chart.name}.svg": to_svg(chart) for chart in charts}
    context: dict[str, Any] = {
        "story": story.config, "slug": story.slug, "card": card, "cost": analysis.cost, "trust": analysis.trust,
        "trust_words": trust_wording(analysis.trust) if analysis.trust is not None else None, "verdicts": VERDICTS,
        # The cost sentences, built once: the page, the compliance PDF and the summary all lay out these.
        "cost_words": cost_wording(analysis.cost, card.words) if analysis.cost is not None else None,
        # The card's own sentences and the page's about its claims and sources, for the templates to lay out.
        "words": page_wording(card, resolved, owner=story.config.owner, built_at=built_at,
                              snapshot_hash=snapshot_hash, task_slices=_task_slices(analysis),
                              claims=analysis.claims, audience=story.config.audience,
                              tested_on=_tested_on(analysis)),
        "measured_on": MEASURED_ON,
        "claims": analysis.claims, "claim_marks": CLAIM_MARKS,
        "drivers": analysis.drivers, "history": analysis.history,
        # The scan for weak groups in words (templates/_weak_groups.html).
        "weak_groups_words": (weak_groups_wording(analysis.weak_groups, card.words, card.rules)
                              if analysis.weak_groups is not None else None),
        # Performance before the labels are in: figures and sentences (templates/_before_labels.html).
        "estimate": analysis.estimate,
        "drivers_words": drivers_wording(analysis.drivers, card.words) if analysis.drivers is not None else None,
        "history_words": history_wording(analysis.history) if analysis.history is not None else None,
        "resolved": resolved,
        "prose": prose,
        # Each section's heading and its charts, from the registry (sources/sections.py).
        "headings": HEADINGS, "figures": figures, "charts": charts, "built_at": built_at, "pdf_name": pdf_name,
        "provenance": _provenance(story, resolved, used_metrics), "kind_labels": KIND_LABELS,
        "signoffs": list(signoffs), "snapshot_hash": snapshot_hash,
        "signed_off": signed_off(signoffs), "not_signed": NOT_SIGNED,
        "summary_source": summary_source(resolved.source, snapshot_hash, signoffs),
        # The decision brief with what people signed (overrules, the grounds then), for _decision.html.
        "decision": analysis.decision, "outcome_words": OUTCOME_WORDS,
        # A regression story's performance and cost sections (templates/_regression.html).
        "regression": analysis.regression, "regression_cost": analysis.regression_cost,
        # A multiclass story's performance and cost sections (templates/_multiclass.html).
        "multiclass": analysis.multiclass,
        "decision_words": decision_wording(analysis.decision) if analysis.decision is not None else None,
    }
    versions = story_versions(story)
    present = _present_sections(analysis)
    page_shown, compliance_shown = versions.sections("page"), versions.sections("compliance")
    try:
        template = env.get_template("story.html")
        html = render_with_glossary(template, {**context, "shown": page_shown, "toc": _toc(present, page_shown)},
                                    analysis.glossary)
        compliance = html if compliance_shown == page_shown else render_with_glossary(
            template, {**context, "shown": compliance_shown, "toc": _toc(present, compliance_shown)},
            analysis.glossary)
        summary = env.get_template("summary.html").render({**context, "summary_blocks": versions.summary})
    except Exception as exc:
        failure = template_failure(exc, f"story {story.slug!r}", search_roots(env))
        if failure is None:
            raise
        raise failure from None
    summary_name = f"{story.slug}.summary.html"
    pdfs = {pdf_name: compliance, summary_name.replace(".html", ".pdf"): summary} if pdf_name else {}
    return RenderedStory(slug=story.slug, html=html, charts=svgs, pages={summary_name: summary}, pdfs=pdfs)




def _present_sections(analysis: StoryAnalysis) -> set[str]:
    optional = {"decision": analysis.decision, "drivers": analysis.drivers, "history": analysis.history,
                "weak-groups": analysis.weak_groups, "before-labels": analysis.estimate,
                "cost-of-error": analysis.cost or analysis.regression_cost
                or (analysis.multiclass is not None and analysis.multiclass.cost), "trust": analysis.trust,
                "claims": analysis.claims}
    return set(SECTION_IDS) - {section for section, found in optional.items() if not found}


def _toc(present: set[str], shown: frozenset[str]) -> list[tuple[str, str]]:
    """The table of contents in page order. The glossary adds its own entry: only the template knows its terms."""
    return [(s.id, s.heading) for s in SECTIONS if s.in_contents and s.id in present and s.id in shown]


def story_versions(story: StorySource) -> Versions:
    """The story's audience versions: the project's, with what the story's own ``versions:`` sets."""
    project = story.project.versions if story.project is not None else Versions()
    return project.merged(story.config.versions)
