"""SQL for the state of the world at each as-of date that several entity kinds share.

Ownership of every patent at T (following transfers), whether it is in force, per-class suit rates
and per-firm suit counts. Each CTE expects a `dates(as_of)` CTE before it and reads only facts
dated on or before its `as_of`.
"""

from __future__ import annotations

from features.pipelines.query import Cte, fill
from features.terms import expiry_sql

# Years of case history behind the class suit rate.
CLASS_RATE_YEARS = 3

# Values of the constant placeholders of the context CTEs.
CONTEXT_VALUES = {
    # Statutory terms come from the one rule table in features/terms.py.
    "statutory_expiry": expiry_sql(),
    "class_rate_years": str(CLASS_RATE_YEARS),
}

CONTEXT_CTES = (
    Cte("pat", """
  SELECT patent_id, jurisdiction, patent_type, filing_date, grant_date, assignee_id, cpc_main,
         num_claims, num_independent_claims, first_claim_words, family_size, num_inventors,
         CAST(coalesce(expiry_date, {statutory_expiry}) AS DATE) AS expiry_date
  FROM {patents}
"""),
    # first date a patent stopped being in force by lapse or invalidation
    Cte("pat_end", """
  SELECT patent_id, min(event_date) AS end_date
  FROM {legal_events} WHERE event_type IN ('lapsed', 'invalidated') GROUP BY patent_id
"""),
    # in force on T exactly when start <= T < stop (dates after T only end a span later)
    Cte("spans", """
  SELECT p.patent_id, p.cpc_main, p.grant_date AS start,
         least(p.expiry_date, coalesce(pe.end_date, p.expiry_date)) AS stop
  FROM pat p LEFT JOIN pat_end pe ON pe.patent_id = p.patent_id
  WHERE p.grant_date IS NOT NULL AND p.expiry_date IS NOT NULL
"""),
    # owner intervals: owner at grant until the first transfer, each transferee after
    Cte("own_x", """
  SELECT patent_id, owner_id, from_d,
         lead(from_d) OVER (PARTITION BY patent_id ORDER BY from_d, seq) AS to_d
  FROM (
    SELECT patent_id, assignee_id AS owner_id, DATE '0001-01-01' AS from_d, '' AS seq FROM pat
    UNION ALL
    SELECT patent_id, counterparty_id, event_date, event_id FROM {legal_events}
    WHERE event_type = 'transferred' AND counterparty_id IS NOT NULL
  )
"""),
    # who holds which patent in force, and when
    Cte("own_spans", """
  SELECT s.patent_id, x.owner_id, greatest(s.start, x.from_d) AS start,
         CASE WHEN x.to_d IS NULL THEN s.stop ELSE least(s.stop, x.to_d) END AS stop
  FROM spans s JOIN own_x x ON x.patent_id = s.patent_id
  WHERE x.owner_id IS NOT NULL AND (x.to_d IS NULL OR x.to_d > s.start) AND x.from_d < s.stop
"""),
    # running count of in-force patents per subclass at each change
    Cte("class_steps", """
  SELECT cpc_main, d, sum(delta) OVER (PARTITION BY cpc_main ORDER BY d) AS n
  FROM (
    SELECT cpc_main, d, sum(delta) AS delta FROM (
      SELECT cpc_main, start AS d, 1 AS delta FROM spans WHERE stop > start
      UNION ALL SELECT cpc_main, stop, -1 FROM spans WHERE stop > start
    ) WHERE cpc_main IS NOT NULL GROUP BY ALL
  )
"""),
    # running count of suits (case-patent rows) per subclass by filing date
    Cte("case_steps", """
  SELECT cpc_main, d, sum(k) OVER (PARTITION BY cpc_main ORDER BY d) AS n
  FROM (
    SELECT p.cpc_main, c.filed_date AS d, count(*) AS k
    FROM {cases} c JOIN pat p ON p.patent_id = c.patent_id
    WHERE p.cpc_main IS NOT NULL GROUP BY ALL
  )
"""),
    Cte("class_dates", """
  SELECT d.as_of, k.cpc_main FROM dates d CROSS JOIN (SELECT DISTINCT cpc_main FROM class_steps) k
"""),
    # in-force patents per subclass at T: the running count at the latest step on or before T
    Cte("class_n", """
  SELECT cd.as_of, cd.cpc_main, max_by(st.n, st.d) AS n
  FROM class_dates cd JOIN class_steps st ON st.cpc_main = cd.cpc_main AND st.d <= cd.as_of
  GROUP BY cd.as_of, cd.cpc_main
"""),
    # in-force patents at T, and suits filed by T and by T - 3 years, per subclass (latest-step
    # aggregates rather than ASOF joins, so that Spark SQL runs them too)
    Cte("class_counts", """
  SELECT q.as_of, q.cpc_main, q.n, coalesce(max_by(cs.n, cs.d), 0) AS suits_now,
         coalesce(max_by(cs.n, cs.d) FILTER (
           WHERE cs.d <= CAST(q.as_of - INTERVAL {class_rate_years} YEAR AS DATE)), 0)
           AS suits_before
  FROM class_n q LEFT JOIN case_steps cs ON cs.cpc_main = q.cpc_main AND cs.d <= q.as_of
  GROUP BY q.as_of, q.cpc_main, q.n
"""),
    # counts add up: these relations' plus a materialized context's (empty unless given)
    Cte("class_counts_all", """
  SELECT as_of, cpc_main, sum(n) AS n, sum(suits_now) AS suits_now,
         sum(suits_before) AS suits_before
  FROM (SELECT as_of, cpc_main, n, suits_now, suits_before FROM class_counts
        UNION ALL
        SELECT c.as_of, c.cpc_main, c.n, c.suits_now, c.suits_before
        FROM {ctx_class_counts} c JOIN dates d ON d.as_of = c.as_of)
  GROUP BY ALL
"""),
    # suits per 1,000 in-force patents per year in each subclass before T
    Cte("class_rate", """
  SELECT as_of, cpc_main,
         1000.0 * (suits_now - suits_before) / ({class_rate_years} * n) AS rate
  FROM class_counts_all WHERE n > 0
"""),
    # one row per case, firm and role
    Cte("firm_cases", """
  SELECT DISTINCT case_id, filed_date, plaintiff_id AS firm_id, 'plaintiff' AS role
  FROM {cases} WHERE plaintiff_id IS NOT NULL
  UNION
  SELECT DISTINCT case_id, filed_date, defendant_id, 'defendant' FROM {cases}
  WHERE defendant_id IS NOT NULL
"""),
    Cte("firm_case_steps", """
  SELECT firm_id, role, d, sum(k) OVER (PARTITION BY firm_id, role ORDER BY d) AS n
  FROM (SELECT firm_id, role, filed_date AS d, count(DISTINCT case_id) AS k
        FROM firm_cases GROUP BY ALL)
"""),
)


def need_owner_cte(*selects: str) -> Cte:
    """`need_owner(as_of, owner_id)`: the firms whose portfolio and suits a query uses."""
    return Cte("need_owner", fill("SELECT DISTINCT * FROM ({parts})",
                                  {"parts": " UNION ALL ".join(selects)}))


# Need `need_owner(as_of, owner_id)`. Every count adds up over disjoint relations, so a
# materialized context (`{ctx_owner_counts}`: the whole dataset's counts at T) plus the counts of
# request facts gives what their union would.
OWNER_CTES = (
    # patents in force held by each needed owner at T
    Cte("portfolio_at", """
  SELECT n.as_of, n.owner_id, o.patent_id
  FROM need_owner n JOIN own_spans o
    ON o.owner_id = n.owner_id AND o.start <= n.as_of AND o.stop > n.as_of
"""),
    Cte("owner_ctx", """
  SELECT c.* FROM {ctx_owner_counts} c
  JOIN need_owner n ON n.owner_id = c.owner_id AND n.as_of = c.as_of
"""),
    Cte("portfolio_size", """
  SELECT as_of, owner_id, sum(n_patents) AS n_patents FROM (
    SELECT as_of, owner_id, count(*) AS n_patents FROM portfolio_at GROUP BY ALL
    UNION ALL SELECT as_of, owner_id, n_patents FROM owner_ctx WHERE n_patents > 0
  ) GROUP BY ALL
"""),
    # distinct cases per needed firm as plaintiff / defendant filed on or before T
    Cte("firm_suits_here", """
  SELECT n.as_of, n.owner_id AS firm_id,
         coalesce(max_by(s.n, s.d) FILTER (WHERE s.role = 'plaintiff'), 0) AS as_plaintiff,
         coalesce(max_by(s.n, s.d) FILTER (WHERE s.role = 'defendant'), 0) AS as_defendant,
         coalesce(max_by(s.n, s.d) FILTER (WHERE s.role = 'defendant'), 0)
           - coalesce(max_by(s.n, s.d) FILTER (WHERE s.role = 'defendant'
               AND s.d <= CAST(n.as_of - INTERVAL 3 YEAR AS DATE)), 0) AS as_defendant_3y
  FROM need_owner n
  LEFT JOIN firm_case_steps s ON s.firm_id = n.owner_id AND s.d <= n.as_of
  GROUP BY n.as_of, n.owner_id
"""),
    Cte("firm_suits", """
  SELECT h.as_of, h.firm_id,
         h.as_plaintiff + coalesce(c.as_plaintiff, 0) AS as_plaintiff,
         h.as_defendant + coalesce(c.as_defendant, 0) AS as_defendant,
         h.as_defendant_3y + coalesce(c.as_defendant_3y, 0) AS as_defendant_3y
  FROM firm_suits_here h
  LEFT JOIN owner_ctx c ON c.owner_id = h.firm_id AND c.as_of = h.as_of
"""),
)

# The patents a firm holds at T and their forward citations known at T (adds up as above).
PORTFOLIO_STATS = Cte("portfolio_stats", """
  SELECT as_of, owner_id, sum(n_patents) AS n_patents, sum(cites) AS cites FROM (
    SELECT pa.as_of, pa.owner_id, count(*) AS n_patents, sum(coalesce(k.n, 0)) AS cites
    FROM portfolio_at pa LEFT JOIN (
      SELECT q.as_of, q.patent_id, count(*) AS n
      FROM (SELECT DISTINCT as_of, patent_id FROM portfolio_at) q
      JOIN {citations} c ON c.cited_patent_id = q.patent_id AND c.citation_date <= q.as_of
      GROUP BY ALL
    ) k ON k.as_of = pa.as_of AND k.patent_id = pa.patent_id
    GROUP BY ALL
    UNION ALL SELECT as_of, owner_id, n_patents, portfolio_cites FROM owner_ctx
  ) GROUP BY ALL
""")

# Context relations a query adds to its own counts: (column, DuckDB type) of each.
CONTEXT_RELATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "ctx_class_counts": (("as_of", "DATE"), ("cpc_main", "VARCHAR"), ("n", "BIGINT"),
                         ("suits_now", "BIGINT"), ("suits_before", "BIGINT")),
    "ctx_owner_counts": (("as_of", "DATE"), ("owner_id", "VARCHAR"), ("n_patents", "BIGINT"),
                         ("portfolio_cites", "BIGINT"), ("as_plaintiff", "BIGINT"),
                         ("as_defendant", "BIGINT"), ("as_defendant_3y", "BIGINT")),
}


def empty_context(name: str) -> str:
    """SQL for an empty context relation `name` with its typed columns."""
    cols = ", ".join(fill("CAST(NULL AS {type}) AS {name}", {"type": t, "name": c})
                     for c, t in CONTEXT_RELATIONS[name])
    return fill("(SELECT {columns} WHERE false)", {"columns": cols})


# The whole dataset's context tables at the query's dates (materialized for serving).
CONTEXT_TABLE_SELECTS = {
    "ctx_class_counts": """
SELECT as_of, cpc_main, CAST(n AS BIGINT) AS n, CAST(suits_now AS BIGINT) AS suits_now,
       CAST(suits_before AS BIGINT) AS suits_before FROM class_counts ORDER BY cpc_main
""",
    "ctx_owner_counts": """
SELECT n.as_of, n.owner_id, CAST(coalesce(p.n_patents, 0) AS BIGINT) AS n_patents,
       CAST(coalesce(ps.cites, 0) AS BIGINT) AS portfolio_cites,
       CAST(s.as_plaintiff AS BIGINT) AS as_plaintiff,
       CAST(s.as_defendant AS BIGINT) AS as_defendant,
       CAST(s.as_defendant_3y AS BIGINT) AS as_defendant_3y
FROM need_owner n
LEFT JOIN portfolio_size p ON p.as_of = n.as_of AND p.owner_id = n.owner_id
LEFT JOIN portfolio_stats ps ON ps.as_of = n.as_of AND ps.owner_id = n.owner_id
LEFT JOIN firm_suits s ON s.as_of = n.as_of AND s.firm_id = n.owner_id
ORDER BY n.owner_id
""",
}

# Every firm that owns a patent or appears in a case, at each date.
EVERY_OWNER = """
SELECT d.as_of, o.owner_id FROM dates d CROSS JOIN (
  SELECT DISTINCT owner_id FROM own_x WHERE owner_id IS NOT NULL
  UNION SELECT DISTINCT firm_id FROM firm_cases) o
"""
