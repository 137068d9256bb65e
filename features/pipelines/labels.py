"""Task populations and labels with explicit horizons, per docs/architecture.md."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import duckdb
import pandas as pd

from features.pipelines.context import CONTEXT_CTES, CONTEXT_VALUES
from features.pipelines.query import Cte, FeatureQuery, date_literal, fill
from features.pipelines.relations import TableRelations

# Label window of the yearly tasks: the 12 months after T, i.e. calendar year T.year + 1.
HORIZON_MONTHS = 12

# Right censoring of claim costs: severity learns only from cases closed by the data's end, and in
# the newest filing cohorts only the fast (cheap) cases have closed. Cases are kept only from
# cohorts that had time to close: filed at least the time by which 95 % of the cases of mature
# cohorts (filed 10 or more years before the end) had closed. Too few mature cases: 3 years.
SEVERITY_CLOSED_SHARE = 0.95
MATURE_COHORT_YEARS = 10
MIN_MATURE_CASES = 30
DEFAULT_MATURITY_DAYS = 3 * 365

_DATES = "SELECT * FROM (VALUES {rows}) v(as_of)"
_DATE_ROW = "({day})"

# Each label query reads the oracle through `{truth}`: a correlated subquery when the `truth_*`
# table exists, else NULL.
_LITIGATION_TRUTH = (
    "(SELECT p_litigation FROM truth_patent_year y WHERE y.patent_id = o.patent_id "
    "AND y.year = year(d.as_of) + 1)"
)
_LITIGATION = """
SELECT o.patent_id AS entity_id, d.as_of,
       CAST(EXISTS (SELECT 1 FROM {cases} c
             WHERE c.patent_id = o.patent_id AND c.filed_date > d.as_of
               AND c.filed_date <= d.as_of + INTERVAL {horizon_months} MONTH)
            AS DOUBLE) AS label,
       CAST({truth} AS DOUBLE) AS truth,
       CAST(d.as_of + INTERVAL {horizon_months} MONTH AS DATE) AS label_date
FROM dates d JOIN spans o ON o.start <= d.as_of AND o.stop > d.as_of
ORDER BY d.as_of, o.patent_id
"""

_LIABILITY_TRUTH = (
    "(SELECT p_sued FROM truth_firm_year y WHERE y.assignee_id = f.assignee_id "
    "AND y.year = year(d.as_of) + 1)"
)
_LIABILITY = """
SELECT f.assignee_id AS entity_id, d.as_of,
       CAST(EXISTS (SELECT 1 FROM {cases} c
             WHERE c.defendant_id = f.assignee_id AND c.filed_date > d.as_of
               AND c.filed_date <= d.as_of + INTERVAL {horizon_months} MONTH)
            AS DOUBLE) AS label,
       CAST({truth} AS DOUBLE) AS truth,
       CAST(d.as_of + INTERVAL {horizon_months} MONTH AS DATE) AS label_date
FROM ({dates}) d
CROSS JOIN (SELECT DISTINCT assignee_id FROM {firm_technology}) f
LEFT JOIN {assignees} a ON a.assignee_id = f.assignee_id
WHERE a.founded_year IS NULL OR a.founded_year <= year(d.as_of)
ORDER BY d.as_of, f.assignee_id
"""

_DEFAULT_TRUTH = "(SELECT p_default FROM truth_loans t WHERE t.loan_id = l.loan_id)"
_DEFAULT = """
SELECT l.loan_id AS entity_id, CAST(l.start_date - INTERVAL 1 DAY AS DATE) AS as_of,
       CAST(l.outcome = 'defaulted' AND l.default_date IS NOT NULL
            AND l.default_date <= l.start_date + to_months(l.term_months) AS DOUBLE)
         AS label,
       CAST({truth} AS DOUBLE) AS truth,
       CAST(l.start_date + to_months(l.term_months) AS DATE) AS label_date
FROM {loans} l
WHERE l.start_date + to_months(l.term_months) <= {end_date}
ORDER BY as_of, entity_id
"""

_SEVERITY = """
WITH closed AS (
  SELECT case_id, min(patent_id) AS patent_id, min(filed_date) AS filed_date,
         max(closed_date) AS closed_date,
         max(plaintiff_legal_cost) AS plc, max(damages) AS dmg,
         max(defendant_legal_cost) AS dlc
  FROM {cases}
  WHERE outcome IS NOT NULL AND closed_date IS NOT NULL
    AND closed_date <= {end_date}
  GROUP BY case_id
  HAVING min(filed_date) <= {last_filing}
)
SELECT case_id AS entity_id, CAST(filed_date - INTERVAL 1 DAY AS DATE) AS as_of,
       patent_id, 0.0 AS claim_kind, plc AS label, CAST(NULL AS DOUBLE) AS truth,
       closed_date AS label_date
FROM closed WHERE plc IS NOT NULL
UNION ALL
SELECT case_id, CAST(filed_date - INTERVAL 1 DAY AS DATE), patent_id, 1.0,
       coalesce(dmg, 0) + coalesce(dlc, 0), NULL, closed_date
FROM closed WHERE dmg IS NOT NULL OR dlc IS NOT NULL
ORDER BY as_of, entity_id, claim_kind
"""

# Days from filing by which SEVERITY_CLOSED_SHARE of the cases of mature cohorts (filed at
# least MATURE_COHORT_YEARS before the data's end, nearly all closed) had closed.
_TIME_TO_CLOSE = """
SELECT count(*) AS n,
       quantile_cont(datediff('day', filed, closed), {share}) AS days
FROM (SELECT case_id, min(filed_date) AS filed, max(closed_date) AS closed
      FROM {cases} GROUP BY case_id)
WHERE filed <= CAST({end_date} - INTERVAL {mature_years} YEAR AS DATE)
  AND closed IS NOT NULL AND closed <= {end_date}
"""

_VALUE_TRUTH = "(SELECT value FROM truth_value v WHERE v.patent_id = t.patent_id)"
# The oracle table and `{truth}` subquery of each task with one (for engines other than DuckDB).
TRUTH_SUBQUERIES = {
    "litigation": ("truth_patent_year", _LITIGATION_TRUTH),
    "liability": ("truth_firm_year", _LIABILITY_TRUTH),
    "default": ("truth_loans", _DEFAULT_TRUTH),
    "value": ("truth_value", _VALUE_TRUTH),
}
_VALUE = """
SELECT t.patent_id AS entity_id, CAST(t.date - INTERVAL 1 DAY AS DATE) AS as_of,
       t.transaction_id, CAST(t.price AS DOUBLE) AS label, CAST({truth} AS DOUBLE) AS truth,
       t.date AS label_date
FROM {transactions} t JOIN {patents} p ON p.patent_id = t.patent_id
WHERE p.grant_date < t.date AND t.date <= {end_date}
ORDER BY as_of, entity_id, t.transaction_id
"""


def _present(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the connection has a relation called `name`."""
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    return bool(row and row[0])


def _truth(con: duckdb.DuckDBPyConnection, table_name: str, subquery: str) -> str:
    """`subquery` reading the oracle when `table_name` exists, else NULL."""
    return subquery if _present(con, table_name) else "NULL"


def dates_relation(dates: Sequence[date]) -> str:
    """SQL of a `(as_of)` relation holding `dates`."""
    return fill(_DATES, {
        "rows": ", ".join(fill(_DATE_ROW, {"day": date_literal(d)}) for d in dates),
    })


def _frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """Run a population query returning entity_id, as_of, label, truth (+ extras)."""
    out = con.execute(sql).df()
    out["entity_id"] = out["entity_id"].astype(str)
    out["as_of"] = pd.to_datetime(out["as_of"]).astype("datetime64[ns]")
    out["label"] = out["label"].astype("float64")
    out["truth"] = out["truth"].astype("float64")
    if "label_date" in out.columns:
        out["label_date"] = pd.to_datetime(out["label_date"]).astype("datetime64[ns]")
    return out


def litigation_labels_sql(relations: TableRelations, dates: Sequence[date], truth: str) -> str:
    """SQL of the litigation population at each date with its label and `truth` expression."""
    return FeatureQuery(
        ctes=(Cte("dates", dates_relation(dates)), *CONTEXT_CTES),
        select=_LITIGATION,
        values={**relations.relations, **CONTEXT_VALUES, "truth": truth,
                "horizon_months": str(HORIZON_MONTHS)},
    ).sql()


def litigation_labels(con: duckdb.DuckDBPyConnection, dates: Sequence[date]) -> pd.DataFrame:
    """Patents granted and in force at each T; label 1 if a case on it is filed in (T, T+12m]."""
    truth = _truth(con, "truth_patent_year", _LITIGATION_TRUTH)
    return _frame(con, litigation_labels_sql(TableRelations.from_connection(con), dates, truth))


def liability_labels_sql(relations: TableRelations, dates: Sequence[date], truth: str) -> str:
    """SQL of the liability population at each date with its label and `truth` expression."""
    return relations.render(_LIABILITY, dates=dates_relation(dates), truth=truth,
                            horizon_months=str(HORIZON_MONTHS))


def liability_labels(con: duckdb.DuckDBPyConnection, dates: Sequence[date]) -> pd.DataFrame:
    """Firms with product classes (founded by T); label 1 if named defendant in (T, T+12m]."""
    truth = _truth(con, "truth_firm_year", _LIABILITY_TRUTH)
    return _frame(con, liability_labels_sql(TableRelations.from_connection(con), dates, truth))


def default_labels_sql(relations: TableRelations, end_date: date, truth: str) -> str:
    """SQL of the loans whose term ends by `end_date`, with label and `truth` expression."""
    return relations.render(_DEFAULT, end_date=date_literal(end_date), truth=truth)


def default_labels(con: duckdb.DuckDBPyConnection, end_date: date) -> pd.DataFrame:
    """Loans as of the day before drawdown; label 1 if defaulted within the term.

    Loans whose term ends after `end_date` are left out whatever their outcome so far: keeping
    a running loan only once it has defaulted would select on the label and inflate the newest
    period's default rate.
    """
    truth = _truth(con, "truth_loans", _DEFAULT_TRUTH)
    return _frame(con, default_labels_sql(TableRelations.from_connection(con), end_date, truth))


def time_to_close_sql(relations: TableRelations, end_date: date) -> str:
    """SQL of (n, days): mature cases and the days by which 95 % of them had closed."""
    return relations.render(
        _TIME_TO_CLOSE, end_date=date_literal(end_date), share=str(SEVERITY_CLOSED_SHARE),
        mature_years=str(MATURE_COHORT_YEARS),
    )


def maturity_days(n: int | None, days: float | None) -> int:
    """The maturity of `time_to_close_sql`'s answer, the default when too few cases matured."""
    if not n or n < MIN_MATURE_CASES or days is None:
        return DEFAULT_MATURITY_DAYS
    return int(round(float(days)))


def severity_maturity_days(con: duckdb.DuckDBPyConnection, end_date: date) -> int:
    """Days after filing by which 95 % of the cases of mature cohorts had closed."""
    relations = TableRelations.from_connection(con)
    row = con.execute(time_to_close_sql(relations, end_date)).fetchone()
    n, days = row if row is not None else (0, None)
    return maturity_days(n, days)


def severity_last_filing(con: duckdb.DuckDBPyConnection, end_date: date) -> date:
    """The newest filing date whose cases had time to close by `end_date`."""
    return end_date - timedelta(days=severity_maturity_days(con, end_date))


def severity_labels_sql(relations: TableRelations, end_date: date, last_filing: date) -> str:
    """SQL of the cases filed by `last_filing` and closed by `end_date`, one row per claim kind."""
    return relations.render(_SEVERITY, end_date=date_literal(end_date),
                            last_filing=date_literal(last_filing))


def severity_labels(con: duckdb.DuckDBPyConnection, end_date: date) -> pd.DataFrame:
    """Closed cases of cohorts that had time to close, as of the day before filing, with cost.

    Claim kind 0 (enforcement) costs the plaintiff's legal cost; 1 (liability) damages plus the
    defendant's legal cost. Case-level amounts repeated over a case's patent rows count once; the
    case's first patent (by id) carries the patent features. `label_date` is the closing date.
    """
    return _frame(con, severity_labels_sql(TableRelations.from_connection(con), end_date,
                                           severity_last_filing(con, end_date)))


def value_labels_sql(relations: TableRelations, end_date: date, truth: str) -> str:
    """SQL of the transactions on granted patents by `end_date`, price as label."""
    return relations.render(_VALUE, end_date=date_literal(end_date), truth=truth)


def value_labels(con: duckdb.DuckDBPyConnection, end_date: date) -> pd.DataFrame:
    """Transactions as of the day before the deal on granted patents; label = price."""
    truth = _truth(con, "truth_value", _VALUE_TRUTH)
    return _frame(con, value_labels_sql(TableRelations.from_connection(con), end_date, truth))
