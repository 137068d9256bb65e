"""Assignees of the synthetic world: kinds, portfolios, technology classes and yearly financials."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.world.params import ASSIGNEE_KIND_ORDER, WorldParams

LARGE, SME, UNIVERSITY, INDIVIDUAL, NPE = range(5)
HOMES = ("CN", "US")
CN_REGIONS = ("Beijing", "Shanghai", "Guangdong", "Jiangsu", "Zhejiang", "Tianjin", "Shandong",
              "Sichuan", "Hubei", "Fujian")
US_REGIONS = ("CA", "TX", "NY", "MA", "WA", "IL", "NJ", "DE", "MN", "NC")
_NAME_STEMS = ("Hua", "Zhong", "Xin", "Tian", "Jin", "Hong", "Lian", "Rui", "Bo", "Kai", "Apex",
               "Nova", "Vertex", "Summit", "Pioneer", "Orbit", "Crest", "Helix", "Quanta", "Lumen")
_NAME_TAILS = ("tech", "xin", "da", "cheng", "wei", "sys", "gen", "tron", "med", "link")
_KIND_SUFFIX = ("Group Co., Ltd.", "Technology Co., Ltd.", "University", "", "IP Holdings LLC")
_LOG_REVENUE = ((22.3, 1.2), (17.2, 1.0), (0.0, 0.0), (0.0, 0.0), (15.4, 0.8))  # mean, sd


@dataclass(frozen=True)
class Assignees:
    """Assignee arrays (index = assignee number) and their class tables."""

    kind: np.ndarray  # int8 codes into ASSIGNEE_KIND_ORDER
    home: np.ndarray  # 0 CN, 1 US
    weight: np.ndarray  # portfolio propensity
    log_revenue: np.ndarray  # base log revenue (NaN for universities and individuals)
    industry: np.ndarray  # int index into industries, -1 none
    founded: np.ndarray  # founded year (may be lowered to the first filing later)
    research_firm: np.ndarray  # long table of research classes: assignee, class, weight
    research_class: np.ndarray
    research_weight: np.ndarray
    product_firm: np.ndarray  # firm_technology: large firms and SMEs only
    product_class: np.ndarray
    product_weight: np.ndarray

    @property
    def n(self) -> int:
        """Number of assignees."""
        return len(self.kind)


def industries(params: WorldParams) -> list[str]:
    """Industries of the world's classes, in first-seen order."""
    return list(dict.fromkeys(c.industry for c in params.classes))


def _top_k_classes(
    rng: np.random.Generator, logp: np.ndarray, k: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw k distinct classes per row (Gumbel top-k) with Dirichlet(1) weights."""
    n, m = logp.shape
    scores = logp + rng.gumbel(size=(n, m))
    order = np.argsort(-scores, axis=1)
    rank = np.arange(m)[None, :]
    keep = rank < k[:, None]
    rows = np.broadcast_to(np.arange(n)[:, None], (n, m))[keep]
    classes = order[keep]
    w = rng.gamma(1.0, size=len(rows))
    total = np.bincount(rows, weights=w, minlength=n)
    return rows, classes, w / total[rows]


def build_assignees(params: WorldParams, n_patents: int, rng: np.random.Generator) -> Assignees:
    """Draw the assignees: kinds, home office, heavy-tailed portfolio weights, classes, size."""
    n = max(60, int(round(n_patents / params.patents_per_assignee)))
    shares = np.asarray(params.kind_shares) / np.sum(params.kind_shares)
    kind = rng.choice(len(ASSIGNEE_KIND_ORDER), size=n, p=shares).astype(np.int8)
    kind[: len(ASSIGNEE_KIND_ORDER)] = np.arange(len(ASSIGNEE_KIND_ORDER))  # every kind exists
    home = (rng.random(n) >= params.share_cn).astype(np.int8)
    weight = np.asarray(params.kind_portfolio_weight)[kind] * (
        rng.pareto(params.portfolio_pareto, size=n) + 1.0
    )
    mean_sd = np.asarray(_LOG_REVENUE)
    log_revenue = mean_sd[kind, 0] + mean_sd[kind, 1] * rng.standard_normal(n)
    # bigger portfolios go with bigger firms
    log_revenue += 0.3 * (np.log(weight) - np.log(np.asarray(params.kind_portfolio_weight)[kind]))
    log_revenue[(kind == UNIVERSITY) | (kind == INDIVIDUAL)] = np.nan

    inds = industries(params)
    class_ind = np.array([inds.index(c.industry) for c in params.classes])
    class_share = np.array([c.share for c in params.classes])
    class_share = class_share / class_share.sum()
    ind_share = np.bincount(class_ind, weights=class_share, minlength=len(inds))
    industry = rng.choice(len(inds), size=n, p=ind_share)
    # firms concentrate on their industry's classes; others spread by class share
    same = class_ind[None, :] == industry[:, None]
    focus = np.where(kind == NPE, 2.0, np.where((kind == LARGE) | (kind == SME), 3.0, 0.0))
    logp = np.log(class_share)[None, :] + focus[:, None] * same
    k = np.where(
        kind == LARGE, 2 + rng.poisson(2.0, n),
        np.where(kind == SME, 1 + rng.poisson(0.5, n), 1 + rng.poisson(0.7, n)),
    )
    k = np.minimum(k, 8)
    r_firm, r_class, r_weight = _top_k_classes(rng, logp, k)
    industry = np.where((kind == UNIVERSITY) | (kind == INDIVIDUAL), -1, industry)

    practising = (kind[r_firm] == LARGE) | (kind[r_firm] == SME)
    founded = np.select(
        [kind == LARGE, kind == SME, kind == UNIVERSITY, kind == NPE],
        [rng.integers(1950, 1996, n), rng.integers(1985, 2021, n), rng.integers(1898, 1991, n),
         rng.integers(1995, 2021, n)],
        default=0,
    )
    return Assignees(
        kind=kind, home=home, weight=weight, log_revenue=log_revenue, industry=industry,
        founded=founded, research_firm=r_firm, research_class=r_class, research_weight=r_weight,
        product_firm=r_firm[practising], product_class=r_class[practising],
        product_weight=r_weight[practising],
    )


@dataclass(frozen=True)
class Financials:
    """Yearly financials as (assignee x year) matrices; NaN where the firm has none."""

    first_year: int
    revenue: np.ndarray
    total_assets: np.ndarray
    debt: np.ndarray
    net_income: np.ndarray

    def column(self, values: np.ndarray, firm: np.ndarray, year: np.ndarray) -> np.ndarray:
        """Values of `values` for each (firm, fiscal year) pair; NaN outside the matrix."""
        col = np.asarray(year) - self.first_year
        ok = (col >= 0) & (col < values.shape[1])
        out = np.full(len(col), np.nan)
        out[ok] = values[np.asarray(firm)[ok], col[ok]]
        return out


def build_financials(
    params: WorldParams, firms: Assignees, rng: np.random.Generator
) -> Financials:
    """Yearly revenue, assets, debt and net income of large firms, SMEs and NPEs since founding."""
    first = params.start_year - 3
    years = np.arange(first, params.end_year + 1)
    n, m = firms.n, len(years)
    has = ~np.isnan(firms.log_revenue)
    growth = np.where(firms.kind == SME, rng.normal(0.08, 0.08, n), rng.normal(0.05, 0.04, n))
    shocks = rng.normal(0.0, 0.10, (n, m))
    ar = np.zeros((n, m))
    for j in range(1, m):
        ar[:, j] = 0.6 * ar[:, j - 1] + shocks[:, j]
    log_rev = firms.log_revenue[:, None] + growth[:, None] * (years[None, :] - 2012) + ar
    revenue = np.exp(log_rev)
    asset_ratio = np.exp(rng.normal(0.2, 0.35, n))[:, None] * np.exp(rng.normal(0, 0.05, (n, m)))
    total_assets = revenue * asset_ratio
    debt_ratio = np.clip(
        rng.beta(2.5, 3.5, n)[:, None] + rng.normal(0, 0.03, (n, m)), 0.02, 0.95
    )
    margin = rng.normal(0.06, 0.06, n)[:, None] + rng.normal(0, 0.025, (n, m))
    alive = has[:, None] & (years[None, :] >= firms.founded[:, None])
    nan = np.where(alive, 1.0, np.nan)
    return Financials(
        first_year=first,
        revenue=revenue * nan,
        total_assets=total_assets * nan,
        debt=total_assets * debt_ratio * nan,
        net_income=revenue * margin * nan,
    )
