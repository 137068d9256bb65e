"""Registration checks (立案审核) of a notified claim; each failure is a reason for denial.

Enforcement and liability cover is claims-made: the infringement must have happened on or after
the retroactive date and the suit must be filed and accepted (立案/受理) within the period while the
policy runs. The pledge-loan guarantee pays a default that happens while the policy runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from models.policy.cover import CoverSchedule
from models.policy.document import Product
from models.policy.reasons import Reason


class IncidentFacts(BaseModel):
    """The facts of a notified claim that registration checks."""

    model_config = ConfigDict(frozen=True)

    incident_date: dt.date
    filed_date: dt.date | None
    patent_ids: tuple[str, ...] = ()
    product_class: str | None = None


class InsuredObjects(BaseModel):
    """What the policy insures, and from which day its cover stopped if cancelled."""

    model_config = ConfigDict(frozen=True)

    patent_ids: tuple[str, ...] = ()
    product_classes: tuple[str, ...] = ()
    cancelled_from: dt.date | None = None


def registration_denials(
    cover: CoverSchedule, insured: InsuredObjects, incident: IncidentFacts
) -> list[Reason]:
    """The reasons to deny the claim at registration; empty when every check passes."""
    reasons: list[Reason] = []
    last_day = cover.end_date
    if insured.cancelled_from is not None:
        last_day = min(last_day, insured.cancelled_from - dt.timedelta(days=1))
    insurance = cover.product is not Product.PLEDGE_LOAN
    earliest = cover.retroactive_date if insurance else cover.start_date
    if incident.incident_date < earliest:
        reasons.append(Reason(
            code="before_retroactive_date" if insurance else "before_cover_start",
            message=f"incident on {incident.incident_date} is before "
            f"{'the retroactive date' if insurance else 'the start of cover'} {earliest}",
            message_zh=f"出险日{incident.incident_date}早于"
            f"{'追溯期起始日' if insurance else '保险起期'}{earliest}",
        ))
    if incident.incident_date > last_day:
        reasons.append(Reason(
            code="not_in_force",
            message=f"the policy was not in force on the incident date {incident.incident_date} "
            f"(cover {cover.start_date} to {last_day})",
            message_zh=f"出险日{incident.incident_date}保单不在保险期间内"
            f"（{cover.start_date}至{last_day}）",
        ))
    if insurance:
        filed = incident.filed_date
        if filed is None or not cover.start_date <= filed <= last_day:
            reasons.append(Reason(
                code="not_accepted_in_period",
                message=f"the suit must be filed and accepted between {cover.start_date} and "
                f"{last_day} (claims-made), got {filed or 'no filing date'}",
                message_zh=f"案件须在{cover.start_date}至{last_day}期间立案受理（期内索赔制）",
            ))
    if cover.product is Product.ENFORCEMENT:
        reasons += _not_insured(incident.patent_ids, insured.patent_ids)
    if cover.product is Product.LIABILITY and not _class_insured(
        incident.product_class, insured.product_classes
    ):
        reasons.append(Reason(
            code="product_class_not_insured",
            message=f"product class {incident.product_class or '(none)'} is not among the "
            f"insured product classes {', '.join(insured.product_classes)}",
            message_zh=f"产品类别{incident.product_class or '（未填）'}不在承保范围内",
        ))
    return reasons


def _not_insured(claimed: Sequence[str], insured: Sequence[str]) -> list[Reason]:
    """A reason naming the claim's patents that the policy does not insure."""
    missing = [p for p in claimed if p not in set(insured)]
    if not claimed or missing:
        shown = ", ".join(missing) or "(none named)"
        return [Reason(
            code="patent_not_insured",
            message=f"patent {shown} is not insured by the policy "
            f"(insured: {', '.join(insured)})",
            message_zh=f"专利{shown}不在保单承保范围内",
        )]
    return []


def _class_insured(product_class: str | None, insured: Sequence[str]) -> bool:
    """Whether a product class falls under one of the insured classes (prefix match on CPC)."""
    if not product_class:
        return False
    return any(product_class.startswith(c) or c.startswith(product_class) for c in insured)
