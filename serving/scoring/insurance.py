"""Insurance quotes: enforcement (litigation + severity) and liability (liability + severity)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
    require_row_in_force,
    severity_frame,
    severity_row,
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
    subject: dict[str, str | None] = {"patent_id": req.patent.key, "assignee_id": None}
    stored = _stored_enforcement_rows(ctx, req)
    if stored is not None:
        return _quote(ctx, Product.ENFORCEMENT, req, "litigation", stored, subject=subject)
    patents = request_patent_features(
        ctx.cursor, [req.patent], ctx.as_of, ctx.patent_features, ctx.online
    )
    require_in_force(patents, "patent", ctx.as_of)
    stored_ids = [req.patent.patent_id] if req.patent.patent_id is not None else []
    severity_in = severity_frame(patents, "enforcement")
    return _quote(
        ctx, Product.ENFORCEMENT, req, "litigation",
        QuoteRows.of_frames(
            patents, ctx.score("litigation", patents, "patent", stored_ids),
            severity_in, ctx.score("severity", severity_in, "patent", stored_ids),
        ),
        subject=subject,
    )


def _stored_enforcement_rows(
    ctx: ScoringContext, req: EnforcementQuoteRequest
) -> QuoteRows | None:
    """The rows of a stored patent read as plain floats from its online record, or None.

    The common quote: a patent named by id whose record holds the outputs of exactly the
    models in service. The same values, checks and monitoring as the frame path (which
    serves every other case), without building a frame for one row.
    """
    online, pid = ctx.online, req.patent.patent_id
    if online is None or pid is None or ctx.patent_features is not None:
        return None
    litigation, severity = ctx.models.require("litigation"), ctx.models.require("severity")
    if not (online.serves("litigation", litigation) and online.serves("severity", severity)):
        return None
    record = online.record("patent", pid)
    if record is None:
        return None
    features = record.features()
    require_row_in_force(pid, features, "patent", ctx.as_of)
    risk_out, severity_out = record.outputs("litigation"), record.outputs("severity")
    if not risk_out or not severity_out:
        return None
    severity_in = severity_row(features, "enforcement")
    ctx.observe_row("litigation", features, risk_out)
    ctx.observe_row("severity", severity_in, severity_out)
    return QuoteRows(features, risk_out, severity_in, severity_out, [pid],
                     float(severity_out["expected_cost"]))


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
        ctx, Product.LIABILITY, req, "liability",
        QuoteRows.of_frames(
            firms, ctx.score("liability", firms, "firm",
                             [str(req.firm.assignee_id)] if plain else []),
            severity_in, _liability_severity(ctx, severity_in, basis, main_class),
        ),
        subject={"patent_id": None, "assignee_id": req.firm.key}, severity_basis=basis,
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


@dataclass(frozen=True)
class QuoteRows:
    """What a quote is priced and explained on, as plain rows (name -> value).

    The risk model's input row and output (contract) row, and the severity model's: for
    several severity rows (the patents a liability claim is priced on) the mean of their
    outputs and the typical facts (mean, or the most common category); their contributions
    average, so the explanation still sums to the mean raw score.
    """

    risk_in: Mapping[Any, Any]
    risk_out: Mapping[Any, Any]
    severity_in: Mapping[Any, Any]
    severity_out: Mapping[Any, Any]
    severity_ids: list[str]
    expected_cost: float  # the mean expected claim cost, dataset currency

    @classmethod
    def of_frames(cls, risk_in: pd.DataFrame, risk_out: pd.DataFrame,
                  severity_in: pd.DataFrame, severity_out: pd.DataFrame) -> QuoteRows:
        """The rows of scored frames: the risk frame's one row, the severity frames' summary."""
        return cls(
            risk_in.iloc[0].to_dict(), risk_out.iloc[0].to_dict(),
            typical_row(severity_in).to_dict(),
            severity_out.mean(numeric_only=True).to_dict(),
            [str(i) for i in severity_in.index],
            float(severity_out["expected_cost"].mean()),
        )


def _quote(
    ctx: ScoringContext,
    product: Product,
    req: EnforcementQuoteRequest | LiabilityQuoteRequest,
    task: str,
    rows: QuoteRows,
    *,
    subject: dict[str, str | None],
    severity_basis: str | None = None,
) -> InsuranceQuoteOut:
    """Price the scored `rows` through the policy, explain them, store the assessment, answer."""
    probability = float(rows.risk_out["probability"])
    # The severity model's cost is in the dataset's currency; the policy prices in its own.
    rate = float(ctx.exchange_rate)
    cost = ctx.in_policy_currency(rows.expected_cost)
    explanations = {
        task: explanation(task, rows.risk_out, rows.risk_in),
        "severity": converted_explanation(
            explanation("severity", rows.severity_out, rows.severity_in), rate),
    }
    features: dict[str, object] = {
        task: feature_record(rows.risk_in),
        "severity": feature_record(rows.severity_in),
    }
    if severity_basis is not None:
        many = len(rows.severity_ids) > 1
        features["severity_basis"] = {
            "basis": severity_basis, "rows": len(rows.severity_ids),
            "patent_ids": rows.severity_ids if many else [],
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

