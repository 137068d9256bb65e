"""Response schemas of the service's infrastructure endpoints, with OpenAPI examples."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from serving.tables import Assessment

_ASSESSMENT_EXAMPLE: dict[str, Any] = {
    "id": "0b7f6f0e-4a55-4a3e-9b7d-2f8f1a1f5c11",
    "kind": "enforcement_quote",
    "created_at": "2025-03-01T09:30:00Z",
    "caller_key_id": "key_3f2a9c1d7e4b",
    "caller_role": "underwriter",
    "request": {"patent": {"patent_id": "CN112233445B"}, "cover_limit": 1000000},
    "features": {"forward_citations_5y": 42.0},
    "outputs": {"probability": 0.031, "grade": "C", "decision": "quote"},
    "explanation": {"base_value": -3.2, "contributions": {"forward_citations_5y": 0.41}},
    "model_versions": {"litigation": {"name": "patentrisk-litigation", "version": "3"}},
    "policy_version": "2025.1",
    "policy_hash": "9c1e5a0b7d3f",
    "status": "completed",
}


class AssessmentOut(BaseModel):
    """A stored assessment exactly as it was written."""

    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [_ASSESSMENT_EXAMPLE]}
    )

    id: str
    kind: str
    created_at: dt.datetime
    caller_key_id: str
    caller_role: str
    request: Any
    features: Any
    outputs: Any
    explanation: Any
    model_versions: Any
    policy_version: str | None
    policy_hash: str | None
    status: str

    @classmethod
    def of(cls, row: Assessment) -> AssessmentOut:
        """Schema view of a stored row."""
        return cls.model_validate(row)


class AssessmentPage(BaseModel):
    """One page of assessments and how many match in total."""

    items: list[AssessmentOut]
    total: int = Field(ge=0, examples=[1])


class PatentOut(BaseModel):
    """A patent's stored facts, its CPC classes and (on lookup) its features as of `as_of`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{
                "patent_id": "CN112233445B", "jurisdiction": "CN", "patent_type": "invention",
                "filing_date": "2019-05-06", "priority_date": "2019-05-06",
                "grant_date": "2021-02-12", "expiry_date": "2039-05-06", "num_claims": 10,
                "num_independent_claims": 2, "first_claim_words": 180, "family_size": 3,
                "num_inventors": 4, "cpc_main": "H04L", "assignee_id": "A000123",
                "title": "Method for routing packets", "cpc_classes": ["H04L", "H04W"],
                "assignee_name": "Shenzhen Example Tech Co.",
                "features": {"num_claims": 10.0, "family_size": 3.0},
                "as_of": "2024-12-31",
            }]
        }
    )

    patent_id: str
    jurisdiction: str
    patent_type: str
    filing_date: dt.date
    priority_date: dt.date | None = None
    grant_date: dt.date | None = None
    expiry_date: dt.date | None = None
    num_claims: int | None = None
    num_independent_claims: int | None = None
    first_claim_words: int | None = None
    family_size: int | None = None
    num_inventors: int | None = None
    cpc_main: str | None = None
    assignee_id: str | None = None
    title: str | None = None
    cpc_classes: list[str] | None = None
    assignee_name: str | None = None
    features: dict[str, float | None] | None = Field(
        default=None,
        description="Point-in-time features as of `as_of` (lookup only; null in search results).",
    )
    as_of: dt.date | None = None
    grade: str | None = Field(
        default=None, description="Enforcement grade from the materialized litigation "
        "probability (search results, when the online store is in service).")
    in_force: bool | None = Field(
        default=None, description="In force on the serving date (search, from the store).")


class PatentPage(BaseModel):
    """One page of patents and how many match in total."""

    items: list[PatentOut]
    total: int = Field(ge=0)


class ComponentStatus(BaseModel):
    """Whether one component the service needs is ready, and why not."""

    ok: bool
    detail: str
    stale: bool | None = Field(
        default=None, description="Serving from data or models that changed since (online store).")
    rebuilding: bool | None = Field(
        default=None, description="A rebuild of this component runs (online store).")


class Readiness(BaseModel):
    """Readiness of the service and of each component."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{
            "ready": False,
            "components": {
                "database": {"ok": True, "detail": "sqlite at revision 0001"},
                "dataset": {"ok": True, "detail": "world: 12 tables, end 2024-12-31"},
                "models": {"ok": False, "detail": "no model loaded for: litigation, value"},
            },
        }]}
    )

    ready: bool
    components: dict[str, ComponentStatus]


class ModelOut(BaseModel):
    """One model in service."""

    task: str = Field(examples=["litigation"])
    name: str = Field(examples=["patentrisk-litigation"])
    version: str = Field(examples=["3"])
    alias: str = Field(examples=["champion"])


class ModelsOut(BaseModel):
    """The models and the policy in service."""

    items: list[ModelOut]
    total: int
    policy_version: str | None
    policy_hash: str | None
    missing: list[str] = Field(description="Tasks with no model loaded (their endpoints: 503).")


class VariableDriftOut(BaseModel):
    """One variable's population stability over the window."""

    name: str = Field(examples=["patent_age_years"], description="Feature name, or `score`.")
    psi: float = Field(examples=[0.04])
    status: str = Field(examples=["stable"],
                        description="stable (< 0.10), watch (< 0.25), drift, or insufficient.")


class DayDriftOut(BaseModel):
    """One day's served rows and the score's PSI that day."""

    day: dt.date
    rows: int
    score_psi: float
    status: str


class TaskDriftOut(BaseModel):
    """Drift of one model in service against its reference profile."""

    task: str = Field(examples=["litigation"])
    model_version: str = Field(examples=["3"])
    reference_period: list[str] = Field(description="As-of range of the reference rows.")
    reference_rows: int
    rows: int = Field(description="Rows the model scored in the window.")
    status: str = Field(examples=["stable"], description="Status of the largest PSI.")
    max_psi: float | None
    score_psi: float | None
    variables: list[VariableDriftOut]
    days: list[DayDriftOut]


class MonitoringOut(BaseModel):
    """Population stability of the served rows against each champion's reference (PSI)."""

    since: dt.date
    until: dt.date
    thresholds: dict[str, float] = Field(examples=[{"watch": 0.10, "drift": 0.25}])
    min_rows: int = Field(description="Fewer rows than this: status `insufficient`.")
    items: list[TaskDriftOut]
    unmonitored: list[str] = Field(
        description="Tasks in service whose model was logged without a reference profile.")


class ErrorOut(BaseModel):
    """Body of an error answer."""

    detail: str = Field(examples=["patent_id 'CN0000000' is not in the active dataset"])
    code: str = Field(examples=["patent_not_found"])
    request_id: str | None = Field(
        default=None, description="The request's `X-Request-ID`, also in the log lines.",
        examples=["9f2c0d4e6b7a4c1d8e3f5a6b7c8d9e0f"],
    )


class FieldError(BaseModel):
    """One invalid input: where, which rule, and a message."""

    field: str = Field(examples=["cover_limit"])
    location: str = Field(examples=["body"])
    rule: str = Field(examples=["greater_than_equal"])
    constraint: dict[str, Any] | None = Field(default=None, examples=[{"ge": 0}])
    message: str = Field(examples=["cover_limit: Input should be greater than or equal to 0"])


class ValidationErrorOut(BaseModel):
    """Body of a 422 answer: every invalid field."""

    detail: list[FieldError]
    request_id: str | None = Field(
        default=None, description="The request's `X-Request-ID`, also in the log lines."
    )


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No valid API key in `X-API-Key`."},
    403: {"model": ErrorOut, "description": "The key's role may not call this endpoint."},
    422: {"model": ValidationErrorOut, "description": "Invalid input, naming field and rule."},
}
