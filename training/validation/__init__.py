"""Model validation: the per-champion report a validator and a model owner ask for (SR 11-7)."""
