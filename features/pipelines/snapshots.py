"""Training snapshots: population, features as of T and label after T, for every task."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.pipelines.frames import (
    LOAN_FEATURES,
    firm_frame,
    loan_frame,
    loan_rows_from_table,
    patent_frame,
)
from features.pipelines.labels import (
    HORIZON_MONTHS,
    default_labels,
    liability_labels,
    litigation_labels,
    severity_labels,
    value_labels,
)
from features.pipelines.leakage import Recompute, assert_point_in_time
from features.pipelines.query import FeatureBlock
from features.pipelines.relations import TableRelations
from features.registry import TASKS, task_features

log = logging.getLogger(__name__)

# Yearly snapshots start this many years after the first recorded case, so that owner and class
# suit histories have something to say.
HISTORY_YEARS = 2
SNAPSHOT_COLUMNS = ("entity_id", "as_of", "label", "truth", "label_date")


def dataset_end_date(con: duckdb.DuckDBPyConnection) -> date:
    """The dataset's `end_date` from the dataset.json beside its Parquet files.

    Falls back to the latest dated fact when the dataset has no metadata.
    """
    row = con.execute(
        "SELECT sql FROM duckdb_views() WHERE view_name = 'patents' AND NOT internal"
    ).fetchone()
    if row:
        m = re.search(r"read_parquet\('([^']+)'\)", row[0])
        if m:
            meta_path = Path(m.group(1)).parent / "dataset.json"
            if meta_path.exists():
                meta = json.loads(meta_path.read_text())
                if meta.get("end_date"):
                    return date.fromisoformat(str(meta["end_date"]))
    rel = TableRelations.from_connection(con)
    row = con.execute(rel.render(
        "SELECT greatest((SELECT max(citation_date) FROM {citations}), "
        "(SELECT max(event_date) FROM {legal_events}), (SELECT max(filed_date) FROM {cases}), "
        "(SELECT max(grant_date) FROM {patents}))"
    )).fetchone()
    last = row[0] if row else None
    if last is None:
        raise ValueError("dataset has no end_date in dataset.json and no dated facts")
    return pd.Timestamp(last).date()


def default_snapshot_dates(con: duckdb.DuckDBPyConnection, end_date: date) -> list[date]:
    """31 December of each year whose 12-month label window ends by `end_date`."""
    rel = TableRelations.from_connection(con)
    row = con.execute(rel.render(
        "SELECT (SELECT min(filed_date) FROM {cases}), (SELECT min(grant_date) FROM {patents})"
    )).fetchone()
    first_case, first_grant = row if row else (None, None)
    start_from = first_case if first_case is not None else first_grant
    if start_from is None:
        return []
    start = pd.Timestamp(start_from).year + HISTORY_YEARS
    last = end_date.year - 1 if (end_date.month, end_date.day) == (12, 31) else end_date.year - 2
    return [date(y, 12, 31) for y in range(start, last + 1)]


def _as_dates(values: Sequence[date] | None) -> list[date] | None:
    """Dates given as date, datetime or string, as `date`."""
    return None if values is None else sorted({pd.Timestamp(v).date() for v in values})


def _within(pop: pd.DataFrame, dates: list[date] | None) -> pd.DataFrame:
    """Event-task rows whose as-of date lies within the span of `dates` (all when None)."""
    if not dates:
        return pop
    lo, hi = pd.Timestamp(min(dates)), pd.Timestamp(max(dates))
    return pop[(pop["as_of"] >= lo) & (pop["as_of"] <= hi)].reset_index(drop=True)


def build_snapshots(
    con: duckdb.DuckDBPyConnection,
    task: str,
    as_of_dates: Sequence[date] | None = None,
    *,
    end_date: date | None = None,
    extra_blocks: Sequence[FeatureBlock] = (),
    check_leakage: bool = True,
) -> pd.DataFrame:
    """Training frame of `task`: entity_id, as_of, the task's features, label and truth.

    Yearly tasks (litigation, liability) use `as_of_dates` (default: 31 December of each year
    whose label window fits before the dataset's end date). Event tasks (default, severity,
    value) take T from each event and keep those within the span of `as_of_dates` if given.
    Raises `LeakageError` when a sample recomputed without post-T facts differs.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    end = end_date or dataset_end_date(con)
    dates = _as_dates(as_of_dates)
    names = task_features(task)
    extra = [c for b in extra_blocks for c in b.columns]
    rel = TableRelations.from_connection(con)

    if task in ("litigation", "liability"):
        dates = dates if dates is not None else default_snapshot_dates(con, end)
        late = [d for d in dates if pd.Timestamp(d) + pd.DateOffset(months=HORIZON_MONTHS)
                > pd.Timestamp(end)]
        if late:
            raise ValueError(
                f"as_of_dates must leave a {HORIZON_MONTHS}-month label window before the "
                f"dataset end_date {end}, got {late[0]}"
            )
        if not dates:
            return _empty(names + extra)
        yearly_labels = litigation_labels if task == "litigation" else liability_labels
        pop = yearly_labels(con, dates)
    elif task == "default":
        pop = _within(default_labels(con, end), dates)
    elif task == "severity":
        pop = _within(severity_labels(con, end), dates)
    else:
        pop = _within(value_labels(con, end), dates)
    if pop.empty:
        return _empty(names + extra)

    id_col, recompute = _recompute(con, task, pop, extra_blocks)
    feats = recompute(rel, pop)
    keys = ["entity_id", "as_of"] + (["claim_kind"] if task == "severity" else [])
    frame = pop.merge(feats, on=keys, how="left", validate="one_to_one")
    if check_leakage:
        checked = [n for n in [*names, *extra] if n != "claim_kind"]
        assert_point_in_time(frame, keys, checked, rel, recompute)
    cols = ["entity_id", "as_of", *names, *extra, "label", "truth", "label_date"]
    frame = frame[cols].sort_values(keys, kind="stable").reset_index(drop=True)
    log.info("snapshots built", extra={"task": task, "rows": len(frame)})
    return frame


def _empty(features: list[str]) -> pd.DataFrame:
    """An empty snapshot frame with the contract's columns."""
    cols = {"entity_id": pd.Series([], dtype=str), "as_of": pd.Series([], dtype="datetime64[ns]")}
    cols.update({n: pd.Series([], dtype="float64") for n in features})
    cols.update({"label": pd.Series([], dtype="float64"), "truth": pd.Series([], dtype="float64"),
                 "label_date": pd.Series([], dtype="datetime64[ns]")})
    return pd.DataFrame(cols)


def _recompute(
    con: duckdb.DuckDBPyConnection,
    task: str,
    pop: pd.DataFrame,
    blocks: Sequence[FeatureBlock],
) -> tuple[str, Recompute]:
    """The function computing `task` features for rows (entity_id, as_of, ...) under relations."""
    if task == "liability":
        fblocks = [b for b in blocks if b.entity == "firm"]

        def firms(relations: TableRelations, rows: pd.DataFrame) -> pd.DataFrame:
            pairs = rows[["entity_id", "as_of"]].rename(columns={"entity_id": "assignee_id"})
            out = firm_frame(con, pairs, relations=relations, blocks=fblocks)
            return out.rename(columns={"assignee_id": "entity_id"})

        return "assignee_id", firms
    if task == "default":
        loans_all, pledges_all = loan_rows_from_table(con)
        lblocks = [b for b in blocks if b.entity == "loan"]

        def loans(relations: TableRelations, rows: pd.DataFrame) -> pd.DataFrame:
            ids = pa.array(rows["entity_id"].astype(str).tolist(), pa.string())
            keep = pc.is_in(loans_all["loan_id"], value_set=ids)
            keep_p = pc.is_in(pledges_all["loan_id"], value_set=ids)
            out = loan_frame(con, loans_all.filter(keep), pledges_all.filter(keep_p),
                             relations=relations, names=LOAN_FEATURES, blocks=lblocks)
            return out.rename(columns={"loan_id": "entity_id"})

        return "loan_id", loans
    pblocks = [b for b in blocks if b.entity == "patent"]
    patent_col = "patent_id" if task == "severity" else "entity_id"

    def patents(relations: TableRelations, rows: pd.DataFrame) -> pd.DataFrame:
        pairs = rows[[patent_col, "as_of"]].rename(columns={patent_col: "patent_id"})
        out = patent_frame(con, pairs.drop_duplicates(), relations=relations, blocks=pblocks)
        if task != "severity":
            return out.rename(columns={"patent_id": "entity_id"})
        merged = rows[["entity_id", "as_of", "patent_id", "claim_kind"]].merge(
            out, on=["patent_id", "as_of"], how="left"
        )
        return merged.drop(columns="patent_id")

    return "patent_id", patents
