"""Benchmark the synthetic world: time and peak memory per stage, 50k baseline vs 1M patents.

Run `python benchmarks/bench_world.py` (1,000,000 patents) or `--quick` (50,000 only). The 50k run
is the in-run baseline; the table shows seconds and peak resident memory per stage and the ratio
of time per patent. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import numpy as np
from features.store import TableStore
from features.world import generate as g

stages = {}
mark = [time.perf_counter()]

def stamp(name):
    now = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stages[name] = {"seconds": round(now - mark[0], 3), "peak_rss_mb": round(rss, 1)}
    mark[0] = now

for fname, stage in (("build_patents", "assignees+patents"), ("build_citations", "citations"),
                     ("simulate", "history"), ("case_details", "cases"),
                     ("_write_tables", "tables")):
    orig = getattr(g, fname)
    def wrapped(*a, _orig=orig, _stage=stage, **k):
        mark[0] = time.perf_counter()
        out = _orig(*a, **k)
        stamp(_stage)
        return out
    setattr(g, fname, wrapped)

n = int(sys.argv[1]); root = Path(sys.argv[2])
t0 = time.perf_counter()
summary = g.generate_world(TableStore(root), n, 1)
total = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
size = sum(p.stat().st_size for p in root.iterdir()) / 2**20
print(json.dumps({"n": n, "seconds": round(total, 2), "peak_rss_mb": round(rss, 1),
                  "stages": stages, "citations": summary.n_citations,
                  "disk_mb": round(size, 1), "rows": summary.table_rows}))
"""


def run(n: int) -> dict:
    """Generate a world of `n` patents in a fresh process; return its timings."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(n), str(Path(tmp) / "world")],
            check=True, capture_output=True, text=True,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="only the 50,000-patent baseline")
    parser.add_argument("--patents", type=int, default=1_000_000)
    args = parser.parse_args()
    base = run(50_000)
    runs = [base] if args.quick else [base, run(args.patents)]
    stages = list(base["stages"])
    print(f"{'stage':<20}" + "".join(f"{r['n']:>12,} s {'peak MB':>10}" for r in runs))
    for s in stages:
        print(f"{s:<20}" + "".join(
            f"{r['stages'][s]['seconds']:>14.2f}{r['stages'][s]['peak_rss_mb']:>11.0f}"
            for r in runs))
    print(f"{'total':<20}" + "".join(
        f"{r['seconds']:>14.2f}{r['peak_rss_mb']:>11.0f}" for r in runs))
    for r in runs:
        print(f"{r['n']:,} patents: {r['citations']:,} citations, {r['disk_mb']} MB on disk")
    result = {"baseline": {k: base[k] for k in ("n", "seconds", "peak_rss_mb", "citations")}}
    if len(runs) > 1:
        big = runs[1]
        per_patent_ratio = (big["seconds"] / big["n"]) / (base["seconds"] / base["n"])
        result["large"] = {k: big[k] for k in ("n", "seconds", "peak_rss_mb", "citations")}
        result["time_per_patent_ratio"] = round(per_patent_ratio, 3)
        result["under_5_minutes"] = big["seconds"] < 300
        result["stages"] = {s: big["stages"][s] for s in stages}
    else:
        result["stages"] = base["stages"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
