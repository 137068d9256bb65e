"""Moving a finished partition into place: readers see the old one or the new one, never half."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path


def staging_path(final: str) -> str:
    """A hidden sibling folder of `final` to write into (readers skip names starting with '.')."""
    head, _, tail = final.rstrip("/").rpartition("/")
    return f"{head}/.{tail}.{uuid.uuid4().hex[:8]}.tmp"


def publish_local(staging: Path, final: Path) -> None:
    """Replace the local folder `final` by `staging` (the old partition is removed after)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.old")
    if final.exists():
        final.rename(old)
    staging.rename(final)
    if old.exists():
        shutil.rmtree(old)
