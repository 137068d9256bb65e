"""Reports: market and demand, rate adequacy, portfolio valuation (HTML with inline SVG + CSV)."""

REPORT_KINDS = ("market", "rates", "portfolio")
