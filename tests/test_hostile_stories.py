"""Hostile story content, through the whole build: nothing executable reaches the site or the PDF."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from storybook.cli import app
from storybook.publish.pdf import render_pdf

STORY = "breast-cancer-screening"
runner = CliRunner()

XSS = r"""
<script>alert(1)</script>
<img src=x onerror="alert(2)">
[click](javascript:alert(3)) [data](data:text/html;base64,PHNjcmlwdD5hbGVydCg0KTwvc2NyaXB0Pg==)
<a href="JaVaScRiPt:alert(5)">x</a> <a href="&#106;avascript:alert(6)">y</a>
<svg onload="alert(7)"><script>alert(8)</script></svg>
<iframe src="https://evil.example/"></iframe>
<form action="https://evil.example/"><input name=a></form>
<style>body{background:url(https://evil.example/leak)}</style>
<p style="background:url(https://evil.example/x)" id="main" name="x">styled</p>
<meta http-equiv="refresh" content="0;url=https://evil.example/">
<base href="https://evil.example/">
<!-- hidden comment -->
![pic](https://evil.example/track.png) ![local](file:///etc/passwd)
<link rel="attachment" href="file:///etc/passwd">
<object data="x"></object><embed src="x">
"""


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A local server that records any request: a fetch from rendering would show up here."""
    hits: ClassVar[list[str]] = []
    handler = type("Recorder", (_Recorder,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def _assert_inert(html: str) -> None:
    """Every tag is on the allowlist, no event handler or style survives, links go only to safe places."""
    from html.parser import HTMLParser

    from storybook.render.markdown import ALLOWED_TAGS

    problems: list[str] = []

    class Walker(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag not in ALLOWED_TAGS | {"h2", "section"}:
                problems.append(f"tag {tag}")
            for name, value in attrs:
                if name.startswith("on") or name in ("style", "id", "name", "src", "srcset", "action"):
                    problems.append(f"attribute {name} on {tag}")
                if name == "href" and not re.match(r"^(https?:|mailto:|#)", value or ""):
                    problems.append(f"href {value}")
                if name == "href" and "evil.example" in (value or ""):
                    problems.append(f"href {value}")

        def handle_comment(self, data: str) -> None:
            problems.append("comment")

    Walker().feed(html)
    assert problems == []


def test_xss_payloads_are_neutralised_on_the_site_and_in_the_pdf(project_copy: Path, listener: tuple[str, list[str]]
                                                                  ) -> None:
    url, hits = listener
    story = project_copy / "stories" / STORY
    (story / "ethical-considerations.md").write_text("Be careful.\n" + XSS + f"\n![l]({url}/pixel.png)\n")
    config = story / "story.yaml"
    config.write_text(config.read_text().replace(
        "owner: Screening analytics team", "owner: \"<script>alert('owner')</script> team\""))
    result = runner.invoke(app, ["build", str(project_copy), "--pdf"])
    assert result.exit_code == 0, result.output
    page = (project_copy / "site" / f"{STORY}.html").read_text()
    ethics = page.split('<section id="ethical-considerations">')[1].split("</section>")[0]
    _assert_inert(ethics)
    assert "&lt;script&gt;alert('owner')&lt;/script&gt; team" in page.replace("&#39;", "'")
    assert "<script" not in page.lower()
    assert hits == []  # neither the PDF renderer nor chart rendering fetched anything

    from pypdf import PdfReader

    text = "\n".join(p.extract_text() for p in PdfReader(project_copy / "site" / f"{STORY}.pdf").pages)
    assert "root:x:0:0" not in text
    reader = PdfReader(project_copy / "site" / f"{STORY}.pdf")
    assert not reader.attachments  # rel=attachment never embedded a file


def test_pdf_fetcher_refuses_files_outside_the_site_and_the_network(tmp_path: Path,
                                                                    listener: tuple[str, list[str]]) -> None:
    from pypdf import PdfReader

    url, hits = listener
    site = tmp_path / "site"
    site.mkdir()
    (site / "ok.css").write_text("p { color: #123456 }")
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    html = (f'<link rel="stylesheet" href="ok.css"><link rel="stylesheet" href="{url}/x.css">'
            f'<img src="{url}/img.png"><img src="file://{secret}"><img src="../secret.txt">'
            f'<a rel="attachment" href="file://{secret}">a</a><a rel="attachment" href="../secret.txt">b</a>'
            "<p>hello</p>")
    pdf = render_pdf(html, site, title="t")
    (tmp_path / "out.pdf").write_bytes(pdf)
    reader = PdfReader(tmp_path / "out.pdf")
    assert "hello" in reader.pages[0].extract_text()
    assert not reader.attachments
    assert b"TOP-SECRET" not in pdf
    assert hits == []


SANDBOX_PAYLOADS = [
    "{{ 7**9999999 }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{% for i in range(999999999) %}x{% endfor %}",
    "{{ 'a' * 100000000 }}",
    "{{ metric('test_recall').__init__.__globals__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ '%s' | format(1) }}",
    "{{ model | safe }}",
    "{% include '/etc/passwd' %}",
    "{{ self }}",
    "{{ config }}",
]


@pytest.mark.parametrize("payload", SANDBOX_PAYLOADS)
def test_sandbox_payloads_fail_on_their_line_and_other_stories_build(project_copy: Path, payload: str) -> None:
    import shutil

    hostile = project_copy / "stories" / "hostile"
    shutil.copytree(project_copy / "stories" / STORY, hostile)
    (hostile / "metrics.md").write_text(f"Line one.\n\nLine three {payload}\n")
    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf"])
    assert result.exit_code == 1, result.output
    assert re.search(r"hostile/metrics\.md:3: ", result.output), result.output
    assert "Traceback" not in result.output
    assert (project_copy / "site" / f"{STORY}.html").is_file()
    assert not (project_copy / "site" / "hostile.html").exists()


def test_artifact_paths_cannot_leave_the_run(project_copy: Path) -> None:
    story = project_copy / "stories" / STORY / "story.yaml"
    story.write_text(story.read_text().replace("artifact: evaluation/scored.csv", "artifact: ../../../../etc/passwd"))
    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf"])
    assert result.exit_code == 1
    assert re.search(r"story\.yaml:\d+: artifact path '\.\./\.\./\.\./\.\./etc/passwd' must be relative to the run",
                     result.output)


def test_symlinked_section_out_of_the_project_is_refused(project_copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("secret words")
    section = project_copy / "stories" / STORY / "ethical-considerations.md"
    section.unlink()
    section.symlink_to(outside)
    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf"])
    assert result.exit_code == 1
    assert "ethical-considerations.md: Markdown file must be a regular file inside the project" in result.output
    assert "secret words" not in (project_copy / "site" / "index.html").read_text()


