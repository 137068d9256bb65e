"""Benchmark: an explained enforcement quote over HTTP under uvicorn, next to /healthz and LightGBM.

Starts `patentrisk serve` on 127.0.0.1 (a free port) over a trained world (--data-dir, or a small
world generated and trained in a temporary folder), then measures p50/p99 latency and throughput
of `POST /v1/quotes/enforcement` (features, litigation + severity pyfunc with SHAP, reasons,
policy, stored assessment) at concurrency 1, 8 and 64, the same for `GET /healthz` (the HTTP
floor of the same app), and LightGBM's own `predict(pred_contrib=True)` on one row of the served
litigation booster (the model floor). Prints a table and ratios; the last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

LEVELS = (1, 8, 64)


def build_world(data_dir: Path, n_patents: int) -> None:
    """Generate a world and train all five tasks (no tuning) into `data_dir`."""
    from features.settings import Settings
    from features.store import TableStore
    from features.world.generate import generate_world
    from models.tasks import TASK_NAMES
    from training.runs import train_tasks

    settings = Settings(data_dir=data_dir, train_trials=0)
    generate_world(TableStore(settings.dataset_dir), n_patents, 7)
    results = train_tasks(settings, TASK_NAMES, trials=0)
    missing = [r.task for r in results if r.status != "trained"]
    if missing:
        sys.exit(f"training skipped tasks {missing}; pass --data-dir of a trained world")


def underwriter_key(data_dir: Path) -> str:
    """A fresh underwriter key in the world's assessment store (migrated if new)."""
    from features.settings import Settings
    from serving import crud
    from serving.auth import CallerRole
    from serving.database import make_engine, make_sessionmaker, migrate

    engine = make_engine(Settings(data_dir=data_dir).resolved_database_url)
    migrate(engine)
    with make_sessionmaker(engine)() as session:
        key = crud.create_api_key(session, CallerRole.underwriter, "bench")[1]
    engine.dispose()
    return key


def sample_patent(data_dir: Path) -> str:
    """A granted patent of the world to quote."""
    from features.settings import Settings
    from features.store import TableStore

    con = TableStore(Settings(data_dir=data_dir).dataset_dir).connect()
    row = con.execute("SELECT patent_id FROM patents WHERE grant_date IS NOT NULL "
                      "ORDER BY patent_id LIMIT 1").fetchone()
    con.close()
    return str(row[0])


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    data_dir: Path, port: int, log: Path, extra_env: dict[str, str] | None = None,
    ready_seconds: float = 120,
) -> subprocess.Popen[bytes]:
    """`patentrisk serve` on 127.0.0.1:port (output to `log`), returned once /readyz is 200."""
    env = {**os.environ, "PATENTRISK_DATA_DIR": str(data_dir), "PATENTRISK_LOG_LEVEL": "WARNING",
           **(extra_env or {})}
    exe = Path(sys.executable).with_name("patentrisk")
    with log.open("wb") as out:  # a file, not a pipe: an unread pipe would block the server
        proc = subprocess.Popen(
            [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + ready_seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.terminate()
    sys.exit(f"server did not become ready within {ready_seconds:.0f} s")


async def load(url: str, method: str, concurrency: int, n: int, max_seconds: float,
               headers: dict[str, str], body: dict | None) -> dict[str, float]:
    """Send up to `n` requests with `concurrency` in flight; latencies and throughput."""
    latencies: list[float] = []
    errors = 0
    sent = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started = time.perf_counter()
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal sent, errors
            while sent < n and time.perf_counter() - started < max_seconds:
                sent += 1
                t0 = time.perf_counter()
                response = await client.request(method, url, headers=headers, json=body)
                latencies.append(time.perf_counter() - t0)
                errors += response.status_code != 200

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {"requests": len(latencies), "errors": errors,
            "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "rps": len(latencies) / elapsed}


def lightgbm_floor(data_dir: Path, repeats: int) -> dict[str, float]:
    """Latency of the served litigation booster's `predict(pred_contrib=True)` on one row."""
    from features.settings import Settings
    from models.loading import load_champions

    loaded = load_champions(Settings(data_dir=data_dir).resolved_tracking_uri, ["litigation"])
    estimator = loaded["litigation"].pyfunc.unwrap_python_model().estimator
    booster = estimator.booster_
    row = np.zeros((1, booster.num_feature()))
    booster.predict(row, pred_contrib=True)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        booster.predict(row, pred_contrib=True)
        times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1000
    return {"requests": repeats, "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)), "rps": repeats / sum(times)}


def main() -> None:
    """Run the benchmark and print the table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="data dir of a trained world")
    parser.add_argument("--quick", action="store_true", help="small world, fewer requests")
    args = parser.parse_args()
    per_level = {1: 30, 8: 80, 64: 192} if args.quick else {1: 200, 8: 400, 64: 1024}
    max_seconds = 20.0 if args.quick else 60.0

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = Path(tmp) / "var"
            t0 = time.perf_counter()
            build_world(data_dir, 3000 if args.quick else 10_000)
            print(f"built and trained a world in {time.perf_counter() - t0:.0f} s")
        key = underwriter_key(data_dir)
        patent = sample_patent(data_dir)
        port = free_port()
        server = start_server(data_dir, port, Path(tmp) / "server.log")
        base = f"http://127.0.0.1:{port}"
        quote = {"patent": {"patent_id": patent},
                 "applicant": {"applicant_id": "BENCH", "role": "patent_holder"},
                 "cover_limit": 1_000_000, "deductible": 0, "period_months": 12}
        headers = {"X-API-Key": key}
        rows: dict[str, dict[str, float]] = {}
        try:
            for c in LEVELS:
                rows[f"quote c={c}"] = asyncio.run(load(
                    f"{base}/v1/quotes/enforcement", "POST", c, per_level[c], max_seconds,
                    headers, quote))
                rows[f"healthz c={c}"] = asyncio.run(load(
                    f"{base}/healthz", "GET", c, per_level[c], max_seconds, {}, None))
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            print((Path(tmp) / "server.log").read_text()[-1500:])
        rows["lightgbm pred_contrib 1 row"] = lightgbm_floor(data_dir, 2000)

    print(f"{'case':<30}{'n':>7}{'err':>5}{'p50 ms':>10}{'p99 ms':>10}{'req/s':>10}")
    for name, r in rows.items():
        print(f"{name:<30}{r['requests']:>7.0f}{r.get('errors', 0):>5.0f}{r['p50_ms']:>10.2f}"
              f"{r['p99_ms']:>10.2f}{r['rps']:>10.1f}")
    lgb = rows["lightgbm pred_contrib 1 row"]
    ratios = {}
    for c in LEVELS:
        q, h = rows[f"quote c={c}"], rows[f"healthz c={c}"]
        ratios[f"c{c}_quote_over_healthz_p50"] = q["p50_ms"] / h["p50_ms"]
        ratios[f"c{c}_healthz_over_quote_rps"] = h["rps"] / q["rps"]
    ratios["c1_quote_over_lightgbm_p50"] = rows["quote c=1"]["p50_ms"] / lgb["p50_ms"]
    print("ratios: " + ", ".join(f"{k}={v:.1f}" for k, v in ratios.items()))
    print(f"client and server share {os.cpu_count()} CPUs on this machine")
    print(json.dumps({"benchmark": "serving", "quick": args.quick, "results": rows,
                      "ratios": ratios}))


if __name__ == "__main__":
    main()
