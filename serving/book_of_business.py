"""The book of business (业务台账) for the regulator: premium, subsidy, claims and deadlines.

One row per product, grade and policy year (the year cover starts): policies, written and
earned premium, subsidy granted, claims reported / paid / reserved, loss ratio, actual over
expected losses against the models' expected loss at binding, median days to decision and to
payment, and claims that missed a deadline of the Insurance Law (Art. 23); the advances paid
before decisions (先予支付, part of the claims paid) and the claims denied at registration under
the known-circumstances exclusion.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.policy import Policy
from models.policy.cover import earned_fraction
from models.policy.deadlines import claim_deadlines
from models.policy.money import ZERO, from_minor, rounded
from serving.claims.ledger import balances
from serving.claims.tables import ClaimRecord, LedgerEntry
from serving.policies.service import earned
from serving.policies.tables import PolicyRecord, PolicyVersion

BOOK_COLUMNS = (
    "product", "grade", "year", "currency", "policies", "written_premium", "earned_premium",
    "subsidy", "claims_reported", "claims_paid", "claims_reserved", "recoveries",
    "incurred", "loss_ratio", "expected_loss", "actual_over_expected",
    "median_days_to_decision", "median_days_to_payment", "overdue_claims",
    "claims_advanced", "known_circumstance_denials",
)
# Registration denial codes of the known-circumstances exclusion.
KNOWN_CIRCUMSTANCE_CODES = frozenset({"known_circumstance", "suit_before_binding"})


@dataclass
class _Cell:
    """Running sums of one row of the book."""

    policies: int = 0
    written: Decimal = ZERO
    earned: Decimal = ZERO
    subsidy: Decimal = ZERO
    expected: Decimal = ZERO
    reported: int = 0
    paid: Decimal = ZERO
    reserved: Decimal = ZERO
    recovered: Decimal = ZERO
    overdue: int = 0
    advanced: Decimal = ZERO
    known_denials: int = 0
    days_to_decision: list[int] = field(default_factory=list)
    days_to_payment: list[int] = field(default_factory=list)


def _ratio(num: Decimal, den: Decimal) -> float | None:
    """The ratio num / den rounded to 4 decimals, or None when the denominator is zero."""
    return round(float(num / den), 4) if den > 0 else None


def _median(values: list[int]) -> float | None:
    """Median of day counts, or None without any."""
    return float(statistics.median(values)) if values else None


def book_of_business(session: Session, policy: Policy, as_of: dt.date,
                     year: int | None = None) -> list[dict[str, Any]]:
    """The rows of the book as of `as_of` (optionally one policy year), ordered by key."""
    heads_q = sa.select(PolicyRecord)
    if year is not None:
        heads_q = heads_q.where(sa.extract("year", PolicyRecord.start_date) == year)
    heads = {h.id: h for h in session.scalars(heads_q)}
    versions: dict[str, list[PolicyVersion]] = defaultdict(list)
    for v in session.scalars(sa.select(PolicyVersion).order_by(PolicyVersion.version)):
        if v.policy_id in heads:
            versions[v.policy_id].append(v)
    cells: dict[tuple[str, str, int, str], _Cell] = defaultdict(_Cell)
    for h in heads.values():
        vs = versions[h.id]
        cur = h.currency
        cell = cells[(h.product, h.grade, h.start_date.year, cur)]
        cell.policies += 1
        cell.written += sum((from_minor(v.premium_change_minor, cur) for v in vs), ZERO)
        cell.earned += earned(vs, h.end_date, h.cancelled_from, as_of, cur)
        cell.subsidy += from_minor(vs[-1].subsidy_minor, cur)
        last = h.end_date if h.cancelled_from is None else min(
            h.end_date, h.cancelled_from - dt.timedelta(days=1))
        run = earned_fraction(h.start_date, h.end_date, min(as_of, last))
        cell.expected += from_minor(vs[0].expected_loss_minor, cur) * run
    claims = [c for c in session.scalars(sa.select(ClaimRecord)) if c.policy_id in heads]
    entries: dict[str, list[LedgerEntry]] = defaultdict(list)
    for e in session.scalars(sa.select(LedgerEntry)):
        entries[e.claim_id].append(e)
    for c in claims:
        h = heads[c.policy_id]
        cell = cells[(h.product, h.grade, h.start_date.year, h.currency)]
        b = balances(entries[c.id], c.currency)
        cell.reported += 1
        cell.paid += b.paid
        cell.reserved += b.reserve
        cell.recovered += b.recovered
        cell.advanced += b.advanced
        if any(r.get("code") in KNOWN_CIRCUMSTANCE_CODES for r in c.denial_reasons or []):
            cell.known_denials += 1
        agreed = Decimal((c.payable or {}).get("total", "0"))
        if claim_deadlines(policy.claims, c.documents_complete_on, c.decided_on, agreed > 0,
                           c.fully_paid_on, as_of).overdue:
            cell.overdue += 1
        if c.decided_on is not None:
            cell.days_to_decision.append((c.decided_on - c.notified_on).days)
        if c.decided_on is not None and c.fully_paid_on is not None:
            cell.days_to_payment.append((c.fully_paid_on - c.decided_on).days)
    rows = []
    for (product, grade, yr, cur), cell in sorted(cells.items()):
        incurred = cell.paid + cell.reserved - cell.recovered
        rows.append({
            "product": product, "grade": grade, "year": yr, "currency": cur,
            "policies": cell.policies,
            "written_premium": str(rounded(cell.written, cur)),
            "earned_premium": str(rounded(cell.earned, cur)),
            "subsidy": str(rounded(cell.subsidy, cur)),
            "claims_reported": cell.reported,
            "claims_paid": str(rounded(cell.paid, cur)),
            "claims_reserved": str(rounded(cell.reserved, cur)),
            "recoveries": str(rounded(cell.recovered, cur)),
            "incurred": str(rounded(incurred, cur)),
            "loss_ratio": _ratio(incurred, cell.earned),
            "expected_loss": str(rounded(cell.expected, cur)),
            "actual_over_expected": _ratio(incurred, cell.expected),
            "median_days_to_decision": _median(cell.days_to_decision),
            "median_days_to_payment": _median(cell.days_to_payment),
            "overdue_claims": cell.overdue,
            "claims_advanced": str(rounded(cell.advanced, cur)),
            "known_circumstance_denials": cell.known_denials,
        })
    return rows


def book_csv(rows: list[dict[str, Any]]) -> str:
    """The book as CSV with a header row (empty cells for missing ratios)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(BOOK_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row[k] is None else row[k] for k in BOOK_COLUMNS})
    return out.getvalue()
