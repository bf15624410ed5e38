"""Issue 24, class 7: every page template (a project's own and storybook's) runs in a bounded sandbox."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import pytest
from typer.testing import CliRunner

from storybook.build import build
from storybook.cli import app
from storybook.errors import PublishError
from storybook.render import rendered
from storybook.render.pages import page_environment, render_index

STORY = "breast-cancer-screening"

# Each line tries to reach Python's internals, a module or the file system; MARKER must never appear.
ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.system('touch MARKER') }}",
    "{{ joiner.__init__.__globals__.os.system('touch MARKER') }}",
    "{{ namespace.__init__.__globals__.os.system('touch MARKER') }}",
    "{{ lipsum.__globals__['os'].system('touch MARKER') }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.system('touch MARKER') }}",
    "{{ self.__init__.__globals__.__builtins__.open('MARKER', 'w') }}",
    "{{ entries.__class__.__base__.__subclasses__() }}",
    "{{ ''|attr('__class__')|attr('__mro__') }}",
    "{{ entries.append(1) }}{{ title }}",
]

# Each is cheap to write and would be costly to run without bounds.
COSTS = [
    "{{ 'x' * 100000000 }}",
    "{{ 7 ** 99999999 }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{{ 'x'.ljust(1000000000) }}",
    "{{ '%999999999d' % 1 }}",
    "{{ '%999999999d' | format(1) }}",
    "{{ '{:999999999}'.format(1) }}",
    "{{ '{:{}}'.format(1, 999999999) }}",
    "{{ ('x' * 1000000) | replace('x', 'x' * 1000) }}",
    "{{ (['x' * 1000000] * 1000) | join('') }}",
    "{{ 1 + 'a' }}",
    "{{ ('x' * 1000000) | center(1000000000) }}",
    "{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}",
]


def _project_index(tmp_path: Path, body: str) -> Path:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "index.html").write_text(f"<h1>{{{{ title }}}}</h1>\n\n{body}\n", encoding="utf-8")
    return templates


@pytest.mark.parametrize("payload", ESCAPES)
def test_a_project_template_cannot_reach_python_and_fails_on_its_line(tmp_path: Path, payload: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    templates = _project_index(tmp_path, payload.replace("MARKER", str(tmp_path / "MARKER")))
    with pytest.raises(PublishError) as raised:
        render_index(page_environment(templates), "Title", None, [], "today")
    assert raised.value.location is not None
    assert raised.value.location.path == (templates / "index.html").absolute()
    assert raised.value.location.line == 3
    assert "templates/index.html:3" in str(raised.value)
    assert not (tmp_path / "MARKER").exists()


@pytest.mark.parametrize("payload", COSTS)
def test_a_project_template_cannot_run_away_in_time_or_memory(tmp_path: Path, payload: str) -> None:
    templates = _project_index(tmp_path, payload)
    start = time.perf_counter()
    with pytest.raises(PublishError, match="template failed for the index page"):
        render_index(page_environment(templates), "Title", None, [], "today")
    assert time.perf_counter() - start < 5


def test_an_oversized_template_is_refused_before_it_is_read(tmp_path: Path) -> None:
    templates = _project_index(tmp_path, "x" * 1_000_001)
    with pytest.raises(PublishError, match="more than 1,000,000"):
        render_index(page_environment(templates), "Title", None, [], "today")


def test_ordinary_template_code_still_works(tmp_path: Path) -> None:
    body = ("{% for i in range(3) %}{{ i * 2 }}{% endfor %}|{{ 'a,b'.split(',') | join('+') }}|{{ 2 ** 10 }}|"
            "{{ '%.2f' | format(1.234) }}|{{ '{:>5}'.format('x') }}|{{ 'ab' * 2 }}|{{ title | upper }}")
    templates = _project_index(tmp_path, body)
    html = render_index(page_environment(templates), "<T>", None, [], "today")
    assert "024|a+b|1024|1.23|    x|abab|&lt;T&gt;" in html


def test_shipped_templates_render_the_example_exactly_as_without_the_sandbox(project_copy: Path, tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    sandboxed = build(project_copy, out=tmp_path / "sandboxed", pdf=False, now=now, cache=False, jobs=1)
    assert not sandboxed.failed

    def plain(search: list[Path]) -> jinja2.Environment:
        env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(p) for p in search]), autoescape=True,
                                 undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        return env

    monkeypatch.setattr(rendered, "PageSandbox", plain)
    unsandboxed = build(project_copy, out=tmp_path / "plain", pdf=False, now=now, cache=False, jobs=1)
    assert not unsandboxed.failed
    names = sorted(p.name for p in (tmp_path / "sandboxed").glob("*.html"))
    assert f"{STORY}.html" in names and "index.html" in names
    assert names == sorted(p.name for p in (tmp_path / "plain").glob("*.html"))
    for name in names:
        assert (tmp_path / "sandboxed" / name).read_text() == (tmp_path / "plain" / name).read_text(), name


def test_a_poisoned_project_template_fails_its_story_and_the_others_build(project_copy: Path) -> None:
    hostile = project_copy / "stories" / "hostile"
    shutil.copytree(project_copy / "stories" / STORY, hostile)
    marker = project_copy / "MARKER"
    text = (rendered.templates_root() / "story.html").read_text(encoding="utf-8")
    poison = ("{% if slug == 'hostile' %}{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}"
              "{{ ''.__class__.__mro__ }}{% endif %}\n")
    lines = text.splitlines(keepends=True)
    line = 4  # inside {% block body %}: a child template prints nothing outside its blocks
    (project_copy / "templates").mkdir(exist_ok=True)
    (project_copy / "templates" / "story.html").write_text("".join([*lines[:line - 1], poison, *lines[line - 1:]]),
                                                           encoding="utf-8")
    result = CliRunner().invoke(app, ["build", str(project_copy), "--no-pdf"])
    assert result.exit_code == 1, result.output
    assert f"templates/story.html:{line}" in result.output, result.output
    assert "Traceback" not in result.output
    assert not marker.exists()
    assert (project_copy / "site" / f"{STORY}.html").is_file()
    assert not (project_copy / "site" / "hostile.html").exists()
