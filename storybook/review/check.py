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
    claim-unchecked   warning   a checked claim could not be tested (no readings in its window, no cases)
    decision-grounds  error     a ground of the decision held when the story was last signed (or, with --online,
                                in the pinned snapshot) and no longer does; other changes of a ground: warning
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from storybook.errors import ConfigError, Location, StorybookError, UnexpectedError
from storybook.resolve.resolved import ResolvedStory
from storybook.resolve.snapshot import SnapshotSource, has_snapshot, line_of, snapshot_path
from storybook.review.safe import visible_controls
from storybook.sources.loader import (
    AUTHORED_SECTIONS,
    CARD_SECTIONS,
    STORY_SECTIONS,
    BrokenStory,
    Project,
    StorySource,
    load_project,
    read_markdown,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from storybook.analyse.claims import ClaimResult
    from storybook.analyse.decision import DecisionBrief
    from storybook.analyse.story import StoryAnalysis
    from storybook.render.pages import RenderedStory
    from storybook.review.readability import PageReadability

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

Severity = Literal["error", "warning"]
MIN_WORDS_FOR_GRADE = 30

_EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1", re.DOTALL | re.MULTILINE)
_CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.DOTALL)
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
# "97%", "97.5 %", "12 percent"; "0.93", ".93" (a share written as a decimal). Not years, counts or "1.5 hours".
_PERCENT = re.compile(r"(?<![\w.,])\d{1,3}(?:\.\d+)?\s?(?:%|per ?cent\b)", re.IGNORECASE)
_DECIMAL = re.compile(r"(?<![\w.,])0?\.\d+(?!\w|\.\d|%)")


@dataclass(frozen=True)
class Finding:
    severity: Severity
    file: str
    line: int | None
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "file": self.file, "line": self.line, "code": self.code,
                "message": self.message}


@dataclass
class CheckReport:
    root: Path
    findings: list[Finding] = field(default_factory=list)
    stories: list[str] = field(default_factory=list)
    readability: dict[str, dict[str, PageReadability]] = field(default_factory=dict)  # slug -> version -> grades
    max_grade: float | None = None  # storybook.yaml's readability target
    tracebacks: list[str] = field(default_factory=list)  # of unforeseen errors, shown with --debug
    online: bool = False
    needs_online: list[str] = field(default_factory=list)  # what was not checked because it needs MLflow
    pinned_offline: list[str] = field(default_factory=list)  # pinned stories checked without MLflow

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


def _shown(path: Path) -> str:
    """A path as GitHub and people expect it: relative to the working directory (the repository root in CI)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


class _Collector:
    def __init__(self, report: CheckReport) -> None:
        self.report = report

    def add(self, severity: Severity, location: Location | Path, code: str, message: str,
            hint: str | None = None) -> None:
        if isinstance(location, Path):
            location = Location(location)
        text = f"{message} (fix: {hint})" if hint else message
        finding = Finding(severity, _shown(location.path), location.line, code, text)
        if any((f.file, f.line, f.message) == (finding.file, finding.line, finding.message)
               for f in self.report.findings):
            return  # the same problem found by two checks (e.g. the expression check and the build)
        self.report.findings.append(finding)

    def error(self, error: StorybookError, code: str, fallback: Path) -> None:
        self.add("error", error.location or Location(fallback), code, error.message, error.hint)


def check_project(root: Path, *, online: bool = False, only: list[str] | None = None) -> CheckReport:
    """Lint every story (or only the slugs given). Raises ConfigError when the project itself is unusable."""
    project = load_project(root, only)
    report = CheckReport(root=project.root,
                         max_grade=project.config.readability.max_grade if project.config.readability else None,
                         online=online)
    found = _Collector(report)
    state: dict[str, Any] = {"env": None, "mlflow": None}  # made once, on the first story that needs them
    for story in project.stories:
        report.stories.append(story.slug)
        try:
            _check_story(found, project, report, story, online, state)
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


def _check_story(found: _Collector, project: Project, report: CheckReport, story: StorySource | BrokenStory,
                 online: bool, state: dict[str, Any]) -> None:
    """Every check of one story; ``state`` keeps the page environment and the MLflow source between stories."""
    env = state["env"]
    mlflow = state["mlflow"]
    _sections(found, story)
    _literals_and_readability(found, project, story.directory)
    if isinstance(story, BrokenStory):
        if not story.error.message.startswith("the model card needs the section"):
            found.error(story.error, "source", story.directory / "story.yaml")
        _signoffs(found, story.directory, [], None)
        return
    _cost_owner(found, story)
    roles = list(story.config.signoffs.required_roles) if story.config.signoffs else []
    _signoffs(found, story.directory, roles, story)
    pinned: ResolvedStory | None = None
    if has_snapshot(story.directory):
        try:
            pinned = SnapshotSource().resolve(story)
        except StorybookError as error:
            stale = _stale_snapshot(story)
            _expressions(found, story, stale)
            if stale is not None:
                _alias_in_snapshot(found, story, stale)
            found.error(error, "build", snapshot_path(story.directory))
            return
    else:
        found.add("warning", snapshot_path(story.directory),
                  "no-snapshot", "this story has no pinned snapshot: its build needs MLflow",
                  f"run `storybook pin --story {story.slug}` and commit snapshot.json")
    fresh: ResolvedStory | None = None
    if online:
        if mlflow is None:
            from storybook.resolve.source import open_source

            mlflow = open_source(project).mlflow  # --online compares the pinned figures with MLflow's
            # One batched read for every story (requests grow with models and experiments, not stories).
            mlflow.prefetch([s for s in project.stories if isinstance(s, StorySource)])
            state["mlflow"] = mlflow
        try:
            fresh = mlflow.resolve(story)
        except StorybookError as error:
            found.error(error, "build", story.story_file)
            return
        if pinned is not None:
            _drift(found, story, pinned, fresh)
    resolved = pinned or fresh
    _expressions(found, story, resolved)
    if not online:
        _offline_gaps(report, story, pinned is not None)
    _plain_language(found, story, resolved)
    if resolved is None:
        return
    if env is None:
        from storybook.render.pages import page_environment

        env = page_environment(project.templates_dir)
        state["env"] = env
    rendered = _render(found, story, resolved, env)
    analysis = rendered[0] if rendered is not None else None
    if rendered is not None:
        _page_readability(found, report, story, rendered[1])
    if analysis is not None:
        _claims(found, story, analysis.claims, "the pinned snapshot" if pinned is not None else "MLflow")
        _figure_mismatches(found, story, analysis)
        if analysis.decision is not None:
            _decision_since_signed(found, story, analysis.decision)
    if online and pinned is not None and fresh is not None and (story.config.claims or story.config.decision):
        from storybook.analyse.story import analyse_story

        try:
            now = analyse_story(story, fresh)
        except StorybookError as error:
            found.error(error, "build", story.story_file)
        else:
            _claims(found, story, now.claims, "MLflow now")
            if analysis is not None and analysis.decision is not None and now.decision is not None:
                from storybook.analyse.decision import grounds_record

                _decision_grounds(found, story, grounds_record(analysis.decision), now.decision,
                                  "in the pinned snapshot", " in MLflow")


# -- sections and prose -------------------------------------------------------------------------------------


def _sections(found: _Collector, story: StorySource | BrokenStory) -> None:
    directory = story.directory
    known = (*CARD_SECTIONS, *STORY_SECTIONS)
    for section_id in AUTHORED_SECTIONS:
        path = directory / f"{section_id}.md"
        if not path.is_file() or not path.read_text(encoding="utf-8", errors="replace").strip():
            found.add("error", path, "section-missing",
                      f"the model card needs the section {CARD_SECTIONS[section_id]!r}, written by people",
                      f"write {section_id}.md in {directory.name}/ (plain Markdown)")
    for path in sorted(directory.glob("*.md")):
        section_id = path.stem
        if section_id not in known:
            close = difflib.get_close_matches(section_id, known, n=1)
            hint = f"rename it to {close[0]}.md" if close else f"sections are: {', '.join(known)}"
            found.add("warning", path, "section-unknown",
                      f"{path.name} is not a model-card section, so it is never shown", hint)
        elif section_id not in AUTHORED_SECTIONS and not path.read_text(encoding="utf-8",
                                                                          errors="replace").strip():
            found.add("warning", path, "section-empty", f"{path.name} is empty",
                      "write the section, or delete the file (storybook generates this section anyway)")


def _spaces(text: str) -> str:
    """``text`` as spaces, keeping its newlines so line numbers stay right."""
    return re.sub(r"[^\n]", " ", text)


def _blank(match: re.Match[str]) -> str:
    return _spaces(match.group(0))


def prose_only(text: str) -> str:
    """The words a reader sees, roughly: no {{ expressions }}, code or link targets (lines preserved)."""
    text = _EXPRESSION.sub(_blank, text)
    text = _FENCE.sub(_blank, text)
    text = _CODE_SPAN.sub(_blank, text)
    return _LINK_TARGET.sub(lambda match: "]" + _spaces(match.group(0)[1:]), text)


def find_literal_numbers(text: str) -> list[tuple[int, str]]:
    """``(line, literal)`` for every number in prose that looks like a metric: "97%", "0.93"."""
    found: list[tuple[int, str]] = []
    for number, line in enumerate(prose_only(text).splitlines(), 1):
        for pattern in (_PERCENT, _DECIMAL):
            found.extend((number, match.group(0).strip()) for match in pattern.finditer(line))
    return sorted(found)


def readability_grade(text: str) -> tuple[float, int]:
    """The Flesch-Kincaid grade of the prose (textstat) and its word count."""
    import textstat  # type: ignore[import-untyped]  # no type information shipped

    plain = prose_only(text)
    plain = re.sub(r"^\s{0,3}(?:#{1,6}|[-*+]|\d+[.)]|>)\s+", "", plain, flags=re.MULTILINE)
    plain = re.sub(r"[*_~\[\]]", "", plain)
    words = int(textstat.lexicon_count(plain))
    if words == 0:
        return 0.0, 0
    return float(textstat.flesch_kincaid_grade(plain)), words


def _literals_and_readability(found: _Collector, project: Project, directory: Path) -> None:
    """Over every section file, also of a story that does not load (its prose can still be read)."""
    target = project.config.readability
    for section_id in (*CARD_SECTIONS, *STORY_SECTIONS):
        path = directory / f"{section_id}.md"
        try:
            section = read_markdown(project.root, path)
        except (OSError, StorybookError):
            continue  # missing or unreadable: reported by the section and source checks
        for line, literal in find_literal_numbers(section.text):
            found.add("warning", Location(section.path, line), "literal-number",
                      f"{literal!r} is written as a literal; if it is a figure, it will not follow the model",
                      'write a reference instead, e.g. {{ metric("test_recall") | percent }}')
        if target is None:
            continue
        grade, words = readability_grade(section.text)
        if words >= MIN_WORDS_FOR_GRADE and grade > target.max_grade:
            found.add("warning", Location(section.path, 1), "readability",
                      f"{section.path.name} reads at grade {grade:.1f}; this project aims for "
                      f"{target.max_grade:g} or below",
                      "use shorter sentences and everyday words")


def _plain_language(found: _Collector, story: StorySource, resolved: ResolvedStory | None) -> None:
    """Jargon outside the glossary, percentages without a denominator, score-like figures without a baseline
    and slice figures without a sample size (storybook/review/plain_lints.py), on each file's line."""
    from storybook.review.plain_lints import story_prose_findings

    for path, finding in story_prose_findings(story, resolved):
        found.add("warning", Location(path, finding.line), finding.code, finding.message, finding.hint)


def _cost_owner(found: _Collector, story: StorySource) -> None:
    cost = story.config.cost_of_error
    if cost is not None and not cost.owner.strip():
        found.add("error", story.yaml.location(("cost_of_error", "owner")), "cost-owner",
                  "the cost assumptions have no owner", "name who stated these costs and answers for them")


# -- expressions and references -----------------------------------------------------------------------------

_MODEL_FIELDS = ("name", "version", "alias", "run_id")
_EVALUATION_FIELDS = ("size", "positives", "negatives", "flagged")


def _expressions(found: _Collector, story: StorySource, resolved: ResolvedStory | None) -> None:
    """Every ``{{ ... }}`` of every section, compiled by the build's own sandbox, each error on its line.

    With values at hand (the pinned snapshot, or MLflow with --online) every metric(), param(), tag(),
    claim(), model.* and evaluation.* reference is also looked up, so a missing key fails here, not at build.
    """
    from storybook.errors import ExpressionError
    from storybook.render.expressions import Reference, find_references

    known: dict[str, set[str]] = {
        "model": set(_MODEL_FIELDS), "evaluation": set(_EVALUATION_FIELDS),
        "claim": {claim.id for claim in story.config.claims or ()},
    }
    if resolved is not None:
        known.update(metric=set(resolved.run.metrics), param=set(resolved.run.params),
                     tag={k for k in resolved.run.tags if not k.startswith("mlflow.")})
    for section in story.sections.values():
        text = section.text
        references: list[Reference] = []
        failed = False
        for match in _EXPRESSION.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            try:
                references += find_references(match.group(0), Location(section.path, line))
            except ExpressionError as error:
                failed = True
                found.error(error, "expression", section.path)
        if not failed:
            try:
                find_references(text, Location(section.path, 1))  # what spans expressions (an unclosed {{)
            except ExpressionError as error:
                found.error(error, "expression", section.path)
        for ref in references:
            names = known.get(ref.function)
            if names is None or ref.key in names:
                continue
            close = difflib.get_close_matches(ref.key, sorted(names), n=1)
            where = "the pinned snapshot" if resolved is not None and ref.function in ("metric", "param", "tag") \
                else "this story"
            hint = (f"did you mean {close[0]!r}?" if close else
                    f"available: {', '.join(sorted(names)[:12]) or 'none'}")
            found.add("error", Location(section.path, ref.line), "reference",
                      f"{ref.function} {ref.key!r} is not available in {where}", hint)


def _stale_snapshot(story: StorySource) -> ResolvedStory | None:
    """The pinned values even when they no longer match story.yaml (to look references up), None if unreadable."""
    from storybook.resolve.snapshot import load_snapshot

    try:
        return load_snapshot(story.directory, story.slug)[1]
    except StorybookError:
        return None


def _alias_in_snapshot(found: _Collector, story: StorySource, pinned: ResolvedStory) -> None:
    """An alias story.yaml names that no version carries in the pinned registry data: a typo, found offline."""
    ref = story.config.model
    if ref.alias is None or pinned.model is None or ref.name != pinned.model.name:
        return
    aliases = {alias for version in (pinned.model, *pinned.versions) for alias in version.aliases}
    if pinned.history is not None:
        aliases |= set(pinned.history.aliases)
    if not aliases or ref.alias in aliases:
        return
    close = difflib.get_close_matches(ref.alias, sorted(aliases), n=1)
    found.add("error", story.yaml.location(("model", "alias")), "reference",
              f"no version of {ref.name!r} carries the alias {ref.alias!r} in the pinned registry data "
              f"(aliases there: {', '.join(sorted(aliases))})",
              f"did you mean {close[0]!r}?" if close else "check the alias in the MLflow registry, then "
              f"`storybook pin --story {story.slug}`")


def _offline_gaps(report: CheckReport, story: StorySource, pinned: bool) -> None:
    """What an offline check could not look at for this story, said once per story."""
    if pinned:
        report.pinned_offline.append(story.slug)
        return
    report.needs_online.append(f"{story.slug}: not pinned, so {story.config.model.describe()} (does the alias or "
                               "version exist?), its metric keys, params and tags, claims, decision grounds and "
                               "the page build")


# -- sign-offs ----------------------------------------------------------------------------------------------


def _signoffs(found: _Collector, directory: Path, roles: list[str], story: StorySource | None) -> None:
    from storybook.review.signoff import role_status, signoff_status

    try:
        statuses = signoff_status(directory)
    except StorybookError as error:
        found.error(error, "signoff-missing", directory / "signoffs.yaml")
        return
    for status in statuses:
        if not status.current:
            found.add("warning", Location(status.file, status.line), "signoff-stale",
                      f"the sign-off by {status.name} ({status.role}) on {status.date} no longer matches the "
                      f"story: {status.stale_because or 'content changed since'}",
                      f"review the change, then `storybook sign {directory.name} --name ... --role {status.role!r}`")
    if story is None:
        return
    for index, role in enumerate(role_status(statuses, roles)):
        if role.signed_by is not None:
            continue
        where = story.yaml.location(("signoffs", "required_roles", index))
        why = (f"only a stale sign-off (by {role.stale[-1].name} on {role.stale[-1].date}) before the content "
               "changed" if role.stale else "none yet")
        found.add("error", where, "signoff-missing",
                  f"the story needs a current sign-off by the role {role.role!r}: {why}",
                  f"after review, run `storybook sign {story.slug} --name ... --role {role.role!r}`")


# -- resolve, analyse, render -------------------------------------------------------------------------------


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.without_alt: list[str] = []
        self.count = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.count += 1
            attributes = dict(attrs)
            if not (attributes.get("alt") or "").strip():
                self.without_alt.append(str(attributes.get("src") or "(no src)"))


def _render(found: _Collector, story: StorySource, resolved: ResolvedStory, env: Any,
            ) -> tuple[StoryAnalysis, RenderedStory] | None:
    from storybook.analyse.story import analyse_story
    from storybook.render.pages import render_story

    try:
        analysis = analyse_story(story, resolved)
        page = render_story(env, story, resolved, analysis, built_at="(check)", pdf_name=None)
    except StorybookError as error:
        found.error(error, "build", story.story_file)
        return None
    images = _Images()
    images.feed(page.html)
    for src in images.without_alt:
        found.add("error", story.story_file, "chart-alt", f"the chart or image {src} has no alt text",
                  "every chart needs alt text that says what it shows; check the templates or the image's Markdown")
    return analysis, page


def _page_readability(found: _Collector, report: CheckReport, story: StorySource, page: RenderedStory) -> None:
    """The reading grade of the built page and of its one-page summary, against the project's target."""
    from storybook.review.readability import page_readability

    measured = {"page": page_readability(page.html)}
    for name, html in page.pages.items():
        if name.endswith(".summary.html"):
            measured["summary"] = page_readability(html)
    report.readability[story.slug] = measured
    if report.max_grade is None:
        return
    for version, figures in measured.items():
        if figures.grade > report.max_grade:
            found.add("warning", story.story_file, "page-readability",
                      f"the built {version} reads at grade {figures.grade:.1f}, above the project's "
                      f"readability.max_grade of {report.max_grade:g}",
                      "shorten sentences and prefer everyday words in the story's prose and labels")


def _figure_mismatches(found: _Collector, story: StorySource, analysis: StoryAnalysis) -> None:
    """A logged figure the evaluation set does not reproduce (storybook.analyse.reconcile) fails check on the
    metric's line in story.yaml, with both values and the likely cause."""
    for index, line in enumerate(analysis.card.metrics):  # in story.yaml's order
        mismatch = line.mismatch
        if mismatch is None:
            continue
        found.add("error", story.yaml.location(("metrics", index)), "figure-mismatch",
                  f"metric {mismatch.key!r} ({mismatch.kind}) was logged as {mismatch.logged:.4f}, but the evaluation "
                  f"set gives {mismatch.recomputed:.4f}; likely cause: {mismatch.cause}. The page tells "
                  f"{mismatch.recomputed:.4f}",
                  "log the figure from this evaluation set, fix positive_value or the threshold, or say where it was "
                  "measured with measured_on (training, cross_validation or other)")


def _claims(found: _Collector, story: StorySource, claims: tuple[ClaimResult, ...], against: str) -> None:
    """A claim that no longer holds fails check on its line in story.yaml."""
    for index, claim in enumerate(claims):  # in story.yaml's order
        where = story.yaml.location(("claims", index))
        if claim.status == "fails":
            found.add("error", where, "claim-failed", f"claim {claim.spec.id!r} no longer holds against "
                      f"{against}: {claim.evidence}", "fix the model or the data, or reword the claim and have it "
                      "reviewed")
        elif claim.status == "unchecked":
            found.add("warning", where, "claim-unchecked", f"claim {claim.spec.id!r} could not be checked: "
                      f"{claim.evidence}", "widen its period or point it at data that covers it")


def _decision_since_signed(found: _Collector, story: StorySource, brief: DecisionBrief) -> None:
    """Grounds whose outcome changed since the latest sign-off that recorded them."""
    from storybook.review.signoff import signoff_status

    try:
        recorded = [s for s in signoff_status(story.directory) if s.grounds]
    except StorybookError:
        return  # reported by the sign-off check
    if recorded:
        last = recorded[-1]
        _decision_grounds(found, story, last.grounds, brief,
                          f"when {last.name} ({last.role}) signed on {last.date[:10]}", "")


def _decision_grounds(found: _Collector, story: StorySource, recorded: Mapping[str, str], brief: DecisionBrief,
                      then: str, now: str) -> None:
    """A ground that held ``then`` and does not ``now`` is an error on its criterion's line; other changes warn."""
    from storybook.analyse.decision import ground_changes

    assert story.config.decision is not None
    index = {criterion.id: i for i, criterion in enumerate(story.config.decision.criteria)}
    grounds = {ground.id: ground for ground in brief.grounds}
    hint = (f"review the decision brief; if the change is expected, sign the story again "
            f"(`storybook sign {story.slug} --name ... --role ...`)")
    for change in ground_changes(recorded, brief):
        where = story.yaml.location(("decision", "criteria", index[change.id]) if change.id in index
                                    else ("decision", "criteria"))
        ground = grounds.get(change.id)
        detail = f": {ground.sentence}" if ground is not None else ""
        after = {"fails": "fails", "cannot tell": "can no longer be told", "holds": "holds"}.get(
            change.after, "is no longer a ground")
        if change.stopped_holding:
            found.add("error", where, "decision-grounds",
                      f"the grounds for this decision have changed: {change.id!r} held {then} and now {after}"
                      f"{now}{detail}", hint)
        else:
            found.add("warning", where, "decision-grounds",
                      f"the ground {change.id!r} was '{change.before}' {then} and now {after}{now}{detail}", hint)


def _drift(found: _Collector, story: StorySource, pinned: ResolvedStory, fresh: ResolvedStory) -> None:
    path = snapshot_path(story.directory)
    text = path.read_text(encoding="utf-8")
    hint = f"if the change is expected, run `storybook pin --story {story.slug}` and review the diff"

    def differ(where: str, what: str, old: object, new: object) -> None:
        found.add("error", Location(path, line_of(text, where)), "pinned-drift",
                  f"{what} is pinned as {old} but MLflow now says {new}", hint)

    if (pinned.model is None) != (fresh.model is None) or (
            pinned.model is not None and fresh.model is not None
            and (pinned.model.version, pinned.model.run_id) != (fresh.model.version, fresh.model.run_id)):
        old = f"version {pinned.model.version}" if pinned.model else "no model"
        new = f"version {fresh.model.version}" if fresh.model else "no model"
        differ("resolved.model.version", story.config.model.describe(), old, new)
    for key in sorted(set(pinned.run.metrics) | set(fresh.run.metrics)):
        old_figure, new_figure = pinned.run.metrics.get(key), fresh.run.metrics.get(key)
        old_value = old_figure.value if old_figure else None
        new_value = new_figure.value if new_figure else None
        if not _same(old_value, new_value):
            differ(f"resolved.run.metrics.{key}.value", f"metric {key!r}", _text(old_value), _text(new_value))
    for key in sorted(set(pinned.run.params) | set(fresh.run.params)):
        if pinned.run.params.get(key) != fresh.run.params.get(key):
            differ(f"resolved.run.params.{key}", f"param {key!r}", json.dumps(pinned.run.params.get(key)),
                   json.dumps(fresh.run.params.get(key)))


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or (math.isnan(a) and math.isnan(b))


def _text(value: float | None) -> str:
    return "missing" if value is None else repr(value)


# -- output -------------------------------------------------------------------------------------------------


def escape_github_data(text: str) -> str:
    """A workflow command's message: % CR LF escaped (GitHub's rules), so story text cannot end the line, and
    every other control character written out (an escape sequence is shown in the log, not obeyed)."""
    return visible_controls(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_github_property(text: str) -> str:
    """A workflow command's property value (file, title): also ':' and ','."""
    return escape_github_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(findings: list[Finding]) -> str:
    """One ``::error file=…,line=…,title=…::message`` annotation per finding."""
    lines = []
    for f in findings:
        properties = f"file={escape_github_property(f.file)}"
        if f.line:
            properties += f",line={int(f.line)}"
        properties += f",title={escape_github_property('storybook ' + f.code)}"
        lines.append(f"::{f.severity} {properties}::{escape_github_data(f.message)}")
    return "\n".join(lines) + ("\n" if lines else "")


def format_json(findings: list[Finding], *, online: bool = False, needs_online: list[str] | None = None) -> str:
    """``{"findings": [...], "online": bool, "needs_online": [...]}``: ``needs_online`` lists what this run did
    not check because it needs MLflow (empty with --online)."""
    document = {"findings": [f.as_dict() for f in findings], "online": online, "needs_online": needs_online or []}
    text = json.dumps(document, indent=2, ensure_ascii=False)  # C0 controls are escaped by JSON itself
    # C1 controls (\x9b starts an escape sequence in some terminals) and bidi overrides too: \uXXXX, still JSON.
    return _JSON_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text) + "\n"


_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def config_finding(error: ConfigError) -> Finding:
    location = error.location or Location(Path("storybook.yaml"))
    text = f"{error.message} (fix: {error.hint})" if error.hint else error.message
    return Finding("error", _shown(location.path), location.line, "config", text)
