"""Benchmark: a soak of mixed traffic at concurrency 64 against a real uvicorn on 127.0.0.1.

Starts `patentrisk serve` (this checkout's code) over a trained world (--data-dir, or a small
world generated and trained in a temporary folder) and drives quotes, loan assessments,
valuations, patent searches and batches for 10 minutes (`--quick`: 60 s), sampling the server's
resident memory (RSS).

Warm-up: before the measured soak, the same mix runs at full concurrency for `--warmup-seconds`
(default 20 s; every request kind is sent by every one of the 64 clients first). A fresh server's
RSS grows while it first meets the load: malloc arenas of the anyio worker threads, DuckDB's
buffers, LightGBM's and SHAP's work arrays, first-use caches (measured: flat Python heap under
tracemalloc after a warm-up; in a 10-minute soak on a busy machine RSS climbed over the first
~200 s, ~9,000 requests, then stayed at 645 +- 25 MB, 100-s means 648, 646, 642, 646 MB; the
second half's growth was -3.8 %). So `rss_start_mb` is taken after the warm-up
(`rss_warmup_start_mb` is before it, for the record), and the growth over the second half of the
soak (`rss_growth_second_half_pct`) is reported too: a leak grows there as well, warm-up does not.

Targets: no 5xx answer and no request without an answer (a timeout after 120 s or a broken
connection counts as an error, in the warm-up too; with uvicorn's 5 s keep-alive, connections
left idle while the slowest warm-up requests finished were reset by the server as the soak
reused them, hence `PATENTRISK_KEEP_ALIVE_SECONDS`, default 75), and RSS growing less than 10 %
from the start of the soak to its end. Prints a table per kind of request, the RSS samples, and
as the last line JSON with `requests`, `errors`, `errors_5xx`, `timeouts`, `connection_errors`,
`rss_start_mb`, `rss_mid_mb`, `rss_end_mb`, growth percentages and `p99_ms`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_serving import (  # noqa: E402 - sibling's helpers
    build_world,
    free_port,
    start_server,
    stop_server,
    world_env,
)

REPO = Path(__file__).resolve().parent.parent  # the server runs this checkout's code
CONCURRENCY = 64
WARMUP_SECONDS = 20.0
TIMEOUT = 0  # the status recorded when no answer came within CLIENT_TIMEOUT_S
CONNECTION_ERROR = -1  # the status recorded when the connection failed without an answer
CLIENT_TIMEOUT_S = 120


def world_ids(data_dir: Path) -> dict[str, Any]:
    """A firm with financials and product classes, and in-force patents it owns."""
    from features.settings import Settings
    from features.store import TableStore

    con = TableStore(Settings(data_dir=data_dir).dataset_dir).connect()
    firm, = con.execute(
        "SELECT p.assignee_id FROM patents p JOIN firm_financials f USING (assignee_id) "
        "JOIN firm_technology t USING (assignee_id) WHERE p.grant_date IS NOT NULL "
        "GROUP BY 1 ORDER BY count(DISTINCT p.patent_id) DESC, 1 LIMIT 1").fetchone()
    patents = [r[0] for r in con.execute(
        "SELECT patent_id FROM patents WHERE assignee_id = ? AND grant_date IS NOT NULL "
        "AND expiry_date > DATE '2025-12-31' AND patent_type IN ('invention', 'utility') "
        "AND patent_id NOT IN (SELECT patent_id FROM legal_events "
        "WHERE event_type IN ('lapsed', 'invalidated')) ORDER BY grant_date DESC LIMIT 8",
        [firm]).fetchall()]
    cpc = [r[0] for r in con.execute(
        "SELECT DISTINCT cpc_main FROM patents WHERE cpc_main IS NOT NULL LIMIT 20").fetchall()]
    con.close()
    if not patents:
        sys.exit("the world has no in-force patent of a firm with financials to quote")
    return {"firm": firm, "patents": patents, "cpc": cpc}


def keys(data_dir: Path) -> dict[str, str]:
    """A fresh underwriter and bank key in the world's store (migrated if new)."""
    from features.settings import Settings
    from serving import crud
    from serving.auth import CallerRole
    from serving.database import make_engine, make_sessionmaker, migrate

    engine = make_engine(Settings(data_dir=data_dir).resolved_database_url)
    migrate(engine)
    with make_sessionmaker(engine)() as session:
        made = {r.value: crud.create_api_key(session, r, "soak")[1]
                for r in (CallerRole.underwriter, CallerRole.bank)}
    engine.dispose()
    return made


def rss_mb(pid: int) -> float:
    """Resident memory of process `pid` in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def requests_mix(ids: dict[str, Any], k: dict[str, str]) -> list[tuple[str, float, Any]]:
    """(kind, weight, builder of (method, path, key, json)) of the mixed traffic."""
    uw, bank = k["underwriter"], k["bank"]

    def quote(rng: random.Random) -> tuple[str, str, str, Any]:
        return ("POST", "/v1/quotes/enforcement", uw, {
            "patent": {"patent_id": rng.choice(ids["patents"])},
            "applicant": {"applicant_id": f"S{rng.randrange(1000)}", "role": "patent_holder"},
            "cover_limit": rng.choice([500_000, 1_000_000, 2_000_000]), "deductible": 0,
            "period_months": 12})

    def loan(rng: random.Random) -> tuple[str, str, str, Any]:
        pledged = rng.sample(ids["patents"], min(2, len(ids["patents"])))
        return ("POST", "/v1/loans/assessments", bank, {
            "borrower": {"assignee_id": ids["firm"]}, "term_months": 12,
            "requested_amount": rng.choice([200_000, 500_000]),
            "pledged": [{"patent_id": p} for p in pledged]})

    def valuation(rng: random.Random) -> tuple[str, str, str, Any]:
        return ("POST", "/v1/valuations", bank,
                {"patents": [{"patent_id": rng.choice(ids["patents"])}]})

    def search(rng: random.Random) -> tuple[str, str, str, Any]:
        cpc = rng.choice(ids["cpc"] or ["H04L"])
        return ("GET", f"/v1/patents?cpc={cpc}&limit=20&offset={rng.randrange(3) * 20}", uw, None)

    def batch(rng: random.Random) -> tuple[str, str, str, Any]:
        return ("POST", "/v1/valuations/batch", bank,
                [{"patents": [{"patent_id": p}]} for p in rng.sample(ids["patents"], 2)])

    return [("quote", 0.30, quote), ("loan", 0.15, loan), ("valuation", 0.20, valuation),
            ("search", 0.25, search), ("batch", 0.10, batch)]


async def soak(base: str, mix: list[tuple[str, float, Any]], seconds: float, pid: int,
               warmup_seconds: float) -> dict[str, Any]:
    """Warm up, then drive the mix at CONCURRENCY for `seconds`; latencies, statuses, RSS."""
    latencies: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    warm_statuses: dict[int, int] = defaultdict(int)
    failures: list[str] = []
    samples: list[tuple[float, float]] = []
    kinds = [m[0] for m in mix]
    weights = [m[1] for m in mix]
    builders = {m[0]: m[2] for m in mix}
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=CLIENT_TIMEOUT_S) as client:

        async def one(rng: random.Random, record: bool, kind: str | None = None) -> None:
            kind = kind or rng.choices(kinds, weights)[0]
            method, path, key, body = builders[kind](rng)
            t0 = time.perf_counter()
            try:
                response = await client.request(method, path, json=body,
                                                headers={"X-API-Key": key})
                status = response.status_code
            except httpx.TimeoutException as exc:
                status = TIMEOUT
                failures.append(f"{kind} {method} {path}: no answer within "
                                f"{CLIENT_TIMEOUT_S} s ({type(exc).__name__})")
            except httpx.TransportError as exc:
                status = CONNECTION_ERROR
                failures.append(f"{kind} {method} {path}: {type(exc).__name__}: {exc}")
            if record:
                latencies[kind].append(time.perf_counter() - t0)
                statuses[kind][status] += 1
            else:
                warm_statuses[status] += 1

        async def clients(until: float, record: bool, first_kinds: bool) -> None:
            async def worker(i: int) -> None:
                rng = random.Random(i + (1000 if record else 1))
                if first_kinds:  # every client sends every kind once before the mix
                    for kind in kinds[i % len(kinds):] + kinds[:i % len(kinds)]:
                        await one(rng, record, kind)
                while time.perf_counter() < until:
                    await one(rng, record)

            await asyncio.gather(*(worker(i) for i in range(CONCURRENCY)))

        rss_cold = rss_mb(pid)
        await clients(time.perf_counter() + warmup_seconds, False, True)
        started = time.perf_counter()
        samples.append((0.0, rss_mb(pid)))

        async def sampler() -> None:
            while time.perf_counter() - started < seconds:
                await asyncio.sleep(min(5.0, seconds / 12))
                samples.append((time.perf_counter() - started, rss_mb(pid)))

        await asyncio.gather(sampler(), clients(started + seconds, True, False))
        elapsed = time.perf_counter() - started
    samples.append((elapsed, rss_mb(pid)))
    return {"latencies": latencies, "statuses": statuses, "samples": samples,
            "elapsed": elapsed, "rss_cold": rss_cold, "warm_statuses": warm_statuses,
            "failures": failures}


def rss_at(samples: list[tuple[float, float]], t: float) -> float:
    """The RSS sample taken nearest to `t` seconds into the soak."""
    return min(samples, key=lambda s: abs(s[0] - t))[1]


def main() -> None:
    """Run the soak and print the table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="data dir of a trained world")
    parser.add_argument("--quick", action="store_true", help="60 s instead of 10 minutes")
    parser.add_argument("--seconds", type=float, help="soak length (overrides --quick)")
    parser.add_argument("--warmup-seconds", type=float, default=WARMUP_SECONDS,
                        help="mixed traffic before RSS start is taken (default %(default)s)")
    parser.add_argument("--port", type=int, help="port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args()
    seconds = args.seconds or (60.0 if args.quick else 600.0)

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = Path(tmp) / "var"
            t0 = time.perf_counter()
            build_world(data_dir, 3000, train=True)
            print(f"built and trained a world in {time.perf_counter() - t0:.0f} s")
        ids = world_ids(data_dir)
        mix = requests_mix(ids, keys(data_dir))
        port = args.port or free_port()
        log = Path(tmp) / "server.log"
        # No rate limits: the soak measures capacity. Passive OpenMP waits on a shared machine.
        env = {**world_env(data_dir, data_dir, None), "PATENTRISK_RATE_LIMIT_PER_MINUTE": "0",
               "PYTHONPATH": str(REPO)}
        server = start_server(env, port, 1, log)
        try:
            result = asyncio.run(soak(f"http://127.0.0.1:{port}", mix, seconds, server.pid,
                                      args.warmup_seconds))
        finally:
            stop_server(server)
            tail = log.read_text()[-1500:]
            if tail.strip():
                print(tail)

    print(f"{'kind':<12}{'n':>8}{'2xx':>8}{'4xx':>6}{'5xx':>6}{'t/o':>6}{'conn':>6}"
          f"{'p50 ms':>10}{'p99 ms':>10}")
    all_ms: list[float] = []
    total = errors_5xx = errors_4xx = timeouts = conn_errors = 0
    for kind, lat in sorted(result["latencies"].items()):
        ms = np.array(lat) * 1000
        all_ms.extend(ms.tolist())
        counts = result["statuses"][kind]
        ok = sum(n for s, n in counts.items() if 0 < s < 400)
        c4 = sum(n for s, n in counts.items() if 400 <= s < 500)
        c5 = sum(n for s, n in counts.items() if s >= 500)
        to, ce = counts.get(TIMEOUT, 0), counts.get(CONNECTION_ERROR, 0)
        total += len(lat)
        errors_4xx += c4
        errors_5xx += c5
        timeouts += to
        conn_errors += ce
        print(f"{kind:<12}{len(lat):>8}{ok:>8}{c4:>6}{c5:>6}{to:>6}{ce:>6}"
              f"{np.percentile(ms, 50):>10.1f}{np.percentile(ms, 99):>10.1f}")
    warm = result["warm_statuses"]
    warm_errors = sum(n for s, n in warm.items() if s <= 0 or s >= 500)
    errors = errors_5xx + timeouts + conn_errors + warm_errors
    for failure in result["failures"][:10]:
        print(f"no answer: {failure}")
    samples = result["samples"]
    print("RSS MB over the soak: " + ", ".join(f"{t:.0f}s {mb:.0f}" for t, mb in samples))
    rss_start, rss_end = samples[0][1], samples[-1][1]
    rss_mid = rss_at(samples, result["elapsed"] / 2)
    rss_max = max(s[1] for s in samples)
    p99 = float(np.percentile(all_ms, 99)) if all_ms else float("nan")
    growth = (rss_end - rss_start) / rss_start * 100
    growth_half = (rss_end - rss_mid) / rss_mid * 100
    print(f"warm-up: {sum(warm.values())} requests, {warm_errors} errors; RSS "
          f"{result['rss_cold']:.0f} -> {rss_start:.0f} MB")
    print(f"{total} requests in {result['elapsed']:.0f} s ({total / result['elapsed']:.1f}/s) "
          f"at concurrency {CONCURRENCY}; RSS {rss_start:.0f} -> {rss_mid:.0f} (half) -> "
          f"{rss_end:.0f} MB (max {rss_max:.0f}; {growth:+.1f} %, second half "
          f"{growth_half:+.1f} %); {timeouts} timeouts ({CLIENT_TIMEOUT_S} s), {conn_errors} "
          f"connection errors; targets: 0 5xx and 0 without an answer "
          f"[{'ok' if errors == 0 else 'FAIL'}], RSS growth < 10 % "
          f"[{'ok' if growth < 10 else 'FAIL'}]")
    print(json.dumps({
        "requests": total, "errors": errors, "errors_5xx": errors_5xx,
        "errors_4xx": errors_4xx, "timeouts": timeouts, "connection_errors": conn_errors,
        "warmup_requests": sum(warm.values()), "warmup_errors": warm_errors,
        "rss_warmup_start_mb": round(result["rss_cold"], 1),
        "rss_start_mb": round(rss_start, 1), "rss_mid_mb": round(rss_mid, 1),
        "rss_end_mb": round(rss_end, 1), "rss_max_mb": round(rss_max, 1),
        "rss_growth_pct": round(growth, 1), "rss_growth_second_half_pct": round(growth_half, 1),
        "p99_ms": round(p99, 1), "seconds": round(result["elapsed"], 1),
        "concurrency": CONCURRENCY,
    }))


if __name__ == "__main__":
    main()
