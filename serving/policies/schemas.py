"""Request and response schemas of policies: bind, endorse, cancel, and the policy record."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.policy.circumstances import CircumstanceKind

_CPC_CLASS = r"^[A-HY][0-9]{2}[A-Z]$"


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InsuredParty(_Request):
    """Who the policy insures (the applicant of the quote, named in full)."""

    name: str = Field(min_length=1, max_length=200, examples=["Shenzhen Lightwave Tech"])
    registration_number: str | None = Field(
        default=None, max_length=64, description="Unified social credit code or company number."
    )
    contact: str | None = Field(default=None, max_length=200)


class KnownCircumstanceIn(_Request):
    """A circumstance the insured knows of at binding (已知情况); claims from it are excluded."""

    kind: CircumstanceKind = Field(description="dispute, warning_letter or pending_suit.")
    counterparty: str = Field(min_length=1, max_length=200,
                              description="The other party (name or assignee id).")
    patent_ids: list[str] = Field(
        default_factory=list, max_length=50,
        description="The patents concerned; none means every dispute with the counterparty.")
    date: dt.date = Field(description="Date of the dispute, warning letter or suit filing.")
    description: str = Field(default="", max_length=2000)


class BindRequest(_Request):
    """Bind a stored, unexpired quote or loan assessment into a policy (投保/承保)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "quote_id": "0b7f6f0e-4a55-4a3e-9b7d-2f8f1a1f5c11",
        "insured": {"name": "Shenzhen Lightwave Tech"}, "start_date": "2026-12-05",
        "known_circumstances": [{
            "kind": "warning_letter", "counterparty": "Copycat Devices Ltd",
            "patent_ids": ["CN100010418B"], "date": "2026-11-02",
            "description": "warning letter sent about infringing routers"}],
    }]})

    quote_id: str = Field(min_length=1, max_length=36, description="The assessment id to bind.")
    insured: InsuredParty
    start_date: dt.date = Field(description="First day of cover.")
    product_classes: list[str] | None = Field(
        default=None, min_length=1, max_length=20,
        description="Liability: CPC classes of the insured products, when the quote did not "
        "name them.",
    )
    referral_reason: str | None = Field(
        default=None, min_length=3, max_length=1000,
        description="Required to bind a quote the policy referred to an underwriter.",
    )
    reason: str = Field(default="new business", min_length=1, max_length=1000)
    known_circumstances: list[KnownCircumstanceIn] = Field(
        default_factory=list, max_length=50,
        description="Enforcement and liability: the disputes, warning letters and pending suits "
        "the insured knows of at binding. Claims arising from them are excluded (denied at "
        "registration), as are suits filed before binding.")

    @model_validator(mode="after")
    def _classes(self) -> BindRequest:
        import re

        for i, c in enumerate(self.product_classes or ()):
            if not re.fullmatch(_CPC_CLASS, c):
                raise ValueError(f"product_classes[{i}] must be a CPC class like H04L, got {c!r}")
        return self


class EndorseRequest(_Request):
    """Change the limit, the deductible or the insured patents; re-priced by the same policy."""

    effective_date: dt.date
    cover_limit: Decimal | None = Field(default=None, gt=0, description="New aggregate limit.")
    deductible: Decimal | None = Field(default=None, ge=0)
    add_patents: list[str] | None = Field(
        default=None, min_length=1, max_length=50, description="Enforcement: patents to add."
    )
    reason: str = Field(min_length=3, max_length=1000)

    @model_validator(mode="after")
    def _something(self) -> EndorseRequest:
        if self.cover_limit is None and self.deductible is None and not self.add_patents:
            raise ValueError("an endorsement must change cover_limit, deductible or add_patents")
        return self


class CancelRequest(_Request):
    """Cancel a policy from a day; the unearned premium is refunded pro rata."""

    effective_date: dt.date = Field(description="First day without cover.")
    reason: str = Field(min_length=3, max_length=1000)


class PremiumOut(BaseModel):
    """Premium of the current version and what the last change made due or refunded."""

    gross_premium: Decimal
    subsidy: Decimal
    net_premium: Decimal
    expected_loss: Decimal
    change_due: Decimal = Field(description="Premium due (+) or refunded (-) by the last change.")
    subsidy_change: Decimal


class ScheduleOut(BaseModel):
    """Period, limits and terms of the cover."""

    start_date: dt.date
    end_date: dt.date
    retroactive_date: dt.date
    aggregate_limit: Decimal
    remaining_aggregate_limit: Decimal
    deductible: Decimal
    co_pay: Decimal
    insurer_share: Decimal
    sub_limits: dict[str, Decimal]


class VersionOut(BaseModel):
    """One immutable version of a policy: what changed, who, when and why."""

    version: int
    change: str
    effective_date: dt.date
    created_at: dt.datetime
    created_by: str
    created_role: str
    reason: str
    gross_premium: Decimal
    subsidy: Decimal
    premium_change: Decimal
    subsidy_change: Decimal
    document: dict[str, Any]


class PolicyOut(BaseModel):
    """A policy as of today: status, schedule, premium, insured objects, allowed actions."""

    id: str
    number: str
    product: str
    status: str
    allowed_actions: list[str]
    quote_id: str
    applicant_id: str
    insured: dict[str, Any]
    insured_patents: list[str]
    product_classes: list[str]
    currency: str
    grade: str
    policy_version: str
    policy_hash: str
    version: int
    schedule: ScheduleOut
    premium: PremiumOut
    cancelled_from: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime
    bound_on: dt.date | None = Field(
        default=None, description="The day the policy was bound: what was known by then is "
        "excluded.")
    known_circumstances: list[dict[str, Any]] = Field(
        default_factory=list, description="The circumstances declared at binding.")


class PolicyPage(BaseModel):
    """One page of policies."""

    items: list[PolicyOut]
    total: int
