"""Parameters of the synthetic patent world, kept in one frozen dataclass.

`docs/synthetic-world.md` explains each figure and where it comes from. Everything the generator
draws is governed by these values and the seed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TechClass:
    """A CPC subclass of the world: share of patents, industry and litigation propensity."""

    cpc: str
    industry: str
    share: float  # relative share of new patents
    litigation: float  # additive effect on the log litigation hazard
    value: float  # additive effect on log value


DEFAULT_CLASSES: tuple[TechClass, ...] = (
    # ICT: the most litigated fields (BRIEF.md: litigation concentrated in ICT, devices, pharma)
    TechClass("H04L", "telecom", 5.0, 1.1, 0.3),
    TechClass("H04W", "telecom", 4.0, 1.2, 0.3),
    TechClass("H04N", "electronics", 3.5, 0.8, 0.2),
    TechClass("G06F", "software", 6.0, 1.0, 0.2),
    TechClass("G06Q", "software", 3.0, 0.9, 0.0),
    TechClass("G06N", "software", 2.0, 0.6, 0.2),
    TechClass("G09G", "electronics", 1.5, 0.5, 0.0),
    TechClass("H01L", "semiconductors", 4.0, 0.7, 0.3),
    TechClass("H05K", "electronics", 2.0, 0.0, -0.2),
    # medical devices, pharma and biotech: twice the base rate and more (BRIEF.md base rates)
    TechClass("A61B", "medical_devices", 3.5, 1.0, 0.3),
    TechClass("A61F", "medical_devices", 2.0, 0.8, 0.1),
    TechClass("A61M", "medical_devices", 2.0, 0.9, 0.2),
    TechClass("A61K", "pharma", 4.0, 1.3, 0.5),
    TechClass("A61P", "pharma", 2.0, 1.0, 0.4),
    TechClass("C07D", "pharma", 2.0, 1.2, 0.5),
    TechClass("C12N", "biotech", 2.0, 1.4, 0.5),
    TechClass("C12Q", "biotech", 1.0, 1.0, 0.3),
    TechClass("G01N", "medical_devices", 3.0, 0.2, 0.0),
    # energy, automotive, chemicals, materials, machinery, consumer goods: less litigated
    TechClass("H01M", "energy", 3.0, 0.2, 0.1),
    TechClass("H02J", "energy", 2.5, -0.1, 0.0),
    TechClass("B60L", "automotive", 2.0, 0.0, 0.0),
    TechClass("B62D", "automotive", 1.5, -0.3, -0.1),
    TechClass("C08L", "materials", 2.5, -0.5, -0.1),
    TechClass("C08K", "chemicals", 1.5, -0.5, -0.1),
    TechClass("B01J", "chemicals", 2.0, -0.6, 0.0),
    TechClass("F16H", "machinery", 3.0, -0.4, -0.2),
    TechClass("F24F", "machinery", 2.0, -0.3, -0.2),
    TechClass("B65D", "consumer_goods", 3.0, -0.2, -0.3),
    TechClass("A47J", "consumer_goods", 2.0, 0.1, -0.3),
    TechClass("E04B", "other", 3.0, -0.8, -0.4),
)

ASSIGNEE_KIND_ORDER = ("large_firm", "sme", "university", "individual", "npe")


@dataclass(frozen=True)
class WorldParams:
    """Every parameter of the synthetic world (rates per year unless named otherwise)."""

    start_year: int = 2000
    end_year: int = 2025  # the dataset's end_date is 31 December of this year
    currency: str = "CNY"
    usd_cny: float = 7.2
    classes: tuple[TechClass, ...] = DEFAULT_CLASSES

    # --- patents ---
    share_cn: float = 0.6
    cn_type_shares: tuple[float, float, float] = (0.45, 0.40, 0.15)  # invention, UM, design
    us_type_shares: tuple[float, float] = (0.90, 0.10)  # utility, design
    grant_growth: float = 0.07  # yearly growth of grants
    # log-value means by (jurisdiction, type), CNY; sd of the idiosyncratic part
    log_value_mean: tuple[tuple[str, str, float], ...] = (
        ("CN", "invention", 12.6), ("CN", "utility_model", 11.0), ("CN", "design", 10.4),
        ("US", "utility", 13.6), ("US", "design", 11.2),
    )
    log_value_sd: float = 1.1
    value_decay: tuple[tuple[str, str, float], ...] = (
        ("CN", "invention", 0.10), ("CN", "utility_model", 0.16), ("CN", "design", 0.16),
        ("US", "utility", 0.09), ("US", "design", 0.12),
    )
    renewal_hurdle: float = 12.0  # renew while current value > hurdle x fee (fee in CNY)
    # observables revealing value (z = standardised log value)
    claims_value_slope: float = 0.30
    family_value_slope: float = 0.60
    first_claim_value_slope: float = -0.15
    owner_value_effect: tuple[float, float, float, float, float] = (0.3, 0.0, 0.1, -0.5, 0.2)

    # --- assignees and firms ---
    patents_per_assignee: float = 20.0
    kind_shares: tuple[float, float, float, float, float] = (0.04, 0.50, 0.03, 0.39, 0.04)
    kind_portfolio_weight: tuple[float, float, float, float, float] = (40.0, 2.0, 8.0, 0.3, 0.3)
    portfolio_pareto: float = 1.2  # tail index of portfolio propensity
    own_class_share: float = 0.85  # share of a firm's patents in its own classes

    # --- citations ---
    backward_citations_mean: tuple[float, float] = (8.5, 13.5)  # CN, US citing patents
    citation_value_power: float = 0.6  # cited weight ~ value ** power
    citation_attachment: float = 0.1  # weight x (1 + a x min(citations so far, cap))
    citation_attachment_cap: int = 100
    citation_age_peak: float = 4.0  # years after grant when a patent is cited most
    citation_same_class: float = 0.7
    examiner_share: tuple[float, float] = (0.8, 0.35)  # CN, US

    # --- litigation hazard: log h = sum of effects; p = 1 - exp(-h) ---
    lit_base: float = -9.6
    lit_value: float = 0.55  # per unit log value
    lit_kind: tuple[float, float, float, float, float] = (0.2, 0.0, -0.6, 0.5, 1.6)
    lit_claims: float = 0.5  # per unit log claims
    lit_citations: float = 0.35  # per unit log(1 + forward citations so far)
    lit_age_shape: float = 2.0  # age term shape * log(age) - age / scale, peaks at shape*scale
    lit_age_scale: float = 2.0
    lit_transferred: float = 0.4
    lit_owner_suits: float = 0.3  # per unit log(1 + owner's earlier suits)
    lit_year_sd: float = 0.05  # small unobservable year effect
    lit_us: float = 0.3  # US patents are asserted a little more often

    # --- other legal events ---
    transfer_rate: float = 0.025
    npe_buyer_share: float = 0.25  # of transfers of high-value patents in litigious classes
    licence_rate: float = 0.03
    sale_price_disclosed: float = 0.5
    licence_price_disclosed: float = 0.3
    price_noise_sd: float = 0.3
    invalidation_after_suit: float = 0.35
    invalidation_background: float = 0.002
    invalidation_success: float = 0.35

    # --- cases ---
    case_duration_median_years: float = 1.3
    # settled, plaintiff_won, defendant_won, dismissed (invalidated comes from invalidations)
    outcome_shares: tuple[float, float, float, float] = (0.58, 0.16, 0.14, 0.12)
    legal_cost_median: float = 600_000.0  # CNY, per side, CN case; US cases cost more
    us_cost_multiple: float = 8.0

    # --- pledge loans ---
    loans_per_patent: float = 0.5
    loan_first_year: int = 2008
    loan_terms: tuple[int, ...] = (6, 12, 24, 36)
    loan_term_shares: tuple[float, ...] = (0.1, 0.45, 0.3, 0.15)
    ltv_range: tuple[float, float] = (0.1, 0.6)  # observed bank practice 10-60 %
    appraisal_sd: float = 0.25
    default_base: float = -3.9  # log annual default hazard at average financials
    default_debt_ratio: float = 3.0
    default_margin: float = -6.0
    default_log_revenue: float = -0.25
    default_ltv: float = 3.0
    default_year_sd: float = 0.05
    recovery_share: float = 0.4

    @property
    def end_date(self) -> str:
        """Last date the world is complete for."""
        return f"{self.end_year}-12-31"

    @property
    def years(self) -> range:
        """Calendar years the world simulates."""
        return range(self.start_year, self.end_year + 1)
