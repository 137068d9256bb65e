"""`generate_world`: draw the synthetic world and write every canonical table and its truth."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from features.schema import ASSIGNEE_KINDS, EVENT_TYPES, arrow_schema, table, validate_table
from features.store import TableStore
from features.terms import add_months
from features.world.cases import OUTCOMES, case_details
from features.world.citations import Citations, build_citations
from features.world.firms import (
    CN_REGIONS,
    HOMES,
    INDIVIDUAL,
    US_REGIONS,
    Assignees,
    Financials,
    build_assignees,
    build_financials,
    industries,
)
from features.world.history import History, simulate
from features.world.params import WorldParams
from features.world.patents import TYPES, Patents, build_patents, extra_classes

log = logging.getLogger(__name__)

LENDERS = ("Bank of China", "ICBC", "China Construction Bank", "Agricultural Bank of China",
           "Bank of Communications", "China Merchants Bank", "Industrial Bank",
           "Shanghai Pudong Development Bank", "Bank of Beijing", "Bank of Tianjin",
           "Bank of Ningbo", "Bank of Jiangsu")
VALIDATE_MAX_ROWS = 1_500_000  # larger tables are built typed and checked by construction
STAGES = ("assignees", "patents", "citations", "history", "tables")


@dataclass(frozen=True)
class WorldSummary:
    """Counts and headline rates of a generated world."""

    n_patents: int
    n_assignees: int
    n_citations: int
    n_cases: int
    n_loans: int
    n_legal_events: int
    n_transactions: int
    lifetime_litigation_rate: float  # share of patents granted by 2015 ever sued
    suits_per_1000_patent_years: float
    npe_plaintiff_share: float
    loan_default_rate: float  # defaulted / (defaulted + repaid)
    citations_per_patent: float
    table_rows: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """The summary as a plain dict."""
        return asdict(self)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """String ids such as A0000001 from integer numbers."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()),
                          width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _ref(ids: pa.Array, idx: np.ndarray) -> pa.Array:
    """Ids at integer positions `idx`; -1 gives null."""
    idx = np.asarray(idx, dtype=np.int64)
    return ids.take(pa.array(idx, mask=idx < 0))


def _arrow(name: str, cols: dict[str, object]) -> pa.Table:
    """An Arrow table with the canonical schema of `name` from numpy arrays or Arrow arrays."""
    schema = arrow_schema(table(name))
    arrays = []
    for f in schema:
        v = cols.get(f.name)
        if v is None:
            arrays.append(pa.nulls(len(next(iter(cols.values()))), type=f.type))  # type: ignore[arg-type]
        elif isinstance(v, pa.Array | pa.ChunkedArray):
            arrays.append(v.cast(f.type))
        else:
            arrays.append(pa.array(v, type=f.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def _write(store: TableStore, name: str, data: pa.Table, rows: dict[str, int]) -> None:
    """Write one table; validate through the schema when it is small enough."""
    if data.num_rows <= VALIDATE_MAX_ROWS:
        validate_table(name, data.to_pandas(date_as_object=False))
    store.write_arrow(name, data)
    rows[name] = data.num_rows


def generate_world(
    store: TableStore,
    n_patents: int,
    seed: int,
    show_progress: bool = False,
    params: WorldParams | None = None,
) -> WorldSummary:
    """Generate the synthetic world for `seed` into `store` and return its summary."""
    if n_patents < 100:
        raise ValueError(f"n_patents must be at least 100, got {n_patents}")
    params = params or WorldParams()
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    n_years = len(params.years)
    bar = tqdm(total=3 + 2 * n_years, disable=not show_progress, desc="generate", unit="step")

    def tick() -> None:
        bar.update(1)

    bar.set_postfix_str("assignees")
    firms = build_assignees(params, n_patents, rngs[0])
    bar.update(1)
    bar.set_postfix_str("patents")
    patents = build_patents(params, firms, n_patents, rngs[1])
    first_year = np.full(firms.n, 10_000)
    np.minimum.at(first_year, patents.owner,
                  patents.filing.astype("datetime64[Y]").astype(np.int64) + 1970)
    founded = np.where(firms.kind == INDIVIDUAL, 0, np.minimum(firms.founded, first_year))
    firms = replace(firms, founded=founded)
    fin = build_financials(params, firms, rngs[2])
    bar.update(1)
    bar.set_postfix_str("citations")
    cites = build_citations(params, patents, rngs[3], progress=bar)
    bar.set_postfix_str("history")
    n_loans = int(round(params.loans_per_patent * n_patents))
    hist = simulate(params, patents, firms, fin, cites, n_loans, rngs[4], tick=tick)
    cases = case_details(params, patents, firms, hist.cases, rngs[5])
    bar.set_postfix_str("tables")
    rows = _write_tables(store, params, firms, fin, patents, cites, hist, cases, rngs[6])
    bar.update(1)
    bar.close()
    store.write_meta({
        "source": "synthetic",
        "seed": seed,
        "n_patents": n_patents,
        "currency": params.currency,
        "end_date": params.end_date,
        "start_date": f"{params.start_year}-01-01",
        "value_decay_per_year": {f"{j}/{t}": d for j, t, d in params.value_decay},
        "note": "truth_value.value is the value at grant; the value on date t is "
                "value * exp(-decay * years since grant)",
    })

    grant_year = patents.grant.astype("datetime64[Y]").astype(np.int64) + 1970
    old = grant_year <= 2015
    sued_ever = np.zeros(patents.n, dtype=bool)
    sued_ever[cases["patent"].astype(np.int64)] = True
    n_py = len(hist.truth_patent_year["p"])
    outcome = hist.loans["default_date"]
    defaulted = int((~np.isnat(outcome)).sum()) if len(outcome) else 0
    end = np.datetime64(params.end_date, "D")
    matured = (
        (add_months(hist.loans["start"], hist.loans["term"].astype(np.int64)) <= end)
        if len(outcome) else np.zeros(0, bool)
    )
    closed_loans = int(((~np.isnat(outcome)) | matured).sum()) if len(outcome) else 0
    plaintiffs = cases["plaintiff"].astype(np.int64)
    return WorldSummary(
        n_patents=patents.n,
        n_assignees=firms.n,
        n_citations=cites.n,
        n_cases=len(cases["patent"]),
        n_loans=len(outcome),
        n_legal_events=len(hist.events["patent"]),
        n_transactions=len(hist.transactions["patent"]),
        lifetime_litigation_rate=float(sued_ever[old].mean()) if old.any() else 0.0,
        suits_per_1000_patent_years=1000.0 * len(plaintiffs) / max(n_py, 1),
        npe_plaintiff_share=float((firms.kind[plaintiffs] == 4).mean()) if len(plaintiffs)
        else 0.0,
        loan_default_rate=defaulted / max(closed_loans, 1),
        citations_per_patent=cites.n / patents.n,
        table_rows=rows,
    )


@dataclass
class _TableWriter:
    """Writes canonical tables from numpy or Arrow columns into a store, counting rows."""

    store: TableStore
    rows: dict[str, int] = field(default_factory=dict)

    def write(self, name: str, cols: dict[str, object]) -> None:
        """Write table `name` from `cols` (see `_arrow`)."""
        _write(self.store, name, _arrow(name, cols), self.rows)


def _write_tables(
    store: TableStore,
    params: WorldParams,
    firms: Assignees,
    fin: Financials,
    patents: Patents,
    cites: Citations,
    hist: History,
    cases: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> dict[str, int]:
    """Turn the simulated arrays into canonical tables, write them and return their row counts."""
    out = _TableWriter(store)
    cpc = np.asarray([c.cpc for c in params.classes], dtype=object)
    a_ids = _write_firms(out, params, firms, fin, cpc)
    p_ids = _write_patents(out, params, patents, a_ids, cpc, rng)
    _write_citations(out, patents, cites, p_ids)
    _write_events(out, hist.events, p_ids, a_ids)
    _write_cases(out, params, cases, p_ids, a_ids)
    _write_transactions(out, params, hist.transactions, p_ids)
    _write_loans(out, params, hist, p_ids, a_ids)
    _write_truth_years(out, hist, p_ids, a_ids)
    return out.rows


def _firm_names(firms: Assignees) -> np.ndarray:
    """A made-up name per assignee: a firm name by kind, or a person's name for individuals."""
    stems = np.asarray(("Hua", "Zhong", "Xin", "Tian", "Jin", "Hong", "Lian", "Rui", "Bo", "Kai",
                        "Apex", "Nova", "Vertex", "Summit", "Pioneer", "Orbit", "Crest", "Helix",
                        "Quanta", "Lumen"), dtype=object)
    tails = np.asarray(("tech", "xin", "da", "cheng", "wei", "sys", "gen", "tron", "med", "link"),
                       dtype=object)
    suffix = np.asarray((" Group Co., Ltd.", " Technology Co., Ltd.", " University", "",
                         " IP Holdings LLC"), dtype=object)
    surnames = np.asarray(("Zhang", "Wang", "Li", "Liu", "Chen", "Smith", "Johnson", "Zhao",
                           "Huang", "Brown"), dtype=object)
    i = np.arange(firms.n)
    firm_name = stems[i % 20] + tails[(i // 20) % 10] + suffix[firms.kind]
    person = surnames[i % 10] + " " + stems[(i // 10) % 20]
    return np.where(firms.kind == INDIVIDUAL, person, firm_name) + " " + (i + 1).astype(str)


def _write_firms(
    out: _TableWriter, params: WorldParams, firms: Assignees, fin: Financials, cpc: np.ndarray
) -> pa.Array:
    """Assignees, their financials and product technology; returns the assignee ids."""
    a_ids = _ids("A", np.arange(1, firms.n + 1), 7)
    inds = np.asarray(industries(params), dtype=object)
    i = np.arange(firms.n)
    region = np.where(firms.home == 0, np.asarray(CN_REGIONS, dtype=object)[i % 10],
                      np.asarray(US_REGIONS, dtype=object)[i % 10])
    out.write("assignees", {
        "assignee_id": a_ids, "name": _firm_names(firms).astype(str),
        "kind": np.asarray(ASSIGNEE_KINDS, dtype=object)[firms.kind],
        "industry": np.where(firms.industry >= 0, inds[np.maximum(firms.industry, 0)], None),
        "region": region,
        "founded_year": np.where(firms.founded > 0, firms.founded, np.nan),
    })
    f_idx, y_idx = np.nonzero(np.isfinite(fin.revenue))
    out.write("firm_financials", {
        "assignee_id": _ref(a_ids, f_idx), "year": y_idx + fin.first_year,
        "revenue": np.round(fin.revenue[f_idx, y_idx], 0),
        "total_assets": np.round(fin.total_assets[f_idx, y_idx], 0),
        "debt": np.round(fin.debt[f_idx, y_idx], 0),
        "net_income": np.round(fin.net_income[f_idx, y_idx], 0),
        "currency": np.full(len(f_idx), params.currency, dtype=object),
    })
    out.write("firm_technology", {
        "assignee_id": _ref(a_ids, firms.product_firm), "cpc_class": cpc[firms.product_class],
        "weight": np.round(firms.product_weight, 6),
    })
    return a_ids


def _patent_ids(patents: Patents) -> pa.Array:
    """Publication-style ids: CN...B / U / S by type, US design D and utility numbers."""
    series = patents.jurisdiction.astype(np.int64) * 4 + patents.ptype
    prefix = np.asarray(["CN", "CN", "CN", "", "", "", "USD", "US"], dtype=object)[series]
    tail = np.asarray(["B", "U", "S", "", "", "", "", ""], dtype=object)[series]
    base = np.asarray([100_000_000, 200_000_000, 300_000_000, 0, 0, 0, 400_000, 6_000_000])
    digits = pc.cast(pa.array(base[series] + patents.number), pa.string())
    digits = pc.utf8_lpad(digits, 7, "0")
    return pc.binary_join_element_wise(pa.array(prefix, pa.string()), digits,
                                       pa.array(tail, pa.string()), "")


def _write_patents(
    out: _TableWriter,
    params: WorldParams,
    patents: Patents,
    a_ids: pa.Array,
    cpc: np.ndarray,
    rng: np.random.Generator,
) -> pa.Array:
    """Patents, their extra CPC classes and their value at grant; returns the patent ids."""
    p_ids = _patent_ids(patents)
    out.write("patents", {
        "patent_id": p_ids,
        "jurisdiction": np.asarray(HOMES, dtype=object)[patents.jurisdiction],
        "patent_type": np.asarray(TYPES, dtype=object)[patents.ptype],
        "filing_date": patents.filing, "priority_date": patents.priority,
        "grant_date": patents.grant, "expiry_date": patents.expiry,
        "num_claims": patents.claims, "num_independent_claims": patents.independent,
        "first_claim_words": patents.first_claim_words, "family_size": patents.family,
        "num_inventors": patents.inventors, "cpc_main": cpc[patents.cls],
        "assignee_id": _ref(a_ids, patents.owner),
    })
    pat, cls, seq = extra_classes(params, patents, rng)
    out.write("patent_cpc", {
        "patent_id": _ref(p_ids, pat), "cpc_class": cpc[cls],
        "cpc_section": np.asarray([c[0] for c in cpc], dtype=object)[cls], "sequence": seq,
    })
    out.write("truth_value", {
        "patent_id": p_ids, "value": np.round(np.exp(patents.log_value), 2),
        "currency": np.full(patents.n, params.currency, dtype=object),
    })
    return p_ids


def _write_citations(
    out: _TableWriter, patents: Patents, cites: Citations, p_ids: pa.Array
) -> None:
    """Citations, known at the citing patent's grant."""
    if (patents.grant[cites.cited] >= patents.grant[cites.citing]).any():
        raise ValueError("citations: a citation points forward in time")
    out.write("citations", {
        "citing_patent_id": _ref(p_ids, cites.citing), "cited_patent_id": _ref(p_ids, cites.cited),
        "citation_date": patents.grant[cites.citing], "by_examiner": cites.by_examiner,
    })


def _write_events(
    out: _TableWriter, events: dict[str, np.ndarray], p_ids: pa.Array, a_ids: pa.Array
) -> None:
    """Legal events in date order."""
    order = np.lexsort((events["type"], events["patent"], events["date"]))
    ev = {k: v[order] for k, v in events.items()}
    out.write("legal_events", {
        "event_id": _ids("EV", np.arange(1, len(order) + 1), 9),
        "patent_id": _ref(p_ids, ev["patent"]), "event_date": ev["date"],
        "event_type": np.asarray(EVENT_TYPES, dtype=object)[ev["type"].astype(np.int64)],
        "counterparty_id": _ref(a_ids, ev["counterparty"]),
    })


def _write_cases(
    out: _TableWriter,
    params: WorldParams,
    cases: dict[str, np.ndarray],
    p_ids: pa.Array,
    a_ids: pa.Array,
) -> None:
    """Cases in filing order."""
    order = np.lexsort((cases["patent"], cases["filed"]))
    cs = {k: v[order] for k, v in cases.items()}
    outcomes = np.asarray(OUTCOMES, dtype=object)
    out.write("cases", {
        "case_id": _ids("CASE", np.arange(1, len(order) + 1), 7),
        "patent_id": _ref(p_ids, cs["patent"]), "filed_date": cs["filed"],
        "plaintiff_id": _ref(a_ids, cs["plaintiff"]), "defendant_id": _ref(a_ids, cs["defendant"]),
        "venue": cs["venue"].astype(object),
        "outcome": np.where(cs["outcome"] >= 0, outcomes[np.maximum(cs["outcome"], 0)], None),
        "closed_date": cs["closed"], "damages": cs["damages"],
        "plaintiff_legal_cost": cs["plaintiff_legal_cost"],
        "defendant_legal_cost": cs["defendant_legal_cost"],
        "currency": np.full(len(order), params.currency, dtype=object),
    })


def _write_transactions(
    out: _TableWriter, params: WorldParams, tr: dict[str, np.ndarray], p_ids: pa.Array
) -> None:
    """Sales and licences with a disclosed price, in date order."""
    order = np.lexsort((tr["patent"], tr["date"]))
    out.write("transactions", {
        "transaction_id": _ids("TX", np.arange(1, len(order) + 1), 8),
        "patent_id": _ref(p_ids, tr["patent"][order]), "date": tr["date"][order],
        "price": np.round(tr["price"][order], 2),
        "currency": np.full(len(order), params.currency, dtype=object),
        "kind": np.asarray(("sale", "licence"), dtype=object)[tr["kind"][order].astype(np.int64)],
    })


def _write_loans(
    out: _TableWriter, params: WorldParams, hist: History, p_ids: pa.Array, a_ids: pa.Array
) -> None:
    """Loans with their outcome at the data's end, their pledged patents and their truth."""
    ln = hist.loans
    m = len(ln["borrower"])
    end = np.datetime64(params.end_date, "D")
    maturity = add_months(ln["start"], ln["term"].astype(np.int64)) if m else ln["start"]
    outcome = np.where(~np.isnat(ln["default_date"]), "defaulted",
                       np.where(maturity > end, "open", "repaid"))
    l_ids = _ids("LN", np.arange(1, m + 1), 7)
    out.write("loans", {
        "loan_id": l_ids, "borrower_id": _ref(a_ids, ln["borrower"]),
        "lender": np.asarray(LENDERS, dtype=object)[ln["lender"].astype(np.int64)],
        "start_date": ln["start"], "term_months": ln["term"], "amount": ln["amount"],
        "appraised_value": np.round(ln["appraised"], 2),
        "currency": np.full(m, params.currency, dtype=object), "outcome": outcome.astype(object),
        "default_date": ln["default_date"], "recovery": np.round(ln["recovery"], 2),
    })
    out.write("loan_patents", {
        "loan_id": _ref(l_ids, hist.loan_patents["loan"]),
        "patent_id": _ref(p_ids, hist.loan_patents["patent"]),
    })
    out.write("truth_loans", {"loan_id": l_ids, "p_default": ln["p_default"]})


def _write_truth_years(out: _TableWriter, hist: History, p_ids: pa.Array, a_ids: pa.Array) -> None:
    """The litigation probability per patent-year and suit probability per firm-year."""
    t = hist.truth_patent_year
    out.write("truth_patent_year", {
        "patent_id": _ref(p_ids, t["patent"]), "year": t["year"], "p_litigation": t["p"],
    })
    t = hist.truth_firm_year
    out.write("truth_firm_year", {
        "assignee_id": _ref(a_ids, t["firm"]), "year": t["year"], "p_sued": t["p"],
    })
