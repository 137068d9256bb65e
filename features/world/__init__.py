"""The synthetic patent world with known ground truth (`generate_world`)."""

from __future__ import annotations

from typing import Any

__all__ = ["WorldParams", "WorldSummary", "generate_world"]


def __getattr__(name: str) -> Any:
    """Import the generator lazily so the CLI's `--help` stays fast."""
    if name in ("WorldSummary", "generate_world"):
        from features.world import generate

        return getattr(generate, name)
    if name == "WorldParams":
        from features.world.params import WorldParams

        return WorldParams
    raise AttributeError(f"module 'features.world' has no attribute {name!r}")
