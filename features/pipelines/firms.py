"""Firm features as of a date (infringement liability): one SQL query for (firm, date) pairs."""

from __future__ import annotations

from collections.abc import Sequence

from features.pipelines.context import (
    CONTEXT_CTES,
    CONTEXT_VALUES,
    OWNER_CTES,
    PORTFOLIO_STATS,
    need_owner_cte,
)
from features.pipelines.query import (
    Cte,
    FeatureBlock,
    FeatureQuery,
    category_code,
    feature_select,
    fill,
)
from features.pipelines.relations import TableRelations
from features.registry import INDUSTRIES
from features.schema import ASSIGNEE_KINDS

# The distinct target pairs `ft(assignee_id, as_of)` read from the `{target_rows}` relation.
FIRM_TARGETS = Cte(
    "ft", "SELECT DISTINCT assignee_id, CAST(as_of AS DATE) AS as_of FROM {target_rows}"
)

# The firm facts at each target's T: before `need_owner`.
FIRM_CTES = (
    # fiscal year Y is known from 1 April of Y + 1
    Cte("fin_ranked", """
  SELECT ft.assignee_id, ft.as_of, f.year, f.revenue, f.total_assets, f.debt, f.net_income,
         row_number() OVER (PARTITION BY ft.assignee_id, ft.as_of ORDER BY f.year DESC) AS rk
  FROM ft JOIN {firm_financials} f ON f.assignee_id = ft.assignee_id
    AND make_date(CAST(f.year AS INTEGER) + 1, 4, 1) <= ft.as_of
"""),
    Cte("fin", """
  SELECT a.assignee_id, a.as_of, a.revenue, a.total_assets, a.debt, a.net_income,
         CASE WHEN b.year = a.year - 1 AND b.revenue > 0 THEN a.revenue / b.revenue - 1 END
           AS revenue_growth
  FROM fin_ranked a LEFT JOIN fin_ranked b
    ON b.assignee_id = a.assignee_id AND b.as_of = a.as_of AND b.rk = 2
  WHERE a.rk = 1
"""),
    Cte("tech", """
  SELECT assignee_id, count(*) AS n_classes,
         CASE WHEN sum(weight) > 0 THEN sum(weight * weight) / (sum(weight) * sum(weight)) END
           AS concentration
  FROM {firm_technology} GROUP BY ALL
"""),
    # exposure-weighted suit rate of the firm's product classes
    Cte("intensity", """
  SELECT ft.assignee_id, ft.as_of,
         CASE WHEN sum(t.weight) > 0
              THEN sum(t.weight * coalesce(cr.rate, 0)) / sum(t.weight) END AS intensity
  FROM ft JOIN {firm_technology} t ON t.assignee_id = ft.assignee_id
  LEFT JOIN class_rate cr ON cr.as_of = ft.as_of AND cr.cpc_main = t.cpc_class
  GROUP BY ALL
"""),
)

FIRM_NEED_OWNER = "SELECT as_of, assignee_id AS owner_id FROM ft"

# After `need_owner`: the firm's portfolio, then one row per target pair with every feature.
FIRM_PORTFOLIO_CTES = (
    PORTFOLIO_STATS,
    # mean forward citations (known at T) of the patents a firm holds at T
    Cte("portfolio_cites", """
  SELECT as_of, owner_id, CASE WHEN n_patents > 0 THEN cites / n_patents END AS mean_citations
  FROM portfolio_stats
"""),
    Cte("firm_feature_rows", """
  SELECT ft.assignee_id, ft.as_of,
    {code_kind} AS firm_kind,
    {code_industry} AS firm_industry,
    CAST(year(ft.as_of) - a.founded_year AS DOUBLE) AS firm_age_years,
    CAST(log10(1 + fin.revenue) AS DOUBLE) AS firm_revenue_log,
    CAST(log10(1 + fin.total_assets) AS DOUBLE) AS firm_assets_log,
    CAST(CASE WHEN fin.total_assets > 0 THEN fin.debt / fin.total_assets END AS DOUBLE)
      AS firm_debt_ratio,
    CAST(CASE WHEN fin.revenue > 0 THEN fin.net_income / fin.revenue END AS DOUBLE)
      AS firm_profit_margin,
    CAST(CASE WHEN fin.total_assets > 0 THEN fin.net_income / fin.total_assets END AS DOUBLE)
      AS firm_roa,
    CAST(fin.revenue_growth AS DOUBLE) AS firm_revenue_growth,
    CAST(coalesce(t.n_classes, 0) AS DOUBLE) AS firm_tech_classes,
    CAST(t.concentration AS DOUBLE) AS firm_tech_concentration,
    CAST(coalesce(pf.n_patents, 0) AS DOUBLE) AS firm_portfolio_size,
    CAST(pc.mean_citations AS DOUBLE) AS firm_portfolio_citations_mean,
    CAST(coalesce(fs.as_defendant, 0) AS DOUBLE) AS firm_suits_as_defendant,
    CAST(coalesce(fs.as_defendant_3y, 0) AS DOUBLE) AS firm_suits_as_defendant_3y,
    CAST(coalesce(fs.as_plaintiff, 0) AS DOUBLE) AS firm_suits_as_plaintiff,
    CAST(i.intensity AS DOUBLE) AS firm_class_suit_intensity
  FROM ft
  LEFT JOIN {assignees} a ON a.assignee_id = ft.assignee_id
  LEFT JOIN fin ON fin.assignee_id = ft.assignee_id AND fin.as_of = ft.as_of
  LEFT JOIN tech t ON t.assignee_id = ft.assignee_id
  LEFT JOIN portfolio_size pf ON pf.as_of = ft.as_of AND pf.owner_id = ft.assignee_id
  LEFT JOIN portfolio_cites pc ON pc.as_of = ft.as_of AND pc.owner_id = ft.assignee_id
  LEFT JOIN firm_suits fs ON fs.as_of = ft.as_of AND fs.firm_id = ft.assignee_id
  LEFT JOIN intensity i ON i.assignee_id = ft.assignee_id AND i.as_of = ft.as_of
"""),
)

# Values of the category-code placeholders of `firm_feature_rows`.
FIRM_VALUES = {
    "code_kind": category_code("a.kind", ASSIGNEE_KINDS),
    "code_industry": category_code("a.industry", INDUSTRIES),
}


def firm_features_query(
    relations: TableRelations,
    target_rows: str,
    names: Sequence[str],
    blocks: Sequence[FeatureBlock] = (),
) -> FeatureQuery:
    """The firm feature query for the (assignee_id, as_of) pairs of relation `target_rows`."""
    columns = [fill("f.{name}", {"name": n}) for n in names]
    block_ctes, select = feature_select("firm_feature_rows", "assignee_id", columns, (), blocks)
    return FeatureQuery(
        ctes=(
            FIRM_TARGETS,
            Cte("dates", "SELECT DISTINCT as_of FROM ft"),
            *CONTEXT_CTES,
            *FIRM_CTES,
            need_owner_cte(FIRM_NEED_OWNER),
            *OWNER_CTES,
            *FIRM_PORTFOLIO_CTES,
            *block_ctes,
        ),
        select=select,
        values={
            **relations.relations, **CONTEXT_VALUES, **FIRM_VALUES,
            "target_rows": target_rows, "targets": "ft",
        },
    )


def firm_features_sql(
    relations: TableRelations,
    target_rows: str,
    names: Sequence[str],
    blocks: Sequence[FeatureBlock] = (),
) -> str:
    """The SQL of `firm_features_query`: firm features for the pairs of `target_rows`."""
    return firm_features_query(relations, target_rows, names, blocks).sql()
