"""Rating and pricing policy: grades, premiums, subsidies, eligibility, loan limits.

Public API (what serving calls): `load_policy`, `Policy.grade`, `check_eligibility`,
`quote_insurance`, `assess_pledge_loan`, the `Applicant` model and the domain errors.
"""

from models.policy.applicant import Applicant
from models.policy.document import (
    ApplicantRole,
    LicenceType,
    Policy,
    Product,
    load_policy,
    parse_policy,
)
from models.policy.eligibility import check_eligibility
from models.policy.errors import IneligibleError, PolicyError, QuoteInputError
from models.policy.insurance import InsuranceQuote, quote_insurance
from models.policy.loan import LoanQuote, assess_pledge_loan
from models.policy.scale import Decision, Grade

__all__ = [
    "Applicant",
    "Decision",
    "Grade",
    "IneligibleError",
    "InsuranceQuote",
    "LicenceType",
    "LoanQuote",
    "Policy",
    "PolicyError",
    "Product",
    "QuoteInputError",
    "ApplicantRole",
    "assess_pledge_loan",
    "check_eligibility",
    "load_policy",
    "parse_policy",
    "quote_insurance",
]
