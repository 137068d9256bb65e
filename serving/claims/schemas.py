"""Request and response schemas of claims: notice, registration, assessment, money, closure."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Money = Decimal


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NotifyRequest(_Request):
    """First notice of loss (报案): the policy and the incident."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "policy_id": "ENF-2026-1A2B3C4D", "incident_date": "2026-12-10",
        "filed_date": "2026-12-20", "patent_ids": ["CN100010418B"],
        "counterparty": "Copycat Devices Ltd", "court_or_agency": "Beijing IP Court",
        "loss_kind": "legal_costs",
        "claimed": {"investigation_costs": 30000, "legal_costs": 150000},
        "description": "Infringing routers found on sale; suit filed and accepted.",
    }]})

    policy_id: str = Field(min_length=1, max_length=40, description="Policy id or number.")
    incident_date: dt.date = Field(description="When the infringement or default happened.")
    filed_date: dt.date | None = Field(
        default=None, description="When the suit or complaint was filed and accepted (立案/受理).")
    patent_ids: list[str] = Field(default_factory=list, max_length=50)
    counterparty: str | None = Field(default=None, max_length=200)
    court_or_agency: str | None = Field(default=None, max_length=200)
    product_class: str | None = Field(default=None, pattern=r"^[A-HY][0-9]{2}[A-Z]?$")
    loss_kind: str | None = Field(default=None, max_length=48)
    case_id: str | None = Field(
        default=None, min_length=1, max_length=64,
        description="The suit in the dataset's litigation table (`cases`), when the claim is one "
        "of its cases: registration denies it when the suit was filed before binding.")
    claimed: dict[str, Money] = Field(
        default_factory=dict, description="Amounts the insured claims, by kind of loss.")
    outstanding_amount: Money | None = Field(
        default=None, ge=0, description="Pledge loan: the loan balance owed at default.")
    description: str = Field(default="", max_length=4000)


class RegisterRequest(_Request):
    """Register the claim (立案): runs the registration checks."""

    documents_complete_on: dt.date | None = Field(
        default=None, description="Day the documents were complete; default today (starts the "
        "30-day decision deadline).")
    reason: str = Field(default="documents received", min_length=1, max_length=1000)


class ReasonRequest(_Request):
    """An action that needs only its reason."""

    reason: str = Field(min_length=3, max_length=1000)


class AssessRequest(_Request):
    """Start the assessment (查勘/定损); the reserve starts from the model's expected cost."""

    reason: str = Field(default="assessment opened", min_length=1, max_length=1000)


class ReserveRequest(_Request):
    """The adjuster's new reserve and why."""

    amount: Money = Field(ge=0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    reason: str = Field(min_length=3, max_length=1000)


class SaleRequest(_Request):
    """Pledge loan: the real sale of the pledged patents."""

    proceeds: Money = Field(ge=0)
    disposal_costs: Money = Field(default=Decimal(0), ge=0)
    sold_on: dt.date
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    reason: str = Field(default="pledged patents sold", min_length=1, max_length=1000)


class DecideRequest(_Request):
    """The adjuster's decision: the loss assessed by kind (insurance) or the loan balance."""

    assessed: dict[str, Money] = Field(
        default_factory=dict, description="Insurance: the loss assessed, by kind of loss.")
    outstanding_amount: Money | None = Field(
        default=None, ge=0, description="Pledge loan: the balance owed (default: as notified).")
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    reason: str = Field(min_length=3, max_length=1000)


class AdvanceRequest(_Request):
    """An advance of the part already determined (先予支付) while the amount cannot be fixed."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "determined": {"investigation_costs": 40000}, "loss_kind": "investigation_costs",
        "reason": "notary and purchase invoices checked",
    }]})

    determined: dict[str, Money] | None = Field(
        default=None, description="The loss determined so far, by kind of loss (documented or "
        "agreed costs), cumulative: it replaces the previous determination. Omit to keep it.")
    loss_kind: str = Field(min_length=1, max_length=48, description="The kind advanced.")
    amount: Money | None = Field(
        default=None, gt=0, description="Default: all that can still be advanced for loss_kind "
        "(the determined loss after deductible, co-pay and limits, less earlier advances).")
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$",
                                 description="Must be the policy's currency when given.")
    reason: str = Field(default="advance of the part already determined", min_length=1,
                        max_length=1000)


class PaymentRequest(_Request):
    """A payment of the agreed amount (or part of it) for one kind of loss."""

    amount: Money = Field(gt=0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$",
                                 description="Must be the policy's currency when given.")
    loss_kind: str = Field(min_length=1, max_length=48)
    reason: str = Field(default="settlement payment", min_length=1, max_length=1000)


class RecoveryRequest(_Request):
    """Money recovered: subrogation, salvage, or the insured's repayment after winning."""

    amount: Money = Field(gt=0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    source: Literal["subrogation", "salvage", "winner_repayment", "other"]
    reason: str = Field(min_length=3, max_length=1000)


class BalancesOut(BaseModel):
    """Money on the claim, derived from its ledger."""

    reserve: Decimal
    paid: Decimal
    pending_approval: Decimal
    recovered: Decimal
    advanced: Decimal = Field(
        default=Decimal(0), description="Advances before the decision (also in paid or "
        "pending_approval); they count against the agreed amount.")
    incurred: Decimal
    payable: Decimal | None
    left_to_pay: Decimal | None


class DeadlinesOut(BaseModel):
    """PRC Insurance Law Art. 23 deadlines of the claim on today's date."""

    decision_due: dt.date | None
    decision_overdue: bool
    payment_due: dt.date | None
    payment_overdue: bool
    overdue: bool


class EventOut(BaseModel):
    """One step of the claim's timeline."""

    seq: int
    action: str
    from_state: str | None
    to_state: str
    on_date: dt.date
    created_at: dt.datetime
    created_by: str
    created_role: str
    reason: str
    details: dict[str, Any]


class EntryOut(BaseModel):
    """One ledger entry."""

    id: str
    seq: int
    kind: str
    loss_kind: str | None
    amount: Decimal
    currency: str
    needs_approval: bool
    ref_entry_id: str | None
    on_date: dt.date
    created_at: dt.datetime
    created_by: str
    created_role: str
    reason: str


class ClaimOut(BaseModel):
    """A claim: state, allowed actions, facts, assessment, money, deadlines, timeline, ledger."""

    id: str
    number: str
    policy_id: str
    policy_number: str
    product: str
    state: str
    decision: str | None
    allowed_actions: list[str]
    currency: str
    notified_on: dt.date
    registered_on: dt.date | None
    documents_complete_on: dt.date | None
    decided_on: dt.date | None
    fully_paid_on: dt.date | None
    closed_on: dt.date | None
    incident: dict[str, Any]
    claimed: dict[str, Any]
    assessment: dict[str, Any] | None
    payable: dict[str, Any] | None
    denial_reasons: list[dict[str, Any]] | None
    balances: BalancesOut
    deadlines: DeadlinesOut
    pending_payments: list[str]
    timeline: list[EventOut]
    ledger: list[EntryOut]


class ClaimSummaryOut(BaseModel):
    """A claim in a list: state, money and deadline flags."""

    id: str
    number: str
    policy_number: str
    product: str
    state: str
    notified_on: dt.date
    reserve: Decimal
    paid: Decimal
    overdue: bool
    decision_due: dt.date | None
    payment_due: dt.date | None


class ClaimPage(BaseModel):
    """One page of claims."""

    items: list[ClaimSummaryOut]
    total: int
