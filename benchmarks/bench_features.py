"""Benchmark: patent features as of one date on a random world, DuckDB pipeline vs plain pandas.

Generates random canonical tables with numpy (default 1,000,000 patents and 10,000,000
citations; --quick: 100,000 / 1,000,000), builds the patent features of every patent as of one
date with `features.pipelines.patent_features`, and the same features with a plain pandas
implementation written here as the baseline; checks both agree on a sample.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
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


def _add_years(s: pd.Series, years: int) -> pd.Series:
    """Dates plus whole years, clamping 29 February like SQL date arithmetic."""
    return s + pd.DateOffset(years=years)


def pandas_patent_features(store: TableStore, as_of: date) -> pd.DataFrame:
    """Baseline: the pipeline's patent features as of one date, written in plain pandas."""
    from features.registry import CPC_CLASSES, CPC_SECTIONS, JURISDICTIONS, PATENT_TYPES
    from features.schema import ASSIGNEE_KINDS

    t = pd.Timestamp(as_of)
    p = store.read("patents")
    cit = store.read("citations")
    ev = store.read("legal_events")
    cases = store.read("cases")
    firms = store.read("assignees")
    stat = pd.Series(pd.NaT, index=p.index, dtype="datetime64[ms]")
    cn, us = p["jurisdiction"] == "CN", p["jurisdiction"] == "US"
    stat[cn & (p["patent_type"] == "invention")] = _add_years(p["filing_date"], 20)
    stat[cn & (p["patent_type"] == "utility_model")] = _add_years(p["filing_date"], 10)
    stat[us & (p["patent_type"] == "utility")] = _add_years(p["filing_date"], 20)
    p["expiry"] = p["expiry_date"].fillna(stat)
    ends = ev[ev["event_type"].isin(["lapsed", "invalidated"])].groupby("patent_id")[
        "event_date"].min()
    p["stop"] = p["expiry"].where(p["patent_id"].map(ends).isna(), np.minimum(
        p["expiry"], p["patent_id"].map(ends)))
    # Owner at T: last transfer on or before T, else the owner at grant.
    tr = ev[(ev["event_type"] == "transferred") & ev["counterparty_id"].notna()
            & (ev["event_date"] <= t)].sort_values(["event_date", "event_id"])
    last = tr.groupby("patent_id")["counterparty_id"].last()
    p["owner"] = p["patent_id"].map(last).fillna(p["assignee_id"])
    in_force = (p["grant_date"] <= t) & (p["stop"] > t)
    base = p[p["filing_date"] <= t].copy()
    granted = base["grant_date"] <= t
    base["grant"] = base["grant_date"].where(granted)
    base["exp"] = base["expiry"].where(granted)
    out = pd.DataFrame({"patent_id": base["patent_id"].to_numpy()})
    out["patent_age_years"] = ((t - base["filing_date"]).dt.days / 365.25).to_numpy()
    out["remaining_term_years"] = ((base["exp"] - t).dt.days.clip(lower=0) / 365.25).to_numpy()

    def code(values: pd.Series, cats: tuple[str, ...]) -> np.ndarray:
        return values.map({c: i for i, c in enumerate(cats)}).fillna(-1).astype(float).to_numpy()

    out["patent_type"] = code(base["patent_type"], PATENT_TYPES)
    out["jurisdiction"] = code(base["jurisdiction"], JURISDICTIONS)
    out["cpc_section"] = code(base["cpc_main"].str[:1], CPC_SECTIONS)
    out["cpc_class"] = code(base["cpc_main"].str[:3], CPC_CLASSES)
    for c in ("num_claims", "num_independent_claims", "first_claim_words", "family_size",
              "num_inventors"):
        out[c] = base[c].astype("float64").to_numpy()
    out["grant_lag_years"] = ((base["grant"] - base["filing_date"]).dt.days / 365.25).to_numpy()
    known = cit[cit["citation_date"] <= t]
    cls = p.set_index("patent_id")["cpc_main"]
    own0 = p.set_index("patent_id")["assignee_id"]
    g = base.set_index("patent_id")["grant"]
    fw = known[known["cited_patent_id"].isin(out["patent_id"])]
    fw = fw.assign(g=fw["cited_patent_id"].map(g))
    fw = fw.assign(
        in3=fw["citation_date"] <= _add_years(fw["g"], 3),
        in5=fw["citation_date"] <= _add_years(fw["g"], 5),
        is_self=(fw["citing_patent_id"].map(own0) == fw["cited_patent_id"].map(own0)),
        cls=fw["citing_patent_id"].map(cls),
    )
    agg = fw.groupby("cited_patent_id").agg(n=("in3", "size"), n3=("in3", "sum"),
                                            n5=("in5", "sum"), share=("is_self", "mean"))
    pid = out["patent_id"]
    out["backward_citations"] = 0.0
    out["forward_citations"] = pid.map(agg["n"]).fillna(0).to_numpy(float)
    out["forward_citations_3y"] = pid.map(agg["n3"]).fillna(0).to_numpy(float)
    out["forward_citations_5y"] = pid.map(agg["n5"]).fillna(0).to_numpy(float)
    out["self_citation_share"] = pid.map(agg["share"]).astype("float64").to_numpy()

    def one_minus_hhi(frame: pd.DataFrame, key: str) -> pd.Series:
        k = frame.dropna(subset=["cls"]).groupby([key, "cls"]).size()
        tot = k.groupby(level=0).sum()
        return 1.0 - (k * k).groupby(level=0).sum() / (tot * tot)

    out["generality"] = pid.map(one_minus_hhi(fw, "cited_patent_id")).astype(float).to_numpy()
    bw = known[known["citing_patent_id"].isin(pid)]
    bw = bw.assign(cls=bw["cited_patent_id"].map(cls))
    out["backward_citations"] = pid.map(bw.groupby("citing_patent_id").size()).fillna(0) \
        .to_numpy(float)
    out["originality"] = pid.map(one_minus_hhi(bw, "citing_patent_id")).astype(float).to_numpy()
    counts = ev[ev["event_date"] <= t].groupby(["patent_id", "event_type"]).size().unstack(
        fill_value=0)
    for col, typ in (("renewals_paid", "renewal_paid"), ("lapsed", "lapsed"),
                     ("transfers", "transferred"), ("licences", "licensed"),
                     ("pledges", "pledged"), ("invalidation_requests", "invalidation_requested"),
                     ("invalidations_upheld", "upheld"), ("invalidated", "invalidated")):
        v = pid.map(counts[typ]).fillna(0) if typ in counts else pd.Series(0.0, index=pid.index)
        out[col] = (v > 0).astype(float).to_numpy() if col in ("lapsed", "invalidated") \
            else v.to_numpy(float)
    filed = cases[cases["filed_date"] <= t]
    out["suits_on_patent"] = pid.map(filed.groupby("patent_id")["case_id"].nunique()).fillna(0) \
        .to_numpy(float)
    owner = pid.map(p.set_index("patent_id")["owner"])
    has = owner.notna()
    pl = filed.dropna(subset=["plaintiff_id"]).groupby("plaintiff_id")["case_id"].nunique()
    de = filed.dropna(subset=["defendant_id"]).groupby("defendant_id")["case_id"].nunique()
    port = p[in_force].groupby("owner").size()
    out["owner_suits_as_plaintiff"] = owner.map(pl).fillna(0).where(has).to_numpy(float)
    out["owner_suits_as_defendant"] = owner.map(de).fillna(0).where(has).to_numpy(float)
    out["owner_kind"] = code(owner.map(firms.set_index("assignee_id")["kind"]), ASSIGNEE_KINDS)
    out["owner_portfolio_size"] = owner.map(port).fillna(0).where(has).to_numpy(float)
    n_cls = p[in_force].groupby("cpc_main").size()
    recent = filed[filed["filed_date"] > t - pd.DateOffset(years=3)]
    s_cls = recent["patent_id"].map(cls).value_counts()
    rate = 1000.0 * s_cls.reindex(n_cls.index, fill_value=0) / (3 * n_cls)
    out["class_suit_rate"] = pid.map(cls).map(rate).astype(float).to_numpy()
    return out


# Steps of the patent feature query grouped into the blocks of features they compute, so that a
# slow block can be named from the benchmark's output alone; a step not listed counts as "other".
BLOCKS = {
    "targets": ("tg", "dates"),
    "context: patents, spans, owners": ("pat", "pat_end", "spans", "own_x", "own_spans"),
    "context: class suit rates": ("class_steps", "case_steps", "class_dates", "class_rate"),
    "context: firm suit steps": ("firm_cases", "firm_case_steps"),
    "patent facts at T": ("base",),
    "forward citations, generality": ("fwd_cls", "fwd"),
    "backward citations, originality": ("bwd",),
    "legal events": ("ev",),
    "suits on the patent": ("own_suits",),
    "owner at T, portfolio, owner suits": ("owner", "need_owner", "portfolio_at",
                                           "portfolio_size", "firm_suits"),
    "feature rows and result": ("patent_feature_rows", "select"),
}


def _cpu() -> float:
    """CPU seconds used by this process so far (all threads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _timed(run: Callable[[], pd.DataFrame]) -> tuple[pd.DataFrame, float, float]:
    """The result of `run`, its wall seconds and CPU seconds."""
    c0, t0 = _cpu(), time.perf_counter()
    out = run()
    return out, time.perf_counter() - t0, _cpu() - c0


def block_times(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, float]:
    """Seconds per block of features: the query's steps run one by one as temp tables."""
    from features.pipelines.frames import PATENT_FEATURES, patent_targets_all
    from features.pipelines.patents import patent_features_query
    from features.pipelines.relations import TableRelations

    rel = TableRelations.from_connection(con)
    query = patent_features_query(rel, patent_targets_all(rel, [as_of]), PATENT_FEATURES)
    block_of = {step: block for block, steps in BLOCKS.items() for step in steps}
    out = dict.fromkeys(BLOCKS, 0.0)
    for name, statement in query.steps():
        t0 = time.perf_counter()
        if name == "select":
            con.execute(statement).df()
        else:
            con.execute(statement)
        block = block_of.get(name, "other")
        out[block] = out.get(block, 0.0) + time.perf_counter() - t0
    return out


def main() -> None:
    """Run the benchmark and print a table and a last-line JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100k patents, 1M citations")
    parser.add_argument("--patents", type=int, default=None)
    parser.add_argument("--citations", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each side, alternating; the best of each is reported")
    parser.add_argument("--world", type=Path, default=None,
                        help="keep the random world in this folder and reuse it if present")
    args = parser.parse_args()
    n_p = args.patents or (100_000 if args.quick else 1_000_000)
    n_c = args.citations or (1_000_000 if args.quick else 10_000_000)
    from features.pipelines import patent_features
    from features.pipelines.frames import PATENT_FEATURES

    as_of = date(2018, 12, 31)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.world or Path(tmp)
        t0 = time.perf_counter()
        if (root / "dataset.json").exists():
            store = TableStore(root)
        else:
            store = random_world(root, n_p, n_c)
        gen_s = time.perf_counter() - t0
        con = store.connect()
        version = duckdb.__version__
        threads, memory = con.execute(
            "SELECT current_setting('threads'), current_setting('memory_limit')"
        ).fetchone()
        duck_runs: list[tuple[float, float]] = []
        pandas_runs: list[tuple[float, float]] = []
        for _ in range(max(1, args.repeat)):
            duck, wall, cpu = _timed(lambda: patent_features(con, as_of))
            duck_runs.append((wall, cpu))
            base, wall, cpu = _timed(lambda: pandas_patent_features(store, as_of))
            pandas_runs.append((wall, cpu))
        blocks = block_times(store.connect(), as_of)
    load_after = os.getloadavg()
    duck_s, duck_cpu = min(duck_runs)
    pandas_s, pandas_cpu = min(pandas_runs)
    duck = duck.set_index("patent_id")
    base = base.set_index("patent_id").loc[duck.index]
    sample = duck.sample(min(5000, len(duck)), random_state=0).index
    mismatches = {}
    for col in PATENT_FEATURES:
        a, b = duck.loc[sample, col].to_numpy(float), base.loc[sample, col].to_numpy(float)
        bad = int((~np.isclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True)).sum())
        if bad:
            mismatches[col] = bad
    ratio = pandas_s / duck_s
    print(f"patent features as of {as_of} for {len(duck):,} patents, {n_c:,} citations")
    print(f"DuckDB {version}, threads {threads}, memory limit {memory}; "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after "
          f"({os.cpu_count()} CPUs); best of {len(duck_runs)} run(s) each")
    print(f"{'step':<36}{'wall s':>10}{'cpu s':>10}")
    print(f"{'world generation':<36}{gen_s:>10.2f}")
    print(f"{'DuckDB pipeline':<36}{duck_s:>10.2f}{duck_cpu:>10.2f}")
    print(f"{'pandas baseline':<36}{pandas_s:>10.2f}{pandas_cpu:>10.2f}")
    print(f"{'speed-up':<36}{ratio:>9.1f}x   (target: < 30 s and >= 5x)")
    print("DuckDB query step by step, per block of features (each step a temp table):")
    for name, secs in blocks.items():
        print(f"  {name:<34}{secs:>10.2f}")
    print(f"sample agreement: {len(sample)} patents x {len(PATENT_FEATURES)} features, "
          f"mismatching cells: {sum(mismatches.values())} {mismatches or ''}")
    print(json.dumps({
        "patents": n_p, "citations": n_c, "rows": len(duck), "duckdb_s": round(duck_s, 3),
        "duckdb_cpu_s": round(duck_cpu, 3), "pandas_s": round(pandas_s, 3),
        "speedup": round(ratio, 2), "under_30s": duck_s < 30, "at_least_5x": ratio >= 5,
        "duckdb_runs_s": [round(w, 3) for w, _ in duck_runs],
        "pandas_runs_s": [round(w, 3) for w, _ in pandas_runs],
        "blocks_s": {k: round(v, 3) for k, v in blocks.items()},
        "duckdb_version": version, "threads": threads, "memory_limit": memory,
        "load_avg": [round(load_before[0], 2), round(load_after[0], 2)],
        "mismatches": mismatches,
    }))
    if mismatches:
        sys.exit(1)


if __name__ == "__main__":
    main()
