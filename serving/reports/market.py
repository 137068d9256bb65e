"""Market and demand report (需求调查及分析) for insurers, the IP office and the regulator.

Stock in force, litigation, eligible firms, premium volume, subsidy budget, expected loss ratio
and concentration of risk.

Every figure comes from the service's own pipelines, models and policy: features from
`features.pipelines`, probabilities and costs from the champion models, grades, premiums,
eligibility and subsidies from `models.policy` (`quote_insurance`, `assess_pledge_loan`,
`check_eligibility`). Nothing here prices or scores on its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.pipelines import (
    LoanFacts,
    build_snapshots,
    firm_features,
    loan_features,
    patent_features,
    patents_in_force,
    task_features,
)
from features.registry import CPC_SECTIONS, INDUSTRIES
from features.schema import ASSIGNEE_KINDS
from models.policy import (
    Applicant,
    ApplicantRole,
    Decision,
    IneligibleError,
    LicenceType,
    Product,
    assess_pledge_loan,
    check_eligibility,
    quote_insurance,
)
from models.policy.scale import MASTER_SCALE
from serving.charts import bar_chart_svg, line_chart_svg
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
from serving.scoring.entities import severity_frame
from serving.scoring.explanations import predict_unexplained

PRODUCT_NAMES = {
    "enforcement": Text("Enforcement", "专利执行险"),
    "liability": Text("Infringement liability", "侵犯专利权责任险"),
    "pledge_loan": Text("Pledge-loan guarantee", "专利权质押贷款保证保险"),
}
# Roles the data can tell firms apart by, and how (see `_firms_by_role`).
DATA_ROLES = (
    ApplicantRole.PATENT_HOLDER, ApplicantRole.LICENSEE, ApplicantRole.SUCCESSOR,
    ApplicantRole.MANUFACTURER, ApplicantRole.BORROWER, ApplicantRole.BANK,
)
MARKET_STEPS = 8


@dataclass(frozen=True)
class MarketFilters:
    """Which part of the market the report covers (None = all)."""

    region: str | None = None
    industry: str | None = None
    owner_kind: str | None = None
    cpc_section: str | None = None

    def __post_init__(self) -> None:
        if self.owner_kind is not None and self.owner_kind not in ASSIGNEE_KINDS:
            raise InvalidInputError("owner_kind", "one_of", f"owner_kind must be one of "
                                    f"{', '.join(ASSIGNEE_KINDS)}, got {self.owner_kind!r}")
        if self.industry is not None and self.industry not in INDUSTRIES:
            raise InvalidInputError("industry", "one_of", f"industry must be one of "
                                    f"{', '.join(INDUSTRIES)}, got {self.industry!r}")
        if self.cpc_section is not None and self.cpc_section not in CPC_SECTIONS:
            raise InvalidInputError("cpc_section", "one_of", f"cpc_section must be one of "
                                    f"{', '.join(CPC_SECTIONS)}, got {self.cpc_section!r}")

    def describe(self) -> str:
        """The filters as one line (`all` when none is set)."""
        parts = [f"{k}={v}" for k, v in vars(self).items() if v is not None]
        return ", ".join(parts) or "all"

    def firms(self, firms: pd.DataFrame) -> pd.Series:
        """Mask of firm rows (columns kind, industry, region) that pass the firm filters."""
        mask = pd.Series(True, index=firms.index)
        if self.region is not None:
            mask &= firms["region"] == self.region
        if self.industry is not None:
            mask &= firms["industry"] == self.industry
        if self.owner_kind is not None:
            mask &= firms["kind"] == self.owner_kind
        return mask


@dataclass(frozen=True)
class MarketParams:
    """Assumptions of the demand estimate: take-up rates and the cover each buyer takes."""

    take_up: tuple[float, ...] = (0.05, 0.10, 0.20)
    enforcement_cover_limit: float = 1_000_000.0
    liability_cover_limit: float = 2_000_000.0
    deductible: float = 0.0
    loan_share_of_p10: float = 0.15
    loan_term_months: int = 12
    years: int = 5

    def __post_init__(self) -> None:
        if not self.take_up or any(not 0.0 < r <= 1.0 for r in self.take_up):
            raise InvalidInputError("take_up", "share", "take_up rates must each be in (0, 1], "
                                    f"got {list(self.take_up)}")
        if not 0.0 < self.loan_share_of_p10 <= 1.0:
            raise InvalidInputError("loan_share_of_p10", "share", "loan_share_of_p10 must be in "
                                    f"(0, 1], got {self.loan_share_of_p10}")
        if not 1 <= self.years <= 30:
            raise InvalidInputError("years", "range", f"years must be 1 to 30, got {self.years}")
        for name in ("enforcement_cover_limit", "liability_cover_limit"):
            if not getattr(self, name) > 0:
                raise InvalidInputError(name, "positive", f"{name} must be positive")
        if self.deductible < 0:
            raise InvalidInputError("deductible", "non_negative", "deductible must be >= 0")


@dataclass
class MarketFigures:
    """The tables of the market report, by name (also what the tests check)."""

    tables: dict[str, pd.DataFrame]


def owners(basis: ReportBasis) -> pd.DataFrame:
    """Assignee attributes (kind, industry, region) indexed by assignee id."""
    return basis.cursor.execute(
        "SELECT assignee_id, kind, industry, region FROM assignees"
    ).df().set_index("assignee_id")


def holdings_at(basis: ReportBasis, as_of: dt.date, filters: MarketFilters) -> pd.DataFrame:
    """Patents in force on `as_of` with owner attributes, after the filters."""
    held = patents_in_force(basis.cursor, as_of)
    held = held.join(owners(basis), on="owner_id")
    held["cpc_section"] = held["cpc_main"].str[0]
    mask = filters.firms(held)
    if filters.cpc_section is not None:
        mask &= held["cpc_section"] == filters.cpc_section
    return held[mask].reset_index(drop=True)


def _count(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Patents per value of `by` with shares, largest first."""
    out = frame[by].fillna("unknown").value_counts().rename_axis(by).reset_index(name="patents")
    out["share"] = out["patents"] / max(1, int(out["patents"].sum()))
    return out


def litigation_incidence(
    basis: ReportBasis, filters: MarketFilters, years: int
) -> pd.DataFrame:
    """Suits observed per CPC section and year next to the litigation model's expected count.

    Year Y uses the snapshot of 31 December Y-1 (the training population: patents in force then)
    and counts patents with a case filed in Y; only years complete by the report date are used.
    """
    last = basis.as_of.year if (basis.as_of.month, basis.as_of.day) == (12, 31) \
        else basis.as_of.year - 1
    dates = [dt.date(y - 1, 12, 31) for y in range(last - years + 1, last + 1)]
    cols = ["year", "cpc_section", "patents", "observed", "expected"]
    snaps = build_snapshots(basis.cursor, "litigation", dates, end_date=basis.as_of,
                            check_leakage=False)
    if snaps.empty:
        return pd.DataFrame(columns=cols)
    parts = []
    for d in dates:
        rows = snaps[snaps["as_of"] == pd.Timestamp(d)]
        if rows.empty:
            continue
        kept = holdings_at(basis, d, filters)[["patent_id", "cpc_section"]].rename(
            columns={"cpc_section": "section"})
        rows = rows.merge(kept, left_on="entity_id", right_on="patent_id", how="inner")
        if rows.empty:
            continue
        scored = predict_unexplained(basis.models.require("litigation"),
                         rows.set_index("entity_id")[task_features("litigation")])
        rows = rows.assign(probability=scored["probability"].to_numpy(), year=d.year + 1)
        parts.append(rows.groupby(["year", "section"]).agg(
            patents=("label", "size"), observed=("label", "sum"), expected=("probability", "sum"),
        ).reset_index().rename(columns={"section": "cpc_section"}))
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    out["observed"] = out["observed"].astype(int)
    return out[cols]


def _firms_by_role(
    basis: ReportBasis, held: pd.DataFrame, filters: MarketFilters
) -> dict[ApplicantRole, set[str]]:
    """Firms the data shows in each applicant role on the report date.

    patent_holder and borrower: owners of patents in force (any holder may pledge); licensee:
    counterparties of licences on those patents; successor: owners who acquired one by
    transfer; manufacturer: firms with product technology classes; bank: lenders of loans drawn
    by then.
    """
    t = basis.as_of.isoformat()
    ids = held["patent_id"].tolist()
    cur = basis.cursor
    holders = set(held["owner_id"].dropna())
    events = cur.execute(
        "SELECT patent_id, event_type, counterparty_id FROM legal_events "
        "WHERE event_date <= CAST(? AS DATE) AND event_type IN ('licensed', 'transferred') "
        "AND counterparty_id IS NOT NULL", [t]
    ).df()
    events = events[events["patent_id"].isin(ids)]
    licensees = set(events.loc[events["event_type"] == "licensed", "counterparty_id"])
    current = dict(zip(held["patent_id"], held["owner_id"], strict=True))
    moved = events[events["event_type"] == "transferred"]
    successors = {c for p, c in zip(moved["patent_id"], moved["counterparty_id"], strict=True)
                  if current.get(p) == c}
    makers = _manufacturers(basis, filters)
    banks: set[str] = set()
    if "loans" in basis.tables:
        lenders = cur.execute(
            "SELECT DISTINCT lender FROM loans WHERE start_date <= CAST(? AS DATE)", [t]
        ).fetchall()
        banks = {str(r[0]) for r in lenders}
    attrs = owners(basis)
    keep = set(attrs.index[filters.firms(attrs)]) if any(
        v is not None for v in (filters.region, filters.industry, filters.owner_kind)) else None

    def kept(firms: set[str]) -> set[str]:
        return firms if keep is None else firms & keep

    return {
        ApplicantRole.PATENT_HOLDER: holders, ApplicantRole.LICENSEE: kept(licensees),
        ApplicantRole.SUCCESSOR: successors, ApplicantRole.MANUFACTURER: set(makers.index),
        ApplicantRole.BORROWER: holders, ApplicantRole.BANK: banks,
    }


def _manufacturers(basis: ReportBasis, filters: MarketFilters) -> pd.DataFrame:
    """Firms with product technology classes founded by the report date, with main class."""
    tech = basis.cursor.execute(
        "SELECT t.assignee_id, t.cpc_class, t.weight, a.kind, a.industry, a.region "
        "FROM firm_technology t JOIN assignees a ON a.assignee_id = t.assignee_id "
        "WHERE a.founded_year IS NULL OR a.founded_year <= ?", [basis.as_of.year]
    ).df()
    tech = tech[filters.firms(tech)]
    if filters.cpc_section is not None:
        in_section = tech.loc[tech["cpc_class"].str[0] == filters.cpc_section, "assignee_id"]
        tech = tech[tech["assignee_id"].isin(set(in_section))]
    # The main class as a liability quote takes it: largest weight, then the larger class name.
    tech = tech.sort_values(["assignee_id", "weight", "cpc_class"],
                            ascending=[True, False, False])
    return tech.groupby("assignee_id").first()


def eligibility_table(basis: ReportBasis, by_role: dict[ApplicantRole, set[str]]) -> pd.DataFrame:
    """Firms per product and data role, and whether the policy lets that role buy it."""
    policy = basis.policy
    rows = []
    for product in Product:
        for role in DATA_ROLES:
            # Licensees are asked the licence type; exclusive licensees are always eligible
            # where licensees are, so the role's eligibility is tested with one.
            licence = LicenceType.EXCLUSIVE if role is ApplicantRole.LICENSEE else None
            applicant = Applicant(applicant_id="probe", role=role, licence_type=licence)
            try:
                check_eligibility(policy, product, applicant)
                eligible = True
            except IneligibleError:
                eligible = False
            n = len(by_role[role])
            rows.append({"product": product.value, "role": role.value, "firms": n,
                         "eligible": eligible, "eligible_firms": n if eligible else 0})
    return pd.DataFrame(rows)


def _applicant(firm: str, role: ApplicantRole, kinds: pd.Series) -> Applicant:
    """The applicant a firm would be: its role, and SME status from its kind."""
    return Applicant(applicant_id=firm, role=role, sme=kinds.get(firm) == "sme")


def quotes(
    basis: ReportBasis, held: pd.DataFrame, filters: MarketFilters, params: MarketParams
) -> pd.DataFrame:
    """One priced quote per insurable unit, through the service's models and policy.

    Enforcement: each patent in force, bought by its owner; liability: each firm with product
    classes; pledge loan: each holder borrowing `loan_share_of_p10` of its portfolio's P10 value
    against all its patents in force. Subsidies are taken per applicant in that order, so the
    policy's yearly cap per applicant binds across products.
    """
    policy = basis.policy
    kinds = owners(basis)["kind"]
    cur, t = basis.cursor, basis.as_of
    rows: list[dict[str, object]] = []
    used: dict[str, float] = {}

    def add(product: str, unit: str, firm: str, cls: str | None, quote: object,
            expected_loss: float, probability: float) -> None:
        q = quote
        # Quotes' money is Decimal (exact at the currency's unit); the report sums floats.
        used[firm] = used.get(firm, 0.0) + float(q.subsidy.amount)  # type: ignore[attr-defined]
        rows.append({
            "product": product, "unit": unit, "firm": firm, "cpc_class": cls,
            "probability": probability, "grade": q.grade.value,  # type: ignore[attr-defined]
            "decision": q.decision.value,  # type: ignore[attr-defined]
            "gross_premium": float(q.gross_premium),  # type: ignore[attr-defined]
            "subsidy": float(q.subsidy.amount),  # type: ignore[attr-defined]
            "net_premium": float(q.net_premium),  # type: ignore[attr-defined]
            "expected_loss": expected_loss,
        })

    basis.progress("enforcement quotes")
    feats = patent_features(cur, t, patent_ids=held["patent_id"].tolist()) \
        .drop(columns="as_of").set_index("patent_id") if len(held) else pd.DataFrame()
    if len(held):
        p = predict_unexplained(basis.models.require("litigation"), feats)["probability"]
        cost = predict_unexplained(basis.models.require("severity"),
                       severity_frame(feats, "enforcement"))["expected_cost"]
        for pid, owner, cls in zip(held["patent_id"], held["owner_id"], held["cpc_main"],
                                   strict=True):
            firm = owner if isinstance(owner, str) else f"unknown-owner:{pid}"
            prob = float(p.loc[pid])
            q = quote_insurance(policy, Product.ENFORCEMENT, prob, float(cost.loc[pid]),
                                params.enforcement_cover_limit, params.deductible, 12,
                                _applicant(firm, ApplicantRole.PATENT_HOLDER, kinds),
                                used.get(firm, 0.0))
            add("enforcement", pid, firm, cls, q, float(q.premium.expected_loss), prob)

    basis.progress("liability quotes")
    makers = _manufacturers(basis, filters)
    if len(makers):
        ff = firm_features(cur, t, assignee_ids=makers.index.tolist()) \
            .drop(columns="as_of").set_index("assignee_id")
        p = predict_unexplained(basis.models.require("liability"), ff)["probability"]
        cost = liability_claim_costs(basis, makers["cpc_class"], t)
        for firm, cls in zip(makers.index, makers["cpc_class"], strict=True):
            prob = float(p.loc[firm])
            q = quote_insurance(policy, Product.LIABILITY, prob, float(cost.loc[firm]),
                                params.liability_cover_limit, params.deductible, 12,
                                _applicant(firm, ApplicantRole.MANUFACTURER, kinds),
                                used.get(firm, 0.0))
            add("liability", firm, firm, cls, q, float(q.premium.expected_loss), prob)

    basis.progress("pledge-loan quotes")
    if len(held) and "loans" in basis.tables:
        values = predict_unexplained(basis.models.require("value"), feats)[["p10", "p50"]]
        book = held[["patent_id", "owner_id", "patent_type"]].join(values, on="patent_id")
        book = book[book["owner_id"].notna()]
        firms = book.groupby("owner_id").agg(p10=("p10", "sum"), p50=("p50", "sum"))
        firms = firms[firms["p10"] * params.loan_share_of_p10 >= 1.0]
        if len(firms):
            ids = [str(f) for f in firms.index]
            p10 = dict(zip(ids, firms["p10"].astype(float), strict=True))
            p50 = dict(zip(ids, firms["p50"].astype(float), strict=True))
            pledged = {str(f): g for f, g in book.groupby("owner_id")}
            loans = [
                LoanFacts(loan_id=firm, as_of=t, borrower_id=firm,
                          amount=round(p10[firm] * params.loan_share_of_p10, 2),
                          term_months=params.loan_term_months, appraised_value=p50[firm],
                          pledged_patent_ids=tuple(pledged[firm]["patent_id"]))
                for firm in ids
            ]
            lf = loan_features(cur, loans).drop(columns="as_of").set_index("loan_id")
            pd_ = predict_unexplained(basis.models.require("default"), lf)["probability"]
            for ln in loans:
                firm = ln.loan_id
                prob = float(pd_.loc[firm])
                lq = assess_pledge_loan(
                    policy, prob, p10[firm], p50[firm], ln.amount, ln.term_months,
                    pledged[firm]["patent_type"].tolist(),
                    _applicant(firm, ApplicantRole.BORROWER, kinds), used.get(firm, 0.0))
                add("pledge_loan", firm, firm, None, lq, float(lq.premium.expected_loss), prob)
    return pd.DataFrame(rows, columns=["product", "unit", "firm", "cpc_class", "probability",
                                       "grade", "decision", "gross_premium", "subsidy",
                                       "net_premium", "expected_loss"])


def premium_volume(
    q: pd.DataFrame, eligible: pd.DataFrame, take_up: Sequence[float]
) -> pd.DataFrame:
    """Expected premium, subsidy and loss per product at each take-up rate of eligible firms.

    Declined quotes are not sold. With each eligible firm buying with probability r, every
    expected sum is r times the sum over all sellable quotes (subsidy caps apply per firm).
    """
    sold = q[q["decision"] != Decision.DECLINE.value]
    rows = []
    for product in Product:
        part = sold[sold["product"] == product.value]
        firms = int(eligible.loc[eligible["product"] == product.value, "eligible_firms"].max()
                    if len(eligible) else 0)
        gross = float(part["gross_premium"].sum())
        loss = float(part["expected_loss"].sum())
        for r in take_up:
            rows.append({
                "product": product.value, "take_up": r, "buyers": r * firms,
                "policies": r * len(part), "gross_premium": r * gross,
                "subsidy": r * float(part["subsidy"].sum()),
                "net_premium": r * float(part["net_premium"].sum()),
                "expected_loss": r * loss, "loss_ratio": loss / gross if gross > 0 else np.nan,
            })
    return pd.DataFrame(rows)


def concentration(q: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Top CPC classes and owners by expected loss, and HHI / top-10 share of each."""
    total = float(q["expected_loss"].sum())
    out = []
    for col, name in (("cpc_class", "cpc_class"), ("firm", "owner_id")):
        g = q.dropna(subset=[col]).groupby(col)["expected_loss"].sum().sort_values(
            ascending=False)
        frame = g.rename_axis(name).reset_index()
        frame["expected_loss_share"] = frame["expected_loss"] / total if total > 0 else np.nan
        out.append(frame)
    summary = pd.DataFrame([
        {"dimension": d,
         "hhi": float((f["expected_loss_share"] ** 2).sum()) if total > 0 else np.nan,
         "top10_share": float(f["expected_loss_share"].head(10).sum()) if total > 0 else np.nan}
        for d, f in (("cpc_class", out[0]), ("owner", out[1]))
    ])
    return out[0].head(50), out[1].head(50), summary


def market_figures(
    basis: ReportBasis, filters: MarketFilters, params: MarketParams
) -> MarketFigures:
    """Every table of the market report."""
    basis.require("litigation", "liability", "severity", "default", "value")
    basis.progress("patents in force")
    held = holdings_at(basis, basis.as_of, filters)
    tables = {
        "stock_by_type": _count(held, "patent_type"),
        "stock_by_region": _count(held, "region"),
        "stock_by_industry": _count(held, "industry"),
        "stock_by_technology": _count(held, "cpc_section").rename(
            columns={"cpc_section": "cpc_section"}),
    }
    basis.progress("litigation observed and expected")
    lit = litigation_incidence(basis, filters, params.years)
    tables["litigation_by_class_year"] = lit
    tables["litigation_by_year"] = lit.groupby("year", as_index=False)[
        ["patents", "observed", "expected"]].sum() if len(lit) else lit
    basis.progress("eligible firms")
    by_role = _firms_by_role(basis, held, filters)
    eligible = eligibility_table(basis, by_role)
    tables["eligible_firms"] = eligible
    q = quotes(basis, held, filters, params)
    basis.progress("premium volume and subsidy")
    tables["premium_volume"] = premium_volume(q, eligible, params.take_up)
    basis.progress("concentration")
    by_class, by_owner, summary = concentration(q[q["decision"] != Decision.DECLINE.value])
    tables["concentration_classes"] = by_class
    tables["concentration_owners"] = by_owner
    tables["concentration_summary"] = summary
    by_grade = q.groupby(["product", "grade"], as_index=False).agg(
        policies=("unit", "size"), gross_premium=("gross_premium", "sum"),
        expected_loss=("expected_loss", "sum"))
    rank = {str(g): i for i, g in enumerate(MASTER_SCALE)}
    tables["quotes_by_grade"] = by_grade.sort_values(
        ["product", "grade"], key=lambda c: c.map(rank) if c.name == "grade" else c
    ).reset_index(drop=True)
    return MarketFigures(tables)


def _t(name: str, en: str, zh: str, frame: pd.DataFrame, shown: int = 20) -> ReportTable:
    return ReportTable(name, Text(en, zh), frame, shown)


def build_market_report(
    basis: ReportBasis, filters: MarketFilters, params: MarketParams
) -> Report:
    """The market and demand report for `filters` under `params`."""
    fig = market_figures(basis, filters, params)
    tb = fig.tables
    basis.progress("charts")
    cur = basis.policy.currency

    def bars(name: str, by: str, label: Text, value: str = "patents") -> ReportChart:
        frame = tb[name]
        wide = len(frame) > 10

        def draw(lang: str) -> str:
            unit = "patents" if lang == "en" else "专利数"
            return bar_chart_svg(
                [str(v) for v in frame[by]], {value: frame[value].tolist()}, chart_id=name,
                xlabel=unit if wide else "", ylabel="" if wide else unit, horizontal=wide,
                height=max(3.0, 0.25 * len(frame)) if wide else 3.0)

        return ReportChart(name, label, draw)

    lit_year, lit = tb["litigation_by_year"], tb["litigation_by_class_year"]
    by_sec = lit.groupby("cpc_section", as_index=False)[["observed", "expected"]].sum() \
        if len(lit) else lit
    vol = tb["premium_volume"]
    mid = params.take_up[len(params.take_up) // 2]
    at_mid = vol[vol["take_up"] == mid]
    elig = tb["eligible_firms"]
    ok = elig[elig["eligible"]]
    grades = tb["quotes_by_grade"]
    conc = tb["concentration_classes"].head(10)
    total_patents = int(tb["stock_by_type"]["patents"].sum())

    def names(lang: str, products: Sequence[str]) -> list[str]:
        return [PRODUCT_NAMES[p].get(lang) for p in products]

    sections = [
        ReportSection(
            "stock", Text("Patents in force", "有效专利存量"),
            [Text(f"{total_patents:,} patents in force on {basis.as_of} (filters: "
                  f"{filters.describe()}), by type, owner region, owner industry and technology "
                  "(CPC section).",
                  f"截至{basis.as_of}共有有效专利{total_patents:,}件（筛选：{filters.describe()}），"
                  "按专利类型、权利人地区、行业和技术领域（CPC部）统计。")],
            [_t("stock_by_type", "By patent type", "按专利类型", tb["stock_by_type"]),
             _t("stock_by_region", "By owner region", "按权利人地区", tb["stock_by_region"]),
             _t("stock_by_industry", "By owner industry", "按权利人行业", tb["stock_by_industry"]),
             _t("stock_by_technology", "By technology (CPC section)", "按技术领域（CPC部）",
                tb["stock_by_technology"])],
            [bars("stock_by_type", "patent_type", Text("Patents in force by type",
                                                       "按类型的有效专利")),
             bars("stock_by_region", "region", Text("Patents in force by owner region",
                                                    "按权利人地区的有效专利")),
             bars("stock_by_industry", "industry", Text("Patents in force by owner industry",
                                                        "按行业的有效专利")),
             bars("stock_by_technology", "cpc_section",
                  Text("Patents in force by CPC section", "按CPC部的有效专利"))],
            printed=["stock_by_type", "stock_by_technology"],
        ),
        ReportSection(
            "litigation", Text("Litigation incidence: observed and expected",
                               "诉讼发生率：实际与模型预期"),
            [Text("Patents newly sued in each year among those in force on 31 December before, "
                  "next to the sum of the litigation model's 12-month probabilities for them.",
                  "每年新发生诉讼的专利数（以上年12月31日有效专利为基数），与诉讼模型12个月概率之和"
                  "（预期诉讼数）对比。")],
            [_t("litigation_by_year", "By year", "按年度", lit_year),
             _t("litigation_by_class_year", "By CPC section and year", "按CPC部和年度", lit, 30)],
            [ReportChart("litigation_by_year", Text("Suits per year: observed vs expected",
                                                    "年度诉讼数：实际与预期"),
                         lambda lang: line_chart_svg(
                             lit_year["year"].tolist() if len(lit_year) else [],
                             {("observed" if lang == "en" else "实际"):
                              lit_year["observed"].tolist() if len(lit_year) else [],
                              ("expected" if lang == "en" else "预期"):
                              lit_year["expected"].tolist() if len(lit_year) else []},
                             chart_id="litigation_by_year",
                             ylabel="patents sued" if lang == "en" else "涉诉专利数")),
             ReportChart("litigation_by_class_year",
                         Text("Suits by CPC section (all years)", "按CPC部的诉讼数（各年合计）"),
                         lambda lang: bar_chart_svg(
                             by_sec["cpc_section"].tolist() if len(by_sec) else [],
                             {("observed" if lang == "en" else "实际"):
                              by_sec["observed"].tolist() if len(by_sec) else [],
                              ("expected" if lang == "en" else "预期"):
                              by_sec["expected"].tolist() if len(by_sec) else []},
                             chart_id="litigation_by_class_year"))],
            printed=["litigation_by_year"],
        ),
        ReportSection(
            "eligible", Text("Firms eligible per product", "各险种可投保企业"),
            [Text("Firms in each applicant role the data shows, and whether the policy lets that "
                  "role buy each product (licensees: exclusive or sole licence, or an ordinary "
                  "licence where the contract allows).",
                  "数据中各投保人身份的企业数，以及费率政策是否允许该身份投保各险种（被许可人：独占、"
                  "排他许可，或合同允许的普通许可）。")],
            [_t("eligible_firms", "Firms by product and role", "按险种和身份的企业数", elig, 30)],
            [ReportChart("eligible_firms", Text("Eligible firms per product and role",
                                                "各险种按身份的可投保企业数"),
                         lambda lang: bar_chart_svg(
                             [f"{PRODUCT_NAMES[p].get(lang)} · {r}" for p, r in
                              zip(ok["product"], ok["role"], strict=True)],
                             {"firms": ok["eligible_firms"].tolist()},
                             chart_id="eligible_firms", horizontal=True,
                             height=max(2.5, 0.35 * len(ok)),
                             xlabel="firms" if lang == "en" else "企业数"))],
            printed=["eligible_firms"],
        ),
        ReportSection(
            "volume", Text("Premium volume, subsidy budget and loss ratio",
                           "保费规模、补贴预算与赔付率"),
            [Text(f"If a share r of eligible firms buys cover at the policy's rates: enforcement "
                  f"cover {params.enforcement_cover_limit:,.0f} {cur} per patent, liability cover "
                  f"{params.liability_cover_limit:,.0f} {cur} per firm, a pledge loan of "
                  f"{params.loan_share_of_p10:.0%} of the portfolio's P10 value over "
                  f"{params.loan_term_months} months; declined grades are not sold. The subsidy "
                  "follows the policy's rules and caps per policy and per applicant-year. The "
                  "expected loss ratio is expected loss / gross premium.",
                  f"假设可投保企业中比例r按政策费率投保：执行险每件专利保额{params.enforcement_cover_limit:,.0f}"
                  f"{cur}，责任险每家企业保额{params.liability_cover_limit:,.0f}{cur}，质押贷款金额为组合P10"
                  f"估值的{params.loan_share_of_p10:.0%}、期限{params.loan_term_months}个月；拒保等级不承保。"
                  "补贴按政策规则及单笔、年度上限计算。预期赔付率=预期损失/毛保费。")],
            [_t("premium_volume", "Premium volume by product and take-up",
                "按险种和投保率的保费规模", vol, 30),
             _t("quotes_by_grade", "Quotes by product and grade", "按险种和评级的报价",
                tb["quotes_by_grade"], 30)],
            [ReportChart("premium_volume",
                         Text(f"Gross premium, subsidy and net premium at take-up {mid:.0%}",
                              f"投保率{mid:.0%}时的毛保费、补贴和净保费"),
                         lambda lang: bar_chart_svg(
                             names(lang, at_mid["product"].tolist()),
                             {("gross premium" if lang == "en" else "毛保费"):
                              at_mid["gross_premium"].tolist(),
                              ("subsidy" if lang == "en" else "补贴"): at_mid["subsidy"].tolist(),
                              ("net premium" if lang == "en" else "净保费"):
                              at_mid["net_premium"].tolist()},
                             chart_id="premium_volume", ylabel=cur)),
             ReportChart("quotes_by_grade", Text("Expected loss by grade (all quotes, declined "
                                                 "grades included)",
                                                 "按评级的预期损失（含拒保等级）"),
                         lambda lang: bar_chart_svg(
                             [str(g) for g in MASTER_SCALE],
                             {PRODUCT_NAMES[p].get(lang): [
                                 float(grades.loc[(grades["product"] == p)
                                                  & (grades["grade"] == str(g)),
                                                  "expected_loss"].sum())
                                 for g in MASTER_SCALE] for p in PRODUCT_NAMES},
                             chart_id="quotes_by_grade", ylabel=cur))],
            printed=["premium_volume"],
        ),
        ReportSection(
            "concentration", Text("Concentration of risk", "风险集中度"),
            [Text("Expected loss of the sellable quotes by CPC class and by owner; HHI is the sum "
                  "of squared shares (1 = all in one).",
                  "可承保报价的预期损失按CPC大类和权利人的分布；赫芬达尔指数为份额平方和（1表示完全集中）。")],
            [_t("concentration_summary", "Concentration summary", "集中度摘要",
                tb["concentration_summary"]),
             _t("concentration_classes", "Top CPC classes", "预期损失最高的CPC大类",
                tb["concentration_classes"], 10),
             _t("concentration_owners", "Top owners", "预期损失最高的权利人",
                tb["concentration_owners"], 10)],
            [ReportChart("concentration_classes", Text("Top 10 CPC classes by expected loss",
                                                       "预期损失前十的CPC大类"),
                         lambda lang: bar_chart_svg(
                             conc["cpc_class"].tolist(),
                             {"share": conc["expected_loss_share"].tolist()},
                             chart_id="concentration_classes", horizontal=True,
                             xlabel="share of expected loss" if lang == "en" else "预期损失占比"))],
        ),
    ]
    cover = basis.cover(
        ("litigation", "liability", "severity", "default", "value"),
        [CoverItem(Text("Filters", "筛选条件"), filters.describe()),
         CoverItem(Text("Take-up rates", "投保率假设"),
                   ", ".join(f"{r:.0%}" for r in params.take_up))],
    )
    return Report(
        kind="market",
        title=Text("Patent insurance market and demand", "专利保险需求调查及分析"),
        subtitle=Text("Stock in force, litigation, eligible firms, premium volume, subsidy "
                      "budget and concentration",
                      "有效专利存量、诉讼、可投保企业、保费规模、补贴预算与风险集中度"),
        as_of=basis.as_of, cover=cover, sections=sections,
    )
