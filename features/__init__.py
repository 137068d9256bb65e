"""Data sources, the canonical schema and point-in-time feature pipelines."""
