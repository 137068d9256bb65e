"""Patent features as of a date: one SQL query for any set of (patent, as-of date) pairs."""

from __future__ import annotations

from collections.abc import Sequence

from features.pipelines.context import (
    CONTEXT_CTES,
    CONTEXT_VALUES,
    OWNER_CTES,
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
from features.registry import CPC_CLASSES, CPC_SECTIONS, JURISDICTIONS, PATENT_TYPES
from features.schema import ASSIGNEE_KINDS

PATENT_TARGET_COLUMNS = ("patent_id", "as_of")

# Features a facts-only patent may state directly (counts known to the requester).
PATENT_OVERRIDABLE = (
    "backward_citations",
    "forward_citations",
    "forward_citations_3y",
    "forward_citations_5y",
    "renewals_paid",
    "lapsed",
    "transfers",
    "licences",
    "pledges",
    "invalidation_requests",
    "invalidations_upheld",
    "invalidated",
    "suits_on_patent",
    "owner_suits_as_plaintiff",
    "owner_suits_as_defendant",
    "owner_kind",
    "owner_portfolio_size",
)

# The distinct target pairs `tg(tid, patent_id, as_of)` read from the `{target_rows}` relation.
# `tid` numbers the pairs: the per-target steps group and join on it rather than on the
# (string id, date) pair, which is cheaper at a million targets.
PATENT_TARGETS = Cte("tg", """
  SELECT row_number() OVER (ORDER BY patent_id, as_of) AS tid, patent_id, as_of
  FROM (SELECT DISTINCT patent_id, CAST(as_of AS DATE) AS as_of FROM {target_rows})
""")

# The patent facts at each target's T, from its own rows: before `need_owner` (ending in `owner`).
PATENT_CTES = (
    Cte("base", """
  SELECT tg.tid, tg.patent_id, tg.as_of, p.jurisdiction, p.patent_type, p.filing_date,
         p.cpc_main,
         p.assignee_id, p.num_claims, p.num_independent_claims, p.first_claim_words,
         p.family_size, p.num_inventors,
         CASE WHEN p.grant_date <= tg.as_of THEN p.grant_date END AS grant_date,
         CASE WHEN p.grant_date <= tg.as_of THEN p.expiry_date END AS expiry_date
  FROM tg LEFT JOIN pat p ON p.patent_id = tg.patent_id AND p.filing_date <= tg.as_of
"""),
    # forward citations known at T, by subclass of the citing patent (one pass)
    Cte("fwd_cls", """
  SELECT b.tid, cp.cpc_main AS cls,
         count(*) AS n,
         count(*) FILTER (WHERE c.citation_date <= b.grant_date + INTERVAL 3 YEAR) AS n3,
         count(*) FILTER (WHERE c.citation_date <= b.grant_date + INTERVAL 5 YEAR) AS n5,
         count(*) FILTER (WHERE cp.assignee_id = b.assignee_id) AS n_self
  FROM base b JOIN {citations} c ON c.cited_patent_id = b.patent_id AND c.citation_date <= b.as_of
  LEFT JOIN pat cp ON cp.patent_id = c.citing_patent_id
  GROUP BY ALL
"""),
    # generality = 1 - Herfindahl over subclasses of citing patents
    Cte("fwd", """
  SELECT tid, sum(n) AS forward_citations, sum(n3) AS fc3, sum(n5) AS fc5,
         sum(n_self) / sum(n) AS self_share,
         CASE WHEN sum(n) FILTER (WHERE cls IS NOT NULL) > 0
              THEN 1.0 - sum(n * n) FILTER (WHERE cls IS NOT NULL)
                   / (sum(n) FILTER (WHERE cls IS NOT NULL) ^ 2) END AS generality
  FROM fwd_cls GROUP BY ALL
"""),
    Cte("bwd", """
  SELECT tid, sum(n) AS backward_citations,
         CASE WHEN sum(n_classed) > 0
              THEN 1.0 - sum(n_classed * n_classed) / (sum(n_classed) * sum(n_classed)) END
           AS originality
  FROM (
    SELECT tg.tid, cd.cpc_main, count(*) AS n,
           count(cd.cpc_main) AS n_classed
    FROM tg JOIN {citations} c
      ON c.citing_patent_id = tg.patent_id AND c.citation_date <= tg.as_of
    LEFT JOIN pat cd ON cd.patent_id = c.cited_patent_id
    GROUP BY ALL
  ) GROUP BY ALL
"""),
    Cte("ev", """
  SELECT tg.tid,
         count(*) FILTER (WHERE e.event_type = 'renewal_paid') AS renewals_paid,
         count(*) FILTER (WHERE e.event_type = 'lapsed') AS n_lapsed,
         count(*) FILTER (WHERE e.event_type = 'transferred') AS transfers,
         count(*) FILTER (WHERE e.event_type = 'licensed') AS licences,
         count(*) FILTER (WHERE e.event_type = 'pledged') AS pledges,
         count(*) FILTER (WHERE e.event_type = 'invalidation_requested') AS invalidation_requests,
         count(*) FILTER (WHERE e.event_type = 'upheld') AS invalidations_upheld,
         count(*) FILTER (WHERE e.event_type = 'invalidated') AS n_invalidated
  FROM tg JOIN {legal_events} e ON e.patent_id = tg.patent_id AND e.event_date <= tg.as_of
  GROUP BY ALL
"""),
    Cte("own_suits", """
  SELECT tg.tid, count(DISTINCT c.case_id) AS suits_on_patent
  FROM tg JOIN {cases} c ON c.patent_id = tg.patent_id AND c.filed_date <= tg.as_of
  GROUP BY ALL
"""),
    # owner at T: latest transferee on or before T, else the owner at grant
    Cte("owner", """
  SELECT tg.tid, tg.as_of, x.owner_id
  FROM tg JOIN own_x x ON x.patent_id = tg.patent_id AND x.from_d <= tg.as_of
    AND (x.to_d IS NULL OR x.to_d > tg.as_of)
"""),
)

PATENT_NEED_OWNER = "SELECT as_of, owner_id FROM owner WHERE owner_id IS NOT NULL"

# One row per target pair holding every patent feature: after `need_owner`.
PATENT_FEATURE_ROWS = Cte("patent_feature_rows", """
  SELECT b.patent_id, b.as_of,
    CAST(datediff('day', b.filing_date, b.as_of) / 365.25 AS DOUBLE) AS patent_age_years,
    CAST(CASE WHEN b.expiry_date IS NOT NULL  -- greatest() would skip a NULL
         THEN greatest(datediff('day', b.as_of, b.expiry_date), 0) / 365.25 END AS DOUBLE)
      AS remaining_term_years,
    {code_type} AS patent_type,
    {code_jur} AS jurisdiction,
    {code_section} AS cpc_section,
    {code_class} AS cpc_class,
    CAST(b.num_claims AS DOUBLE) AS num_claims,
    CAST(b.num_independent_claims AS DOUBLE) AS num_independent_claims,
    CAST(b.first_claim_words AS DOUBLE) AS first_claim_words,
    CAST(b.family_size AS DOUBLE) AS family_size,
    CAST(b.num_inventors AS DOUBLE) AS num_inventors,
    CAST(datediff('day', b.filing_date, b.grant_date) / 365.25 AS DOUBLE) AS grant_lag_years,
    CAST(coalesce(bw.backward_citations, 0) AS DOUBLE) AS backward_citations,
    CAST(coalesce(fw.forward_citations, 0) AS DOUBLE) AS forward_citations,
    CAST(coalesce(fw.fc3, 0) AS DOUBLE) AS forward_citations_3y,
    CAST(coalesce(fw.fc5, 0) AS DOUBLE) AS forward_citations_5y,
    CAST(fw.self_share AS DOUBLE) AS self_citation_share,
    CAST(bw.originality AS DOUBLE) AS originality,
    CAST(fw.generality AS DOUBLE) AS generality,
    CAST(coalesce(ev.renewals_paid, 0) AS DOUBLE) AS renewals_paid,
    CAST(coalesce(ev.n_lapsed, 0) > 0 AS DOUBLE) AS lapsed,
    CAST(coalesce(ev.transfers, 0) AS DOUBLE) AS transfers,
    CAST(coalesce(ev.licences, 0) AS DOUBLE) AS licences,
    CAST(coalesce(ev.pledges, 0) AS DOUBLE) AS pledges,
    CAST(coalesce(ev.invalidation_requests, 0) AS DOUBLE) AS invalidation_requests,
    CAST(coalesce(ev.invalidations_upheld, 0) AS DOUBLE) AS invalidations_upheld,
    CAST(coalesce(ev.n_invalidated, 0) > 0 AS DOUBLE) AS invalidated,
    CAST(coalesce(os.suits_on_patent, 0) AS DOUBLE) AS suits_on_patent,
    CAST(CASE WHEN o.owner_id IS NULL THEN NULL ELSE coalesce(fs.as_plaintiff, 0) END AS DOUBLE)
      AS owner_suits_as_plaintiff,
    CAST(CASE WHEN o.owner_id IS NULL THEN NULL ELSE coalesce(fs.as_defendant, 0) END AS DOUBLE)
      AS owner_suits_as_defendant,
    {code_owner} AS owner_kind,
    CAST(CASE WHEN o.owner_id IS NULL THEN NULL ELSE coalesce(pf.n_patents, 0) END AS DOUBLE)
      AS owner_portfolio_size,
    CAST(cr.rate AS DOUBLE) AS class_suit_rate
  FROM base b
  LEFT JOIN fwd fw ON fw.tid = b.tid
  LEFT JOIN bwd bw ON bw.tid = b.tid
  LEFT JOIN ev ON ev.tid = b.tid
  LEFT JOIN own_suits os ON os.tid = b.tid
  LEFT JOIN owner o ON o.tid = b.tid
  LEFT JOIN {assignees} a ON a.assignee_id = o.owner_id
  LEFT JOIN firm_suits fs ON fs.as_of = b.as_of AND fs.firm_id = o.owner_id
  LEFT JOIN portfolio_size pf ON pf.as_of = b.as_of AND pf.owner_id = o.owner_id
  LEFT JOIN class_rate cr ON cr.as_of = b.as_of AND cr.cpc_main = b.cpc_main
""")

# Values of the category-code placeholders of `PATENT_FEATURE_ROWS`.
PATENT_VALUES = {
    "code_type": category_code("b.patent_type", PATENT_TYPES),
    "code_jur": category_code("b.jurisdiction", JURISDICTIONS),
    "code_section": category_code("substr(b.cpc_main, 1, 1)", CPC_SECTIONS),
    "code_class": category_code("substr(b.cpc_main, 1, 3)", CPC_CLASSES),
    "code_owner": category_code("a.kind", ASSIGNEE_KINDS),
}

_OVERRIDDEN = "CAST(coalesce(ov.{name}, f.{name}) AS DOUBLE) AS {name}"
_OVERRIDES_JOIN = "LEFT JOIN {overrides} ov ON ov.patent_id = f.patent_id"


def patent_features_query(
    relations: TableRelations,
    target_rows: str,
    names: Sequence[str],
    overrides: str | None = None,
    blocks: Sequence[FeatureBlock] = (),
) -> FeatureQuery:
    """The patent feature query for the (patent_id, as_of) pairs of relation `target_rows`.

    `overrides` is an optional relation with `patent_id` and some of the `PATENT_OVERRIDABLE`
    columns, whose values replace the computed ones.
    """
    columns = [
        fill(_OVERRIDDEN, {"name": n}) if overrides is not None and n in PATENT_OVERRIDABLE
        else fill("f.{name}", {"name": n})
        for n in names
    ]
    joins = [] if overrides is None else [fill(_OVERRIDES_JOIN, {"overrides": overrides})]
    block_ctes, select = feature_select("patent_feature_rows", "patent_id", columns, joins, blocks)
    return FeatureQuery(
        ctes=(
            PATENT_TARGETS,
            Cte("dates", "SELECT DISTINCT as_of FROM tg"),
            *CONTEXT_CTES,
            *PATENT_CTES,
            need_owner_cte(PATENT_NEED_OWNER),
            *OWNER_CTES,
            PATENT_FEATURE_ROWS,
            *block_ctes,
        ),
        select=select,
        values={
            **relations.relations, **CONTEXT_VALUES, **PATENT_VALUES,
            "target_rows": target_rows, "targets": "tg",
        },
    )


def patent_features_sql(
    relations: TableRelations,
    target_rows: str,
    names: Sequence[str],
    overrides: str | None = None,
    blocks: Sequence[FeatureBlock] = (),
) -> str:
    """The SQL of `patent_features_query`: patent features for the pairs of `target_rows`."""
    return patent_features_query(relations, target_rows, names, overrides, blocks).sql()
