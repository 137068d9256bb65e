"""Stored quotes priced by the real policy, for policy tests that need no trained models."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from models.policy import Applicant, load_policy, quote_insurance
from serving import crud
from serving.auth import Caller, CallerRole


def store_enforcement_quote(
    client: TestClient, applicant_id: str = "A1", *, probability: float = 0.01,
    expected_cost: float = 400_000.0, cover_limit: float = 1_000_000.0,
    deductible: float = 0.0, patent_id: str = "CN100000001B", pilot: bool = True,
) -> str:
    """Price an enforcement quote through the packaged policy, store it, return its id."""
    policy = load_policy()
    applicant = Applicant(applicant_id=applicant_id, role="patent_holder",
                          pilot_enterprise=pilot)
    quote = quote_insurance(policy, "enforcement", probability, expected_cost, cover_limit,
                            deductible, 12, applicant)
    request: dict[str, Any] = {
        "patent": {"patent_id": patent_id}, "applicant": applicant.model_dump(mode="json"),
        "cover_limit": cover_limit, "deductible": deductible, "period_months": 12,
    }
    outputs = {
        "product": "enforcement", "patent_id": patent_id, "assignee_id": None,
        "applicant_id": applicant_id, "currency": quote.currency,
        "probability": probability, "expected_claim_cost": expected_cost,
        "cover_limit": cover_limit, "deductible": deductible, "period_months": 12,
        "grade": quote.grade.value, "decision": quote.decision.value,
        "premium": quote.premium, "gross_premium": quote.gross_premium,
        "subsidy": quote.subsidy, "net_premium": quote.net_premium,
    }
    caller = Caller(key_id="key_test_underwriter", name="test", role=CallerRole.underwriter)
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        row = crud.record_assessment(
            session, kind="enforcement_quote", caller=caller, request=request,
            features={}, outputs=outputs, explanation={},
            model_versions={"litigation": {"name": "patentrisk-litigation", "version": "1"}},
            policy_version=policy.version, policy_hash=policy.sha256,
        )
        return row.id
