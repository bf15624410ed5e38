#!/usr/bin/env bash
# Set up storybook on a fresh Debian machine with Python 3.11: system packages (fonts, pango for PDFs,
# chromium for browser tests, poppler-utils for reading PDFs back, PostgreSQL for the team-server test), then
# a virtual environment in .venv with storybook and its development tools. Safe to run again: it skips what is
# already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# postgresql: the team-server integration test runs a throwaway cluster (tests/postgres.py, docs/team-setup.md).
# openjdk-17-jre-headless: Java for PySpark (the `spark` extra), which the Spark aggregation tests run on local[2].
apt_packages=(chromium poppler-utils fonts-dejavu-core fonts-liberation2 libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 git
              postgresql openjdk-17-jre-headless)
missing=()
for pkg in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing system packages: ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $python"
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# team: mlflow[auth] and psycopg, to run a team tracking server on PostgreSQL with basic auth (the tests do).
# spark: PySpark, to aggregate scored sets where they live (docs/scale.md); the tests run it on local[2].
.venv/bin/python -m pip install -q -e ".[dev,team,spark]"
# axe-core for the accessibility tests, from the npm registry (pinned, integrity-checked); no Node.js needed.
.venv/bin/python scripts/fetch_axe.py
echo "setup: done (.venv/bin/storybook is ready)"
