"""SQL for the state of the world at each as-of date that several entity kinds share.

Ownership of every patent at T (following transfers), whether it is in force, per-class suit rates
and per-firm suit counts. Each CTE expects a `dates(as_of)` CTE before it and reads only facts
dated on or before its `as_of`.
"""

from __future__ import annotations

# Statutory terms (features/terms.py may supersede): CN Patent Law art. 42 (2021 amendment:
# invention 20 years, utility model 10, design 15 for filings from 1 June 2021, before that 10);
# 35 U.S.C. 154 (utility 20 years from filing) and 173 (design 15 years from grant for filings
# from 13 May 2015, before that 14).
STATUTORY_EXPIRY_SQL = """
CASE
  WHEN jurisdiction = 'CN' AND patent_type = 'invention' THEN filing_date + INTERVAL 20 YEAR
  WHEN jurisdiction = 'CN' AND patent_type = 'utility_model' THEN filing_date + INTERVAL 10 YEAR
  WHEN jurisdiction = 'CN' AND patent_type = 'design' AND filing_date >= DATE '2021-06-01'
    THEN filing_date + INTERVAL 15 YEAR
  WHEN jurisdiction = 'CN' AND patent_type = 'design' THEN filing_date + INTERVAL 10 YEAR
  WHEN jurisdiction = 'US' AND patent_type = 'utility' THEN filing_date + INTERVAL 20 YEAR
  WHEN jurisdiction = 'US' AND patent_type = 'design' AND filing_date >= DATE '2015-05-13'
    THEN grant_date + INTERVAL 15 YEAR
  WHEN jurisdiction = 'US' AND patent_type = 'design' THEN grant_date + INTERVAL 14 YEAR
END
"""

# Years of case history behind the class suit rate.
CLASS_RATE_YEARS = 3

CONTEXT_CTES = f"""
pat AS (
  SELECT patent_id, jurisdiction, patent_type, filing_date, grant_date, assignee_id, cpc_main,
         num_claims, num_independent_claims, first_claim_words, family_size, num_inventors,
         CAST(coalesce(expiry_date, {STATUTORY_EXPIRY_SQL}) AS DATE) AS expiry_date
  FROM {{patents}}
),
pat_end AS (  -- first date a patent stopped being in force by lapse or invalidation
  SELECT patent_id, min(event_date) AS end_date
  FROM {{legal_events}} WHERE event_type IN ('lapsed', 'invalidated') GROUP BY patent_id
),
transfer_at AS (  -- latest recorded transferee on or before each date
  SELECT d.as_of, e.patent_id, arg_max(e.counterparty_id, (e.event_date, e.event_id)) AS owner_id
  FROM dates d JOIN {{legal_events}} e
    ON e.event_type = 'transferred' AND e.counterparty_id IS NOT NULL AND e.event_date <= d.as_of
  GROUP BY ALL
),
owner_at AS (  -- every granted patent at each date: owner and whether in force
  SELECT d.as_of, p.patent_id, p.cpc_main,
         coalesce(tr.owner_id, p.assignee_id) AS owner_id,
         (p.expiry_date > d.as_of AND coalesce(pe.end_date > d.as_of, true)) AS in_force
  FROM dates d JOIN pat p ON p.grant_date <= d.as_of
  LEFT JOIN transfer_at tr ON tr.as_of = d.as_of AND tr.patent_id = p.patent_id
  LEFT JOIN pat_end pe ON pe.patent_id = p.patent_id
),
fwd_at AS (  -- forward citations of every cited patent known at each date
  SELECT d.as_of, c.cited_patent_id AS patent_id, count(*) AS n
  FROM dates d JOIN {{citations}} c ON c.citation_date <= d.as_of GROUP BY ALL
),
portfolio_at AS (
  SELECT o.as_of, o.owner_id, count(*) AS n_patents, avg(coalesce(f.n, 0)) AS mean_citations
  FROM owner_at o LEFT JOIN fwd_at f ON f.as_of = o.as_of AND f.patent_id = o.patent_id
  WHERE o.in_force AND o.owner_id IS NOT NULL GROUP BY ALL
),
class_rate AS (  -- suits per 1,000 in-force patents per year in each subclass before T
  SELECT n.as_of, n.cpc_main,
         1000.0 * coalesce(s.n_suits, 0) / ({CLASS_RATE_YEARS} * n.n_patents) AS rate
  FROM (SELECT as_of, cpc_main, count(*) AS n_patents FROM owner_at
        WHERE in_force AND cpc_main IS NOT NULL GROUP BY ALL) n
  LEFT JOIN (
    SELECT d.as_of, p.cpc_main, count(*) AS n_suits
    FROM dates d JOIN {{cases}} c
      ON c.filed_date <= d.as_of AND c.filed_date > d.as_of - INTERVAL {CLASS_RATE_YEARS} YEAR
    JOIN pat p ON p.patent_id = c.patent_id
    GROUP BY ALL
  ) s ON s.as_of = n.as_of AND s.cpc_main = n.cpc_main
),
firm_suits AS (  -- distinct cases per firm as plaintiff / defendant filed on or before T
  SELECT d.as_of, x.firm_id,
         count(DISTINCT x.case_id) FILTER (WHERE x.role = 'plaintiff') AS as_plaintiff,
         count(DISTINCT x.case_id) FILTER (WHERE x.role = 'defendant') AS as_defendant,
         count(DISTINCT x.case_id) FILTER (
           WHERE x.role = 'defendant' AND x.filed_date > d.as_of - INTERVAL 3 YEAR
         ) AS as_defendant_3y
  FROM dates d JOIN (
    SELECT case_id, filed_date, plaintiff_id AS firm_id, 'plaintiff' AS role FROM {{cases}}
    WHERE plaintiff_id IS NOT NULL
    UNION ALL
    SELECT case_id, filed_date, defendant_id AS firm_id, 'defendant' AS role FROM {{cases}}
    WHERE defendant_id IS NOT NULL
  ) x ON x.filed_date <= d.as_of
  GROUP BY ALL
)
"""


def category_code(column: str, categories: tuple[str, ...]) -> str:
    """SQL giving the 0-based code of `column` in `categories`, -1 when unknown or missing."""
    items = ", ".join("'" + c.replace("'", "''") + "'" for c in categories)
    return f"CAST(coalesce(list_position([{items}], {column}), 0) - 1 AS DOUBLE)"
