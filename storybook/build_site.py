"""Publishing a build: the index, every page, chart and PDF gathered into a staged site, swapped in by the caller.

Nothing is written into the site folder here: :func:`stage_site` fills a staging folder beside it (removed again
if anything goes wrong), and :func:`storybook.build.build` swaps it into place. A PDF is reused from the PDF
cache when the HTML it prints, its charts, the stylesheet and storybook's code are byte for byte the same; one
that does not print fails its own story, which then keeps its last good page, like any failed story.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from storybook.build_previous import PreviousSite, keep_failed_pages, write_manifest
from storybook.build_stories import BuildPlan, BuildProgress, BuildReport, StoryRun, parsed
from storybook.errors import Location, PublishError, StorybookError
from storybook.publish.site import SiteWriter, fsync_files
from storybook.render.cache import pdf_key
from storybook.render.rendered import RenderedStory, StoryEntry, render_index, stylesheet
from storybook.sources.loader import BrokenStory, Project, StorySource
from storybook.workers import PARALLEL_FROM, Workers, write_pdf

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = ["OnStory", "StagedSite", "index_entries", "stage_site"]

# Told of each story once its fate is known: its slug, and its error when it failed.
OnStory = Callable[[str, StorybookError | None], None]


@dataclass(frozen=True)
class StagedSite:
    """The new site, complete in its staging folder, and the stories whose PDF did not print."""

    writer: SiteWriter
    path: Path
    unprinted: dict[str, StorybookError]


def index_entries(stories: list[StoryRun], report: BuildReport, make_pdf: bool,
                  on_story: OnStory | None) -> list[StoryEntry]:
    """The index line of each story asked for, built or failed; a failure is reported (and told) here."""
    entries: list[StoryEntry] = []
    for story in stories:
        if story.error is not None:
            _fail(report, entries, story.slug, story.error, on_story,
                  story.source if isinstance(story.source, StorySource) else None)
            continue
        assert (story.page is not None or story.kept is not None) and story.words is not None
        (report.rendered if story.task is not None else report.cached).append(story.slug)
        report.built.append(story.slug)
        entries.append(_built_entry(story.slug, story.words, make_pdf))
    return entries


def stage_site(plan: BuildPlan, project: Project, stories: list[StoryRun], entries: list[StoryEntry],
               report: BuildReport, previous: PreviousSite, env: Environment, workers: Workers, jobs: int,
               shown: BuildProgress) -> StagedSite:
    """Gather every file of the new site (pages, charts, the index, failed and carried stories' previous
    files), stage it, print the PDFs into it and record its manifest."""
    built = [story for story in stories if story.page is not None or story.kept is not None]
    writer = SiteWriter(plan.out_dir, protected=_protected(project))
    files = keep_failed_pages(writer, plan.out_dir, entries)
    carried = previous.carry_others(writer, plan.others, entries, files)
    report.carried = [entry.slug for entry in entries if entry.as_of]
    entries.sort(key=lambda entry: entry.slug)  # the stories folder's order, carried stories among them
    writer.add("assets/style.css", stylesheet())
    writer.add("index.html", render_index(env, plan.config.title, plan.config.description, entries, plan.built_at))
    _add_pages(writer, built, plan.make_pdf, report)
    fresh = _reuse_pdfs(writer, built, plan, report) if plan.make_pdf else []
    staging = writer.stage()
    unprinted: dict[str, StorybookError] = {}  # stories whose PDF did not print
    try:
        if plan.make_pdf:
            pool = jobs > 1 and (workers.started or len(fresh) >= PARALLEL_FROM)
            unprinted = _write_pdfs(fresh, staging, workers if pool else None, shown)
            if unprinted:
                built = _fail_unprinted(unprinted, staging, plan.out_dir, built, entries, files, report)
                _replace_file(staging / "index.html", render_index(env, plan.config.title, plan.config.description,
                                                                   entries, plan.built_at))
            for story, name in fresh if plan.cache else ():
                assert story.page is not None
                if story.slug not in unprinted:
                    plan.pdfs.put(pdf_key(plan.fingerprint, name, story.page.pdfs[name], story.page.charts),
                                  (staging / name).read_bytes())
            # printed straight into the staging folder: on disk before the swap, like every file the writer wrote
            fsync_files([staging / name for story, name in fresh
                         if story.slug not in unprinted and (staging / name).exists()])
            report.pdfs = [story.slug for story in built]
            report.workers = jobs if workers.started else 0
        if plan.quarto is not None:
            _quarto(staging, project, [(parsed(plan, s), s.page) for s in built if s.page is not None], plan.quarto)
        write_manifest(staging, built, plan.make_pdf, entries, files, carried, plan.built_at)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return StagedSite(writer, staging, unprinted)


def _add_pages(writer: SiteWriter, built: list[StoryRun], make_pdf: bool, report: BuildReport) -> None:
    """Each built story's page, its other audience versions and its charts; a story carried over whole from
    the previous site keeps its files (its PDFs too)."""
    for story in built:
        if story.page is None:
            for name in story.kept or ():
                writer.keep(name)
            if make_pdf:
                report.pdfs_reused.append(story.slug)
            continue
        writer.add(f"{story.slug}.html", story.page.html)
        for name, html in story.page.pages.items():  # other audience versions, e.g. the one-page summary
            writer.add(name, html)
        for name, svg in story.page.charts.items():
            writer.add(f"charts/{name}", svg)


def _reuse_pdfs(writer: SiteWriter, built: list[StoryRun], plan: BuildPlan,
                report: BuildReport) -> list[tuple[StoryRun, str]]:
    """Add the PDFs the PDF cache holds for exactly these pages; returns the (story, PDF name) still to print."""
    fresh: list[tuple[StoryRun, str]] = []
    for story in built:
        page = story.page
        if page is None:
            continue  # carried over: its PDFs too
        for name, html in page.pdfs.items():
            reused = plan.pdfs.get(pdf_key(plan.fingerprint, name, html, page.charts)) if plan.cache else None
            if reused is None:
                fresh.append((story, name))
            else:
                writer.add(name, reused)
                if name == f"{story.slug}.pdf":
                    report.pdfs_reused.append(story.slug)
    return fresh


def _write_pdfs(pdfs: list[tuple[StoryRun, str]], staging: Path, workers: Workers | None,
                shown: BuildProgress) -> dict[str, StorybookError]:
    """Print each PDF into the staged site, here or in the workers (here again if a worker died). Returns the
    stories whose PDF could not be printed, each with its error: a PDF fails its own story, not the build."""
    shown.start("pdfs", len(pdfs))
    failed: dict[str, StorybookError] = {}
    futures: list[Future[str] | None] = []
    for story, name in pdfs:
        assert story.page is not None and story.words is not None
        if workers is None:
            _print_here(story, name, staging, failed)
            shown.advance("pdfs")
            continue
        try:
            futures.append(workers.pdf_file(story.page.pdfs[name], staging, name, story.words[0],
                                            lambda: shown.advance("pdfs")))
        except BrokenProcessPool:
            futures.append(None)
    for (story, name), future in zip(pdfs, futures, strict=False):
        try:
            if future is not None:
                future.result()
                continue
        except BrokenProcessPool:
            pass
        except PublishError as error:
            failed.setdefault(story.slug, _located(error, story))
            continue
        _print_here(story, name, staging, failed)
        shown.advance("pdfs")
    return failed


def _print_here(story: StoryRun, name: str, staging: Path, failed: dict[str, StorybookError]) -> None:
    assert story.page is not None and story.words is not None
    try:
        write_pdf(story.page.pdfs[name], staging, name, story.words[0])
    except PublishError as error:
        failed.setdefault(story.slug, _located(error, story))


def _located(error: PublishError, story: StoryRun) -> StorybookError:
    """A PDF that could not be printed, as its story's failure, located at the story's file."""
    if error.location is not None:
        return error
    return PublishError(error.message, location=Location(story.directory / "story.yaml"),
                        hint=error.hint or "the page built but its PDF did not print; look for content the "
                        "story or the project's templates add that a PDF cannot lay out (very deep nesting, "
                        "huge tables), or build with --no-pdf")


def _fail_unprinted(failed: dict[str, StorybookError], staging: Path, out_dir: Path, built: list[StoryRun],
                    entries: list[StoryEntry], files: dict[str, list[str]], report: BuildReport) -> list[StoryRun]:
    """Stories whose PDF could not be printed fail alone: their new files leave the staged site, their last
    good page and PDFs come back from the previous site as a failed story's do (marked as not up to date),
    and the index says they failed. Returns the stories still built."""
    still = [story for story in built if story.slug not in failed]
    in_use = {name for story in still if story.page is not None for name in story.page.charts}
    for story in built:
        if story.slug not in failed:
            continue
        page = story.page
        assert page is not None  # a story carried over whole prints no PDF
        for name in [f"{story.slug}.html", *page.pages, *page.pdfs,
                     *(f"charts/{chart}" for chart in page.charts if chart not in in_use)]:
            (staging / name).unlink(missing_ok=True)
        for names in (report.built, report.rendered, report.cached, report.pdfs_reused):
            if story.slug in names:
                names.remove(story.slug)
        report.failed[story.slug] = failed[story.slug]
    for index, entry in enumerate(entries):
        if entry.slug in failed:
            entries[index] = replace(entry, status="failed", message=_index_message(failed[entry.slug]), pdf=False)
    restored = SiteWriter(out_dir, protected=[])
    files.update(keep_failed_pages(restored, out_dir, entries))
    for name, content in restored.files.items():
        target = staging / name
        if not target.exists():  # a chart another story still shows stays as this build drew it
            _replace_file(target, content)
    return still


def _replace_file(target: Path, content: str | bytes) -> None:
    """Write a file of the staged site anew (never through a hard link into the previous site)."""
    target.unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as handle:
        handle.write(content.encode("utf-8") if isinstance(content, str) else content)
        handle.flush()
        os.fsync(handle.fileno())


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


def _entry(story: StorySource | BrokenStory, status: str, *, message: str = "", pdf: bool = False) -> StoryEntry:
    if isinstance(story, BrokenStory):
        return StoryEntry(story.slug, story.slug, "-", "-", status, message)
    config = story.config
    return StoryEntry(story.slug, config.title, config.audience, config.model.describe(), status, message, pdf)


def _fail(report: BuildReport, entries: list[StoryEntry], slug: str, error: StorybookError,
          on_story: OnStory | None,
          story: StorySource | None = None) -> None:
    report.failed[slug] = error
    shown = BrokenStory(slug, Path(slug), error) if story is None else story
    entries.append(_entry(shown, "failed", message=_index_message(error)))
    if on_story:
        on_story(slug, error)


def _index_message(error: StorybookError) -> str:
    """A failed story's error on the index: its first line and where to fix it, by the file's name and line (the
    story is named on the same row; no folder of the machine that built the site is shown)."""
    first = error.message.splitlines()[0] if error.message else ""
    where = error.location
    if where is None:
        return first
    return f"{first} ({where.path.name}, line {where.line})" if where.line else f"{first} ({where.path.name})"


def _built_entry(slug: str, words: tuple[str, str, str], make_pdf: bool) -> StoryEntry:
    title, audience, model = words
    return StoryEntry(slug, title, audience, model, "built", "", make_pdf)


def _protected(project: Project) -> list[Path]:
    """Folders the site may never replace."""
    protected = [project.root / project.config.stories_dir, project.root / "storybook.yaml"]
    if project.templates_dir.exists():
        protected.append(project.templates_dir)
    return protected
