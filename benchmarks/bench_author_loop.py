"""The author's loop on the bundled example (issue 21): edit a sentence, see the page.

Run from the repository root:

    .venv/bin/python benchmarks/bench_author_loop.py            # about 2-3 minutes (trains the example first)
    .venv/bin/python benchmarks/bench_author_loop.py --keep DIR # generate into DIR and keep it

``storybook example`` trains the example's three models into a sqlite store in a temporary folder and builds it
once; every figure after that is the example resolved live from that store (no snapshot). Measured, each the
median of ``--repeats`` tries:

- ``storybook build --no-pdf`` in a new process (what an author runs by hand): nothing changed; one Markdown
  sentence edited; one story.yaml wording changed (the story's summary).
- The same three rebuilds in one long-lived process, as ``storybook serve`` runs them (imports and MLflow's store
  already open): the figure an author waits for in the preview.
- ``storybook serve``: from writing a Markdown file to the served page holding the new sentence (polled over HTTP
  every 20 ms).

Anchors and floors, measured in the same run: ``python -c pass`` (interpreter start), a plain markdown-it render
of the story's Markdown, the floor of any live build in a new process (import mlflow's client and open the sqlite
store: one ``search_registered_models``), and ``mkdocs serve`` of a one-page site answering the same kind of edit
(if mkdocs is installed: it is in the dev extras).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

BIN = Path(sys.executable).parent
STORYBOOK = BIN / "storybook"
MKDOCS = BIN / "mkdocs"
STORY = "breast-cancer-screening"
SECTION = f"stories/{STORY}/caveats-and-recommendations.md"
# Children run with bytecode caches on, as an installed package has its .pyc files (this machine's environment sets
# PYTHONDONTWRITEBYTECODE, which would have every new process compile storybook's modules from source again).
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}

# Runs in one process the way storybook serve does: one warm build, then the timed rebuilds.
_WARM = """
import json, sys, time
from pathlib import Path
from storybook.build import build
root, repeats = Path(sys.argv[1]), int(sys.argv[2])
section = root / sys.argv[3]
story = root / "stories" / sys.argv[4] / "story.yaml"
build(root, pdf=False)
def timed():
    start = time.perf_counter(); report = build(root, pdf=False); took = time.perf_counter() - start
    assert report.ok, report.failed
    return took
figures = {"none": [], "markdown": [], "yaml": []}
for attempt in range(repeats):
    figures["none"].append(timed())
    section.write_text(section.read_text() + f"\\nA warm sentence {attempt}.\\n")
    figures["markdown"].append(timed())
    story.write_text(story.read_text().replace("summary: >-\\n", f"summary: >-\\n  Warm {attempt}.", 1))
    figures["yaml"].append(timed())
print(json.dumps(figures))
"""

_MARKDOWN = """
import json, sys, time
from pathlib import Path
from markdown_it import MarkdownIt
text = "\\n\\n".join(p.read_text() for p in sorted(Path(sys.argv[1]).glob("*.md")))
md = MarkdownIt("commonmark")
times = []
for _ in range(20):
    start = time.perf_counter(); md.render(text); times.append(time.perf_counter() - start)
print(json.dumps(sorted(times)[len(times) // 2]))
"""

_MLFLOW_FLOOR = """
import sys
from mlflow.tracking import MlflowClient
MlflowClient(sys.argv[1], sys.argv[1]).search_registered_models()
"""


def step(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def median_of(times: list[float]) -> float:
    return statistics.median(times)


def timed_run(command: list[str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600, env=ENV)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return took


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return str(answer.read().decode("utf-8", "replace"))
    except (urllib.error.URLError, OSError):
        return ""


def wait_until(check: Callable[[], bool], timeout: float = 120.0, every: float = 0.02) -> float:
    """Seconds until ``check`` holds (polled every ``every`` seconds)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if check():
            return time.perf_counter() - start
        time.sleep(every)
    raise TimeoutError("timed out waiting for the served page to change")


def edit_to_page(command: list[str], cwd: Path, page: str, edit: Path, repeats: int, *, settle: float) -> float:
    """Start a preview server, then: append a sentence to ``edit``, time until ``page`` holds it (median)."""
    server = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    try:
        wait_until(lambda: bool(fetch(page)), timeout=300, every=0.2)
        time.sleep(settle)  # let a first build and the watcher settle
        times = []
        for attempt in range(repeats):
            sentence = f"Edited while served, number {attempt} {time.time_ns()}."
            edit.write_text(edit.read_text() + f"\n{sentence}\n")
            times.append(wait_until(lambda s=sentence: s in fetch(page)))  # type: ignore[misc]
            time.sleep(0.5)
        return median_of(times)
    finally:
        server.terminate()
        server.wait(timeout=30)


def mkdocs_serve_anchor(root: Path, repeats: int) -> float | None:
    if not MKDOCS.exists():
        return None
    site = root / "mkdocs-one-page"
    (site / "docs").mkdir(parents=True)
    (site / "mkdocs.yml").write_text("site_name: One page\n")
    (site / "docs" / "index.md").write_text("# One page\n\nA sentence.\n")
    port = free_port()
    try:
        return edit_to_page([str(MKDOCS), "serve", "-a", f"127.0.0.1:{port}"], site,
                            f"http://127.0.0.1:{port}/", site / "docs" / "index.md", repeats, settle=1.0)
    except TimeoutError:
        step("  mkdocs serve did not show the edit in time: no anchor")
        return None


def ratio(value: float, anchor: float | None) -> str:
    return f"{value / anchor:.1f}x" if anchor else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="storybook-author-loop-"))
    root = args.keep.resolve() if args.keep else scratch / "example"
    try:
        bench(root, scratch, args.repeats)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def bench(root: Path, scratch: Path, repeats: int) -> None:
    where = subprocess.run([sys.executable, "-c", "import storybook; print(storybook.__file__)"],
                           capture_output=True, text=True, cwd=scratch).stdout.strip()
    step(f"storybook example {root} (trains the three models, builds once; storybook from {where})")
    cold = timed_run([str(STORYBOOK), "example", str(root)], cwd=scratch)
    step(f"  took {cold:.1f} s")
    uri = f"sqlite:///{root / 'mlflow' / 'mlflow.db'}"
    section, story = root / SECTION, root / "stories" / STORY / "story.yaml"
    build = [str(STORYBOOK), "build", str(root), "--no-pdf"]
    timed_run(build, cwd=scratch)  # the first --no-pdf build (the example's own build printed PDFs)

    step("anchors: python -c pass, markdown-it on the story's Markdown, mlflow client + sqlite store")
    startup = median_of([timed_run([sys.executable, "-c", "pass"]) for _ in range(5)])
    markdown = float(json.loads(subprocess.run([sys.executable, "-c", _MARKDOWN, str(section.parent)],
                                               capture_output=True, text=True, check=True).stdout))
    mlflow_floor = median_of([timed_run([sys.executable, "-c", _MLFLOW_FLOOR, uri]) for _ in range(repeats)])

    step("storybook build --no-pdf in a new process: no change, one Markdown sentence, one story.yaml wording")
    cli: dict[str, list[float]] = {"none": [], "markdown": [], "yaml": []}
    for attempt in range(repeats):
        cli["none"].append(timed_run(build, cwd=scratch))
        section.write_text(section.read_text() + f"\nA sentence added by hand, number {attempt}.\n")
        cli["markdown"].append(timed_run(build, cwd=scratch))
        story.write_text(story.read_text().replace("summary: >-\n", f"summary: >-\n  By hand {attempt}.", 1))
        cli["yaml"].append(timed_run(build, cwd=scratch))

    step("the same rebuilds in one long-lived process (as storybook serve runs them)")
    done = subprocess.run([sys.executable, "-c", _WARM, str(root), str(repeats), SECTION, STORY],
                          capture_output=True, text=True, cwd=scratch, timeout=900, env=ENV)
    if done.returncode != 0:
        raise SystemExit(f"warm rebuilds failed:\n{done.stderr[-3000:]}")
    warm: dict[str, list[float]] = json.loads(done.stdout.strip().splitlines()[-1])

    step("storybook serve: from saving a Markdown file to the served page showing it")
    port = free_port()
    served = edit_to_page([str(STORYBOOK), "serve", str(root), "--port", str(port)], scratch,
                          f"http://127.0.0.1:{port}/{STORY}.html", section, repeats, settle=2.0)
    step("mkdocs serve on a one-page site (the anchor)")
    mkdocs = mkdocs_serve_anchor(scratch, repeats)

    rows = [
        ("no-change rebuild, in a new process", median_of(cli["none"]), 1.0, mlflow_floor,
         "mlflow client + sqlite store"),
        ("one Markdown sentence, in a new process", median_of(cli["markdown"]), 1.0, mlflow_floor,
         "mlflow client + sqlite store"),
        ("one story.yaml wording, in a new process", median_of(cli["yaml"]), 1.5, mlflow_floor,
         "mlflow client + sqlite store"),
        ("no-change rebuild, warm (serve)", median_of(warm["none"]), 1.0, startup, "python -c pass"),
        ("one Markdown sentence, warm (serve)", median_of(warm["markdown"]), 1.0, markdown,
         "markdown-it render of the page"),
        ("one story.yaml wording, warm (serve)", median_of(warm["yaml"]), 1.5, startup, "python -c pass"),
        ("serve: save -> served page shows it", served, 1.0, mkdocs, "mkdocs serve, one page"),
    ]
    print()
    print(f"Author's loop on the bundled example, live from its sqlite store; median of {repeats} tries each "
          f"(cold: storybook example {cold:.1f} s)")
    print()
    print("| figure | measured | target | anchor / floor | anchor | ratio | target met |")
    print("|---|---|---|---|---|---|---|")
    for name, value, target, anchor, what in rows:
        shown = f"{anchor * 1000:.1f} ms" if anchor is not None and anchor < 0.1 else (
            f"{anchor:.2f} s" if anchor is not None else "not installed")
        print(f"| {name} | {value:.2f} s | < {target:g} s | {shown} | {what} | {ratio(value, anchor)} | "
              f"{'yes' if value < target else 'NO'} |")


if __name__ == "__main__":
    main()
