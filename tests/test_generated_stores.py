"""Property test over generated MLflow stores: every figure on the page reproduces from its source.

Hypothesis draws stores the team did not make: another number of cases, another share of positives, another
threshold, other alias names, a story about the version in use or about the one proposed, costs with or without
a capacity. Each store is real (sqlite, registered versions, a logged scored set); the site is really built.
Then every figure is checked against its source: logged values against MLflow, shares and their denominators
against the scored set recomputed with scikit-learn, natural frequencies against counts at the threshold, and
every sentence of the one-page summary against the full page (the same words, so they cannot disagree).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sklearn.metrics import precision_score, recall_score, roc_auc_score

from storybook.build import build

ALIASES = ("production", "candidate", "live", "blue", "green", "champion", "challenger", "staging")


@dataclass(frozen=True)
class Store:
    n: int
    prevalence: float
    separation: float
    threshold: float
    aliases: tuple[str, str]
    about_second: bool
    false_negative_cost: float
    capacity_share: float | None
    seed: int


stores = st.builds(
    Store,
    n=st.integers(min_value=60, max_value=600),
    prevalence=st.floats(min_value=0.15, max_value=0.6),
    separation=st.floats(min_value=0.5, max_value=3.0),
    threshold=st.floats(min_value=0.2, max_value=0.8).map(lambda t: round(t, 2)),
    aliases=st.lists(st.sampled_from(ALIASES), min_size=2, max_size=2, unique=True).map(tuple),
    about_second=st.booleans(),
    false_negative_cost=st.sampled_from([2.0, 5.0, 8.0, 20.0]),
    capacity_share=st.one_of(st.none(), st.floats(min_value=0.1, max_value=0.6)),
    seed=st.integers(min_value=0, max_value=10_000),
)


def _scored_set(store: Store, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(store.seed)
    labels = (rng.random(store.n) < store.prevalence).astype(int)
    if labels.sum() < 5 or (1 - labels).sum() < 5:  # keep both classes present
        labels[:5], labels[5:10] = 1, 0
    logits = rng.normal(0, 1, store.n) + (store.separation + shift) * (labels - 0.5) * 2
    scores = np.round(1 / (1 + np.exp(-logits)), 6)
    groups = rng.choice(["North", "South", "East"], store.n, p=[0.5, 0.3, 0.2])
    return pd.DataFrame({"label": labels, "score": scores, "site": groups})


def _metrics(frame: pd.DataFrame, threshold: float) -> dict[str, float]:
    labels, flagged = frame["label"].to_numpy(), (frame["score"] >= threshold).to_numpy().astype(int)
    return {
        "test_recall": float(recall_score(labels, flagged)),
        "test_precision": float(precision_score(labels, flagged, zero_division=0)),
        "test_specificity": float(recall_score(1 - labels, 1 - flagged)),
        "test_roc_auc": float(roc_auc_score(labels, frame["score"])),
    }


def _make_store(root: Path, store: Store) -> dict[int, pd.DataFrame]:
    from mlflow import MlflowClient

    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(uri, uri)
    experiment = client.create_experiment("generated", artifact_location=(root / "artifacts").as_uri())
    client.create_registered_model("generated-model")
    frames: dict[int, pd.DataFrame] = {}
    for index, alias in enumerate(store.aliases):
        frame = _scored_set(store, shift=0.4 * index)
        run = client.create_run(experiment)
        run_id = run.info.run_id
        client.log_param(run_id, "threshold", str(store.threshold))
        for key, value in _metrics(frame, store.threshold).items():
            client.log_metric(run_id, key, value)
        path = root / f"version-{index}" / "scored.csv"
        path.parent.mkdir()
        frame.to_csv(path, index=False)
        client.log_artifact(run_id, str(path), "evaluation")
        client.set_terminated(run_id)
        version = client.create_model_version("generated-model", source=f"runs:/{run_id}/model", run_id=run_id)
        client.set_registered_model_alias("generated-model", alias, version.version)
        frames[int(version.version)] = frame
    return frames


def _write_project(root: Path, store: Store) -> None:
    story_alias, other_alias = store.aliases[::-1] if store.about_second else store.aliases
    capacity = None if store.capacity_share is None else round(store.capacity_share * 1000)
    (root / "storybook.yaml").write_text(
        f"title: Generated\ntracking_uri: sqlite:///{root / 'mlflow.db'}\npdf: false\n"
        f"in_use_alias: {store.aliases[0]}\n")
    story = root / "stories" / "generated"
    story.mkdir(parents=True)
    cost = (f"cost_of_error:\n  unit: hours\n  owner: the operations lead\n  false_positive: 1\n"
            f"  false_negative: {store.false_negative_cost}\n  population: 1000\n")
    if capacity is not None:
        cost += f"  capacity: {capacity}\n"
    (story / "story.yaml").write_text(f"""title: A generated story
summary: A model that flags cases for review.
audience: Operations managers
owner: Analytics team
model:
  name: generated-model
  alias: {story_alias}
intended_use:
  primary: Flag cases for a second look.
  users: [Reviewers]
  out_of_scope: [Deciding anything without a reviewer]
metrics:
  - {{key: test_recall, label: Cases found, kind: recall}}
  - {{key: test_precision, label: Flags that are right, kind: precision}}
  - {{key: test_specificity, label: Others left alone, kind: specificity}}
  - {{key: test_roc_auc, label: Ranking quality, kind: roc_auc}}
evaluation:
  artifact: evaluation/scored.csv
  positive_value: "1"
  unit: cases
  positive_means: need a second look
  negative_means: need no second look
  flagged_means: sent for review
slices:
  - column: site
    label: Site
min_slice_size: 10
history:
  compare_with: {other_alias}
{cost}""")
    for section in ("model-details", "intended-use", "factors", "metrics", "evaluation-data", "training-data",
                    "quantitative-analyses", "ethical-considerations", "caveats-and-recommendations"):
        (story / f"{section}.md").write_text("Written by the team.\n")


def _text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).strip()


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", text) if len(s.split()) >= 6]


def _check_share(sentence: str, truth: float) -> None:
    """A share told as "about X in 100", "between A and B in 100", "at least"/"at most": it must hold the truth."""
    if m := re.search(r"about (\d+) in 100\b", sentence):
        assert abs(int(m.group(1)) / 100 - truth) <= 0.0051, (sentence, truth)
    elif m := re.search(r"between (\d+) and (\d+) in 100\b", sentence):
        assert int(m.group(1)) / 100 - 0.0051 <= truth <= int(m.group(2)) / 100 + 0.0051, (sentence, truth)
    elif m := re.search(r"at least (\d+) in 100\b", sentence):
        assert truth >= int(m.group(1)) / 100 - 0.0051, (sentence, truth)
    elif m := re.search(r"at most (\d+) in 100\b", sentence):
        assert truth <= int(m.group(1)) / 100 + 0.0051, (sentence, truth)


@settings(max_examples=6, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(store=stores)
def test_every_figure_on_a_generated_store_reproduces_from_its_source(
        store: Store, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("generated")
    frames = _make_store(root, store)
    _write_project(root, store)
    report = build(root, pdf=False)
    assert not report.failed, report.failed
    site = root / "site"
    page = _text((site / "generated.html").read_text())
    summary = _text((site / "generated.summary.html").read_text())
    version = 2 if store.about_second else 1
    frame = frames[version]
    labels = frame["label"].to_numpy() == 1
    flagged = frame["score"].to_numpy() >= store.threshold
    logged = _metrics(frame, store.threshold)

    # Logged figures in the metric table equal what MLflow holds.
    cells = dict(re.findall(r'data-metric="([^"]+)">([^<]+)<', (site / "generated.html").read_text()))
    for key, value in logged.items():
        assert float(cells[key]) == pytest.approx(value, abs=5e-5), key

    # Each share's sentence: its denominator is what it really measured, and its words hold the recomputed share.
    denominators = {"Cases found": int(labels.sum()), "Flags that are right": int(flagged.sum()),
                    "Others left alone": int((~labels).sum()), "Ranking quality": len(frame)}
    truths = {"Cases found": logged["test_recall"], "Flags that are right": logged["test_precision"],
              "Others left alone": logged["test_specificity"], "Ranking quality": logged["test_roc_auc"]}
    for label, denominator in denominators.items():
        told = re.search(re.escape(label) + r": (.*?\(measured on ([\d,]+) [^)]*\)\.)", summary)
        assert told is not None, (label, summary)
        assert int(told.group(2).replace(",", "")) == denominator, told.group(0)
        _check_share(told.group(1), truths[label])

    # Natural frequencies: counts out of 1,000 at the threshold in use, scaled from the scored set.
    scale = 1000 / len(frame)
    told = re.search(r"Out of 1,000 cases, ([\d,]+) are sent for review: ([\d,]+) of them need a second look "
                     r"and ([\d,]+) do not\. Of the ([\d,]+) who need a second look, ([\d,]+) are missed", page)
    assert told is not None, page
    counts = [int(x.replace(",", "")) for x in told.groups()]
    expected = [flagged.sum() * scale, (flagged & labels).sum() * scale, (flagged & ~labels).sum() * scale,
                labels.sum() * scale, (~flagged & labels).sum() * scale]
    for shown, exact in zip(counts, expected, strict=True):
        assert abs(shown - exact) <= 1, (told.group(0), expected)
    assert counts[0] == counts[1] + counts[2] and counts[3] == counts[1] + counts[4], told.group(0)

    # A capacity the story states binds every audience version: nothing recommends flagging more.
    if store.capacity_share is not None:
        capacity = round(store.capacity_share * 1000)
        for text in (page, summary):
            for m in re.finditer(r"[Aa] threshold of ([\d.]+) would cost", text):
                at = float(m.group(1))
                share = float((frame["score"].to_numpy() >= at).mean())
                assert share * 1000 <= capacity + 1, (m.group(0), share, capacity)

    # The one-page summary's sentences are the full page's own words.
    summary_html = (site / "generated.summary.html").read_text()
    for block in re.findall(r'<section id="summary-[a-z-]+">(.*?)</section>', summary_html, flags=re.S):
        for part in re.findall(r"<(?:p|li)\b[^>]*>(.*?)</(?:p|li)>", block, flags=re.S):
            for sentence in _sentences(_text(part)):
                assert sentence in page, sentence

    # Comparisons name the story's own version as the story's, never the version compared with itself.
    assert f"Compared with version {version} " not in page
