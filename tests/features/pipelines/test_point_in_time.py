"""Property: adding or removing events dated after T changes no feature as of T."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.pipelines import LoanFacts, firm_features, loan_features, patent_features
from features.schema import EVENT_TYPES, table

from .conftest import hand_tables, write_world

PATENTS = ["P1", "P2", "P3", "P4", "P5"]
FIRMS = ["A", "B", "C"]
AS_OF = [date(2014, 12, 31), date(2015, 6, 30), date(2015, 12, 31)]


def _after(t: date) -> st.SearchStrategy[date]:
    return st.integers(1, 3000).map(lambda d: t + timedelta(days=d))


def _events(t: date) -> st.SearchStrategy[tuple[str, dict[str, object]]]:
    """One random event dated after `t`, as (table, row)."""
    pid, firm = st.sampled_from(PATENTS), st.sampled_from(FIRMS)
    return st.one_of(
        st.builds(lambda a, b, d: ("citations", {
            "citing_patent_id": a, "cited_patent_id": b, "citation_date": d,
            "by_examiner": False}), pid, st.sampled_from([*PATENTS, "X1"]), _after(t)),
        st.builds(lambda p, k, f, d: ("legal_events", {
            "event_id": f"N{abs(hash((p, k, f, d))) % 10**9}", "patent_id": p, "event_date": d,
            "event_type": k, "counterparty_id": f}), pid, st.sampled_from(EVENT_TYPES), firm,
            _after(t)),
        st.builds(lambda p, a, b, d: ("cases", {
            "case_id": f"N{d.isoformat()}{p}", "patent_id": p, "filed_date": d,
            "plaintiff_id": a, "defendant_id": b, "outcome": "settled",
            "closed_date": d + timedelta(days=10), "damages": 1.0}), pid, firm, firm,
            _after(t)),
        st.builds(lambda f, y: ("firm_financials", {
            "assignee_id": f, "year": y, "revenue": 9e9, "total_assets": 1e9, "debt": 1.0,
            "net_income": -5.0, "currency": "CNY"}), firm, st.integers(t.year, t.year + 3)),
        st.builds(lambda p, d: ("transactions", {
            "transaction_id": f"N{d.isoformat()}{p}", "patent_id": p, "date": d, "price": 1.0,
            "currency": "CNY", "kind": "sale"}), pid, _after(t)),
        st.builds(lambda f, d: ("loans", {
            "loan_id": f"N{d.isoformat()}{f}", "borrower_id": f, "lender": "X", "start_date": d,
            "term_months": 12, "amount": 5.0, "currency": "CNY", "outcome": "defaulted",
            "default_date": d + timedelta(days=5)}), firm, _after(t)),
    )


_DATE_OF = {
    "citations": "citation_date", "legal_events": "event_date", "cases": "filed_date",
    "transactions": "date", "loans": "start_date",
}


def _known_by(name: str, df: pd.DataFrame, t: date) -> pd.Series:
    if name == "firm_financials":
        return pd.to_datetime(df["year"].astype(int).astype(str) + "-04-01") \
            + pd.DateOffset(years=1) <= pd.Timestamp(t)
    return pd.to_datetime(df[_DATE_OF[name]]) <= pd.Timestamp(t)


def _features(root: Path, tables: dict[str, pd.DataFrame], t: date) -> list[pd.DataFrame]:
    con = write_world(root, tables).connect()
    loan = LoanFacts(loan_id="Q", as_of=t, borrower_id="C", amount=10.0, term_months=12,
                     appraised_value=20.0, pledged_patent_ids=("P1", "P3", "P4"))
    return [patent_features(con, t, PATENTS), firm_features(con, t, FIRMS),
            loan_features(con, [loan])]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_events_after_t_change_nothing(data: st.DataObject) -> None:
    t = data.draw(st.sampled_from(AS_OF))
    base = hand_tables()
    changed = {k: v.copy() for k, v in base.items()}
    for name in (*_DATE_OF, "firm_financials"):
        df = changed[name]
        late = df.index[~_known_by(name, df, t)].tolist()
        drop = data.draw(st.lists(st.sampled_from(late), unique=True) if late else st.just([]))
        changed[name] = df.drop(index=drop).reset_index(drop=True)
    kept = set(changed["loans"]["loan_id"])
    changed["loan_patents"] = changed["loan_patents"][changed["loan_patents"]["loan_id"]
                                                      .isin(kept)]
    for name, row in data.draw(st.lists(_events(t), max_size=8)):
        df = pd.concat([changed[name], pd.DataFrame([row])], ignore_index=True)
        changed[name] = df.drop_duplicates(subset=list(table(name).key), keep="first")
    with tempfile.TemporaryDirectory() as tmp:
        before = _features(Path(tmp) / "a", base, t)
        after = _features(Path(tmp) / "b", changed, t)
    for a, b in zip(before, after, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
