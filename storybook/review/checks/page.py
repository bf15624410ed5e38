"""Checks of the built page: it renders, every chart or image has alt text, and it reads at the target grade."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from storybook.errors import StorybookError
from storybook.resolve.resolved import ResolvedStory
from storybook.review.checks.findings import CheckReport, Collector
from storybook.sources.loader import StorySource

if TYPE_CHECKING:
    from storybook.analyse.story import StoryAnalysis
    from storybook.render.pages import RenderedStory


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


def render_page(found: Collector, story: StorySource, resolved: ResolvedStory, env: Any,
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


def built_page_readability(found: Collector, report: CheckReport, story: StorySource, page: RenderedStory) -> None:
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
