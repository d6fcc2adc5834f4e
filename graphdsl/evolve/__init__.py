"""Genetic programming on graphs: populations of specs, crossover, mutation, fitness.

``import graphdsl.evolve`` stays light; the names below import TensorFlow on first use.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "evolve": "graphdsl.evolve.population",
    "Parent": "graphdsl.evolve.population",
    "Settings": "graphdsl.evolve.population",
    "Result": "graphdsl.evolve.population",
    "GenerationStats": "graphdsl.evolve.population",
    "Evaluation": "graphdsl.evolve.fitness",
    "load_hook": "graphdsl.evolve.fitness",
    "crossover": "graphdsl.evolve.crossovers",
    "mutate": "graphdsl.evolve.mutations",
    "Library": "graphdsl.evolve.mutations",
    "load_config": "graphdsl.evolve.config",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'graphdsl.evolve' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
