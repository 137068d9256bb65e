"""A tiny hand-built world whose feature values the tests work out by hand."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from features.store import TableStore

END_DATE = "2017-12-31"


def hand_tables() -> dict[str, pd.DataFrame]:
    """The canonical tables of the hand-built world."""
    D = pd.Timestamp  # noqa: N806
    return {
        "assignees": pd.DataFrame({
            "assignee_id": ["A", "B", "C"],
            "name": ["Alpha Ltd", "Beta Licensing", "Gamma Co"],
            "kind": ["large_firm", "npe", "sme"],
            "industry": ["electronics", None, "pharma"],
            "region": [None, None, None],
            "founded_year": [2000, 2010, 2005],
        }),
        "patents": pd.DataFrame({
            "patent_id": ["P1", "P2", "P3", "P4", "P5"],
            "jurisdiction": ["CN", "US", "CN", "US", "CN"],
            "patent_type": ["invention", "utility", "utility_model", "utility", "invention"],
            "filing_date": [D("2010-01-01"), D("2011-01-01"), D("2012-01-01"), D("2013-01-01"),
                            D("2014-01-01")],
            "grant_date": [D("2012-01-01"), D("2013-06-01"), D("2012-10-01"), D("2014-01-01"),
                           D("2016-01-01")],
            "expiry_date": [None, D("2031-01-01"), None, D("2033-01-01"), None],
            "num_claims": [10, 20, 6, 15, 8],
            "num_independent_claims": [2, 3, 1, 2, 1],
            "first_claim_words": [150, 200, 90, 120, 300],
            "family_size": [3, 5, 1, 2, 1],
            "num_inventors": [2, 4, 1, 3, 2],
            "cpc_main": ["H04L", "G06F", "H04W", "H04L", "A61K"],
            "assignee_id": ["A", "A", "C", "B", "C"],
        }),
        "citations": pd.DataFrame({
            "citing_patent_id": ["P2", "P3", "P4", "P5", "P4", "P4", "P5"],
            "cited_patent_id": ["P1", "P1", "P1", "P1", "P2", "X999", "P3"],
            "citation_date": [D("2013-06-01"), D("2012-10-01"), D("2014-01-01"), D("2016-01-01"),
                              D("2014-01-01"), D("2014-01-01"), D("2016-01-01")],
            "by_examiner": [False, True, False, False, True, False, False],
        }),
        "legal_events": pd.DataFrame({
            "event_id": ["E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8"],
            "patent_id": ["P1", "P1", "P1", "P1", "P3", "P2", "P2", "P1"],
            "event_date": [D("2013-01-01"), D("2014-01-01"), D("2014-06-01"), D("2015-03-01"),
                           D("2015-01-01"), D("2015-05-01"), D("2015-09-01"), D("2015-02-01")],
            "event_type": ["renewal_paid", "renewal_paid", "transferred", "licensed", "lapsed",
                           "invalidation_requested", "upheld", "pledged"],
            "counterparty_id": [None, None, "B", "C", None, "C", None, None],
        }),
        "cases": pd.DataFrame({
            "case_id": ["K1", "K2", "K3"],
            "patent_id": ["P1", "P4", "P1"],
            "filed_date": [D("2015-04-01"), D("2014-03-01"), D("2016-06-01")],
            "plaintiff_id": ["B", "B", "B"],
            "defendant_id": ["C", "A", "A"],
            "outcome": ["settled", "plaintiff_won", None],
            "closed_date": [D("2016-01-01"), D("2014-12-01"), None],
            "damages": [1000.0, 5000.0, None],
            "plaintiff_legal_cost": [200.0, 100.0, None],
            "defendant_legal_cost": [300.0, 400.0, None],
            "currency": ["CNY", "CNY", None],
        }),
        "firm_financials": pd.DataFrame({
            "assignee_id": ["A", "A"],
            "year": [2014, 2015],
            "revenue": [1000.0, 1200.0],
            "total_assets": [2000.0, 2400.0],
            "debt": [500.0, 600.0],
            "net_income": [100.0, 120.0],
            "currency": ["CNY", "CNY"],
        }),
        "firm_technology": pd.DataFrame({
            "assignee_id": ["A", "A", "C"],
            "cpc_class": ["H04L", "G06F", "A61K"],
            "weight": [0.75, 0.25, 1.0],
        }),
        "loans": pd.DataFrame({
            "loan_id": ["L1", "L2"],
            "borrower_id": ["C", "A"],
            "lender": ["Bank1", "Bank2"],
            "start_date": [D("2015-07-01"), D("2016-01-01")],
            "term_months": [24, 12],
            "amount": [100.0, 50.0],
            "appraised_value": [400.0, 100.0],
            "currency": ["CNY", "CNY"],
            "outcome": ["defaulted", "repaid"],
            "default_date": [D("2016-03-01"), None],
            "recovery": [10.0, None],
        }),
        "loan_patents": pd.DataFrame({"loan_id": ["L1", "L1", "L2"],
                                      "patent_id": ["P1", "P3", "P2"]}),
        "transactions": pd.DataFrame({
            "transaction_id": ["T1"], "patent_id": ["P2"], "date": [D("2015-08-01")],
            "price": [5000.0], "currency": ["CNY"], "kind": ["sale"],
        }),
    }


def write_world(root: Path, tables: dict[str, pd.DataFrame]) -> TableStore:
    """Write `tables` as a dataset under `root` and return its store."""
    store = TableStore(root)
    for name, df in tables.items():
        store.write(name, df)
    store.write_meta({"source": "test", "end_date": END_DATE, "currency": "CNY"})
    return store


@pytest.fixture(scope="module")
def world_con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection over the hand-built world."""
    store = write_world(tmp_path_factory.mktemp("world"), hand_tables())
    return store.connect()


@pytest.fixture
def make_world(tmp_path: Path) -> Callable[[dict[str, pd.DataFrame]], duckdb.DuckDBPyConnection]:
    """Factory writing given tables into a fresh folder and connecting to it."""
    count = 0

    def build(tables: dict[str, pd.DataFrame]) -> duckdb.DuckDBPyConnection:
        nonlocal count
        count += 1
        return write_world(tmp_path / f"w{count}", tables).connect()

    return build
