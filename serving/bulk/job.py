"""The bulk run: every patent and firm of the dataset as of a date, on DuckDB or Spark."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

import pandas as pd

from features.pipelines.leakage import assert_point_in_time
from features.pipelines.relations import TableRelations
from features.settings import Settings
from serving.bulk.records import ENTITIES, EntityPlan

log = logging.getLogger(__name__)

Engine = Literal["duckdb", "spark"]
ENGINES: tuple[str, ...] = ("duckdb", "spark")
# Rows recomputed with post-T facts removed by the leakage guard, per entity kind.
LEAKAGE_SAMPLE = 500


def process_tree_ticks(root: int | None = None) -> dict[tuple[int, int], int]:
    """User + system clock ticks of process `root` (default this one) and its descendants.

    Keyed by (pid, start time); empty where there is no `/proc`.
    """
    if not os.path.isdir("/proc"):
        return {}
    parent: dict[int, int] = {}
    ticks: dict[int, tuple[int, int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        parent[int(name)] = int(fields[1])
        ticks[int(name)] = (int(fields[19]), int(fields[11]) + int(fields[12]))
    tree = {os.getpid() if root is None else root}
    grown = True
    while grown:
        before = len(tree)
        tree |= {pid for pid, pp in parent.items() if pp in tree}
        grown = len(tree) > before
    return {(pid, ticks[pid][0]): ticks[pid][1] for pid in tree if pid in ticks}


class TreeCpu:
    """CPU seconds of this process and its descendants over a `with` block.

    On Spark `local[N]` these are the JVM and the Python workers it starts and ends. `/proc` is
    sampled every `interval` seconds by a thread, so a worker that exits within the block counts
    up to its last sample. Without `/proc` it is this process's own CPU time.
    """

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.seconds = 0.0
        self._proc = os.path.isdir("/proc/self")
        self._start: dict[tuple[int, int], int] = {}
        self._last: dict[tuple[int, int], int] = {}
        self._own = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        self._last.update(process_tree_ticks())

    def _run(self) -> None:
        while not self._done.wait(self.interval):
            self._sample()

    def __enter__(self) -> TreeCpu:
        if self._proc:
            self._start = process_tree_ticks()
            self._thread.start()
        else:
            times = os.times()
            self._own = times.user + times.system
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._proc:
            times = os.times()
            self.seconds = times.user + times.system - self._own
            return
        self._done.set()
        self._thread.join()
        self._sample()
        used = sum(t - self._start.get(key, 0) for key, t in self._last.items())
        self.seconds = used / os.sysconf("SC_CLK_TCK")


@dataclass
class StepTime:
    """One timed step of a bulk run: wall seconds and CPU seconds of the process tree."""

    entity: str
    step: str
    rows: int
    seconds: float
    cpu_seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        """Throughput of the step."""
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


@dataclass
class BulkReport:
    """What a bulk run wrote: where, how many rows per entity, the versions and the step times."""

    engine: str
    as_of: date
    out: str
    rows: dict[str, int] = field(default_factory=dict)
    model_versions: dict[str, str] = field(default_factory=dict)
    policy_version: str = ""
    leakage_rows_checked: int = 0
    steps: list[StepTime] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """Wall time of all steps."""
        return sum(s.seconds for s in self.steps)

    @contextmanager
    def timed(self, entity: str, step: str) -> Iterator[list[int]]:
        """Time a step; the caller appends its row count to the yielded list."""
        rows: list[int] = []
        start = time.perf_counter()
        with TreeCpu() as cpu:
            yield rows
        took = time.perf_counter() - start
        self.steps.append(StepTime(entity, step, rows[-1] if rows else 0, took, cpu.seconds))
        log.info("bulk step done", extra={
            "entity": entity, "step": step, "seconds": took, "cpu_seconds": cpu.seconds,
        })


def quoted_ids(ids: Sequence[str]) -> str:
    """A SQL IN-list of string ids."""
    return ", ".join("'" + str(i).replace("'", "''") + "'" for i in ids) or "NULL"


def check_point_in_time(
    plan: EntityPlan,
    features: pd.DataFrame,
    relations: TableRelations,
    as_of: date,
    frame_of: Callable[[str], pd.DataFrame],
    sql_of: Callable[[TableRelations, date], str],
) -> int:
    """The leakage guard on a sample of a bulk run's features, recomputed on the same engine.

    `frame_of(sql)` runs DuckDB-dialect SQL on the engine and returns pandas; `sql_of` is the
    entity's feature SQL. Raises `LeakageError` when a feature changes with post-T facts removed.
    """
    if features.empty:
        return 0
    sample = features.sample(min(LEAKAGE_SAMPLE, len(features)), random_state=0)
    keys = [plan.key, "as_of"]

    def recompute(cut: TableRelations, rows: pd.DataFrame) -> pd.DataFrame:
        ids = quoted_ids(rows[plan.key].tolist())
        out = frame_of(f"SELECT * FROM ({sql_of(cut, as_of)}) WHERE {plan.key} IN ({ids})")
        out["as_of"] = pd.to_datetime(out["as_of"]).astype("datetime64[ns]")
        return out

    frame = sample.copy()
    frame["as_of"] = pd.to_datetime(frame["as_of"]).astype("datetime64[ns]")
    return assert_point_in_time(
        frame, keys, list(plan.features), relations, recompute, max_dates=1,
        sample=LEAKAGE_SAMPLE,
    )


def run_bulk(
    settings: Settings,
    engine: Engine,
    as_of: date,
    out: str | Path,
    entities: Sequence[str] = tuple(ENTITIES),
    *,
    check_leakage: bool = True,
) -> BulkReport:
    """Features, scores, SHAP and grades of every entity of the dataset as of `as_of` to `out`.

    Each (entity, as_of) partition is written to a hidden folder first and moved into place at
    the end, so readers never see a half-written partition.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
    unknown = [e for e in entities if e not in ENTITIES]
    if unknown:
        raise ValueError(f"entities must be among {list(ENTITIES)}, got {unknown}")
    if not (settings.dataset_dir / "patents.parquet").exists():
        raise FileNotFoundError(
            f"dataset {settings.dataset!r} has no patents table at {settings.dataset_dir}; "
            "run `patentrisk generate` or `patentrisk ingest` first"
        )
    if engine == "duckdb":
        from serving.bulk.duckdb_run import run_duckdb

        return run_duckdb(settings, as_of, str(out), list(entities), check_leakage)
    from serving.bulk.spark_run import run_spark

    return run_spark(settings, as_of, str(out), list(entities), check_leakage)
