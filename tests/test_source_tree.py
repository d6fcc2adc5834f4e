"""The README's source-tree table names every module of the package, and only modules that exist."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _section() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return text.split("\n## The source tree\n", 1)[1].split("\n## ", 1)[0]


def test_every_module_is_in_the_source_tree_table() -> None:
    section = _section()
    missing = []
    for path in sorted((REPO / "graphdsl").rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        if path.name == "__init__.py":
            continue
        # A row names a module by its path, or by its file name after its folder's first path.
        folder = path.parent.relative_to(REPO).as_posix()
        rows = [line for line in section.splitlines() if f"`{folder}/" in line]
        if f"`{relative}`" not in section and not any(f"`{path.name}`" in row for row in rows):
            missing.append(relative)
    assert not missing, f"the README's source tree does not name: {missing}"


def test_every_path_the_table_names_exists() -> None:
    named = re.findall(r"`((?:graphdsl|grammar)/[\w/]+\.(?:py|lark))`", _section())
    assert named and not [p for p in named if not (REPO / p).is_file()]
