"""The model card's sentences (analyse/page_words.py), built in Python for the templates to lay out."""

from __future__ import annotations

import numpy as np
import pandas as pd

from storybook.analyse.card import ModelCard, SliceAnalysis
from storybook.analyse.classification import disaggregate
from storybook.analyse.page_words import Part, Said, page_wording
from storybook.analyse.plain import Vocabulary
from storybook.resolve.resolved import DatasetRecord, ModelVersionRecord, ResolvedRun, ResolvedStory
from storybook.sources.schema import SliceSpec

WORDS = Vocabulary(unit="patients", positive="have a tumour.", negative="do not", flagged="sent for review")
DAY_MS = 1_764_547_200_000  # 1 December 2025, 00:00 UTC


def _text(said: Said) -> str:
    return "".join(part.text for part in said)


def _resolved(model: ModelVersionRecord | None) -> ResolvedStory:
    run = ResolvedRun("r" * 32, "bold-run", "screening", DAY_MS, None, {}, {}, {})
    return ResolvedStory(source="sqlite:///mlflow.db", run=run, model=model)


def _card(**changes: object) -> ModelCard:
    fields: dict[str, object] = dict(words=WORDS, threshold=0.5, threshold_source="the story", metrics=(),
                                     overall=None, slices=(), training_data=(), evaluation_data=(), caveats=())
    fields.update(changes)
    return ModelCard(**fields)  # type: ignore[arg-type]


def test_a_card_without_a_registered_model_names_only_its_run() -> None:
    said = page_wording(_card(), _resolved(None), owner="The screening team", built_at="now", snapshot_hash=None)
    assert _text(said.model_details) == ("This card describes the model trained in run bold-run on 1 December "
                                         "2025. The screening team looks after it.")
    assert Part("bold-run", "code") in said.model_details
    assert said.model == "" and said.slice_captions == {} and said.checked_against == {}
    assert said.factors_lead == said.slices_lead == "This story does not break results down by group."
    assert said.factors == () and said.merged == {} and said.evaluation is None
    assert [_text(s) for s in said.training_data] == ["The run did not record its training data."]
    assert said.threshold == ("The model gives each of the patients a score from 0 to 1. Those scoring 0.5 or more "
                              "are sent for review (the threshold comes from the story).")
    assert _text(said.provenance) == ("Every figure on this page was read from MLflow at sqlite:///mlflow.db when "
                                      "the page was built (now); no snapshot was pinned.")
    assert "tested against the figures in MLflow when this page was built (now)" in said.claims_lead


def test_a_registered_model_with_aliases_datasets_and_a_snapshot() -> None:
    model = ModelVersionRecord("screen", 3, "r" * 32, DAY_MS + 86_400_000, ("champion", "gold"))
    data = DatasetRecord("scans", "abc123", "training", "code", 1234)
    card = _card(threshold=None, training_data=(data,), evaluation_data=(data,))
    said = page_wording(card, _resolved(model), owner="Ana", built_at="today", snapshot_hash="f00d")
    assert _text(said.model_details) == (
        "This card describes version 3 of the model screen, currently labelled champion and gold. It was trained "
        "in run bold-run on 1 December 2025 and registered on 2 December 2025. Ana looks after it.")
    assert Part("screen", "strong") in said.model_details
    assert said.model == "screen, version 3 (champion, gold)"
    assert said.threshold is None
    assert [_text(s) for s in said.training_data] == [
        "The model learned from the dataset logged as scans (1,234 rows), fingerprint abc123."]
    assert [_text(s) for s in said.evaluation_data] == ["Dataset scans, 1,234 rows, fingerprint abc123."]
    assert _text(said.provenance) == (
        "Every figure on this page comes from the story's pinned snapshot (snapshot.json, sha256 f00d), read from "
        "MLflow at sqlite:///mlflow.db when it was pinned. The page was built today.")
    assert "tested against the figures pinned in the story's snapshot" in said.claims_lead


def test_slices_their_groups_and_groups_counted_together() -> None:
    rng = np.random.default_rng(0)
    sites = pd.DataFrame({"site": [f"s{i}" for i in range(60)] * 5})
    labels = rng.random(300) < 0.3
    overall, (table,) = disaggregate(labels, rng.random(300), sites, 0.5)
    assert table.merged == 10 and len(table.rows) == 51  # the 50 largest, then one row for the other 10
    slice_ = SliceAnalysis(SliceSpec(column="site", label="Clinic", why="sites differ"), table, ())
    said = page_wording(_card(overall=overall, slices=(slice_,)), _resolved(None), owner="Ana", built_at="now",
                        snapshot_hash=None)
    assert said.evaluation == ("The model was tested on 300 patients it had not seen while learning; "
                               f"{int(labels.sum())} of them have a tumour.")  # one full stop, not two
    assert [_text(s) for s in said.factors] == [f"Clinic: sites differ ({len(table.rows)} groups)"]
    assert said.merged == {"site": "Clinic has 60 groups: the 50 largest are shown one by one, and the other 10 "
                                   "are counted together in the last row."}
    assert "fewer than 10 cases behind it" in said.slices_lead and "no more than 10 in 100" in said.slices_lead
    assert said.slice_captions == {"site": "Clinic: results per group at threshold 0.5"}


def test_each_claim_says_what_it_was_checked_against() -> None:
    from types import SimpleNamespace
    from typing import cast

    from storybook.analyse.claims import ClaimResult

    claim = cast(ClaimResult, SimpleNamespace(spec=SimpleNamespace(id="recall"), source="metric test_recall of run 3f"))
    said = page_wording(_card(), _resolved(None), owner="Ana", built_at="now", snapshot_hash=None, claims=[claim])
    assert said.checked_against == {"recall": "Checked against metric test_recall of run 3f."}


def test_sign_offs_on_the_title_page_and_the_summary() -> None:
    from types import SimpleNamespace

    from storybook.analyse.page_words import signed_off, summary_source
    from storybook.analyse.plain import index_status

    ana = SimpleNamespace(name="Ana", role="clinical lead", date="2026-12-03T10:00:00Z", status="current")
    sam = SimpleNamespace(name="Sam", role="privacy", date="2026-11-01T09:00:00Z", status="stale")
    assert signed_off([ana, sam]) == (("Ana (clinical lead), 2026-12-03", None),
                                      ("Sam (privacy), 2026-11-01",
                                       "(signed an earlier version: the story has changed since)"))
    assert signed_off([]) == ()
    assert summary_source("sqlite:///m.db", None, []) == (
        "Figures read from MLflow at sqlite:///m.db; where each comes from is listed in the full story.")
    assert summary_source("x", "0123456789abcdef", [ana, sam]) == (
        "Figures from the pinned snapshot (sha256 0123456789ab…); where each comes from is listed in the full "
        "story. Signed off by Ana (clinical lead); Sam (privacy), on an earlier version.")
    assert index_status("built", "") == "Up to date"
    assert index_status("built", "Monday") == "Up to date as of Monday (not rebuilt this time)"
    assert index_status("stale", "") == "Showing the last good version; this build failed"
    assert index_status("stale", "Monday") == "Showing the last good version; the build of Monday failed"
    assert index_status("failed", "Monday") == "Not built (build of Monday)"


def test_the_summary_says_who_it_is_for_without_lowering_an_acronym() -> None:
    def said(audience: str) -> str:
        return page_wording(_card(), _resolved(None), owner="Ana", built_at="now", snapshot_hash=None,
                            audience=audience).summary_for
    assert said("Clinic managers") == "One-page summary for clinic managers"
    assert said("NHS trust boards") == "One-page summary for NHS trust boards"
