"""The scan for weak groups end to end: a scored set with a planted weak group logged to a real sqlite MLflow store,
the story built by the CLI (the sentence on the page, with both ranges and the group's size, the method line and
the trust-in-the-data check), then `storybook check` warning on story.yaml's scan: line until the group is
acknowledged."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from storybook.analyse.plain import share_phrase
from storybook.cli import app
from storybook.metrics.binary import proportion
from tests import stores

runner = CliRunner()


def patients(n: int = 1200, seed: int = 11) -> pd.DataFrame:
    """Patients of two clinics (the story's slice); the model misses 55 in 100 of the positives in the oldest
    quarter, 15 in 100 of the others."""
    rng = np.random.default_rng(seed)
    age = rng.integers(20, 90, n)
    label = rng.random(n) < 0.35
    old = age > np.quantile(age, 0.75)
    missed = rng.random(n) < np.where(old, 0.55, 0.15)
    flagged = np.where(label, ~missed, rng.random(n) < 0.1)
    score = np.where(flagged, rng.uniform(0.5, 1.0, n), rng.uniform(0.0, 0.5, n))
    return pd.DataFrame({"patient": [f"p{i}" for i in range(n)], "clinic": rng.choice(["Leeds", "York"], n),
                         "age": age, "region": rng.choice(["North", "South", "East"], n),
                         "label": label.astype(int), "score": score})


def page_text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("scan")
    frame = patients()
    uri = stores.tracking_uri(root)
    run = stores.log_scored_run(uri, frame, metrics={"recall": 0.7}, params={"threshold": "0.5"})
    story = stores.story("followup", "champion", [{"key": "recall", "label": "Found", "kind": "recall"}],
                         {"artifact": "evaluation/scored.csv", "unit": "patients", "id_column": "patient",
                          "positive_means": "need a follow-up", "negative_means": "need nothing more"},
                         slices=[{"column": "clinic", "label": "Clinic"}], trust={"owner": "The clinical lead"},
                         scan={"skip_columns": []})
    story["model"] = {"run_id": run}
    stores.write_project(root, {"followup": story})
    result = runner.invoke(app, ["build", str(root)])
    assert result.exit_code == 0, result.output
    return root, frame


def test_the_found_group_is_told_with_both_ranges_its_size_and_the_method(built: tuple[Path, pd.DataFrame]) -> None:
    root, frame = built
    page = (root / "site" / "followup.html").read_text()
    text = page_text(page)
    edge = float(np.quantile(frame["age"], 0.75))
    old = frame["age"].to_numpy() > edge
    positive = frame["label"].to_numpy() == 1
    missed = positive & (frame["score"].to_numpy() < 0.5)
    group = proportion(int((old & missed).sum()), int((old & positive).sum()))
    rest = proportion(int((~old & missed).sum()), int((~old & positive).sum()))
    assert (f"Among the patients whose age is above {edge:g} ({int(old.sum()):,} of the 1,200), the model misses "
            f"{share_phrase(group)} who need a follow-up, against {share_phrase(rest)} for the others. The story's "
            "authors did not look at this group.") in text
    # Both told by the page's one wording rule: a range, or "about" when the range is under 10 points wide.
    assert share_phrase(group).startswith("between ") and share_phrase(rest) == "about 18 in 100"
    # The method: what was tried (age in quartiles and region by value; never the slice, the id, label or score).
    assert re.search(r"storybook tried 7 groups in the 2 columns the story does not slice by, and \d+ groups in the "
                     r"1 pair of those columns \(both at once\): \d+ comparisons in all, on the share missed among "
                     r"those who need a follow-up and on the share flagged among those who need nothing more\. "
                     r"Numbers \(age\) are cut into 4 groups", text)
    assert "about 1 in 20 at most (Benjamini-Hochberg)" in text
    assert 'data-group="age is above' in page and "clinic is" not in text
    # Trust in the data counts it: the check fails, naming the group the story does not discuss.
    assert "groups nobody asked about (the scan for weak groups)" in text
    assert f"is not discussed by the story: age is above {edge:g}" in text


def test_check_warns_on_the_scan_line_until_the_group_is_acknowledged(built: tuple[Path, pd.DataFrame]) -> None:
    root, frame = built
    edge = float(np.quantile(frame["age"], 0.75))
    story_file = root / "stories" / "followup" / "story.yaml"
    result = runner.invoke(app, ["check", str(root), "--online", "--format", "json"])
    warnings = [f for f in _findings(result.output) if f["code"] == "weak-groups"]
    scan_line = story_file.read_text().splitlines().index("scan:") + 1
    assert [(w["severity"], w["line"]) for w in warnings] == [("warning", scan_line)]
    assert f"'age is above {edge:g}'" in warnings[0]["message"] and "scan.acknowledged" in warnings[0]["message"]

    config = yaml.safe_load(story_file.read_text())
    config["scan"]["acknowledged"] = [{"group": f"Age  is above {edge:g}",  # case and spacing do not matter
                                       "reason": "Older patients are seen by a specialist whatever the model says."},
                                      {"group": "region is North", "reason": "A group the scan does not find."}]
    story_file.write_text(yaml.safe_dump(config, sort_keys=False))
    result = runner.invoke(app, ["check", str(root), "--online", "--format", "json"])
    warnings = [f for f in _findings(result.output) if f["code"] == "weak-groups"]
    # Only the acknowledgement of a group the scan does not find warns, on its own line.
    stale = story_file.read_text().splitlines().index("  - group: region is North") + 1
    assert [(w["line"], "no longer finds" in str(w["message"])) for w in warnings] == [(stale, True)]


def _findings(output: str) -> list[dict[str, object]]:
    import json

    data = json.loads(output[output.index("{"):])
    found = data["findings"] if isinstance(data, dict) else data
    assert isinstance(found, list)
    return found


def test_the_example_student_story_plants_a_group_the_scan_finds() -> None:
    """The bundled example's simulated students (storybook example): the students who arrived this year are
    served worse, and the scan finds them among the story's columns, as its story.yaml acknowledges."""
    from sklearn.model_selection import train_test_split

    from storybook import example_students as students
    from storybook.analyse.weak_groups import Figure, scan

    data = students.student_data()
    train, test = train_test_split(data, test_size=0.3, stratify=data["label"], random_state=students.SEED)
    model = students._pipeline(1.0).fit(train[students.FEATURES], train["label"])
    wrong = (model.predict(test[students.FEATURES]) != test["label"].to_numpy()).astype(int)
    result = scan(test[["arrival", *students.NUMERIC]], wrong, 2,
                  (Figure("wrong_calls", "share", among=(0, 1), event=(1,)),))
    assert [f.name for f in result.found] == ["arrival is this year"]
    assert 80 <= result.found[0].cases <= 120  # about 1 in 5 of the 450 test students
    config = yaml.safe_load((Path(__file__).parents[1] / "stories" / "student-support" / "story.yaml").read_text())
    assert [a["group"] for a in config["scan"]["acknowledged"]] == ["arrival is this year"]
