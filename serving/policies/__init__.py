"""Bound policies: binding, endorsements, cancellation, subsidy grants, row locks."""
