"""Patent valuations and pledge-loan assessments: value model, default model, loan policy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol

import duckdb
import pandas as pd

from features.pipelines import LoanFacts, loan_features, loan_features_from_frames
from models.policy import (
    Applicant,
    IneligibleError,
    LoanQuote,
    QuoteInputError,
    assess_pledge_loan,
)
from models.policy.document import ApplicantRole
from serving.crud import AssessmentKind
from serving.errors import UnavailableError, ineligible_error, policy_input_error
from serving.modelset import ModelSet
from serving.online.view import OnlineView
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
    FirmRef,
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
    return value_items(ctx.cursor, ctx.score, refs, ctx.as_of, ctx.patent_features,
                       ctx.online, ctx.exchange_rate)


def _converted(amount: float, rate: Decimal) -> float:
    """A model's amount times an exchange rate (exact decimal product; unchanged at 1)."""
    return amount if rate == 1 else float(Decimal(repr(amount)) * rate)


class Scorer(Protocol):
    """Scores a feature frame with a task's model (`ScoringContext.score`, or a report's)."""

    def __call__(self, task: str, frame: pd.DataFrame, namespace: str | None = None,
                 stored_ids: Sequence[str] = ()) -> pd.DataFrame:
        """The task model's contract frame for `frame` (index kept)."""
        ...


def value_items(
    cursor: duckdb.DuckDBPyConnection,
    score: Scorer,
    refs: Sequence[PatentRef],
    as_of: dt.date,
    computed: pd.DataFrame | None = None,
    online: OnlineView | None = None,
    rate: Decimal = Decimal(1),
) -> tuple[list[dict[str, Any]], dict[str, float], pd.DataFrame]:
    """Per-patent P10/P50/P90 with explanations, their totals, and the patent features.

    `rate` converts the value model's amounts (the dataset's currency) into the policy's
    (`ScoringContext.exchange_rate`); 1 when they are the same.

    `score` scores with the models in service (a request's `ScoringContext.score` reads the
    online store and counts into monitoring); `computed` and `online` are the request's
    precomputed features and online store view (as of `as_of`), if any. Reports for any date
    pass neither and compute through the pipelines.
    """
    patents = request_patent_features(cursor, refs, as_of, computed, online)
    out = score("value", patents, "patent",
                [r.patent_id for r in refs if r.patent_id is not None])
    items: list[dict[str, Any]] = []
    # `scored_rows` keeps the patents' index, so row i of `out` scores row i of `patents`.
    for i, (pid, scored) in enumerate(out.iterrows()):
        features = patents.iloc[i]
        why = not_in_force_reason(features)
        # A patent no longer in force confers no exclusive right: nothing is left to value.
        # Values are in the dataset's currency; answers are in the policy's.
        quantiles = {q: 0.0 if why else _converted(float(scored[q]), rate)
                     for q in ("p10", "p50", "p90")}
        items.append({
            "patent_id": str(pid),
            "patent_type": patent_type_of(features),
            **quantiles,
            "in_force": why is None,
            "note": f"patent {why} as of {as_of.isoformat()}: valued at 0" if why else None,
            "explanation": converted_explanation(explanation("value", scored, features),
                                                 float(rate)),
        })
    total = {q: round(sum(i[q] for i in items), 2) for q in ("p10", "p50", "p90")}
    return items, total, patents


def _loan_features(
    cursor: duckdb.DuckDBPyConnection,
    view: OnlineView | None,
    loan: LoanFacts,
    patents: pd.DataFrame,
) -> pd.DataFrame:
    """Loan features: from the stored borrower and patent rows when the online store has them."""
    if view is not None and loan.borrower is None and not loan.pledged_patents:
        firm = view.features("firm", [loan.borrower_key])
        if len(firm):
            pledged = patents.loc[list(loan.pledged_patent_ids)]
            return loan_features_from_frames(
                cursor, [loan],
                pledged.rename_axis("patent_id").reset_index().assign(as_of=loan.as_of),
                firm.rename_axis("assignee_id").reset_index().assign(as_of=loan.as_of),
            )
    return loan_features(cursor, [loan])


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
    applicant = req.applicant or Applicant(
        applicant_id=req.borrower.key, role=ApplicantRole.BORROWER
    )
    used = subsidy_used_this_year(ctx.session, applicant.applicant_id, utc_now())
    try:
        quote, loans, d_out = quote_pledge_loan(
            ctx.cursor, ctx.models, ctx.score, ctx.as_of, req.borrower, req.requested_amount,
            req.term_months, req.pledged, items, total, req.appraised_value, applicant, used,
            patents, ctx.online,
        )
    except IneligibleError as exc:
        raise ineligible_error(exc) from None
    except QuoteInputError as exc:
        raise policy_input_error(exc, "loan.") from None
    probability = quote.default_probability
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


def quote_pledge_loan(
    cursor: duckdb.DuckDBPyConnection,
    models: ModelSet,
    score: Scorer,
    as_of: dt.date,
    borrower: FirmRef,
    requested_amount: float,
    term_months: int,
    pledged: Sequence[PatentRef],
    items: Sequence[dict[str, Any]],
    total: dict[str, float],
    appraised_value: float | None,
    applicant: Applicant,
    used: float,
    patents: pd.DataFrame,
    online: OnlineView | None = None,
) -> tuple[LoanQuote, pd.DataFrame, pd.DataFrame]:
    """The policy's pledge-loan quote from the default model on the loan's features.

    `items` and `total` are the pledged patents' values (`value_items`); the loan-to-value
    feature uses `appraised_value` when given, else the portfolio P50; `patents` are the pledged
    patents' features by id (read for the stored rows of `online`). Returns the quote, the
    loan feature row and the default model's output row. Policy refusals raise the policy's
    `IneligibleError` / `QuoteInputError`.
    """
    collateral = appraised_value if appraised_value is not None else total["p50"]
    loan = LoanFacts(
        loan_id="request",
        as_of=as_of,
        borrower_id=borrower.assignee_id,
        borrower=borrower.facts,
        amount=requested_amount,
        term_months=term_months,
        appraised_value=collateral if collateral > 0 else None,
        pledged_patent_ids=tuple(p.patent_id for p in pledged if p.patent_id is not None),
        pledged_patents=tuple(p.facts for p in pledged if p.facts is not None),
    )
    loans = _loan_features(cursor, online, loan, patents).drop(columns="as_of")
    loans = loans.set_index("loan_id")
    d_out = score("default", loans)
    probability = float(d_out["probability"].iloc[0])
    types = [i["patent_type"] or "unknown" for i in items]
    if models.policy is None:
        raise UnavailableError("no rating policy is loaded; try again after a reload")
    quote = assess_pledge_loan(
        models.policy, probability, total["p10"], total["p50"], requested_amount, term_months,
        types, applicant, used,
    )
    return quote, loans, d_out
