"""Materialization: every stored entity's features and model outputs as of the serving date.

Features of every patent filed by the serving date and every firm with product classes (the
training pipelines, one run each), the dataset-wide context that request facts are scored
against, and for each champion its contract outputs (prediction, raw score, SHAP). Written as a
new generation of the online store and swapped in atomically, stamped with what it was built
from (`Stamp`) so a service can tell when it no longer matches.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from features.pipelines import (
    FIRM_FEATURES,
    PATENT_FEATURES,
    MaterializedContext,
    context_tables,
    firm_features,
    patent_features,
)
from features.pipelines.context import CONTEXT_TABLE_SELECTS
from features.pipelines.firms import firm_features_sql
from features.pipelines.patents import patent_features_sql
from features.pipelines.relations import SOURCE_TABLES, TableRelations
from features.registry import FEATURES, JURISDICTIONS, PATENT_TYPES
from features.settings import Settings
from features.store import TableStore
from models.boosting import BASE_OUTPUT, SHAP_BASE, SHAP_PREFIX
from serving.online.backends import OnlineStore
from serving.online.records import RecordLayout, with_outputs

if TYPE_CHECKING:
    from serving.modelset import ModelSet

log = logging.getLogger(__name__)

# Tasks scored per entity kind ("severity" on patents is the enforcement claim).
PATENT_TASKS = ("litigation", "severity", "value")
FIRM_TASKS = ("liability",)
CHUNK_ROWS = 25_000
# Rows explained per call: a tree's SHAP values are computed once per distinct way through it,
# and a million-patent world's in-force rows share them more in one call than in chunks.
EXPLAIN_CHUNK_ROWS = 1_000_000
# Which patents' records carry each task's SHAP contributions: "in_force" (on the serving
# date; quotes and pledges refuse the others), "all" or "none". Elsewhere `shap_base`, `shap__*`
# and `base_output` are NaN (not materialized, never zero); the view leaves such rows out of the
# stored outputs, so they are scored and explained on demand by the same served model.
PATENT_EXPLANATIONS = {"litigation": "in_force", "severity": "in_force", "value": "in_force"}
# Progress callback: (step name, fraction of the whole materialization done).
Progress = Callable[[str, float], None]


def serving_as_of(settings: Settings, meta: Mapping[str, Any]) -> dt.date:
    """The date the service scores as of: `Settings.as_of` or today, capped at the data's end."""
    day = settings.as_of or dt.date.today()
    end = meta.get("end_date")
    return min(day, dt.date.fromisoformat(str(end))) if end else day


def features_hash() -> str:
    """Hash of the feature definitions: the registry and the SQL that computes it."""
    parts = [repr(f) for f in FEATURES]
    named = TableRelations({n: n for n in SOURCE_TABLES}
                           | {"ctx_class_counts": "c", "ctx_owner_counts": "o"})
    parts.append(patent_features_sql(named, "t", PATENT_FEATURES))
    parts.append(firm_features_sql(named, "t", FIRM_FEATURES))
    parts += list(CONTEXT_TABLE_SELECTS.values())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Stamp:
    """What a generation was built from; a service serves it only while all of it matches."""

    dataset: str
    fingerprint: str
    as_of: str
    features_hash: str
    models: dict[str, str] = field(default_factory=dict)
    policy_hash: str | None = None

    def differences(self, other: Stamp) -> list[str]:
        """What differs between this stamp and `other` (empty when they match)."""
        out = []
        for name in ("dataset", "fingerprint", "as_of", "features_hash", "policy_hash"):
            a, b = getattr(self, name), getattr(other, name)
            if a != b:
                out.append(f"{name} {a} -> {b}")
        if self.models != other.models:
            changed = sorted(t for t in set(self.models) | set(other.models)
                             if self.models.get(t) != other.models.get(t))
            out.append("models " + ", ".join(
                f"{t} {self.models.get(t)} -> {other.models.get(t)}" for t in changed))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Stamp:
        """A stamp read back from a manifest."""
        policy = data.get("policy_hash")
        return cls(dataset=str(data.get("dataset")), fingerprint=str(data.get("fingerprint")),
                   as_of=str(data.get("as_of")), features_hash=str(data.get("features_hash")),
                   models=dict(data.get("models") or {}),
                   policy_hash=None if policy is None else str(policy))


def model_stamp(models: ModelSet) -> dict[str, str]:
    """`name/version` of each model a materialization scores with."""
    return {t: f"{m.name}/{m.version}" for t, m in sorted(models.models.items())
            if t in PATENT_TASKS + FIRM_TASKS}


def expected_stamp(settings: Settings, models: ModelSet) -> Stamp:
    """The stamp a materialization of the active dataset with `models` would carry now."""
    store = TableStore(settings.dataset_dir)
    return Stamp(
        dataset=settings.dataset,
        fingerprint=store.fingerprint(),
        as_of=serving_as_of(settings, store.meta()).isoformat(),
        features_hash=features_hash(),
        models=model_stamp(models),
        policy_hash=models.policy_hash,
    )


@dataclass(frozen=True)
class MaterializeReport:
    """One finished materialization: its generation, rows per kind, seconds and stamp."""

    generation: str
    rows: dict[str, int]
    seconds: float
    stamp: Stamp
    # Wall seconds per step: features, context, each task's scoring, assemble, write.
    steps: dict[str, float] = field(default_factory=dict)

    def breakdown(self) -> str:
        """The steps' seconds as one line, e.g. `features 20.1 s, value 95.3 s, write 9.0 s`."""
        return ", ".join(f"{name} {secs:.1f} s" for name, secs in self.steps.items())


@dataclass
class EntityFrames:
    """Everything a generation holds, before it is written."""

    as_of: dt.date
    patents: pd.DataFrame
    firms: pd.DataFrame
    severity_classes: pd.DataFrame
    firm_classes: pd.DataFrame
    context: MaterializedContext
    orphans: list[str]
    patent_index: pa.Table
    # Per namespace, its rows and per task which rows hold SHAP (`PATENT_EXPLANATIONS`).
    explained: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Wall seconds per step of `build_entity_frames`.
    steps: dict[str, float] = field(default_factory=dict)


def _predict_chunks(
    served: Any, frame: pd.DataFrame, step: Callable[[int], None],
    explain: np.ndarray | None = None,
) -> pd.DataFrame:
    """The served model's contract frame for `frame`, scored in chunks (progress per chunk).

    Rows where `explain` is False get the plain outputs only (no tree SHAP, which costs ten to
    a thousand times the prediction); their `shap_base`, `shap__*` and `base_output` are NaN,
    never zero, so a reader can tell them apart and explain them on demand. Explained rows go
    to the model in chunks of `EXPLAIN_CHUNK_ROWS`: the larger the chunk, the more rows share
    each tree's SHAP values (`models.boosting.tree_contributions`). One float64 matrix is
    filled chunk by chunk: no per-chunk frames are concatenated.
    """
    from serving.scoring.explanations import predict

    if not len(frame):
        return pd.DataFrame(index=frame.index)
    columns = list(predict(served, frame.iloc[:1]).columns)  # the full contract, explained
    where = {c: i for i, c in enumerate(columns)}
    matrix = np.full((len(frame), len(columns)), np.nan)
    wanted = np.ones(len(frame), bool) if explain is None else np.asarray(explain, bool)
    for rows, score, size in ((~wanted, _plain_outputs, CHUNK_ROWS),
                              (wanted, predict, EXPLAIN_CHUNK_ROWS)):
        positions = np.flatnonzero(rows)
        for start in range(0, len(positions), size):
            pos = positions[start:start + size]
            chunk = frame.iloc[pos]
            part = score(served, chunk)
            cols = np.array([where[str(c)] for c in part.columns], dtype=np.int64)
            matrix[np.ix_(pos, cols)] = part.to_numpy(dtype=np.float64, na_value=np.nan)
            step(len(chunk))
    return pd.DataFrame(matrix, index=frame.index, columns=columns)


def _plain_outputs(served: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """The served model's contract columns for `frame` other than its explanation.

    Scored without tree SHAP when the pyfunc wraps one of our estimators; any other served
    model answers its whole contract and the explanation columns are dropped.
    """
    from serving.scoring.explanations import predict, predict_unexplained

    if hasattr(served.model.pyfunc, "unwrap_python_model"):
        return predict_unexplained(served, frame)
    out = predict(served, frame)
    return out.drop(columns=[c for c in out.columns
                             if c in (SHAP_BASE, BASE_OUTPUT) or str(c).startswith(SHAP_PREFIX)])


def in_force_mask(patents: pd.DataFrame) -> np.ndarray:
    """Whether each patent feature row is in force: granted, not expired, lapsed or invalidated.

    The rule of `serving.scoring.entities.not_in_force_reason`, on a whole frame at once.
    """
    remaining = patents["remaining_term_years"]
    return ((remaining > 0) & (patents["lapsed"] != 1) & (patents["invalidated"] != 1)
            ).fillna(False).to_numpy(dtype=bool)


def main_classes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Each firm's main product class (largest weight, then the class name), as liability uses."""
    return con.execute(
        "SELECT assignee_id, arg_max(cpc_class, (weight, cpc_class)) AS main_class "
        "FROM firm_technology GROUP BY assignee_id ORDER BY assignee_id"
    ).df() if _has(con, "firm_technology") else pd.DataFrame(
        {"assignee_id": pd.Series([], dtype=str), "main_class": pd.Series([], dtype=str)})


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the connection has a view or table `table`."""
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
    ).fetchall()[0][0])


def severity_class_key(main_class: str | None) -> str:
    """Key of the class severity a liability claim in `main_class` is priced from."""
    return main_class[:3] if main_class else ""


def _orphans(con: duckdb.DuckDBPyConnection, stored: pa.Table) -> list[str]:
    """Patent ids the dataset holds or mentions that have no stored record.

    A request's facts for such an id cannot be scored against the context alone (the dataset
    says something about it), so they take the full pipeline.
    """
    mentions = ["SELECT patent_id FROM patents"]
    for table, cols in (("citations", ("citing_patent_id", "cited_patent_id")),
                        ("legal_events", ("patent_id",)), ("cases", ("patent_id",)),
                        ("loan_patents", ("patent_id",)), ("transactions", ("patent_id",)),
                        ("patent_cpc", ("patent_id",))):
        if _has(con, table):
            mentions += [f"SELECT {c} FROM {table}" for c in cols]
    con.register("_stored_ids", stored)
    try:
        rows = con.execute(
            f"SELECT DISTINCT id FROM ({' UNION ALL '.join(mentions)}"
            ") AS m(id) WHERE id IS NOT NULL AND id NOT IN (SELECT patent_id FROM _stored_ids) "
            "ORDER BY 1"
        ).fetchall()
    finally:
        con.unregister("_stored_ids")
    return [str(r[0]) for r in rows]


def _patent_index(patents: pd.DataFrame, policy: Any) -> pa.Table:
    """Search columns per stored patent: jurisdiction, type, in force, grade and probability."""
    from models.policy import Product

    def _labels(codes: pd.Series, labels: tuple[str, ...]) -> pa.Array:
        # Category codes to labels in one numpy take; missing or unknown codes to null.
        code = np.trunc(codes.to_numpy(dtype=np.float64, na_value=np.nan))
        known = (code >= 0) & (code < len(labels))
        pick = np.where(known, np.nan_to_num(code), len(labels)).astype(np.int64)
        return pa.array(np.array([*labels, None], dtype=object)[pick], pa.string())

    in_force = in_force_mask(patents)
    prob_col = "litigation.probability"
    grades = pa.nulls(len(patents), pa.string())
    probs = patents[prob_col].to_numpy() if prob_col in patents.columns else None
    if probs is not None and policy is not None:
        scale = policy.product(Product.ENFORCEMENT).scale
        uppers = np.array([b.upper for b in scale[:-1]])
        idx = np.searchsorted(uppers, np.clip(probs, 0.0, 1.0), side="right")
        grades = pa.array(np.array([str(b.grade) for b in scale], dtype=object)[idx], pa.string())
    return pa.table({
        "patent_id": pa.array(patents.index.astype(str).tolist(), pa.string()),
        "jurisdiction": _labels(patents["jurisdiction"], JURISDICTIONS),
        "patent_type": _labels(patents["patent_type"], PATENT_TYPES),
        "in_force": pa.array(in_force, pa.bool_()),
        "grade": pa.array(grades, pa.string()),
        "probability": pa.array(probs if probs is not None else [None] * len(patents),
                                pa.float64()),
    })


def build_entity_frames(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    models: ModelSet,
    progress: Progress | None = None,
) -> EntityFrames:
    """Features, context and every champion's outputs of the dataset's entities as of `as_of`."""
    from serving.scoring.entities import class_only_severity_frame, severity_frame

    say = progress or (lambda _step, _f: None)
    steps: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        steps[name] = steps.get(name, 0.0) + now - clock
        clock = now

    say("features", 0.0)
    patents = patent_features(con, as_of).drop(columns="as_of").set_index("patent_id")
    say("features", 0.05)
    firms = (firm_features(con, as_of).drop(columns="as_of").set_index("assignee_id")
             if _has(con, "firm_technology") else
             pd.DataFrame(columns=list(FIRM_FEATURES), index=pd.Index([], name="assignee_id")))
    lap("features")
    context = context_tables(con, as_of)
    firm_classes = main_classes(con)
    say("context", 0.1)
    keys = sorted({""} | {severity_class_key(c) for c in firm_classes["main_class"]})
    classes = pd.concat([class_only_severity_frame(k or None, "liability") for k in keys])
    classes.index = pd.Index(keys, name="class_key")

    work = {"litigation": len(patents), "severity": len(patents), "value": len(patents),
            "liability": len(firms)}
    total = max(1, sum(n for t, n in work.items() if t in models.models))
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        say("models", 0.1 + 0.75 * done / total)

    # Only in-force patents' explanations are served from the store (quotes and pledges refuse
    # the others); the rest keep their plain outputs and are explained on demand when asked.
    in_force = in_force_mask(patents)
    masks = {"all": np.ones(len(patents), bool), "in_force": in_force,
             "none": np.zeros(len(patents), bool)}
    p_out: dict[str, pd.DataFrame] = {}
    p_explained: dict[str, dict[str, Any]] = {}
    lap("context")
    for task in PATENT_TASKS:
        served = models.models.get(task)
        if served is None:
            continue
        rule = PATENT_EXPLANATIONS.get(task, "all")
        frame = severity_frame(patents, "enforcement") if task == "severity" else patents
        p_out[task] = _predict_chunks(served, frame, step, explain=masks[rule])
        p_explained[task] = {"rule": rule, "rows": int(masks[rule].sum())}
        lap(task)
    f_out: dict[str, pd.DataFrame] = {}
    if "liability" in models.models:
        f_out["liability"] = _predict_chunks(models.models["liability"], firms, step)
        lap("liability")
    c_out: dict[str, pd.DataFrame] = {}
    if "severity" in models.models and len(classes):
        c_out["severity"] = _predict_chunks(models.models["severity"], classes, lambda _n: None)
        lap("severity classes")
    patent_frame = with_outputs(patents, p_out)
    say("index", 0.87)
    stored = pa.table({"patent_id": pa.array(patents.index.astype(str).tolist(), pa.string())})
    frames = EntityFrames(
        as_of=as_of,
        patents=patent_frame,
        firms=with_outputs(firms, f_out),
        severity_classes=with_outputs(classes, c_out),
        firm_classes=firm_classes,
        context=context,
        orphans=_orphans(con, stored),
        patent_index=_patent_index(patent_frame, models.policy),
        steps=steps,
        explained={
            "patent": {"rows": len(patents), "tasks": p_explained},
            "firm": {"rows": len(firms),
                     "tasks": {t: {"rule": "all", "rows": len(firms)} for t in f_out}},
        },
    )
    lap("assemble")
    return frames


def ipc_bytes(table: pa.Table) -> bytes:
    """An Arrow table as IPC stream bytes."""
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def ipc_table(data: bytes) -> pa.Table:
    """An Arrow table from IPC stream bytes."""
    return ipc.open_stream(io.BytesIO(data)).read_all()


def write_generation(
    store: OnlineStore, frames: EntityFrames, stamp: Stamp, started: float,
    progress: Progress | None = None,
) -> MaterializeReport:
    """Write `frames` as a new generation beside the current one and swap it in."""
    say = progress or (lambda _step, _f: None)
    began = time.perf_counter()
    writer = store.begin()
    try:
        layouts = {}
        for ns, frame in (("patent", frames.patents), ("firm", frames.firms)):
            layout = RecordLayout.of(frame)
            writer.put_many(ns, layout.encode(frame))
            layouts[ns] = layout.to_json()
            say("write", 0.87 + (0.1 if ns == "patent" else 0.12))
        sev = frames.severity_classes.reset_index()
        blobs = {
            "ctx_class_counts": frames.context.class_counts,
            "ctx_owner_counts": frames.context.owner_counts,
            "ctx_assignees": frames.context.assignees,
            "orphans": pa.table({"patent_id": pa.array(frames.orphans, pa.string())}),
            "severity_classes": pa.Table.from_pandas(sev, preserve_index=False),
            "firm_classes": pa.Table.from_pandas(frames.firm_classes, preserve_index=False),
            "patent_index": frames.patent_index,
        }
        for name, table in blobs.items():
            writer.put_blob(name, ipc_bytes(table))
        rows = {"patent": len(frames.patents), "firm": len(frames.firms)}
        now = time.perf_counter()
        seconds = now - started
        steps = {**{k: round(v, 3) for k, v in frames.steps.items()},
                 "write": round(now - began, 3)}
        manifest = {
            "generation": writer.generation,
            "stamp": asdict(stamp),
            "layouts": layouts,
            "rows": rows,
            # Records without SHAP (NaN) are explained on demand; this says which ones have it.
            "explained": frames.explained,
            "seconds": round(seconds, 3),
            "step_seconds": steps,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        writer.commit(manifest)
    except BaseException:
        writer.abort()
        raise
    say("done", 1.0)
    return MaterializeReport(writer.generation, rows, seconds, stamp, steps)


def materialize(
    settings: Settings,
    models: ModelSet,
    store: OnlineStore,
    progress: Progress | None = None,
) -> MaterializeReport:
    """Materialize the active dataset with `models` into `store` (a new generation, swapped in).

    The rebuild is announced in the store's status (what and why, how far) for `/readyz`.
    """
    started = time.perf_counter()
    stamp = expected_stamp(settings, models)
    table_store = TableStore(settings.dataset_dir)
    if not table_store.exists("patents"):
        raise FileNotFoundError(f"dataset {settings.dataset_dir} has no patents table")
    current = store.current()
    why = "no materialization yet"
    if current is not None:
        old = Stamp.from_dict(current.manifest.get("stamp", {}))
        why = "; ".join(old.differences(stamp)) or "requested"
        current.close()
    status = {"rebuilding": True, "reason": why, "stamp": asdict(stamp),
              "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "step": "start", "fraction": 0.0}
    last = [0.0]

    def report(step: str, fraction: float) -> None:
        if progress:
            progress(step, fraction)
        if fraction - last[0] >= 0.05 or step == "done":
            last[0] = fraction
            store.set_status({**status, "step": step, "fraction": round(fraction, 3)})

    store.set_status(status)
    con = table_store.connect(duckdb.connect())
    try:
        frames = build_entity_frames(con, dt.date.fromisoformat(stamp.as_of), models, report)
        result = write_generation(store, frames, stamp, started, report)
    finally:
        con.close()
        store.set_status(None)
    log.info("materialized %s: %s rows in %.1f s (%s)", result.generation,
             json.dumps(result.rows), result.seconds, why)
    return result
