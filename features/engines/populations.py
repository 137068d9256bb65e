"""The populations a whole-dataset run scores, as feature SQL in DuckDB's dialect.

Every engine runs these same queries: DuckDB as they are, Spark after `spark_sql`.
"""

from __future__ import annotations

from datetime import date

from features.pipelines.firms import firm_features_sql
from features.pipelines.frames import FIRM_FEATURES, PATENT_FEATURES
from features.pipelines.patents import patent_features_sql
from features.pipelines.sources import Sources

# In force on T exactly as serving's rule (features.pipelines / serving.scoring.entities): granted
# by T, statutory term not over, no lapse and no invalidation recorded by T.
_IN_FORCE = "remaining_term_years > 0 AND lapsed = 0 AND invalidated = 0"


def patent_batch_sql(relations: Sources, as_of: date) -> str:
    """Features of every patent in force on `as_of`, one row per patent."""
    t = f"DATE '{as_of.isoformat()}'"
    targets = f"(SELECT patent_id, {t} AS as_of FROM {{patents}} WHERE grant_date <= {t})"
    features = relations.render(patent_features_sql(targets, PATENT_FEATURES))
    return f"SELECT * FROM ({features}) WHERE {_IN_FORCE}"


def firm_batch_sql(relations: Sources, as_of: date) -> str:
    """Features of every firm with product classes founded by `as_of` (the liability population)."""
    t = f"DATE '{as_of.isoformat()}'"
    targets = (
        f"(SELECT DISTINCT t.assignee_id, {t} AS as_of FROM {{firm_technology}} t "
        f"LEFT JOIN {{assignees}} a ON a.assignee_id = t.assignee_id "
        f"WHERE a.founded_year IS NULL OR a.founded_year <= year({t}))"
    )
    return relations.render(firm_features_sql(targets, FIRM_FEATURES))
