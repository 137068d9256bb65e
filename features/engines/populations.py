"""The populations a whole-dataset run scores, as feature SQL in DuckDB's dialect.

Every engine runs these same queries: DuckDB as they are, Spark after `spark_sql`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from features.pipelines.firms import firm_features_query
from features.pipelines.frames import FIRM_FEATURES, PATENT_FEATURES
from features.pipelines.patents import patent_features_query
from features.pipelines.query import FeatureQuery, date_literal, fill
from features.pipelines.relations import TableRelations

_GRANTED_BY = "(SELECT patent_id, {t} AS as_of FROM {patents} WHERE grant_date <= {t})"
# In force on T by the rule serving applies to one patent (serving.scoring.entities): granted by
# T, statutory term not over, no lapse and no invalidation recorded by T.
_IN_FORCE = (
    "SELECT * FROM ({features}) WHERE remaining_term_years > 0 AND lapsed = 0 "
    "AND invalidated = 0"
)
# Firms with product technology classes founded by T: the liability population.
_FIRMS = """(
  SELECT DISTINCT t.assignee_id, {t} AS as_of FROM {firm_technology} t
  LEFT JOIN {assignees} a ON a.assignee_id = t.assignee_id
  WHERE a.founded_year IS NULL OR a.founded_year <= year({t})
)"""


def patent_batch_query(relations: TableRelations, as_of: date) -> FeatureQuery:
    """The query of the features of every patent in force on `as_of`, as its steps."""
    targets = fill(_GRANTED_BY, {**relations.relations, "t": date_literal(as_of)})
    query = patent_features_query(relations, targets, PATENT_FEATURES)
    return replace(query, select=fill(_IN_FORCE, {"features": query.select}))


def patent_batch_sql(relations: TableRelations, as_of: date) -> str:
    """Features of every patent in force on `as_of`, one row per patent."""
    return patent_batch_query(relations, as_of).sql()


def firm_batch_query(relations: TableRelations, as_of: date) -> FeatureQuery:
    """The query of the features of every firm with product classes founded by `as_of`."""
    targets = fill(_FIRMS, {**relations.relations, "t": date_literal(as_of)})
    return firm_features_query(relations, targets, FIRM_FEATURES)


def firm_batch_sql(relations: TableRelations, as_of: date) -> str:
    """Features of every firm with product classes founded by `as_of`, one row per firm."""
    return firm_batch_query(relations, as_of).sql()
