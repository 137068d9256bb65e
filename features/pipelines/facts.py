"""Request facts for entities not (or not fully) in the database: patents, firms and loans."""

from __future__ import annotations

from datetime import date
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from features.schema import ASSIGNEE_KINDS, PATENT_TYPES_BY_JURISDICTION


class PatentFacts(BaseModel):
    """A patent described by its bibliographic facts, with optional known counts and owner."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    patent_id: str = Field(min_length=1, max_length=64)
    jurisdiction: Literal["CN", "US"]
    patent_type: Literal["invention", "utility_model", "design", "utility"]
    filing_date: date
    priority_date: date | None = None
    grant_date: date | None = None
    expiry_date: date | None = None
    num_claims: int | None = Field(default=None, ge=0, le=10_000)
    num_independent_claims: int | None = Field(default=None, ge=0, le=1_000)
    first_claim_words: int | None = Field(default=None, ge=0, le=100_000)
    family_size: int | None = Field(default=None, ge=1, le=10_000)
    num_inventors: int | None = Field(default=None, ge=0, le=1_000)
    cpc_main: str | None = Field(default=None, pattern=r"^[A-HY]\d\d[A-Z]$")
    assignee_id: str | None = Field(default=None, max_length=64)
    title: str | None = Field(default=None, max_length=1000)
    # Known counts and owner facts; when given they replace what the database would say.
    backward_citations: int | None = Field(default=None, ge=0)
    forward_citations: int | None = Field(default=None, ge=0)
    forward_citations_3y: int | None = Field(default=None, ge=0)
    forward_citations_5y: int | None = Field(default=None, ge=0)
    renewals_paid: int | None = Field(default=None, ge=0)
    lapsed: bool | None = None
    transfers: int | None = Field(default=None, ge=0)
    licences: int | None = Field(default=None, ge=0)
    pledges: int | None = Field(default=None, ge=0)
    invalidation_requests: int | None = Field(default=None, ge=0)
    invalidations_upheld: int | None = Field(default=None, ge=0)
    invalidated: bool | None = None
    suits_on_patent: int | None = Field(default=None, ge=0)
    owner_suits_as_plaintiff: int | None = Field(default=None, ge=0)
    owner_suits_as_defendant: int | None = Field(default=None, ge=0)
    owner_kind: Literal[ASSIGNEE_KINDS] | None = None  # type: ignore[valid-type]
    owner_portfolio_size: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        allowed = PATENT_TYPES_BY_JURISDICTION[self.jurisdiction]
        if self.patent_type not in allowed:
            raise ValueError(
                f"patent_type must be one of {', '.join(allowed)} for jurisdiction "
                f"{self.jurisdiction}, got {self.patent_type}"
            )
        if self.grant_date is not None and self.grant_date < self.filing_date:
            raise ValueError("grant_date must be on or after filing_date")
        if self.expiry_date is not None and self.expiry_date < self.filing_date:
            raise ValueError("expiry_date must be on or after filing_date")
        if self.priority_date is not None and self.priority_date > self.filing_date:
            raise ValueError("priority_date must be on or before filing_date")
        if (self.num_claims is not None and self.num_independent_claims is not None
                and self.num_independent_claims > self.num_claims):
            raise ValueError("num_independent_claims must be at most num_claims")
        return self


class FirmYear(BaseModel):
    """One fiscal year of a firm's financial statements."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    year: int = Field(ge=1900, le=2100)
    revenue: float = Field(ge=0)
    total_assets: float = Field(ge=0)
    debt: float = Field(ge=0)
    net_income: float
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")


class FirmFacts(BaseModel):
    """A firm described by its facts: kind, industry, financials and product classes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    assignee_id: str = Field(min_length=1, max_length=64)
    name: str = Field(default="", max_length=500)
    kind: Literal[ASSIGNEE_KINDS] = "sme"  # type: ignore[valid-type]
    industry: str | None = Field(default=None, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    founded_year: int | None = Field(default=None, ge=1800, le=2100)
    financials: tuple[FirmYear, ...] = ()
    technology: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        years = [f.year for f in self.financials]
        if len(years) != len(set(years)):
            raise ValueError("financials must hold at most one row per year")
        for cls, weight in self.technology.items():
            if weight < 0:
                raise ValueError(f"technology[{cls}] must be >= 0, got {weight}")
        return self


class LoanFacts(BaseModel):
    """A pledge loan: terms, borrower (id or facts) and pledged patents (ids or facts)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    loan_id: str = Field(default="loan", min_length=1, max_length=64)
    as_of: date
    borrower_id: str | None = Field(default=None, max_length=64)
    borrower: FirmFacts | None = None
    amount: float = Field(gt=0)
    term_months: int = Field(ge=1, le=120)
    appraised_value: float | None = Field(default=None, gt=0)
    pledged_patent_ids: tuple[str, ...] = ()
    pledged_patents: tuple[PatentFacts, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.borrower_id is None) == (self.borrower is None):
            raise ValueError("exactly one of borrower_id and borrower must be given")
        if not self.pledged_patent_ids and not self.pledged_patents:
            raise ValueError("pledged_patent_ids or pledged_patents must name a patent")
        return self

    @property
    def borrower_key(self) -> str:
        """Id of the borrowing firm."""
        return self.borrower.assignee_id if self.borrower else str(self.borrower_id)
