"""What every build needs of rendering, even one that renders no story: the rendered story and the index line
(what the caches keep), the page environment, the stylesheet and the index page.

Kept apart from :mod:`storybook.render.pages` (which lays out a story's analysis and so imports every analysis)
so that a build whose pages all come from a cache imports none of it.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment

from storybook.analyse.plain import (
    format_count,
    format_date,
    format_number,
    format_percent,
    full_stop,
    index_status,
    per_hundred,
    stated_threshold_text,
)
from storybook.render.expressions import provenance_anchor
from storybook.render.sandbox import PageSandbox, template_failure

__all__ = ["RenderedStory", "StoryEntry", "page_environment", "render_index", "search_roots", "stylesheet",
           "templates_root"]


@dataclass(frozen=True)
class RenderedStory:
    slug: str
    html: str
    charts: dict[str, str]  # file name -> SVG
    pages: dict[str, str] = field(default_factory=dict)  # other audience versions: file name -> HTML
    pdfs: dict[str, str] = field(default_factory=dict)  # PDF file name -> the HTML it is printed from


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
    as_of: str = ""  # set when a partial build (--story) kept this line from the build made then


def templates_root() -> Path:
    """storybook's own templates."""
    return Path(str(importlib.resources.files("storybook.templates")))


def page_environment(project_templates: Path | None) -> Environment:
    """The project's templates first, storybook's own after, all in one sandbox (``render/sandbox.py``): a
    project template arrives in pull requests, so it may read and format its values and do nothing else."""
    search = [project_templates.absolute()] if project_templates is not None and project_templates.is_dir() else []
    env = PageSandbox([*search, templates_root().absolute()])
    env.filters.update(percent=format_percent, number=format_number, count=format_count, date=format_date,
                       per_hundred=per_hundred, anchor=provenance_anchor, full_stop=full_stop,
                       threshold=stated_threshold_text)
    return env


def stylesheet() -> str:
    return (templates_root() / "static" / "style.css").read_text(encoding="utf-8")


def search_roots(env: Environment) -> list[Path]:
    """The folders ``env`` finds templates in, first first."""
    return [Path(root) for loader in getattr(env.loader, "loaders", ()) for root in getattr(loader, "searchpath", ())]


def render_index(env: Environment, title: str, description: str | None, entries: list[StoryEntry],
                 built_at: str) -> str:
    try:
        return env.get_template("index.html").render(
            title=title, description=description, entries=entries, built_at=built_at,
            statuses=[index_status(entry.status, entry.as_of) for entry in entries])
    except Exception as exc:
        failure = template_failure(exc, "the index page", search_roots(env))
        if failure is None:
            raise
        raise failure from None
