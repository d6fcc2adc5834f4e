"""What the tests of grouped copies share: counting the imports into a target, composing with every
copy statement imported on its own (as before copies were grouped), to compare with, and TensorFlow
refusing the copies together.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from graphdsl.assemble.compose import Composition, compose
from graphdsl.tf import internals


def copies_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every copy statement imported on its own, as before copies were grouped."""
    monkeypatch.setattr(Composition, "_joins", lambda self, copy: False)


def count_imports(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the imports into a target: the list gets each import's number of nodes."""
    counts: list[int] = []
    real = internals.import_nodes

    def counting(graph, graph_def, *args, **kwargs):
        counts.append(len(graph_def.node))
        return real(graph, graph_def, *args, **kwargs)

    monkeypatch.setattr(internals, "import_nodes", counting)
    return counts


def compose_both_ways(monkeypatch: pytest.MonkeyPatch, spec: Any, read: Callable[[Composition], Any],
                      params: Any = None) -> tuple[Any, Any, list[int], list[int]]:
    """``read`` of ``spec`` composed as a build does it (copies grouped), then with every copy
    imported alone: both readings, and the number of nodes of each import made either way."""
    counts = count_imports(monkeypatch)
    with compose(spec, params) as together:
        seen = read(together)
    grouped = list(counts)
    counts.clear()
    copies_alone(monkeypatch)
    with compose(spec, params) as alone:
        expected = read(alone)
    return seen, expected, grouped, list(counts)


def refuse_merged_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    """TensorFlow refusing every import of copies together (the merged imports, the only ones
    without a prefix in these tests): each copy is then imported alone."""
    real = internals.import_nodes

    def refuse_groups(graph, graph_def, prefix, *args, **kwargs):
        if not prefix:
            raise ValueError("refused")
        return real(graph, graph_def, prefix, *args, **kwargs)

    monkeypatch.setattr(internals, "import_nodes", refuse_groups)
