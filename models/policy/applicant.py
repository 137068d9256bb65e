"""The applicant of a quote: who asks for cover, in which role, with which attributes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from models.policy.document import ApplicantRole, LicenceType


class Applicant(BaseModel):
    """An applicant for cover: its role and the attributes that eligibility and subsidy read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    applicant_id: str = Field(min_length=1, max_length=128)
    role: ApplicantRole
    licence_type: LicenceType | None = Field(
        default=None, description="For licensees: exclusive, sole or ordinary."
    )
    contract_allows_enforcement: bool = Field(
        default=False, description="The licence contract lets the licensee enforce the patent."
    )
    pilot_enterprise: bool = False
    patent_award_winner: bool = False
    high_tech_enterprise: bool = False
    sme: bool = False
