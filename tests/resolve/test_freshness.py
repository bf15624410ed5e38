"""The freshness probe (storybook.resolve.freshness) on a real sqlite store: a build with nothing changed takes
the live story back without MLflow, and every change to what the story was read from is resolved again."""

from __future__ import annotations

import re
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from storybook.build import BuildReport, build
from storybook.resolve import freshness
from storybook.resolve.freshness import (
    RESOLVED_DIR,
    WORDS_ONLY,
    Freshness,
    resolved_fingerprint,
    sqlite_file,
    store_state,
)
from storybook.resolve.resolved import Figure, Provenance, ResolvedRun, ResolvedStory
from storybook.sources.loader import StorySource, load_story
from storybook.sources.schema import ProjectConfig, StoryConfig
from tests import stores
from tests.fresh_process import build_in_fresh_process

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

STORY = "scans"
MODEL = "scan-model"
_BUILT_AT = re.compile(r"\d{1,2} [A-Z][a-z]+ \d{4}, \d{2}:\d{2} UTC")


def _share(page: str) -> str:
    """The share right the story's Markdown tells (``{{ metric("share_right") | percent }}``, linked to its source)."""
    found = re.search(r"Share right: <a [^>]*>([^<]*)</a>", page)
    assert found, "the page does not tell share_right"
    return found.group(1)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A one-story project on a real sqlite store: two runs with a scored set each, registered as versions 1
    (alias champion, what the story tells) and 2 (alias challenger) of one model."""
    root = tmp_path_factory.mktemp("freshness") / "project"
    root.mkdir()
    uri = stores.tracking_uri(root)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"label": rng.integers(0, 2, 200), "score": rng.random(200).round(4)})
    first = stores.log_scored_run(uri, frame, metrics={"share_right": 0.5})
    second = stores.log_scored_run(uri, frame, metrics={"share_right": 0.8})
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri, uri)
    client.create_registered_model(MODEL)
    for run_id, alias in ((first, "champion"), (second, "challenger")):
        version = client.create_model_version(MODEL, f"runs:/{run_id}/model", run_id=run_id)
        client.set_registered_model_alias(MODEL, alias, str(version.version))
    client._tracking_client.store.engine.dispose()
    story = stores.story(MODEL, "champion", [{"key": "share_right", "label": "share of calls right"}],
                         {"artifact": "evaluation/scored.csv", "label_column": "label", "score_column": "score",
                          "threshold": 0.5, "unit": "patients", "positive_means": "have a malignant tumour",
                          "negative_means": "have a harmless tumour"})
    stores.write_project(root, {STORY: story})
    project_file = root / "storybook.yaml"  # the store beside the project, so that each copy reads its own
    project_file.write_text(project_file.read_text().replace(uri, "sqlite:///mlflow.db"))
    (root / "stories" / STORY / "caveats-and-recommendations.md").write_text(
        'Share right: {{ metric("share_right") | percent }}.\n')
    yield root


@pytest.fixture
def project(base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the project. Its files are new, so the wait for the file system's clock is cut to 10 ms
    (this test is the only writer); the wait itself is checked on its own below."""
    monkeypatch.setattr(freshness, "SETTLE_SECONDS", 0.01)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")  # as a new process built by the tests sees it
    time.sleep(0.02)
    return stores.copy_project(base, tmp_path / "project")


def _build(root: Path, **options: bool) -> tuple[BuildReport, str]:
    report = build(root, pdf=False, jobs=1, **options)
    assert report.ok, report.failed
    return report, (root / "site" / f"{STORY}.html").read_text()


def _client(root: Path) -> MlflowClient:
    from mlflow.tracking import MlflowClient

    uri = stores.tracking_uri(root)
    return MlflowClient(uri, uri)


def _run_of(root: Path, alias: str) -> str:
    client = _client(root)
    run_id = client.get_model_version_by_alias(MODEL, alias).run_id
    assert run_id is not None
    return run_id


def _dispose(root: Path) -> None:
    """Close MLflow's connections to the store, as a training script that ends does."""
    client = _client(root)
    client._tracking_client.store.engine.dispose()


def test_a_no_change_build_in_a_new_process_imports_no_mlflow_and_gives_the_same_page(project: Path) -> None:
    report, page = _build(project)
    assert report.fresh == [] and report.rendered == [STORY]
    assert (project / RESOLVED_DIR / f"{STORY}.json.z").is_file()
    heavy = build_in_fresh_process(project, "--no-pdf", heavy=("mlflow", "pandas", "scipy", "pyarrow", "sklearn"))
    assert heavy == []  # nothing is read, analysed or drawn: no table or model code is even imported
    assert (project / "site" / f"{STORY}.html").read_text() == page
    again, _ = _build(project)
    assert again.fresh == [STORY] and again.rendered == []


def test_a_markdown_edit_renders_the_page_from_the_kept_story_as_mlflow_would(project: Path) -> None:
    _build(project)
    section = project / "stories" / STORY / "caveats-and-recommendations.md"
    section.write_text(section.read_text() + "\nA sentence added by the author.\n")
    report, page = _build(project)
    assert report.fresh == [STORY] and report.rendered == [STORY]
    assert "A sentence added by the author." in page
    live, from_mlflow = _build(project, cache=False)
    assert live.fresh == []
    assert _BUILT_AT.sub("(time)", page) == _BUILT_AT.sub("(time)", from_mlflow)


def test_a_wording_change_in_story_yaml_renders_the_page_from_the_kept_story(project: Path) -> None:
    _build(project)
    story = project / "stories" / STORY / "story.yaml"
    text = story.read_text()
    assert "What scan-model does" in text
    story.write_text(text.replace("What scan-model does", "What the scan model does"))
    report, page = _build(project)
    assert report.fresh == [STORY] and report.rendered == [STORY]
    assert "What the scan model does" in page and _share(page) == "50%"
    # The kept story now answers to story.yaml's new bytes: the next build takes the page from the cache
    # without parsing the story, and a wording changed back finds the page made from it before.
    again, same = _build(project)
    assert again.fresh == [STORY] and again.rendered == [] and same == page
    story.write_text(text)
    back, first = _build(project)
    assert back.fresh == [STORY] and back.rendered == [] and "What scan-model does" in first


def _log_metric(root: Path) -> str:
    client = _client(root)
    client.log_metric(_run_of(root, "champion"), "share_right", 0.61)
    return "61%"


def _move_alias(root: Path) -> str:
    client = _client(root)
    client.set_registered_model_alias(MODEL, "champion", "2")
    return "80%"


def _rewrite_scored_set(root: Path) -> str:
    """The run's scored set logged again: the same bytes in number (scores reversed), another content."""
    client = _client(root)
    run_id = _run_of(root, "champion")
    path = Path(client.download_artifacts(run_id, "evaluation/scored.csv", str(root)))
    frame = pd.read_csv(path)
    frame["label"] = 1 - frame["label"]
    target = root / "scored.csv"
    frame.to_csv(target, index=False)
    assert target.stat().st_size == path.stat().st_size
    client.log_artifact(run_id, str(target), "evaluation")
    return "50%"


def _wal_mode(root: Path) -> str:
    with sqlite3.connect(root / "mlflow.db") as connection:
        assert connection.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    connection.close()
    assert store_state(root / "mlflow.db") is None
    return _log_metric(root)


def _journal_beside(root: Path) -> str:
    text = _log_metric(root)
    _dispose(root)
    (root / "mlflow.db-journal").write_bytes(b"")  # an empty journal: SQLite ignores it, the probe does not
    return text


def _story_yaml(root: Path) -> str:
    """A story.yaml change to what the story asks MLflow for (the logged threshold it reads the set with)."""
    story = root / "stories" / STORY / "story.yaml"
    text = story.read_text()
    assert "threshold: 0.5\n" in text
    story.write_text(text.replace("threshold: 0.5\n", "threshold: 0.7\n"))
    return "50%"


@pytest.mark.parametrize("change", [_log_metric, _move_alias, _rewrite_scored_set, _wal_mode, _journal_beside,
                                    _story_yaml], ids=lambda change: change.__name__.strip("_"))
def test_a_change_to_what_the_story_was_read_from_is_resolved_again(project: Path,
                                                                    change: Callable[[Path], str]) -> None:
    _build(project)
    kept, before = _build(project)
    assert kept.fresh == [STORY]
    assert _share(before) == "50%"
    shown = change(project)
    _dispose(project)
    report, after = _build(project)
    assert report.fresh == [] and report.rendered == [STORY]
    assert after != before
    assert _share(after) == shown


def test_a_store_the_probe_cannot_vouch_for_is_read_every_time(project: Path) -> None:
    _wal_mode(project)
    _dispose(project)
    for _ in range(2):
        report, page = _build(project)
        assert report.fresh == [] and _share(page) == "61%"
    assert not (project / RESOLVED_DIR / f"{STORY}.json.z").exists()


@pytest.mark.parametrize("broken", [b"not zlib at all", zlib.compress(b'{"format": 1, "key": 3}')],
                         ids=["not-zlib", "no-store-state"])
def test_a_corrupt_entry_is_ignored_and_written_again(project: Path, broken: bytes) -> None:
    _, page = _build(project)
    entry = project / RESOLVED_DIR / f"{STORY}.json.z"
    entry.write_bytes(broken)
    report, again = _build(project)
    assert report.fresh == [] and again == page
    assert entry.read_bytes() != broken
    third, _ = _build(project)
    assert third.fresh == [STORY]


def test_an_entry_whose_story_does_not_decode_is_resolved_again(project: Path) -> None:
    import json

    _build(project)
    entry = project / RESOLVED_DIR / f"{STORY}.json.z"
    document = json.loads(zlib.decompress(entry.read_bytes()))
    document["resolved"]["run"]["metrics"] = "not metrics"
    entry.write_bytes(zlib.compress(json.dumps(document).encode()))
    section = project / "stories" / STORY / "caveats-and-recommendations.md"
    section.write_text(section.read_text() + "\nEdited.\n")  # the page must be rendered, so the story decoded
    report, page = _build(project)
    assert report.fresh == [] and "Edited." in page and _share(page) == "50%"



def test_an_entry_that_decodes_to_other_figures_than_were_resolved_is_resolved_again(project: Path) -> None:
    """A kept story is used only when it decodes to the fingerprint it was kept with: an entry whose figures or
    table differ from what MLflow gave (here: edited by hand; in life, a table that does not read back the same)
    is read from MLflow again, never told."""
    import json

    _build(project)
    entry = project / RESOLVED_DIR / f"{STORY}.json.z"
    kept = json.loads(zlib.decompress(entry.read_bytes()))
    section = project / "stories" / STORY / "caveats-and-recommendations.md"
    for change in ("metric", "table"):
        document = json.loads(json.dumps(kept))
        if change == "metric":
            document["resolved"]["run"]["metrics"]["share_right"]["value"] = 0.9
        else:
            table = document["resolved"]["evaluation"]
            table["csv"] = table["csv"].replace("\n1,", "\n0,", 1)  # one case's label changed
            assert table["csv"] != kept["resolved"]["evaluation"]["csv"]
        entry.write_bytes(zlib.compress(json.dumps(document).encode()))
        section.write_text(section.read_text() + f"\nEdited ({change}).\n")  # the story must be decoded
        report, page = _build(project)
        assert report.fresh == [] and f"Edited ({change})." in page and _share(page) == "50%", change
        assert json.loads(zlib.decompress(entry.read_bytes()))["resolved"] == kept["resolved"], change


# -- the probe on its own ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("uri", ["http://127.0.0.1:5000", "https://user:secret@mlflow.example.org",
                                 "databricks", "file:///tmp/mlruns", "sqlite://",
                                 "sqlite:////tmp/mlflow.db?mode=ro", "sqlite:////tmp/ml%20flow.db"])
def test_no_probe_for_a_store_that_is_not_a_local_sqlite_file(tmp_path: Path, uri: str) -> None:
    fresh = Freshness(tmp_path, ProjectConfig(tracking_uri=uri))
    fresh.start()
    (tmp_path / "story").mkdir()
    (tmp_path / "story" / "story.yaml").write_text("title: x\n")
    assert fresh.story_key(tmp_path / "story") is None
    assert fresh.probe("story", "anything") is None


def test_sqlite_file_reads_only_absolute_local_paths() -> None:
    assert sqlite_file("sqlite:////data/mlflow.db") == Path("/data/mlflow.db")
    assert sqlite_file("sqlite:///relative.db") is None
    assert sqlite_file("postgresql://db/mlflow") is None


def _store(tmp_path: Path) -> Path:
    database = tmp_path / "mlflow.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE runs (id TEXT)")
    connection.close()
    return database


def test_the_change_counter_moves_with_every_committed_write(tmp_path: Path) -> None:
    database = _store(tmp_path)
    first = store_state(database)
    assert first is not None
    with sqlite3.connect(database) as connection:
        connection.execute("INSERT INTO runs VALUES ('a')")
    connection.close()
    second = store_state(database)
    assert second is not None and second[0] == first[0] + 1
    (tmp_path / "mlflow.db-wal").write_bytes(b"")
    assert store_state(database) is None


def _resolved() -> ResolvedStory:
    provenance = Provenance("sqlite:///x", "run", "metric", "share_right")
    run = ResolvedRun("run", "run", "stories", 0, None, {"share_right": Figure("share_right", 0.5, provenance)},
                      {}, {})
    return ResolvedStory(source="sqlite:///x", run=run,
                         evaluation=pd.DataFrame({"label": [0, 1], "score": [0.25, 0.75], "site": ["a", "b"]}))


def _story_source(root: Path) -> StorySource:
    """A parsed story (its sections written) in a project at ``root``."""
    story = stores.story(MODEL, "champion", [{"key": "share_right", "label": "share of calls right"}],
                         {"artifact": "evaluation/scored.csv", "label_column": "label", "score_column": "score",
                          "threshold": 0.5, "unit": "patients", "positive_means": "have a malignant tumour",
                          "negative_means": "have a harmless tumour"})
    stores.write_project(root, {STORY: story})
    return load_story(root, root / "stories" / STORY)


def test_a_file_changed_just_before_the_build_is_not_kept(tmp_path: Path) -> None:
    database = _store(tmp_path)
    story = _story_source(tmp_path)
    artifact = tmp_path / "scored.csv"
    artifact.write_text("label,score\n0,0.25\n")
    fresh = Freshness(tmp_path, ProjectConfig(tracking_uri=f"sqlite:///{database}"))
    fresh.start()
    key = fresh.story_key(story.directory)
    # Written within SETTLE_SECONDS of the build's start: another write in the same tick of the file system's
    # clock would leave the same times behind, so the probe could not tell it.
    assert not fresh.keep(story, key, _resolved(), "fingerprint", [artifact], tmp_path / "downloads")
    assert fresh.probe(STORY, key) is None


def test_kept_only_when_the_store_did_not_change_while_it_was_read(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(freshness, "SETTLE_SECONDS", 0.0)
    database = _store(tmp_path)
    story = _story_source(tmp_path)
    config = ProjectConfig(tracking_uri=f"sqlite:///{database}")
    fresh = Freshness(tmp_path, config)
    fresh.start()
    key = fresh.story_key(story.directory)
    with sqlite3.connect(database) as connection:
        connection.execute("INSERT INTO runs VALUES ('a')")
    connection.close()
    fingerprint = resolved_fingerprint(_resolved())
    assert not fresh.keep(story, key, _resolved(), fingerprint, [], tmp_path / "downloads")
    again = Freshness(tmp_path, config)
    again.start()
    assert again.keep(story, key, _resolved(), fingerprint, [], tmp_path / "downloads")
    hit = again.probe(STORY, key)
    assert hit is not None and hit.fingerprint == fingerprint
    assert again.probe(STORY, again.figures_key(story), by="figures") is not None
    resolved = hit.resolved()
    assert resolved is not None and resolved.evaluation is not None
    pd.testing.assert_frame_equal(resolved.evaluation, _resolved().evaluation)
    assert resolved.run == _resolved().run
    # a table that does not read back as it was (the text "007" comes back as the number 7): kept, so its page
    # is found in the page cache, but never decoded into a story to tell
    odd = _resolved()
    odd.evaluation["site"] = ["007", "010"]
    assert again.keep(story, key, odd, resolved_fingerprint(odd), [], tmp_path / "downloads")
    hit = again.probe(STORY, key)
    assert hit is not None and hit.fingerprint == resolved_fingerprint(odd) and hit.resolved() is None
    # story.yaml saved after it was parsed: not kept under its new bytes
    story.story_file.write_text(story.story_file.read_text() + "\n")
    assert not again.keep(story, key, _resolved(), fingerprint, [], tmp_path / "downloads")
    assert again.probe(STORY, fresh.story_key(story.directory)) is None


def test_resolving_reads_none_of_the_keys_that_only_hold_words() -> None:
    """The figures key leaves WORDS_ONLY out: a story.yaml change to them is rendered from the kept story, which
    is right only while the code that resolves a story never reads them."""
    import storybook.resolve

    fields = set(StoryConfig.model_fields)
    assert set(WORDS_ONLY) <= fields
    package = Path(storybook.resolve.__file__).parent
    for module in package.glob("*.py"):
        if module.name in ("freshness.py", "snapshot.py"):
            continue  # the probe names them; the snapshot writes whatever it is given
        text = module.read_text()
        for name in WORDS_ONLY:
            assert not re.search(rf"config\.{name}\b|[\"']{name}[\"']", text), f"{module.name} reads {name}"
