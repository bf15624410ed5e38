"""``storybook pin`` writes a snapshot only into the story's own folder: a ``snapshot/`` link (one a pull request
adds) made it write the tables into, and delete every other CSV file from, a folder outside the project."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from storybook.cli import app
from tests.test_carriage_returns import scored_project

runner = CliRunner()


def test_pin_refuses_a_snapshot_folder_that_links_outside_and_touches_nothing_there(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 60)
    scored = pd.DataFrame({"label": labels, "score": (labels * 0.5 + rng.random(60) * 0.5).round(3),
                           "site": np.where(np.arange(60) % 2 == 0, "North", "South")})
    project = scored_project(tmp_path / "project", scored)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "results.csv").write_text("precious,data\n")
    story = project / "stories" / "cr"
    (story / "snapshot").symlink_to(outside, target_is_directory=True)

    result = runner.invoke(app, ["pin", str(project)])
    assert result.exit_code == 1, result.output
    assert "stories/cr/snapshot: snapshot/ is a link" in result.output
    assert sorted(p.name for p in outside.iterdir()) == ["results.csv"]  # nothing written, nothing deleted
    assert (outside / "results.csv").read_text() == "precious,data\n"
    assert not (story / "snapshot.json").exists()

    (story / "snapshot").unlink()  # without the link, the same story pins
    again = runner.invoke(app, ["pin", str(project)])
    assert again.exit_code == 0, again.output
    assert (story / "snapshot" / "evaluation.csv").is_file()
