"""Portfolio valuation report for a pledge loan (专利质押评估报告), for a bank to file with a loan.

Per patent P10/P50/P90 with the main reasons and the value explanation grouped along the
GB/T 42748-2023 axes (legal, technical, economic value); the portfolio total, concentration by
class and remaining term, the loan-to-value at the requested amount, default probability and
grade, and a stress view. Values, default probability and loan terms come from the same
functions as `POST /v1/valuations` and `POST /v1/loans/assessments` (`value_items`,
`quote_pledge_loan`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.pipelines import patents_in_force
from features.registry import VALUE_AXES
from models.policy import Applicant, ApplicantRole, IneligibleError, QuoteInputError
from serving.charts import bar_chart_svg
from serving.errors import InvalidInputError
from serving.reports.basis import ReportBasis
from serving.reports.document import (
    CoverItem,
    Report,
    ReportChart,
    ReportSection,
    ReportTable,
    Text,
)
from serving.scoring.entities import require_firm
from serving.scoring.lending import quote_pledge_loan, value_items
from serving.scoring.schemas import FirmRef, PatentRef

MAX_PORTFOLIO_PATENTS = 5000
TERM_BUCKETS = ((0, 3, "0-3"), (3, 5, "3-5"), (5, 10, "5-10"), (10, 15, "10-15"),
                (15, 99, "15+"))


@dataclass(frozen=True)
class PortfolioRequest:
    """A borrower (its patents in force) or a list of patent ids, and the loan asked for."""

    borrower: str | None = None
    patent_ids: tuple[str, ...] = ()
    amount: float | None = None
    term_months: int = 12

    def __post_init__(self) -> None:
        if self.borrower is None and not self.patent_ids:
            raise InvalidInputError("borrower", "required",
                                    "give a borrower (assignee id) or a list of patent ids")
        if len(self.patent_ids) > MAX_PORTFOLIO_PATENTS:
            raise InvalidInputError("patents", "max_items", f"patents may list at most "
                                    f"{MAX_PORTFOLIO_PATENTS} ids, got {len(self.patent_ids)}")
        if self.amount is not None and not 0 < self.amount <= 1e12:
            raise InvalidInputError("amount", "range", "amount must be > 0 and at most 1e12, "
                                    f"got {self.amount}")
        if not 1 <= self.term_months <= 120:
            raise InvalidInputError("term_months", "range", "term_months must be 1 to 120, got "
                                    f"{self.term_months}")


def _borrower_and_ids(basis: ReportBasis, req: PortfolioRequest) -> tuple[str, list[str]]:
    """The borrower and the portfolio's patent ids (the borrower's patents in force if none)."""
    held = patents_in_force(basis.cursor, basis.as_of)
    if req.borrower is not None:
        require_firm(basis.cursor, basis.tables, req.borrower)
    ids = list(dict.fromkeys(req.patent_ids))
    if not ids:
        ids = held.loc[held["owner_id"] == req.borrower, "patent_id"].tolist()
        if not ids:
            raise InvalidInputError("borrower", "holds_patents", f"borrower {req.borrower} holds "
                                    f"no patent in force on {basis.as_of.isoformat()}")
        if len(ids) > MAX_PORTFOLIO_PATENTS:
            raise InvalidInputError("borrower", "max_items", f"borrower {req.borrower} holds "
                                    f"{len(ids)} patents; list at most {MAX_PORTFOLIO_PATENTS}")
    borrower = req.borrower
    if borrower is None:
        # Without a named borrower the loan is the main holder's: who owns most of the list.
        owners = held.loc[held["patent_id"].isin(set(ids)), "owner_id"].dropna()
        if owners.empty:
            raise InvalidInputError("patents", "in_force", "none of the patents is in force on "
                                    f"{basis.as_of.isoformat()}; name the borrower")
        borrower = str(owners.value_counts().index[0])
    return borrower, ids


def _reasons(item: dict[str, Any], lang: str, n: int = 3) -> str:
    """The first `n` reasons of a patent's value explanation in `lang`."""
    return "; ".join(r[f"text_{lang}"] for r in item["explanation"]["reasons"][:n])


def _bucket(years: float) -> str:
    for lo, hi, label in TERM_BUCKETS:
        if lo <= years < hi:
            return label
    return "expired"


def portfolio_tables(basis: ReportBasis, req: PortfolioRequest) -> dict[str, Any]:
    """Every table of the portfolio report, plus the borrower, quote and figures used."""
    basis.require("value", "default")
    basis.progress("portfolio")
    borrower, ids = _borrower_and_ids(basis, req)
    basis.progress("values")
    refs = [PatentRef(patent_id=p) for p in ids]
    items, _total, feats = value_items(basis.cursor, basis.score, refs, basis.as_of)
    held = patents_in_force(basis.cursor, basis.as_of).set_index("patent_id")
    rows = []
    for item in items:
        pid = item["patent_id"]
        explained = item["explanation"]
        # GB/T axes in currency: base P50 + legal + technical + economic = the model's P50.
        axes = {a["axis"]: a["effect"] for a in explained["axes"]}
        logs = {f"{a['axis']}_log": a["contribution"] for a in explained["axes"]}
        remaining = float(feats.loc[pid, "remaining_term_years"])
        rows.append({
            "patent_id": pid, "patent_type": item["patent_type"],
            "cpc_class": held["cpc_main"].get(pid), "in_force": item["in_force"],
            "remaining_term": round(remaining, 1) if not np.isnan(remaining) else np.nan,
            "p10": item["p10"], "p50": item["p50"], "p90": item["p90"],
            "base_p50": explained["base_output"],
            **{a: axes[a] for a in VALUE_AXES},
            **logs,
            "base_value": explained["base_value"],
            "raw_score": explained["raw_score"],
            "reasons_en": _reasons(item, "en"), "reasons_zh": _reasons(item, "zh"),
        })
    patents = pd.DataFrame(rows).sort_values("p50", ascending=False, kind="stable")
    pledged = patents[patents["in_force"]]
    if pledged.empty:
        raise InvalidInputError("patents", "in_force", "no patent of the portfolio is in force on "
                                f"{basis.as_of.isoformat()}: nothing can be pledged")

    basis.progress("loan")
    quote_args = (borrower, req.term_months, feats)
    base = _quote(basis, pledged, items, req.amount, *quote_args)
    amount = base["amount"]
    basis.progress("stress")
    at_p10 = _quote(basis, pledged, items, amount, *quote_args, appraise_at_p10=True)
    rest = pledged.iloc[1:]
    without = _quote(basis, rest, items, amount, *quote_args) if len(rest) else None
    stress = pd.DataFrame([
        {"scenario": "base (P50 appraisal)", **_stress_row(base)},
        {"scenario": "values at P10", **_stress_row(at_p10)},
        {"scenario": f"largest patent removed ({pledged['patent_id'].iloc[0]})",
         **(_stress_row(without) if without else {})},
    ])

    total = {q: float(pledged[q].sum()) for q in ("p10", "p50", "p90")}
    q = base["quote"]
    summary = pd.DataFrame([
        ("borrower", borrower), ("patents", len(patents)), ("patents_in_force", len(pledged)),
        ("total_p10", total["p10"]), ("total_p50", total["p50"]), ("total_p90", total["p90"]),
        ("requested_amount", amount), ("term_months", req.term_months),
        ("ltv_on_p10", amount / total["p10"] if total["p10"] > 0 else np.nan),
        ("ltv_on_p50", amount / total["p50"] if total["p50"] > 0 else np.nan),
        ("default_probability", q.default_probability),
        ("annual_default_probability", q.annual_default_probability),
        ("grade", q.grade.value), ("decision", q.decision.value),
        ("ltv_applied", q.ltv_applied), ("max_loan", float(q.max_loan)),
        ("lgd", q.lgd), ("expected_loss", float(q.expected_loss)),
        ("gross_premium", float(q.gross_premium)),
    ], columns=["item", "value"])
    summary["value"] = summary["value"].astype(object)

    pledged_c = pledged.assign(cls=pledged["cpc_class"].fillna("unknown"),
                               term=[_bucket(y) for y in pledged["remaining_term"]])
    by_class = pledged_c.groupby("cls", as_index=False).agg(
        patents=("patent_id", "size"), value_p50=("p50", "sum")).rename(
        columns={"cls": "cpc_class"}).sort_values("value_p50", ascending=False)
    by_class["share"] = by_class["value_p50"] / max(total["p50"], 1e-9)
    order = [b[2] for b in TERM_BUCKETS]
    by_term = pledged_c.groupby("term", as_index=False).agg(
        patents=("patent_id", "size"), value_p50=("p50", "sum")).rename(
        columns={"term": "remaining_term"})
    by_term["_o"] = by_term["remaining_term"].map({b: i for i, b in enumerate(order)})
    by_term = by_term.sort_values("_o").drop(columns="_o")
    by_term["share"] = by_term["value_p50"] / max(total["p50"], 1e-9)

    # The pledged patents' P50 total split into the model's base value and the three axes.
    axis_table = pd.DataFrame([
        {"axis": "base", "name_en": "Base value (the model's average patent)",
         "name_zh": "基准价值（模型平均专利）", "value_p50": float(pledged["base_p50"].sum()),
         "mean_log_contribution": np.nan},
        *({"axis": a, "name_en": VALUE_AXES[a][0], "name_zh": VALUE_AXES[a][1],
           "value_p50": float(pledged[a].sum()),
           "mean_log_contribution": float(pledged[f"{a}_log"].mean())}
          for a in VALUE_AXES),
    ])
    axis_table["share"] = axis_table["value_p50"] / max(float(pledged["p50"].sum()), 1e-9)
    return {"borrower": borrower, "quote": q, "amount": amount, "tables": {
        "portfolio_summary": summary, "portfolio_patents": patents.reset_index(drop=True),
        "concentration_by_class": by_class.reset_index(drop=True),
        "concentration_by_term": by_term.reset_index(drop=True),
        "value_axes": axis_table, "stress": stress}}


def _quote(
    basis: ReportBasis,
    pledged: pd.DataFrame,
    items: Sequence[dict[str, Any]],
    amount: float | None,
    borrower: str,
    term_months: int,
    features: pd.DataFrame,
    appraise_at_p10: bool = False,
) -> dict[str, Any]:
    """The pledge-loan quote on `pledged` (requested amount default: the policy's max loan)."""
    chosen = set(pledged["patent_id"])
    its = [i for i in items if i["patent_id"] in chosen]
    total = {q: float(pledged[q].sum()) for q in ("p10", "p50", "p90")}
    refs = [PatentRef(patent_id=i["patent_id"]) for i in its]
    applicant = Applicant(applicant_id=borrower, role=ApplicantRole.BORROWER)
    appraised = total["p10"] if appraise_at_p10 else None

    def run(value: float) -> Any:
        try:
            return quote_pledge_loan(basis.cursor, basis.models, basis.score, basis.as_of,
                                     FirmRef(assignee_id=borrower), value, term_months, refs,
                                     its, total, appraised, applicant, 0.0, features)[0]
        except (IneligibleError, QuoteInputError) as exc:
            raise InvalidInputError(getattr(exc, "field", "loan"), "policy", str(exc)) from None

    if amount is None:
        # The largest loan the patent types allow on P10, then the policy's max loan at it.
        caps = basis.policy.loan.patent_type_caps
        cap = min(caps.get(i["patent_type"] or "", 0.0) for i in its)
        first = run(max(1.0, round(total["p10"] * cap, 2)))
        # The quote's money is Decimal; the report's tables and the next quote take floats.
        amount = (float(first.max_loan) if first.max_loan > 0
                  else max(1.0, round(total["p10"] * cap, 2)))
    return {"quote": run(amount), "amount": amount, "total": total}


def _stress_row(res: dict[str, Any]) -> dict[str, Any]:
    """One stress line: collateral values, max loan, LTV, default probability and grade."""
    q, total = res["quote"], res["total"]
    return {"p50": total["p50"], "p10": total["p10"], "max_loan": float(q.max_loan),
            "ltv_requested": res["amount"] / total["p10"] if total["p10"] > 0 else np.nan,
            "default_probability": q.default_probability, "grade": q.grade.value}


def build_portfolio_report(basis: ReportBasis, req: PortfolioRequest) -> Report:
    """The portfolio valuation report for a borrower or a list of patents."""
    out = portfolio_tables(basis, req)
    tb = out["tables"]
    basis.progress("charts")
    cur = basis.policy.currency
    patents = tb["portfolio_patents"]
    top = patents[patents["in_force"]].head(15)
    by_class, by_term, stress = (tb["concentration_by_class"], tb["concentration_by_term"],
                                 tb["stress"])
    borrower = out["borrower"]
    q = out["quote"]

    def axes_chart(lang: str) -> str:
        return bar_chart_svg(
            top["patent_id"].tolist(),
            {VALUE_AXES[a][0 if lang == "en" else 1]: top[a].tolist() for a in VALUE_AXES},
            chart_id="portfolio_patents_axes", horizontal=True,
            height=max(3.0, 0.4 * len(top)),
            xlabel=f"effect on P50 ({cur})" if lang == "en" else f"对P50估值的影响（{cur}）")

    sections = [
        ReportSection(
            "summary", Text("Loan and portfolio summary", "贷款与组合摘要"),
            [Text(f"Borrower {borrower} asks for {out['amount']:,.0f} {cur} over "
                  f"{req.term_months} months against {int((patents['in_force']).sum())} patents "
                  f"in force. Default probability {q.default_probability:.2%} over the term, "
                  f"grade {q.grade.value}, decision {q.decision.value}; the policy lends up to "
                  f"{q.ltv_applied:.0%} of the P10 value: {q.max_loan:,.0f} {cur}.",
                  f"借款人{borrower}申请贷款{out['amount']:,.0f}{cur}，期限{req.term_months}个月，"
                  f"质押有效专利{int((patents['in_force']).sum())}件。期内违约概率"
                  f"{q.default_probability:.2%}，评级{q.grade.value}，结论{q.decision.value}；"
                  f"政策质押率为P10估值的{q.ltv_applied:.0%}，最高可贷{q.max_loan:,.0f}{cur}。")],
            [ReportTable("portfolio_summary", Text("Summary", "摘要"), tb["portfolio_summary"],
                         30)],
            [],
        ),
        ReportSection(
            "patents", Text("Patent values (P10 / P50 / P90) and reasons",
                            "单件专利估值（P10/P50/P90）及主要原因"),
            [Text("Each patent's value interval from the value model with its main reasons; "
                  "patents not in force are valued at 0 and not pledged.",
                  "价值模型给出的每件专利估值区间及主要原因；失效专利估值为0，不计入质押。")],
            [ReportTable("portfolio_patents", Text("Patents", "专利清单"), patents, 25,
                         # base_p50 is the model's one base value (in the axes table).
                         hidden=("base_value", "raw_score", "in_force", "base_p50",
                                 *(f"{a}_log" for a in VALUE_AXES)))],
            [ReportChart("portfolio_patents", Text("P10 / P50 / P90 of the 15 most valuable "
                                                   "patents", "估值最高的15件专利的P10/P50/P90"),
                         lambda lang: bar_chart_svg(
                             top["patent_id"].tolist(),
                             {"P10": top["p10"].tolist(), "P50": top["p50"].tolist(),
                              "P90": top["p90"].tolist()},
                             chart_id="portfolio_patents", horizontal=True,
                             height=max(3.0, 0.4 * len(top)), xlabel=cur))],
        ),
        ReportSection(
            "axes", Text("Value along the GB/T 42748-2023 axes", "按GB/T 42748-2023维度的价值构成"),
            [Text(f"The value model's explanation of each patent's P50 grouped into legal, "
                  f"technical and economic value as the national patent evaluation guideline "
                  f"does, in {cur}: the model's base value plus the three subtotals is the "
                  f"patent's P50. The table splits the pledged patents' total P50 the same way "
                  f"(the log-value subtotals are in the CSV).",
                  f"按国家标准《专利评估指引》（GB/T 42748-2023），"
                  f"将价值模型对每件专利P50的解释分为法律、技术、经济三个维度，单位为{cur}："
                  f"模型基准价值加三项之和等于该专利的P50估值。下表按同样方式拆分质押专利的P50合计"
                  f"（对数价值的分项见CSV）。")],
            [ReportTable("value_axes", Text("Portfolio by axis", "组合各维度"), tb["value_axes"])],
            [ReportChart("portfolio_patents", Text("Legal, technical and economic value of the "
                                                   "15 most valuable patents",
                                                   "估值最高的15件专利的法律、技术、经济价值贡献"),
                         axes_chart)],
        ),
        ReportSection(
            "concentration", Text("Concentration by class and remaining term",
                                  "按技术领域和剩余保护期的集中度"),
            [],
            [ReportTable("concentration_by_class", Text("By CPC class", "按CPC大类"), by_class),
             ReportTable("concentration_by_term", Text("By remaining term (years)",
                                                       "按剩余保护期（年）"), by_term)],
            [ReportChart("concentration_by_class", Text("Share of P50 value by CPC class",
                                                        "按CPC大类的P50价值占比"),
                         lambda lang: bar_chart_svg(
                             by_class["cpc_class"].head(15).tolist(),
                             {"share": by_class["share"].head(15).tolist()},
                             chart_id="concentration_by_class", horizontal=True,
                             xlabel="share of P50" if lang == "en" else "P50价值占比")),
             ReportChart("concentration_by_term", Text("Share of P50 value by remaining term",
                                                       "按剩余保护期的P50价值占比"),
                         lambda lang: bar_chart_svg(
                             by_term["remaining_term"].tolist(),
                             {"share": by_term["share"].tolist()},
                             chart_id="concentration_by_term",
                             xlabel="years left" if lang == "en" else "剩余年限"))],
        ),
        ReportSection(
            "stress", Text("Stress view", "压力测试"),
            [Text("The loan at the same amount with the collateral appraised at its P10 value, "
                  "and with the most valuable patent removed from the pledge.",
                  "相同贷款金额下：以P10估值作为评估价值；以及去掉价值最高的一件专利后的结果。")],
            [ReportTable("stress", Text("Scenarios", "情景"), stress)],
            [ReportChart("stress", Text("Max loan and P10 value by scenario",
                                        "各情景的最高可贷额与P10估值"),
                         lambda lang: bar_chart_svg(
                             [("base", "values at P10", "without largest")[i] if lang == "en" else
                              ("基准", "P10估值", "去掉最大一件")[i] for i in range(len(stress))],
                             {("P10 value" if lang == "en" else "P10估值"): stress["p10"].tolist(),
                              ("max loan" if lang == "en" else "最高可贷额"):
                              stress["max_loan"].fillna(0).tolist()},
                             chart_id="stress", ylabel=cur))],
        ),
    ]
    cover = basis.cover(("value", "default"), [
        CoverItem(Text("Borrower", "借款人"), borrower),
        CoverItem(Text("Requested", "申请金额"),
                  f"{out['amount']:,.0f} {cur}" + ("" if req.amount else
                                                    " (policy max loan; none requested)")),
    ])
    return Report(
        kind="portfolio",
        title=Text("Patent portfolio valuation for a pledge loan", "专利权质押贷款组合估值报告"),
        subtitle=Text(f"Borrower {borrower}: values, loan-to-value, default risk and stress",
                      f"借款人{borrower}：估值、质押率、违约风险与压力测试"),
        as_of=basis.as_of, cover=cover, sections=sections,
        slug=f"portfolio-{borrower}-{basis.as_of.isoformat()}",
    )
