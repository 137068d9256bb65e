"""Model definitions, calibration, explanations, rating and pricing policy."""
