"""``storybook diff``: what changed between two versions of the stories, numbers and words.

A version is a git revision of the project's repository (read with ``git show``/``git archive`` into a
temporary folder; the user's work tree is never checked out or touched), the work tree itself, or a single
snapshot file. It shows every change a reader would see:

- **outcomes** of the analysis (recomputed with :func:`storybook.analyse.story.analyse_story` on both
  versions): the recommendation and each ground, trust levels and checks, claims, slice figures
  (:mod:`storybook.review.outcomes`);
- **settings**: every story.yaml key that changed (cost assumptions, capacity, decision rules, thresholds,
  slices...), the inputs beside their effects, and the project's storybook.yaml and templates, which reach
  every page;
- **figures** from the pinned snapshots: every metric, param and model version that changed, and the
  analysed figures with whether the change is larger than its own uncertainty (the 95% intervals do not
  overlap);
- **prose**, as a word-level diff of each Markdown section;
- **sign-offs** added, edited or removed between the two versions (a deleted "no-go" shows).
"""

from __future__ import annotations

import difflib
import math
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from storybook.analyse.classification import Estimate
from storybook.analyse.story import StoryAnalysis, analyse_story
from storybook.errors import ConfigError, StorybookError
from storybook.resolve.resolved import ResolvedStory
from storybook.resolve.source import is_pinned, read_pinned, read_snapshot_file, resolve_pinned
from storybook.review.outcomes import NumberChange, analysis_outcomes, setting_changes
from storybook.sources.loader import (
    PROJECT_FILE,
    BrokenStory,
    StorySource,
    find_project_root,
    load_project,
    validate,
)
from storybook.sources.schema import ProjectConfig
from storybook.sources.sections import HEADINGS, MARKDOWN_SECTIONS
from storybook.sources.yaml_loader import parse_yaml

__all__ = [
    "WORKTREE",
    "NumberChange",
    "ProjectDiff",
    "ProseChange",
    "SignoffChange",
    "StoryDiff",
    "WordOp",
    "compare_resolved",
    "diff_revisions",
    "diff_snapshot_files",
    "word_diff",
]

GIT_TIMEOUT = 60
WORKTREE = "the work tree"
# What a prose change is called in a diff: the story's title and summary, then each Markdown section's heading.
SECTION_TITLES = {"title": "Title", "summary": "Summary", **{sid: HEADINGS[sid] for sid in MARKDOWN_SECTIONS}}


WordOp = tuple[Literal["equal", "delete", "insert"], str]


@dataclass(frozen=True)
class ProseChange:
    section: str  # e.g. "metrics.md", or "title"
    title: str
    ops: tuple[WordOp, ...]

    @property
    def added(self) -> int:
        return sum(len(text.split()) for tag, text in self.ops if tag == "insert")

    @property
    def removed(self) -> int:
        return sum(len(text.split()) for tag, text in self.ops if tag == "delete")


@dataclass(frozen=True)
class SignoffChange:
    """A sign-off entry added, edited or removed between two versions (entries are only ever appended)."""

    change: Literal["added", "edited", "removed"]
    name: str
    role: str
    date: str
    decision: str = ""
    detail: str = ""  # for an edit: which fields changed


@dataclass
class StoryDiff:
    slug: str
    status: Literal["added", "removed", "changed", "unchanged"]
    numbers: list[NumberChange] = field(default_factory=list)
    prose: list[ProseChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    signoffs: list[SignoffChange] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[NumberChange]:
        return [n for n in self.numbers if n.kind == kind]


@dataclass
class ProjectDiff:
    old_label: str
    new_label: str
    stories: list[StoryDiff] = field(default_factory=list)
    settings: list[NumberChange] = field(default_factory=list)  # storybook.yaml keys that changed
    templates: list[str] = field(default_factory=list)  # project template files added, changed or removed

    @property
    def changed(self) -> list[StoryDiff]:
        return [s for s in self.stories if s.status != "unchanged"]

    @property
    def project_changed(self) -> bool:
        return bool(self.settings or self.templates)


# -- words --------------------------------------------------------------------------------------------------


def word_diff(old: str, new: str) -> tuple[WordOp, ...]:
    """A word-level diff: runs of equal, deleted and inserted words (whitespace normalised)."""
    a, b = old.split(), new.split()
    ops: list[WordOp] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            ops.append(("equal", " ".join(a[i1:i2])))
            continue
        if tag in ("delete", "replace"):
            ops.append(("delete", " ".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            ops.append(("insert", " ".join(b[j1:j2])))
    return tuple(ops)


def _prose(old: StorySource | None, new: StorySource | None) -> list[ProseChange]:
    def texts(story: StorySource | None) -> dict[str, str]:
        if story is None:
            return {}
        found = {"title": story.config.title, "summary": story.config.summary}
        found.update({f"{sid}.md": section.text for sid, section in story.sections.items()})
        return found

    before, after = texts(old), texts(new)
    order = ["title", "summary", *(f"{sid}.md" for sid in MARKDOWN_SECTIONS)]
    changes = []
    for key in order:
        a, b = before.get(key, ""), after.get(key, "")
        if a.split() == b.split():
            continue
        changes.append(ProseChange(key, SECTION_TITLES[key.removesuffix(".md")], word_diff(a, b)))
    return changes


# -- numbers ------------------------------------------------------------------------------------------------


def _number(value: float | None) -> str | None:
    if value is None:
        return None
    if math.isnan(value):
        return "nan"
    return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"


def _interval(estimate: Estimate | None) -> str:
    if estimate is None or estimate.low is None or estimate.high is None:
        return ""
    return f" (95%: {_number(estimate.low)} to {_number(estimate.high)})"


def _apart(a: Estimate | None, b: Estimate | None) -> bool | None:
    if a is None or b is None or None in (a.low, a.high, b.low, b.high):
        return None
    assert a.low is not None and a.high is not None and b.low is not None and b.high is not None
    return a.high < b.low or b.high < a.low


def compare_resolved(old: ResolvedStory | None, new: ResolvedStory | None) -> list[NumberChange]:
    """Model version, metrics and params that differ between two resolved (pinned) versions."""
    changes: list[NumberChange] = []
    old_model = old.model if old else None
    new_model = new.model if new else None
    if (old_model and (old_model.name, old_model.version)) != (new_model and (new_model.name, new_model.version)):
        changes.append(NumberChange(
            "model version",
            f"{old_model.name} v{old_model.version}" if old_model else None,
            f"{new_model.name} v{new_model.version}" if new_model else None))
    if (old_model.aliases if old_model else ()) != (new_model.aliases if new_model else ()):
        changes.append(NumberChange("model aliases", ", ".join(old_model.aliases) if old_model else None,
                                    ", ".join(new_model.aliases) if new_model else None))
    old_run = old.run.run_id if old else None
    new_run = new.run.run_id if new else None
    if old_run != new_run:
        changes.append(NumberChange("run", old_run, new_run))
    old_metrics = old.run.metrics if old else {}
    new_metrics = new.run.metrics if new else {}
    for key in sorted(set(old_metrics) | set(new_metrics)):
        a = old_metrics[key].value if key in old_metrics else None
        b = new_metrics[key].value if key in new_metrics else None
        if _number(a) != _number(b) or (a != b and not (a is not None and b is not None
                                                         and math.isnan(a) and math.isnan(b))):
            changes.append(NumberChange(f"metric {key}", _number(a), _number(b)))
    old_params = old.run.params if old else {}
    new_params = new.run.params if new else {}
    for key in sorted(set(old_params) | set(new_params)):
        if old_params.get(key) != new_params.get(key):
            changes.append(NumberChange(f"param {key}", old_params.get(key), new_params.get(key)))
    return changes


def _analysed(old: StoryAnalysis | None, new: StoryAnalysis | None,
              numbers: list[NumberChange]) -> list[NumberChange]:
    """Attach each metric's uncertainty, and add the cost story's figures."""
    if old is None or new is None:
        return numbers
    old_lines = {line.spec.key: line for line in old.card.metrics}
    new_lines = {line.spec.key: line for line in new.card.metrics}
    result = []
    for change in numbers:
        key = change.what.removeprefix("metric ")
        if change.what.startswith("metric ") and key in old_lines and key in new_lines:
            a, b = old_lines[key].estimate, new_lines[key].estimate
            apart = _apart(a, b)
            label = f"{new_lines[key].spec.label} ({key})"
            note = (f"{_interval(a).strip()} → {_interval(b).strip()}" if apart is not None else
                    "no interval for this kind of figure")
            change = NumberChange(label, change.old, change.new, apart, note)
        result.append(change)
    if old.card.threshold != new.card.threshold:
        result.append(NumberChange("threshold in use", _number(old.card.threshold), _number(new.card.threshold)))
    old_cost, new_cost = old.cost, new.cost
    if old_cost is not None or new_cost is not None:
        a_best = old_cost.comparison.best.threshold if old_cost and old_cost.comparison else None
        b_best = new_cost.comparison.best.threshold if new_cost and new_cost.comparison else None
        if a_best != b_best:
            a_u = old_cost.uncertainty.threshold if old_cost and old_cost.uncertainty else None
            b_u = new_cost.uncertainty.threshold if new_cost and new_cost.uncertainty else None
            apart = _apart(a_u, b_u)
            # As the pages print them (a threshold that flags exactly the cases its figures count).
            a_text = old_cost.best_threshold_text if old_cost and old_cost.comparison else None
            b_text = new_cost.best_threshold_text if new_cost and new_cost.comparison else None
            result.append(NumberChange("lowest-cost threshold", a_text, b_text, apart,
                                       f"{_interval(a_u).strip()} → {_interval(b_u).strip()}" if apart is not None
                                       else ""))
        a_cost = old_cost.current_cost_per if old_cost else None
        b_cost = new_cost.current_cost_per if new_cost else None
        if _number(a_cost) != _number(b_cost):
            either = new_cost or old_cost
            assert either is not None
            unit, per = either.spec.unit, either.per
            result.append(NumberChange(f"current cost per {per:,} ({unit})", _number(a_cost), _number(b_cost)))
    return result + _estimate_changes(old, new)


def _estimate_changes(old: StoryAnalysis, new: StoryAnalysis) -> list[NumberChange]:
    """Each production window's estimated figure (with its 95% range) and what its labels showed, where they
    differ between the two versions (section "before-labels")."""

    def figures(analysis: StoryAnalysis) -> dict[str, tuple[float | None, Estimate | None]]:
        report = analysis.estimate.report if analysis.estimate is not None else None
        multiclass = analysis.estimate.multiclass if analysis.estimate is not None else None
        found: dict[str, tuple[float | None, Estimate | None]] = {}

        def window(name: str, estimated: str, figure: float | None, interval: tuple[float, float] | None,
                   cases: int, shown: str, realised: float | None) -> None:
            if figure is not None and interval is not None:
                found[f"window {name}: {estimated}"] = (figure, Estimate(figure, interval[0], interval[1], cases))
            if realised is not None:
                found[f"window {name}: {shown}"] = (realised, None)

        if report is None and multiclass is not None:  # a multiclass story: the share of right calls
            for m in multiclass.windows:
                window(m.window, "estimated share of right calls", m.right, m.right_interval, m.cases,
                       "share of right calls the outcomes show", m.realised_right)
        elif report is not None:
            for w in report.windows:
                window(w.window, f"estimated {report.metric}", w.figure, w.interval, w.cases,
                       f"{report.metric} the labels show", w.realised_figure)
        return found

    before, after = figures(old), figures(new)
    changes = []
    for what in [*before, *(k for k in after if k not in before)]:
        (a, a_range), (b, b_range) = before.get(what, (None, None)), after.get(what, (None, None))
        if _number(a) != _number(b):
            apart = _apart(a_range, b_range)
            note = f"{_interval(a_range).strip()} → {_interval(b_range).strip()}" if apart is not None else ""
            changes.append(NumberChange(what, _number(a), _number(b), apart, note))
    return changes


# -- stories ------------------------------------------------------------------------------------------------


def _resolve(story: StorySource, label: str, notes: list[str]) -> tuple[ResolvedStory | None, bool]:
    """The pinned values, and whether they match what story.yaml asks for (only then can they be analysed)."""
    if not is_pinned(story.directory):
        notes.append(f"{label} has no pinned snapshot, so its numbers cannot be compared "
                     f"(run `storybook pin --story {story.slug}` and commit it)")
        return None, False
    try:
        pinned = read_pinned(story)
    except StorybookError as error:
        notes.append(f"{label}: the snapshot cannot be read: {error.message}")
        return None, False
    try:
        resolve_pinned(story)
    except StorybookError as error:
        notes.append(f"{label}: {error.message}; run `storybook pin --story {story.slug}`")
        return pinned, False
    return pinned, True


def _analyse(story: StorySource, resolved: ResolvedStory | None, label: str,
             notes: list[str]) -> StoryAnalysis | None:
    if resolved is None:
        return None
    try:
        return analyse_story(story, resolved)
    except StorybookError as error:
        notes.append(f"{label}: the story cannot be analysed: {error.message}")
        return None


def diff_story(slug: str, old: StorySource | BrokenStory | None, new: StorySource | BrokenStory | None,
               old_label: str, new_label: str) -> StoryDiff:
    if old is None and new is None:  # pragma: no cover - callers pass at least one
        raise ValueError(slug)
    result = StoryDiff(slug, "added" if old is None else "removed" if new is None else "changed")
    for label, story in ((old_label, old), (new_label, new)):
        if isinstance(story, BrokenStory):
            result.notes.append(f"{label}: the story does not load: {story.error.message.splitlines()[0]}")
    old_story = old if isinstance(old, StorySource) else None
    new_story = new if isinstance(new, StorySource) else None
    old_resolved, old_ok = _resolve(old_story, old_label, result.notes) if old_story else (None, False)
    new_resolved, new_ok = _resolve(new_story, new_label, result.notes) if new_story else (None, False)
    both = old is not None and new is not None
    if both and (old_story is None or new_story is None):
        # A version that does not load cannot be compared: listing its figures and prose as removed would be
        # wrong. Its sign-off entries can still be read.
        result.signoffs = _signoff_changes(old.directory if old else None, new.directory if new else None,
                                           result.notes)
        return result
    if both and (old_resolved is None) != (new_resolved is None):
        # One side has no readable values: comparing would list every figure as added or removed.
        result.notes.append("figures are compared only when both versions have readable pinned values")
        numbers: list[NumberChange] = []
    else:
        numbers = compare_resolved(old_resolved, new_resolved) if (old_resolved or new_resolved) else []
    old_analysis = _analyse(old_story, old_resolved, old_label, result.notes) if old_story and old_ok else None
    new_analysis = _analyse(new_story, new_resolved, new_label, result.notes) if new_story and new_ok else None
    settings = (setting_changes(old_story.config, new_story.config, "story.yaml")
                if old_story is not None and new_story is not None else [])
    result.numbers = [*analysis_outcomes(old_analysis, new_analysis), *settings,
                      *_analysed(old_analysis, new_analysis, numbers)]
    result.prose = _prose(old_story, new_story)
    result.signoffs = _signoff_changes(old.directory if old else None, new.directory if new else None,
                                       result.notes)
    if (result.status == "changed" and not result.numbers and not result.prose and not result.notes
            and not result.signoffs):
        result.status = "unchanged"
    return result


def _signoff_changes(old_dir: Path | None, new_dir: Path | None, notes: list[str]) -> list[SignoffChange]:
    """Entries added, edited or removed; an entry is known by when it was signed and the content it covers."""
    from storybook.review.signoff import Signoff, read_signoffs

    def read(directory: Path | None, label: str) -> list[Signoff] | None:
        if directory is None:
            return []
        try:
            return read_signoffs(directory)
        except StorybookError as error:
            notes.append(f"signoffs.yaml {label} cannot be read: {error.message}")
            return None

    before, after = read(old_dir, "before"), read(new_dir, "after")
    if before is None or after is None:
        return []

    def key(entry: Signoff) -> tuple[str, str, str, str]:
        return entry.date, entry.content_hash, entry.name, entry.role

    def fields(entry: Signoff) -> dict[str, object]:
        return {"name": entry.name, "role": entry.role, "note": entry.note, "decision": entry.decision,
                "reason": entry.reason, "recommendation": entry.recommendation, "grounds": entry.grounds}

    def differences(was: Signoff, now: Signoff) -> str:
        return ", ".join(name for name, value in fields(now).items() if fields(was)[name] != value)

    old_by_key = {key(e): e for e in before}
    new_keys = {key(e) for e in after}
    # An edit keeps the date and the content hash but changes who, what or why: pair those up.
    loose = {(e.date, e.content_hash): e for e in before if key(e) not in new_keys}
    changes = []
    paired: set[tuple[str, str, str, str]] = set()
    for entry in after:
        was = old_by_key.get(key(entry)) or loose.get((entry.date, entry.content_hash))
        if was is None or key(was) in paired:
            changes.append(SignoffChange("added", entry.name, entry.role, entry.date, entry.decision))
            continue
        paired.add(key(was))
        if fields(was) != fields(entry):
            before_who = "" if (was.name, was.role) == (entry.name, entry.role) else f"was {was.name} ({was.role}); "
            changes.append(SignoffChange("edited", entry.name, entry.role, entry.date, entry.decision,
                                         f"{before_who}changed: {differences(was, entry)}"))
    changes.extend(SignoffChange("removed", e.name, e.role, e.date, e.decision) for e in before
                   if key(e) not in paired)
    return changes


def _templates(root: Path) -> dict[str, bytes]:
    """The project's own template files by name (none when the project has no templates folder)."""
    from storybook.review.hashing import PROJECT_PREFIX, project_files

    return {name.removeprefix(PROJECT_PREFIX): path.read_bytes() for name, path in project_files(root)
            if name != PROJECT_PREFIX + PROJECT_FILE}


def diff_roots(old_root: Path, new_root: Path, old_label: str, new_label: str) -> ProjectDiff:
    old_project, new_project = load_project(old_root), load_project(new_root)
    old = {story.slug: story for story in old_project.stories}
    new = {story.slug: story for story in new_project.stories}
    result = ProjectDiff(old_label, new_label)
    result.settings = setting_changes(old_project.config, new_project.config, PROJECT_FILE)
    before, after = _templates(old_root), _templates(new_root)
    result.templates = sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
    for slug in sorted(set(old) | set(new)):
        result.stories.append(diff_story(slug, old.get(slug), new.get(slug), old_label, new_label))
    return result


# -- git ----------------------------------------------------------------------------------------------------


def _git(repo: Path, *args: str, binary: bool = False) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, timeout=GIT_TIMEOUT,
                              check=False)
    except FileNotFoundError:
        raise ConfigError("git is not installed", hint="install git, or compare two snapshot files") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"git {args[0]} took longer than {GIT_TIMEOUT}s") from None


def _commit(repo: Path, revision: str) -> str:
    if not revision or revision.startswith("-") or any(c in revision for c in "\0\n"):
        raise ConfigError(f"{revision!r} is not a git revision", hint="give e.g. origin/main, HEAD~1 or a sha")
    done = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}")
    if done.returncode != 0:
        raise ConfigError(f"{revision!r} is not a commit in the repository at {repo}",
                          hint="give a branch, tag, sha or HEAD~1 (fetch it first, e.g. `git fetch origin "
                          "main`), or '.' for the work tree as the newer side")
    return done.stdout.decode().strip()


@contextmanager
def _checkout_free(project_root: Path, revision: str) -> Iterator[Path]:
    """The project as it was at ``revision``, in a temporary folder (storybook.yaml and the stories only)."""
    top_done = _git(project_root, "rev-parse", "--show-toplevel")
    if top_done.returncode != 0:
        raise ConfigError(f"{project_root} is not inside a git repository",
                          hint="compare two snapshot files instead, or run inside the repository")
    top = Path(top_done.stdout.decode().strip()).resolve()
    prefix = project_root.resolve().relative_to(top).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    sha = _commit(top, revision)
    shown = _git(top, "show", f"{sha}:{prefix}{PROJECT_FILE}")
    if shown.returncode != 0:
        raise ConfigError(f"{prefix}{PROJECT_FILE} does not exist at {revision}",
                          hint="pick a revision where the project exists")
    with tempfile.TemporaryDirectory(prefix="storybook-diff-") as temp:
        root = Path(temp) / "project"
        root.mkdir()
        (root / PROJECT_FILE).write_bytes(shown.stdout)
        try:
            config = validate(ProjectConfig, parse_yaml(shown.stdout.decode("utf-8"), root / PROJECT_FILE))
        except (StorybookError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{PROJECT_FILE} at {revision} cannot be read: {exc}") from None
        stories = config.stories_dir.strip("/")
        templates = config.templates_dir.strip("/")
        for folder in (stories, templates):
            if not folder or folder.startswith("/") or ".." in Path(folder).parts:
                raise ConfigError(f"{folder!r} in {PROJECT_FILE} at {revision} points outside the project")
        for index, folder in enumerate((stories, templates)):
            archive = _git(top, "archive", "--format=tar", sha, "--", f"{prefix}{folder}")
            if archive.returncode == 0:
                tree = Path(temp) / f"tree{index}"
                _extract(archive.stdout, tree)
                extracted = tree / prefix / folder
                if extracted.is_dir() and not (root / folder).exists():
                    (root / folder).parent.mkdir(parents=True, exist_ok=True)
                    extracted.rename(root / folder)
        (root / stories).mkdir(parents=True, exist_ok=True)
        yield root


def _extract(data: bytes, target: Path) -> None:
    import io

    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        archive.extractall(target, filter="data")


def diff_revisions(project: Path, old_revision: str, new_revision: str | None) -> ProjectDiff:
    """Compare the project at two git revisions (``new_revision`` None or ".": the work tree as it is,
    uncommitted edits included)."""
    root = find_project_root(project)
    if new_revision == ".":
        new_revision = None
    if old_revision == ".":
        raise ConfigError("the work tree can only be the newer side of a diff",
                          hint="e.g. `storybook diff HEAD .` or `storybook diff origin/main --worktree`")
    with _checkout_free(root, old_revision) as old_root:
        if new_revision is None:
            return diff_roots(old_root, root, old_revision, WORKTREE)
        with _checkout_free(root, new_revision) as new_root:
            return diff_roots(old_root, new_root, old_revision, new_revision)


def diff_snapshot_files(old: Path, new: Path) -> ProjectDiff:
    """Compare two snapshot files; figures are analysed when each sits in a story folder beside its story."""
    result = ProjectDiff(str(old), str(new))
    resolved: list[ResolvedStory] = []
    stories: list[StorySource | None] = []
    for path in (old, new):
        resolved.append(read_snapshot_file(path))
        story = None
        try:
            candidate = load_project(path.parent).stories
            story = next((s for s in candidate if isinstance(s, StorySource)
                          and s.directory.resolve() == path.parent.resolve()), None)
        except StorybookError:
            story = None
        stories.append(story)
    named = stories[1] or stories[0]
    slug = named.slug if named is not None else new.parent.name
    diff = StoryDiff(slug, "changed")
    numbers = compare_resolved(resolved[0], resolved[1])
    analyses = [_analyse(story, pinned, str(path), diff.notes) if story is not None else None
                for story, pinned, path in zip(stories, resolved, (old, new), strict=True)]
    diff.numbers = [*analysis_outcomes(analyses[0], analyses[1]), *_analysed(analyses[0], analyses[1], numbers)]
    if not diff.numbers:
        diff.status = "unchanged"
    result.stories.append(diff)
    return result


def looks_like_file(argument: str) -> bool:
    return argument.endswith(".json") and Path(argument).is_file()


def sentence_case(text: str) -> str:
    return re.sub(r"^\w", lambda m: m.group(0).upper(), text)
