"""The build's stages for each story, in order: read its sources, resolve its figures, analyse and render it.

:func:`storybook.build.build` calls them one after the other. Each stage takes the stories the one before left
and moves each :class:`StoryRun` on: to a page (rendered now, or taken whole from the render cache or the
previous site) or to the located error it failed with. Nothing is written to the site here.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from storybook.errors import Location, StorybookError, StoryError, TrackingError, UnexpectedError
from storybook.render.cache import (
    CHARTS_DIR,
    PAGES_DIR,
    PDFS_DIR,
    CachedStory,
    CacheStats,
    PageCache,
    PdfCache,
    build_fingerprint,
    story_key,
)
from storybook.render.rendered import RenderedStory
from storybook.resolve.freshness import Freshness, FreshStory, TableTexts, resolved_fingerprint
from storybook.resolve.source import ProjectSource, cache_dir, is_pinned
from storybook.sources.loader import BrokenStory, Project, StorySource, find_stories, load_story
from storybook.workers import PARALLEL_FROM, RenderResult, RenderTask, Workers, render_one

if TYPE_CHECKING:
    from jinja2 import Environment

    from storybook.resolve.resolved import ResolvedStory
    from storybook.sources.schema import ProjectConfig

__all__ = ["BuildPlan", "BuildProgress", "BuildReport", "KeepPrevious", "StoryRun", "load_sources", "parsed",
           "plan_build", "render_stories", "resolve_stories"]


@dataclass
class BuildReport:
    """What a build did: the stories built (and how) or failed, with their errors."""

    out: Path
    built: list[str] = field(default_factory=list)
    failed: dict[str, StorybookError] = field(default_factory=dict)
    pdfs: list[str] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)  # analysed and rendered by this build
    cached: list[str] = field(default_factory=list)  # taken whole from the render cache
    pdfs_reused: list[str] = field(default_factory=list)  # copied from the previous site (same page)
    cache: CacheStats | None = None  # None: built with the cache off
    carried: list[str] = field(default_factory=list)  # not asked for (--story): kept from the previous site
    workers: int = 0  # worker processes used (0: everything ran in the building process)
    fresh: list[str] = field(default_factory=list)  # live stories taken back unchanged, without reading MLflow

    @property
    def ok(self) -> bool:
        return not self.failed


class BuildProgress(Protocol):
    """What a long build reports as it goes. ``task`` is "resolved", "rendered" or "pdfs"; ``advance`` may be
    called from another thread."""

    def start(self, task: str, total: int) -> None:
        """Begin ``task`` out of ``total``; begun again, only its total changes."""

    def advance(self, task: str) -> None: ...


@dataclass(frozen=True)
class BuildPlan:
    """What one build is asked to do, settled before any story is read."""

    root: Path
    config: ProjectConfig
    directories: list[Path]  # the stories to build
    others: list[str]  # the stories a partial build (--story) was not asked to build
    out_dir: Path
    make_pdf: bool
    built_at: str  # as the pages print it
    templates_dir: Path
    cache: bool  # False: every page and PDF is made afresh
    pages: PageCache
    pdfs: PdfCache
    fingerprint: str  # storybook's code, the templates and the PDF switch ("" with the cache off)
    svg_cache: Path | None
    quarto: Path | None  # the Quarto program, when the site is published with it


def plan_build(root: Path, *, out: Path | None, pdf: bool | None, only: list[str] | None, now: datetime,
               cache: bool, quarto: Path | None) -> BuildPlan:
    """Find the project and its stories, and settle where the site goes and what is cached."""
    root, config, directories = find_stories(root, only)
    make_pdf = config.pdf if pdf is None else pdf
    templates_dir = root / config.templates_dir
    asked = {directory.name for directory in directories}
    return BuildPlan(
        root=root, config=config, directories=directories,
        others=[d.name for d in find_stories(root)[2] if d.name not in asked] if only else [],
        out_dir=(out or (root / config.site_dir)).resolve(), make_pdf=make_pdf,
        built_at=now.strftime("%d %B %Y, %H:%M UTC"), templates_dir=templates_dir, cache=cache,
        pages=PageCache(root / PAGES_DIR if cache else None), pdfs=PdfCache(root / PDFS_DIR if cache else None),
        fingerprint=build_fingerprint(root, templates_dir, pdf=make_pdf) if cache else "",
        svg_cache=root / CHARTS_DIR if cache else None, quarto=quarto)


@dataclass
class StoryRun:
    """One story on its way through the build: its page once it has one, or its error."""

    slug: str
    directory: Path
    source: StorySource | BrokenStory | None = None  # None: taken from a cache by its files, not parsed
    key: str | None = None  # its render-cache key
    page: RenderedStory | None = None
    words: tuple[str, str, str] | None = None  # title, audience, model: what the index shows
    error: StorybookError | None = None
    task: RenderTask | None = None  # set when it is analysed and rendered by this build
    pending: Future[RenderResult] | None = None  # its task, handed to a worker as soon as it was resolved
    kept: list[str] | None = None  # files carried over from the previous site, unchanged
    fresh: bool = False  # a live story taken back from the last build: nothing it was read from changed
    fresh_key: str | None = None  # its freshness key, taken before it was parsed
    unchanged: FreshStory | None = None  # what the last build resolved it to, when nothing it was read from changed


# Carries a story's files over from the previous site when they are what this build would make; True if it did
# (storybook.build_site.PreviousSite.take).
KeepPrevious = Callable[[StoryRun], bool]


def load_sources(plan: BuildPlan, keep_previous: KeepPrevious, shown: BuildProgress,
                 fresh: Freshness | None = None) -> tuple[list[StoryRun], Project]:
    """Stage 1, sources: parse each story. A story whose page the previous site or the render cache holds is
    done here, without being parsed: a pinned one whose files match it, and a live one whose files match it and
    that ``fresh`` (:class:`Freshness`, started) vouches was read from nothing that changed since the last
    build. A story that does not load is kept as broken."""
    shown.start("resolved", len(plan.directories))
    stories = [StoryRun(directory.name, directory) for directory in plan.directories]
    loaded: list[StorySource | BrokenStory] = []
    for story in stories:
        if plan.cache and is_pinned(story.directory):
            story.key = story_key(plan.fingerprint, plan.root, story.directory)
            if keep_previous(story) or _take_cached(story, plan.pages):
                shown.advance("resolved")
                continue
        elif fresh is not None:
            story.fresh_key = fresh.story_key(story.directory)
            story.unchanged = fresh.probe(story.slug, story.fresh_key)
            if story.unchanged is not None:
                story.key = story_key(plan.fingerprint, plan.root, story.directory, story.unchanged.fingerprint)
                if keep_previous(story) or _take_cached(story, plan.pages):
                    story.fresh = True
                    shown.advance("resolved")
                    continue
        try:
            story.source = load_story(plan.root, story.directory, plan.config)
            if fresh is not None and story.unchanged is None and not is_pinned(story.directory):
                # What the parsed story asks MLflow for, unchanged (story.yaml may have changed its words only, or
                # been saved again while it was read): the kept story serves, kept from now on under story.yaml's
                # new bytes.
                story.unchanged = fresh.probe(story.slug, fresh.figures_key(story.source), by="figures")
                if story.unchanged is not None:
                    fresh.rekey(story.directory, story.fresh_key)
                    if plan.cache:
                        story.key = story_key(plan.fingerprint, plan.root, story.directory,
                                              story.unchanged.fingerprint)
        except StorybookError as error:
            story.source = BrokenStory(slug=story.slug, directory=story.directory, error=error)
        except Exception as error:  # one story's surprise never ends the build
            surprise = UnexpectedError.from_exception(error, doing="reading this story",
                                                      location=Location(story.directory / "story.yaml"))
            story.source = BrokenStory(slug=story.slug, directory=story.directory, error=surprise)
        loaded.append(story.source)
    return stories, Project(root=plan.root, config=plan.config, stories=loaded)


def resolve_stories(stories: list[StoryRun], sources: ProjectSource, plan: BuildPlan, keep_previous: KeepPrevious,
                    shown: BuildProgress, fresh: Freshness | None = None,
                    workers: Workers | None = None) -> None:
    """Stage 2, resolve: each story left gets the task of analysing and rendering it, or its error. A live
    story is resolved here (MLflow is opened only if one needs it) and may then be found in a cache; a pinned
    story is read from its snapshot where it renders. With ``workers``, each task is handed to them as soon as
    it is made, so they render the first stories while the others are read."""
    if workers is not None:
        shown.start("rendered", sum(isinstance(story.source, StorySource) for story in stories))
    # A live story read from a local sqlite store whose inputs have not changed is taken back from the last
    # build without opening MLflow (storybook.resolve.freshness, probed in load_sources); only the others are read.
    sources.prefetch([story.source for story in stories if story.source is not None and story.unchanged is None])
    for story in stories:
        source = story.source
        if source is None:
            continue
        if isinstance(source, BrokenStory):
            story.error = source.error
        elif is_pinned(source.directory):
            if plan.cache and story.key is None:
                story.key = story_key(plan.fingerprint, plan.root, source.directory)
            story.task = _task(plan, source, None)
        elif not _take_unchanged(story, source, plan, keep_previous):
            _resolve_live(story, source, sources, plan, keep_previous, fresh)
        if workers is not None and story.task is not None:
            with suppress(BrokenProcessPool):  # else rendered in a process of its own (render_stories)
                story.pending = workers.render(story.task, lambda: shown.advance("rendered"))
        shown.advance("resolved")


def _take_unchanged(story: StoryRun, source: StorySource, plan: BuildPlan, keep_previous: KeepPrevious) -> bool:
    """The story's page from a cache, or the task of rendering it from what the last build resolved it to, when
    nothing it was read from changed (its Markdown or story.yaml's words changed); False when there is no such
    entry or it does not decode (the story is then resolved from MLflow)."""
    if story.unchanged is None:
        return False
    if story.key is not None and (keep_previous(story) or _take_cached(story, plan.pages)):
        story.fresh = True  # story.yaml's words changed back to what a cached page was made from
        return True
    resolved = story.unchanged.resolved()
    if resolved is None:
        return False
    story.task = _task(plan, source, resolved)
    story.fresh = True
    return True


def _resolve_live(story: StoryRun, source: StorySource, sources: ProjectSource, plan: BuildPlan,
                  keep_previous: KeepPrevious, fresh: Freshness | None) -> None:
    """Resolve the story from MLflow; keep it for the freshness probe; then find its page in a cache, or give
    it the task of analysing and rendering it."""
    try:
        resolved, reads = sources.resolve_live(source)
    except (StoryError, TrackingError) as error:
        story.error = error
        return
    except Exception as error:  # one story's surprise never ends the build
        story.error = UnexpectedError.from_exception(error, doing="reading this story's data from MLflow",
                                                     location=Location(source.story_file))
        return
    if plan.cache:
        texts = TableTexts()  # each table written as CSV once, for the fingerprint and the kept story
        fingerprint = resolved_fingerprint(resolved, texts)
        story.key = story_key(plan.fingerprint, plan.root, source.directory, fingerprint)
        if fresh is not None:
            fresh.keep(source, story.fresh_key, resolved, fingerprint, reads,
                       downloads=cache_dir(plan.root) / "artifacts", texts=texts)
    if not (keep_previous(story) or _take_cached(story, plan.pages)):
        story.task = _task(plan, source, resolved)


def render_stories(stories: list[StoryRun], env: Environment, pool: Workers, jobs: int, pages: PageCache,
                   shown: BuildProgress) -> None:
    """Stage 3, analyse and render each story's task: in the worker processes when there are enough of them,
    else here; results are read in story order. A story whose worker died is rendered again in a process of
    its own (here, if none can start). Each new page goes into the render cache."""
    tasks = [story for story in stories if story.task is not None]
    streamed = any(story.pending is not None for story in tasks)
    workers = pool if jobs > 1 and (streamed or len(tasks) >= PARALLEL_FROM) else None
    shown.start("rendered", len(tasks))  # after streaming: the exact total, keeping what is done
    results: list[Future[RenderResult] | RenderResult | None] = []
    for story in tasks:
        assert story.task is not None
        if story.pending is not None:
            results.append(story.pending)
            continue
        if workers is None:
            results.append(render_one(story.task, env))
            shown.advance("rendered")
            continue
        try:
            results.append(workers.render(story.task, lambda: shown.advance("rendered")))
        except BrokenProcessPool:
            results.append(None)
    for story, result in zip(tasks, results, strict=True):
        assert story.task is not None
        if isinstance(result, Future):
            try:
                result = result.result()
            except BrokenProcessPool:
                result = None
        if result is None:
            # Its worker died: render it in a process of its own, so a story that crashes one fails alone.
            result = workers.render_alone(story.task) if workers is not None else None
            result = result or render_one(story.task, env)
            shown.advance("rendered")
        story.page, story.error = result.page, result.error
    for story in tasks:
        if story.page is not None and isinstance(story.source, StorySource):
            config = story.source.config
            story.words = (config.title, config.audience, config.model.describe())
            pages.put(story.key, CachedStory(story.page, *story.words))


def parsed(plan: BuildPlan, story: StoryRun) -> StorySource:
    """The story's parsed sources (a story taken from the cache by its files alone is parsed only now)."""
    if not isinstance(story.source, StorySource):
        story.source = load_story(plan.root, story.directory, plan.config)
    return story.source


def _task(plan: BuildPlan, source: StorySource, resolved: ResolvedStory | None) -> RenderTask:
    pdf_name = f"{source.slug}.pdf" if plan.make_pdf else None
    return RenderTask(source, resolved, plan.built_at, pdf_name, plan.templates_dir)


def _take_cached(story: StoryRun, pages: PageCache) -> bool:
    cached = pages.get(story.key)
    if cached is None:
        return False
    story.page = cached.page
    story.words = (cached.title, cached.audience, cached.model)
    return True
