"""Mutation: one subtree replaced by a piece of the library, or by a fresh random expression.

The library is a list of loaded graphs (the population's parents, and any piece files given):
every subtree of them whose placeholders are all declared inputs is a piece. A fresh expression
is drawn with the seeded generator from the input placeholders, constants and a few functions,
written as a GraphDef text file next to the child (``fresh.pbtxt``: data, not code) and grafted
from there, so the child's spec stays a plain spec that reads files.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import tensorflow as tf

from graphdsl.evolve import genome
from graphdsl.evolve.childspec import ChildSpec, SourceRef
from graphdsl.evolve.crossovers import graft, usable
from graphdsl.evolve.individual import Loaded

tf1 = tf.compat.v1
FRESH = "fresh.pbtxt"

# The functions a fresh expression is made of: name -> (arity, op).
FUNCTIONS: dict[str, tuple[int, Callable[..., tf.Tensor]]] = {
    "add": (2, tf.add), "sub": (2, tf.subtract), "mul": (2, tf.multiply),
    "sin": (1, tf.sin), "cos": (1, tf.cos), "tanh": (1, tf.tanh), "exp": (1, tf.exp),
    "square": (1, tf.square), "neg": (1, tf.negative),
}

# The most functions one fresh expression holds, whatever max_size says, and the deepest one drawn
# (by recursion, one level of Python's stack each).
MAX_FRESH_FUNCTIONS = 10_000
MAX_DEPTH = 100


@dataclass
class Library:
    """The pieces mutation draws from: subtrees of ``graphs``, and fresh random expressions.

    ``fresh_rate`` is the chance that a mutation draws a fresh expression rather than a library
    piece; ``functions`` (names of :data:`FUNCTIONS`) and ``depth`` shape fresh expressions.
    """

    graphs: list[Loaded]
    functions: tuple[str, ...] = ("add", "sub", "mul", "sin", "cos")
    depth: int = 2
    fresh_rate: float = 0.5
    _pieces: list[tuple[Loaded, tf.Tensor]] | None = field(default=None, init=False, repr=False)

    def pieces(self) -> list[tuple[Loaded, tf.Tensor]]:
        """Every usable subtree of the library's graphs, in a stable order (found once)."""
        if self._pieces is not None:
            return self._pieces
        found = []
        for loaded in self.graphs:
            roots = [loaded.output] if loaded.output is not None else _sinks(loaded.graph)
            seen: set[str] = set()
            for root in roots:
                for tensor in genome.subtrees(root, loaded.inputs.values()):
                    if tensor.name not in seen and usable(tensor, loaded):
                        seen.add(tensor.name)
                        found.append((loaded, tensor))
        self._pieces = found
        return found


def mutate(individual: Loaded, library: Library, rng: random.Random, directory: Path, *,
           max_size: int | None = None, notes: list[str] | None = None) -> ChildSpec | None:
    """A child of ``individual`` with one subtree replaced; a fresh piece is written into ``directory``.

    None when no cut point has a compatible piece within ``max_size``.
    """
    if rng.random() < library.fresh_rate:
        fresh = _fresh_piece(individual, library, rng, directory, max_size)
        if fresh is not None:
            child = graft(individual, rng, lambda slot: [p for p in fresh if genome.compatible(slot, p[1])],
                          max_size=max_size, notes=notes)
            if child is not None:
                return child
        (directory / FRESH).unlink(missing_ok=True)
    pieces = library.pieces()
    return graft(individual, rng, lambda slot: [p for p in pieces if genome.compatible(slot, p[1])],
                 max_size=max_size, notes=notes)


def _fresh_piece(individual: Loaded, library: Library, rng: random.Random, directory: Path,
                 max_size: int | None = None) -> list[tuple[Loaded, tf.Tensor]] | None:
    """A fresh random expression for one of the individual's float cut points, written to FRESH."""
    assert individual.output is not None
    slots = [t for t in genome.cut_points(individual.output, individual.inputs.values()) if t.dtype.is_floating]
    if not slots:
        return None
    slot = slots[rng.randrange(len(slots))]
    graph, inputs, out = random_expression(rng, slot, individual.inputs, library.functions, library.depth,
                                           max_size)
    directory.mkdir(parents=True, exist_ok=True)
    tf.io.write_graph(graph.as_graph_def(), str(directory), FRESH, as_text=True)
    ref = SourceRef.of("graphdef", (directory / FRESH).resolve())
    return [(Loaded(ref, graph, inputs, out, False), out)]


def random_expression(rng: random.Random, slot: tf.Tensor, inputs: dict[str, tf.Tensor],
                      functions: tuple[str, ...], depth: int,
                      max_size: int | None = None) -> tuple[tf.Graph, dict[str, tf.Tensor], tf.Tensor]:
    """A random expression that may stand at ``slot``: a graph, its input placeholders (by key), its output.

    Leaves are inputs (of the slot's dtype, where their shapes fit) and constants of the slot's
    dtype; a slot no input fits (a scalar) gets constants only. Tries a few draws for one whose
    shape fits, and falls back to a constant or an input. At most ``max_size`` functions are drawn
    (default: :data:`MAX_FRESH_FUNCTIONS`); past them every draw is a leaf, so that a deep ``depth``
    of binary functions, which doubles the expression with each level, stays within what a child
    may hold.
    """
    budget = MAX_FRESH_FUNCTIONS if max_size is None else min(max_size, MAX_FRESH_FUNCTIONS)
    fitting = sorted(k for k, t in inputs.items() if t.dtype.base_dtype == slot.dtype.base_dtype)
    for _ in range(8):
        graph = tf.Graph()
        with graph.as_default():
            placeholders = _placeholders(inputs)
            expression = _draw(rng, slot.dtype, inputs, fitting, placeholders, functions, depth, [budget])
            out = tf.identity(expression, name="out")
        if genome.compatible(slot, out):
            return graph, placeholders, out
    graph = tf.Graph()
    with graph.as_default():
        placeholders = _placeholders(inputs)
        leaf = _leaf(rng, slot.dtype, inputs, fitting if slot.shape.rank != 0 else [], placeholders, force=True)
        out = tf.identity(leaf, name="out")
    return graph, placeholders, out


def _draw(rng: random.Random, dtype: tf.DType, inputs: dict[str, tf.Tensor], fitting: list[str],
          placeholders: dict[str, tf.Tensor], functions: tuple[str, ...], depth: int, left: list[int]) -> tf.Tensor:
    # ``left``: how many functions this expression may still draw (the check draws no number)
    if depth <= 0 or not functions or left[0] <= 0 or rng.random() < 0.3:
        return _leaf(rng, dtype, inputs, fitting, placeholders)
    left[0] -= 1
    arity, op = FUNCTIONS[functions[rng.randrange(len(functions))]]
    args = [_draw(rng, dtype, inputs, fitting, placeholders, functions, depth - 1, left) for _ in range(arity)]
    return op(*args)


def _leaf(rng: random.Random, dtype: tf.DType, inputs: dict[str, tf.Tensor], fitting: list[str],
          placeholders: dict[str, tf.Tensor], force: bool = False) -> tf.Tensor:
    if fitting and (force or rng.random() < 0.6):
        return placeholders[fitting[rng.randrange(len(fitting))]]
    return tf.constant(round(rng.uniform(-2.0, 2.0), 1), dtype=dtype)


def _placeholders(inputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """A placeholder per input, named by its key: a fresh piece may stand for a whole individual."""
    return {key: tf1.placeholder(t.dtype, t.shape, name=key) for key, t in sorted(inputs.items())}


def _sinks(graph: tf.Graph) -> list[tf.Tensor]:
    """The tensors of ``graph`` no op reads: its outputs, when none are named."""
    read = {t.name for op in graph.get_operations() for t in op.inputs}
    return [t for op in graph.get_operations() for t in op.outputs if t.name not in read]
