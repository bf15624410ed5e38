"""Analyse and render stories, and write PDFs: in this process, or in a pool of worker processes.

The same functions run either way, so a parallel build writes byte for byte what a serial build writes. A story's
error (any :class:`StorybookError` but a project-wide :class:`ConfigError`) comes back as that story's result,
and so does any other exception, as an :class:`UnexpectedError` of that story (its traceback for ``--debug``).

Workers come from a ``forkserver`` that has imported this module once (analysis, rendering and their
libraries), so each worker starts in milliseconds and never inherits the threads or MLflow connections of the
process that builds. A worker keeps its engines for the whole build: the Jinja environment, vl-convert (about
0.3 s to start, then about 15 ms a chart) and, when PDFs are made, WeasyPrint (about 0.5 s to import).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storybook.errors import ConfigError, Location, StorybookError, UnexpectedError

if TYPE_CHECKING:
    from jinja2 import Environment

    from storybook.render.rendered import RenderedStory
    from storybook.resolve.resolved import ResolvedStory
    from storybook.sources.loader import StorySource

__all__ = ["PARALLEL_FROM", "RenderResult", "RenderTask", "Workers", "render_one", "write_pdf"]

# Fewer stories than this render in the building process: starting workers costs about a second.
PARALLEL_FROM = 8


@dataclass(frozen=True)
class RenderTask:
    """One story to analyse and render. ``resolved`` is None for a story read from its pinned snapshot, which
    is then read where the task runs."""

    story: StorySource
    resolved: ResolvedStory | None
    built_at: str
    pdf_name: str | None
    templates_dir: Path


@dataclass(frozen=True)
class RenderResult:
    slug: str
    page: RenderedStory | None
    error: StorybookError | None


def render_one(task: RenderTask, env: Environment) -> RenderResult:
    """Resolve from the snapshot when asked, analyse and render one story."""
    from storybook.analyse.decision import settle
    from storybook.analyse.story import analyse_story
    from storybook.render.pages import render_story
    from storybook.resolve.source import pinned_hash, resolve_pinned
    from storybook.review.signoff import signoff_status

    story = task.story
    try:
        resolved = task.resolved if task.resolved is not None else resolve_pinned(story)
        analysis = analyse_story(story, resolved)
        # Settle the sign-offs here, before rendering: the brief carries what people recorded (overrules, the
        # grounds then); the page only lays it out.
        signoffs = signoff_status(story.directory)
        if analysis.decision is not None:
            analysis = replace(analysis, decision=settle(analysis.decision, signoffs))
        page = render_story(env, story, resolved, analysis, built_at=task.built_at, pdf_name=task.pdf_name,
                            signoffs=signoffs, snapshot_hash=pinned_hash(story.directory))
    except ConfigError:
        raise
    except StorybookError as error:  # a story, tracking or template error: this story's, with its own words
        return RenderResult(story.slug, None, error)
    except Exception as error:  # one story's surprise fails that story only
        return RenderResult(story.slug, None, UnexpectedError.from_exception(
            error, doing="analysing and rendering this story", location=Location(story.story_file)))
    return RenderResult(story.slug, page, None)


def write_pdf(html: str, staging: Path, name: str, title: str) -> str:
    """Render one PDF (``name``, e.g. "<slug>.pdf") into the staged site (its charts and stylesheet are there)."""
    from storybook.publish.pdf import render_pdf

    (staging / name).write_bytes(render_pdf(html, staging, title=title))
    return name


# -- inside a worker --------------------------------------------------------------------------------------------

_worker: dict[str, Any] = {}


def _start_worker(svg_cache: Path | None, pdf: bool) -> None:
    from storybook.render.charts import use_svg_cache

    use_svg_cache(svg_cache)
    _worker.clear()
    if pdf:
        import weasyprint  # noqa: F401  (half a second, once per worker rather than on its first PDF)
    # The libraries just imported live as long as the worker: frozen out of the garbage collector's reach, its
    # collections walk only what the stories and PDFs make (about 5% of a PDF's time).
    gc.freeze()


def _ready() -> None:
    """Submitted once per worker to start it ahead of its first story: its start-up (imports, the chart engine's
    first chart, about 0.3 s) then overlaps the building process reading the stories."""
    from storybook.render.charts import warm_up

    warm_up()


def _render_in_worker(task: RenderTask) -> RenderResult:
    from storybook.render.pages import page_environment

    env = _worker.get(str(task.templates_dir))
    if env is None:
        env = _worker[str(task.templates_dir)] = page_environment(task.templates_dir)
    return render_one(task, env)


# -- the pool ---------------------------------------------------------------------------------------------------


class Workers:
    """A process pool started on first use and closed with the build (a context manager)."""

    def __init__(self, jobs: int, *, svg_cache: Path | None, pdf: bool) -> None:
        self.jobs = jobs
        self.svg_cache = svg_cache
        self.pdf = pdf
        self._pool: ProcessPoolExecutor | None = None
        self._used = False  # given a story or a PDF (warming up alone does not count)

    @property
    def started(self) -> bool:
        """Whether the workers have been given work (a story or a PDF) in this build."""
        return self._used

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__, "storybook.render.pages", "storybook.analyse.story"])
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=context,
                                             initializer=_start_worker, initargs=(self.svg_cache, self.pdf))
        return self._pool

    def warm_up(self) -> None:
        """Start every worker now (and its chart engine), while this process is still resolving the stories."""
        pool = self._executor()
        for _ in range(self.jobs):
            pool.submit(_ready)

    def render(self, task: RenderTask, done: Callable[[], None] | None = None) -> Future[RenderResult]:
        future = self._executor().submit(_render_in_worker, task)
        self._used = True
        if done is not None:
            future.add_done_callback(lambda _: done())
        return future

    def render_alone(self, task: RenderTask) -> RenderResult | None:
        """Render one story in a process of its own. After a worker died (a native crash in a library), the
        stories it left are rendered this way, so the one that kills its process fails alone instead of taking
        the building process, and every other story, down with it. None when no process can be started (the
        caller renders the story itself)."""
        context = multiprocessing.get_context("forkserver")
        try:
            pool = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_start_worker,
                                       initargs=(self.svg_cache, False))
            future = pool.submit(_render_in_worker, task)
        except OSError:
            return None
        with pool:
            try:
                return future.result()
            except BrokenProcessPool:
                return RenderResult(task.story.slug, None, UnexpectedError(
                    "the process rendering this story stopped abruptly (a library it uses crashed)",
                    location=Location(task.story.story_file),
                    hint="build this story alone with --jobs 1 --debug to see where; if its files and data look "
                    "right, please report this as a storybook bug"))

    def pdf_file(self, html: str, staging: Path, name: str, title: str,
                 done: Callable[[], None] | None = None) -> Future[str]:
        future = self._executor().submit(write_pdf, html, staging, name, title)
        self._used = True
        if done is not None:
            future.add_done_callback(lambda _: done())
        return future

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - platforms without sched_getaffinity
        return max(1, os.cpu_count() or 1)
