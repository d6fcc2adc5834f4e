"""An op-by-op graph copier in the style of the classic "copy a TensorFlow graph" blog-post code.

Baseline for ``bench_copy.py``: every operation reachable from ``top`` (through data inputs and
control inputs) is re-created in ``to_graph`` with one ``Graph.create_op``-style call per op,
passing the source op's type, the already-copied inputs, the output dtypes and the source NodeDef's
attributes, under the name ``namespace + "/" + op.name``. The walk is iterative (an explicit stack,
post-order), so it survives graphs far deeper than Python's recursion limit.

Differences from the blog code (the first two make the copy a usable graph in TF 2.x):

* control inputs are copied (``Graph.control_dependencies`` around the creation of the op);
* colocation attributes (``_class: ["loc:@name"]``) are rewritten to the copied names, otherwise
  they would point at ops that do not exist in the target;
* ops are made with ``Graph._create_op_internal``, the body of the public ``Graph.create_op``
  without its deprecation-checking wrapper (which adds about a third to the copy time on TF 2.21);
  ``create_op`` is used where ``_create_op_internal`` does not exist;
* only ops are copied: no Python ``Variable`` objects, collections or functions. That is enough for
  the benchmark graph (no functions, no control flow) and nothing more is claimed.
"""

from __future__ import annotations

import tensorflow as tf
from tensorflow.core.framework import attr_value_pb2

_COLOCATION_ATTR = "_class"
_LOC_PREFIX = b"loc:@"


def _topological_order(top_op: tf.Operation) -> list[tf.Operation]:
    """Every op reachable from ``top_op``, each after all its data and control inputs."""
    order: list[tf.Operation] = []
    done: set[tf.Operation] = set()
    # Stack entries: (op, expanded?). An op is emitted when popped the second time.
    stack: list[tuple[tf.Operation, bool]] = [(top_op, False)]
    while stack:
        op, expanded = stack.pop()
        if op in done:
            continue
        if expanded:
            done.add(op)
            order.append(op)
            continue
        stack.append((op, True))
        for dep in op.control_inputs:
            if dep not in done:
                stack.append((dep, False))
        for tensor in reversed(list(op.inputs)):
            if tensor.op not in done:
                stack.append((tensor.op, False))
    return order


def _copied_attrs(op: tf.Operation, namespace: str):
    attrs = op.node_def.attr
    if _COLOCATION_ATTR not in attrs:
        return attrs
    attrs = dict(attrs.items())
    renamed = attr_value_pb2.AttrValue()
    for value in attrs[_COLOCATION_ATTR].list.s:
        if value.startswith(_LOC_PREFIX):
            value = _LOC_PREFIX + namespace.encode() + b"/" + value[len(_LOC_PREFIX):]
        renamed.list.s.append(value)
    attrs[_COLOCATION_ATTR] = renamed
    return attrs


def copy_op_by_op(top, to_graph: tf.Graph, namespace: str) -> dict:
    """Copies ``top`` (a Tensor or Operation) and everything it needs into ``to_graph``.

    Returns the mapping from source ops to copied ops.
    """
    top_op = top.op if isinstance(top, tf.Tensor) else top
    copied: dict[tf.Operation, tf.Operation] = {}
    create_op = getattr(to_graph, "_create_op_internal", None) or to_graph.create_op
    with to_graph.as_default():
        for op in _topological_order(top_op):
            inputs = [copied[t.op].outputs[t.value_index] for t in op.inputs]
            control = [copied[c] for c in op.control_inputs]
            kwargs = dict(
                dtypes=[o.dtype for o in op.outputs],
                input_types=[t.dtype for t in op.inputs],
                name=namespace + "/" + op.name,
                attrs=_copied_attrs(op, namespace),
                op_def=op.op_def,
            )
            if control:
                with to_graph.control_dependencies(control):
                    new_op = create_op(op.type, inputs, **kwargs)
            else:
                new_op = create_op(op.type, inputs, **kwargs)
            copied[op] = new_op
    return copied
