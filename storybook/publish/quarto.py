"""The Quarto backend: a generated Quarto project (a .qmd per story, _quarto.yml, charts as files),
rendered by ``quarto render`` in a subprocess to HTML and to PDF through Typst.

The .qmd text is the same content as the site's page: the story's rendered (and sanitised) HTML converted to
Pandoc Markdown by pandoc (Quarto's own ``quarto pandoc`` when Quarto is installed, else the pandoc of the
``pypandoc_binary`` wheel). Quarto only ever sees input that storybook generated.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from storybook.errors import ConfigError, PublishError

__all__ = ["QuartoPage", "find_quarto", "pandoc_command", "quarto_project", "render_quarto"]

INSTALL_HINT = ("install Quarto from https://quarto.org/docs/get-started/ (a .deb for Debian), put `quarto` on "
                "PATH or set STORYBOOK_QUARTO to its path")
# Pandoc Markdown without raw HTML or attribute syntax: what is left is plain Markdown any engine reads.
MARKDOWN_FLAVOUR = ("markdown-raw_html-native_divs-native_spans-fenced_divs-bracketed_spans-header_attributes"
                    "-link_attributes-raw_attribute")
TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class QuartoPage:
    """One story as Quarto will see it."""

    slug: str
    title: str
    subtitle: str
    html_main: str  # the <main> content of the site's page


def find_quarto(env: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if env is None else env
    configured = env.get("STORYBOOK_QUARTO")
    if configured:
        path = Path(configured)
        return path if path.is_file() and os.access(path, os.X_OK) else None
    found = shutil.which("quarto", path=env.get("PATH"))
    return Path(found) if found else None


def pandoc_command(quarto: Path | None) -> list[str]:
    """The pandoc to convert with: Quarto's bundled one, or the pypandoc_binary wheel's."""
    if quarto is not None:
        return [str(quarto), "pandoc"]
    try:
        import pypandoc
    except ImportError:
        raise ConfigError("the Quarto backend needs pandoc: neither Quarto nor pypandoc_binary is installed",
                          hint=INSTALL_HINT + ", or pip install pypandoc_binary") from None
    return [str(pypandoc.get_pandoc_path())]


def _to_markdown(html: str, pandoc: list[str]) -> str:
    result = subprocess.run([*pandoc, "--from", "html", "--to", MARKDOWN_FLAVOUR, "--wrap", "none"],
                            input=html, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise PublishError(f"pandoc could not convert a page: {result.stderr.strip()[:300]}")
    return result.stdout


def _strip_screen_only(html: str) -> str:
    """Drop the parts that only make sense on the site (PDF link, table of contents)."""
    import re

    html = re.sub(r'<nav class="toc screen-only".*?</nav>', "", html, flags=re.S)
    html = re.sub(r'<p class="screen-only">.*?</p>', "", html, flags=re.S)
    # Links to anchors on the same page: ids do not survive the conversion, so keep the text only.
    html = re.sub(r'<a\s[^>]*?href="#[^"]*"[^>]*>(.*?)</a>', r"\1", html, flags=re.S)
    # The title is in the front matter; drop the page's own h1 so it is not printed twice.
    return re.sub(r"<h1>.*?</h1>", "", html, count=1, flags=re.S)


def quarto_project(pages: list[QuartoPage], charts: Mapping[str, str], title: str,
                   pandoc: list[str]) -> dict[str, str]:
    """Files of a Quarto project, relative path -> text."""
    files: dict[str, str] = {}
    files["_quarto.yml"] = yaml.safe_dump({
        "project": {"type": "default", "output-dir": "_output", "render": [f"{p.slug}.qmd" for p in pages]},
        "format": {"html": {"embed-resources": False, "toc": True},
                   "typst": {"toc": False, "papersize": "a4"}},
        "title": title,
    }, sort_keys=False)
    for page in pages:
        front = yaml.safe_dump({"title": page.title, "subtitle": page.subtitle}, sort_keys=False,
                               allow_unicode=True)
        body = _to_markdown(_strip_screen_only(page.html_main), pandoc)
        files[f"{page.slug}.qmd"] = f"---\n{front}---\n\n{body}"
    for name, svg in charts.items():
        files[f"charts/{name}"] = svg
    return files


def render_quarto(directory: Path, quarto: Path | None) -> Path:
    """Run ``quarto render`` on a generated project; returns the output folder."""
    if quarto is None:
        raise ConfigError("the Quarto backend needs the `quarto` command, which was not found", hint=INSTALL_HINT)
    for target in ("html", "typst"):
        try:
            result = subprocess.run([str(quarto), "render", str(directory), "--to", target], cwd=directory,
                                    capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            raise PublishError(f"quarto render --to {target} took longer than {TIMEOUT_SECONDS} s") from None
        if result.returncode != 0:
            raise PublishError(f"quarto render --to {target} failed: {result.stderr.strip()[-500:]}",
                               hint="run it by hand in the generated project to see the whole message")
    return directory / "_output"
