"""The Spark engine (issue 22) on a local[2] session: a generated Parquet scored set of 10,000,000 rows aggregated
by ``storybook.aggregate.spark_engine.aggregate_with_spark``, beside two floors measured on the same file in the
same run.

    .venv/bin/python benchmarks/bench_aggregate_spark.py                  # 10,000,000 rows (~120 MB in /tmp)
    .venv/bin/python benchmarks/bench_aggregate_spark.py --rows 1000000   # a quick run

The set is the one benchmarks/bench_aggregate.py generates (written by DuckDB: a uniform score, a label drawn with
that chance, a slice of 10 sites). Each measurement runs in a fresh process that starts its own Spark session
(``local[2]``, web UI off, two shuffle partitions, driver memory 1 GB), so the session's start is timed apart:

- **count()**: ``spark.read.parquet(path).count()`` (Spark answers from the Parquet footers: the cost of a job);
- **scan**: a job that reads and adds up every value of the three columns (``sum(score), sum(label),
  sum(length(site))``): the floor of any one pass over the rows;
- **aggregate**: ``aggregate_with_spark`` (1,000 bins, 200 replicates, slice ``site``) and ``write_aggregate``:
  the profile pass, the label and slice checks, the GROUP BY, the cells collected, the replicates and the file.

Peak memory is the driver JVM's peak resident set (``VmHWM`` of the java process) and the Python process's own.
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
import duckdb
duckdb.execute("SET threads = 2")
duckdb.execute("SET enable_progress_bar = false")
duckdb.execute(\"\"\"COPY (SELECT CAST(random() < s AS INTEGER) AS label, s AS score,
                   'site_' || CAST(i % 10 AS VARCHAR) AS site FROM (SELECT random() AS s, i FROM range({rows}) t(i)))
    TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)\"\"\")
"""

SESSION = """
import resource, time
started = time.perf_counter()
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false").config("spark.sql.shuffle.partitions", "2")
         .config("spark.driver.memory", "1g").config("spark.driver.host", "127.0.0.1")
         .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
session = time.perf_counter() - started
started = time.perf_counter()
{body}
seconds = time.perf_counter() - started
jvm = spark.sparkContext._gateway.proc.pid
peak = next(int(line.split()[1]) for line in open(f"/proc/{{jvm}}/status") if line.startswith("VmHWM"))
spark.stop()
python_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{{session:.1f}} {{seconds:.1f}} {{peak / 1024:.0f}} {{python_peak / 1024:.0f}} {{said}}")
"""

COUNT = """
said = spark.read.parquet('{path}').count()
"""

SCAN = """
frame = spark.read.parquet('{path}')
said = frame.selectExpr("count(*)", "sum(score)", "sum(label)", "sum(length(site))").collect()[0][0]
"""

AGGREGATE = """
from pathlib import Path
from storybook.aggregate.format import write_aggregate
from storybook.aggregate.spark_engine import aggregate_with_spark
cells, info = aggregate_with_spark(spark.read.parquet('{path}'), label_column='label', score_column='score',
                                   slices=['site'], bins={bins}, replicates={replicates})
write_aggregate(cells, info, Path('{out}'))
said = f"{{info.rows}} rows, {{len(cells)}} cells"
"""


def measure(code: str) -> list[str]:
    """The child's printed figures (session s, measured s, JVM peak MB, Python peak MB, result)."""
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if child.returncode != 0:
        raise SystemExit(f"the child failed with exit code {child.returncode}:\n{child.stderr[-3000:]}")
    return child.stdout.strip().splitlines()[-1].split(maxsplit=4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--bins", type=int, default=1000)
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep the file (reused if there)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-aggregate-spark-", dir="/tmp"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"scored-{args.rows}.parquet"
    out = folder / "aggregate.parquet"
    try:
        if not path.exists():
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", GENERATE.format(rows=args.rows, path=path)], check=True)
            print(f"generated {args.rows:,} rows in {time.perf_counter() - started:.1f} s: "
                  f"{path.stat().st_size / 1e6:.0f} MB of Parquet")
        print(f"{'measurement':<12} {'session s':>9} {'wall s':>8} {'JVM MB':>7} {'Python MB':>9}  result")
        figures = {}
        for name, body in [("count()", COUNT), ("scan", SCAN), ("aggregate", AGGREGATE)]:
            code = SESSION.format(body=body.format(path=path, out=out, bins=args.bins, replicates=args.replicates))
            session, seconds, jvm, python, said = measure(code)
            figures[name] = float(seconds)
            print(f"{name:<12} {session:>9} {seconds:>8} {jvm:>7} {python:>9}  {said}")
        print(f"aggregate / scan: {figures['aggregate'] / figures['scan']:.1f}x; aggregate file "
              f"{out.stat().st_size / 1e6:.2f} MB; local[2], {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f}")
    finally:
        if args.keep is None:
            for leftover in folder.iterdir():
                leftover.unlink()
            folder.rmdir()


if __name__ == "__main__":
    main()
