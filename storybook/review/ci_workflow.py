"""The GitHub Actions workflow ``storybook init`` writes (.github/workflows/storybook.yml), kept in the repository as
docs/ci/storybook.yml (tests/review/test_ci_workflow.py checks the two are the same).

On a pull request it checks the stories, builds the site, uploads it as an artifact and posts the body of
``storybook review`` as ONE comment, which each push updates: the comment is found by :data:`REVIEW_MARKER`, which
the body carries (see :mod:`storybook.review.comment`).
"""

from __future__ import annotations

from storybook.review.comment import REVIEW_MARKER

__all__ = ["REVIEW_MARKER", "WORKFLOW"]

WORKFLOW = """\
# storybook on pull requests (written by `storybook init`; the same file as docs/ci/storybook.yml in storybook).
# On every pull request: check the stories, build the site and PDFs, upload the site as an artifact, and post the
# review (checks, changed numbers and prose, sign-offs) as ONE comment that every push updates: the comment is
# found again by the hidden marker <!-- storybook-review --> that `storybook review` puts in its body.
# The site is built from the stories' pinned snapshots (stories/<slug>/snapshot.json, written by `storybook pin`),
# so it shows exactly the numbers under review and CI needs no MLflow credentials; a story without a snapshot fails
# with "run storybook pin". To build against your tracking server instead, drop --offline and give the job
# MLFLOW_TRACKING_URI (and MLFLOW_TRACKING_TOKEN, or USERNAME and PASSWORD) from repository secrets.
# On pull requests from forks GitHub gives no right to comment: the checks and the build still run.
name: storybook
on:
  pull_request:
  push:
    branches: [main]
permissions:
  contents: read
  pull-requests: write
concurrency:  # one run per branch at a time, so two pushes never race to create two comments
  group: storybook-${{ github.ref }}
  cancel-in-progress: true
jobs:
  storybook:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0  # storybook review compares with the base branch
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: Install storybook
        run: pip install storybook-ml
      - name: Check the stories
        id: check
        continue-on-error: true  # the review comment is posted all the same; the last step fails the job
        run: storybook check --format github
      - name: Build the site
        id: build
        continue-on-error: true
        run: storybook build --offline
      - name: Upload the site
        if: always() && hashFiles('site/index.html') != ''
        uses: actions/upload-artifact@v4
        with:
          name: storybook-site
          path: site/
      - name: Write the review
        id: review
        if: always() && github.event_name == 'pull_request'
        run: storybook review --base "origin/${{ github.base_ref }}" > storybook-review.md
      - name: Post or update the review comment
        if: always() && github.event_name == 'pull_request' && steps.review.outcome == 'success'
        uses: actions/github-script@v7
        with:
          script: |
            const fs = require("fs");
            const marker = "<!-- storybook-review -->";
            const body = fs.readFileSync("storybook-review.md", "utf8");
            const { owner, repo } = context.repo;
            const issue_number = context.issue.number;
            const comments = await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number });
            const ours = comments.find((c) => c.user.type === "Bot" && c.body && c.body.includes(marker));
            if (ours) {
              await github.rest.issues.updateComment({ owner, repo, comment_id: ours.id, body });
            } else {
              await github.rest.issues.createComment({ owner, repo, issue_number, body });
            }
      - name: Fail when the checks or the build failed
        if: steps.check.outcome == 'failure' || steps.build.outcome == 'failure'
        run: |
          echo "storybook check: ${{ steps.check.outcome }}; storybook build: ${{ steps.build.outcome }}"
          exit 1
"""
if REVIEW_MARKER not in WORKFLOW:  # pragma: no cover - the marker and the workflow changed apart
    raise ImportError("the workflow does not look for the review comment's marker")
