"""One entry point for every report kind, shared by the CLI and the API."""

from __future__ import annotations

from collections.abc import Sequence

from serving.errors import InvalidInputError
from serving.reports.basis import ReportBasis
from serving.reports.document import Report

# Progress steps each builder reports (for the CLI's bar).
STEPS = {"market": 8, "rates": 5, "portfolio": 5}


def build_report(
    basis: ReportBasis,
    kind: str,
    *,
    region: str | None = None,
    industry: str | None = None,
    owner_kind: str | None = None,
    cpc_section: str | None = None,
    take_up: Sequence[float] = (0.05, 0.10, 0.20),
    years: int | None = None,
    borrower: str | None = None,
    patent_ids: Sequence[str] = (),
    amount: float | None = None,
    term_months: int = 12,
) -> Report:
    """Build the report `kind` (market, rates or portfolio) with its parameters.

    `years`: litigation history shown (market, default 5) or years backtested (rates, 10).
    """
    if kind == "market":
        from serving.reports.market import MarketFilters, MarketParams, build_market_report

        return build_market_report(
            basis, MarketFilters(region, industry, owner_kind, cpc_section),
            MarketParams(take_up=tuple(take_up), years=years or 5),
        )
    if kind == "rates":
        from serving.reports.rates import build_rates_report

        return build_rates_report(basis, years or 10)
    if kind == "portfolio":
        from serving.reports.portfolio import PortfolioRequest, build_portfolio_report

        return build_portfolio_report(basis, PortfolioRequest(
            borrower=borrower, patent_ids=tuple(patent_ids), amount=amount,
            term_months=term_months))
    raise InvalidInputError("kind", "one_of", f"kind must be market, rates or portfolio, got "
                            f"{kind!r}")
