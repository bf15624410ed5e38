"""The pull-request workflow (docs/ci/storybook.yml, written by ``storybook init``): valid YAML with the steps it
promises, the same text as the package's copy, and a comment step that finds its ONE comment again by the hidden
marker the review body carries (run in node with a stand-in for GitHub's API)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from storybook.review.ci_workflow import WORKFLOW
from storybook.review.comment import REVIEW_MARKER

REPO = Path(__file__).resolve().parents[2]
DOCS_COPY = REPO / "docs" / "ci" / "storybook.yml"


def _workflow() -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load(DOCS_COPY.read_text(encoding="utf-8"))
    return data


def _steps() -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = _workflow()["jobs"]["storybook"]["steps"]
    return steps


def _step(word: str) -> dict[str, Any]:
    found = [step for step in _steps()
             if str(step.get("run", "")).startswith(word) or str(step.get("uses", "")).startswith(word)]
    assert len(found) == 1, (word, found)
    return found[0]


def test_the_docs_copy_is_the_workflow_init_writes() -> None:
    assert DOCS_COPY.read_text(encoding="utf-8") == WORKFLOW, (
        "docs/ci/storybook.yml and storybook/review/ci_workflow.py differ: change both the same way")


def test_the_workflow_has_the_steps_it_promises() -> None:
    workflow = _workflow()
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as true
    assert "pull_request" in triggers
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert _step("actions/checkout")["with"]["fetch-depth"] == 0  # review compares with the base branch
    check = _step("storybook check")
    assert "--format github" in check["run"] and check["continue-on-error"] is True
    build = _step("storybook build")
    assert build["run"] == "storybook build --offline"  # the pinned numbers under review; no MLflow secrets needed
    assert build["continue-on-error"] is True
    assert "${{ secrets." not in DOCS_COPY.read_text(encoding="utf-8")
    upload = _step("actions/upload-artifact")
    assert upload["with"]["path"] == "site/" and upload["if"].startswith("always()")
    review = _step("storybook review")
    assert '--base "origin/${{ github.base_ref }}"' in review["run"] and "pull_request" in review["if"]
    comment = _step("actions/github-script")
    script = comment["with"]["script"]
    assert REVIEW_MARKER in script and "updateComment" in script and "createComment" in script
    assert "steps.review.outcome == 'success'" in comment["if"]
    # Failing checks or build still get their comment, then fail the job at the end.
    last = _steps()[-1]
    assert last["if"] == "steps.check.outcome == 'failure' || steps.build.outcome == 'failure'"
    assert "exit 1" in last["run"]
    names = [str(step.get("run", "")) + str(step.get("uses", "")) for step in _steps()]
    assert names.index(check["run"]) < names.index(build["run"]) < names.index(review["run"])


HARNESS = """
const fs = require("fs");
const state = JSON.parse(fs.readFileSync("state.json", "utf8"));
const calls = [];
const github = {
  paginate: async (method, args) => { calls.push(["list", args]); return state.comments; },
  rest: { issues: {
    listComments: "listComments",
    updateComment: async (args) => { calls.push(["update", args]); },
    createComment: async (args) => { calls.push(["create", args]); },
  } },
};
const context = { repo: { owner: "org", repo: "models" }, issue: { number: 7 } };
(async () => {
SCRIPT
})().then(() => fs.writeFileSync("calls.json", JSON.stringify(calls)));
"""


def _run_comment_step(tmp_path: Path, comments: list[dict[str, Any]], body: str) -> list[Any]:
    script = _step("actions/github-script")["with"]["script"]
    (tmp_path / "state.json").write_text(json.dumps({"comments": comments}))
    (tmp_path / "storybook-review.md").write_text(body)
    (tmp_path / "step.js").write_text(HARNESS.replace("SCRIPT", script))
    subprocess.run(["node", "step.js"], cwd=tmp_path, check=True, capture_output=True, timeout=60)
    calls: list[Any] = json.loads((tmp_path / "calls.json").read_text())
    return calls


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the github-script step")
def test_the_comment_step_creates_one_comment_then_updates_it(tmp_path: Path) -> None:
    body = f"{REVIEW_MARKER}\n## 📖 storybook review\n\nsecond push\n"
    first = _run_comment_step(tmp_path, [{"id": 1, "user": {"type": "User"}, "body": "looks good"}], body)
    assert first[-1] == ["create", {"owner": "org", "repo": "models", "issue_number": 7, "body": body}]
    # A person quoting the marker is not the comment; storybook's own (a bot's) is, and only it is updated.
    comments = [{"id": 1, "user": {"type": "User"}, "body": f"quoting {REVIEW_MARKER} here"},
                {"id": 2, "user": {"type": "Bot"}, "body": f"{REVIEW_MARKER}\nfirst push"},
                {"id": 3, "user": {"type": "Bot"}, "body": "another bot's comment"}]
    second = _run_comment_step(tmp_path, comments, body)
    assert [call[0] for call in second] == ["list", "update"]
    assert second[1][1] == {"owner": "org", "repo": "models", "comment_id": 2, "body": body}
