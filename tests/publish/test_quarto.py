"""The Quarto backend's generated project, checked through the engines Quarto drives: pandoc and typst.

The quarto binary itself cannot be installed from a package registry on machines without internet (the
quarto-cli package downloads it while installing), so the test that runs `quarto render` is skipped there,
with that reason. Nothing fakes the binary.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storybook.cli import app
from storybook.errors import ConfigError
from storybook.publish.quarto import QuartoPage, find_quarto, pandoc_command, quarto_project, render_quarto

STORY = "breast-cancer-screening"


@pytest.fixture(scope="module")
def project_files(trained_project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("quarto-site") / "site"
    result = CliRunner().invoke(app, ["build", str(trained_project), "--no-pdf", "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = (out / f"{STORY}.html").read_text()
    main = html.split('<main id="main">', 1)[1].split("</main>", 1)[0]
    charts = {p.name: p.read_text() for p in (out / "charts").glob("*.svg")}
    page = QuartoPage(slug=STORY, title="Which tumour scans should a specialist see first?",
                      subtitle="A screening model", html_main=main)
    return quarto_project([page], charts, "Screening model stories", pandoc_command(find_quarto()))


def _write(files: dict[str, str], root: Path) -> Path:
    for relative, text in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def test_generated_project_has_a_qmd_per_story_and_charts_as_files(project_files: dict[str, str]) -> None:
    assert set(project_files) >= {"_quarto.yml", f"{STORY}.qmd"}
    assert any(name.startswith("charts/") and name.endswith(".svg") for name in project_files)
    qmd = project_files[f"{STORY}.qmd"]
    assert qmd.startswith("---\ntitle: Which tumour scans should a specialist see first?\n")
    # No raw HTML reaches Quarto: a "<" is either pandoc's escaped text (\<alias\>) or an arrow.
    assert not re.search(r"(?<!\\)<(?!-)", qmd.split("---", 2)[2])
    assert re.search(r"!\[Chart of share of cases found by tumour size\.[^\]]*\]\(charts/[^)]+\.svg\)", qmd)


def test_pandoc_renders_each_qmd_to_html_with_the_same_sections(project_files: dict[str, str],
                                                                tmp_path: Path) -> None:
    root = _write(project_files, tmp_path / "q")
    pandoc = pandoc_command(None)
    html = subprocess.run([*pandoc, f"{STORY}.qmd", "--from", "markdown", "--to", "html", "--standalone"],
                          cwd=root, capture_output=True, text=True, check=True).stdout
    for heading in ("Model details", "Intended use", "Factors", "Metrics", "Evaluation data", "Training data",
                    "Quantitative analyses", "Ethical considerations", "Caveats and recommendations",
                    "What mistakes cost", "Where the numbers come from"):
        assert re.search(rf"<h2[^>]*>{heading}</h2>", html), heading


def test_pandoc_and_typst_make_a_pdf_with_the_story(project_files: dict[str, str], tmp_path: Path) -> None:
    import typst
    from pypdf import PdfReader

    root = _write(project_files, tmp_path / "q")
    pandoc = pandoc_command(None)
    subprocess.run([*pandoc, f"{STORY}.qmd", "--from", "markdown", "--to", "typst", "--standalone",
                    "-o", "story.typ"], cwd=root, check=True, capture_output=True)
    pdf = root / "story.pdf"
    typst.compile(str(root / "story.typ"), output=str(pdf), root=str(root))
    text = " ".join("".join(page.extract_text() for page in PdfReader(pdf).pages).split())
    assert "Which tumour scans should a specialist see first?" in text
    assert "Ethical considerations" in text and "What mistakes cost" in text
    assert re.search(r"Out of 1,000 patients, \d+ are put at the front of the queue", text)
    assert len(PdfReader(pdf).pages) >= 3


def test_missing_quarto_is_a_clear_error(tmp_path: Path) -> None:
    assert find_quarto({"PATH": str(tmp_path)}) is None
    with pytest.raises(ConfigError, match="needs the `quarto` command") as error:
        render_quarto(tmp_path, None)
    assert "quarto.org" in str(error.value)


@pytest.mark.skipif(find_quarto() is None, reason="the quarto binary is not installed here (quarto-cli downloads "
                    "it at install time, which needs internet); pandoc and typst are checked instead")
def test_real_quarto_renders_html_and_typst_pdf(project_files: dict[str, str], tmp_path: Path) -> None:
    root = _write(project_files, tmp_path / "q")
    output = render_quarto(root, find_quarto())
    assert (output / f"{STORY}.html").is_file()
    assert (output / f"{STORY}.pdf").is_file()
