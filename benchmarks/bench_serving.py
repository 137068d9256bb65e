"""Benchmark: explained quotes over HTTP from the online store, on a 50k and a 1M-patent world.

For each world the same app (`patentrisk serve`, uvicorn, the online store the settings name)
is started after `patentrisk materialize` (timed), then measured: `GET /healthz` (the HTTP floor
of the same app) and `POST /v1/quotes/enforcement` for stored patents at concurrency 1 and 8,
and a quote of a patent described by its facts at concurrency 1. Every quote must come back
200 with an assessment id, model versions and an explanation (a real stored, explained answer);
any other answer counts as an error and fails the run.

The 1M world reuses the 50k world's models (one registry; only the data is larger). Worlds are
built into --work (kept, so a second run skips building) unless --data-50k / --data-1m name
trained or generated data dirs. `--quick` runs a small world only. Prints a table; the last
line is one JSON object.
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
from typing import Any

import httpx
import numpy as np


def build_world(data_dir: Path, n_patents: int, train: bool) -> None:
    """Generate a world into `data_dir` (and train all five tasks without tuning)."""
    from features.settings import Settings
    from features.store import TableStore
    from features.world.generate import generate_world

    settings = Settings(data_dir=data_dir, train_trials=0)
    if not TableStore(settings.dataset_dir).exists("patents"):
        t0 = time.perf_counter()
        generate_world(TableStore(settings.dataset_dir), n_patents, 7)
        print(f"generated {n_patents:,} patents in {time.perf_counter() - t0:.0f} s", flush=True)
    if train and not (data_dir / "mlflow.db").exists():
        from models.tasks import TASK_NAMES
        from training.runs import train_tasks

        t0 = time.perf_counter()
        results = train_tasks(settings, TASK_NAMES, trials=0)
        if any(r.status != "trained" for r in results):
            sys.exit(f"training skipped tasks: {[r.task for r in results]}")
        print(f"trained in {time.perf_counter() - t0:.0f} s", flush=True)


def world_env(data_dir: Path, models_dir: Path, store_url: str | None) -> dict[str, str]:
    """Environment of the CLI and server for a world whose models live in `models_dir`."""
    env = {**os.environ, "PATENTRISK_DATA_DIR": str(data_dir), "PATENTRISK_LOG_LEVEL": "WARNING",
           "PATENTRISK_MLFLOW_TRACKING_URI": f"sqlite:///{(models_dir / 'mlflow.db').resolve()}",
           "OMP_WAIT_POLICY": "PASSIVE",
           # The benchmark's one key sends thousands of quotes a minute: a limit it never
           # reaches (the limiter still checks every request), so 429s are not measured.
           "PATENTRISK_RATE_LIMIT_PER_MINUTE": "1000000",
           "PATENTRISK_RATE_LIMIT_BURST": "100000"}
    if store_url:
        env["PATENTRISK_ONLINE_STORE_URL"] = store_url
    return env


def cli(env: dict[str, str], *args: str) -> str:
    """Run `patentrisk ARGS` and return its output (exit on failure)."""
    exe = Path(sys.executable).with_name("patentrisk")
    done = subprocess.run([str(exe), *args], env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        sys.exit(f"patentrisk {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def underwriter_key(env: dict[str, str]) -> str:
    """A fresh underwriter key (the CLI prints it on the last line)."""
    return cli(env, "keys", "create", "--role", "underwriter", "--name", "bench").split()[-1]


def sample_patents(data_dir: Path, n: int) -> tuple[list[str], str]:
    """In-force patents of the world to quote (spread over the ids) and a firm with classes."""
    from features.settings import Settings
    from features.store import TableStore

    store = TableStore(Settings(data_dir=data_dir).dataset_dir)
    end = str(store.meta()["end_date"])
    con = store.connect()
    rows = con.execute(
        f"SELECT patent_id FROM patents WHERE grant_date IS NOT NULL AND expiry_date > DATE "
        f"'{end}' AND patent_id NOT IN (SELECT patent_id FROM legal_events WHERE event_type IN "
        f"('lapsed', 'invalidated')) ORDER BY hash(patent_id) LIMIT {n}").fetchall()
    firm = con.execute("SELECT assignee_id FROM firm_technology ORDER BY 1 LIMIT 1").fetchall()
    con.close()
    return [str(r[0]) for r in rows], str(firm[0][0])


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(env: dict[str, str], port: int, workers: int,
                 log: Path) -> subprocess.Popen[bytes]:
    """`patentrisk serve`, returned once /readyz is 200 with a generation in service."""
    exe = Path(sys.executable).with_name("patentrisk")
    with log.open("wb") as out:  # a file, not a pipe: an unread pipe would block the server
        proc = subprocess.Popen(
            [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers)], env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited: {log.read_text()[-3000:]}")
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
            online = r.json()["components"].get("online_store", {})
            if (r.status_code == 200 and "generation" in online.get("detail", "")
                    and not online.get("rebuilding") and not online.get("stale")):
                return proc
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.5)
    proc.terminate()
    sys.exit(f"server did not serve a materialization within 600 s: {log.read_text()[-2000:]}")


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by process `pid` and its living descendants.

    Read from /proc (Linux); 0.0 where /proc is not there. With `--workers N` the uvicorn
    supervisor's worker processes are its children.
    """
    from serving.bulk.job import process_tree_ticks

    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    return sum(process_tree_ticks(pid).values()) / tick


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the server and wait for it."""
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()


def _explained(body: dict[str, Any]) -> bool:
    """A stored, explained quote: assessment id, model versions, an explanation with effects."""
    expl = body.get("explanation") or {}
    return bool(body.get("assessment_id") and body.get("model", {}).get("litigation")
                and expl.get("contributions") and expl.get("effects") is not None)


async def load(url: str, concurrency: int, n: int, max_seconds: float, headers: dict[str, str],
               bodies: list[dict[str, Any]] | None, server_pid: int) -> dict[str, float]:
    """Up to `n` requests (POST of `bodies` in turn, else GET) with `concurrency` in flight.

    Besides latencies and rate: the CPU milliseconds per request of the server process and
    of this client (figures that move much less than wall time on a shared machine).
    """
    latencies: list[float] = []
    errors = 0
    sent = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started = time.perf_counter()
    server_cpu, client_cpu = process_cpu_seconds(server_pid), time.process_time()
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:

        async def worker() -> None:
            nonlocal sent, errors
            while sent < n and time.perf_counter() - started < max_seconds:
                body = bodies[sent % len(bodies)] if bodies else None
                sent += 1
                t0 = time.perf_counter()
                if body is None:
                    response = await client.get(url)
                else:
                    response = await client.post(url, headers=headers, json=body)
                latencies.append(time.perf_counter() - t0)
                ok = response.status_code == 200 and (body is None or _explained(response.json()))
                errors += not ok

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - client_cpu
    server_cpu = process_cpu_seconds(server_pid) - server_cpu
    ms = np.array(latencies) * 1000
    return {"requests": len(latencies), "errors": errors,
            "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "rps": len(latencies) / elapsed,
            "server_cpu_ms": server_cpu * 1000 / max(1, len(latencies)),
            "client_cpu_ms": client_cpu * 1000 / max(1, len(latencies))}


def quote(patent: dict[str, Any], i: int) -> dict[str, Any]:
    """An enforcement quote request (a different applicant per request: a fresh subsidy)."""
    return {"patent": patent,
            "applicant": {"applicant_id": f"BENCH-{i % 997}", "role": "patent_holder"},
            "cover_limit": 1_000_000, "deductible": 0, "period_months": 12}


def _canned_server(port: int, body: bytes, ready: Any) -> None:
    """Answer every HTTP/1.1 request on 127.0.0.1:`port` with 200 and `body` (keep-alive)."""

    head = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
            + str(len(body)).encode() + b"\r\n\r\n")

    class Canned(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while True:  # every complete request in the buffer: headers, then the body
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                length = 0
                for line in self.buffer[:end].split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if len(self.buffer) < end + 4 + length:
                    return
                self.buffer = self.buffer[end + 4 + length:]
                self.transport.write(head + body)

    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(Canned, "127.0.0.1", port)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


def client_ceiling(answer: dict[str, Any], headers: dict[str, str],
                   bodies: list[dict[str, Any]], n: int, secs: float) -> dict[str, float]:
    """This client's rate at concurrency 8 against a server that costs nothing.

    A process answers every request at once with one stored quote answer (same size, same
    JSON), so the rate is bounded by this client's own CPU per request on the shared cores:
    the most any app could show here, with nothing computed or stored.
    """
    import multiprocessing

    port = free_port()
    ready = multiprocessing.Event()
    body = json.dumps(answer).encode()
    proc = multiprocessing.Process(target=_canned_server, args=(port, body, ready), daemon=True)
    proc.start()
    try:
        if not ready.wait(30):
            sys.exit("the canned server did not start")
        assert proc.pid is not None
        return asyncio.run(load(f"http://127.0.0.1:{port}/v1/quotes/enforcement", 8, n, secs,
                                headers, bodies, proc.pid))
    finally:
        proc.terminate()
        proc.join(10)


def measure_world(name: str, data_dir: Path, models_dir: Path, args: argparse.Namespace,
                  tmp: Path) -> dict[str, Any]:
    """Materialize (timed), serve, and measure one world."""
    env = world_env(data_dir, models_dir, args.store_url)
    t0 = time.perf_counter()
    out = cli(env, "materialize", "--force")
    materialize_s = time.perf_counter() - t0
    lines = out.strip().splitlines()
    steps = [line for line in lines if line.startswith("steps: ")]
    print(f"[{name}] {lines[-1]} (wall {materialize_s:.1f} s)", flush=True)
    if steps:
        print(f"[{name}] materialize {steps[-1]}", flush=True)
    patents, firm = sample_patents(data_dir, 200)
    key = underwriter_key(env)
    port = args.port or free_port()
    server = start_server(env, port, args.workers, tmp / f"server-{name}.log")
    base = f"http://127.0.0.1:{port}"
    headers = {"X-API-Key": key}
    stored = [quote({"patent_id": p}, i) for i, p in enumerate(patents)]
    n = {1: 40, 8: 200} if args.quick else {1: 300, 8: 1600}
    n_facts = 10 if args.quick else 40
    # Every facts quote describes a different patent (id, claims, filing date): nothing computed
    # for one request can answer another.
    facts = [quote({"facts": {
        "patent_id": f"NEW-BENCH-{i}", "jurisdiction": "CN", "patent_type": "invention",
        "filing_date": f"2019-03-{1 + i % 28:02d}", "grant_date": "2021-06-01",
        "num_claims": 5 + i % 25, "cpc_main": "H04L", "assignee_id": firm}}, i)
        for i in range(n_facts)]
    secs = 20.0 if args.quick else 60.0
    rows: dict[str, dict[str, float]] = {}
    try:
        pid = server.pid
        asyncio.run(load(f"{base}/v1/quotes/enforcement", 4, 20, secs, headers, stored,
                         pid))  # warm up
        for c in (1, 8):
            rows[f"healthz c={c}"] = asyncio.run(load(f"{base}/healthz", c, n[c], secs, {}, None,
                                                      pid))
            rows[f"quote c={c}"] = asyncio.run(load(f"{base}/v1/quotes/enforcement", c, n[c],
                                                    secs, headers, stored, pid))
        rows["facts quote c=1"] = asyncio.run(load(f"{base}/v1/quotes/enforcement", 1,
                                                   n_facts, secs, headers, facts, pid))
        answer = httpx.post(f"{base}/v1/quotes/enforcement", json=stored[0], headers=headers,
                            timeout=60).json()
    finally:
        stop_server(server)
    # What this client can measure at all: the same quotes answered by a server that does
    # nothing (the bound on quote_vs_healthz_c8 on this machine, whatever the app does).
    rows["ceiling c=8"] = client_ceiling(answer, headers, stored, n[8], secs)
    return {"materialize_s": materialize_s, "rows": rows}


def main() -> None:
    """Run the benchmark and print the table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small world only")
    parser.add_argument("--work", type=Path, default=None,
                        help="where worlds are built and kept (default a temporary folder)")
    parser.add_argument("--data-50k", type=Path, help="data dir of a trained 50k world")
    parser.add_argument("--data-1m", type=Path, help="data dir of a generated 1M world")
    parser.add_argument("--store-url", default=None,
                        help="PATENTRISK_ONLINE_STORE_URL for the run (default the embedded file)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers")
    parser.add_argument("--port", type=int, default=None, help="port (default a free one)")
    parser.add_argument("--skip-1m", action="store_true",
                        help="leave out the 1M world (its keys are then missing from the JSON)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        work = args.work or tmp
        small = args.data_50k or work / ("w3k" if args.quick else "w50k")
        build_world(small, 3000 if args.quick else 50_000, train=True)
        worlds = {"50k": measure_world("50k", small, small, args, tmp)}
        if not args.quick and not args.skip_1m:
            big = args.data_1m or work / "w1m"
            build_world(big, 1_000_000, train=False)
            worlds["1m"] = measure_world("1m", big, small, args, tmp)
    load_after = os.getloadavg()

    print(f"{'world':<6}{'case':<18}{'n':>7}{'err':>5}{'p50 ms':>10}{'p99 ms':>10}{'req/s':>10}"
          f"{'srv CPU ms':>12}{'cli CPU ms':>12}")
    for world, result in worlds.items():
        for case, r in result["rows"].items():
            print(f"{world:<6}{case:<18}{r['requests']:>7.0f}{r['errors']:>5.0f}"
                  f"{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['rps']:>10.1f}"
                  f"{r['server_cpu_ms']:>12.2f}{r['client_cpu_ms']:>12.2f}")
        print(f"{world:<6}materialize {result['materialize_s']:.1f} s")
    print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f} on "
          f"{os.cpu_count()} CPUs (client and server share them)")
    w = worlds["50k"]["rows"]
    summary: dict[str, Any] = {
        "benchmark": "serving", "quick": args.quick, "workers": args.workers,
        "store": args.store_url or "embedded",
        "healthz_rps_c8": w["healthz c=8"]["rps"],
        "quote_rps_c1": w["quote c=1"]["rps"],
        "quote_rps_c8": w["quote c=8"]["rps"],
        "quote_p50_ms_c1": w["quote c=1"]["p50_ms"],
        "quote_p99_ms_c8": w["quote c=8"]["p99_ms"],
        "quote_vs_healthz_c8": w["quote c=8"]["rps"] / w["healthz c=8"]["rps"],
        # The client's own bound: quotes answered by a server that costs nothing.
        "ceiling_quote_rps_c8": w["ceiling c=8"]["rps"],
        "ceiling_vs_healthz_c8": w["ceiling c=8"]["rps"] / w["healthz c=8"]["rps"],
        "facts_quote_p50_ms_c1": w["facts quote c=1"]["p50_ms"],
        # CPU per request at concurrency 8: the server's, and the client's (same machine).
        "healthz_server_cpu_ms_c8": w["healthz c=8"]["server_cpu_ms"],
        "quote_server_cpu_ms_c8": w["quote c=8"]["server_cpu_ms"],
        "healthz_client_cpu_ms_c8": w["healthz c=8"]["client_cpu_ms"],
        "quote_client_cpu_ms_c8": w["quote c=8"]["client_cpu_ms"],
        "materialize_s_50k": worlds["50k"]["materialize_s"],
        "errors": sum(r["errors"] for res in worlds.values() for r in res["rows"].values()),
        "load_avg_before": load_before[0], "load_avg_after": load_after[0],
    }
    if "1m" in worlds:
        big_rows = worlds["1m"]["rows"]
        summary["quote_p50_growth_1m_vs_50k"] = (big_rows["quote c=1"]["p50_ms"]
                                                 / w["quote c=1"]["p50_ms"])
        summary["materialize_s_1m"] = worlds["1m"]["materialize_s"]
        summary["quote_p50_ms_c1_1m"] = big_rows["quote c=1"]["p50_ms"]
        summary["facts_quote_p50_ms_c1_1m"] = big_rows["facts quote c=1"]["p50_ms"]
    print(json.dumps(summary))
    if summary["errors"]:
        sys.exit(f"{summary['errors']} answers were not stored, explained quotes")


if __name__ == "__main__":
    main()
