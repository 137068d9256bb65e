"""Adapters that map real public patent data into the canonical schema."""
