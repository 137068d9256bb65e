"""Who holds which patents in force on a date: the population of market and portfolio reports."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from features.pipelines.context import CONTEXT_CTES, CONTEXT_VALUES
from features.pipelines.query import Cte, FeatureQuery, date_literal
from features.pipelines.relations import TableRelations

_HOLDINGS_SELECT = """
SELECT s.patent_id, o.owner_id, p.patent_type, p.jurisdiction, p.cpc_main, p.expiry_date
FROM spans s JOIN pat p ON p.patent_id = s.patent_id
LEFT JOIN own_spans o ON o.patent_id = s.patent_id AND o.start <= {t} AND o.stop > {t}
WHERE s.start <= {t} AND s.stop > {t}
ORDER BY s.patent_id"""


def patents_in_force(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """Patents in force on `as_of` with their owner then (transfers followed) and main facts.

    Columns: patent_id, owner_id (None when unknown), patent_type, jurisdiction, cpc_main,
    expiry_date. In force and owner use the same spans as the features (granted, not expired,
    lapsed or invalidated), computed only from facts dated on or before `as_of`.
    """
    relations = TableRelations.from_connection(con).cut(as_of)
    t = date_literal(as_of)
    query = FeatureQuery(
        ctes=(Cte("dates", "SELECT {t} AS as_of"), *CONTEXT_CTES),
        select=_HOLDINGS_SELECT,
        values={**relations.relations, **CONTEXT_VALUES, "t": t},
    )
    frame = con.execute(query.sql()).df()
    frame["expiry_date"] = pd.to_datetime(frame["expiry_date"])
    return frame
