"""The layering of DESIGN.md, checked on the source: ``priors`` <- ``models`` <- ``bayes``.

``priors`` imports neither ``models`` nor ``bayes``; ``models`` never imports ``bayes`` (not even
inside a function). A violation names the file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"priors": ("models", "bayes"), "models": ("bayes",)}


def imported_packages(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_lower_layers_never_import_higher_ones(layer):
    files = sorted((ROOT / layer).rglob("*.py"))
    assert files, f"no sources under {layer}/"
    bad = [
        f"{f.relative_to(ROOT)}:{line} imports {pkg}"
        for f in files
        for line, pkg in imported_packages(f)
        if pkg in FORBIDDEN[layer]
    ]
    assert not bad, "\n".join(bad)


def test_the_checker_sees_a_violation(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("import numpy\n\ndef f():\n    from bayes.io import read_table\n")
    assert "bayes" in {pkg for _, pkg in imported_packages(src)}
