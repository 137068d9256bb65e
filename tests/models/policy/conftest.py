"""Fixtures of the policy tests: the packaged policy and variants of it written to files."""

from __future__ import annotations

import copy
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from models.policy import Policy, load_policy


@pytest.fixture(scope="session")
def policy() -> Policy:
    """The packaged default policy."""
    return load_policy()


@pytest.fixture(scope="session")
def policy_data() -> dict[str, Any]:
    """The packaged policy file as plain data (copy before changing)."""
    text = resources.files("models.policy").joinpath("default.yaml").read_text("utf-8")
    return yaml.safe_load(text)


@pytest.fixture
def write_policy(
    tmp_path: Path, policy_data: dict[str, Any]
) -> Callable[[Callable[[dict[str, Any]], None]], Path]:
    """Write a copy of the default policy changed by `edit` and return its path."""

    def write(edit: Callable[[dict[str, Any]], None]) -> Path:
        data = copy.deepcopy(policy_data)
        edit(data)
        path = tmp_path / "policy.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return path

    return write
