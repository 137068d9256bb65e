"""The scoring service layer: resolve entities to features, score, explain, apply the policy.

Routers call `score_enforcement`, `score_liability`, `assess_loan` and `value_patents`; each takes
a `ScoringContext` (the request's models, DuckDB cursor, as-of date and recorder) and a validated
request, and returns the response built from the stored assessment.
"""

from serving.scoring.context import ScoringContext
from serving.scoring.insurance import score_enforcement, score_liability
from serving.scoring.lending import assess_loan, value_patents

__all__ = [
    "ScoringContext",
    "assess_loan",
    "score_enforcement",
    "score_liability",
    "value_patents",
]
