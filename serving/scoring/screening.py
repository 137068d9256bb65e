"""Patent screening (检索筛查): litigation risk with its grade and value interval per patent.

What a search result list or a patent profile shows before anyone asks for a quote: the
12-month litigation probability graded on the enforcement product's scale, and the P10/P50/P90
value. It is scored, so it is stored like every other answer.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.policy import Product
from serving.crud import AssessmentKind
from serving.scoring.context import ScoringContext
from serving.scoring.explanations import explanation, feature_record, predict
from serving.scoring.lending import patent_values
from serving.scoring.records import record_and_answer
from serving.scoring.schemas import (
    PATENT_ID_EXAMPLE,
    ExplanationOut,
    PatentRef,
    ScoringOut,
)


class ScreeningRequest(BaseModel):
    """Patents to screen: known ids or described facts, each named once."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "patents": [{"patent_id": PATENT_ID_EXAMPLE}],
    }]})

    patents: list[PatentRef] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _distinct(self) -> ScreeningRequest:
        keys = [p.key for p in self.patents]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"patents must name each patent once; repeated: {dupes}")
        return self


class ScreenedPatentOut(BaseModel):
    """One screened patent: litigation probability and grade, value interval, explanations."""

    patent_id: str
    patent_type: str | None
    in_force: bool
    note: str | None = None
    litigation_probability: float = Field(description="12-month probability of a suit.")
    grade: str = Field(description="Grade of that probability on the enforcement scale.")
    decision: str = Field(description="What the enforcement product's thresholds say.")
    p10: float
    p50: float
    p90: float
    litigation_explanation: ExplanationOut
    value_explanation: ExplanationOut


class ScreeningOut(ScoringOut):
    """Screening of each patent; `explanation` is the first patent's litigation explanation."""

    currency: str
    patents: list[ScreenedPatentOut]


def screen_patents(ctx: ScoringContext, req: ScreeningRequest) -> ScreeningOut:
    """Score litigation risk (graded) and value for each patent and store the screening."""
    ctx.require("litigation", "value")
    policy = ctx.policy
    spec = policy.product(Product.ENFORCEMENT)
    values, _total, patents = patent_values(ctx, req.patents)
    risk = predict(ctx.models.require("litigation"), patents)
    items: list[dict[str, Any]] = []
    rows = zip(values, risk.iterrows(), patents.iterrows(), strict=True)
    for value, (_pid, scored), (_same, row) in rows:
        probability = float(scored["probability"])
        grade = policy.grade(Product.ENFORCEMENT, probability)
        items.append({
            **{k: value[k] for k in ("patent_id", "patent_type", "in_force", "note",
                                     "p10", "p50", "p90")},
            "litigation_probability": probability,
            "grade": grade.value,
            "decision": spec.decision_for(grade).value,
            "litigation_explanation": explanation("litigation", scored, row),
            "value_explanation": value["explanation"],
        })
    outputs = {
        "as_of": ctx.as_of,
        "currency": policy.currency,
        "grade": items[0]["grade"],
        "decision": items[0]["decision"],
        "premium": None,
        "patents": items,
    }
    features = {str(pid): feature_record(r) for pid, r in patents.iterrows()}
    body = record_and_answer(
        ctx, AssessmentKind.patent_screening, req, features, outputs,
        {"litigation": items[0]["litigation_explanation"],
         "value": items[0]["value_explanation"]},
        "litigation",
        models=ctx.models.versions("litigation", "value"),
        policy=(ctx.models.policy_version, ctx.models.policy_hash),
    )
    return ScreeningOut.model_validate(body)
