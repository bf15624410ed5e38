"""The sandbox page templates run in (render/sandbox.py), used directly: what a template may call and print, the
bounds on its cost, and a refusal turned into a PublishError on the template's line. Whole project templates in a
build are tested in test_template_sandbox.py."""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any

import pytest
from jinja2 import FileSystemBytecodeCache
from jinja2.exceptions import SecurityError, UndefinedError

from storybook.render.sandbox import MAX_RANGE_ITEMS, PageSandbox, template_failure


def _render(tmp_path: Path, text: str, **values: object) -> str:
    (tmp_path / "page.html").write_text(text)
    return PageSandbox([tmp_path]).get_template("page.html").render(**values)


def test_plain_values_are_formatted_and_escaped_and_controls_never_reach_the_page(tmp_path: Path) -> None:
    page = _render(tmp_path, "{{ name | upper }} {{ '%.2f' % share }} {{ items | join(', ') }} {{ html }}",
                   name="ward\u202e a", share=0.4567, items=["a", "b"], html="<b>")
    assert page == "WARD A 0.46 a, b &lt;b&gt;"


@pytest.mark.parametrize(("template", "refused"), [
    ("{{ path.read_text() }}", "read_text"),                      # a Path method is not storybook's
    ("{{ ''.__class__ }}", "__class__"),                          # no underscore attributes
    ("{{ 'x' * 30000000 }}", "'*'"),                              # larger than a page
    ("{{ 2 ** 100000 }}", "a power may be at most 64"),
    ("{{ '%099999d' % 1 }}", "widths and precisions are limited to three digits"),
    ("{{ '{:99999}'.format(1) }}", "widths and precisions are limited to three digits"),
])
def test_what_a_template_may_not_do_is_refused(tmp_path: Path, template: str, refused: str) -> None:
    with pytest.raises(SecurityError, match=re.escape(refused)):
        _render(tmp_path, template, path=tmp_path / "page.html")


def test_range_has_one_budget_for_the_whole_page(tmp_path: Path) -> None:
    half = MAX_RANGE_ITEMS // 2 + 1
    with pytest.raises(SecurityError, match="at most 100,000 numbers in all"):
        _render(tmp_path, "{% for i in range(n) %}{% endfor %}{% for i in range(n) %}{% endfor %}", n=half)
    assert _render(tmp_path, "{{ range(3) | list | length }}") == "3"


def test_a_failure_inside_a_template_is_located_on_its_line(tmp_path: Path) -> None:
    with pytest.raises(UndefinedError) as caught:
        _render(tmp_path, "line one\nline two\n{{ missing.value }}\n")
    failure = template_failure(caught.value, "story 's'", [tmp_path])
    assert failure is not None and failure.location is not None
    assert (failure.location.path, failure.location.line) == (tmp_path / "page.html", 3)
    assert failure.message.startswith("template failed for story 's': 'missing' is undefined")
    assert failure.hint == "check the project's templates/ overrides"


def test_an_error_not_from_a_template_is_not_a_template_failure(tmp_path: Path) -> None:
    assert template_failure(ValueError("elsewhere"), "story 's'", [tmp_path]) is None


def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Jinja's per-user cache folder, inside this test's temporary folder."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    return tmp_path / "tmp" / f"_jinja2-cache-{os.getuid()}"


def _compiles(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    compiled: list[str | None] = []
    original = PageSandbox.compile

    def counting(self: PageSandbox, source: Any, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        compiled.append(name)
        return original(self, source, name, *args, **kwargs)

    monkeypatch.setattr(PageSandbox, "compile", counting)
    return compiled


def test_a_compiled_template_is_kept_privately_and_a_new_sandbox_renders_without_compiling_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _private_cache(tmp_path, monkeypatch)
    compiled = _compiles(monkeypatch)
    (tmp_path / "page.html").write_text("{{ name | upper }} {{ items | join(', ') }}")
    assert PageSandbox([tmp_path]).get_template("page.html").render(name="a", items=["b"]) == "A b"
    assert compiled == ["page.html"]
    kept = list(folder.glob("storybook-*.cache"))
    assert len(kept) == 1
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and folder.stat().st_uid == os.getuid()
    # A new sandbox (a new process) takes the compiled code back, and renders it in the sandbox all the same.
    fresh = PageSandbox([tmp_path])
    assert fresh.get_template("page.html").render(name="c", items=["d", "e"]) == "C d, e"
    assert compiled == ["page.html"]
    (tmp_path / "unsafe.html").write_text("{{ ''.__class__ }}")
    with pytest.raises(SecurityError):
        PageSandbox([tmp_path]).get_template("unsafe.html").render()
    with pytest.raises(SecurityError):  # and again from its compiled code
        PageSandbox([tmp_path]).get_template("unsafe.html").render()
    # An edited template is compiled again (the key holds its source's checksum).
    (tmp_path / "page.html").write_text("{{ name | lower }}")
    assert PageSandbox([tmp_path]).get_template("page.html").render(name="F") == "f"
    assert compiled.count("page.html") == 2


def test_a_damaged_compiled_template_is_ignored_and_the_key_is_not_jinja_s_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _private_cache(tmp_path, monkeypatch)
    compiled = _compiles(monkeypatch)
    (tmp_path / "page.html").write_text("{{ name | upper }}")
    env = PageSandbox([tmp_path])
    assert env.get_template("page.html").render(name="a") == "A"
    for kept in folder.glob("storybook-*.cache"):
        kept.write_bytes(b"not compiled code")
    assert PageSandbox([tmp_path]).get_template("page.html").render(name="b") == "B"
    assert compiled == ["page.html", "page.html"]
    # Code that Jinja compiled outside the sandbox for the same file is never taken for the sandbox's.
    filename = str(tmp_path / "page.html")
    assert env.bytecode_cache is not None
    assert env.bytecode_cache.get_cache_key("page.html", filename) != FileSystemBytecodeCache(
        str(folder)).get_cache_key("page.html", filename)
