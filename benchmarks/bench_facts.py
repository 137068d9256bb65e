"""Benchmark: patent features of one request's facts, per path, in CPU ms per request.

The same facts (a different patent each request) are scored three ways over one world:
`dataset` (the full pipeline over the dataset's tables), `context` (the feature query over a
materialized context registered per request: how facts were scored before) and
`context_db` (a `ContextDatabase` cursor: the pruned query as a view, optimizer passes
skipped: how serving scores them now). Each path must give the same frame as `dataset`.
CPU time (`time.process_time`), best of several rounds, since the machine is shared. Prints a
table; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd


def main() -> None:
    """Run the benchmark and print the table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="data dir of a world (default: generate one)")
    parser.add_argument("--patents", type=int, default=3000, help="patents of a generated world")
    parser.add_argument("--requests", type=int, default=20, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (the best one counts)")
    args = parser.parse_args()

    from features.pipelines import (
        ContextDatabase,
        PatentFacts,
        context_tables,
        patent_features_for_facts,
    )
    from features.settings import Settings
    from features.store import TableStore
    from features.world.generate import generate_world

    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp)
        store = TableStore(Settings(data_dir=data).dataset_dir)
        if not store.exists("patents"):
            generate_world(store, args.patents, 7)
        end = date.fromisoformat(str(store.meta()["end_date"]))
        con = store.connect()
        firm = str(con.execute("SELECT assignee_id FROM firm_technology ORDER BY 1 LIMIT 1")
                   .fetchall()[0][0])
        context = context_tables(con, end)
        db = ContextDatabase(context)

        def facts(i: int) -> list[PatentFacts]:
            return [PatentFacts(
                patent_id=f"NEW-BENCH-{i}", jurisdiction="CN", patent_type="invention",
                filing_date=date(2019, 3, 1 + i % 28), grant_date=date(2021, 6, 1),
                num_claims=5 + i % 25, cpc_main="H04L", assignee_id=firm)]

        paths: dict[str, Callable[[int], pd.DataFrame]] = {
            "dataset": lambda i: patent_features_for_facts(con, facts(i), end),
            "context": lambda i: patent_features_for_facts(con, facts(i), end, context=context),
            "context_db": lambda i: patent_features_for_facts(con, facts(i), end, context=db),
        }
        for run in paths.values():  # warm up; every path gives the dataset's answer
            pd.testing.assert_frame_equal(run(0), paths["dataset"](0))
        load_before = os.getloadavg()[0]
        best = {name: float("inf") for name in paths}
        serial = 1
        for _ in range(args.rounds):
            for name, run in paths.items():
                t0 = time.process_time()
                for _ in range(args.requests):
                    run(serial)
                    serial += 1
                best[name] = min(best[name], (time.process_time() - t0) / args.requests * 1e3)
        db.close()
        con.close()

    print(f"{'path':12s} {'CPU ms / request':>18s}")
    for name, ms in best.items():
        print(f"{name:12s} {ms:18.1f}")
    print(json.dumps({
        "benchmark": "facts", "patents": args.patents if args.data is None else None,
        **{f"{name}_cpu_ms": round(ms, 2) for name, ms in best.items()},
        "context_db_vs_context": round(best["context_db"] / best["context"], 3),
        "load_avg_before": load_before, "load_avg_after": os.getloadavg()[0],
    }))


if __name__ == "__main__":
    main()
