"""The known-circumstances exclusion (已知情况除外): what the insured knew at binding is excluded.

Enforcement cover excludes "circumstances known before binding" and liability cover "known
potential suits" (see the domain brief on claims). At binding the insured declares the disputes,
warning letters and pending suits it knows of; at registration a claim is denied with the reason
when

- it arises from a declared circumstance: the same counterparty and (one of) the same patents, or
  the same counterparty where the declaration named no patent (a dispute with that party as a
  whole); or
- it refers to a suit in the litigation data that was filed before the policy was bound, whatever
  the notice says: the suit existed, so the insured knew of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from models.policy.reasons import Reason


class CircumstanceKind(StrEnum):
    """What the insured knew of at binding."""

    DISPUTE = "dispute"  # 纠纷
    WARNING_LETTER = "warning_letter"  # 警告函 (sent or received)
    PENDING_SUIT = "pending_suit"  # 未决诉讼


KIND_ZH = {
    CircumstanceKind.DISPUTE: "纠纷",
    CircumstanceKind.WARNING_LETTER: "警告函",
    CircumstanceKind.PENDING_SUIT: "未决诉讼",
}


class KnownCircumstance(BaseModel):
    """A circumstance declared at binding: its kind, the other party, the patents, its date."""

    model_config = ConfigDict(frozen=True)

    kind: CircumstanceKind
    counterparty: str
    patent_ids: tuple[str, ...] = ()
    date: dt.date
    description: str = ""


class ReferencedSuit(BaseModel):
    """A suit of the litigation data that a claim refers to (its case id and filing date)."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    filed_date: dt.date
    patent_ids: tuple[str, ...] = ()


def same_party(a: str | None, b: str | None) -> bool:
    """Whether two party names or ids denote the same party (case and spacing ignored)."""
    if not a or not b:
        return False
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def matches(circumstance: KnownCircumstance, counterparty: str | None,
            patent_ids: Sequence[str]) -> bool:
    """Whether a claim against or by `counterparty` on `patent_ids` arises from the circumstance."""
    if not same_party(circumstance.counterparty, counterparty):
        return False
    if not circumstance.patent_ids:
        return True
    return bool(set(circumstance.patent_ids) & set(patent_ids))


def known_circumstance_denials(
    declared: Sequence[KnownCircumstance], bound_on: dt.date, counterparty: str | None,
    patent_ids: Sequence[str], suit: ReferencedSuit | None,
) -> list[Reason]:
    """Reasons to deny a claim under the known-circumstances exclusion; empty when none applies."""
    reasons: list[Reason] = []
    for c in declared:
        if c.date <= bound_on and matches(c, counterparty, patent_ids):
            shown = ", ".join(c.patent_ids) or "all patents"
            reasons.append(Reason(
                code="known_circumstance",
                message=f"known circumstances are excluded: the insured declared a "
                f"{c.kind.value.replace('_', ' ')} with {c.counterparty} ({shown}) dated "
                f"{c.date}, before the policy was bound on {bound_on}",
                message_zh=f"已知情况除外：投保时已申报与{c.counterparty}的{KIND_ZH[c.kind]}"
                f"（{shown}，{c.date}），早于保单承保日{bound_on}",
            ))
            break  # one declaration is reason enough; more would repeat it
    if suit is not None and suit.filed_date < bound_on:
        reasons.append(Reason(
            code="suit_before_binding",
            message=f"known circumstances are excluded: case {suit.case_id} was filed on "
            f"{suit.filed_date}, before the policy was bound on {bound_on}",
            message_zh=f"已知情况除外：案件{suit.case_id}于{suit.filed_date}立案，"
            f"早于保单承保日{bound_on}",
        ))
    return reasons
