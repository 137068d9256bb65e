"""Who may buy which product: roles per product and the licensee rules of the policy."""

from __future__ import annotations

from models.policy.applicant import Applicant
from models.policy.document import ApplicantRole, Policy, Product
from models.policy.errors import IneligibleError


def check_eligibility(policy: Policy, product: Product | str, applicant: Applicant) -> None:
    """Return if the applicant may buy the product, else raise `IneligibleError` naming the rule."""
    spec = policy.product(product)
    product = Product(product)
    role = applicant.role
    if role not in spec.eligible_roles:
        allowed = ", ".join(r.value for r in spec.eligible_roles)
        raise IneligibleError(
            product,
            role,
            f"products.{product}.eligible_roles",
            f"role {role.value!r} may not buy {product.value} ({spec.name_zh}); "
            f"eligible roles: {allowed}",
        )
    if role is not ApplicantRole.LICENSEE or spec.licensee is None:
        return
    rule = f"products.{product}.licensee"
    licence = applicant.licence_type
    if licence is None:
        raise IneligibleError(
            product, role, rule, "a licensee must state licence_type (exclusive, sole or ordinary)"
        )
    if licence in spec.licensee.always:
        return
    if licence in spec.licensee.if_contract_allows:
        if applicant.contract_allows_enforcement:
            return
        raise IneligibleError(
            product,
            role,
            f"{rule}.if_contract_allows",
            f"an {licence.value} licensee is eligible only where the licence contract allows "
            "it to enforce the patent (contract_allows_enforcement is false)",
        )
    raise IneligibleError(
        product, role, rule, f"licence type {licence.value!r} is not eligible for {product.value}"
    )
