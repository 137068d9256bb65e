"""Loan features: terms, loan-to-value, borrower ratios and the pledged portfolio, in one query."""

from __future__ import annotations

from collections.abc import Sequence

from features.pipelines.context import (
    CONTEXT_CTES,
    CONTEXT_VALUES,
    OWNER_CTES,
    need_owner_cte,
)
from features.pipelines.firms import (
    FIRM_CTES,
    FIRM_NEED_OWNER,
    FIRM_PORTFOLIO_CTES,
    FIRM_VALUES,
)
from features.pipelines.patents import (
    PATENT_CTES,
    PATENT_FEATURE_ROWS,
    PATENT_NEED_OWNER,
    PATENT_VALUES,
)
from features.pipelines.query import Cte, FeatureBlock, FeatureQuery, feature_select, fill
from features.pipelines.relations import TableRelations
from features.registry import PATENT_TYPES

# Columns of the loan relation the loan SQL reads (from `loans` or from request facts).
LOAN_TARGET_COLUMNS = (
    "loan_id", "as_of", "borrower_id", "amount", "term_months", "appraised_value",
)

# The loans `lt` of relation `{loan_rows}`, the patents they pledge (`tg`) and their borrowers
# (`ft`) as of each loan's T.
LOAN_TARGETS = (
    Cte("lt", "SELECT loan_id, CAST(as_of AS DATE) AS as_of, {loan_columns} FROM {loan_rows}"),
    Cte("tg", """
  SELECT row_number() OVER (ORDER BY patent_id, as_of) AS tid, patent_id, as_of
  FROM (SELECT DISTINCT lp.patent_id, lt.as_of FROM {loan_pledges} lp
        JOIN lt ON lt.loan_id = lp.loan_id)
"""),
    Cte("ft", "SELECT DISTINCT borrower_id AS assignee_id, as_of FROM lt"),
    Cte("dates", "SELECT DISTINCT as_of FROM lt"),
)

# After the patent and firm feature rows: prior defaults, the pledged portfolio, the loan row.
LOAN_CTES = (
    Cte("prior", """
  SELECT lt.loan_id, count(l.loan_id) AS n_defaults
  FROM lt JOIN {loans} l ON l.borrower_id = lt.borrower_id AND l.loan_id <> lt.loan_id
    AND l.default_date <= lt.as_of
  GROUP BY ALL
"""),
    Cte("pledged", """
  SELECT lp.loan_id,
         count(*) AS n,
         avg(pf.forward_citations) AS cites_mean,
         max(pf.forward_citations) AS cites_max,
         avg(pf.remaining_term_years) AS term_mean,
         avg(pf.num_claims) AS claims_mean,
         avg(CASE WHEN pf.lapsed > 0 OR pf.invalidated > 0 OR pf.remaining_term_years <= 0
                  THEN 1.0 ELSE 0.0 END) AS share_lapsed,
         avg(CASE WHEN pf.patent_type IN ({invention_codes}) THEN 1.0 ELSE 0.0 END)
           AS share_invention,
         sum(pf.suits_on_patent) AS suits,
         avg(pf.class_suit_rate) AS class_rate
  FROM {loan_pledges} lp JOIN lt ON lt.loan_id = lp.loan_id
  JOIN patent_feature_rows pf ON pf.patent_id = lp.patent_id AND pf.as_of = lt.as_of
  GROUP BY ALL
"""),
    Cte("loan_feature_rows", """
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
  LEFT JOIN firm_feature_rows f ON f.assignee_id = lt.borrower_id AND f.as_of = lt.as_of
  LEFT JOIN prior pr ON pr.loan_id = lt.loan_id
  LEFT JOIN pledged pl ON pl.loan_id = lt.loan_id
"""),
)


def loan_features_query(
    relations: TableRelations,
    loan_rows: str,
    loan_pledges: str,
    names: Sequence[str],
    blocks: Sequence[FeatureBlock] = (),
) -> FeatureQuery:
    """The loan feature query for relation `loan_rows` and its pledged-patent links."""
    columns = [fill("f.{name}", {"name": n}) for n in names]
    block_ctes, select = feature_select("loan_feature_rows", "loan_id", columns, (), blocks)
    return FeatureQuery(
        ctes=(
            *LOAN_TARGETS,
            *CONTEXT_CTES,
            *PATENT_CTES,
            *FIRM_CTES,
            need_owner_cte(PATENT_NEED_OWNER, FIRM_NEED_OWNER),
            *OWNER_CTES,
            PATENT_FEATURE_ROWS,
            *FIRM_PORTFOLIO_CTES,
            *LOAN_CTES,
            *block_ctes,
        ),
        select=select,
        values={
            **relations.relations, **CONTEXT_VALUES, **PATENT_VALUES, **FIRM_VALUES,
            "loan_rows": loan_rows, "loan_pledges": loan_pledges, "targets": "lt",
            "loan_columns": ", ".join(LOAN_TARGET_COLUMNS[2:]),
            "invention_codes": ", ".join(str(PATENT_TYPES.index(t))
                                         for t in ("invention", "utility")),
        },
    )


def loan_features_sql(
    relations: TableRelations,
    loan_rows: str,
    loan_pledges: str,
    names: Sequence[str],
    blocks: Sequence[FeatureBlock] = (),
) -> str:
    """The SQL of `loan_features_query`: loan features for `loan_rows` and `loan_pledges`."""
    return loan_features_query(relations, loan_rows, loan_pledges, names, blocks).sql()


def loan_features_from_frames_query(
    relations: TableRelations,
    loan_rows: str,
    loan_pledges: str,
    patent_rows: str,
    firm_rows: str,
    names: Sequence[str],
) -> FeatureQuery:
    """The loan query over given patent and firm feature rows (as of each loan's date).

    The same loan steps as `loan_features_query`; the pledged patents' and the borrower's
    features come from relations already holding them (the online store) instead of their
    feature steps. The borrower's prior defaults still come from `{loans}`.
    """
    columns = [fill("f.{name}", {"name": n}) for n in names]
    _, select = feature_select("loan_feature_rows", "loan_id", columns, (), ())
    return FeatureQuery(
        ctes=(
            LOAN_TARGETS[0],
            Cte("patent_feature_rows", "SELECT * FROM {patent_rows}"),
            Cte("firm_feature_rows", "SELECT * FROM {firm_rows}"),
            *LOAN_CTES,
        ),
        select=select,
        values={
            **relations.relations,
            "loan_rows": loan_rows, "loan_pledges": loan_pledges, "patent_rows": patent_rows,
            "firm_rows": firm_rows, "loan_columns": ", ".join(LOAN_TARGET_COLUMNS[2:]),
            "invention_codes": ", ".join(str(PATENT_TYPES.index(t))
                                         for t in ("invention", "utility")),
        },
    )
