"""Insurance quotes: enforcement (litigation + severity) and liability (liability + severity)."""

from __future__ import annotations

import pandas as pd

from models.policy import IneligibleError, InsuranceQuote, Product, QuoteInputError, quote_insurance
from serving.crud import AssessmentKind
from serving.errors import ineligible_error, policy_input_error
from serving.scoring.context import ScoringContext
from serving.scoring.entities import (
    class_severity_frame,
    request_firm_features,
    request_patent_features,
    require_in_force,
    severity_frame,
)
from serving.scoring.explanations import (
    converted_explanation,
    explanation,
    feature_record,
    predict,
    scored_rows,
)
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
        risk_out=scored_rows(ctx.models.require("litigation"), patents, ctx.online, "patent",
                             stored),
        severity_out=scored_rows(ctx.models.require("severity"), severity_in, ctx.online,
                                 "patent", stored),
    )


def score_liability(ctx: ScoringContext, req: LiabilityQuoteRequest) -> InsuranceQuoteOut:
    """Quote liability cover for a firm: probability of being sued x liability claim cost."""
    ctx.require("liability", "severity")
    firms, main_class = request_firm_features(
        ctx.cursor, ctx.tables, req.firm, ctx.as_of, req.product_classes, req.annual_revenue,
        ctx.online,
    )
    plain = req.firm.facts is None and req.product_classes is None and req.annual_revenue is None
    severity_in = class_severity_frame(main_class, "liability")
    served = ctx.models.require("severity")
    severity_out = ctx.online.class_severity(main_class, served) if ctx.online else None
    if severity_out is not None:
        severity_out.index = severity_in.index
    return _quote(
        ctx, Product.LIABILITY, req, "liability", firms, severity_in,
        subject={"patent_id": None, "assignee_id": req.firm.key},
        risk_out=scored_rows(ctx.models.require("liability"), firms, ctx.online, "firm",
                             [str(req.firm.assignee_id)] if plain else []),
        severity_out=severity_out,
    )


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
) -> InsuranceQuoteOut:
    """Score `task` and severity on one row each, price through the policy, store and answer.

    `risk_out` and `severity_out` are the models' outputs when already known (the online
    store's); otherwise the models score the inputs here.
    """
    p_out = risk_out if risk_out is not None else predict(ctx.models.require(task), risk_in)
    s_out = (severity_out if severity_out is not None
             else predict(ctx.models.require("severity"), severity_in))
    probability = float(p_out["probability"].iloc[0])
    # The severity model's cost is in the dataset's currency; the policy prices in its own.
    rate = float(ctx.exchange_rate)
    cost = ctx.in_policy_currency(float(s_out["expected_cost"].iloc[0]))
    explanations = {
        task: explanation(task, p_out.iloc[0], risk_in.iloc[0]),
        "severity": converted_explanation(
            explanation("severity", s_out.iloc[0], severity_in.iloc[0]), rate),
    }
    features = {
        task: feature_record(risk_in.iloc[0]),
        "severity": feature_record(severity_in.iloc[0]),
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

