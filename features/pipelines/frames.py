"""Feature frames for patents, firms and loans: the one code path for training and serving.

Training passes many (id, as-of) pairs, serving one id or request facts. Facts are registered as
temporary relations unioned with the canonical views, and the same SQL runs over them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from features.pipelines.context import (
    CONTEXT_CTES,
    CONTEXT_TABLE_SELECTS,
    CONTEXT_VALUES,
    EVERY_OWNER,
    OWNER_CTES,
    PORTFOLIO_STATS,
)
from features.pipelines.facts import FirmFacts, LoanFacts, PatentFacts
from features.pipelines.firms import firm_features_sql
from features.pipelines.loans import loan_features_from_frames_query, loan_features_sql
from features.pipelines.patents import (
    PATENT_OVERRIDABLE,
    patent_features_query,
    patent_features_sql,
)
from features.pipelines.prune import prune_empty
from features.pipelines.query import (
    Cte,
    FeatureBlock,
    FeatureQuery,
    date_literal,
    fill,
    string_literal,
)
from features.pipelines.relations import (
    SOURCE_TABLES,
    TableRelations,
    empty_relation,
    register_arrow,
    union_facts,
)
from features.registry import features_for, get
from features.schema import table

PATENT_FEATURES = tuple(f.name for f in features_for("patent") if f.name != "claim_kind")
FIRM_FEATURES = tuple(f.name for f in features_for("firm"))
LOAN_FEATURES = tuple(f.name for f in features_for("loan"))


@dataclass(frozen=True)
class MaterializedContext:
    """The dataset-wide context as of one date, from which request facts get their features.

    `class_counts` (in-force patents and suits per subclass) and `owner_counts` (each firm's
    portfolio, its citations and its suits) are the counts the feature SQL adds up; `assignees`
    is the dataset's firm table (an owner's kind). Facts of entities that the dataset neither
    holds nor mentions are scored against it without scanning the dataset: their own counts plus
    these equal what the union of dataset and facts gives (`context_tables` builds it).
    """

    as_of: date
    class_counts: pa.Table
    owner_counts: pa.Table
    assignees: pa.Table

    def relations(self, con: duckdb.DuckDBPyConnection) -> tuple[TableRelations, list[str]]:
        """Relations with every dataset table empty but the firms, and this context registered."""
        names = [register_arrow(con, t, p) for t, p in (
            (self.class_counts, "ctx_class"), (self.owner_counts, "ctx_owner"),
            (self.assignees, "ctx_assignees"),
        )]
        relations = {n: empty_relation(n) for n in SOURCE_TABLES}
        relations.update(ctx_class_counts=names[0], ctx_owner_counts=names[1],
                         assignees=names[2])
        return TableRelations(relations), names


def context_tables(con: duckdb.DuckDBPyConnection, as_of: date) -> MaterializedContext:
    """The dataset's class and owner counts as of `as_of` (the context request facts add to)."""
    rel = TableRelations.from_connection(con)
    ctes = (Cte("dates", fill("SELECT {t} AS as_of", {"t": date_literal(as_of)})),
            *CONTEXT_CTES, Cte("need_owner", EVERY_OWNER), *OWNER_CTES, PORTFOLIO_STATS)
    tables = {
        name: con.sql(FeatureQuery(ctes, select, {**rel.relations, **CONTEXT_VALUES}).sql())
        .to_arrow_table()
        for name, select in CONTEXT_TABLE_SELECTS.items()
    }
    assignees = con.sql(rel.render("SELECT * FROM {assignees} ORDER BY assignee_id"))
    return MaterializedContext(
        as_of=as_of, class_counts=tables["ctx_class_counts"],
        owner_counts=tables["ctx_owner_counts"], assignees=assignees.to_arrow_table(),
    )


# The names under which a `ContextDatabase` cursor sees a request's patent facts, stated counts
# and targets, and the name of its view of the patent feature query over them.
_FACTS_PATENTS = "facts_patents"
_FACTS_OVERRIDES = "facts_overrides"
_FACTS_TARGETS = "facts_targets"
_FACTS_RELATIONS = (_FACTS_PATENTS, _FACTS_OVERRIDES, _FACTS_TARGETS)
_FACTS_VIEW = "patent_facts_features"
_CREATE_FACTS_VIEW = "CREATE TEMP VIEW {name} AS {sql}"
_SELECT_ALL = "SELECT * FROM {name}"
_DESCRIBE = "DESCRIBE {sql}"

# Optimizer passes a `ContextDatabase` cursor skips. Its queries run over a request's few rows,
# where planning is the cost: these passes took ~7 ms of a facts query's ~28 ms (DuckDB's
# profiler; `benchmarks/bench_facts.py` measures the whole path), and no plan over a handful
# of rows gains that back. Each pass only rewrites the plan into an equivalent one (same rows;
# tests compare).
_SKIPPED_OPTIMIZERS = (
    "join_order", "expression_rewriter", "projection_pullup", "common_subexpressions",
    "statistics_propagation", "unused_columns", "column_lifetime",
)
# A global setting, but of this database alone (each `ContextDatabase` is its own).
_DISABLE_OPTIMIZERS = "SET GLOBAL disabled_optimizers = '{names}'"
# No worker (nor I/O) thread; callers' threads are "external" (`ContextDatabase.__init__`).
_THREADS = ("SET GLOBAL async_threads = 0; SET GLOBAL threads = 3; "
            "SET GLOBAL external_threads = 3")

# Names of the context tables in a `ContextDatabase`.
_CONTEXT_TABLES = (("ctx_class_counts", "class_counts"), ("ctx_owner_counts", "owner_counts"),
                   ("ctx_assignees", "assignees"))
_CREATE_CONTEXT_TABLE = "CREATE TABLE {name} AS SELECT * FROM {source}"


class ContextDatabase:
    """A materialized context loaded once into its own in-memory DuckDB database.

    Facts scored against it run on a pooled cursor of that database (one per concurrent caller,
    DuckDB connections are not shared between threads), so a request neither registers the
    context tables nor opens a database: it registers only its own facts. The query is the same
    feature SQL as over `MaterializedContext` (the tables hold the same rows); for patents each
    cursor keeps it as a view, pruned of the steps that are empty whatever the facts
    (`prune_empty`), so a request neither parses nor plans those again.
    """

    def __init__(self, context: MaterializedContext) -> None:
        self.context = context
        self._con = duckdb.connect()
        # One-row queries gain nothing from parallel operators: no worker thread runs them, only
        # the caller's (every thread counted is "external"), as with `threads = 1`. DuckDB
        # still sizes each hash aggregate's table by the thread count, 2 MB zeroed per GROUP BY
        # up to two threads and an eighth of that above: with three the facts query takes ~15%
        # fewer instructions (callgrind; four or more add partitions and cost more again).
        self._con.execute(_THREADS)
        self._con.execute(fill(_DISABLE_OPTIMIZERS, {"names": ", ".join(_SKIPPED_OPTIMIZERS)}))
        for name, attr in _CONTEXT_TABLES:
            source = register_arrow(self._con, getattr(context, attr), name)
            self._con.execute(fill(_CREATE_CONTEXT_TABLE, {"name": name, "source": source}))
            self._con.unregister(source)
        relations = {n: empty_relation(n) for n in SOURCE_TABLES}
        relations.update(ctx_class_counts="ctx_class_counts",
                         ctx_owner_counts="ctx_owner_counts", assignees="ctx_assignees")
        self.relations = TableRelations(relations)
        # The patent feature query over the fixed names a request's facts are registered under:
        # the same SQL as `_patent_facts_frame` builds, parsed once per cursor (as a view).
        facts_rel = self.relations.replace(patents=union_facts(
            self.relations.relations["patents"], _FACTS_PATENTS, "patent_id",
            table("patents").column_names,
        ))
        query = patent_features_query(facts_rel, _FACTS_TARGETS, PATENT_FEATURES,
                                      _FACTS_OVERRIDES)
        self._patent_view = fill(_CREATE_FACTS_VIEW, {
            "name": _FACTS_VIEW,
            "sql": fill(_ORDERED, {"sql": self._pruned(query)}),
        })
        self._idle: queue.SimpleQueue[duckdb.DuckDBPyConnection] = queue.SimpleQueue()
        self._lock = threading.Lock()

    def _pruned(self, query: FeatureQuery) -> str:
        """`query`'s SQL without the steps that are empty whatever the facts (`prune_empty`)."""

        def step_columns(name: str) -> list[tuple[str, str]]:
            step = FeatureQuery(query.ctes, fill(_SELECT_ALL, {"name": name}), query.values)
            rows = self._con.execute(fill(_DESCRIBE, {"sql": step.sql()})).fetchall()
            return [(str(r[0]), str(r[1])) for r in rows]

        with _facts_registered(self._con, []):
            return prune_empty(query.sql(), step_columns)

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of this database for the caller's thread alone, returned to the pool after."""
        try:
            cur = self._idle.get_nowait()
        except queue.Empty:
            with self._lock:  # creating a cursor touches the parent connection
                cur = self._con.cursor()
            self._prepare(cur)
        try:
            yield cur
        finally:
            self._idle.put(cur)

    def _prepare(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Create the patent facts view on a new cursor (its temporary objects are its own)."""
        with _facts_registered(cur, []):  # the view binds to their columns once
            cur.execute(self._patent_view)

    def patent_features(
        self, facts: Sequence[PatentFacts], as_of: date
    ) -> pd.DataFrame:
        """Patent features of `facts` as of `as_of` (the context's date), on a pooled cursor.

        The facts are registered under fixed names and the cursor's view of the patent feature
        query reads them: the same query as over a `MaterializedContext`, without parsing it
        again per request.
        """
        _check_date(self.context, as_of)
        with self.cursor() as cur, _facts_registered(cur, facts, as_of):
            columns = cur.execute(fill(_SELECT_ALL, {"name": _FACTS_VIEW})).fetchnumpy()
        return _numpy_frame(columns)

    def close(self) -> None:
        """Close the database (and every cursor of it)."""
        self._con.close()


def _check_date(context: MaterializedContext, as_of: date) -> None:
    """Raise `ValueError` unless `context` is as of `as_of`."""
    if context.as_of != as_of:
        raise ValueError(
            f"context is as of {context.as_of.isoformat()}, the request as of {as_of.isoformat()}"
        )


def _context_for(
    con: duckdb.DuckDBPyConnection, context: MaterializedContext | None, as_of: date
) -> tuple[TableRelations, list[str]]:
    """The relations of a facts query: the dataset's views, or a materialized context's."""
    if context is None:
        return TableRelations.from_connection(con), []
    _check_date(context, as_of)
    return context.relations(con)


def _dates(as_of: date | Sequence[date]) -> list[date]:
    """One or many as-of dates as a list of `date`."""
    if isinstance(as_of, date):
        return [as_of]
    return [pd.Timestamp(d).date() for d in as_of]


_ORDERED = "SELECT * FROM ({sql}) ORDER BY 1, 2"
_FILED_BY = "SELECT patent_id, {t} AS as_of FROM {patents} WHERE filing_date <= {t}"


def _run(con: duckdb.DuckDBPyConnection, sql: str, temp: Sequence[str]) -> pd.DataFrame:
    """Run `sql` ordered by id and date, drop the temporary relations, return float64 features."""
    try:
        out = con.execute(fill(_ORDERED, {"sql": sql})).df()
    finally:
        for name in temp:
            con.unregister(name)
    return _frame(out)


def _frame(out: pd.DataFrame) -> pd.DataFrame:
    """A feature query's result with `as_of` as datetime64[ns] and float64 features."""
    out["as_of"] = pd.to_datetime(out["as_of"]).astype("datetime64[ns]")
    for col in out.columns[2:]:
        if out[col].dtype != "float64":
            out[col] = out[col].astype("float64")
    return out


def _numpy_frame(columns: Mapping[str, Any]) -> pd.DataFrame:
    """`_frame` of a feature query's result fetched as numpy columns (id, as_of, features).

    One float64 block for the features (NULL as NaN) instead of a pandas conversion per column:
    the same frame, built in a fraction of the time for a request's few rows.
    """
    names = list(columns)
    features = [np.ma.filled(columns[n].astype(np.float64), np.nan) for n in names[2:]]
    matrix = np.column_stack(features) if features else np.empty((len(columns[names[0]]), 0))
    out = pd.DataFrame(matrix, columns=names[2:])
    out.insert(0, names[1], columns[names[1]].astype("datetime64[ns]"))
    out.insert(0, names[0], columns[names[0]])
    return out


def _targets(id_col: str, pairs: pd.DataFrame) -> pa.Table:
    """An Arrow table of (id, as_of) pairs."""
    days = pd.to_datetime(pairs["as_of"]).to_numpy().astype("datetime64[D]")
    return pa.table({
        id_col: pa.array(pairs[id_col].astype(str).to_numpy(dtype=object), pa.string()),
        "as_of": pa.array(days, pa.date32()),
    })


def _pairs(con: duckdb.DuckDBPyConnection, relations: TableRelations, id_col: str, query: str,
           ids: Sequence[str] | None, dates: list[date]) -> pd.DataFrame:
    """Cross product of ids (or all ids from `query`) with dates."""
    if ids is None:
        ids = [r[0] for r in con.execute(relations.render(query)).fetchall()]
    return pd.DataFrame(
        [(i, d) for d in dates for i in ids], columns=[id_col, "as_of"]
    ) if ids else pd.DataFrame({id_col: pd.Series([], dtype=str), "as_of": []})


def patent_frame(
    con: duckdb.DuckDBPyConnection,
    pairs: pd.DataFrame,
    *,
    relations: TableRelations | None = None,
    names: Sequence[str] = PATENT_FEATURES,
    blocks: Sequence[FeatureBlock] = (),
    overrides: str | None = None,
) -> pd.DataFrame:
    """Patent features for each (patent_id, as_of) row of `pairs`."""
    rel = relations or TableRelations.from_connection(con)
    tname = register_arrow(con, _targets("patent_id", pairs), "patent_targets")
    return _run(con, patent_features_sql(rel, tname, names, overrides, blocks), [tname])


def patent_targets_all(relations: TableRelations, dates: Sequence[date]) -> str:
    """SQL relation of (patent_id, as_of): every patent filed by each date."""
    # Straight from the table: no round trip of a million ids via Python.
    filed = " UNION ALL ".join(relations.render(_FILED_BY, t=date_literal(d)) for d in dates)
    return fill("({rows})", {"rows": filed})


def patent_features(
    con: duckdb.DuckDBPyConnection,
    as_of: date | Sequence[date],
    patent_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Patent features as of each date for `patent_ids` (default: every patent filed by then)."""
    dates = _dates(as_of)
    rel = TableRelations.from_connection(con)
    if patent_ids is None:
        targets = patent_targets_all(rel, dates)
        return _run(con, patent_features_sql(rel, targets, PATENT_FEATURES), [])
    ids = pd.Series(list(patent_ids), dtype=object)
    pairs = pd.DataFrame({
        "patent_id": np.tile(ids.to_numpy(), len(dates)),
        "as_of": np.repeat(np.array(dates, dtype="datetime64[D]"), len(ids)),
    })
    return patent_frame(con, pairs, relations=rel)


def _patent_facts_arrow(facts: Sequence[PatentFacts]) -> tuple[pa.Table, pa.Table]:
    """Arrow tables of the facts' patents rows and of their stated counts."""
    cols = table("patents").column_names
    rows = [f.model_dump(include=set(cols)) for f in facts]
    types = {"string": pa.string(), "date": pa.date32(), "int": pa.int64()}
    # Straight from the validated values: a pandas frame would turn a column's None into NaN.
    patents = pa.table({
        c.name: pa.array([r.get(c.name) for r in rows], types[c.kind])
        for c in table("patents").columns
    })
    over: dict[str, list[object]] = {"patent_id": [f.patent_id for f in facts]}
    kinds = get("owner_kind").categories
    for n in PATENT_OVERRIDABLE:
        vals = [getattr(f, n) for f in facts]
        if n == "owner_kind":
            vals = [None if v is None else float(kinds.index(v)) for v in vals]
        over[n] = [None if v is None else float(v) for v in vals]
    overrides = pa.table({k: pa.array(v, pa.string() if k == "patent_id" else pa.float64())
                          for k, v in over.items()})
    return patents, overrides


def _facts_relations(
    facts: Sequence[PatentFacts], as_of: date | None
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """The facts' patents rows, their stated counts and their (patent_id, as_of) targets."""
    patents, overrides = _patent_facts_arrow(facts)
    targets = pa.table({
        "patent_id": pa.array([f.patent_id for f in facts], pa.string()),
        "as_of": pa.array([as_of] * len(facts), pa.date32()),
    })
    return patents, overrides, targets


@contextmanager
def _facts_registered(
    con: duckdb.DuckDBPyConnection, facts: Sequence[PatentFacts], as_of: date | None = None
) -> Iterator[None]:
    """`facts` registered on `con` under the `ContextDatabase` names, unregistered after."""
    for name, data in zip(_FACTS_RELATIONS, _facts_relations(facts, as_of), strict=True):
        con.register(name, data)
    try:
        yield
    finally:
        for name in _FACTS_RELATIONS:
            con.unregister(name)


def patent_features_for_facts(
    con: duckdb.DuckDBPyConnection,
    facts: Sequence[PatentFacts],
    as_of: date,
    context: MaterializedContext | ContextDatabase | None = None,
) -> pd.DataFrame:
    """Patent features as of `as_of` for patents described by request facts.

    With `context` the dataset is not scanned: valid only for patents the dataset neither holds
    nor mentions (no citation, event or case names them), which the caller checks. With a
    `ContextDatabase` the query runs on a cursor of it (`con` is not used).
    """
    if not facts:
        raise ValueError("facts must hold at least one patent")
    if isinstance(context, ContextDatabase):
        return context.patent_features(facts, as_of)
    rel, temp = _context_for(con, context, as_of)
    return _patent_facts_frame(con, facts, as_of, rel, temp)


def _patent_facts_frame(
    con: duckdb.DuckDBPyConnection,
    facts: Sequence[PatentFacts],
    as_of: date,
    rel: TableRelations,
    temp: list[str],
) -> pd.DataFrame:
    """Patent features of `facts` over relations `rel`; drops the relations `temp` after."""
    patents, overrides = _patent_facts_arrow(facts)
    pname = register_arrow(con, patents, "patent_facts")
    oname = register_arrow(con, overrides, "patent_overrides")
    try:
        rel = rel.replace(patents=union_facts(
            rel.relations["patents"], pname, "patent_id", table("patents").column_names
        ))
        pairs = pd.DataFrame({"patent_id": [f.patent_id for f in facts], "as_of": as_of})
        return patent_frame(con, pairs, relations=rel, overrides=oname)
    finally:
        for name in (pname, oname, *temp):
            con.unregister(name)


def firm_frame(
    con: duckdb.DuckDBPyConnection,
    pairs: pd.DataFrame,
    *,
    relations: TableRelations | None = None,
    names: Sequence[str] = FIRM_FEATURES,
    blocks: Sequence[FeatureBlock] = (),
) -> pd.DataFrame:
    """Firm features for each (assignee_id, as_of) row of `pairs`."""
    rel = relations or TableRelations.from_connection(con)
    tname = register_arrow(con, _targets("assignee_id", pairs), "firm_targets")
    return _run(con, firm_features_sql(rel, tname, names, blocks), [tname])


def firm_features(
    con: duckdb.DuckDBPyConnection,
    as_of: date | Sequence[date],
    assignee_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Firm features as of each date for `assignee_ids` (default: firms with product classes)."""
    rel = TableRelations.from_connection(con)
    query = "SELECT DISTINCT assignee_id FROM {firm_technology} ORDER BY 1"
    pairs = _pairs(con, rel, "assignee_id", query,
                   None if assignee_ids is None else list(assignee_ids), _dates(as_of))
    return firm_frame(con, pairs, relations=rel)


def _firm_facts_relations(
    con: duckdb.DuckDBPyConnection, rel: TableRelations, facts: Sequence[FirmFacts]
) -> tuple[TableRelations, list[str]]:
    """Relations with the facts' assignee, financials and technology rows replacing the db's."""
    a_cols = table("assignees").column_names
    assignees = pa.table({
        "assignee_id": pa.array([f.assignee_id for f in facts], pa.string()),
        "name": pa.array([f.name or f.assignee_id for f in facts], pa.string()),
        "kind": pa.array([f.kind for f in facts], pa.string()),
        "industry": pa.array([f.industry for f in facts], pa.string()),
        "region": pa.array([f.region for f in facts], pa.string()),
        "founded_year": pa.array([f.founded_year for f in facts], pa.int64()),
    })
    fin_rows = [(f.assignee_id, y) for f in facts for y in f.financials]
    fin = pa.table({
        "assignee_id": pa.array([a for a, _ in fin_rows], pa.string()),
        "year": pa.array([y.year for _, y in fin_rows], pa.int64()),
        "revenue": pa.array([y.revenue for _, y in fin_rows], pa.float64()),
        "total_assets": pa.array([y.total_assets for _, y in fin_rows], pa.float64()),
        "debt": pa.array([y.debt for _, y in fin_rows], pa.float64()),
        "net_income": pa.array([y.net_income for _, y in fin_rows], pa.float64()),
        "currency": pa.array([y.currency for _, y in fin_rows], pa.string()),
    })
    tech_rows = [(f.assignee_id, c, w) for f in facts for c, w in f.technology.items()]
    tech = pa.table({
        "assignee_id": pa.array([r[0] for r in tech_rows], pa.string()),
        "cpc_class": pa.array([r[1] for r in tech_rows], pa.string()),
        "weight": pa.array([r[2] for r in tech_rows], pa.float64()),
    })
    names = [register_arrow(con, t, p) for t, p in
             ((assignees, "firm_facts"), (fin, "fin_facts"), (tech, "tech_facts"))]
    # A firm described by facts replaces all its rows, also those its facts leave empty.
    firms = names[0]
    r = rel.relations
    return rel.replace(
        assignees=union_facts(r["assignees"], names[0], "assignee_id", a_cols),
        firm_financials=union_facts(r["firm_financials"], names[1], "assignee_id",
                                    table("firm_financials").column_names, keys_from=firms),
        firm_technology=union_facts(r["firm_technology"], names[2], "assignee_id",
                                    table("firm_technology").column_names, keys_from=firms),
    ), names


def firm_features_for_facts(
    con: duckdb.DuckDBPyConnection,
    facts: Sequence[FirmFacts],
    as_of: date,
    context: MaterializedContext | ContextDatabase | None = None,
) -> pd.DataFrame:
    """Firm features as of `as_of` for firms described by request facts.

    With `context` the dataset's patents, citations and cases are not scanned: the firm's
    portfolio and suits come from the context's owner counts (the facts replace only the firm's
    own row, financials and product classes). With a `ContextDatabase` the query runs on a
    cursor of it (`con` is not used).
    """
    if not facts:
        raise ValueError("facts must hold at least one firm")
    if isinstance(context, ContextDatabase):
        _check_date(context.context, as_of)
        with context.cursor() as cur:
            return _firm_facts_frame(cur, facts, as_of, context.relations, [])
    base, ctx_temp = _context_for(con, context, as_of)
    return _firm_facts_frame(con, facts, as_of, base, ctx_temp)


def _firm_facts_frame(
    con: duckdb.DuckDBPyConnection,
    facts: Sequence[FirmFacts],
    as_of: date,
    base: TableRelations,
    ctx_temp: list[str],
) -> pd.DataFrame:
    """Firm features of `facts` over relations `base`; drops the relations `ctx_temp` after."""
    rel, temp = _firm_facts_relations(con, base, facts)
    temp += ctx_temp
    try:
        pairs = pd.DataFrame({"assignee_id": [f.assignee_id for f in facts], "as_of": as_of})
        return firm_frame(con, pairs, relations=rel)
    finally:
        for name in temp:
            con.unregister(name)


def loan_frame(
    con: duckdb.DuckDBPyConnection,
    loans: pa.Table,
    pledges: pa.Table,
    *,
    relations: TableRelations | None = None,
    names: Sequence[str] = LOAN_FEATURES,
    blocks: Sequence[FeatureBlock] = (),
) -> pd.DataFrame:
    """Loan features for loan rows (loan_id, as_of, borrower_id, amount, ...) and pledges."""
    rel = relations or TableRelations.from_connection(con)
    lname = register_arrow(con, loans, "loan_targets")
    pname = register_arrow(con, pledges, "loan_pledges")
    return _run(con, loan_features_sql(rel, lname, pname, names, blocks), [lname, pname])


_LOAN_ROWS = (
    "SELECT loan_id, CAST(start_date - INTERVAL 1 DAY AS DATE) AS as_of, borrower_id, "
    "amount, term_months, appraised_value FROM {loans}{where} ORDER BY loan_id"
)
_LOAN_PLEDGES = "SELECT loan_id, patent_id FROM {loan_patents}{where}"


def loan_rows_from_table(
    con: duckdb.DuckDBPyConnection, loan_ids: Sequence[str] | None = None
) -> tuple[pa.Table, pa.Table]:
    """Loan rows (as of the day before drawdown) and pledges from the `loans` tables."""
    rel = TableRelations.from_connection(con)
    where = ""
    if loan_ids is not None:
        quoted = ", ".join(string_literal(str(i)) for i in loan_ids) or "NULL"
        where = fill(" WHERE loan_id IN ({ids})", {"ids": quoted})
    loans = con.sql(rel.render(_LOAN_ROWS, where=where)).to_arrow_table()
    pledges = con.sql(rel.render(_LOAN_PLEDGES, where=where)).to_arrow_table()
    return loans, pledges


def loan_features_for_ids(
    con: duckdb.DuckDBPyConnection, loan_ids: Sequence[str] | None = None
) -> pd.DataFrame:
    """Loan features of loans in the `loans` table, as of the day before each drawdown."""
    loans, pledges = loan_rows_from_table(con, loan_ids)
    return loan_frame(con, loans, pledges)


def loan_features(con: duckdb.DuckDBPyConnection, loans: Sequence[LoanFacts]) -> pd.DataFrame:
    """Loan features for loans described by request facts (borrower and patents by id or facts)."""
    if not loans:
        raise ValueError("loans must hold at least one loan")
    ids = [ln.loan_id for ln in loans]
    if len(set(ids)) != len(ids):
        raise ValueError("loans.loan_id must be unique within a request")
    rel = TableRelations.from_connection(con)
    temp: list[str] = []
    try:
        firms = [ln.borrower for ln in loans if ln.borrower is not None]
        if firms:
            rel, names = _firm_facts_relations(con, rel, firms)
            temp += names
        patents = [p for ln in loans for p in ln.pledged_patents]
        if patents:
            ptab, _ = _patent_facts_arrow(list({p.patent_id: p for p in patents}.values()))
            pname = register_arrow(con, ptab, "patent_facts")
            temp.append(pname)
            rel = rel.replace(patents=union_facts(
                rel.relations["patents"], pname, "patent_id", table("patents").column_names
            ))
        loan_tab = pa.table({
            "loan_id": pa.array(ids, pa.string()),
            "as_of": pa.array([ln.as_of for ln in loans], pa.date32()),
            "borrower_id": pa.array([ln.borrower_key for ln in loans], pa.string()),
            "amount": pa.array([ln.amount for ln in loans], pa.float64()),
            "term_months": pa.array([ln.term_months for ln in loans], pa.int64()),
            "appraised_value": pa.array([ln.appraised_value for ln in loans], pa.float64()),
        })
        links = [(ln.loan_id, p) for ln in loans for p in
                 dict.fromkeys([*ln.pledged_patent_ids, *(x.patent_id for x in
                                                          ln.pledged_patents)])]
        pledge_tab = pa.table({
            "loan_id": pa.array([a for a, _ in links], pa.string()),
            "patent_id": pa.array([b for _, b in links], pa.string()),
        })
        return loan_frame(con, loan_tab, pledge_tab, relations=rel)
    finally:
        for name in temp:
            con.unregister(name)


def loan_features_from_frames(
    con: duckdb.DuckDBPyConnection,
    loans: Sequence[LoanFacts],
    patents: pd.DataFrame,
    firms: pd.DataFrame,
) -> pd.DataFrame:
    """Loan features of stored borrowers and pledged patents whose features are given.

    `patents` (patent_id, as_of, patent features) and `firms` (assignee_id, as_of, firm
    features) hold the rows the loan SQL would otherwise build from the dataset.
    """
    if not loans:
        raise ValueError("loans must hold at least one loan")
    if any(ln.borrower is not None or ln.pledged_patents for ln in loans):
        raise ValueError("loans given by frames must name the borrower and patents by id")
    loan_tab = pa.table({
        "loan_id": pa.array([ln.loan_id for ln in loans], pa.string()),
        "as_of": pa.array([ln.as_of for ln in loans], pa.date32()),
        "borrower_id": pa.array([ln.borrower_key for ln in loans], pa.string()),
        "amount": pa.array([ln.amount for ln in loans], pa.float64()),
        "term_months": pa.array([ln.term_months for ln in loans], pa.int64()),
        "appraised_value": pa.array([ln.appraised_value for ln in loans], pa.float64()),
    })
    links = [(ln.loan_id, p) for ln in loans for p in dict.fromkeys(ln.pledged_patent_ids)]
    pledge_tab = pa.table({
        "loan_id": pa.array([a for a, _ in links], pa.string()),
        "patent_id": pa.array([b for _, b in links], pa.string()),
    })

    def _rows(df: pd.DataFrame) -> pa.Table:
        out = df.copy()
        out["as_of"] = pd.to_datetime(out["as_of"]).dt.date
        return pa.Table.from_pandas(out, preserve_index=False)

    temp = [register_arrow(con, t, p) for t, p in (
        (loan_tab, "loan_targets"), (pledge_tab, "loan_pledges"),
        (_rows(patents), "pledged_rows"), (_rows(firms), "borrower_rows"),
    )]
    query = loan_features_from_frames_query(TableRelations.from_connection(con), temp[0],
                                            temp[1], temp[2], temp[3], LOAN_FEATURES)
    return _run(con, query.sql(), temp)
