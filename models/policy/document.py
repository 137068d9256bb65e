"""The policy file: its pydantic models, the rules checked at load, and `load_policy`.

Policy (bands, loadings, subsidies, eligibility, loan-to-value) changes more often than code and is
supervised by the regulator, so it lives in a versioned YAML file. A file that breaks a rule is
refused at load with a `PolicyError` naming the field and the rule.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from bisect import bisect_right
from datetime import date
from decimal import Decimal
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from models.policy.errors import PolicyError, QuoteInputError
from models.policy.inputs import check_probability
from models.policy.scale import MASTER_SCALE, Decision, Grade

logger = logging.getLogger(__name__)

DEFAULT_POLICY_FILE = "default.yaml"


class Product(StrEnum):
    """The three patent insurance products (险种) of the source guidance."""

    ENFORCEMENT = "enforcement"  # 专利执行险
    LIABILITY = "liability"  # 侵犯专利权责任险
    PLEDGE_LOAN = "pledge_loan"  # 专利权质押贷款保证保险


class ApplicantRole(StrEnum):
    """The role in which an applicant asks for cover."""

    PATENT_HOLDER = "patent_holder"
    LICENSEE = "licensee"
    SUCCESSOR = "successor"
    MANUFACTURER = "manufacturer"
    USER = "user"
    SELLER = "seller"
    OFFEROR = "offeror"
    IMPORTER = "importer"
    BORROWER = "borrower"
    GUARANTOR = "guarantor"
    BANK = "bank"
    INTERMEDIARY = "intermediary"


class LicenceType(StrEnum):
    """Kind of patent licence (独占 exclusive / 排他 sole / 普通 ordinary)."""

    EXCLUSIVE = "exclusive"
    SOLE = "sole"
    ORDINARY = "ordinary"


SubsidyAttribute = Literal["pilot_enterprise", "patent_award_winner", "high_tech_enterprise", "sme"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Band(_Strict):
    """One grade's probability band [lower, upper) with its loadings (the last band includes 1)."""

    grade: Grade
    lower: float = Field(ge=0.0, le=1.0, description="Lowest probability in the band.")
    upper: float = Field(ge=0.0, le=1.0, description="Probability where the next band starts.")
    risk_loading: float = Field(ge=0.0, le=10.0, description="Loading on expected loss.")
    ltv: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Loan-to-value on the P10 value (pledge loans)."
    )

    @property
    def midpoint(self) -> float:
        """Arithmetic midpoint of the band."""
        return (self.lower + self.upper) / 2.0

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if not self.upper > self.lower:
            raise ValueError(
                f"band {self.grade}: upper ({self.upper}) must be greater than lower ({self.lower})"
            )
        return self


class LicenseeRules(_Strict):
    """Which licensees may buy: some licence types always, others only if the contract allows."""

    always: list[LicenceType] = Field(default_factory=list)
    if_contract_allows: list[LicenceType] = Field(default_factory=list)

    @model_validator(mode="after")
    def _disjoint(self) -> LicenseeRules:
        both = set(self.always) & set(self.if_contract_allows)
        if both:
            raise ValueError(
                f"licence types {sorted(both)} are listed in both always and if_contract_allows"
            )
        return self


class CoverTerms(_Strict):
    """What a bound policy of one product pays: co-pay, sub-limits by kind of loss, retroactive."""

    co_pay: float = Field(
        ge=0.0, lt=1.0, description="Share of each covered loss the insured keeps (共担比例)."
    )
    sub_limits: dict[str, float] = Field(
        min_length=1,
        description="Kinds of loss the product pays, each with its cumulative sub-limit as a "
        "share of the policy's aggregate limit.",
    )
    retroactive_months: int = Field(
        ge=0, le=120,
        description="Months before the start date from which incidents are covered (追溯期).",
    )

    @model_validator(mode="after")
    def _check(self) -> CoverTerms:
        for kind, share in self.sub_limits.items():
            if not _LOSS_KIND.fullmatch(kind):
                raise ValueError(f"sub_limits: kind {kind!r} must be snake_case letters")
            if not 0.0 < share <= 1.0:
                raise ValueError(f"sub_limits.{kind} must be a share in (0, 1], got {share}")
        return self


# The one kind of loss of the pledge-loan guarantee: what the lender loses after the sale.
LENDER_LOSS = "lender_loss"
_LOSS_KIND = re.compile(r"[a-z][a-z_]{1,40}")


class ProductPolicy(_Strict):
    """Rating, pricing, eligibility and decision thresholds of one product."""

    name_zh: str = Field(min_length=1)
    eligible_roles: list[ApplicantRole] = Field(min_length=1)
    licensee: LicenseeRules | None = None
    max_period_months: int = Field(ge=1, le=120, description="Longest policy period or term.")
    expense_loading: float = Field(ge=0.0, description="Fixed expense loading per policy.")
    minimum_premium: float = Field(ge=0.0, description="Lowest gross premium per policy.")
    refer_at: Grade = Field(description="Grades at or beyond this go to an underwriter.")
    decline_at: Grade = Field(description="Grades at or beyond this are declined.")
    scale: list[Band]
    cover: CoverTerms

    @model_validator(mode="after")
    def _check(self) -> ProductPolicy:
        if self.refer_at.rank > self.decline_at.rank:
            raise ValueError(
                f"refer_at ({self.refer_at}) must be at or above decline_at ({self.decline_at})"
            )
        if ApplicantRole.LICENSEE in self.eligible_roles and self.licensee is None:
            raise ValueError("licensee: rules are required when eligible_roles include licensee")
        _check_scale(self.scale)
        return self

    def decision_for(self, grade: Grade) -> Decision:
        """Accept, refer or decline a grade by this product's thresholds."""
        if grade.rank >= self.decline_at.rank:
            return Decision.DECLINE
        if grade.rank >= self.refer_at.rank:
            return Decision.REFER
        return Decision.ACCEPT

    def band(self, grade: Grade) -> Band:
        """The band of a grade."""
        return self.scale[grade.rank]


def _check_scale(scale: list[Band]) -> None:
    """Refuse a scale that is not one contiguous, monotone cover of [0, 1] in master order."""
    grades = [b.grade for b in scale]
    if grades != list(MASTER_SCALE):
        raise ValueError(
            "scale: grades must be listed once each in master-scale order "
            f"{', '.join(MASTER_SCALE)}; got {', '.join(grades)}"
        )
    if scale[0].lower != 0.0:
        raise ValueError(
            f"scale[0] ({scale[0].grade}): gap: the scale must start at probability 0, "
            f"got lower {scale[0].lower}"
        )
    for i in range(1, len(scale)):
        prev, band = scale[i - 1], scale[i]
        where = f"scale[{i}] ({band.grade})"
        if band.lower < prev.upper:
            raise ValueError(
                f"{where}: bands overlap: lower {band.lower} is below upper {prev.upper} "
                f"of {prev.grade}"
            )
        if band.lower > prev.upper:
            raise ValueError(
                f"{where}: gap between bands: lower {band.lower} is above upper {prev.upper} "
                f"of {prev.grade}"
            )
        if band.risk_loading < prev.risk_loading:
            raise ValueError(
                f"{where}: risk_loading must not decrease down the scale: {band.risk_loading} "
                f"< {prev.risk_loading} of {prev.grade}"
            )
        if band.ltv is not None and prev.ltv is not None and band.ltv > prev.ltv:
            raise ValueError(
                f"{where}: ltv must not increase down the scale: {band.ltv} > {prev.ltv} "
                f"of {prev.grade}"
            )
    if scale[-1].upper != 1.0:
        raise ValueError(
            f"scale[{len(scale) - 1}] ({scale[-1].grade}): gap: the scale must end at "
            f"probability 1, got upper {scale[-1].upper}"
        )


class SubsidyRule(_Strict):
    """An applicant attribute that earns a share of the premium as government subsidy."""

    attribute: SubsidyAttribute
    share: float = Field(gt=0.0, le=1.0)


class SubsidyPolicy(_Strict):
    """Premium subsidy (保费补贴): rules, how matching rules combine, and the caps."""

    products: list[Product] = Field(default_factory=list)
    combine: Literal["max", "sum"] = "max"
    max_share: float = Field(gt=0.0, le=1.0, description="Largest combined share.")
    rules: list[SubsidyRule] = Field(default_factory=list)
    cap_per_policy: float = Field(ge=0.0, description="Most subsidy on one policy.")
    cap_per_applicant_year: float = Field(ge=0.0, description="Most subsidy per applicant-year.")

    @model_validator(mode="after")
    def _check(self) -> SubsidyPolicy:
        attrs = [r.attribute for r in self.rules]
        dupes = sorted({a for a in attrs if attrs.count(a) > 1})
        if dupes:
            raise ValueError(f"rules: attribute {dupes} listed more than once")
        if self.cap_per_policy > self.cap_per_applicant_year:
            raise ValueError(
                f"caps: cap_per_policy ({self.cap_per_policy}) must not exceed "
                f"cap_per_applicant_year ({self.cap_per_applicant_year})"
            )
        return self


class Recovery(_Strict):
    """Recovery assumptions when a pledged portfolio is sold after default."""

    haircut: float = Field(ge=0.0, lt=1.0, description="Forced-sale discount on the P10 value.")
    recovery_cost_rate: float = Field(
        ge=0.0, lt=1.0, description="Share of the sale proceeds spent on disposal."
    )
    lgd_floor: float = Field(ge=0.0, le=1.0, description="Lowest loss given default assumed.")


class LossSharing(_Strict):
    """How a pledge loan's loss is shared between insurer, bank and guarantor."""

    insurer: float = Field(ge=0.0, le=1.0)
    bank: float = Field(ge=0.0, le=1.0)
    guarantor: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _sums_to_one(self) -> LossSharing:
        total = self.insurer + self.bank + self.guarantor
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(
                f"shares must sum to 1, got {total:g} (insurer {self.insurer} + bank "
                f"{self.bank} + guarantor {self.guarantor})"
            )
        return self


class LoanPolicy(_Strict):
    """Pledge-loan rules: patent-type caps on loan-to-value, recovery, loss sharing."""

    patent_type_caps: dict[str, float] = Field(min_length=1)
    recovery: Recovery
    loss_sharing: LossSharing

    @model_validator(mode="after")
    def _caps(self) -> LoanPolicy:
        for kind, cap in self.patent_type_caps.items():
            if not 0.0 <= cap <= 1.0:
                raise ValueError(f"patent_type_caps.{kind} must be between 0 and 1, got {cap}")
        return self


class BindingRules(_Strict):
    """How long a quote stays bindable."""

    quote_validity_days: int = Field(
        ge=1, le=365, description="Days after pricing during which a quote can be bound."
    )
    max_start_delay_days: int = Field(
        ge=0, le=365, description="Latest start date of a policy, in days after binding."
    )


class ClaimRules(_Strict):
    """Claim deadlines (PRC Insurance Law Art. 23) and the payment authority limit."""

    decision_days: int = Field(
        ge=1, le=365, description="Days from complete documents to the decision (Art. 23: 30)."
    )
    payment_days: int = Field(
        ge=1, le=365, description="Days from the agreed amount to payment (Art. 23: 10)."
    )
    authority_limit: float = Field(
        gt=0.0, description="Largest payment one adjuster may make alone; above it a second "
        "approver must approve.",
    )


class Policy(_Strict):
    """A validated rating and pricing policy; `version` and `sha256` go into every quote."""

    version: str = Field(pattern=r"^[A-Za-z0-9._-]+$", max_length=64)
    effective_from: date
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    description: str = ""
    products: dict[Product, ProductPolicy]
    subsidy: SubsidyPolicy
    loan: LoanPolicy
    binding: BindingRules
    claims: ClaimRules
    # Units of `currency` per one unit of another currency (e.g. USD: 7.1 for a CNY policy):
    # a dataset whose amounts are in a listed currency is priced after conversion.
    exchange_rates: dict[str, Decimal] = Field(default_factory=dict)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Hash of the file bytes.")

    @model_validator(mode="after")
    def _check(self) -> Policy:
        missing = [p.value for p in Product if p not in self.products]
        if missing:
            raise ValueError(f"products: every product must be defined; missing {missing}")
        for product, spec in self.products.items():
            has_ltv = [b.ltv is not None for b in spec.scale]
            if product is Product.PLEDGE_LOAN and not all(has_ltv):
                raise ValueError("products.pledge_loan.scale: every band needs an ltv")
            if product is not Product.PLEDGE_LOAN and any(has_ltv):
                raise ValueError(f"products.{product}.scale: ltv applies only to pledge_loan bands")
        loan_kinds = sorted(self.products[Product.PLEDGE_LOAN].cover.sub_limits)
        if loan_kinds != [LENDER_LOSS]:
            raise ValueError(
                f"products.pledge_loan.cover.sub_limits: the one kind of loss is {LENDER_LOSS}, "
                f"got {loan_kinds}"
            )
        for code, rate in self.exchange_rates.items():
            if not re.fullmatch(r"[A-Z]{3}", code) or code == self.currency:
                raise ValueError(f"exchange_rates.{code}: must be an ISO 4217 code other than "
                                 f"the policy's currency {self.currency}")
            if not rate.is_finite() or rate <= 0:
                raise ValueError(f"exchange_rates.{code}: must be a positive rate, got {rate}")
        return self

    def exchange_rate(self, currency: str) -> Decimal | None:
        """Units of the policy's currency per unit of `currency` (1 for its own), or None."""
        if currency == self.currency:
            return Decimal(1)
        return self.exchange_rates.get(currency)

    def product(self, product: Product | str) -> ProductPolicy:
        """The rules of one product."""
        return self.products[_product(product)]

    def grade(self, product: Product | str, probability: float) -> Grade:
        """The one grade whose band [lower, upper) holds the probability (1.0 falls in D)."""
        spec = self.product(product)
        check_probability("probability", probability)
        uppers = [b.upper for b in spec.scale[:-1]]
        return spec.scale[bisect_right(uppers, probability)].grade


def _product(product: Product | str) -> Product:
    try:
        return Product(product)
    except ValueError:
        allowed = ", ".join(p.value for p in Product)
        raise QuoteInputError("product", f"must be one of {allowed}, got {product!r}") from None


def _format_errors(exc: ValidationError) -> str:
    """One line per broken rule: `dotted.field[i]: message`."""
    lines = []
    for err in exc.errors():
        loc = ""
        for part in err["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        msg = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(lines)


def parse_policy(content: bytes, source: str = "<bytes>") -> Policy:
    """Validate policy YAML bytes into a `Policy`, or raise `PolicyError` naming the problem."""
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: the policy must be a YAML mapping")
    if "sha256" in data:
        raise PolicyError(f"{source}: sha256 must not be set in the file; it is computed at load")
    digest = hashlib.sha256(content).hexdigest()
    try:
        policy = Policy.model_validate({**data, "sha256": digest})
    except ValidationError as exc:
        raise PolicyError(f"{source}: {_format_errors(exc)}") from None
    logger.info("policy loaded", extra={"version": policy.version, "sha256": digest})
    return policy


def load_policy(path: Path | None = None) -> Policy:
    """Load and validate a policy file; `None` loads the packaged default policy."""
    if path is None:
        resource = resources.files("models.policy").joinpath(DEFAULT_POLICY_FILE)
        return parse_policy(resource.read_bytes(), source=f"packaged {DEFAULT_POLICY_FILE}")
    try:
        content = Path(path).read_bytes()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy file: {exc.strerror}") from None
    return parse_policy(content, source=str(path))
