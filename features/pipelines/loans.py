"""Loan features: terms, loan-to-value, borrower ratios and the pledged portfolio, in one query."""

from __future__ import annotations

from collections.abc import Sequence

from features.pipelines.context import CONTEXT_CTES, OWNER_CTES
from features.pipelines.firms import FIRM_NEED_OWNER, firm_frame_parts
from features.pipelines.patents import PATENT_NEED_OWNER, FeatureBlock, patent_frame_parts
from features.registry import PATENT_TYPES

# Columns of the loan relation the loan SQL reads (from `loans` or from request facts).
LOAN_TARGET_COLUMNS = (
    "loan_id", "as_of", "borrower_id", "amount", "term_months", "appraised_value",
)

_LOAN_CORE = """
prior AS (
  SELECT lt.loan_id, count(l.loan_id) AS n_defaults
  FROM lt JOIN {loans} l ON l.borrower_id = lt.borrower_id AND l.loan_id <> lt.loan_id
    AND l.default_date <= lt.as_of
  GROUP BY ALL
),
pledged AS (
  SELECT lp.loan_id,
         count(*) AS n,
         avg(pf.forward_citations) AS cites_mean,
         max(pf.forward_citations) AS cites_max,
         avg(pf.remaining_term_years) AS term_mean,
         avg(pf.num_claims) AS claims_mean,
         avg(CASE WHEN pf.lapsed > 0 OR pf.invalidated > 0 OR pf.remaining_term_years <= 0
                  THEN 1.0 ELSE 0.0 END) AS share_lapsed,
         avg(CASE WHEN pf.patent_type IN ({inv_codes}) THEN 1.0 ELSE 0.0 END)
           AS share_invention,
         sum(pf.suits_on_patent) AS suits,
         avg(pf.class_suit_rate) AS class_rate
  FROM {loan_pledges} lp JOIN lt ON lt.loan_id = lp.loan_id
  JOIN patent_frame pf ON pf.patent_id = lp.patent_id AND pf.as_of = lt.as_of
  GROUP BY ALL
),
loan_frame AS (
  SELECT lt.loan_id, lt.as_of,
    CAST(log10(1 + lt.amount) AS DOUBLE) AS loan_amount_log,
    CAST(lt.term_months AS DOUBLE) AS loan_term_months,
    CAST(CASE WHEN lt.appraised_value > 0 THEN lt.amount / lt.appraised_value END AS DOUBLE)
      AS loan_ltv,
    f.firm_kind AS borrower_kind,
    f.firm_revenue_log AS borrower_revenue_log,
    f.firm_debt_ratio AS borrower_debt_ratio,
    f.firm_profit_margin AS borrower_profit_margin,
    f.firm_roa AS borrower_roa,
    CAST(coalesce(pr.n_defaults, 0) AS DOUBLE) AS borrower_prior_defaults,
    CAST(coalesce(pl.n, 0) AS DOUBLE) AS pledged_count,
    CAST(pl.cites_mean AS DOUBLE) AS pledged_citations_mean,
    CAST(pl.cites_max AS DOUBLE) AS pledged_citations_max,
    CAST(pl.term_mean AS DOUBLE) AS pledged_remaining_term_mean,
    CAST(pl.claims_mean AS DOUBLE) AS pledged_claims_mean,
    CAST(pl.share_lapsed AS DOUBLE) AS pledged_share_lapsed,
    CAST(pl.share_invention AS DOUBLE) AS pledged_share_invention,
    CAST(pl.suits AS DOUBLE) AS pledged_suits,
    CAST(pl.class_rate AS DOUBLE) AS pledged_class_suit_rate_mean
  FROM lt
  LEFT JOIN firm_frame f ON f.assignee_id = lt.borrower_id AND f.as_of = lt.as_of
  LEFT JOIN prior pr ON pr.loan_id = lt.loan_id
  LEFT JOIN pledged pl ON pl.loan_id = lt.loan_id
)
"""


def loan_features_sql(
    loan_rel: str, pledge_rel: str, names: Sequence[str], blocks: Sequence[FeatureBlock] = ()
) -> str:
    """SQL template of loan features for a loan relation and its pledged-patent links."""
    p_pre, p_post = patent_frame_parts()
    f_pre, f_post = firm_frame_parts()
    cols = ", ".join(LOAN_TARGET_COLUMNS[2:])
    inv_codes = ", ".join(str(PATENT_TYPES.index(t)) for t in ("invention", "utility"))
    select = [f"f.{n}" for n in names]
    joins = ""
    for i, blk in enumerate(blocks):
        alias = f"blk{i}"
        joins += (
            f" LEFT JOIN ({blk.sql.replace('{targets}', 'lt')}) {alias}"
            f" ON {alias}.loan_id = f.loan_id AND {alias}.as_of = f.as_of"
        )
        select += [f"CAST({alias}.{c} AS DOUBLE) AS {c}" for c in blk.columns]
    return (
        f"WITH lt AS (SELECT loan_id, CAST(as_of AS DATE) AS as_of, {cols} FROM {loan_rel}),\n"
        "tg AS (SELECT DISTINCT lp.patent_id, lt.as_of FROM {loan_pledges} lp "
        "JOIN lt ON lt.loan_id = lp.loan_id),\n"
        "ft AS (SELECT DISTINCT borrower_id AS assignee_id, as_of FROM lt),\n"
        "dates AS (SELECT DISTINCT as_of FROM lt),\n"
        + CONTEXT_CTES + "," + p_pre + "," + f_pre + ",\n"
        + f"need_owner AS (SELECT DISTINCT * FROM ({PATENT_NEED_OWNER} UNION ALL "
        + f"{FIRM_NEED_OWNER})),"
        + OWNER_CTES + "," + p_post + "," + f_post + ","
        + _LOAN_CORE.replace("{loan_pledges}", pledge_rel).replace("{inv_codes}", inv_codes)
        + "\nSELECT f.loan_id, f.as_of, " + ", ".join(select) + " FROM loan_frame f" + joins
    ).replace("{loan_pledges}", pledge_rel)
