"""Domain errors of the policy layer; the API maps each class to one status code."""

from __future__ import annotations


class PolicyError(ValueError):
    """The policy file is invalid: the message names the field and the rule it breaks."""


class QuoteInputError(ValueError):
    """A quote request is invalid: `field` names the input, `rule` what is allowed."""

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field} {rule}")


class IneligibleError(ValueError):
    """The applicant may not buy the product: `rule` names the policy rule that refuses it."""

    def __init__(self, product: str, role: str, rule: str, message: str) -> None:
        self.product = product
        self.role = role
        self.rule = rule
        super().__init__(f"{rule}: {message}")
