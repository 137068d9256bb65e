"""Model monitoring in service: served feature rows and scores binned per day, PSI per variable.

Each scored row adds one to a bin of every feature and of the score, binned by the reference
profile the champion was logged with (`models.drift`). Only these counts are kept, never the
request: they build up in memory and are stored, as increments, in `model_monitoring_bins` at
most `monitoring_flush_seconds` later (and before every read), so several workers add up.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from models.drift import (
    MIN_ROWS,
    SCORE_VARIABLE,
    ReferenceProfile,
    psi_status,
    score_of,
)
from serving.metrics import ServiceMetrics
from serving.modelset import ModelSet, ServedModel
from serving.tables import MonitoringBin

log = logging.getLogger(__name__)

Key = tuple[dt.date, str, str, str]  # day, task, model version, variable


class ServingMonitor:
    """Bins served rows against each champion's reference and stores the counts per day."""

    def __init__(self, sessions: sessionmaker[Session], flush_seconds: float = 30.0) -> None:
        self.sessions = sessions
        self.flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._pending: dict[Key, np.ndarray] = {}
        self._since = time.monotonic()

    def observe(self, served: ServedModel, features: pd.DataFrame, scored: pd.DataFrame,
                today: dt.date | None = None) -> None:
        """Count the rows one request scored (features in, contract frame out) into today's bins."""
        profile = served.reference
        if profile is None or features.empty:
            return
        # One float matrix of the rows, its columns as views: no frame is built per request.
        matrix = features.to_numpy(dtype=np.float64, na_value=np.nan)
        columns = {str(name): matrix[:, j] for j, name in enumerate(features.columns)}
        columns[SCORE_VARIABLE] = score_of("", scored)
        self._add(served, profile.counts_of_columns(columns), today)

    def observe_row(self, served: ServedModel, features: Mapping[str, float | None],
                    raw_score: float, today: dt.date | None = None, *,
                    flush_in_thread: bool = False) -> None:
        """Count one scored row (the model's features by name, its raw score) into today's bins.

        The same counts `observe` adds for a one-row frame of those features and that score.
        A flush that falls due is made here, or with `flush_in_thread` in a thread of its own
        (a caller on the event loop must not wait for a database commit).
        """
        profile = served.reference
        if profile is None:
            return
        row = {name: _float_or_nan(features.get(name)) for name in served.model.feature_names}
        row[SCORE_VARIABLE] = float(raw_score)
        bins = profile.bins_of_row(row)
        day = today or dt.datetime.now(dt.UTC).date()
        with self._lock:
            for variable, (index, n_bins) in bins.items():
                key = (day, served.task, served.version, variable)
                have = self._pending.get(key)
                if have is None:
                    have = self._pending[key] = np.zeros(n_bins, dtype=np.int64)
                have[index] += 1  # pending arrays are owned by `_pending`: added to in place
            due = self._claim_due_flush()
        if due:
            self._flush_claimed(in_thread=flush_in_thread)

    def _add(self, served: ServedModel, counts: Mapping[str, np.ndarray],
             today: dt.date | None) -> None:
        """Add one request's bin counts to the pending ones; store them when a flush is due."""
        day = today or dt.datetime.now(dt.UTC).date()
        with self._lock:
            for variable, c in counts.items():
                key = (day, served.task, served.version, variable)
                have = self._pending.get(key)
                self._pending[key] = c.copy() if have is None else have + c
            due = self._claim_due_flush()
        if due:
            self._flush_claimed(in_thread=False)

    def _claim_due_flush(self) -> bool:
        """Whether a flush is due, claimed by this caller if so (call it holding `_lock`).

        One request claims the due flush: the others go on at once rather than all waiting
        for a second database connection while they hold one (which, with the pool
        exhausted, stalled requests for the pool timeout under load).
        """
        due = time.monotonic() - self._since >= self.flush_seconds
        if due:
            self._since = time.monotonic()
        return due

    def _flush_claimed(self, *, in_thread: bool) -> None:
        """Make the flush this caller claimed: here, or in a thread of its own."""
        if in_thread:
            threading.Thread(target=self._flush_logged, name="monitoring-flush",
                             daemon=True).start()
        else:
            self._flush_logged()

    def _flush_logged(self) -> None:
        """Flush; a failure is logged and the counts stay pending (the answer must not fail)."""
        try:
            self.flush()
        except Exception:
            log.exception("storing monitoring counts failed; they are kept for the next try")

    def flush(self) -> int:
        """Store the pending counts as increments; returns the number of bins written."""
        with self._lock:
            pending, self._pending = self._pending, {}
            self._since = time.monotonic()
        rows = [
            {"day": day, "task": task, "model_version": version, "variable": variable,
             "bin": int(b), "rows": int(n)}
            for (day, task, version, variable), counts in pending.items()
            for b, n in enumerate(counts) if n
        ]
        if not rows:
            return 0
        try:
            with self.sessions() as session:
                session.execute(_increment(session), rows)
                session.commit()
        except Exception:
            # keep the counts for the next flush rather than lose them
            with self._lock:
                for key, counts in pending.items():
                    have = self._pending.get(key)
                    self._pending[key] = counts if have is None else have + counts
            raise
        return len(rows)


def _float_or_nan(value: float | None) -> float:
    """A feature value as a float, NaN when missing (as a frame's `to_numpy` gives it)."""
    return float("nan") if value is None else float(value)


def _increment(session: Session) -> sa.Insert:
    """INSERT ... ON CONFLICT DO UPDATE adding the new rows to the stored count."""
    table = cast(sa.Table, MonitoringBin.__table__)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return insert.on_conflict_do_update(
        index_elements=["day", "task", "model_version", "variable", "bin"],
        set_={"rows": table.c.rows + insert.excluded.rows},
    )


@dataclass(frozen=True)
class VariableDrift:
    """One variable's PSI against the reference over the window."""

    name: str
    psi: float
    status: str


@dataclass(frozen=True)
class DayDrift:
    """One day's served rows and the score's PSI that day."""

    day: dt.date
    rows: int
    score_psi: float
    status: str


@dataclass(frozen=True)
class TaskDrift:
    """A served model's drift over the window: rows, PSI per variable and per day, status."""

    task: str
    model_version: str
    reference_period: tuple[str, str]
    reference_rows: int
    rows: int
    status: str
    max_psi: float | None
    score_psi: float | None
    variables: list[VariableDrift]
    days: list[DayDrift]


def stored_counts(session: Session, task: str, version: str, since: dt.date, until: dt.date
                  ) -> dict[tuple[dt.date, str], dict[int, int]]:
    """Stored rows per (day, variable) and bin for one model version in [since, until]."""
    t = MonitoringBin
    q = sa.select(t.day, t.variable, t.bin, t.rows).where(
        t.task == task, t.model_version == version, t.day >= since, t.day <= until)
    out: dict[tuple[dt.date, str], dict[int, int]] = defaultdict(dict)
    for day, variable, b, n in session.execute(q):
        out[(day, variable)][int(b)] = int(n)
    return out


def _vector(bins: Mapping[int, int], size: int) -> np.ndarray:
    """Counts by bin index as a vector of `size` bins (bins beyond the profile are dropped)."""
    v = np.zeros(size)
    for b, n in bins.items():
        if 0 <= b < size:
            v[b] += n
    return v


def task_drift(session: Session, served: ServedModel, since: dt.date, until: dt.date
               ) -> TaskDrift | None:
    """Drift of one served model over [since, until], or None when it has no reference."""
    profile: ReferenceProfile | None = served.reference
    if profile is None:
        return None
    counts = stored_counts(session, served.task, served.version, since, until)
    total: dict[str, Sequence[float] | np.ndarray] = {}
    days: list[DayDrift] = []
    for (day, variable), bins in sorted(counts.items()):
        ref = profile.variables.get(variable)
        if ref is None:
            continue
        v = _vector(bins, ref.n_bins)
        total[variable] = np.asarray(total.get(variable, np.zeros(ref.n_bins))) + v
        if variable == SCORE_VARIABLE and v.sum() > 0:
            value = profile.psi_of_counts({variable: v})[variable]
            days.append(DayDrift(day, int(v.sum()), value, psi_status(value, int(v.sum()))))
    rows = int(np.sum(total[SCORE_VARIABLE])) if SCORE_VARIABLE in total else 0
    values = profile.psi_of_counts(total) if rows else {}
    variables = [VariableDrift(k, v, psi_status(v, rows))
                 for k, v in sorted(values.items(), key=lambda kv: -kv[1])]
    top = max(values.values()) if values else None
    return TaskDrift(
        task=served.task, model_version=served.version, reference_period=profile.period,
        reference_rows=profile.rows, rows=rows, status=psi_status(top, rows),
        max_psi=top, score_psi=values.get(SCORE_VARIABLE), variables=variables, days=days,
    )


def monitoring_summary(
    monitor: ServingMonitor, models: ModelSet, since: dt.date, until: dt.date,
    tasks: Iterable[str] | None = None, metrics: ServiceMetrics | None = None,
) -> list[TaskDrift]:
    """Drift of every served model (or of `tasks`) over the window; sets the PSI gauges."""
    monitor.flush()
    chosen = set(tasks) if tasks is not None else None
    out = []
    with monitor.sessions() as session:
        for task, served in sorted(models.models.items()):
            if chosen is not None and task not in chosen:
                continue
            drift = task_drift(session, served, since, until)
            if drift is not None:
                out.append(drift)
    if metrics is not None:
        set_gauges(metrics, out)
    return out


def set_gauges(metrics: ServiceMetrics, drifts: Iterable[TaskDrift]) -> None:
    """Publish rows and PSI per task and variable on the Prometheus gauges."""
    for d in drifts:
        metrics.monitored_rows.labels(d.task).set(d.rows)
        for v in d.variables:
            if d.rows >= MIN_ROWS:
                metrics.psi.labels(d.task, v.name).set(v.psi)
