"""Import a GraphDef into a live ``tf.Graph``, paying only for the new operations.

``tf.graph_util.import_graph_def`` spends most of its time in Python: it scans every operation of
the target graph to find the new ones, and runs device, colocation and control-flow bookkeeping
per new op whether or not the target needs it. Here the C++ importer does the work (prefixing names,
input mappings, function library), and Python wrappers are made only for the ops it returns,
with each piece of bookkeeping done only when the target graph has something for it to do
(a device scope, a control-dependency scope, a control-flow context, an attribute scope).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from tensorflow.core.framework import graph_pb2
from tensorflow.python.client import pywrap_tf_session as c_api
from tensorflow.python.framework.tensor import Tensor
from tensorflow.python.framework import c_api_util, errors, ops
from tensorflow.python.util import compat


def import_nodes(
    graph: ops.Graph,
    graph_def: graph_pb2.GraphDef,
    prefix: str,
    input_map: Mapping[str, Tensor],
    control_map: Mapping[str, ops.Operation],
) -> list[ops.Operation]:
    """Imports every node of ``graph_def`` into ``graph`` and returns their Operations in order.

    ``prefix`` is prepended (with '/') to every imported name; ``input_map`` maps a tensor name of
    ``graph_def`` ("x:0") to an existing tensor of ``graph``; ``control_map`` maps an op name of
    ``graph_def`` used as a control input to an existing op of ``graph``. Raises ``ValueError``
    with TensorFlow's message when the importer refuses the GraphDef.
    """
    scoped = c_api_util.ScopedTFImportGraphDefOptions()
    options = scoped.options
    c_api.TF_ImportGraphDefOptionsSetPrefix(options, prefix)
    c_api.TF_ImportGraphDefOptionsSetValidateColocationConstraints(options, False)
    for name, tensor in input_map.items():
        op_name, index = _split(name)
        c_api.TF_ImportGraphDefOptionsAddInputMapping(
            options, op_name, index, tensor._as_tf_output()  # pylint: disable=protected-access
        )
    for name, op in control_map.items():
        c_api.TF_ImportGraphDefOptionsRemapControlDependency(options, name, op._c_op)
    for node in graph_def.node:
        c_api.TF_ImportGraphDefOptionsAddReturnOperation(options, node.name)

    buffer = c_api.TF_NewBufferFromString(compat.as_bytes(graph_def.SerializeToString()))
    try:
        with graph._mutation_lock():  # pylint: disable=protected-access
            try:
                with graph._c_graph.get() as c_graph:  # pylint: disable=protected-access
                    results = c_api.TF_GraphImportGraphDefWithResults(c_graph, buffer, options)
                results = c_api_util.ScopedTFImportGraphDefResults(results)
            except errors.InvalidArgumentError as e:
                raise ValueError(e.message) from None
            c_ops = c_api.TF_ImportGraphDefResultsReturnOperations(results.results)
            return _wrap(graph, c_ops)
    finally:
        c_api.TF_DeleteBuffer(buffer)


def _split(name: str) -> tuple[str, int]:
    op_name, _, index = name.rpartition(":")
    return op_name, int(index)


def _wrap(graph: ops.Graph, c_ops: Sequence) -> list[ops.Operation]:
    """Python ``Operation`` wrappers for freshly imported C operations."""
    # pylint: disable=protected-access
    from_c_op = ops.Operation._from_c_op
    names_in_use = graph._names_in_use
    plain = _target_is_plain(graph)
    new_ops = []
    for c_op in c_ops:
        op = from_c_op(c_op, graph)
        names_in_use.setdefault(op.name.lower(), 1)
        if plain:
            op._gradient_function = graph._gradient_function_map.get(op.type)
        else:
            original_device = op.device
            graph._create_op_helper(op, compute_device=False)
            if graph._device_function_stack:
                op._set_device("")
                with graph.device(original_device):
                    graph._apply_device_functions(op)
        new_ops.append(op)
    if graph._control_dependencies_stack or graph._get_control_flow_context() is not None:
        for op in new_ops:
            op._add_control_inputs(graph._control_dependencies_for_inputs(op.inputs))
            op._control_flow_post_processing()
    return new_ops


def _target_is_plain(graph: ops.Graph) -> bool:
    """True when no scope of the target graph would change a newly created op.

    Then ``Graph._create_op_helper`` would only record the gradient override, which is done inline.
    """
    # pylint: disable=protected-access
    return not (
        graph._attr_scope_map
        or graph._op_to_kernel_label_map
        or graph._gradient_override_map
        or graph._control_dependencies_stack
        or graph._colocation_stack
        or graph._container
        or graph._device_function_stack
    )
