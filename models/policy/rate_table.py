"""The rate table per product and grade, written as CSV and Markdown for a regulator filing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from models.policy.document import Policy, Product
from models.policy.scale import Decision, Grade

COLUMNS = (
    "product",
    "product_name_zh",
    "grade",
    "probability_lower",
    "probability_upper",
    "probability_midpoint",
    "risk_loading",
    "ltv",
    "premium_per_unit_cover",
    "expense_loading",
    "minimum_premium",
    "decision",
    "policy_version",
    "policy_sha256",
)


class RateRow(BaseModel):
    """One product and grade of the rate table."""

    model_config = ConfigDict(frozen=True)

    product: Product
    product_name_zh: str
    grade: Grade
    probability_lower: float
    probability_upper: float
    probability_midpoint: float
    risk_loading: float
    ltv: float | None
    premium_per_unit_cover: float
    expense_loading: float
    minimum_premium: float
    decision: Decision
    policy_version: str
    policy_sha256: str


def rate_table(policy: Policy) -> list[RateRow]:
    """Rows per product and grade; the rate is the 12-month risk premium per unit at the midpoint.

    The rate is midpoint x (1 + risk loading) per unit of payable cover; for pledge loans it is
    per unit of loss given default and times the insurer's loss share. The fixed expense loading
    and the minimum premium are per policy and shown in their own columns.
    """
    rows = []
    for product, spec in policy.products.items():
        share = policy.loan.loss_sharing.insurer if product is Product.PLEDGE_LOAN else 1.0
        for band in spec.scale:
            rows.append(
                RateRow(
                    product=product,
                    product_name_zh=spec.name_zh,
                    grade=band.grade,
                    probability_lower=band.lower,
                    probability_upper=band.upper,
                    probability_midpoint=band.midpoint,
                    risk_loading=band.risk_loading,
                    ltv=band.ltv,
                    premium_per_unit_cover=round(
                        band.midpoint * (1 + band.risk_loading) * share, 8
                    ),
                    expense_loading=spec.expense_loading,
                    minimum_premium=spec.minimum_premium,
                    decision=spec.decision_for(band.grade),
                    policy_version=policy.version,
                    policy_sha256=policy.sha256,
                )
            )
    return rows


def rate_table_csv(rows: list[RateRow]) -> str:
    """The rate table as CSV text with one header line."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        record = row.model_dump(mode="json")
        record["ltv"] = "" if row.ltv is None else row.ltv
        writer.writerow(record)
    return buf.getvalue()


def _pct(value: float) -> str:
    return f"{value * 100:.4g} %"


def rate_table_markdown(policy: Policy, rows: list[RateRow]) -> str:
    """The rate table as a Markdown document headed by the policy version and hash."""
    lines = [
        f"# Rate table (费率表), policy {policy.version}",
        "",
        f"- Policy version: `{policy.version}`, effective from {policy.effective_from}",
        f"- Policy file SHA-256: `{policy.sha256}`",
        f"- Currency: {policy.currency}",
        "- Probability bands are [lower, upper) on 12-month probabilities (pledge loans: the term "
        "default probability annualised); the last band includes 1.",
        "- Premium per unit of cover = band midpoint x (1 + risk loading), per year and unit of "
        "payable cover; pledge loans: per unit of loss given default, times the insurer's share "
        f"({policy.loan.loss_sharing.insurer:g}). Fixed expense loading and minimum premium are "
        "added per policy.",
        "",
    ]
    for product, spec in policy.products.items():
        lines += [
            f"## {product.value} ({spec.name_zh})",
            "",
            f"Expense loading {spec.expense_loading:,.2f} {policy.currency} per policy; minimum "
            f"premium {spec.minimum_premium:,.2f} {policy.currency}; refer from {spec.refer_at}, "
            f"decline from {spec.decline_at}.",
            "",
            "| grade | probability band | midpoint | risk loading | LTV | premium per unit "
            "of cover | decision |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in rows:
            if row.product is not product:
                continue
            ltv = "" if row.ltv is None else f"{row.ltv:.0%}"
            lines.append(
                f"| {row.grade} | {_pct(row.probability_lower)} – {_pct(row.probability_upper)} "
                f"| {_pct(row.probability_midpoint)} | {row.risk_loading:.0%} | {ltv} "
                f"| {row.premium_per_unit_cover:.6f} | {row.decision} |"
            )
        lines.append("")
    return "\n".join(lines)


def write_rate_table(policy: Policy, out_dir: Path) -> tuple[Path, Path]:
    """Write `rate-table-<version>.csv` and `.md` into `out_dir`; return both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = rate_table(policy)
    csv_path = out_dir / f"rate-table-{policy.version}.csv"
    md_path = out_dir / f"rate-table-{policy.version}.md"
    csv_path.write_text(rate_table_csv(rows), encoding="utf-8")
    md_path.write_text(rate_table_markdown(policy, rows), encoding="utf-8")
    return csv_path, md_path
