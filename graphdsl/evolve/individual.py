"""An individual of a population, and the graphs it is read from.

Each individual lives in its own folder: its spec (``child.gcomp``), the artifact the spec exports
(``child.pb``, a frozen GraphDef) and the build manifest. Its inputs and output are tensors of
that artifact, by key; the next generation's specs name them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tensorflow as tf

from graphdsl.errors import GraphDslError
from graphdsl.evolve.childspec import ARTIFACT, INPUTS, RECIPIENT, SPEC, SourceRef
from graphdsl.tf.cache import SourceCache
from graphdsl.tf.sources import LoadedSource


@dataclass
class Individual:
    """One member of a population: where it lives, how it was made and how well it does.

    ``key`` names it in the tables (``g003/i007``: generation 3, place 7); an individual carried
    over unchanged keeps the folder (and so the spec) it was built in.
    """

    key: str
    directory: Path
    inputs: dict[str, str]  # key -> input tensor of the artifact
    output: str  # output tensor of the artifact
    origin: str  # how it was made: "parent p1", "crossover of A and B at ...", "copy of A" ...
    fitness: float = -math.inf
    formula: str = ""
    size: int = 0
    error: str | None = None  # why it failed to build or to be scored

    @property
    def spec(self) -> Path:
        return self.directory / SPEC

    @property
    def artifact(self) -> Path:
        return self.directory / ARTIFACT

    @property
    def source(self) -> SourceRef:
        """The individual as a source of the next generation's specs."""
        return SourceRef.of("graphdef", self.artifact.resolve())

    def row(self) -> dict[str, Any]:
        """The individual as a row of its generation's table."""
        return {"key": self.key, "fitness": repr(self.fitness), "size": self.size, "formula": self.formula,
                "origin": self.origin, "spec": str(self.spec), "error": self.error or ""}


@dataclass
class Loaded:
    """An individual's (or a parent's) graph, with its inputs and output as tensors."""

    source: SourceRef
    graph: tf.Graph
    inputs: dict[str, tf.Tensor]
    output: tf.Tensor | None
    values: bool  # whether its variables have values (a session) to copy


def load(ref: SourceRef, inputs: dict[str, str], output: str | None, cache: SourceCache,
         base_dir: Path = Path(".")) -> Loaded:
    """Loads ``ref`` through ``cache`` and finds its inputs and output (names or ``@KEY``)."""
    source = cache.load(ref.kind, ref.path, dict(ref.options), base_dir)
    found = {key: tensor_of(source, name) for key, name in inputs.items()}
    return Loaded(ref, source.graph, found, tensor_of(source, output) if output else None,
                  source.has_values)


def tensor_of(source: LoadedSource, name: str) -> tf.Tensor:
    """The tensor ``name`` (``"y:0"``, ``"y"`` for output 0, or a SavedModel's ``"@KEY"``) of a source."""
    # "@key" and "@SIGNATURE/key" mean what they mean in a spec.
    text = source.signature_tensor(str(source.path), name[1:]) if name.startswith("@") else name
    if ":" not in text:
        text += ":0"
    try:
        return source.graph.get_tensor_by_name(text)
    except (KeyError, ValueError):
        raise GraphDslError(f"{source.path}: no tensor '{name}'",
                            hint="name a tensor of the graph (graphdsl inspect shows them)") from None


def child_names(inputs: dict[str, str], output: str) -> tuple[dict[str, str], str]:
    """The names an individual's inputs and output get in the artifact its spec builds."""
    return ({key: f"{INPUTS}/{_plain(t)}" for key, t in inputs.items()}, f"{RECIPIENT}/{_plain(output)}")


def _plain(tensor: str) -> str:
    return tensor if ":" in tensor else tensor + ":0"
