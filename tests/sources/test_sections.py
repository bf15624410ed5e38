"""The one section registry (storybook/sources/sections.py): complete, consistent, and the only source of the
page's section headings, its table of contents and the place of each chart."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import get_args

import pytest
from typer.testing import CliRunner

from storybook.cli import app
from storybook.errors import SourceError
from storybook.render.charts import Chart
from storybook.render.pages import Figures
from storybook.review.diff import SECTION_TITLES
from storybook.sources.loader import load_story
from storybook.sources.schema import PAGE_SECTIONS, ProjectConfig
from storybook.sources.schema.project import PageSection
from storybook.sources.sections import (
    AUTHORED_SECTIONS,
    CHART_IDS,
    HEADINGS,
    MARKDOWN_SECTIONS,
    SECTION_IDS,
    SECTIONS,
    chart_section,
    section,
)
from tests.conftest import copy_example_project
from tests.stores import copy_project

STORY = "breast-cancer-screening"
TEMPLATES = Path(__file__).parents[2] / "templates"
runner = CliRunner()


# -- the registry itself ---------------------------------------------------------------------------------------


def test_the_schema_allows_exactly_the_registered_sections_in_page_order() -> None:
    assert get_args(PageSection) == SECTION_IDS == PAGE_SECTIONS
    assert len(SECTION_IDS) == len(set(SECTION_IDS)) == 19


def test_every_row_is_consistent() -> None:
    for row in SECTIONS:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", row.id), row.id
        assert row.heading and row.heading[0].isupper() and not row.heading.endswith("."), row
        assert not row.required or row.markdown is not None, row  # only people can write a required section
    headings = [row.heading for row in SECTIONS]
    assert len(headings) == len(set(headings)), "two sections share a heading"
    assert AUTHORED_SECTIONS == ("ethical-considerations", "caveats-and-recommendations")
    assert set(AUTHORED_SECTIONS) <= set(MARKDOWN_SECTIONS)


def test_every_chart_belongs_to_exactly_one_section() -> None:
    assert len(CHART_IDS) == len(set(CHART_IDS))
    assert set(CHART_IDS) >= {"slices", "series", "drivers", "timeline", "icons", "cost-curve", "calibration",
                              "guard"}
    assert chart_section("series").id == "quantitative-analyses"
    assert chart_section("guard").id == "trust"
    assert section("cost-of-error").charts == ("icons", "cost-curve", "forecast-icons")
    with pytest.raises(KeyError, match="the charts are"):
        chart_section("production")
    with pytest.raises(KeyError, match="the sections are"):
        section("appendix")


def test_a_template_asking_for_an_unknown_chart_fails_instead_of_showing_nothing() -> None:
    chart = Chart("s-icons", {}, "alt", "caption")
    figures = Figures([("icons", "", chart), ("slices", "size", chart)])
    assert figures.of("icons") == [chart]
    assert figures.of("slices", "size") == [chart] and figures.of("slices") == []
    assert figures.of("guard") == []  # a registered chart this story does not have
    with pytest.raises(KeyError, match=r"no chart 'icon' in storybook/sources/sections\.py"):
        figures.of("icon")


def test_review_diffs_name_each_markdown_section_by_its_heading() -> None:
    assert {"title": "Title", "summary": "Summary",
                              **{sid: HEADINGS[sid] for sid in MARKDOWN_SECTIONS}} == SECTION_TITLES


def test_versions_all_means_every_registered_section() -> None:
    versions = ProjectConfig().versions
    assert versions is not None
    assert versions.sections("page") == frozenset(SECTION_IDS)


# -- the loader reads the registry -----------------------------------------------------------------------------


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example_project(tmp_path / "project")


def test_the_loader_reads_each_markdown_section_the_registry_lists(example: Path) -> None:
    directory = example / "stories" / STORY
    (directory / "factors.md").write_text("Tumour size matters.\n")
    (directory / "drivers.md").write_text("Not a section people write: storybook writes it.\n")
    story = load_story(example, directory)
    written = {path.stem for path in directory.glob("*.md")}
    assert set(story.sections) == written & set(MARKDOWN_SECTIONS)
    assert "factors" in story.sections and "drivers" not in story.sections


@pytest.mark.parametrize("section_id", AUTHORED_SECTIONS)
def test_a_required_section_missing_is_a_located_error_with_its_heading(example: Path, section_id: str) -> None:
    directory = example / "stories" / STORY
    (directory / f"{section_id}.md").unlink()
    with pytest.raises(SourceError) as caught:
        load_story(example, directory)
    assert HEADINGS[section_id] in caught.value.message
    assert caught.value.location is not None and caught.value.location.path == directory / f"{section_id}.md"


# -- the templates and the built page --------------------------------------------------------------------------

# The one-page summary's own blocks: not page sections, so their headings are the summary's.
SUMMARY_HEADINGS = {"How well it works", "What drives its predictions", "Caveats"}


def test_templates_hold_no_section_heading_and_place_charts_by_registered_id() -> None:
    for template in sorted(TEMPLATES.glob("*.html")):
        text = template.read_text()
        for heading in re.findall(r"<h2>(.*?)</h2>", text):
            assert heading.startswith("{{ headings") or heading in SUMMARY_HEADINGS or "{{" in heading, (
                f"{template.name}: the heading {heading!r} is not read from the section registry")
            assert not any(literal in heading for literal in HEADINGS.values()), (template.name, heading)
        assert "chart.name" not in text.replace("charts/{{ chart.name }}.svg", ""), (
            f"{template.name} matches charts by name; place them with figures.of(<chart id>)")
        for chart_id in re.findall(r'figures\.of\("([^"]+)"', text):
            assert chart_id in CHART_IDS, (template.name, chart_id)
    placed = {chart_id for t in TEMPLATES.glob("*.html") for chart_id in re.findall(r'figures\.of\("([^"]+)"',
                                                                                     t.read_text())}
    assert placed == set(CHART_IDS), "a registered chart is never placed on the page"


class _Sections(HTMLParser):
    """Each <section id=...>'s <h2> text, the table of contents and the section each chart image sits in."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: dict[str, str] = {}
        self.toc: list[tuple[str, str]] = []
        self.images: dict[str, str] = {}  # chart file -> the id of the <section> it is in
        self._stack: list[str | None] = []
        self._in_h2 = self._in_toc = False
        self._link: str | None = None

    def _section(self) -> str | None:
        return next((s for s in reversed(self._stack) if s is not None), None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section":
            self._stack.append(found.get("id"))
        elif tag == "h2":
            self._in_h2 = True
            self.headings.setdefault(str(self._section()), "")
        elif tag == "nav" and "toc" in (found.get("class") or ""):
            self._in_toc = True
        elif tag == "a" and self._in_toc:
            self._link = str(found.get("href", "")).removeprefix("#")
        elif tag == "img" and str(found.get("src", "")).startswith("charts/"):
            self.images[str(found["src"]).removeprefix("charts/")] = str(self._section())

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._stack.pop()
        elif tag == "h2":
            self._in_h2 = False
        elif tag == "nav":
            self._in_toc = False
        elif tag == "a":
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.headings[str(self._section())] += data
        elif self._link is not None:
            self.toc.append((self._link, data))


@pytest.fixture(scope="module")
def page(trained_project: Path, tmp_path_factory: pytest.TempPathFactory) -> _Sections:
    project = tmp_path_factory.mktemp("sections") / "project"
    copy_project(trained_project, project)
    result = runner.invoke(app, ["build", str(project), "--no-pdf"])
    assert result.exit_code == 0, result.output
    parsed = _Sections()
    parsed.feed((project / "site" / f"{STORY}.html").read_text())
    return parsed


def test_each_heading_on_the_page_is_the_registrys(page: _Sections) -> None:
    assert set(page.headings) <= set(SECTION_IDS)
    # The example tells every section (the glossary too: the page uses words the glossary explains).
    assert set(page.headings) == set(SECTION_IDS)
    for section_id, heading in page.headings.items():
        if section_id == "decision":  # "The decision: <the question the story asks>"
            assert heading.startswith(HEADINGS["decision"] + ": "), heading
        else:
            assert heading == HEADINGS[section_id], section_id


def test_the_table_of_contents_is_the_registry_in_page_order(page: _Sections) -> None:
    assert page.toc == [(row.id, row.heading) for row in SECTIONS]


def test_each_chart_sits_in_the_section_the_registry_gives_it(page: _Sections) -> None:
    # The example's chart files, told apart here by the names render/pages.py gives them.
    kinds = {"-recall.svg": "slices", "-specificity.svg": "slices", "-series-": "series", "-icons.svg": "icons",
             "-cost-curve.svg": "cost-curve", "-calibration.svg": "calibration", "-guard-": "guard",
             "-drivers.svg": "drivers", "-timeline.svg": "timeline"}
    seen = set()
    for name, section_id in page.images.items():
        chart_id = next(kind for part, kind in kinds.items() if part in name)
        seen.add(chart_id)
        assert section_id == chart_section(chart_id).id, (name, section_id)
    # The example is a binary classifier: it shows every chart such a story can have.
    assert seen == set(kinds.values())
