"""``build()``: sources → resolve → analyse → render → publish, one story at a time, written all at once.

Nothing is written until every story has been tried. A story that fails is reported with its located error
and listed on the index as not built; the others are published.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from storybook.analyse.model_card import analyse_story
from storybook.errors import ConfigError, StorybookError, StoryError, TrackingError
from storybook.publish.site import MARKER, SiteWriter
from storybook.render.pages import (
    RenderedStory,
    StoryEntry,
    page_environment,
    render_index,
    render_story,
    stylesheet,
)
from storybook.resolve.mlflow_source import MlflowSource
from storybook.resolve.resolved import ResolvedStory
from storybook.resolve.snapshot import SnapshotSource, has_snapshot, load_snapshot
from storybook.resolve.tracking import tracking_uri
from storybook.review.signoff import signoff_status
from storybook.sources.loader import BrokenStory, Project, StorySource, load_project

__all__ = ["BuildReport", "build"]


@dataclass
class BuildReport:
    out: Path
    built: list[str] = field(default_factory=list)
    failed: dict[str, StorybookError] = field(default_factory=dict)
    pdfs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def build(root: Path, *, out: Path | None = None, pdf: bool | None = None, only: list[str] | None = None,
          now: datetime | None = None, on_story: Callable[[str, StorybookError | None], None] | None = None,
          offline: bool = False, backend: str = "site") -> BuildReport:
    """Build the project at ``root`` into its site folder (or ``out``). Raises only for project-wide errors.

    A story with a pinned snapshot (``stories/<slug>/snapshot.json``) is built from it; the others are
    resolved against MLflow. ``offline`` never touches MLflow: a story without a snapshot fails.
    """
    if backend not in ("site", "quarto"):
        raise ConfigError(f"unknown backend {backend!r}", hint="use --backend site or --backend quarto")
    quarto = None
    if backend == "quarto":
        from storybook.publish.quarto import find_quarto, render_quarto

        quarto = find_quarto()
        if quarto is None:
            render_quarto(Path("."), None)  # raises the ConfigError that says how to install Quarto
    project = load_project(root, only)
    out_dir = (out or project.site_dir).resolve()
    make_pdf = project.config.pdf if pdf is None else pdf
    built_at = (now or datetime.now(UTC)).strftime("%d %B %Y, %H:%M UTC")
    env = page_environment(project.templates_dir)
    sources = _Sources(project, offline)
    report = BuildReport(out=out_dir)
    rendered: list[tuple[StorySource, RenderedStory]] = []
    entries: list[StoryEntry] = []

    for story in project.stories:
        if isinstance(story, BrokenStory):
            _fail(report, entries, story.slug, story.error, on_story)
            continue
        try:
            resolved = sources.resolve(story)
            analysis = analyse_story(story, resolved)
            page = render_story(env, story, resolved, analysis, built_at=built_at,
                                pdf_name=f"{story.slug}.pdf" if make_pdf else None,
                                signoffs=signoff_status(story.directory),
                                snapshot_hash=_snapshot_hash(story.directory))
        except (StoryError, TrackingError) as error:
            _fail(report, entries, story.slug, error, on_story, story)
            continue
        rendered.append((story, page))
        report.built.append(story.slug)
        entries.append(_entry(story, "built", pdf=make_pdf))
        if on_story:
            on_story(story.slug, None)

    writer = SiteWriter(out_dir, protected=_protected(project))
    _keep_previous_pages(writer, out_dir, entries)
    writer.add("assets/style.css", stylesheet())
    writer.add("index.html", render_index(env, project.config.title, project.config.description, entries,
                                          built_at))
    for story, page in rendered:
        writer.add(f"{story.slug}.html", page.html)
        for name, svg in page.charts.items():
            writer.add(f"charts/{name}", svg)
    staging = writer.stage()
    try:
        if make_pdf:
            from storybook.publish.pdf import render_pdf

            for story, page in rendered:
                (staging / f"{story.slug}.pdf").write_bytes(render_pdf(page.html, staging,
                                                                       title=story.config.title))
                report.pdfs.append(story.slug)
        if quarto is not None:
            _quarto(staging, project, rendered, quarto)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    writer.publish(staging)
    return report


def _snapshot_hash(directory: Path) -> str | None:
    """The sha256 of the story's pinned snapshot, shown in the provenance appendix; None when built live."""
    snapshot = directory / "snapshot.json"
    return hashlib.sha256(snapshot.read_bytes()).hexdigest() if snapshot.is_file() else None


def _keep_previous_pages(writer: SiteWriter, out_dir: Path, entries: list[StoryEntry]) -> None:
    """A story that failed keeps its last good page (with its charts and PDF), marked as not up to date."""
    if not (out_dir / MARKER).is_file():
        return
    for index, entry in enumerate(entries):
        page = out_dir / f"{entry.slug}.html"
        if entry.status != "failed" or not page.is_file():
            continue
        html = page.read_text(encoding="utf-8")
        writer.add(f"{entry.slug}.html", html)
        for chart in sorted(set(re.findall(r'src="charts/([A-Za-z0-9_.-]+\.svg)"', html))):
            if (out_dir / "charts" / chart).is_file():
                writer.add(f"charts/{chart}", (out_dir / "charts" / chart).read_bytes())
        pdf = out_dir / f"{entry.slug}.pdf"
        if pdf.is_file():
            writer.add(pdf.name, pdf.read_bytes())
        entries[index] = replace(entry, status="stale", pdf=pdf.is_file())


def _quarto(staging: Path, project: Project, rendered: list[tuple[StorySource, RenderedStory]],
            quarto: Path) -> None:
    """Generate the Quarto project in the staged site's quarto/ folder and render it there."""
    from storybook.publish.quarto import QuartoPage, pandoc_command, quarto_project, render_quarto

    pages = [QuartoPage(slug=story.slug, title=story.config.title, subtitle=story.config.summary,
                        html_main=page.html.split('<main id="main">', 1)[-1].split("</main>", 1)[0])
             for story, page in rendered]
    charts = {name: svg for _, page in rendered for name, svg in page.charts.items()}
    directory = staging / "quarto"
    for relative, text in quarto_project(pages, charts, project.config.title, pandoc_command(quarto)).items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    render_quarto(directory, quarto)


class _Sources:
    """The snapshot when a story has one, MLflow otherwise (created only when a story needs it)."""

    def __init__(self, project: Project, offline: bool) -> None:
        self.project = project
        self.offline = offline
        self.snapshots = SnapshotSource()
        self._mlflow: MlflowSource | None = None

    def resolve(self, story: StorySource) -> ResolvedStory:
        if has_snapshot(story.directory):
            return self.snapshots.resolve(story)
        if self.offline:
            load_snapshot(story.directory, story.slug)  # raises the located "run storybook pin" error
        if self._mlflow is None:
            self._mlflow = MlflowSource(tracking_uri(self.project.config.tracking_uri, self.project.root),
                                        cache_dir=self.project.root / ".storybook" / "cache")
        return self._mlflow.resolve(story)


def _entry(story: StorySource | BrokenStory, status: str, *, message: str = "", pdf: bool = False) -> StoryEntry:
    if isinstance(story, BrokenStory):
        return StoryEntry(story.slug, story.slug, "-", "-", status, message)
    config = story.config
    return StoryEntry(story.slug, config.title, config.audience, config.model.describe(), status, message, pdf)


def _fail(report: BuildReport, entries: list[StoryEntry], slug: str, error: StorybookError,
          on_story: Callable[[str, StorybookError | None], None] | None,
          story: StorySource | None = None) -> None:
    report.failed[slug] = error
    shown = BrokenStory(slug, Path(slug), error) if story is None else story
    entries.append(_entry(shown, "failed", message=error.message.splitlines()[0]))
    if on_story:
        on_story(slug, error)


def _protected(project: Project) -> list[Path]:
    """Folders the site may never replace."""
    protected = [project.root / project.config.stories_dir, project.root / "storybook.yaml"]
    if project.templates_dir.exists():
        protected.append(project.templates_dir)
    return protected
