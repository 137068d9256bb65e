"""Rating and pricing policy: grades, premiums, subsidies, eligibility, loan limits."""
