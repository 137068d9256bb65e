"""Benchmark: CPU milliseconds per stored enforcement quote and per /healthz, in one process.

Wall-clock figures on a shared 2-core machine swing with other work; CPU time per request does
much less. The app of a trained, materialized world (e.g. `bench_serving.py --quick --work W`
keeps W/w3k) is driven through ASGI without sockets, one request at a time: N `GET /healthz`,
then N explained quotes of stored patents, each timed with `time.process_time` (the in-process
client's share is included in both); then N quotes from `--concurrency` clients at once, timed
by wall clock (p50, p99, quotes/s) and by CPU per quote. Every quote must answer 200 with a
stored, explained quote. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from features.settings import Settings
from serving import crud
from serving.app import create_app
from serving.auth import CallerRole


def stored_patents(settings: Settings, n: int) -> list[str]:
    """In-force patents of the world (spread over the ids), as `bench_serving` quotes them."""
    from features.store import TableStore

    store = TableStore(settings.dataset_dir)
    end = str(store.meta()["end_date"])
    con = store.connect()
    rows = con.execute(
        "SELECT patent_id FROM patents WHERE grant_date IS NOT NULL AND expiry_date > ? AND "
        "patent_id NOT IN (SELECT patent_id FROM legal_events WHERE event_type IN "
        "('lapsed', 'invalidated')) ORDER BY hash(patent_id) LIMIT ?", [end, n]).fetchall()
    con.close()
    return [str(r[0]) for r in rows]


async def measure(settings: Settings, n: int, concurrency: int) -> dict[str, Any]:
    """CPU ms per /healthz and per stored quote over `n` requests each, and the answer size.

    With `concurrency` > 1, `n` more quotes follow from that many concurrent clients: their
    wall-clock p50 and p99 (ms) and quotes per second.
    """
    app = create_app(settings)
    bodies = [{"patent": {"patent_id": p},
               "applicant": {"applicant_id": f"CPU-{i % 997}", "role": "patent_holder"},
               "cover_limit": 1_000_000, "deductible": 0, "period_months": 12}
              for i, p in enumerate(stored_patents(settings, 200))]
    async with app.router.lifespan_context(app):
        if app.state.online.view is None:
            raise SystemExit("the world has no online store generation: run "
                             "`patentrisk materialize` first")
        with app.state.sessionmaker() as session:
            key = crud.create_api_key(session, CallerRole.underwriter, "bench cpu")[1]
        headers = {"X-API-Key": key}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def quote(i: int) -> int:
                r = await client.post("/v1/quotes/enforcement", json=bodies[i % len(bodies)],
                                      headers=headers)
                body = r.json()
                if r.status_code != 200 or not (body.get("assessment_id")
                                                and body["explanation"].get("effects")):
                    raise SystemExit(f"not a stored, explained quote: {r.status_code} {r.text}")
                return len(r.content)

            for i in range(30):  # warm up both paths
                await quote(i)
                await client.get("/healthz")
            t0 = time.process_time()
            for _ in range(n):
                await client.get("/healthz")
            healthz = (time.process_time() - t0) / n * 1000
            t0, w0 = time.process_time(), time.perf_counter()
            size = 0
            for i in range(n):
                size = await quote(i)
            quote_cpu = (time.process_time() - t0) / n * 1000
            quote_wall = (time.perf_counter() - w0) / n * 1000
            result: dict[str, Any] = {
                "benchmark": "quote_cpu", "n": n, "healthz_cpu_ms": healthz,
                "quote_cpu_ms": quote_cpu, "quote_wall_ms_c1": quote_wall,
                "quote_response_bytes": size}
            if concurrency > 1:
                writer = getattr(app.state, "assessment_writer", None)  # group commit
                before = (writer.rows, writer.batches) if writer is not None else (0, 0)
                result.update(await concurrent_quotes(quote, n, concurrency))
                if writer is not None and writer.batches > before[1]:
                    result[f"rows_per_commit_c{concurrency}"] = (
                        (writer.rows - before[0]) / (writer.batches - before[1]))
    result["load_avg"] = os.getloadavg()[0]
    return result


async def concurrent_quotes(
    quote: Callable[[int], Awaitable[int]], n: int, concurrency: int
) -> dict[str, Any]:
    """Wall-clock p50/p99 (ms), quotes/s and CPU ms per quote of `n` quotes from `concurrency`
    clients at once (the CPU figure includes what the threads' hand-overs cost)."""
    latencies: list[float] = []
    counter = iter(range(n))

    async def client() -> None:
        for i in counter:
            t0 = time.perf_counter()
            await quote(i)
            latencies.append((time.perf_counter() - t0) * 1000)

    w0, c0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    ordered = sorted(latencies)
    c = concurrency
    return {f"quote_p50_ms_c{c}": ordered[len(ordered) // 2],
            f"quote_p99_ms_c{c}": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
            f"quote_rps_c{c}": len(ordered) / wall,
            f"quote_cpu_ms_c{c}": cpu / len(ordered) * 1000}


def main() -> None:
    """Measure and print the table line and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True,
                        help="data dir of a trained, materialized world (its mlflow.db inside)")
    parser.add_argument("-n", type=int, default=500, help="requests of each kind")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="clients of the concurrent quote phase (1: skip it)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # Assessments go to a scratch store, so the world's own store is left as it was.
        settings = Settings(
            data_dir=args.data, log_level="WARNING",
            mlflow_tracking_uri=f"sqlite:///{(args.data / 'mlflow.db').resolve()}",  # type: ignore[arg-type]
            database_url=f"sqlite:///{Path(tmp) / 'assessments.db'}",  # type: ignore[arg-type]
            rate_limit_per_minute=1_000_000, rate_limit_burst=100_000,
            online_auto_materialize=False,
        )
        result = asyncio.run(measure(settings, args.n, args.concurrency))
    print(f"healthz {result['healthz_cpu_ms']:.2f} ms CPU, stored quote "
          f"{result['quote_cpu_ms']:.2f} ms CPU ({result['quote_wall_ms_c1']:.2f} ms wall, "
          f"{result['quote_response_bytes']} bytes), load {result['load_avg']:.1f}")
    c = args.concurrency
    if c > 1:
        print(f"c={c}: p50 {result[f'quote_p50_ms_c{c}']:.1f} ms, p99 "
              f"{result[f'quote_p99_ms_c{c}']:.1f} ms, {result[f'quote_rps_c{c}']:.0f} quotes/s, "
              f"{result[f'quote_cpu_ms_c{c}']:.2f} ms CPU per quote")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
