"""``build()``: sources → resolve → analyse → render → publish, gathered first and written all at once.

Nothing is written until every story has been tried. A story that fails (also when its PDF does not print)
is reported with its located error and listed on the index as not built; the others are published.

The build is incremental: a story whose page is in the render cache (:mod:`storybook.render.cache`) is not
analysed or rendered again, and one built from its snapshot is not even parsed. The stories left to render
are analysed and rendered in worker processes when there are enough of them (:mod:`storybook.workers`), with
the same functions and so the same bytes as in this process.

The stages live beside this module: :mod:`storybook.build_stories` (each story's sources, figures and page),
:mod:`storybook.build_site` (the staged site and its PDFs) and :mod:`storybook.build_previous` (what the site
being replaced left behind, and the manifest this build leaves for the next).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from storybook.build_previous import PreviousSite
from storybook.build_site import OnStory, index_entries, stage_site
from storybook.build_stories import (
    BuildProgress,
    BuildReport,
    load_sources,
    plan_build,
    render_stories,
    resolve_stories,
)
from storybook.errors import ConfigError
from storybook.render.charts import use_svg_cache
from storybook.render.rendered import page_environment
from storybook.resolve.freshness import Freshness
from storybook.resolve.source import open_source
from storybook.sources.loader import StorySource
from storybook.workers import PARALLEL_FROM, Workers, default_jobs

__all__ = ["BuildProgress", "BuildReport", "build"]


class _Silent:
    def start(self, task: str, total: int) -> None:
        pass

    def advance(self, task: str) -> None:
        pass


def build(root: Path, *, out: Path | None = None, pdf: bool | None = None, only: list[str] | None = None,
          now: datetime | None = None, on_story: OnStory | None = None, offline: bool = False,
          backend: str = "site", cache: bool = True, jobs: int | None = None,
          progress: BuildProgress | None = None) -> BuildReport:
    """Build the project at ``root`` into its site folder (or ``out``). Raises only for project-wide errors.

    A story with a pinned snapshot (``stories/<slug>/snapshot.json``) is built from it; the others are
    resolved against MLflow. ``offline`` never touches MLflow: a story without a snapshot fails. ``cache``
    False renders every story and PDF afresh; ``jobs`` caps the worker processes (default: the cores).
    """
    quarto = _quarto_program(backend)
    if jobs is not None and jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, not {jobs}", hint="use --jobs 1 to build in one process")
    plan = plan_build(root, out=out, pdf=pdf, only=only, now=now or datetime.now(UTC), cache=cache, quarto=quarto)
    jobs = default_jobs() if jobs is None else jobs
    shown = progress or _Silent()
    report = BuildReport(out=plan.out_dir, cache=plan.pages.stats if cache else None)
    previous = PreviousSite(plan.out_dir, reuse=cache and quarto is None, stats=plan.pages.stats)

    # 1. Sources, 2. resolve. A story whose page is already built (the previous site's files, or the render
    # cache) stops at the first stage that can tell: a pinned one before it is even parsed.
    # A live story read from a local sqlite store whose inputs have not changed is taken back from the last
    # build without opening MLflow (storybook.resolve.freshness): the store's state is read before anything else.
    fresh = Freshness(plan.root, plan.config) if cache and not offline else None
    if fresh is not None:
        fresh.start()
    stories, project = load_sources(plan, previous.take, shown, fresh)
    with Workers(jobs, svg_cache=plan.svg_cache, pdf=plan.make_pdf) as workers:
        parallel = jobs > 1 and sum(isinstance(story.source, StorySource) for story in stories) >= PARALLEL_FROM
        if parallel:  # enough stories may need rendering: the workers start while MLflow is read, and each
            workers.warm_up()  # story goes to them as soon as it is resolved
        resolve_stories(stories, open_source(project, offline=offline), plan, previous.take, shown, fresh,
                        workers if parallel else None)
        report.fresh = [story.slug for story in stories if story.fresh]

        use_svg_cache(plan.svg_cache)
        env = page_environment(plan.templates_dir)
        # 3. Analyse and render what no cache had: in worker processes when there are enough stories.
        render_stories(stories, env, workers, jobs, plan.pages, shown)
        report.workers = jobs if workers.started else 0
        # 4. Publish: gather every file, stage it, print the PDFs into it (a PDF that fails fails its story).
        entries = index_entries(stories, report, plan.make_pdf, on_story)
        staged = stage_site(plan, project, stories, entries, report, previous, env, workers, jobs, shown)
        if on_story is not None:  # said once its PDFs are printed: a PDF can fail a story
            for slug in report.built:
                on_story(slug, None)
            for slug in staged.unprinted:
                on_story(slug, report.failed[slug])
    staged.writer.publish(staged.path)  # the previous site is swapped out only now
    return report


def _quarto_program(backend: str) -> Path | None:
    """The Quarto program when the site is published with Quarto; None for storybook's own site."""
    if backend not in ("site", "quarto"):
        raise ConfigError(f"unknown backend {backend!r}", hint="use --backend site or --backend quarto")
    if backend == "site":
        return None
    from storybook.publish.quarto import find_quarto, render_quarto

    quarto = find_quarto()
    if quarto is None:
        render_quarto(Path("."), None)  # raises the ConfigError that says how to install Quarto
    return quarto
