"""Request and response schemas of the scoring endpoints (quotes, loans, valuations)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, model_validator
from pydantic.json_schema import SkipJsonSchema

from features.pipelines import FirmFacts, PatentFacts
from models.policy import Applicant
from models.policy.money import Money
from models.policy.premium import PremiumParts
from models.policy.reasons import Reason as PolicyReason
from models.policy.subsidy import Subsidy

# Placeholders that the OpenAPI document replaces with ids of the active dataset.
PATENT_ID_EXAMPLE = "CN112233445B"
FIRM_ID_EXAMPLE = "A000123"


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _exactly_one(*fields: str) -> dict[str, Any]:
    """JSON schema saying that exactly one of `fields` is given (what `_one` checks)."""
    return {"oneOf": [{"required": [name]} for name in fields]}


class PatentRef(_Request):
    """A patent known to the dataset (`patent_id`) or described by its `facts`: exactly one."""

    model_config = ConfigDict(json_schema_extra=_exactly_one("patent_id", "facts"))

    # SkipJsonSchema: null is accepted as "not given" but not advertised, so the schema's
    # oneOf says exactly what the validator checks.
    patent_id: str | SkipJsonSchema[None] = Field(
        default=None, min_length=1, max_length=64, examples=[PATENT_ID_EXAMPLE]
    )
    facts: PatentFacts | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.patent_id is None) == (self.facts is None):
            raise ValueError("exactly one of patent_id and facts must be given")
        return self

    @property
    def key(self) -> str:
        """The patent's id (from the facts when described)."""
        return self.facts.patent_id if self.facts else str(self.patent_id)


class FirmRef(_Request):
    """A firm known to the dataset (`assignee_id`) or described by its `facts`: exactly one."""

    model_config = ConfigDict(json_schema_extra=_exactly_one("assignee_id", "facts"))

    assignee_id: str | SkipJsonSchema[None] = Field(
        default=None, min_length=1, max_length=64, examples=[FIRM_ID_EXAMPLE]
    )
    facts: FirmFacts | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.assignee_id is None) == (self.facts is None):
            raise ValueError("exactly one of assignee_id and facts must be given")
        return self

    @property
    def key(self) -> str:
        """The firm's id (from the facts when described)."""
        return self.facts.assignee_id if self.facts else str(self.assignee_id)


# A CPC class (section letter, two digits, class letter), e.g. H04L.
CpcClass = Annotated[str, StringConstraints(pattern=r"^[A-HY]\d\d[A-Z]$")]

_APPLICANT_EXAMPLE: dict[str, JsonValue] = {
    "applicant_id": FIRM_ID_EXAMPLE, "role": "patent_holder", "sme": True,
}


class EnforcementQuoteRequest(_Request):
    """Patent enforcement insurance (专利执行险) for one patent."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "patent": {"patent_id": PATENT_ID_EXAMPLE}, "applicant": _APPLICANT_EXAMPLE,
        "cover_limit": 1_000_000, "deductible": 0, "period_months": 12,
    }]})

    patent: PatentRef
    applicant: Applicant
    cover_limit: float = Field(gt=0, le=1e12, description="Most paid per claim.")
    deductible: float = Field(default=0.0, ge=0, le=1e12)
    period_months: int = Field(default=12, ge=1, le=120)


class LiabilityQuoteRequest(_Request):
    """Infringement liability insurance (侵犯专利权责任险) for a firm's products."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "firm": {"assignee_id": FIRM_ID_EXAMPLE}, "product_classes": ["H04L", "H04W"],
        "annual_revenue": 250_000_000,
        "applicant": {"applicant_id": FIRM_ID_EXAMPLE, "role": "manufacturer"},
        "cover_limit": 2_000_000, "deductible": 50_000, "period_months": 12,
    }]})

    firm: FirmRef
    product_classes: list[CpcClass] | None = Field(
        default=None, min_length=1, max_length=50,
        description="CPC classes of the insured products; replace the firm's stored classes.",
    )
    annual_revenue: float | None = Field(
        default=None, ge=0, le=1e14,
        description="Revenue of the last fiscal year; replaces the stored figure of that year.",
    )
    applicant: Applicant
    cover_limit: float = Field(gt=0, le=1e12)
    deductible: float = Field(default=0.0, ge=0, le=1e12)
    period_months: int = Field(default=12, ge=1, le=120)


class LoanAssessmentRequest(_Request):
    """A patent-pledge loan (专利权质押贷款): borrower, amount, term and pledged patents."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "borrower": {"assignee_id": FIRM_ID_EXAMPLE}, "requested_amount": 2_000_000,
        "term_months": 12, "pledged": [{"patent_id": PATENT_ID_EXAMPLE}],
    }]})

    borrower: FirmRef
    requested_amount: float = Field(gt=0, le=1e12)
    term_months: int = Field(ge=1, le=120)
    pledged: list[PatentRef] = Field(min_length=1, max_length=200)
    appraised_value: float | None = Field(
        default=None, gt=0, le=1e14,
        description="The bank's appraisal; the loan-to-value feature uses the portfolio P50 "
        "estimate when absent.",
    )
    applicant: Applicant | None = Field(
        default=None, description="Who buys the guarantee cover; default the borrower.",
    )

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        keys = [p.key for p in self.pledged]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"pledged must name each patent once; repeated: {dupes}")
        return self


class ValuationRequest(_Request):
    """One or more patents to value (专利估值)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "patents": [{"patent_id": PATENT_ID_EXAMPLE}],
    }]})

    patents: list[PatentRef] = Field(min_length=1, max_length=200)


# --- responses ---


class ModelRef(BaseModel):
    """A model used for an answer: its registered name and version."""

    name: str = Field(examples=["patentrisk-litigation"])
    version: str = Field(examples=["3"])


class ReasonOut(BaseModel):
    """One principal reason from the model: feature, value, contribution, EN and ZH text."""

    feature: str = Field(examples=["forward_citations_5y"])
    value: float | None = Field(examples=[42.0])
    contribution: float = Field(examples=[0.41], description="Raw-space SHAP contribution.")
    effect: float | None = Field(
        default=None, examples=[0.012],
        description="Effect on the answer in its units (probability, currency); the effects of "
        "all features add up to output - base_output.")
    text_en: str = Field(examples=["42 forward citations in 5 years: raises risk"])
    text_zh: str = Field(examples=["5年内被引42次：风险上升"])


class AxisSubtotalOut(BaseModel):
    """One GB/T 42748-2023 value axis and the summed contributions and effects of its features."""

    axis: str = Field(examples=["legal"])
    name_en: str = Field(examples=["Legal value"])
    name_zh: str = Field(examples=["法律价值"])
    contribution: float = Field(examples=[0.21], description="Summed raw (log P50) contributions.")
    effect: float | None = Field(
        default=None, examples=[12500.0],
        description="Summed effects on the P50 value, in currency.")


class ExplanationOut(BaseModel):
    """Why the answer is what it is, in the raw space and in the units of the answer.

    base_value + sum(contributions) = raw_score (the booster's log-odds or log cost);
    base_output + sum(effects) = output (the calibrated probability, cost or P50 value shown).
    Reasons rank and read by their effect on the answer.
    """

    task: str = Field(examples=["litigation"])
    base_value: float = Field(examples=[-3.2])
    raw_score: float = Field(examples=[-2.79])
    output: float | None = Field(default=None, examples=[0.061],
                                 description="The answer explained (probability, cost, P50).")
    base_output: float | None = Field(default=None, examples=[0.04],
                                      description="The answer at the base value.")
    contributions: dict[str, float] = Field(examples=[{"forward_citations_5y": 0.41}])
    effects: dict[str, float] | None = Field(
        default=None, examples=[{"forward_citations_5y": 0.012}],
        description="Each feature's effect on the answer, in the answer's units.")
    reasons: list[ReasonOut] = Field(max_length=4)
    axes: list[AxisSubtotalOut] | None = Field(
        default=None,
        description="Value model only: contributions and effects grouped by the GB/T 42748-2023 "
        "axes (legal, technical, economic); base_value + sum(axes.contribution) = raw_score and "
        "base_output + sum(axes.effect) = output.",
    )


class ScoringOut(BaseModel):
    """What every scoring answer carries; the body is the stored assessment's outputs."""

    assessment_id: str
    created_at: dt.datetime
    as_of: dt.date = Field(description="Date the features were computed as of.")
    model: dict[str, ModelRef]
    policy_version: str | None
    policy_hash: str | None
    grade: str | None = Field(examples=["BB"])
    decision: str | None = Field(examples=["accept"])
    premium: PremiumParts | None
    explanation: ExplanationOut


class InsuranceQuoteOut(ScoringOut):
    """An enforcement or liability quote: probability, expected cost, grade, premium, subsidy."""

    product: str = Field(examples=["enforcement"])
    patent_id: str | None = None
    assignee_id: str | None = None
    applicant_id: str
    currency: str = Field(examples=["CNY"])
    probability: float = Field(description="12-month claim probability.", examples=[0.012])
    period_probability: float
    expected_claim_cost: float = Field(examples=[420_000.0])
    cover_limit: float
    deductible: float
    period_months: int
    payable_per_claim: Money
    gross_premium: Money
    subsidy: Subsidy
    net_premium: Money
    policy_reasons: list[PolicyReason]
    explanations: dict[str, ExplanationOut] = Field(
        description="Explanation of each model used (claim probability and claim cost)."
    )


class PatentValueOut(BaseModel):
    """One patent's value: P10/P50/P90 and the explanation of the P50 model."""

    patent_id: str
    patent_type: str | None
    p10: float
    p50: float
    p90: float
    in_force: bool = Field(description="False for a patent not granted, expired, lapsed or "
                           "invalidated on the as-of date; its value is then 0.")
    note: str | None = Field(default=None, examples=["patent has expired as of 2025-12-31: "
                                                     "valued at 0"])
    explanation: ExplanationOut


class PortfolioValue(BaseModel):
    """Sum of the pledged patents' P10, P50 and P90 values (a conservative total)."""

    p10: float
    p50: float
    p90: float


class LoanAssessmentOut(ScoringOut):
    """A pledge-loan assessment: portfolio value, default probability, max loan, premium."""

    borrower_id: str
    applicant_id: str
    currency: str
    requested_amount: float
    term_months: int
    portfolio: PortfolioValue
    patents: list[PatentValueOut]
    max_loan_basis: Literal["portfolio_p10"] = Field(
        description="The value the max loan is a share of: max_loan = ltv_applied x portfolio.p10.",
    )
    ltv_feature_basis: Literal["appraised_value", "portfolio_p50"] = Field(
        description="The value the default model's loan-to-value feature divides the amount by: "
        "the bank's appraisal when given, else the portfolio P50 estimate.",
    )
    default_probability: float
    annual_default_probability: float
    max_loan: Money = Field(description="ltv_applied x portfolio.p10, rounded once to the "
                            "currency's unit.")
    over_limit: bool
    ltv_applied: float
    lgd: float
    expected_loss: Money = Field(description="default_probability x lgd x the exposure (the "
                                 "requested amount up to max_loan), rounded once.")
    gross_premium: Money
    subsidy: Subsidy
    net_premium: Money
    policy_reasons: list[PolicyReason]


class ValuationOut(ScoringOut):
    """Values with intervals for each patent; `explanation` is the first patent's."""

    currency: str
    total: PortfolioValue
    patents: list[PatentValueOut]


class BatchItemOut(BaseModel):
    """One batch item: its index, and either the answer or the reason it was rejected."""

    index: int
    status: str = Field(examples=["ok", "rejected"])
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class BatchOut(BaseModel):
    """Answers to a batch, item by item, with counts."""

    items: list[BatchItemOut]
    total: int
    accepted: int
    rejected: int
