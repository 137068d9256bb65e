"""Rate adequacy report (费率充足性回测): the rate table backtested on the data's past years.

For each past year Y the population is what the models were trained on (patents in force and
firms with product classes on 31 December Y-1; pledge loans drawn in Y whose term has ended),
each priced through the policy as the service would have quoted it then, next to the claims
and losses that year's data shows. Actual / expected claims with an exact Poisson interval tells
which grades are under- or over-priced.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.stats import chi2

from features.pipelines import build_snapshots, default_snapshot_dates, task_features
from features.pipelines.frames import patent_frame as patent_pairs_frame
from features.registry import PATENT_TYPES
from models.policy import Applicant, ApplicantRole, Product, assess_pledge_loan
from models.policy.insurance import insurance_premium
from models.policy.scale import MASTER_SCALE
from serving.charts import estimate_chart_svg, line_chart_svg
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
from serving.reports.liability_costs import liability_claim_costs
from serving.reports.market import PRODUCT_NAMES
from serving.scoring.entities import severity_frame
from serving.scoring.explanations import predict_unexplained

CONFIDENCE = 0.95
ENFORCEMENT_COVER = 1_000_000.0
LIABILITY_COVER = 2_000_000.0


def poisson_interval(observed: float, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact (Garwood) interval for the mean of a Poisson count `observed`."""
    a = 1.0 - confidence
    n = float(observed)
    lower = 0.0 if n == 0 else float(chi2.ppf(a / 2, 2 * n)) / 2
    upper = float(chi2.ppf(1 - a / 2, 2 * n + 2)) / 2
    return lower, upper


def backtest_years(basis: ReportBasis, years: int) -> list[int]:
    """The last `years` past years complete by the report date (and with a snapshot)."""
    dates = default_snapshot_dates(basis.cursor, basis.as_of)
    return [d.year + 1 for d in dates][-years:]


def enforcement_backtest(basis: ReportBasis, years: list[int]) -> pd.DataFrame:
    """Per patent-year: grade, premium, expected and actual claims and losses (enforcement)."""
    dates = [dt.date(y - 1, 12, 31) for y in years]
    snaps = build_snapshots(basis.cursor, "litigation", dates, end_date=basis.as_of,
                            check_leakage=False)
    if snaps.empty:
        return pd.DataFrame()
    frame = snaps.set_index("entity_id")
    p = predict_unexplained(basis.models.require("litigation"),
                frame[task_features("litigation")])["probability"].to_numpy()
    cost = predict_unexplained(basis.models.require("severity"), severity_frame(
        frame[task_features("litigation")], "enforcement"))["expected_cost"].to_numpy()
    # What the claims cost: the plaintiff's legal costs of the cases filed on the patent in Y.
    costs = basis.cursor.execute(
        "SELECT patent_id, year(filed_date) AS year, sum(coalesce(plaintiff_legal_cost, 0)) AS c "
        "FROM cases WHERE closed_date <= CAST(? AS DATE) GROUP BY ALL", [basis.as_of.isoformat()]
    ).df()
    out = pd.DataFrame({"unit": frame.index, "year": frame["as_of"].dt.year.to_numpy() + 1,
                        "probability": p, "expected_cost": cost,
                        "claim": frame["label"].to_numpy()})
    out = out.merge(costs.rename(columns={"patent_id": "unit"}), on=["unit", "year"],
                    how="left")
    return _price_insurance(basis, out, Product.ENFORCEMENT, ENFORCEMENT_COVER)


def liability_backtest(basis: ReportBasis, years: list[int]) -> pd.DataFrame:
    """Per firm-year: grade, premium, expected and actual claims and losses (liability)."""
    dates = [dt.date(y - 1, 12, 31) for y in years]
    snaps = build_snapshots(basis.cursor, "liability", dates, end_date=basis.as_of,
                            check_leakage=False)
    if snaps.empty:
        return pd.DataFrame()
    main = basis.cursor.execute(
        "SELECT assignee_id, arg_max(cpc_class, (weight, cpc_class)) AS cls FROM firm_technology "
        "GROUP BY 1"
    ).df().set_index("assignee_id")["cls"]
    frame = snaps.set_index("entity_id")
    p = predict_unexplained(basis.models.require("liability"),
                frame[task_features("liability")])["probability"].to_numpy()
    # Each firm-year's claim cost as a liability quote on that date would have priced it.
    classes = main.reindex(frame.index)
    cost = np.empty(len(frame))
    for day in sorted(set(frame["as_of"])):
        rows = np.flatnonzero((frame["as_of"] == day).to_numpy())
        at = classes.iloc[rows]  # one row per firm on each date
        cost[rows] = liability_claim_costs(basis, at, pd.Timestamp(day).date()).to_numpy()
    # What the claims cost: damages and defence costs of the cases the firm was sued in, in Y.
    costs = basis.cursor.execute(
        "SELECT defendant_id AS unit, year(filed_date) AS year, "
        "sum(coalesce(damages, 0) + coalesce(defendant_legal_cost, 0)) AS c FROM cases "
        "WHERE defendant_id IS NOT NULL AND closed_date <= CAST(? AS DATE) GROUP BY ALL",
        [basis.as_of.isoformat()],
    ).df()
    out = pd.DataFrame({"unit": frame.index, "year": frame["as_of"].dt.year.to_numpy() + 1,
                        "probability": p, "expected_cost": cost,
                        "claim": frame["label"].to_numpy()})
    out = out.merge(costs, on=["unit", "year"], how="left")
    return _price_insurance(basis, out, Product.LIABILITY, LIABILITY_COVER)


def _price_insurance(
    basis: ReportBasis, rows: pd.DataFrame, product: Product, cover: float
) -> pd.DataFrame:
    """Price each row through the policy and add its actual loss (capped at the cover)."""
    policy = basis.policy
    grades, premiums, expected = [], [], []
    for prob, cost in zip(rows["probability"], rows["expected_cost"], strict=True):
        grade, _p, _payable, parts = insurance_premium(
            policy, product, float(prob), float(cost), cover, 0.0, 12)
        grades.append(grade.value)
        premiums.append(float(parts.gross_premium))  # Decimal money; the backtest sums floats
        expected.append(float(parts.expected_loss))
    rows = rows.assign(grade=grades, premium=premiums, expected_loss=expected)
    actual = np.minimum(cover, rows["c"].fillna(0.0).to_numpy()) * rows["claim"].to_numpy()
    return rows.assign(product=product.value, actual_loss=actual)


def pledge_backtest(basis: ReportBasis, years: list[int]) -> pd.DataFrame:
    """Per loan drawn in a past year whose term ended: grade, premium, default and loss."""
    if "loans" not in basis.tables or not years:
        return pd.DataFrame()
    # Loans drawn in the years shown: T (the day before drawdown) from 31 Dec Y0-1 to 30 Dec Y1.
    span = [dt.date(min(years) - 1, 12, 31), dt.date(max(years), 12, 30)]
    snaps = build_snapshots(basis.cursor, "default", span, end_date=basis.as_of,
                            check_leakage=False)
    if snaps.empty:
        return pd.DataFrame()
    ids = snaps["entity_id"].tolist()
    p = predict_unexplained(basis.models.require("default"),
                            snaps.set_index("entity_id"))["probability"].to_numpy()
    loans = basis.cursor.execute(
        "SELECT loan_id, borrower_id, amount, term_months, coalesce(recovery, 0) AS recovery "
        "FROM loans"
    ).df().set_index("loan_id").loc[ids]
    pledges = basis.cursor.execute("SELECT loan_id, patent_id FROM loan_patents").df()
    pledges = pledges[pledges["loan_id"].isin(set(ids))]
    as_of = snaps.set_index("entity_id")["as_of"]
    pairs = pd.DataFrame({"patent_id": pledges["patent_id"].to_numpy(),
                          "as_of": as_of.loc[pledges["loan_id"]].to_numpy()}).drop_duplicates()
    feats = patent_pairs_frame(basis.cursor, pairs)
    vals = predict_unexplained(basis.models.require("value"), feats.set_index("patent_id"))
    codes = feats["patent_type"].fillna(-1).astype(int)
    feats = feats.assign(p10=vals["p10"].to_numpy(), p50=vals["p50"].to_numpy(),
                         ptype=[PATENT_TYPES[c] if 0 <= c < len(PATENT_TYPES) else "unknown"
                                for c in codes])
    pledged = pledges.assign(as_of=as_of.loc[pledges["loan_id"]].to_numpy()).merge(
        feats[["patent_id", "as_of", "p10", "p50", "ptype"]], on=["patent_id", "as_of"])
    policy = basis.policy
    share = policy.loan.loss_sharing.insurer
    agg = pledged.groupby("loan_id").agg(p10=("p10", "sum"), p50=("p50", "sum"),
                                         types=("ptype", list))
    facts = loans.join(agg, how="inner")
    facts = facts[facts["p10"] > 0]
    label = dict(zip(ids, snaps["label"].to_numpy(), strict=True))
    prob = dict(zip(ids, p, strict=True))
    start = dict(zip(ids, (snaps["as_of"] + pd.Timedelta(days=1)).dt.year, strict=True))
    rows = []
    for loan_id, borrower, amount, term, recovery, p10, p50, types in zip(
            facts.index, facts["borrower_id"], facts["amount"], facts["term_months"],
            facts["recovery"], facts["p10"], facts["p50"], facts["types"], strict=True):
        q = assess_pledge_loan(policy, float(prob[loan_id]), float(p10), float(p50),
                               float(amount), int(term), types,
                               Applicant(applicant_id=str(borrower), role=ApplicantRole.BORROWER))
        defaulted = float(label[loan_id])
        # The bank's loss after recovery, covered up to the exposure the policy accepted; the
        # insurer bears its share of it.
        loss = defaulted * min(float(q.exposure), max(0.0, float(amount) - float(recovery))) * share
        rows.append({"product": Product.PLEDGE_LOAN.value, "unit": loan_id,
                     "year": int(start[loan_id]), "probability": float(prob[loan_id]),
                     "claim": defaulted, "grade": q.grade.value, "premium": float(q.gross_premium),
                     "expected_loss": float(q.premium.expected_loss), "actual_loss": loss,
                     "decision": q.decision.value})
    return pd.DataFrame(rows)


def adequacy(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Premium, expected and actual claims and losses, A/E with its interval, per group."""
    g = rows.groupby(by, as_index=False).agg(
        exposures=("unit", "size"), expected_claims=("probability", "sum"),
        actual_claims=("claim", "sum"), premium=("premium", "sum"),
        expected_losses=("expected_loss", "sum"), actual_losses=("actual_loss", "sum"))
    lo, hi = zip(*(poisson_interval(n) for n in g["actual_claims"]), strict=True) \
        if len(g) else ((), ())
    # A cell the model expected no claims in has no ratio; claims there still mean under-pricing.
    expected = g["expected_claims"].where(g["expected_claims"] > 0)
    g["ae_claims"] = g["actual_claims"] / expected
    g["ae_lower"] = np.asarray(lo, dtype=float) / expected
    g["ae_upper"] = np.asarray(hi, dtype=float) / expected
    g["ae_losses"] = g["actual_losses"] / g["expected_losses"].where(g["expected_losses"] > 0)
    g["actual_loss_ratio"] = g["actual_losses"] / g["premium"].where(g["premium"] > 0)
    g["verdict"] = np.where(
        (g["ae_lower"] > 1) | (expected.isna() & (g["actual_claims"] > 0)), "under-priced",
        np.where(g["ae_upper"] < 1, "over-priced", "adequate"))
    if "grade" in by:
        g["_rank"] = g["grade"].map({str(k): i for i, k in enumerate(MASTER_SCALE)})
        g = g.sort_values([*(c for c in by if c != "grade"), "_rank"]).drop(columns="_rank")
    return g.reset_index(drop=True)


def rates_tables(basis: ReportBasis, years: int = 10) -> dict[str, pd.DataFrame]:
    """Every table of the rate adequacy report over the last `years` past years."""
    basis.require("litigation", "liability", "severity", "default", "value")
    if not 1 <= years <= 50:
        raise InvalidInputError("years", "range", f"years must be 1 to 50, got {years}")
    shown = backtest_years(basis, years)
    basis.progress("enforcement backtest")
    enf = enforcement_backtest(basis, shown)
    basis.progress("liability backtest")
    lia = liability_backtest(basis, shown)
    basis.progress("pledge-loan backtest")
    loan = pledge_backtest(basis, shown)
    parts = [f for f in (enf, lia, loan) if len(f)]
    columns = ["product", "unit", "year", "grade", "probability", "claim", "premium",
               "expected_loss", "actual_loss"]
    # A report date before the first snapshot year has nothing to backtest: empty tables.
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    basis.progress("adequacy")
    by_grade = adequacy(rows, ["product", "grade"])
    return {
        "adequacy_by_grade": by_grade,
        "adequacy_by_grade_year": adequacy(rows, ["product", "grade", "year"]),
        "adequacy_by_year": adequacy(rows, ["product", "year"]),
        "mispriced_grades": by_grade[by_grade["verdict"] != "adequate"].reset_index(drop=True),
    }


def _ae_chart(g: pd.DataFrame, name: str) -> Callable[[str], str]:
    """Draws A/E claims per grade with their intervals."""
    def draw(lang: str) -> str:
        return estimate_chart_svg(
            g["grade"].tolist(), g["ae_claims"].tolist(), g["ae_lower"].tolist(),
            g["ae_upper"].tolist(), chart_id=name,
            xlabel="actual / expected claims" if lang == "en" else "实际/预期出险数")
    return draw


def _money_chart(y: pd.DataFrame, name: str, currency: str) -> Callable[[str], str]:
    """Draws premium, actual and expected losses per year."""
    def draw(lang: str) -> str:
        en = lang == "en"
        return line_chart_svg(
            y["year"].tolist(),
            {("premium" if en else "保费"): y["premium"].tolist(),
             ("actual losses" if en else "实际损失"): y["actual_losses"].tolist(),
             ("expected losses" if en else "预期损失"): y["expected_losses"].tolist()},
            chart_id=name, ylabel=currency)
    return draw


def build_rates_report(basis: ReportBasis, years: int = 10) -> Report:
    """The rate adequacy report: the rate table backtested per product, grade and year."""
    tb = rates_tables(basis, years)
    basis.progress("charts")
    by_grade, by_year = tb["adequacy_by_grade"], tb["adequacy_by_year"]
    sections = []
    for product in Product:
        g = by_grade[(by_grade["product"] == product.value) & (by_grade["expected_claims"] > 0)]
        y = by_year[by_year["product"] == product.value]
        name = PRODUCT_NAMES[product.value]
        key = product.value
        g_name, y_name = f"adequacy_{key}_by_grade", f"adequacy_{key}_by_year"
        sections.append(ReportSection(
            key, Text(f"{name.en}: actual / expected by grade", f"{name.zh}：按评级的实际/预期"),
            [Text("Claims the data shows against those the model expected for each grade, with "
                  f"the exact {CONFIDENCE:.0%} Poisson interval; an interval wholly above 1 "
                  "marks an under-priced grade, wholly below 1 an over-priced one.",
                  f"各评级实际出险数与模型预期出险数之比，附{CONFIDENCE:.0%}精确泊松置信区间；区间整体"
                  "高于1表示该等级费率不足，整体低于1表示费率偏高。")],
            [ReportTable(g_name, Text("By grade (all years)", "按评级（各年合计）"),
                         g.reset_index(drop=True)),
             ReportTable(y_name, Text("By year", "按年度"), y.reset_index(drop=True))],
            [ReportChart(g_name, Text("A/E claims by grade with 95% interval",
                                      "按评级的出险A/E及95%区间"), _ae_chart(g, g_name)),
             ReportChart(y_name, Text("Premium charged and actual losses by year",
                                      "年度应收保费与实际损失"),
                         _money_chart(y, y_name, basis.policy.currency))],
        ))
    mis = tb["mispriced_grades"]
    sections.append(ReportSection(
        "mispriced", Text("Under- and over-priced grades", "费率不足与偏高的等级"),
        [Text(f"{len(mis)} product grades whose {CONFIDENCE:.0%} interval excludes 1.",
              f"{len(mis)}个险种等级的{CONFIDENCE:.0%}置信区间不含1。")],
        [ReportTable("mispriced_grades", Text("Grades outside the interval", "区间外的等级"), mis),
         ReportTable("adequacy_by_grade_year", Text("By product, grade and year",
                                                    "按险种、评级和年度"),
                     tb["adequacy_by_grade_year"], 30)],
        [],
    ))
    shown = sorted(set(tb["adequacy_by_year"]["year"]))
    cover = basis.cover(("litigation", "liability", "severity", "default", "value"), [
        CoverItem(Text("Years backtested", "回测年度"),
                  f"{shown[0]}–{shown[-1]}" if shown else "none"),
        CoverItem(Text("Cover assumed", "假设保额"),
                  f"enforcement {ENFORCEMENT_COVER:,.0f}, liability {LIABILITY_COVER:,.0f} per "
                  "policy, no deductible, 12 months; pledge loans as drawn"),
        CoverItem(Text("Declined grades", "拒保等级"),
                  "grades at or beyond each product's decline threshold are shown but would not "
                  "have been sold"),
    ])
    return Report(
        kind="rates", title=Text("Rate adequacy backtest", "费率充足性回测"),
        subtitle=Text("Premium charged against the losses the data shows, per product, grade and "
                      "year", "按险种、评级和年度比较应收保费与数据中的实际损失"),
        as_of=basis.as_of, cover=cover, sections=sections,
    )
