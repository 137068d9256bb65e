from __future__ import annotations

import ast
from pathlib import Path

import models.policy


def test_policy_package_imports_neither_serving_nor_training():
    root = Path(models.policy.__file__).parent
    imported = set()
    for source in root.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    assert "models" in imported  # the walk saw the package's own imports
    assert not imported & {"serving", "training"}
