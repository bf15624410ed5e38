"""The bundled example's page, read back: a tight and a wide interval worded differently (checked against
scipy's Wilson interval on the logged evaluation set), a group with too few cases, and glossary links at the
first use of each term, never inside headings, links or code, with the glossary in the PDF too."""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from scipy.stats import binomtest
from typer.testing import CliRunner

from storybook.analyse.glossary import build_glossary
from storybook.cli import app
from storybook.render.glossary import SKIP_TAGS
from tests.stores import copy_project

STORY = "breast-cancer-screening"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Page(HTMLParser):
    """Text in document order, marking where glossary links sit and what encloses them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, marked data-no-glossary)
        self.text = ""
        self.linkable: list[tuple[int, int]] = []  # spans of self.text where a link may go
        self.links: list[tuple[str, str, int, tuple[str, ...]]] = []  # (href, text, position, enclosing tags)
        self._link: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "a" and attributes.get("class") == "term":
            self._link = [str(attributes["href"]), "", str(len(self.text))]
            self.links.append(("", "", 0, tuple(t for t, _ in self.stack)))
        if tag not in VOID:
            self.stack.append((tag, "data-no-glossary" in attributes))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break
        if tag == "a" and self._link is not None:
            href, text, position = self._link
            self.links[-1] = (href, text, int(position), self.links[-1][3])
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._link is not None:
            self._link[1] += data
        skip = any(tag in SKIP_TAGS or marked for tag, marked in self.stack) and self._link is None
        if not skip:
            self.linkable.append((len(self.text), len(self.text) + len(data)))
        self.text += data


@pytest.fixture(scope="module")
def built(trained_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("plain") / "project"
    copy_project(trained_project, project)
    (project / "stories" / STORY / "evaluation-data.md").write_text(
        "In testing, {{ evaluation.flagged | count }} patients were put at the front of the queue, and "
        "{{ evaluation.negatives | count }} of the {{ evaluation.size | count }} had a harmless tumour.\n")
    result = CliRunner().invoke(app, ["build", str(project)])
    assert result.exit_code == 0, result.output
    return project


def _scored(project: Path) -> tuple[pd.DataFrame, float]:
    uri = f"sqlite:///{project / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(uri, uri)
    run_id = client.get_model_version_by_alias(STORY, "champion").run_id
    scored = pd.read_csv(client.download_artifacts(run_id, "evaluation/scored.csv", str(project / "dl")))
    return scored, float(client.get_run(run_id).data.params["threshold"])


def _text(html: str) -> str:
    import html as html_module

    return re.sub(r"\s+", " ", html_module.unescape(re.sub(r"<[^>]+>", " ", html)))


def test_tight_and_wide_intervals_are_worded_differently(built: Path) -> None:
    scored, threshold = _scored(built)
    flagged, malignant = scored["score"] >= threshold, scored["label"] == 1
    page = (built / "site" / f"{STORY}.html").read_text()
    metrics = _text(page.split('<section id="metrics">', 1)[1].split("</section>", 1)[0])

    found, positives = int((flagged & malignant).sum()), int(malignant.sum())
    recall = binomtest(found, positives).proportion_ci(method="wilson")
    assert recall.high - recall.low > 0.1  # wide under storybook.yaml's tight_width of 0.1
    assert (f"Of the patients who have a malignant tumour, between {round(recall.low * 100)} and "
            f"{round(recall.high * 100)} in 100 are put at the front of the queue (measured on {positives} "
            "patients who have a malignant tumour).") in metrics

    left, harmless = int((~flagged & ~malignant).sum()), int((~malignant).sum())
    specificity = binomtest(left, harmless).proportion_ci(method="wilson")
    assert specificity.high - specificity.low <= 0.1  # tight
    assert (f"Of the patients who have a harmless tumour, about {round(left / harmless * 100)} in 100 are "
            f"correctly not put at the front of the queue (measured on {harmless} patients") in metrics

    # A group with fewer than 10 malignant tumours is too few to say; its count is given.
    analyses = _text(page.split('<section id="quantitative-analyses">', 1)[1].split("</section>", 1)[0])
    small = scored[scored["size_band"] == "small"]
    small_positives = int((small["label"] == 1).sum())
    assert small_positives < 10
    assert (f"small (tumour size, {len(small)} patients): too few cases to say: only {small_positives} patients "
            "who have a malignant tumour were in the evaluation, and at least 10 are needed.") in analyses


def test_prose_can_name_the_denominators(built: Path) -> None:
    scored, threshold = _scored(built)
    page = _text((built / "site" / f"{STORY}.html").read_text())
    flagged, harmless = int((scored["score"] >= threshold).sum()), int((scored["label"] == 0).sum())
    assert (f"In testing, {flagged} patients were put at the front of the queue, and {harmless} of the "
            f"{len(scored)} had a harmless tumour.") in page


def test_first_use_of_each_term_links_to_its_entry(built: Path) -> None:
    page = (built / "site" / f"{STORY}.html").read_text()
    parsed = _Page()
    parsed.feed(page)
    links = parsed.links
    hrefs = [href for href, _, _, _ in links]
    assert {"#term-recall", "#term-threshold", "#term-false-positive", "#term-interval", "#term-malignant",
            "#term-guardrail", "#term-drift", "#term-psi"} <= set(hrefs)
    assert len(hrefs) == len(set(hrefs))  # each term once

    entries = re.findall(r'<dt><span id="(term-[a-z0-9-]+)">', page)
    assert sorted(h[1:] for h in hrefs) == sorted(entries)  # every link has its entry, every entry a link
    glossary = page.split('<section id="glossary"', 1)[1].split("</section>", 1)[0]
    assert '<a class="term"' not in glossary
    assert "In this story:</span> The patients who have a malignant tumour: the cases the model" in glossary
    assert ("Patients who have a harmless tumour but are put at the front of the queue anyway: a harmless tumour "
            "jumps the queue and is read early for nothing.") in glossary

    story_terms = build_glossary(_vocabulary(), story={})
    spellings = {f"#{t.anchor}": t.spellings for t in story_terms}
    for href, text, position, enclosing in links:
        assert not set(enclosing) & SKIP_TAGS, (href, enclosing)
        if href not in spellings:
            continue  # a story-only term (malignant, harmless)
        pattern = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(s).replace(r"\ ", r"\s+")
                                                         for s in spellings[href]) + r")(?:es|s)?(?![\w-])",
                             re.IGNORECASE)
        assert pattern.fullmatch(text), (href, text)
        earlier = [parsed.text[a:min(b, position)] for a, b in parsed.linkable if a < position]
        assert not any(pattern.search(chunk) for chunk in earlier), (href, "used before its link")


def _vocabulary():  # type: ignore[no-untyped-def]
    from storybook.analyse.plain import Vocabulary

    return Vocabulary(unit="patients", positive="have a malignant tumour", negative="have a harmless tumour",
                      flagged="put at the front of the queue")


def test_pdf_carries_the_glossary(built: Path) -> None:
    pdf = built / "site" / f"{STORY}.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Words used on this page" in text
    assert "In this story:" in text
    assert re.search(r"between \d+ and \d+ in 100", text) and re.search(r"about \d+ in 100", text)
