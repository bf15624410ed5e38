"""`storybook aggregate` with DuckDB on a generated Parquet scored set (issue 22): wall time and peak memory, beside
two floors measured on the same file in the same run.

    .venv/bin/python benchmarks/bench_aggregate.py                     # 100,000,000 rows (a ~1 GB file in /tmp)
    .venv/bin/python benchmarks/bench_aggregate.py --rows 1000000      # a quick run

The set is written by DuckDB itself (``COPY (SELECT ... FROM range(N)) TO ... (FORMAT parquet)``): a score
(uniform on [0, 1)), a label drawn with that chance, and a slice of 10 sites. Each measurement runs in a fresh
process; its peak memory is the process's peak resident set size (DuckDB runs inside it) and its CPU time the
user + system time of all its threads (steadier than wall time on a shared machine), both from ``wait4``:

- **count(*)**: ``SELECT count(*)`` over the file (DuckDB answers from the Parquet footers: the cost of opening it);
- **scan**: a query that reads and adds up every value of the three columns (``sum(score), sum(label),
  sum(length(site))``; a filter such as ``score >= 0`` would be answered from the Parquet statistics without
  reading the values): the floor of any one pass over the rows;
- **aggregate**: ``storybook.aggregate_scored_set`` (1,000 bins, 200 replicates, slice ``site``, memory limit
  1 GB): the profile pass, the label and slice checks, the GROUP BY, the replicates and the file written.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GENERATE = """
import duckdb, sys
duckdb.execute("SET threads = {threads}")
duckdb.execute(\"\"\"COPY (SELECT CAST(random() < s AS INTEGER) AS label, s AS score,
                   'site_' || CAST(i % 10 AS VARCHAR) AS site FROM (SELECT random() AS s, i FROM range({rows}) t(i)))
    TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)\"\"\")
"""

COUNT = """
import duckdb
duckdb.execute("SET threads = {threads}")
print(duckdb.execute("SELECT count(*) FROM read_parquet('{path}')").fetchone()[0])
"""

SCAN = """
import duckdb
duckdb.execute("SET threads = {threads}")
duckdb.execute("SET enable_progress_bar = false")
print(duckdb.execute("SELECT count(*), sum(score), sum(label), sum(length(site)) FROM read_parquet('{path}')")
      .fetchone()[0])
"""

AGGREGATE = """
import storybook
made = storybook.aggregate_scored_set('{path}', '{out}', label='label', score='score', slices=['site'],
                                      bins={bins}, replicates={replicates}, memory_limit='{memory}', threads={threads})
print(made.info.rows, made.cells)
"""


def measure(code: str) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + system, all threads), peak RSS in MB and stdout of ``code`` run in a fresh
    Python process."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"the child failed with exit code {child.returncode}")
    return (time.perf_counter() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
            output.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--bins", type=int, default=1000)
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep the file (reused if there)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-aggregate-", dir="/tmp"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"scored-{args.rows}.parquet"
    out = folder / "aggregate.parquet"
    try:
        if not path.exists():
            seconds, _, _, _ = measure(GENERATE.format(rows=args.rows, path=path, threads=args.threads))
            print(f"generated {args.rows:,} rows in {seconds:.1f} s: {path.stat().st_size / 1e9:.2f} GB of Parquet")
        print(f"{'measurement':<12} {'wall s':>8} {'cpu s':>8} {'peak MB':>8}  result")
        for name, code in [("count(*)", COUNT), ("scan", SCAN), ("aggregate", AGGREGATE)]:
            seconds, cpu, peak, said = measure(code.format(path=path, out=out, threads=args.threads,
                                                           bins=args.bins, replicates=args.replicates,
                                                           memory=args.memory_limit))
            print(f"{name:<12} {seconds:>8.1f} {cpu:>8.1f} {peak:>8.0f}  {said}")
        print(f"aggregate file: {out.stat().st_size / 1e6:.2f} MB; {args.threads} threads, memory limit "
              f"{args.memory_limit}, {os.cpu_count()} cores")
    finally:
        if args.keep is None:
            for leftover in folder.iterdir():
                leftover.unlink()
            folder.rmdir()


if __name__ == "__main__":
    main()
