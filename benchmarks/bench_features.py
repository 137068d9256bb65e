"""Benchmark: patent features as of one date on a random world, DuckDB pipeline vs plain pandas.

Generates random canonical tables with numpy (default 1,000,000 patents and 10,000,000
citations; --quick: 100,000 / 1,000,000), builds the patent features of every patent as of one
date with `features.pipelines.patent_features`, and the same features with a plain pandas
implementation written here as the baseline; checks both agree on a sample.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from features.store import TableStore

EPOCH = np.datetime64("1970-01-01", "D")
KINDS = np.array(["large_firm", "sme", "university", "individual", "npe"])
SUBCLASSES = np.array(["H04L", "H04W", "G06F", "G06Q", "A61K", "A61B", "C07D", "B60L", "H01L",
                       "F16H", "G01N", "C12N"])


def _days(d: np.ndarray) -> pa.Array:
    """Arrow date32 array from datetime64[D] values."""
    return pa.array(d.astype("datetime64[D]"), pa.date32())


def random_world(root: Path, n_patents: int, n_citations: int, seed: int = 0,
                 with_firms: bool = False) -> TableStore:
    """Write a random canonical world (patents, citations, events, cases, ...) under `root`."""
    rng = np.random.default_rng(seed)
    store = TableStore(root)
    n_firms = max(10, n_patents // 50)
    firm_ids = np.char.add("F", np.arange(n_firms).astype(str))
    ids = np.char.add("P", np.arange(n_patents).astype(str))
    filing = np.datetime64("2000-01-01") + rng.integers(0, 20 * 365, n_patents)
    lag = rng.integers(200, 5 * 365, n_patents)
    grant = filing + lag
    jur = rng.choice(np.array(["CN", "US"]), n_patents)
    ptype = np.where(jur == "CN", rng.choice(np.array(["invention", "utility_model"]), n_patents),
                     "utility")
    expiry = np.where(rng.random(n_patents) < 0.5, filing + 20 * 365,
                      np.datetime64("NaT")).astype("datetime64[D]")
    claims = rng.integers(1, 40, n_patents)
    owner = rng.choice(firm_ids, n_patents)
    store.write_arrow("assignees", pa.table({
        "assignee_id": firm_ids, "name": firm_ids,
        "kind": rng.choice(KINDS, n_firms),
        "industry": rng.choice(np.array(["electronics", "pharma", "software", None]), n_firms),
        "region": pa.nulls(n_firms, pa.string()),
        "founded_year": rng.integers(1950, 2010, n_firms),
    }))
    store.write_arrow("patents", pa.table({
        "patent_id": ids, "jurisdiction": jur, "patent_type": ptype,
        "filing_date": _days(filing), "priority_date": _days(filing),
        "grant_date": _days(grant),
        "expiry_date": pa.array(expiry, pa.date32(), mask=np.isnat(expiry)),
        "num_claims": claims, "num_independent_claims": np.minimum(claims, rng.integers(1, 4,
                                                                                        n_patents)),
        "first_claim_words": rng.integers(50, 400, n_patents),
        "family_size": rng.integers(1, 10, n_patents),
        "num_inventors": rng.integers(1, 8, n_patents),
        "cpc_main": rng.choice(SUBCLASSES, n_patents),
        "assignee_id": owner,
        "title": pa.nulls(n_patents, pa.string()),
    }))
    # Citations: a later-granted patent cites an earlier-filed one; known at the citing grant.
    order = np.argsort(grant)
    citing_pos = rng.integers(n_patents // 10, n_patents, n_citations)
    cited_pos = (rng.random(n_citations) * citing_pos).astype(np.int64)
    citing, cited = ids[order[citing_pos]], ids[order[cited_pos]]
    cit = pd.DataFrame({"a": citing, "b": cited}).drop_duplicates()
    cit = cit[cit["a"] != cit["b"]]
    cdate = pd.Series(grant, index=ids).loc[cit["a"].to_numpy()].to_numpy()
    store.write_arrow("citations", pa.table({
        "citing_patent_id": cit["a"].to_numpy(), "cited_patent_id": cit["b"].to_numpy(),
        "citation_date": _days(cdate), "by_examiner": rng.random(len(cit)) < 0.4,
    }))
    n_ev = n_patents
    ev_pat = rng.integers(0, n_patents, n_ev)
    ev_type = rng.choice(np.array(["renewal_paid", "renewal_paid", "renewal_paid", "lapsed",
                                   "transferred", "licensed", "pledged",
                                   "invalidation_requested", "upheld", "invalidated"]), n_ev)
    ev_date = grant[ev_pat] + rng.integers(1, 8 * 365, n_ev)
    cp = np.where(np.isin(ev_type, ["transferred", "licensed", "pledged"]),
                  rng.choice(firm_ids, n_ev), None)
    store.write_arrow("legal_events", pa.table({
        "event_id": np.char.add("E", np.arange(n_ev).astype(str)),
        "patent_id": ids[ev_pat], "event_date": _days(ev_date), "event_type": ev_type,
        "counterparty_id": pa.array(cp, pa.string()),
    }))
    n_cases = max(20, n_patents // 50)
    c_pat = rng.integers(0, n_patents, n_cases)
    filed = grant[c_pat] + rng.integers(30, 6 * 365, n_cases)
    closed = filed + rng.integers(100, 900, n_cases)
    store.write_arrow("cases", pa.table({
        "case_id": np.char.add("C", np.arange(n_cases).astype(str)),
        "patent_id": ids[c_pat], "filed_date": _days(filed),
        "plaintiff_id": owner[c_pat], "defendant_id": rng.choice(firm_ids, n_cases),
        "venue": pa.nulls(n_cases, pa.string()),
        "outcome": rng.choice(np.array(["settled", "plaintiff_won", "defendant_won"]), n_cases),
        "closed_date": _days(closed), "damages": rng.gamma(2, 1e5, n_cases),
        "plaintiff_legal_cost": rng.gamma(2, 5e4, n_cases),
        "defendant_legal_cost": rng.gamma(2, 5e4, n_cases),
        "currency": np.full(n_cases, "CNY"),
    }))
    if with_firms:
        _random_firm_tables(store, rng, firm_ids, ids, grant)
    store.write_meta({"source": "benchmark", "end_date": "2025-12-31", "currency": "CNY"})
    return store


def _random_firm_tables(store: TableStore, rng: np.random.Generator, firm_ids: np.ndarray,
                        ids: np.ndarray, grant: np.ndarray) -> None:
    """Financials, technology, loans and transactions for the random world."""
    years = np.arange(2000, 2025)
    fa, fy = np.repeat(firm_ids, len(years)), np.tile(years, len(firm_ids))
    n = len(fa)
    assets = rng.lognormal(17, 1.5, n)
    store.write_arrow("firm_financials", pa.table({
        "assignee_id": fa, "year": fy, "revenue": assets * rng.uniform(0.3, 1.5, n),
        "total_assets": assets, "debt": assets * rng.uniform(0.1, 0.9, n),
        "net_income": assets * rng.normal(0.03, 0.05, n), "currency": np.full(n, "CNY"),
    }))
    tech = pd.DataFrame({"assignee_id": np.repeat(firm_ids, 2),
                         "cpc_class": rng.choice(SUBCLASSES, 2 * len(firm_ids))}).drop_duplicates()
    store.write_arrow("firm_technology", pa.table({
        "assignee_id": tech["assignee_id"].to_numpy(), "cpc_class": tech["cpc_class"].to_numpy(),
        "weight": rng.uniform(0.1, 1, len(tech)),
    }))
    n_loans = max(10, len(firm_ids) // 5)
    start = np.datetime64("2008-01-01") + rng.integers(0, 15 * 365, n_loans)
    term = rng.choice(np.array([12, 24, 36]), n_loans)
    defaulted = rng.random(n_loans) < 0.1
    ddate = np.where(defaulted, start + rng.integers(30, 300, n_loans), np.datetime64("NaT"))
    loan_ids = np.char.add("L", np.arange(n_loans).astype(str))
    store.write_arrow("loans", pa.table({
        "loan_id": loan_ids, "borrower_id": rng.choice(firm_ids, n_loans),
        "lender": np.full(n_loans, "bank"), "start_date": _days(start), "term_months": term,
        "amount": rng.lognormal(15, 1, n_loans), "appraised_value": rng.lognormal(16, 1, n_loans),
        "currency": np.full(n_loans, "CNY"),
        "outcome": np.where(defaulted, "defaulted", "repaid"),
        "default_date": pa.array(ddate.astype("datetime64[D]"), pa.date32(),
                                 mask=np.isnat(ddate)),
        "recovery": pa.nulls(n_loans, pa.float64()),
    }))
    lp = pd.DataFrame({"loan_id": np.repeat(loan_ids, 3),
                       "patent_id": rng.choice(ids, 3 * n_loans)}).drop_duplicates()
    store.write_arrow("loan_patents", pa.table({"loan_id": lp["loan_id"].to_numpy(),
                                                "patent_id": lp["patent_id"].to_numpy()}))
    n_tx = max(10, len(ids) // 100)
    tp = rng.integers(0, len(ids), n_tx)
    store.write_arrow("transactions", pa.table({
        "transaction_id": np.char.add("T", np.arange(n_tx).astype(str)), "patent_id": ids[tp],
        "date": _days(grant[tp] + rng.integers(30, 3000, n_tx)),
        "price": rng.lognormal(13, 1, n_tx), "currency": np.full(n_tx, "CNY"),
        "kind": rng.choice(np.array(["sale", "licence"]), n_tx),
    }))
