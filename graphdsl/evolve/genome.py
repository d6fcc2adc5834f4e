"""An individual's graph seen as an expression tree: its subtrees, cut points, size and formula.

An individual is a graph with named inputs (placeholders) and one output tensor. Its *tree* is
every op the output depends on, through data inputs, down to the inputs; every tensor of the tree
is the root of a *subtree*. Crossover and mutation replace one subtree by another of the same type:
the same dtype and compatible shapes (:func:`compatible`, the rule a spec's ``bind`` applies).
"""

from __future__ import annotations

from typing import Iterable

import tensorflow as tf

PLACEHOLDERS = ("Placeholder", "PlaceholderV2", "PlaceholderWithDefault")

# How the formula of a few common ops is written; every other op prints as Type(args).
_INFIX = {"Add": "+", "AddV2": "+", "Sub": "-", "Mul": "*", "RealDiv": "/", "Div": "/", "Pow": "**"}
_PASS = ("Identity", "StopGradient")


def compatible(slot: tf.Tensor, piece: tf.Tensor) -> bool:
    """Whether ``piece`` may stand where ``slot`` stands: same dtype, compatible shapes."""
    return (slot.dtype.base_dtype == piece.dtype.base_dtype
            and slot.shape.is_compatible_with(piece.shape))


def tree_ops(output: tf.Tensor, inputs: Iterable[tf.Tensor] = ()) -> list[tf.Operation]:
    """The ops ``output`` depends on through data inputs, stopping at ``inputs``; sorted by name."""
    stops = {t.op.name for t in inputs}
    seen: dict[str, tf.Operation] = {}
    stack = [output.op]
    while stack:
        op = stack.pop()
        if op.name in seen:
            continue
        seen[op.name] = op
        if op.name not in stops:
            stack.extend(t.op for t in op.inputs)
    return [seen[name] for name in sorted(seen)]


def subtrees(output: tf.Tensor, inputs: Iterable[tf.Tensor] = ()) -> list[tf.Tensor]:
    """Every tensor of the tree that the output depends on (the output and the inputs too), by name."""
    inputs = list(inputs)
    used = {output.name}
    for op in tree_ops(output, inputs):
        if op.name not in {t.op.name for t in inputs}:
            used.update(t.name for t in op.inputs)
    graph = output.graph
    return [graph.get_tensor_by_name(name) for name in sorted(used)]


def cut_points(output: tf.Tensor, inputs: Iterable[tf.Tensor]) -> list[tf.Tensor]:
    """The tensors a child may replace: the tree's (its output too: the whole), but for the inputs."""
    inputs = list(inputs)
    excluded = {t.name for t in inputs}
    return [t for t in subtrees(output, inputs)
            if t.name not in excluded and t.op.type not in PLACEHOLDERS]


def size(tensor: tf.Tensor, inputs: Iterable[tf.Tensor] = ()) -> int:
    """How many ops the subtree rooted at ``tensor`` has, counting neither inputs nor pass-throughs."""
    stops = {t.op.name for t in inputs}
    return sum(1 for op in tree_ops(tensor, inputs) if op.name not in stops and op.type not in _PASS)


def formula(tensor: tf.Tensor, inputs: dict[str, tf.Tensor] | None = None) -> str:
    """The subtree as a formula: ``(x * x) + Sin(x)``; inputs by their keys, constants by value."""
    names = {t.name: key for key, t in (inputs or {}).items()}
    memo: dict[str, str] = {}

    def text(t: tf.Tensor) -> str:
        if t.name in names:
            return names[t.name]
        if t.name in memo:
            return memo[t.name]
        op = t.op
        if op.type in _PASS and op.inputs:
            result = text(op.inputs[0])
        elif op.type == "Const":
            result = _constant(op)
        elif op.type in PLACEHOLDERS:
            result = op.name
        elif op.type in _INFIX and len(op.inputs) == 2:
            result = f"({text(op.inputs[0])} {_INFIX[op.type]} {text(op.inputs[1])})"
        else:
            result = f"{op.type}({', '.join(text(i) for i in op.inputs)})"
        memo[t.name] = result
        return result

    result = text(tensor)
    return result[1:-1] if result.startswith("(") and _balanced(result[1:-1]) else result


def _constant(op: tf.Operation) -> str:
    value = tf.make_ndarray(op.get_attr("value"))
    if value.size == 1:
        return f"{value.reshape(()).item():g}"
    return f"const{list(value.shape)}"


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0
