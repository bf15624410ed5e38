"""Audience versions from one source: the one-page summary, the full page and the compliance PDF share the same
bound numbers; which sections each shows is declared in story.yaml or storybook.yaml; readability is measured."""

from __future__ import annotations

import io
import re
from pathlib import Path

import textstat  # type: ignore[import-untyped]
from pypdf import PdfReader
from typer.testing import CliRunner

from storybook.cli import app
from storybook.review.readability import page_readability, page_text

STORY = "breast-cancer-screening"
runner = CliRunner()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def _pdf_text(path: Path) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return len(reader.pages), re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def _section_ids(html: str) -> set[str]:
    return set(re.findall(r'<section id="([a-z-]+)"', html))


def test_example_has_a_one_page_summary_that_shares_the_pages_numbers(project_copy: Path) -> None:
    result = runner.invoke(app, ["build", str(project_copy), "--pdf"])
    assert result.exit_code == 0, result.output
    site = project_copy / "site"
    page = _text((site / f"{STORY}.html").read_text())
    summary_html = (site / f"{STORY}.summary.html").read_text()
    summary = _text(summary_html)
    # The same natural-frequency sentence, with the same numbers, in the summary and on the full page.
    sentence = re.search(r"Out of 1,000 patients, (\d+) are put at the front of the queue: (\d+) of them have a "
                         r"malignant tumour and (\d+) do not", summary)
    assert sentence is not None, summary
    assert sentence.group(0) in page
    for line in re.findall(r"<li><strong>([^<]+):</strong> ([^<]+)</li>", summary_html)[:5]:
        assert _text(line[1]) in page  # every key figure sentence is the page's own
    assert "Should version 2 (the challenger) replace version 1 (the champion)" in summary
    assert re.search(r"The model: <strong>(none|emerging|established|strong)</strong>", summary_html)
    assert "✓ checked: In every round of cross-validation" in summary
    assert f'href="{STORY}.html"' in summary_html
    assert f'href="{STORY}.summary.html"' in (site / "index.html").read_text()
    pages, summary_pdf = _pdf_text(site / f"{STORY}.summary.pdf")
    assert pages == 1
    assert sentence.group(0).replace(",", "") in summary_pdf.replace(",", "")
    full_pages, full_pdf = _pdf_text(site / f"{STORY}.pdf")
    assert full_pages > 5 and "Where the numbers come from" in full_pdf


def test_versions_declared_in_the_story_choose_the_sections(project_copy: Path) -> None:
    story_yaml = project_copy / "stories" / STORY / "story.yaml"
    story_yaml.write_text(story_yaml.read_text() + """versions:
  summary: [key-figures, drivers, caveats]
  page: [model-details, intended-use, metrics, cost-of-error]
""")
    project_yaml = project_copy / "storybook.yaml"
    project_yaml.write_text(project_yaml.read_text() + "versions:\n  compliance: [metrics, trust]\n")
    result = runner.invoke(app, ["build", str(project_copy), "--pdf"])
    assert result.exit_code == 0, result.output
    site = project_copy / "site"
    page = (site / f"{STORY}.html").read_text()
    assert _section_ids(page) == {"model-details", "intended-use", "metrics", "cost-of-error"}
    toc = page.split('<nav class="toc', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r'href="#([a-z-]+)"', toc) == ["model-details", "intended-use", "metrics", "cost-of-error"]
    summary = (site / f"{STORY}.summary.html").read_text()
    assert re.findall(r'<section id="(summary-[a-z-]+)"', summary) == [
        "summary-key-figures", "summary-drivers", "summary-caveats"]
    lead = re.search(r'<p class="lead-finding"><strong>([^<]+)</strong>', (site / f"{STORY}.html").read_text())
    assert lead is None  # the page leaves the drivers out, yet the summary tells their lead finding
    assert re.search(r"(The model leans most on|No single measurement clearly drives)", _text(summary))
    # The project's compliance version (the story sets none): metrics and trust, with the provenance appendix.
    _, compliance = _pdf_text(site / f"{STORY}.pdf")
    assert "How far to trust it" in compliance and "Where the numbers come from" in compliance
    assert "What mistakes cost" not in compliance and "Intended use" not in compliance


def test_an_unknown_section_in_versions_is_a_located_error(project_copy: Path) -> None:
    story_yaml = project_copy / "stories" / STORY / "story.yaml"
    story_yaml.write_text(story_yaml.read_text() + "versions:\n  page: [metrics, costs]\n")
    line = len(story_yaml.read_text().splitlines())
    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf"])
    assert result.exit_code == 1
    assert re.search(rf"story\.yaml:{line}: versions\.page", result.output), result.output


def test_page_text_reads_running_text_only() -> None:
    html = """<html><body><header>Site</header><main id="main"><h2>Metrics</h2>
    <p>The model finds most
    cases.</p><table><tr><td>0.93 recall</td></tr></table><ul><li>Short item</li></ul>
    <section id="provenance"><p>run 1234</p></section><details><summary>Figures</summary>hidden</details>
    <p>Last <code>x</code> words.</p></main><footer>Built</footer></body></html>"""
    assert page_text(html) == "Metrics\nThe model finds most cases.\nShort item\nLast words."
    measured = page_readability(html)
    expected = "Metrics.\nThe model finds most cases.\nShort item.\nLast words."
    assert measured.grade == float(textstat.flesch_kincaid_grade(expected))
    # textstat does not count sentences of two words or fewer ("Short item."), but counts their words.
    assert measured.words == 10 and measured.sentences == 1


def test_check_reports_the_example_pages_readability_against_the_projects_target(project_copy: Path) -> None:
    result = runner.invoke(app, ["check", str(project_copy), "--online"])
    assert result.exit_code == 0, result.output
    found = re.search(r"readability of breast-cancer-screening: page grade ([\d.]+) \(reading ease (\d+), "
                      r"[\d,]+ words\), summary grade ([\d.]+) .*; target grade 9 or below", result.output)
    assert found is not None, result.output
    assert float(found.group(1)) <= 9 and float(found.group(3)) <= 9
    assert "page-readability" not in result.output
    project_yaml = project_copy / "storybook.yaml"
    project_yaml.write_text(project_yaml.read_text().replace("max_grade: 9", "max_grade: 4"))
    strict = runner.invoke(app, ["check", str(project_copy), "--online"])
    assert "the built page reads at grade" in strict.output and "[page-readability]" in strict.output
