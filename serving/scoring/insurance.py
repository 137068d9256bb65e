"""Insurance quotes: enforcement (litigation + severity) and liability (liability + severity)."""

from __future__ import annotations

import pandas as pd

from features.registry import get as get_feature
from models.policy import IneligibleError, InsuranceQuote, Product, QuoteInputError, quote_insurance
from serving.crud import AssessmentKind
from serving.errors import ineligible_error, policy_input_error
from serving.scoring.context import ScoringContext
from serving.scoring.entities import (
    CLASS_ONLY_BASIS,
    class_severity_frame,
    request_firm_features,
    request_patent_features,
    require_in_force,
    severity_frame,
)
from serving.scoring.explanations import converted_explanation, explanation, feature_record
from serving.scoring.records import record_and_answer
from serving.scoring.schemas import (
    EnforcementQuoteRequest,
    InsuranceQuoteOut,
    LiabilityQuoteRequest,
)
from serving.scoring.subsidies import subsidy_used_this_year
from serving.tables import utc_now


def score_enforcement(ctx: ScoringContext, req: EnforcementQuoteRequest) -> InsuranceQuoteOut:
    """Quote enforcement cover for one patent: litigation probability x enforcement cost."""
    ctx.require("litigation", "severity")
    patents = request_patent_features(
        ctx.cursor, [req.patent], ctx.as_of, ctx.patent_features, ctx.online
    )
    require_in_force(patents, "patent", ctx.as_of)
    stored = [req.patent.patent_id] if req.patent.patent_id is not None else []
    severity_in = severity_frame(patents, "enforcement")
    return _quote(
        ctx, Product.ENFORCEMENT, req, "litigation", patents, severity_in,
        subject={"patent_id": req.patent.key, "assignee_id": None},
        risk_out=ctx.score("litigation", patents, "patent", stored),
        severity_out=ctx.score("severity", severity_in, "patent", stored),
    )


def score_liability(ctx: ScoringContext, req: LiabilityQuoteRequest) -> InsuranceQuoteOut:
    """Quote liability cover for a firm: probability of being sued x liability claim cost."""
    ctx.require("liability", "severity")
    firms, main_class = request_firm_features(
        ctx.cursor, ctx.tables, req.firm, ctx.as_of, req.product_classes, req.annual_revenue,
        ctx.online,
    )
    plain = req.firm.facts is None and req.product_classes is None and req.annual_revenue is None
    severity_in, basis = class_severity_frame(
        ctx.cursor, ctx.tables, main_class, "liability", ctx.as_of, req.firm.assignee_id,
        ctx.online,
    )
    return _quote(
        ctx, Product.LIABILITY, req, "liability", firms, severity_in,
        subject={"patent_id": None, "assignee_id": req.firm.key}, severity_basis=basis,
        risk_out=ctx.score("liability", firms, "firm",
                           [str(req.firm.assignee_id)] if plain else []),
        severity_out=_liability_severity(ctx, severity_in, basis, main_class),
    )


def _liability_severity(
    ctx: ScoringContext, severity_in: pd.DataFrame, basis: str, main_class: str | None
) -> pd.DataFrame:
    """Severity outputs of a liability claim's rows, from the online store for the class alone.

    The store's patent rows hold the enforcement claim kind's costs, so rows priced on patents
    are scored here; the class-only row is the one the store keeps per class.
    """
    if basis == CLASS_ONLY_BASIS and ctx.online is not None:
        stored = ctx.online.class_severity(main_class, ctx.models.require("severity"))
        if stored is not None:
            stored.index = severity_in.index
            return stored
    return ctx.predict("severity", severity_in)


def _quote(
    ctx: ScoringContext,
    product: Product,
    req: EnforcementQuoteRequest | LiabilityQuoteRequest,
    task: str,
    risk_in: pd.DataFrame,
    severity_in: pd.DataFrame,
    *,
    subject: dict[str, str | None],
    risk_out: pd.DataFrame | None = None,
    severity_out: pd.DataFrame | None = None,
    severity_basis: str | None = None,
) -> InsuranceQuoteOut:
    """Score `task` on one row and severity on its rows, price through the policy, store, answer.

    `risk_out` and `severity_out` are the models' outputs when already scored (read from the
    online store where it holds them); otherwise the models score the inputs here. Several
    severity rows (the patents a liability claim is priced on) give the mean expected cost; the
    explanation averages their contributions (additive, so it still sums to the mean raw score)
    and shows the typical facts (mean, or the most common category).
    """
    p_out = risk_out if risk_out is not None else ctx.predict(task, risk_in)
    s_out = severity_out if severity_out is not None else ctx.predict("severity", severity_in)
    probability = float(p_out["probability"].iloc[0])
    # The severity model's cost is in the dataset's currency; the policy prices in its own.
    rate = float(ctx.exchange_rate)
    cost = ctx.in_policy_currency(float(s_out["expected_cost"].mean()))
    s_row, s_facts = s_out.mean(numeric_only=True), typical_row(severity_in)
    explanations = {
        task: explanation(task, p_out.iloc[0], risk_in.iloc[0]),
        "severity": converted_explanation(explanation("severity", s_row, s_facts), rate),
    }
    features: dict[str, object] = {
        task: feature_record(risk_in.iloc[0]),
        "severity": feature_record(s_facts),
    }
    if severity_basis is not None:
        features["severity_basis"] = {
            "basis": severity_basis, "rows": len(severity_in),
            "patent_ids": [str(i) for i in severity_in.index] if len(severity_in) > 1 else [],
        }
    used = subsidy_used_this_year(ctx.session, req.applicant.applicant_id, utc_now())
    quote = price_quote(
        ctx, product, probability, cost, req.cover_limit, req.deductible, req.period_months,
        req, used,
    )
    outputs = {
        "product": product.value,
        **subject,
        "applicant_id": quote.applicant_id,
        "as_of": ctx.as_of,
        "currency": quote.currency,
        "probability": probability,
        "period_probability": quote.period_probability,
        "expected_claim_cost": cost,
        "cover_limit": quote.cover_limit,
        "deductible": quote.deductible,
        "period_months": quote.period_months,
        "payable_per_claim": quote.payable_per_claim,
        "grade": quote.grade.value,
        "decision": quote.decision.value,
        "premium": quote.premium,
        "gross_premium": quote.gross_premium,
        "subsidy": quote.subsidy,
        "net_premium": quote.net_premium,
        "policy_reasons": quote.reasons,
    }
    kind = (AssessmentKind.enforcement_quote if product is Product.ENFORCEMENT
            else AssessmentKind.liability_quote)
    body = record_and_answer(
        ctx, kind, req, features, outputs, explanations, task,
        models=ctx.models.versions(*explanations),
        policy=(quote.policy_version, quote.policy_sha256),
    )
    return InsuranceQuoteOut.model_validate(body)


def typical_row(frame: pd.DataFrame) -> pd.Series:
    """One row standing for `frame`: the mean of each number, the most common category code."""
    if len(frame) == 1:
        return frame.iloc[0]
    values = {}
    for name in frame.columns:
        col = frame[name]
        if get_feature(name).is_categorical:
            mode = col.mode()
            values[name] = float(mode.iloc[0]) if len(mode) else float("nan")
        else:
            values[name] = float(col.mean())
    return pd.Series(values)


def price_quote(
    ctx: ScoringContext,
    product: Product,
    probability: float,
    cost: float,
    cover_limit: float,
    deductible: float,
    period_months: int,
    req: EnforcementQuoteRequest | LiabilityQuoteRequest,
    used: float,
) -> InsuranceQuote:
    """The policy's quote; policy refusals become 422s naming the field and the rule."""
    try:
        return quote_insurance(
            ctx.policy, product, probability, cost, cover_limit, deductible,
            period_months, req.applicant, used,
        )
    except IneligibleError as exc:
        raise ineligible_error(exc) from None
    except QuoteInputError as exc:
        raise policy_input_error(exc, "insurance.") from None

