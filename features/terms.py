"""Patent-term physics: statutory expiry and renewal-fee schedules for CN and US patents.

Sources (the rules are statute; the fee amounts are the offices' published schedules):
- CN Patent Law (2020 amendment, in force 2021-06-01), Art. 42: invention 20 years, utility model
  10 years, design 15 years, all counted from the filing date; designs filed before 2021-06-01
  keep the old 10-year term. Art. 43-44: annual fees from the year of grant; an unpaid fee ends
  the patent. Implementing Regulations (2023) Rule 116: six-month grace period with surcharge.
- CNIPA fee schedule (专利收费标准): annual fee per patent year counted from filing, invention
  900 (years 1-3), 1,200 (4-6), 2,000 (7-9), 4,000 (10-12), 6,000 (13-15), 8,000 (16-20) CNY;
  utility model and design 600 (1-3), 900 (4-5), 1,200 (6-8), 2,000 (9-10) CNY, design 3,000
  (11-15) CNY.
- US 35 U.S.C. 154(a)(2): utility patents end 20 years from filing (term adjustments and
  terminal disclaimers are ignored here). 35 U.S.C. 173: design patents 14 years from grant, 15
  years for applications filed on or after 2015-05-13 (Patent Law Treaties Implementation Act).
- US 35 U.S.C. 41(b), 37 CFR 1.362: maintenance fees on utility patents due 3.5, 7.5 and 11.5
  years after grant, payable from 6 months before the due date, with a 6-month grace period;
  designs pay none. Large-entity fees from 2025-01-19: 2,150, 4,040 and 8,280 USD.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

CN_DESIGN_15Y_FROM = np.datetime64("2021-06-01", "D")
US_DESIGN_15Y_FROM = np.datetime64("2015-05-13", "D")
GRACE_MONTHS = 6
US_MAINTENANCE_MONTHS = (42, 90, 138)  # 3.5, 7.5 and 11.5 years after grant
US_MAINTENANCE_FEES_USD = (2_150.0, 4_040.0, 8_280.0)

# CN annual fee (CNY) by patent year counted from filing: (first year, last year, fee).
CN_INVENTION_FEES: tuple[tuple[int, int, float], ...] = (
    (1, 3, 900.0), (4, 6, 1_200.0), (7, 9, 2_000.0), (10, 12, 4_000.0), (13, 15, 6_000.0),
    (16, 20, 8_000.0),
)
CN_UTILITY_DESIGN_FEES: tuple[tuple[int, int, float], ...] = (
    (1, 3, 600.0), (4, 5, 900.0), (6, 8, 1_200.0), (9, 10, 2_000.0), (11, 15, 3_000.0),
)

RENEWAL_COLUMNS = ("row", "fee_number", "patent_year", "due_date", "grace_end", "fee", "currency")


def _days(values: object) -> np.ndarray:
    """Dates (Series, array, list) as numpy datetime64[D]; missing values become NaT."""
    return pd.to_datetime(pd.Series(values).reset_index(drop=True)).to_numpy(
        dtype="datetime64[ms]"
    ).astype("datetime64[D]")


def add_months(dates: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """Calendar-add whole months to datetime64[D] dates; day-of-month clamped (29 Feb -> 28 Feb)."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    start = dates.astype("datetime64[M]")
    target = start + np.asarray(months, dtype="int64").astype("timedelta64[M]")
    out = target.astype("datetime64[D]") + (dates - start.astype("datetime64[D]"))
    month_end = (target + np.timedelta64(1, "M")).astype("datetime64[D]") - np.timedelta64(1, "D")
    return np.where(out > month_end, month_end, out)


def add_years(dates: np.ndarray, years: np.ndarray | int) -> np.ndarray:
    """Calendar-add whole years to datetime64[D] dates (29 Feb -> 28 Feb)."""
    return add_months(dates, np.asarray(years, dtype="int64") * 12)


@dataclass(frozen=True)
class TermRule:
    """A statutory term in years from filing or grant, for filings in [filed_from, filed_before)."""

    jurisdiction: str
    patent_type: str
    years: int
    counted_from: str  # "filing" or "grant"
    filed_from: np.datetime64 | None = None
    filed_before: np.datetime64 | None = None


# The one table of statutory terms (sources in the module docstring); numpy and SQL derive from it.
TERM_RULES: tuple[TermRule, ...] = (
    TermRule("CN", "invention", 20, "filing"),
    TermRule("CN", "utility_model", 10, "filing"),
    TermRule("CN", "design", 15, "filing", filed_from=CN_DESIGN_15Y_FROM),
    TermRule("CN", "design", 10, "filing", filed_before=CN_DESIGN_15Y_FROM),
    TermRule("US", "utility", 20, "filing"),
    TermRule("US", "design", 15, "grant", filed_from=US_DESIGN_15Y_FROM),
    TermRule("US", "design", 14, "grant", filed_before=US_DESIGN_15Y_FROM),
)


def expiry_dates_np(
    jurisdiction: np.ndarray, patent_type: np.ndarray, filing: np.ndarray, grant: np.ndarray
) -> np.ndarray:
    """Statutory expiry as datetime64[D] for aligned numpy arrays (NaT where not determined)."""
    jur = np.asarray(jurisdiction).astype(str)
    typ = np.asarray(patent_type).astype(str)
    filing = np.asarray(filing, dtype="datetime64[D]")
    grant = np.asarray(grant, dtype="datetime64[D]")
    out = np.full(len(jur), np.datetime64("NaT"), dtype="datetime64[D]")
    for rule in TERM_RULES:
        hit = (jur == rule.jurisdiction) & (typ == rule.patent_type)
        if rule.filed_from is not None:
            hit &= filing >= rule.filed_from
        if rule.filed_before is not None:
            hit &= filing < rule.filed_before
        base = filing if rule.counted_from == "filing" else grant
        out[hit] = add_years(base[hit], rule.years)
    return out


def expiry_sql(jurisdiction: str = "jurisdiction", patent_type: str = "patent_type",
               filing_date: str = "filing_date", grant_date: str = "grant_date") -> str:
    """A DuckDB CASE expression giving the statutory expiry from the named columns."""
    whens = []
    for rule in TERM_RULES:
        cond = [f"{jurisdiction} = '{rule.jurisdiction}'", f"{patent_type} = '{rule.patent_type}'"]
        if rule.filed_from is not None:
            cond.append(f"{filing_date} >= DATE '{rule.filed_from}'")
        if rule.filed_before is not None:
            cond.append(f"{filing_date} < DATE '{rule.filed_before}'")
        base = filing_date if rule.counted_from == "filing" else grant_date
        whens.append(f"  WHEN {' AND '.join(cond)} THEN {base} + INTERVAL {rule.years} YEAR")
    return "CASE\n" + "\n".join(whens) + "\nEND"


def expiry_dates(
    jurisdiction: Sequence[str] | pd.Series,
    patent_type: Sequence[str] | pd.Series,
    filing_date: object,
    grant_date: object,
) -> pd.Series:
    """End of the statutory term of each patent (datetime64[ms]; NaT if type unknown)."""
    jur = pd.Series(jurisdiction).reset_index(drop=True).astype(str).to_numpy()
    typ = pd.Series(patent_type).reset_index(drop=True).astype(str).to_numpy()
    out = expiry_dates_np(jur, typ, _days(filing_date), _days(grant_date))
    index = jurisdiction.index if isinstance(jurisdiction, pd.Series) else None
    return pd.Series(out.astype("datetime64[ms]"), index=index, name="expiry_date")


def _cn_fee(patent_type: np.ndarray, patent_year: np.ndarray) -> np.ndarray:
    """CNIPA annual fee (CNY) for each patent type and patent year counted from filing."""
    fee = np.zeros(len(patent_year))
    for table_, is_type in (
        (CN_INVENTION_FEES, patent_type == "invention"),
        (CN_UTILITY_DESIGN_FEES, patent_type != "invention"),
    ):
        for first, last, amount in table_:
            fee[is_type & (patent_year >= first) & (patent_year <= last)] = amount
    return fee


def renewal_schedule_np(
    jurisdiction: np.ndarray,
    patent_type: np.ndarray,
    filing: np.ndarray,
    grant: np.ndarray,
    expiry: np.ndarray,
) -> dict[str, np.ndarray]:
    """Every renewal fee due before expiry, as aligned numpy arrays (see `renewal_schedule`)."""
    jur = np.asarray(jurisdiction).astype(str)
    typ = np.asarray(patent_type).astype(str)
    filing = np.asarray(filing, dtype="datetime64[D]")
    grant = np.asarray(grant, dtype="datetime64[D]")
    expiry = np.asarray(expiry, dtype="datetime64[D]")
    parts: list[dict[str, np.ndarray]] = []
    # CN: a fee at the start of every patent year (filing anniversary) that begins after grant.
    cn = np.flatnonzero((jur == "CN") & ~np.isnat(grant) & ~np.isnat(filing))
    if len(cn):
        g_year = (grant[cn].astype("datetime64[M]") - filing[cn].astype("datetime64[M]")).astype(
            "int64"
        ) // 12
        for k in range(1, 21):
            due = add_years(filing[cn], k)
            year_no = np.full(len(cn), k + 1)
            keep = (k > g_year) & (due > grant[cn]) & (due < expiry[cn])
            if not keep.any():
                continue
            rows = cn[keep]
            parts.append({
                "row": rows, "patent_year": year_no[keep], "due_date": due[keep],
                "fee": _cn_fee(typ[rows], year_no[keep]),
                "currency": np.full(len(rows), "CNY", dtype=object),
            })
    us = np.flatnonzero((jur == "US") & (typ == "utility") & ~np.isnat(grant))
    for months, fee in zip(US_MAINTENANCE_MONTHS, US_MAINTENANCE_FEES_USD, strict=True):
        due = add_months(grant[us], months)
        keep = due < expiry[us]
        rows = us[keep]
        parts.append({
            "row": rows, "patent_year": np.full(len(rows), months // 12 + 1),
            "due_date": due[keep], "fee": np.full(len(rows), fee),
            "currency": np.full(len(rows), "USD", dtype=object),
        })
    if not parts:
        empty = np.array([], dtype="int64")
        return {"row": empty, "fee_number": empty, "patent_year": empty,
                "due_date": np.array([], dtype="datetime64[D]"),
                "grace_end": np.array([], dtype="datetime64[D]"),
                "fee": np.array([], dtype=float), "currency": np.array([], dtype=object)}
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.lexsort((out["due_date"], out["row"]))
    out = {k: v[order] for k, v in out.items()}
    row = out["row"].astype("int64")
    first = np.r_[True, row[1:] != row[:-1]]
    starts = np.maximum.accumulate(np.where(first, np.arange(len(row)), 0))
    out["row"] = row
    out["fee_number"] = np.arange(len(row)) - starts + 1
    out["grace_end"] = add_months(out["due_date"], GRACE_MONTHS)
    return out


def renewal_schedule(
    jurisdiction: Sequence[str] | pd.Series,
    patent_type: Sequence[str] | pd.Series,
    filing_date: object,
    grant_date: object,
    expiry_date: object | None = None,
) -> pd.DataFrame:
    """Renewal fees due per patent: CN annual fees each year after grant, US 3.5/7.5/11.5 years.

    One row per fee with `row` (position of the patent in the inputs), `fee_number` (1, 2, ...),
    `patent_year` (CN: year of the term counted from filing; US: year after grant), `due_date`,
    `grace_end` (6 months later; unpaid by then the patent lapses), `fee` and its `currency`.
    """
    jur = pd.Series(jurisdiction).reset_index(drop=True).astype(str).to_numpy()
    typ = pd.Series(patent_type).reset_index(drop=True).astype(str).to_numpy()
    filing, grant = _days(filing_date), _days(grant_date)
    expiry = (
        expiry_dates_np(jur, typ, filing, grant) if expiry_date is None else _days(expiry_date)
    )
    out = renewal_schedule_np(jur, typ, filing, grant, expiry)
    frame = pd.DataFrame({k: out[k] for k in RENEWAL_COLUMNS})
    for col in ("due_date", "grace_end"):
        frame[col] = frame[col].astype("datetime64[ms]")
    frame["currency"] = frame["currency"].astype("string")
    return frame


__all__ = [
    "CN_DESIGN_15Y_FROM",
    "GRACE_MONTHS",
    "US_DESIGN_15Y_FROM",
    "US_MAINTENANCE_FEES_USD",
    "US_MAINTENANCE_MONTHS",
    "add_months",
    "add_years",
    "expiry_dates",
    "expiry_dates_np",
    "renewal_schedule",
    "renewal_schedule_np",
]
