"""Whole-dataset scoring: features, scores, SHAP and grades of every patent and firm as of a date.

`patentrisk batch --engine duckdb|spark` runs it (`job.run_bulk`); the per-entity Parquet
records it writes (`records.py`, read back with `records.read_records`) are what the online
store materializes.
"""
