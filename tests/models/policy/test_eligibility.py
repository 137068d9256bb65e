from __future__ import annotations

import pytest

from models.policy import (
    Applicant,
    ApplicantRole,
    IneligibleError,
    LicenceType,
    Product,
    check_eligibility,
)

R = ApplicantRole
ELIGIBLE = {
    Product.ENFORCEMENT: {R.PATENT_HOLDER, R.LICENSEE, R.SUCCESSOR},
    Product.LIABILITY: {R.MANUFACTURER, R.USER, R.SELLER, R.OFFEROR, R.IMPORTER},
    Product.PLEDGE_LOAN: {R.BORROWER, R.GUARANTOR, R.BANK, R.INTERMEDIARY},
}


def _applicant(role: ApplicantRole, **kw) -> Applicant:
    return Applicant(applicant_id="firm-1", role=role, **kw)


@pytest.mark.parametrize("product", list(Product))
@pytest.mark.parametrize("role", list(ApplicantRole))
def test_each_role_for_each_product(policy, product, role):
    applicant = _applicant(role, licence_type=LicenceType.EXCLUSIVE)
    if role in ELIGIBLE[product]:
        check_eligibility(policy, product, applicant)
    else:
        with pytest.raises(IneligibleError) as info:
            check_eligibility(policy, product, applicant)
        assert info.value.rule == f"products.{product.value}.eligible_roles"
        assert f"role '{role.value}' may not buy {product.value}" in str(info.value)


@pytest.mark.parametrize("licence", [LicenceType.EXCLUSIVE, LicenceType.SOLE])
@pytest.mark.parametrize("allows", [True, False])
def test_exclusive_and_sole_licensees_are_always_eligible(policy, licence, allows):
    check_eligibility(
        policy,
        "enforcement",
        _applicant(R.LICENSEE, licence_type=licence, contract_allows_enforcement=allows),
    )


def test_ordinary_licensee_only_where_the_contract_allows(policy):
    allowed = _applicant(
        ApplicantRole.LICENSEE, licence_type=LicenceType.ORDINARY, contract_allows_enforcement=True
    )
    check_eligibility(policy, "enforcement", allowed)
    refused = _applicant(ApplicantRole.LICENSEE, licence_type=LicenceType.ORDINARY)
    with pytest.raises(IneligibleError, match="contract_allows_enforcement is false") as info:
        check_eligibility(policy, "enforcement", refused)
    assert info.value.rule == "products.enforcement.licensee.if_contract_allows"


def test_licensee_without_licence_type_is_refused(policy):
    with pytest.raises(IneligibleError, match="must state licence_type") as info:
        check_eligibility(policy, "enforcement", _applicant(ApplicantRole.LICENSEE))
    assert info.value.rule == "products.enforcement.licensee"


def test_policy_can_narrow_licensees(write_policy):
    from models.policy import load_policy

    def only_exclusive(d):
        d["products"]["enforcement"]["licensee"] = {"always": ["exclusive"]}

    narrow = load_policy(write_policy(only_exclusive))
    with pytest.raises(IneligibleError, match="licence type 'sole' is not eligible"):
        check_eligibility(narrow, "enforcement", _applicant(R.LICENSEE, licence_type="sole"))


def test_unknown_role_is_refused_by_the_applicant_model():
    with pytest.raises(ValueError, match="role"):
        Applicant(applicant_id="x", role="landlord")
