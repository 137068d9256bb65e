"""Benchmark: the bulk run (`patentrisk batch`) on DuckDB and on Spark, same world, same models.

Trains the champions once on a small synthetic world (or uses --tracking-uri), writes a random
canonical world (default 1,000,000 patents and 5,000,000 citations, with firms; --quick:
100,000 / 500,000) with `bench_features.random_world`, then scores every patent in force and
every firm as of 2024-12-31 with `--engine duckdb` and `--engine spark` (PATENTRISK_SPARK_MASTER,
default local[2]) and checks both wrote the same records. Prints the steps with wall seconds, CPU
seconds of the process tree (driver, JVM, Python workers) and rows per second and, as its last
line, a JSON object with `duckdb_s`, `spark_s`, their `_cpu_s` and `rows`. The Spark driver gets
2g of memory per 250,000 patents (2g to 6g) unless PATENTRISK_SPARK_DRIVER_MEMORY or
--spark-driver-memory says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import cast

import numpy as np
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).parent))
from bench_features import random_world  # noqa: E402

from features.settings import Settings  # noqa: E402
from features.store import TableStore  # noqa: E402
from serving.bulk.job import BulkReport, Engine, StepTime, TreeCpu, run_bulk  # noqa: E402
from serving.bulk.records import ENTITIES, read_records  # noqa: E402

AS_OF = date(2024, 12, 31)


def _train(root: Path) -> str:
    """Train every task on a small synthetic world; return its tracking URI."""
    from features.world.generate import generate_world
    from training.runs import train_tasks

    settings = Settings(data_dir=root, train_trials=0)
    generate_world(TableStore(settings.dataset_dir), 3000, 7)
    train_tasks(settings, ["litigation", "liability", "severity", "value"], trials=0)
    return settings.resolved_tracking_uri


def _steps(report: BulkReport) -> None:
    print(f"\n{report.engine}: {report.steps[-1].seconds:.1f} s for the whole batch")
    print(f"{'entity':8s} {'step':34s} {'rows':>10s} {'seconds':>9s} {'cpu s':>9s} "
          f"{'rows/s':>10s}")
    for s in report.steps:
        rate = f"{s.rows_per_second:10,.0f}" if s.rows else f"{'-':>10s}"
        print(f"{s.entity:8s} {s.step:34s} {s.rows:10,d} {s.seconds:9.2f} {s.cpu_seconds:9.2f} "
              f"{rate}")


def _same(out: Path) -> int:
    """Rows compared between the engines' records (raises if any value differs)."""
    n = 0
    for entity, plan in ENTITIES.items():
        a = read_records(out / "duckdb", entity, AS_OF)
        b = read_records(out / "spark", entity, AS_OF)
        assert a[plan.key].tolist() == b[plan.key].tolist(), f"{entity}: different ids"
        for col in a.columns:
            if a[col].dtype.kind == "f":
                x, y = a[col].to_numpy(), b[col].to_numpy()
                close = np.isclose(x, y, rtol=1e-12, atol=0, equal_nan=True)
                assert close.all(), f"{entity}.{col}: {int((~close).sum())} rows differ"
        n += len(a)
    return n


def main() -> None:
    """Run the benchmark and print the table and the JSON line."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="100,000 patents")
    ap.add_argument("--patents", type=int, default=None)
    ap.add_argument("--citations-per-patent", type=float, default=5.0)
    ap.add_argument("--tracking-uri", default=None, help="Registry with the champions to use")
    ap.add_argument("--leakage-check", action="store_true",
                    help="Include the leakage guard's sample recomputation in both runs")
    ap.add_argument("--engines", default="duckdb,spark")
    ap.add_argument("--spark-driver-memory", default=None,
                    help="Spark driver memory (all of Spark on local[N]); default: "
                    "PATENTRISK_SPARK_DRIVER_MEMORY if set, else 2g per 250,000 patents, 2g to 6g")
    args = ap.parse_args()
    n = args.patents or (100_000 if args.quick else 1_000_000)
    memory = args.spark_driver_memory or os.environ.get("PATENTRISK_SPARK_DRIVER_MEMORY") or (
        f"{min(6, max(2, 2 * -(-n // 250_000)))}g")
    engines = args.engines.split(",")
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        uri = args.tracking_uri or _train(root / "train")
        train_s = time.perf_counter() - t0
        settings = Settings(data_dir=root / "var", dataset="bench",
                            mlflow_tracking_uri=SecretStr(uri),
                            spark_driver_memory=memory)
        t0 = time.perf_counter()
        random_world(settings.dataset_dir, n, int(n * args.citations_per_patent), seed=0,
                     with_firms=True)
        world_s = time.perf_counter() - t0
        print(f"world: {n:,} patents, {int(n * args.citations_per_patent):,} citation draws "
              f"({world_s:.0f} s); champions from {uri} ({train_s:.0f} s); "
              f"spark master {settings.spark_master}, driver memory {memory}; "
              f"load {os.getloadavg()[0]:.1f}")
        reports: dict[str, BulkReport] = {}
        for engine in engines:
            t0 = time.perf_counter()
            with TreeCpu() as cpu:
                reports[engine] = run_bulk(settings, cast(Engine, engine), AS_OF,
                                           root / "out" / engine, check_leakage=args.leakage_check)
            whole_step = StepTime("all", "whole batch", sum(reports[engine].rows.values()),
                                  time.perf_counter() - t0, cpu.seconds)
            reports[engine].steps.append(whole_step)
            _steps(reports[engine])
        compared = _same(root / "out") if set(engines) == {"duckdb", "spark"} else 0
        rows = sum(next(iter(reports.values())).rows.values())
        result: dict[str, object] = {
            "patents": n, "rows": rows, "rows_compared_equal": compared,
            "load_avg_1m": round(os.getloadavg()[0], 1), "spark_master": settings.spark_master,
            "spark_driver_memory": memory,
        }
        for engine, rep in reports.items():
            result[f"{engine}_s"] = round(rep.steps[-1].seconds, 1)
            result[f"{engine}_cpu_s"] = round(rep.steps[-1].cpu_seconds, 1)
            result[f"{engine}_rows_per_s"] = {
                f"{s.entity}:{s.step}": round(s.rows_per_second) for s in rep.steps[:-1]
                if s.rows
            }
        print(json.dumps(result))


if __name__ == "__main__":
    main()
