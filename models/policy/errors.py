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


class IllegalTransitionError(ValueError):
    """An action not allowed in the record's current state: names the state and what is allowed."""

    def __init__(self, entity: str, current: str, attempted: str, allowed: list[str]) -> None:
        self.entity = entity
        self.current = current
        self.attempted = attempted
        self.allowed = allowed
        shown = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"{entity} is {current}: cannot {attempted}; allowed next: {shown}"
        )
