"""Patent valuations and pledge-loan assessments: value model, default model, loan policy."""

from __future__ import annotations

from typing import Any

import pandas as pd

from features.pipelines import LoanFacts, loan_features, loan_features_from_frames
from models.policy import Applicant, IneligibleError, QuoteInputError, assess_pledge_loan
from models.policy.document import ApplicantRole
from serving.crud import AssessmentKind
from serving.errors import ineligible_error, policy_input_error
from serving.scoring.context import ScoringContext
from serving.scoring.entities import (
    not_in_force_reason,
    patent_type_of,
    request_patent_features,
    require_firm,
    require_in_force,
)
from serving.scoring.explanations import converted_explanation, explanation, feature_record
from serving.scoring.records import record_and_answer
from serving.scoring.schemas import (
    LoanAssessmentOut,
    LoanAssessmentRequest,
    PatentRef,
    ValuationOut,
    ValuationRequest,
)
from serving.scoring.subsidies import subsidy_used_this_year
from serving.tables import utc_now


def patent_values(
    ctx: ScoringContext, refs: list[PatentRef]
) -> tuple[list[dict[str, Any]], dict[str, float], pd.DataFrame]:
    """Per-patent P10/P50/P90 with explanations, their totals, and the patent features."""
    patents = request_patent_features(ctx.cursor, refs, ctx.as_of, ctx.patent_features,
                                      ctx.online)
    out = ctx.score("value", patents, "patent",
                    [r.patent_id for r in refs if r.patent_id is not None])
    items: list[dict[str, Any]] = []
    # `scored_rows` keeps the patents' index, so row i of `out` scores row i of `patents`.
    for i, (pid, scored) in enumerate(out.iterrows()):
        features = patents.iloc[i]
        why = not_in_force_reason(features)
        # A patent no longer in force confers no exclusive right: nothing is left to value.
        # Values are in the dataset's currency; answers are in the policy's.
        quantiles = {q: 0.0 if why else ctx.in_policy_currency(float(scored[q]))
                     for q in ("p10", "p50", "p90")}
        items.append({
            "patent_id": str(pid),
            "patent_type": patent_type_of(features),
            **quantiles,
            "in_force": why is None,
            "note": f"patent {why} as of {ctx.as_of.isoformat()}: valued at 0" if why else None,
            "explanation": converted_explanation(explanation("value", scored, features),
                                                 float(ctx.exchange_rate)),
        })
    total = {q: round(sum(i[q] for i in items), 2) for q in ("p10", "p50", "p90")}
    return items, total, patents


def _loan_features(ctx: ScoringContext, loan: LoanFacts, patents: pd.DataFrame) -> pd.DataFrame:
    """Loan features: from the stored borrower and patent rows when the online store has them."""
    view = ctx.online
    if view is not None and loan.borrower is None and not loan.pledged_patents:
        firm = view.features("firm", [loan.borrower_key])
        if len(firm):
            pledged = patents.loc[list(loan.pledged_patent_ids)]
            return loan_features_from_frames(
                ctx.cursor, [loan],
                pledged.rename_axis("patent_id").reset_index().assign(as_of=loan.as_of),
                firm.rename_axis("assignee_id").reset_index().assign(as_of=loan.as_of),
            )
    return loan_features(ctx.cursor, [loan])


def value_patents(ctx: ScoringContext, req: ValuationRequest) -> ValuationOut:
    """Value each patent (P10/P50/P90 with explanations) and store the valuation."""
    ctx.require("value")
    items, total, patents = patent_values(ctx, req.patents)
    outputs = {
        "as_of": ctx.as_of,
        "currency": ctx.policy.currency,
        "grade": None,
        "decision": None,
        "premium": None,
        "total": total,
        "patents": items,
    }
    features = {str(pid): feature_record(row) for pid, row in patents.iterrows()}
    body = record_and_answer(
        ctx, AssessmentKind.valuation, req, features, outputs,
        {"value": items[0]["explanation"]}, "value",
        models=ctx.models.versions("value"),
        policy=(ctx.models.policy_version, ctx.models.policy_hash),
    )
    return ValuationOut.model_validate(body)


def assess_loan(ctx: ScoringContext, req: LoanAssessmentRequest) -> LoanAssessmentOut:
    """Assess a pledge loan: portfolio value, default probability, max loan and premium."""
    ctx.require("value", "default")
    if req.borrower.assignee_id is not None:
        require_firm(ctx.cursor, ctx.tables, req.borrower.assignee_id)
    items, total, patents = patent_values(ctx, req.pledged)
    require_in_force(patents, "pledged[{i}]", ctx.as_of)
    # The default model's loan-to-value feature divides by the bank's appraisal when given, else
    # by the P50 estimate; the policy's max loan is always a share of the conservative P10.
    ltv_feature_basis = "appraised_value" if req.appraised_value is not None else "portfolio_p50"
    collateral = req.appraised_value if req.appraised_value is not None else total["p50"]
    loan = LoanFacts(
        loan_id="request",
        as_of=ctx.as_of,
        borrower_id=req.borrower.assignee_id,
        borrower=req.borrower.facts,
        amount=req.requested_amount,
        term_months=req.term_months,
        appraised_value=collateral if collateral > 0 else None,
        pledged_patent_ids=tuple(p.patent_id for p in req.pledged if p.patent_id is not None),
        pledged_patents=tuple(p.facts for p in req.pledged if p.facts is not None),
    )
    loans = _loan_features(ctx, loan, patents).drop(columns="as_of").set_index("loan_id")
    d_out = ctx.predict("default", loans)
    probability = float(d_out["probability"].iloc[0])
    applicant = req.applicant or Applicant(
        applicant_id=req.borrower.key, role=ApplicantRole.BORROWER
    )
    used = subsidy_used_this_year(ctx.session, applicant.applicant_id, utc_now())
    types = [i["patent_type"] or "unknown" for i in items]
    try:
        quote = assess_pledge_loan(
            ctx.policy, probability, total["p10"], total["p50"], req.requested_amount,
            req.term_months, types, applicant, used,
        )
    except IneligibleError as exc:
        raise ineligible_error(exc) from None
    except QuoteInputError as exc:
        raise policy_input_error(exc, "loan.") from None
    outputs = {
        "borrower_id": req.borrower.key,
        "applicant_id": applicant.applicant_id,
        "as_of": ctx.as_of,
        "currency": quote.currency,
        "requested_amount": req.requested_amount,
        "term_months": req.term_months,
        "portfolio": total,
        "patents": items,
        "max_loan_basis": "portfolio_p10",
        "ltv_feature_basis": ltv_feature_basis,
        "default_probability": probability,
        "annual_default_probability": quote.annual_default_probability,
        "grade": quote.grade.value,
        "decision": quote.decision.value,
        "max_loan": quote.max_loan,
        "over_limit": quote.over_limit,
        "ltv_applied": quote.ltv_applied,
        "lgd": quote.lgd,
        "expected_loss": quote.expected_loss,
        "premium": quote.premium,
        "gross_premium": quote.gross_premium,
        "subsidy": quote.subsidy,
        "net_premium": quote.net_premium,
        "policy_reasons": quote.reasons,
    }
    body = record_and_answer(
        ctx, AssessmentKind.loan_assessment, req, {"default": feature_record(loans.iloc[0])},
        outputs, {"default": explanation("default", d_out.iloc[0], loans.iloc[0])}, "default",
        models=ctx.models.versions("default", "value"),
        policy=(quote.policy_version, quote.policy_sha256),
    )
    return LoanAssessmentOut.model_validate(body)
