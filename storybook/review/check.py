"""``storybook check``: lint every story, as a reviewer would before reading it.

Each problem is a :class:`Finding` with a severity, a file and line, a short code and a message that says how
to fix it. Errors make ``check`` fail; warnings are shown. The checks reuse the build's own stages (load,
resolve from the snapshot, analyse, render), so a story that passes ``check`` builds.

    code              severity  what
    config            error     storybook.yaml is wrong
    source            error     a story file is malformed or fails the schema
    expression        error     a {{ expression }} the build's sandbox refuses (checked offline, every section)
    reference         error     a metric(), param(), tag(), claim(), model.* or evaluation.* the story's values lack
                                (metric keys, params and tags against the pinned snapshot, or MLflow with --online)
    section-missing   error     a model-card section only people can write is missing or empty
    section-empty     warning   a section file holds nothing
    section-unknown   warning   a Markdown file that is no section (it is never shown)
    build             error     the story cannot be resolved, analysed or rendered
    literal-number    warning   a number in prose that looks like a metric, not a {{ reference }}
    readability       warning   prose harder to read than storybook.yaml's readability.max_grade
    page-readability  warning   a built page (full or summary) harder to read than readability.max_grade
    jargon            warning   a machine-learning word the story's glossary does not define (plain_lints.py)
    percent-without-denominator  warning   a percentage whose sentence never says out of how many
    metric-without-baseline      warning   a score-like figure (accuracy, ROC AUC, F1...) with nothing to compare
    slice-without-size           warning   a figure for a group of a slice without its number of cases
    chart-alt         error     a chart or image without alt text
    no-snapshot       warning   no pinned snapshot: builds need MLflow
    pinned-drift      error     (--online) MLflow now disagrees with a pinned value
    signoff-stale     warning   a sign-off no longer matches the story's content
    signoff-missing   error     a required role has no current sign-off
    cost-owner        error     a cost assumption without its owner
    claim-failed      error     a checked claim no longer holds for the data (pinned, or MLflow with --online)
    figure-mismatch   error     a logged figure the evaluation set does not reproduce (another class, threshold or
                                data set), on the metric's line in story.yaml
    figure-untold     error     a logged share the evaluation set has nothing to count among (precision with no
                                case flagged): the page cannot tell it, prose referring to it would
    autolog-average   warning   autolog's training_recall/precision/f1_score (averaged over the classes, weighted
                                by their counts) told as one class's recall, precision or F1 or as a macro average
    claim-unchecked   warning   a checked claim could not be tested (no readings in its window, no cases)
    weak-groups       warning   a group the scan for weak groups found (scan: in story.yaml) that the story does
                                not acknowledge, or an acknowledged group it no longer finds
    decision-grounds  error     a ground of the decision held when the story was last signed (or, with --online,
                                in the pinned snapshot) and no longer does; other changes of a ground: warning
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from storybook.errors import ConfigError, StorybookError, UnexpectedError
from storybook.resolve.resolved import ResolvedStory
from storybook.resolve.snapshot import snapshot_path
from storybook.resolve.source import ProjectSource, is_pinned, open_source, resolve_pinned
from storybook.review.checks.findings import CheckReport, Collector, Finding, config_finding
from storybook.review.checks.online import drift
from storybook.review.checks.outcomes import (
    autolog_averages,
    claim_findings,
    decision_grounds,
    decision_since_signed,
    figure_mismatches,
    signoffs,
    weak_groups_undiscussed,
)
from storybook.review.checks.output import escape_github_data, escape_github_property, format_github, format_json
from storybook.review.checks.page import built_page_readability, render_page
from storybook.review.checks.prose import (
    check_sections,
    cost_owner,
    find_literal_numbers,
    literals_and_readability,
    plain_language,
    prose_only,
    readability_grade,
)
from storybook.review.checks.references import alias_in_snapshot, expressions, offline_gaps, stale_snapshot
from storybook.sources.loader import (
    BrokenStory,
    Project,
    StorySource,
    load_project,
)

if TYPE_CHECKING:
    from storybook.resolve.mlflow_source import MlflowSource

__all__ = [
    "CheckReport",
    "Finding",
    "check_project",
    "config_finding",
    "escape_github_data",
    "escape_github_property",
    "find_literal_numbers",
    "format_github",
    "format_json",
    "prose_only",
    "readability_grade",
]


def check_project(root: Path, *, online: bool = False, only: list[str] | None = None) -> CheckReport:
    """Lint every story (or only the slugs given). Raises ConfigError when the project itself is unusable."""
    project = load_project(root, only)
    report = CheckReport(root=project.root,
                         max_grade=project.config.readability.max_grade if project.config.readability else None,
                         online=online)
    found = Collector(report)
    shared = _Shared(project)
    for story in project.stories:
        report.stories.append(story.slug)
        try:
            _check_story(found, project, report, story, online, shared)
        except ConfigError:
            raise
        except StorybookError as error:
            found.error(error, "build", story.directory / "story.yaml")
        except Exception as error:  # one story's surprise is that story's finding; the others are checked
            surprise = UnexpectedError.from_exception(error, doing="checking this story")
            report.tracebacks.append(surprise.traceback)
            found.error(surprise, "unexpected", story.directory / "story.yaml")
    if report.pinned_offline:  # one line for all pinned stories, however many
        names = report.pinned_offline
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        report.needs_online.append(f"{shown}: whether MLflow still agrees with the pinned values (pinned-drift), "
                                   "and claims and decision grounds against MLflow now")
    return report


class _Shared:
    """What the checks of every story share, each made once, on the first story that needs it: the page
    environment, and MLflow (for --online) with one batched read for every story."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.sources: ProjectSource = open_source(project)
        self._env: Any = None
        self._read = False

    def env(self) -> Any:
        if self._env is None:
            from storybook.render.pages import page_environment

            self._env = page_environment(self.project.templates_dir)
        return self._env

    def mlflow(self) -> MlflowSource:
        """MLflow, for --online: it compares even pinned stories' figures with MLflow's."""
        if not self._read:
            # One batched read for every story (requests grow with models and experiments, not stories).
            self.sources.mlflow.prefetch([s for s in self.project.stories if isinstance(s, StorySource)])
            self._read = True
        return self.sources.mlflow


def _check_story(found: Collector, project: Project, report: CheckReport, story: StorySource | BrokenStory,
                 online: bool, shared: _Shared) -> None:
    """Every check of one story."""
    check_sections(found, story)
    literals_and_readability(found, project, story.directory)
    if isinstance(story, BrokenStory):
        if not story.error.message.startswith("the model card needs the section"):
            found.error(story.error, "source", story.directory / "story.yaml")
        signoffs(found, story.directory, [], None)
        return
    cost_owner(found, story)
    autolog_averages(found, story)
    roles = list(story.config.signoffs.required_roles) if story.config.signoffs else []
    signoffs(found, story.directory, roles, story)
    pinned: ResolvedStory | None = None
    if is_pinned(story.directory):
        try:
            pinned = resolve_pinned(story)
        except StorybookError as error:
            stale = stale_snapshot(story)
            expressions(found, story, stale)
            if stale is not None:
                alias_in_snapshot(found, story, stale)
            found.error(error, "build", snapshot_path(story.directory))
            return
    else:
        found.add("warning", snapshot_path(story.directory),
                  "no-snapshot", "this story has no pinned snapshot: its build needs MLflow",
                  f"run `storybook pin --story {story.slug}` and commit snapshot.json")
    fresh: ResolvedStory | None = None
    if online:
        try:
            fresh = shared.mlflow().resolve(story)
        except StorybookError as error:
            found.error(error, "build", story.story_file)
            return
        if pinned is not None:
            drift(found, story, pinned, fresh)
    resolved = pinned or fresh
    expressions(found, story, resolved)
    if not online:
        offline_gaps(report, story, pinned is not None)
    plain_language(found, story, resolved)
    if resolved is None:
        return
    rendered = render_page(found, story, resolved, shared.env())
    analysis = rendered[0] if rendered is not None else None
    if rendered is not None:
        built_page_readability(found, report, story, rendered[1])
    if analysis is not None:
        claim_findings(found, story, analysis.claims, "the pinned snapshot" if pinned is not None else "MLflow")
        figure_mismatches(found, story, analysis)
        weak_groups_undiscussed(found, story, analysis)
        if analysis.decision is not None:
            decision_since_signed(found, story, analysis.decision)
    if online and pinned is not None and fresh is not None and (story.config.claims or story.config.decision):
        from storybook.analyse.story import analyse_story

        try:
            now = analyse_story(story, fresh)
        except StorybookError as error:
            found.error(error, "build", story.story_file)
        else:
            claim_findings(found, story, now.claims, "MLflow now")
            if analysis is not None and analysis.decision is not None and now.decision is not None:
                from storybook.analyse.decision import grounds_record

                decision_grounds(found, story, grounds_record(analysis.decision), now.decision,
                                  "in the pinned snapshot", " in MLflow")
