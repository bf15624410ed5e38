"""The model history from a real sqlite MLflow registry whose aliases moved, recorded and not."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from storybook.analyse.history import analyse_history
from storybook.analyse.plain import format_date
from storybook.promote import alias_events, alias_tag, promote, retire
from storybook.resolve.mlflow_source import MlflowSource
from storybook.resolve.registry_history import resolve_history
from storybook.resolve.tracking import tracking_uri
from storybook.sources.loader import StorySource, load_project

NAME = "triage"
STORY_YAML = """\
title: Triage model
summary: Sorts cases.
audience: Managers
owner: Analytics
model:
  name: triage
  alias: champion
intended_use:
  primary: Sort cases.
  users: [Nurses]
  out_of_scope: [Diagnosis]
metrics:
  - {key: test_recall, label: Cases found, kind: recall}
  - {key: test_brier, label: Calibration error, kind: brier, higher_is_better: false}
evaluation:
  artifact: evaluation/scored.csv
  threshold_param: threshold
  unit: patients
  positive_means: are ill
  negative_means: are well
history:
  compare_with: challenger
  scored_sets: true
"""


# The moves are recorded after the versions are registered (now): a day, then weeks, later.
BASE = datetime.now(UTC).replace(hour=9, minute=30, second=0, microsecond=0) + timedelta(days=1)


def _at(day: int) -> datetime:
    return BASE + timedelta(days=day)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _scored(found: int) -> pd.DataFrame:
    """100 ill patients of whom ``found`` score 0.9 (the rest 0.3), and 100 well ones scoring 0.1."""
    labels = np.array([1] * 100 + [0] * 100)
    scores = np.array([0.9] * found + [0.3] * (100 - found) + [0.1] * 100)
    return pd.DataFrame({"label": labels, "score": scores})


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("history")
    (root / "storybook.yaml").write_text("title: t\ntracking_uri: sqlite:///store/mlflow.db\n")
    (root / "stories" / "triage").mkdir(parents=True)
    (root / "stories" / "triage" / "story.yaml").write_text(STORY_YAML)
    (root / "stories" / "triage" / "ethical-considerations.md").write_text("People decide.\n")
    (root / "stories" / "triage" / "caveats-and-recommendations.md").write_text("Check it.\n")
    (root / "store").mkdir()
    uri = f"sqlite:///{root / 'store' / 'mlflow.db'}"
    client = MlflowClient(uri, uri)
    experiment = client.create_experiment("triage", artifact_location=(root / "store" / "artifacts").as_uri())
    client.create_registered_model(NAME)
    for number, (found, features) in enumerate([(50, 10), (95, 30), (93, 30)], start=1):
        run = client.create_run(experiment, run_name=f"v{number}")
        run_id = run.info.run_id
        scored = _scored(found)
        client.log_metric(run_id, "test_recall", found / 100)
        client.log_metric(run_id, "test_brier", float(np.mean((scored["score"] - scored["label"]) ** 2)))
        client.log_param(run_id, "threshold", 0.5)
        client.log_param(run_id, "features", features)
        client.log_text(run_id, scored.to_csv(index=False), "evaluation/scored.csv")
        client.set_terminated(run_id)
        client.create_model_version(NAME, source=f"runs:/{run_id}/model", run_id=run_id)
    promote(client, NAME, "champion", 1, at=_at(0))
    promote(client, NAME, "champion", 2, at=_at(27))
    promote(client, NAME, "canary", 3, at=_at(41))
    retire(client, NAME, "canary", at=_at(46))
    promote(client, NAME, "challenger", 3, at=_at(55))
    client.set_registered_model_alias(NAME, "shadow", "1")  # moved by hand: no record
    client.set_registered_model_tag(NAME, "storybook.alias.champion.notatime", "9")  # not a record
    client.set_registered_model_tag(NAME, "owner", "analytics")
    return root


class _Counting:
    """Passes every call to the real MlflowClient and counts them by name."""

    def __init__(self, client: MlflowClient) -> None:
        self.client = client
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.client, name)
        if not callable(attribute):
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return attribute(*args, **kwargs)

        return counted


def _story(root: Path) -> StorySource:
    story = load_project(root).stories[0]
    assert isinstance(story, StorySource)
    return story


def test_promote_records_each_move_as_a_tag(registry: Path) -> None:
    uri = f"sqlite:///{registry / 'store' / 'mlflow.db'}"
    client = MlflowClient(uri, uri)
    model = client.get_registered_model(NAME)
    assert model.tags[alias_tag("champion", _ms(_at(0)))] == "1"
    assert model.tags[alias_tag("canary", _ms(_at(46)))] == "removed"
    assert model.aliases == {"champion": 2, "challenger": 3, "shadow": 1}
    events = alias_events(model.tags)
    assert [(e.alias, e.version, e.at_ms) for e in events] == [
        ("champion", 1, _ms(_at(0))), ("champion", 2, _ms(_at(27))), ("canary", 3, _ms(_at(41))),
        ("canary", None, _ms(_at(46))), ("challenger", 3, _ms(_at(55)))]
    with pytest.raises(ValueError, match="time zone"):
        promote(client, NAME, "champion", 2, at=datetime(2026, 1, 1))


def test_history_is_resolved_in_a_fixed_number_of_requests(registry: Path) -> None:
    story = _story(registry)
    source = MlflowSource(tracking_uri("sqlite:///store/mlflow.db", registry), registry / ".cache")
    resolved = source.resolve(story)
    assert resolved.history is not None
    # A fresh source that has read nothing yet, its client counting every call.
    fresh = MlflowSource(tracking_uri("sqlite:///store/mlflow.db", registry), registry / ".cache")
    counting = _Counting(fresh.client)
    fresh._client = counting  # type: ignore[assignment]
    history = resolve_history(fresh, story, resolved.run, resolved.versions)
    assert history is not None
    # One search for all three versions' runs, never one read per version.
    assert counting.calls.get("search_runs") == 1
    assert "get_run" not in counting.calls and "get_model_version" not in counting.calls
    assert counting.calls.get("get_registered_model") == 1
    assert [v.model.version for v in history.versions] == [1, 2, 3]
    assert [v.run_name for v in history.versions] == ["v1", "v2", "v3"]
    assert [v.metrics["test_recall"] for v in history.versions] == [0.5, 0.95, 0.93]
    assert [v.params["features"] for v in history.versions] == ["10", "30", "30"]
    assert [v.threshold for v in history.versions] == [0.5, 0.5, 0.5]
    assert history.aliases == {"champion": 2, "challenger": 3, "shadow": 1}
    assert len(history.events) == 5  # the malformed tag and the owner tag are not records
    assert history.scored is not None
    assert history.scored.groupby("version")["positive"].sum().to_dict() == {1: 100, 2: 100, 3: 100}


def test_timeline_spans_changes_and_what_is_not_known(registry: Path) -> None:
    story = _story(registry)
    source = MlflowSource(tracking_uri("sqlite:///store/mlflow.db", registry), registry / ".cache")
    resolved = source.resolve(story)
    assert resolved.history is not None and resolved.model is not None
    report = analyse_history(resolved.history, story.config, resolved.model.version)
    spans = {(s.alias, s.version): s for row in report.rows for s in row.spans}
    assert spans[("champion", 1)].start_ms == _ms(_at(0)) and spans[("champion", 1)].end_ms == _ms(_at(27))
    assert not spans[("champion", 1)].current
    assert spans[("champion", 2)].start_ms == _ms(_at(27)) and spans[("champion", 2)].current
    assert spans[("canary", 3)].end_ms == _ms(_at(46)) and not spans[("canary", 3)].current
    assert spans[("shadow", 1)].start_ms is None and spans[("shadow", 1)].current
    assert spans[("champion", 1)].describe() == f"champion from {format_date(_ms(_at(0)))} to " \
        f"{format_date(_ms(_at(27)))}"
    assert report.records == 5
    assert "not when an alias moved" in report.known and "5 records" in report.known
    assert report.not_known == ("No record says when shadow moved to version 1; it carries it now.",)
    # Version 2 finds 95 of 100 (89.0 to 97.8 by Wilson) against 50 of 100 (40.4 to 59.6): clearly better.
    row2 = report.rows[1]
    assert row2.is_story_model and row2.previous == 1
    assert row2.param_changes == ("features: 10 → 30",)
    recall = row2.figures[0]
    assert recall.verdict == "better" and recall.estimate is not None
    assert recall.estimate.low == pytest.approx(0.8883, abs=1e-4)
    assert "clearly better" in recall.sentence and "version 1" in recall.sentence
    brier = row2.figures[1]
    assert brier.verdict is None and "no range" in brier.sentence  # a Brier score has no interval here
    # Version 3 finds 93 against 95: within the ranges, so no clear change is called.
    assert [f.verdict for f in report.rows[2].figures] == ["no clear difference", None]
    side = report.side_by_side
    assert side is not None and (side.left.version, side.right.version) == (2, 3)
    assert side.rows[0][3] == "no clear difference"
    # The row's sentence is about the story's version against the other one, naming both and which is in use
    # ("champion", the default in-use alias, is on version 2): never "Compared with version 2" in a story about
    # version 2.
    sentence = side.rows[0][4]
    assert sentence.startswith("Compared with version 3 (challenger; proposed to replace the one in use), the "
                               "figure 'Cases found' of version 2 (champion; this story's version, in use) is ")
    assert "Compared with version 2" not in sentence
    # With another in-use alias ("shadow" is on version 1, neither of them), the roles say only which is which.
    other = analyse_history(resolved.history, story.config, 2, in_use="shadow").side_by_side
    assert other is not None
    assert other.rows[0][4].startswith("Compared with version 3 (challenger; the version compared with), the "
                                       "figure 'Cases found' of version 2 (champion; this story's version) is ")
    texts = [e.text for e in report.events]
    assert texts.index("Version 3 registered (run v3)") < texts.index("champion moved to version 1")
    assert texts[-1] == "challenger moved to version 3"
    assert report.events[-1].when == f"{format_date(_ms(_at(55)))}, 09:30 UTC"


def test_a_record_dated_before_the_version_existed_is_called_out(registry: Path) -> None:
    import dataclasses

    story = _story(registry)
    source = MlflowSource(tracking_uri("sqlite:///store/mlflow.db", registry), registry / ".cache")
    history = source.resolve(story).history
    assert history is not None
    early = dataclasses.replace(history.events[0], at_ms=history.versions[0].model.created_ms - 86_400_000)
    report = analyse_history(dataclasses.replace(history, events=(early, *history.events[1:])), story.config, 2)
    assert any("before that version was registered" in p and "cannot be right" in p for p in report.not_known)


def test_storybook_promote_moves_an_alias_and_records_it(registry: Path, tmp_path: Path) -> None:
    import shutil

    from typer.testing import CliRunner

    from storybook.cli import app

    project = tmp_path / "project"
    shutil.copytree(registry, project, ignore=shutil.ignore_patterns(".cache"))
    runner = CliRunner()
    result = runner.invoke(app, ["promote", NAME, "champion", "3", "--project", str(project)])
    assert result.exit_code == 0, result.output
    assert "champion of triage now points at version 3" in result.output
    result = runner.invoke(app, ["promote", NAME, "shadow", "--remove", "--project", str(project)])
    assert result.exit_code == 0, result.output
    uri = f"sqlite:///{project / 'store' / 'mlflow.db'}"
    model = MlflowClient(uri, uri).get_registered_model(NAME)
    assert model.aliases == {"champion": 3, "challenger": 3}
    events = alias_events(model.tags)
    assert len(events) == 7
    assert ("champion", 3) in [(e.alias, e.version) for e in events]
    assert ("shadow", None) in [(e.alias, e.version) for e in events]
    result = runner.invoke(app, ["promote", NAME, "champion", "9", "--project", str(project)])
    assert result.exit_code == 1
    assert "triage version 9 is not in the registry" in result.output and "Traceback" not in result.output
    assert runner.invoke(app, ["promote", NAME, "champion", "--project", str(project)]).exit_code == 2


def test_a_misspelt_label_column_is_named_with_the_columns_found_on_its_line(registry: Path,
                                                                             tmp_path: Path) -> None:
    from storybook.errors import SourceError

    root = tmp_path / "project"
    (root / "stories" / "triage").mkdir(parents=True)
    (root / "storybook.yaml").write_text(f"title: t\ntracking_uri: sqlite:///{registry / 'store' / 'mlflow.db'}\n")
    for name in ("ethical-considerations.md", "caveats-and-recommendations.md"):
        (root / "stories" / "triage" / name).write_text("People decide.\n")
    story_yaml = STORY_YAML.replace("  threshold_param: threshold\n",
                                    "  threshold_param: threshold\n  label_column: lable\n")
    (root / "stories" / "triage" / "story.yaml").write_text(story_yaml)
    line = story_yaml.splitlines().index("  label_column: lable") + 1
    source = MlflowSource(tracking_uri(f"sqlite:///{registry / 'store' / 'mlflow.db'}", root), root / ".cache")
    with pytest.raises(SourceError) as caught:
        source.resolve(_story(root))
    error = caught.value
    assert error.location is not None and error.location.line == line
    assert str(error.location.path).endswith("stories/triage/story.yaml")
    assert "label_column 'lable' is not a column of the evaluation set 'evaluation/scored.csv'" in error.message
    assert "(story 'triage')" in error.message and "the columns found are 'label', 'score'" in error.message
    assert error.hint is not None and error.hint.startswith("did you mean label_column: label?")
    assert "same shape" not in str(error)


def test_by_default_only_the_versions_the_story_names_have_their_scored_sets_read(registry: Path,
                                                                                  tmp_path: Path) -> None:
    """Version 1 is shown (an old champion) but the story names only champion (2) and challenger (3): without
    ``scored_sets: true`` its scored set is never read, and with ``false`` none is."""
    for setting, read in (("", {2, 3}), ("  scored_sets: false\n", set())):
        root = tmp_path / f"project{len(read)}"
        (root / "stories" / "triage").mkdir(parents=True)
        (root / "storybook.yaml").write_text(f"title: t\ntracking_uri: sqlite:///{registry / 'store' / 'mlflow.db'}\n")
        for name in ("ethical-considerations.md", "caveats-and-recommendations.md"):
            (root / "stories" / "triage" / name).write_text("People decide.\n")
        (root / "stories" / "triage" / "story.yaml").write_text(
            STORY_YAML.replace("  scored_sets: true\n", setting))
        source = MlflowSource(tracking_uri(f"sqlite:///{registry / 'store' / 'mlflow.db'}", root), root / ".cache")
        resolved = source.resolve(_story(root))
        assert resolved.history is not None
        assert [v.model.version for v in resolved.history.versions] == [1, 2, 3]  # all shown
        scored = resolved.history.scored
        assert (set(scored["version"]) if scored is not None else set()) == read
        run_of = {v.model.version: v.model.run_id for v in resolved.history.versions}
        tables_read = " ".join(str(path) for path in source._tables)
        assert run_of[1] not in tables_read  # version 1's scored set was never opened
        assert run_of[2] in tables_read  # the story's own set, for its model card
        assert (run_of[3] in tables_read) == bool(read)


def test_each_versions_scored_set_is_checked_like_the_storys_own(registry: Path, tmp_path: Path) -> None:
    """The history's ranges come from every version's set, so each one is checked by storybook.resolve.scored
    (the story's own first, once, where it is resolved): a positive_value none of them holds is refused on its
    line (not told as '0 of them')."""
    from storybook.errors import SourceError

    root = tmp_path / "project"
    (root / "stories" / "triage").mkdir(parents=True)
    (root / "storybook.yaml").write_text(f"title: t\ntracking_uri: sqlite:///{registry / 'store' / 'mlflow.db'}\n")
    for name in ("ethical-considerations.md", "caveats-and-recommendations.md"):
        (root / "stories" / "triage" / name).write_text("People decide.\n")
    story_yaml = STORY_YAML.replace("  threshold_param: threshold\n",
                                    "  threshold_param: threshold\n  positive_value: 'yes'\n")
    (root / "stories" / "triage" / "story.yaml").write_text(story_yaml)
    line = story_yaml.splitlines().index("  positive_value: 'yes'") + 1
    source = MlflowSource(tracking_uri(f"sqlite:///{registry / 'store' / 'mlflow.db'}", root), root / ".cache")
    with pytest.raises(SourceError) as caught:
        source.resolve(_story(root))
    error = caught.value
    assert error.location is not None and error.location.line == line
    assert re.search(r"positive_value 'yes' is not one of the labels in column 'label' of the evaluation set "
                     r"'evaluation/scored.csv' (of version \d )?\('0', '1'\)", error.message), error.message
