"""TensorFlow's private internals, behind one door.

graphdsl copies faster than ``tf.graph_util.import_graph_def`` because it drives TensorFlow's C
import API itself and makes Python wrappers only for the ops it adds, doing each piece of
bookkeeping only when the target graph has something for it to do (a device scope, a
control-dependency scope, a control-flow context, an attribute scope). That needs names TensorFlow
does not promise to keep: ``_``-prefixed attributes and functions, and modules outside the public
``tf.*`` API. This module is the only one in graphdsl that touches them.

- :data:`INTERNALS` lists every one (name -> where TensorFlow keeps it, what graphdsl does with it);
  :func:`missing` says which ones the running TensorFlow lacks (``tests/test_internals.py`` fails
  naming each).
- Each use has a public fallback. Copies go through ``tf.graph_util.import_graph_def`` when a name
  the fast import needs is missing, when the fast import fails its first use (tried once on a
  scratch graph, so a target is never left half-imported), or when :data:`FAST_PATH` is False
  (tests use it). The fallback is slower and computes the same: the same op names, the same
  results. Three traces differ, none in what is computed: a control input on an already-copied op
  that has no output reaches it through a constant made for it
  (``NAMESPACE/<op>/graphdsl_control``); colocation entries naming ops of earlier copies are
  dropped (``import_graph_def`` refuses them); and an op named like a name scope the target
  already has ops under gets a fresh name (``N/out_1`` when ``N/out/...`` exists), which
  ``get_copied`` and the registry follow.
"""

from __future__ import annotations

import functools
import heapq
import importlib
import weakref
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

import tensorflow as tf
from tensorflow.core.framework import function_pb2, graph_pb2, variable_pb2

# Tests set this to False to run every copy through the public fallbacks.
FAST_PATH = True


@dataclass(frozen=True)
class Internal:
    """One private name of TensorFlow that graphdsl uses."""

    where: str  # the module or class that holds it in TensorFlow 2.21
    use: str  # what graphdsl does with it
    fast: bool = False  # the fast import needs it; without it copies use import_graph_def


_OPS = "tensorflow.python.framework.ops"
_C_API = "tensorflow.python.client.pywrap_tf_session"
_C_UTIL = "tensorflow.python.framework.c_api_util"

INTERNALS: dict[str, Internal] = {
    # The C import API (tensorflow.python.client is not public API).
    "pywrap_tf_session.TF_ImportGraphDefOptionsSetPrefix": Internal(
        _C_API, "prefix names with the namespace", True),
    "pywrap_tf_session.TF_ImportGraphDefOptionsSetValidateColocationConstraints": Internal(
        _C_API, "accept colocation with ops of earlier copies", True),
    "pywrap_tf_session.TF_ImportGraphDefOptionsAddInputMapping": Internal(
        _C_API, "wire inputs to target tensors", True),
    "pywrap_tf_session.TF_ImportGraphDefOptionsRemapControlDependency": Internal(
        _C_API, "wire control inputs to target ops", True),
    "pywrap_tf_session.TF_ImportGraphDefOptionsAddReturnOperation": Internal(
        _C_API, "get the new ops back", True),
    "pywrap_tf_session.TF_NewBufferFromString": Internal(_C_API, "hand the GraphDef to C", True),
    "pywrap_tf_session.TF_DeleteBuffer": Internal(_C_API, "free it", True),
    "pywrap_tf_session.TF_GraphImportGraphDefWithResults": Internal(_C_API, "the import", True),
    "pywrap_tf_session.TF_ImportGraphDefResultsReturnOperations": Internal(
        _C_API, "the new C ops", True),
    "c_api_util.ScopedTFImportGraphDefOptions": Internal(_C_UTIL, "import options", True),
    "c_api_util.ScopedTFImportGraphDefResults": Internal(_C_UTIL, "import results", True),
    # Graph, Operation and Tensor internals of the import.
    "Tensor._as_tf_output": Internal(f"{_C_API}.PyTensor", "a tensor as a C input mapping", True),
    "Operation._c_op": Internal(f"{_C_API}.PyOperation", "an op as a C control mapping", True),
    "Graph._mutation_lock": Internal(f"{_OPS}.Graph", "no Session.run during the import", True),
    "Graph._c_graph": Internal(f"{_OPS}.Graph", "the C graph to import into", True),
    "Operation._from_c_op": Internal(f"{_OPS}.Operation", "a Python wrapper per new C op", True),
    "Graph._names_in_use": Internal(
        f"{_OPS}.Graph (set in __init__)",
        "later name scopes avoid copied names; name clash check (fallback: Graph.unique_name)", True),
    "Graph._gradient_function_map": Internal(
        f"{_OPS}.Graph (set in __init__)", "gradient overrides", True),
    "Operation._gradient_function": Internal(
        f"{_OPS}.Operation (set per op)", "gradient overrides", True),
    "Graph._create_op_helper": Internal(
        f"{_OPS}.Graph", "the target's scopes apply to the copy", True),
    "Graph._device_function_stack": Internal(f"{_OPS}.Graph", "device scopes", True),
    "Operation._set_device": Internal(f"{_OPS}.Operation", "device scopes", True),
    "Graph._apply_device_functions": Internal(f"{_OPS}.Graph", "device scopes", True),
    "Graph._control_dependencies_stack": Internal(
        f"{_OPS}.Graph", "control-dependency scopes", True),
    "Graph._get_control_flow_context": Internal(f"{_OPS}.Graph", "control-flow contexts", True),
    "Graph._control_dependencies_for_inputs": Internal(
        f"{_OPS}.Graph", "control-dependency scopes", True),
    "Operation._add_control_inputs": Internal(
        f"{_C_API}.PyOperation", "control-dependency scopes", True),
    "Operation._control_flow_post_processing": Internal(
        f"{_OPS}.Operation", "control-flow contexts", True),
    "Graph._attr_scope_map": Internal(f"{_OPS}.Graph (set in __init__)", "attribute scopes", True),
    "Graph._op_to_kernel_label_map": Internal(
        f"{_OPS}.Graph (set in __init__)", "kernel label scopes", True),
    "Graph._gradient_override_map": Internal(
        f"{_OPS}.Graph (set in __init__)", "gradient override scopes", True),
    "Graph._colocation_stack": Internal(f"{_OPS}.Graph", "colocation scopes", True),
    "Graph._container": Internal(f"{_OPS}.Graph (set in __init__)", "container scopes", True),
    "function.from_library": Internal(
        "tensorflow.python.framework.function", "Python side of imported functions (gradients)", True),
    # Creating a small copy's ops one by one (fallback: the import above).
    "pywrap_tf_session.TF_NewOperation": Internal(_C_API, "create a copied op from its NodeDef"),
    "pywrap_tf_session.TF_SetDevice": Internal(_C_API, "its device"),
    "pywrap_tf_session.TF_AddInput": Internal(_C_API, "its inputs"),
    "pywrap_tf_session.TF_AddInputList": Internal(_C_API, "its list inputs"),
    "pywrap_tf_session.TF_AddControlInput": Internal(_C_API, "its control inputs"),
    "pywrap_tf_session.TF_SetAttrValueProto": Internal(_C_API, "its attributes"),
    "pywrap_tf_session.TF_FinishOperation": Internal(_C_API, "add it to the graph"),
    # A whole graph imported from its own bytes (fallback: the import above, of a GraphDef).
    "pywrap_tf_session.SetAttr": Internal(_C_API, "a state or frame name of an imported op"),
    "c_api_util.tf_output": Internal(_C_UTIL, "an output of a created op as an input"),
    # The lean Operation wrappers (fallback: Operation._from_c_op, one per op). They do what
    # Operation._init does, which _lean_wrappers_work() checks by the names its code uses.
    "Operation._init": Internal(f"{_OPS}.Operation", "what a wrapper sets (checked, not called)"),
    "Operation._init_outputs": Internal(f"{_C_API}.PyOperation", "a wrapper's output tensors"),
    "Operation._original_op": Internal(f"{_OPS}.Operation (set per op)", "set on a new wrapper"),
    "Operation._inputs_val": Internal(f"{_OPS}.Operation (set per op)", "set on a new wrapper"),
    "Operation._device_code_locations": Internal(
        f"{_OPS}.Operation (set per op)", "set on a new wrapper"),
    "Operation._colocation_code_locations": Internal(
        f"{_OPS}.Operation (set per op)", "set on a new wrapper"),
    "Operation._control_flow_context": Internal(
        f"{_OPS}.Operation (set per op)", "set on a new wrapper"),
    "Operation._id_value": Internal(f"{_OPS}.Operation (set per op)", "set on a new wrapper"),
    "Graph._add_op": Internal(f"{_OPS}.Graph", "a new wrapper joins its graph"),
    "pywrap_tf_session.PyTensor": Internal(_C_API, "a wrapper's output tensors, made directly"),
    "pywrap_tfe.TFE_Py_UID": Internal("tensorflow.python.pywrap_tfe", "each tensor's unique id"),
    "ops.SymbolicTensor": Internal(_OPS, "the class of a wrapper's output tensors"),
    # Outside the import, each with its own public fallback.
    "Graph._lock": Internal(
        f"{_OPS}.Graph (set in __init__)", "a source's GraphDef with its bytes (fallback: as_graph_def)"),
    "pywrap_tf_session.TF_GraphToGraphDef": Internal(
        _C_API, "a source's GraphDef with its bytes (fallback: as_graph_def)"),
    "pywrap_tf_session.TF_GetBuffer": Internal(
        _C_API, "a source's GraphDef with its bytes (fallback: as_graph_def)"),
    "pywrap_tf_session.TF_NewBuffer": Internal(
        _C_API, "the buffer of a source's serialized GraphDef, kept for its import (fallback: as_graph_def)"),
    "Graph._functions": Internal(
        f"{_OPS}.Graph (set in __init__)", "functions the target holds (fallback: as_graph_def)"),
    "ops.get_to_proto_function": Internal(
        _OPS, "collection members as protos (fallback: item.to_proto)"),
    "ops.get_from_proto_function": Internal(
        _OPS, "collection members and variables from protos (fallback: from_proto, tf.compat.v1.Variable)"),
    "op_def_registry.get": Internal(
        "tensorflow.python.framework.op_def_registry",
        "an op type's OpDef: stateful or not, function attributes (fallback: the op type is unknown)"),
    "function_def_to_graph.function_def_to_graph_def": Internal(
        "tensorflow.python.framework.function_def_to_graph",
        "inline a SavedModel's signature functions (no fallback: 'inline = true' is refused)"),
    "meta_graph.strip_graph_default_valued_attrs": Internal(
        "tensorflow.python.framework.meta_graph",
        "diff leaves default-valued attributes out (fallback: they are compared)"),
    "fingerprinting_utils.write_fingerprint": Internal(
        "tensorflow.python.saved_model.fingerprinting_utils",
        "write a canonical SavedModel's fingerprint.pb again (fallback: remove the stale one)"),
    "ResourceVariable._init_from_proto": Internal(
        "tensorflow.python.ops.resource_variable_ops.ResourceVariable",
        "the fields a resource variable made from a VariableDef has, set directly (checked by the "
        "names its code uses; fallback: ResourceVariable.from_proto)"),
    "resource_variable_ops.ResourceVariable": Internal(
        "tensorflow.python.ops.resource_variable_ops", "the class of a lean resource variable"),
    "variables.validate_synchronization_aggregation_trainable": Internal(
        "tensorflow.python.ops.variables", "a lean resource variable's flags, as from_proto checks them"),
    "Graph._get_operation_by_name": Internal(
        f"{_OPS}.Graph", "a copied variable's ops by name (fallback: ResourceVariable.from_proto)"),
    "deprecation._PRINT_DEPRECATION_WARNINGS": Internal(
        "tensorflow.python.util.deprecation", "quiet command line (fallback: the tf logger's level)"),
    "script_ops._py_funcs": Internal(
        "tensorflow.python.ops.script_ops",
        "register the function a value copy's PyFunc op calls (fallback: tf.compat.v1.py_func "
        "on a scratch graph)"),
}


# -- which names the running TensorFlow has --------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _samples() -> dict[str, Any]:
    """A Graph, Operation and Tensor to look instance attributes up on."""
    graph = tf.Graph()
    with graph.as_default():
        tensor = tf.constant(0.0)
    return {"Graph": graph, "Operation": tensor.op, "Tensor": tensor}


def _module(path: str) -> ModuleType | None:
    try:
        return importlib.import_module(path)
    except ImportError:
        return None


def _present(name: str) -> bool:
    owner, _, attr = name.rpartition(".")
    samples = _samples()
    holder = samples[owner] if owner in samples else _holder(INTERNALS[name].where)
    return holder is not None and hasattr(holder, attr)


def _holder(where: str) -> Any:
    """The module ``where`` names, or the class ``where`` names in its module; None if absent."""
    module = _module(where)
    if module is None and "." in where:
        parent, _, name = where.rpartition(".")
        module = getattr(_module(parent), name, None)
    return module


@functools.lru_cache(maxsize=1)
def _missing() -> tuple[str, ...]:
    return tuple(name for name in INTERNALS if not _present(name))


def missing() -> list[str]:
    """The names of :data:`INTERNALS` that the running TensorFlow lacks."""
    return list(_missing())


def _usable(*names: str) -> bool:
    if not FAST_PATH:
        return False
    missing = _missing()  # usually empty: a copy asks this several times
    return not missing or not any(name in missing for name in names)


# -- importing a GraphDef into a live graph -----------------------------------------------------------


class Imported(NamedTuple):
    """What :func:`import_nodes` added: the new Operations and their names, in the GraphDef's order."""

    ops: list[tf.Operation]
    names: list[str]


def import_nodes(
    graph: tf.Graph,
    graph_def: graph_pb2.GraphDef,
    prefix: str,
    input_map: Mapping[str, tf.Tensor],
    control_map: Mapping[str, tf.Operation],
    names: Sequence[str] | None = None,
) -> Imported:
    """Imports every node of ``graph_def`` into ``graph`` and returns their Operations in order.

    ``prefix`` is prepended (with '/') to every imported name; ``input_map`` maps a tensor name of
    ``graph_def`` ("x:0") to an existing tensor of ``graph``; ``control_map`` maps an op name of
    ``graph_def`` used as a control input to an existing op of ``graph``; ``names``, when the caller
    has them, are the names of ``graph_def``'s nodes in order (reading them from a big GraphDef
    costs time). The functions of ``graph_def.library`` become known to the graph's Python side,
    as ``import_graph_def`` does. Raises ``ValueError`` with TensorFlow's message when the importer
    refuses the GraphDef.
    """
    if names is None:
        names = [node.name for node in graph_def.node]
    if fast_import_works():
        full = [f"{prefix}/{name}" for name in names] if prefix else list(names)
        new_ops = _import_fast(graph, graph_def, prefix, input_map, control_map, names, full)
        _register_functions(graph, graph_def.library)
        return Imported(new_ops, full)
    new_ops = _import_public(graph, graph_def, prefix, input_map, control_map, names)
    return Imported(new_ops, [op.name for op in new_ops])  # the public import may rename an op


def fast_import_works() -> bool:
    """True when copies use the fast import: every name it needs is there and it passed its trial."""
    missing = _missing()
    return (FAST_PATH and not (missing and any(INTERNALS[name].fast for name in missing))
            and _fast_trial())


@functools.lru_cache(maxsize=1)
def _fast_trial() -> bool:
    """Runs the fast import once on a scratch graph, under every kind of scope it handles.

    A TensorFlow release that keeps a name but changes what it takes or gives fails here, before
    any target graph is touched.
    """
    graph_def = graph_pb2.GraphDef()
    x = graph_def.node.add(name="x", op="Placeholder")
    x.attr["dtype"].type = tf.float32.as_datatype_enum
    graph_def.node.add(name="done", op="NoOp")
    y = graph_def.node.add(name="y", op="Identity", input=["x", "^done"])
    y.attr["T"].type = tf.float32.as_datatype_enum
    try:
        target = tf.Graph()
        with target.as_default():
            feed = tf.constant(1.0, name="feed")
            ready = tf.no_op(name="ready")
        names = [node.name for node in graph_def.node]
        _import_fast(target, graph_def, "plain", {"x:0": feed}, {"done": ready}, names,
                     [f"plain/{name}" for name in names])
        with target.as_default(), tf.device("/cpu:0"), tf.control_dependencies([ready]):
            made = _import_fast(target, graph_def, "scoped", {}, {}, names,
                                [f"scoped/{name}" for name in names])
        return len(made) == len(graph_def.node) and all(op.name.startswith("scoped/") for op in made)
    except Exception:  # pylint: disable=broad-except  # any failure means: use the public path
        return False


def import_serialized(graph: tf.Graph, data: "bytes | KeptBuffer", prefix: str, names: Sequence[str],
                      attrs: Mapping[int, Sequence[tuple[str, bytes]]]) -> Imported | None:
    """Imports the serialized GraphDef ``data`` (nodes ``names``, in order) into ``graph`` under
    ``prefix``, mapping nothing; then sets, on the op made from node ``i``, each serialized
    AttrValue of ``attrs[i]`` (attribute name, value), before any wrapper or session sees the op.

    Spares serializing a GraphDef that TensorFlow gave as bytes. None when a name it needs is
    missing (nothing imported then): import the GraphDef with :func:`import_nodes`.
    """
    if not fast_import_works() or not _usable("pywrap_tf_session.SetAttr"):
        return None
    full = [f"{prefix}/{name}" for name in names] if prefix else list(names)
    return Imported(_import_fast(graph, data, prefix, {}, {}, names, full, attrs), full)


def _set_attrs(c_graph: Any, c_ops: Sequence, attrs: Mapping[int, Sequence[tuple[str, bytes]]]) -> None:
    from tensorflow.python.client import pywrap_tf_session as c_api

    for i, values in attrs.items():
        for name, value in values:
            buffer = c_api.TF_NewBufferFromString(value)
            try:
                c_api.SetAttr(c_graph, c_ops[i], name, buffer)
            finally:
                c_api.TF_DeleteBuffer(buffer)


def _import_fast(graph, graph_def, prefix, input_map, control_map, names, full,
                 attrs=None) -> list[tf.Operation]:
    # pylint: disable=protected-access
    from tensorflow.python.client import pywrap_tf_session as c_api
    from tensorflow.python.framework import c_api_util

    scoped = c_api_util.ScopedTFImportGraphDefOptions()
    options = scoped.options
    c_api.TF_ImportGraphDefOptionsSetPrefix(options, prefix)
    c_api.TF_ImportGraphDefOptionsSetValidateColocationConstraints(options, False)
    for name, tensor in input_map.items():
        op_name, index = _split(name)
        c_api.TF_ImportGraphDefOptionsAddInputMapping(options, op_name, index, tensor._as_tf_output())
    for name, op in control_map.items():
        c_api.TF_ImportGraphDefOptionsRemapControlDependency(options, name, op._c_op)
    add_return = c_api.TF_ImportGraphDefOptionsAddReturnOperation
    for name in names:
        add_return(options, name)

    if isinstance(graph_def, KeptBuffer):
        buffer, owned = graph_def.buffer, False
    else:
        data = graph_def if isinstance(graph_def, bytes) else graph_def.SerializeToString()
        buffer, owned = c_api.TF_NewBufferFromString(data), True
    try:
        with graph._mutation_lock():
            try:
                with graph._c_graph.get() as c_graph:
                    results = c_api.TF_GraphImportGraphDefWithResults(c_graph, buffer, options)
                results = c_api_util.ScopedTFImportGraphDefResults(results)
            except tf.errors.InvalidArgumentError as e:
                raise ValueError(e.message) from None
            c_ops = c_api.TF_ImportGraphDefResultsReturnOperations(results.results)
            if attrs:
                with graph._c_graph.get() as c_graph:
                    _set_attrs(c_graph, c_ops, attrs)
            return _wrap(graph, c_ops, full)
    finally:
        if owned:
            c_api.TF_DeleteBuffer(buffer)


def _split(name: str) -> tuple[str, int]:
    op_name, _, index = name.rpartition(":")
    return op_name, int(index)


def _wrap(graph: tf.Graph, c_ops: Sequence, names: Sequence[str]) -> list[tf.Operation]:
    """Python ``Operation`` wrappers for freshly imported C operations, named ``names``.

    What ``Graph._create_op_from_tf_operation`` does, doing each piece of bookkeeping only when
    the target has something for it to do; the names come from the caller, which is cheaper than
    asking each new op for its name.
    """
    # pylint: disable=protected-access
    from_c_op = tf.Operation._from_c_op
    _mark_used(graph._names_in_use, names)
    gradients = graph._gradient_function_map
    if _target_is_plain(graph) and graph._get_control_flow_context() is None:
        if _lean_wrappers_work():
            new_ops = _lean_wrappers(graph, c_ops)
        else:
            new_ops = [from_c_op(c_op, graph) for c_op in c_ops]
        if gradients:  # an op starts without an override; look it up only when there are some
            for op in new_ops:
                op._gradient_function = gradients.get(op.type)
        return new_ops
    new_ops = []
    for c_op in c_ops:
        op = from_c_op(c_op, graph)
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


# The names Operation._init, Operation._from_c_op and SymbolicTensor.__new__ use in TensorFlow 2.21:
# :func:`_lean_wrappers` does what they do, and only while their code uses these names.
_INIT_NAMES = ("graph", "_original_op", "_inputs_val", "_device_code_locations",
               "_colocation_code_locations", "_get_control_flow_context", "_control_flow_context",
               "_gradient_function", "_init_outputs", "_add_op", "_id_value")
_FROM_C_OP_NAMES = ("Operation", "SymbolicTensor", "_init")
_TENSOR_NAMES = ("uid", "pywrap_tf_session", "PyTensor", "__new__", "SymbolicTensor", "dtypes", "as_dtype")
_LEAN = ("Operation._init", "Operation._init_outputs", "Graph._add_op", "pywrap_tf_session.PyTensor",
         "pywrap_tfe.TFE_Py_UID", "ops.SymbolicTensor")


@functools.lru_cache(maxsize=1)
def _lean_wrappers_work() -> bool:
    """Whether :func:`_lean_wrappers` does what ``Operation._from_c_op`` does in this TensorFlow."""
    if not _usable(*_LEAN):
        return False
    from tensorflow.python.framework import ops

    return (_code_names(ops.Operation._init) == _INIT_NAMES
            and _code_names(ops.Operation._from_c_op) == _FROM_C_OP_NAMES
            and _code_names(ops.SymbolicTensor.__new__) == _TENSOR_NAMES)


def _code_names(function: Any) -> tuple[str, ...] | None:
    """The global and attribute names the Python code of ``function`` uses; None if it has none."""
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    return code.co_names if code is not None else None


def _lean_wrappers(graph: tf.Graph, c_ops: Sequence) -> list[tf.Operation]:
    """``Operation._from_c_op(c_op, graph)`` for each of ``c_ops``, in a graph outside any
    control-flow context, without a Python call per op and per output tensor in between.

    The wrapper of a big import costs about 4.5 µs per op, most of it Python calls around the
    C++ work; this loop sets the same attributes to the same values (``_init``'s), and makes the
    same output tensors (``SymbolicTensor.__new__``'s, with the dtype looked up once per type).
    """
    # pylint: disable=protected-access
    from tensorflow.python.framework import ops

    make, add, tensor = ops.Operation, graph._add_op, _tensor_maker()
    new_ops: list[tf.Operation] = []
    append = new_ops.append
    for c_op in c_ops:
        op = make(c_op, tensor)
        op.graph = graph
        op._original_op = None
        op._inputs_val = None
        op._device_code_locations = None
        op._colocation_code_locations = None
        op._control_flow_context = None
        op._gradient_function = None
        op._init_outputs()
        op._id_value = add(op)
        append(op)
    return new_ops


@functools.lru_cache(maxsize=1)
def _tensor_maker() -> Callable[[Any, int, Any], tf.Tensor]:
    """What ``SymbolicTensor(op, index, dtype)`` makes, each dtype converted once."""
    from tensorflow.python import pywrap_tfe
    from tensorflow.python.client import pywrap_tf_session
    from tensorflow.python.framework import ops

    new, kind, uid = pywrap_tf_session.PyTensor.__new__, ops.SymbolicTensor, pywrap_tfe.TFE_Py_UID
    dtypes: dict[Any, tf.DType] = {}

    def tensor(op: Any, index: int, dtype: Any) -> tf.Tensor:
        found = dtypes.get(dtype)
        if found is None:
            found = dtypes[dtype] = tf.as_dtype(dtype)
        return new(kind, op, index, found, uid())

    return tensor


def _mark_used(names_in_use: dict[str, int], names: Sequence[str]) -> None:
    """Marks ``names`` used, as creating an op of each name would; a name used already keeps its count."""
    lowered = dict.fromkeys(map(str.lower, names), 1)
    if len(names_in_use) < len(lowered):  # look at the smaller side only
        lowered.update({key: count for key, count in names_in_use.items() if key in lowered})
        names_in_use.update(lowered)
    else:
        names_in_use.update({key: 1 for key in lowered if key not in names_in_use})


def _target_is_plain(graph: tf.Graph) -> bool:
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


def _register_functions(graph: tf.Graph, library: function_pb2.FunctionDefLibrary) -> None:
    """Makes imported functions known to the graph's Python side; gradients look them up there."""
    if library.function:
        from tensorflow.python.framework import function as function_lib

        with graph.as_default():  # outside it, add_to_graph adds to the eager context instead
            for func in function_lib.from_library(library):
                func.add_to_graph(graph)


def _import_public(graph, graph_def, prefix, input_map, control_map, ordered) -> list[tf.Operation]:
    """The same import through ``tf.graph_util.import_graph_def``."""
    names = set(ordered)
    if any(_external_colocations(node, names) for node in graph_def.node):
        graph_def = _without_external_colocations(graph_def, names)
    full_map: dict[str, tf.Tensor] = dict(input_map)
    for name, op in control_map.items():
        full_map["^" + name] = op.outputs[0] if op.outputs else _control_anchor(graph, prefix, name, op)
    with graph.as_default():
        # "NS/" re-enters scope NS as it is; "NS" would become "NS_1" once NS is in use.
        return tf.graph_util.import_graph_def(
            graph_def, input_map=full_map or None, name=prefix + "/" if prefix else "",
            return_elements=list(ordered))


def _external_colocations(node, names) -> list[bytes]:
    if "_class" not in node.attr:
        return []
    return [s for s in node.attr["_class"].list.s
            if s.startswith(b"loc:@") and s[5:].decode() not in names]


def _without_external_colocations(graph_def, names) -> graph_pb2.GraphDef:
    trimmed = graph_pb2.GraphDef()
    trimmed.CopyFrom(graph_def)
    for node in trimmed.node:
        outside = _external_colocations(node, names)
        if outside:
            kept = [s for s in node.attr["_class"].list.s if s not in outside]
            del node.attr["_class"].list.s[:]
            node.attr["_class"].list.s.extend(kept)
            if not kept:
                del node.attr["_class"]
    return trimmed


def _control_anchor(graph: tf.Graph, prefix: str, name: str, op: tf.Operation) -> tf.Tensor:
    """A tensor whose op runs after ``op``, for a control input on an op without outputs."""
    with graph.as_default(), tf.name_scope(f"{prefix}/{name}/" if prefix else f"{name}/"):
        with tf.control_dependencies([op]):
            return tf.constant(0, name="graphdsl_control")


# -- smaller doors, each with its public fallback ---------------------------------------------------


class KeptBuffer:
    """A serialized GraphDef in a buffer of TensorFlow's C side, freed when this object goes.

    :func:`import_serialized` imports it as it is, where bytes would first be copied into a new
    buffer: a copy of the whole GraphDef, and fresh memory as large.
    """

    def __init__(self, buffer: Any) -> None:
        from tensorflow.python.client import pywrap_tf_session as c_api

        self.buffer = buffer
        weakref.finalize(self, c_api.TF_DeleteBuffer, buffer)


def graph_def_and_bytes(graph: tf.Graph) -> tuple[graph_pb2.GraphDef, bytes, "bytes | KeptBuffer"]:
    """``graph.as_graph_def()``, the serialized GraphDef TensorFlow parses it from, and the same
    serialized GraphDef as :func:`import_serialized` takes it (TensorFlow's buffer of it, kept).

    The bytes come with the GraphDef: ``as_graph_def`` makes them and parses them, and
    serializing the GraphDef again costs time in proportion to the graph.
    """
    if _usable("Graph._lock", "Graph._c_graph", "pywrap_tf_session.TF_NewBuffer",
               "pywrap_tf_session.TF_DeleteBuffer", "pywrap_tf_session.TF_GraphToGraphDef",
               "pywrap_tf_session.TF_GetBuffer"):
        # pylint: disable=protected-access
        from tensorflow.python.client import pywrap_tf_session as c_api

        # As c_api_util.tf_buffer() makes and frees it, but freed with the KeptBuffer.
        kept = KeptBuffer(c_api.TF_NewBuffer())
        with graph._lock:
            with graph._c_graph.get() as c_graph:
                c_api.TF_GraphToGraphDef(c_graph, kept.buffer)
                data = tf.compat.as_bytes(c_api.TF_GetBuffer(kept.buffer))
        graph_def = graph_pb2.GraphDef()
        graph_def.ParseFromString(data)
        if not graph_def.library.function:  # as as_graph_def leaves it
            graph_def.ClearField("library")
        return graph_def, data, kept
    graph_def = graph.as_graph_def()
    data = graph_def.SerializeToString()
    return graph_def, data, data


def existing_operations(graph: tf.Graph, names: Iterable[str]) -> list[str]:
    """The names among ``names`` that ops of ``graph`` already carry.

    Each name is looked up in the graph's table of names in use (names of ops and name scopes,
    lowercased): one dict lookup, where ``Graph._nodes_by_name`` would build a table of every op
    of the graph on each access. The few names found there are confirmed op by op.
    """
    if _usable("Graph._names_in_use"):
        in_use = graph._names_in_use  # pylint: disable=protected-access
        maybe = [name for name in names if name.lower() in in_use]
    else:
        with graph.name_scope(None):  # unique_name prepends the current name scope
            maybe = [name for name in names if graph.unique_name(name, mark_as_used=False) != name]
    return [name for name in maybe if _has_operation(graph, name)]


def _has_operation(graph: tf.Graph, name: str) -> bool:
    try:
        graph.get_operation_by_name(name)
    except (KeyError, ValueError):
        return False
    return True


def function_def(graph: tf.Graph, name: str) -> tuple[bool, function_pb2.FunctionDef | None]:
    """Whether ``graph`` holds a function ``name``, and its definition when TensorFlow gives one."""
    if _usable("Graph._functions"):
        func = graph._functions.get(name)  # pylint: disable=protected-access
        if func is None:
            return False, None
        return True, getattr(func, "definition", None)
    for fdef in graph.as_graph_def().library.function:
        if fdef.signature.name == name:
            return True, fdef
    return False, None


def to_proto(key: str, item: Any) -> Any:
    """``item`` of collection ``key`` as a proto, as a MetaGraph export writes it, or None."""
    if _usable("ops.get_to_proto_function"):
        from tensorflow.python.framework import ops

        convert: Callable | None = ops.get_to_proto_function(key)
    else:
        convert = getattr(type(item), "to_proto", None)
    return convert(item) if convert is not None else None


def from_proto(key: str, item: Any, proto: Any, import_scope: str | None) -> Any:
    """The collection member of kind ``type(item)`` rebuilt from ``proto`` under ``import_scope``."""
    if _usable("ops.get_from_proto_function"):
        from tensorflow.python.framework import ops

        convert: Callable | None = ops.get_from_proto_function(key)
    else:
        convert = getattr(type(item), "from_proto", None)
    return convert(proto, import_scope=import_scope) if convert is not None else None


def variables_from_protos(vdefs: Sequence[variable_pb2.VariableDef], import_scope: str | None,
                          attrs: Sequence[tuple[int, Any] | None] | None = None) -> list[Any]:
    """A tf.Variable over ops already in the default graph for each of ``vdefs``, as a MetaGraph
    import makes them.

    ``vdefs`` are the caller's to give: their names get ``import_scope`` in place. ``attrs``,
    when the caller knows them, are each variable op's ``dtype`` (enum) and ``shape`` (a
    TensorShapeProto), which then need not be read back from each op.
    """
    if import_scope:
        # TensorFlow would prepend the scope to each name with a regular expression; prefixing
        # the names here, once, costs a fraction of that.
        prefix = import_scope.rstrip("/") + "/"
        for vdef in vdefs:
            _prefix_names(vdef, prefix)
    if not vdefs or not _lean_variables_work() or tf.distribute.has_strategy():
        return [variable_from_proto(vdef, None) for vdef in vdefs]
    graph = tf.compat.v1.get_default_graph()
    checked: dict[tuple[int, int, bool], tuple] = {}
    made = []
    for vdef, known in zip(vdefs, attrs or [None] * len(vdefs)):
        var = _lean_resource_variable(graph, vdef, checked, known) if vdef.is_resource else None
        made.append(var if var is not None else variable_from_proto(vdef, None))
    return made


# The names ResourceVariable's _init_from_proto, __init__ and from_proto use in TensorFlow 2.21:
# _lean_resource_variable does what they do, and only while their code uses these names.
_VARIABLE_INIT_NAMES = (
    "context", "executing_eagerly", "_in_graph_mode", "isinstance", "variable_pb2", "VariableDef",
    "is_resource", "ValueError", "ops", "get_default_graph", "as_graph_element", "prepend_name_scope",
    "variable_name", "_handle", "tensor_shape", "TensorShape", "op", "get_attr", "_shape", "name",
    "_handle_name", "_unique_id", "initializer_name", "_initializer_op", "hasattr",
    "initial_value_name", "_initial_value", "variables", "validate_synchronization_aggregation_trainable",
    "synchronization", "aggregation", "trainable", "_synchronization", "_aggregation", "_trainable",
    "snapshot_name", "type", "_cached_value", "inputs", "_graph_element", "get_tensor_by_name",
    "HasField", "Variable", "SaveSliceInfo", "save_slice_info_def", "_save_slice_info",
    "_caching_device", "dtypes", "as_dtype", "_dtype", "_constraint", "_validate_shape")
_VARIABLE_NEW_NAMES = (
    "ValueError", "context", "executing_eagerly", "_init_from_proto", "_init_from_handle", "_init_from_args")
_VARIABLE_FROM_PROTO_NAMES = ("context", "executing_eagerly", "RuntimeError", "ResourceVariable")


@functools.lru_cache(maxsize=1)
def _lean_variables_work() -> bool:
    """Whether :func:`_lean_resource_variable` does what ``ResourceVariable.from_proto`` does."""
    if not _usable("ResourceVariable._init_from_proto", "Graph._get_operation_by_name",
                   "resource_variable_ops.ResourceVariable",
                   "variables.validate_synchronization_aggregation_trainable"):
        return False
    from tensorflow.python.ops import resource_variable_ops

    kind = resource_variable_ops.ResourceVariable
    return (_code_names(kind._init_from_proto) == _VARIABLE_INIT_NAMES
            and _code_names(kind.__init__) == _VARIABLE_NEW_NAMES
            and _code_names(kind.from_proto) == _VARIABLE_FROM_PROTO_NAMES
            and kind.__new__ is object.__new__)


def _lean_resource_variable(graph: tf.Graph, vdef: variable_pb2.VariableDef, checked: dict,
                            known: tuple[int, Any] | None = None) -> Any | None:
    """``ResourceVariable.from_proto(vdef)`` in ``graph`` (its default graph), or None when it
    would not be the same (then the caller asks TensorFlow, which may raise).

    The same fields with the same values, in the order ``_init_from_proto`` sets them; the
    elements come from the graph's table of ops by name rather than through
    ``Graph.as_graph_element`` (a lock and a parse of each name), and the synchronization,
    aggregation and trainable flags are checked once per combination. About a fifth of the time.
    """
    # pylint: disable=protected-access
    resource_variable_ops, variables = _variable_modules()
    if (":" not in vdef.variable_name or (vdef.initial_value_name and ":" not in vdef.initial_value_name)
            or (vdef.snapshot_name and ":" not in vdef.snapshot_name)):
        return None  # an op name where TensorFlow expects a tensor's: its error
    by_name = graph._get_operation_by_name

    def element(name: str) -> Any:
        if ":" not in name:
            return by_name(name)
        op_name, _, index = name.partition(":")
        return by_name(op_name).outputs[int(index)]

    try:
        handle = element(vdef.variable_name)
        handle_op = handle.op
        key = (vdef.synchronization, vdef.aggregation, vdef.trainable)
        if key not in checked:
            checked[key] = variables.validate_synchronization_aggregation_trainable(*key, vdef.variable_name)
        synchronization, aggregation, trainable = checked[key]
        if vdef.snapshot_name:
            snapshot = element(vdef.snapshot_name)
            cached = snapshot if snapshot.op.type != "ReadVariableOp" else None
            while snapshot.op.type != "ReadVariableOp":
                snapshot = snapshot.op.inputs[0]
        else:
            cached, snapshot = None, graph.get_tensor_by_name(handle_op.name + "/Read/ReadVariableOp:0")
        dtype, shape = known if known is not None else (handle_op.get_attr("dtype"), handle_op.get_attr("shape"))
        fields = {
            "_in_graph_mode": True,
            "_handle": handle,
            "_shape": tf.TensorShape(shape),
            "_handle_name": handle.name,
        }
        fields["_unique_id"] = fields["_handle_name"]
        fields.update({
            "_initializer_op": element(vdef.initializer_name),
            "_initial_value": element(vdef.initial_value_name) if vdef.initial_value_name else None,
            "_synchronization": synchronization,
            "_aggregation": aggregation,
            "_trainable": trainable,
            "_cached_value": cached,
            "_graph_element": snapshot,
            "_save_slice_info": variables.Variable.SaveSliceInfo(
                save_slice_info_def=vdef.save_slice_info_def, import_scope=None)
            if vdef.HasField("save_slice_info_def") else None,
            "_caching_device": None,
            "_dtype": _as_dtype(dtype),
            "_constraint": None,
            "_validate_shape": True,
        })
    except Exception:  # pylint: disable=broad-except  # TensorFlow's own path says what is wrong
        return None
    var = object.__new__(resource_variable_ops.ResourceVariable)
    var.__dict__.update(fields)
    return var


@functools.lru_cache(maxsize=1)
def _variable_modules() -> tuple[ModuleType, ModuleType]:
    """TensorFlow's resource_variable_ops and variables modules, imported once (an import
    statement per variable costs a few microseconds)."""
    from tensorflow.python.ops import resource_variable_ops, variables

    return resource_variable_ops, variables


@functools.lru_cache(maxsize=None)
def _as_dtype(dtype: Any) -> tf.DType:
    """``tf.as_dtype(dtype)``, each dtype converted once."""
    return tf.as_dtype(dtype)


def variable_from_proto(vdef: variable_pb2.VariableDef, import_scope: str | None) -> Any:
    """A tf.Variable over ops already in the default graph, as a MetaGraph import makes it."""
    if import_scope:
        vdef = _prefixed(vdef, import_scope.rstrip("/") + "/")
    if _usable("ops.get_from_proto_function"):
        from tensorflow.python.framework import ops

        convert = ops.get_from_proto_function(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
        return convert(vdef, import_scope=None)
    return tf.compat.v1.Variable(variable_def=vdef, import_scope=None, use_resource=vdef.is_resource)


def _prefixed(vdef: variable_pb2.VariableDef, prefix: str) -> variable_pb2.VariableDef:
    """``vdef`` with ``prefix`` on every name it holds, as ``import_scope`` would put it."""
    copy = variable_pb2.VariableDef()
    copy.CopyFrom(vdef)
    _prefix_names(copy, prefix)
    return copy


def _prefix_names(vdef: variable_pb2.VariableDef, prefix: str) -> None:
    for field in ("variable_name", "initial_value_name", "initializer_name", "snapshot_name"):
        name = getattr(vdef, field)
        if name:
            setattr(vdef, field, prefix + name)
    if vdef.HasField("save_slice_info_def"):
        vdef.save_slice_info_def.full_name = prefix + vdef.save_slice_info_def.full_name


def mark_name_used(graph: tf.Graph, name: str) -> None:
    """Makes later ``name_scope(name)`` calls in ``graph`` pick a fresh scope, as for any op name."""
    if _usable("Graph._names_in_use"):
        graph._names_in_use.setdefault(name.lower(), 1)  # pylint: disable=protected-access
        return
    with graph.name_scope(None):  # unique_name prepends the current name scope
        if graph.unique_name(name, mark_as_used=False) == name:
            graph.unique_name(name, mark_as_used=True)


def silence_deprecation_warnings() -> None:
    """Stops the TF1 APIs graph mode needs from warning of their deprecation on every use."""
    if _usable("deprecation._PRINT_DEPRECATION_WARNINGS"):
        from tensorflow.python.util import deprecation

        deprecation._PRINT_DEPRECATION_WARNINGS = False  # pylint: disable=protected-access
    tf.get_logger().setLevel("ERROR")


# -- beyond the copier ---------------------------------------------------------------------------------


def op_def(op_type: str) -> Any | None:
    """The registered OpDef of ``op_type``, or None (unknown op, or no registry to ask).

    Not switched off with :data:`FAST_PATH`: that picks how copies are imported, and the guard
    on side effects needs to know op types whichever way they are.
    """
    if "op_def_registry.get" in _missing():
        return None
    from tensorflow.python.framework import op_def_registry

    return op_def_registry.get(op_type)


def function_def_to_graph_def(fdef: function_pb2.FunctionDef) -> tuple[graph_pb2.GraphDef, Any]:
    """A function body as a GraphDef, and the map from its outputs to tensor names in it.

    Raises NotImplementedError when this TensorFlow lacks the conversion (its caller refuses then).
    """
    if not _usable("function_def_to_graph.function_def_to_graph_def"):
        raise NotImplementedError("this TensorFlow has no function_def_to_graph_def")
    from tensorflow.python.framework import function_def_to_graph

    return function_def_to_graph.function_def_to_graph_def(fdef)


def strip_default_attrs(meta: Any) -> None:
    """Drops the attributes of ``meta``'s graph that hold their op's default, as a SavedModel export does."""
    if _usable("meta_graph.strip_graph_default_valued_attrs"):
        from tensorflow.python.framework import meta_graph

        meta_graph.strip_graph_default_valued_attrs(meta)


def write_fingerprint(directory: str) -> None:
    """Writes a SavedModel's ``fingerprint.pb`` for its current ``saved_model.pb``.

    Without TensorFlow's writer the stale fingerprint is removed: a loader reads it only when present.
    """
    if _usable("fingerprinting_utils.write_fingerprint"):
        from tensorflow.python.saved_model import fingerprinting_utils

        fingerprinting_utils.write_fingerprint(directory)
    else:
        import os

        os.remove(os.path.join(directory, "fingerprint.pb"))


def register_py_function(function: Callable[[], Any], dtype: tf.DType) -> str:
    """Registers ``function`` for a ``PyFunc`` op without inputs; returns the op's ``token``.

    TensorFlow's registry holds the function weakly: the caller keeps it alive for as long as a
    graph may run an op with that token. The fallback makes the op with ``tf.compat.v1.py_func``
    on a scratch graph and reads its token (the registry entry lives as long as ``function``).
    """
    if _usable("script_ops._py_funcs"):
        from tensorflow.python.ops import script_ops

        return script_ops._py_funcs.insert(function)  # pylint: disable=protected-access
    with tf.Graph().as_default():
        made = tf.compat.v1.py_func(function, [], [dtype], stateful=True)
    return made[0].op.get_attr("token").decode()


# -- creating a small copy's ops one by one ------------------------------------------------------------

_CREATE = ("pywrap_tf_session.TF_NewOperation", "pywrap_tf_session.TF_SetDevice",
           "pywrap_tf_session.TF_AddInput", "pywrap_tf_session.TF_AddInputList",
           "pywrap_tf_session.TF_AddControlInput", "pywrap_tf_session.TF_SetAttrValueProto",
           "pywrap_tf_session.TF_FinishOperation", "c_api_util.tf_output")
_COLOCATION = "_class"


def create_nodes(
    graph: tf.Graph,
    graph_def: graph_pb2.GraphDef,
    prefix: str,
    input_map: Mapping[str, tf.Tensor],
    control_map: Mapping[str, tf.Operation],
    names: Sequence[str],
) -> Imported | None:
    """What :func:`import_nodes` does, by creating each op from its NodeDef; None when it cannot.

    TensorFlow's importer reads every node of the target on each import (its table of existing
    names, then the edges from the source and to the sink of every node), so a small copy into a
    big target costs time in proportion to the target. Created one by one through the C API, as
    ``tf.Operation`` creates an op, each op costs the same whatever the target holds. The graph
    comes out as the importer makes it: the ops created in the importer's order (a node once its
    inputs exist, the first in the GraphDef first), with the importer's prefix on names, inputs
    and colocation entries, and the same default attributes (both add them from the OpDef).

    Returns None, having created nothing, for what only the importer does alike: a GraphDef with
    functions, shape attributes (``_output_shapes``), debug info or full types, a while loop of
    control flow v1 (a back edge), an op type without a registered OpDef, versions the target
    would take on, or a mapped input whose dtype or shape differs from the source's (so that
    shape inference sees what it saw in the source, and no op can fail half-way).
    """
    if not _usable(*_CREATE, "Operation._c_op", "Tensor._as_tf_output", "Graph._c_graph",
                   "Graph._mutation_lock") or not fast_import_works():
        return None
    nodes = graph_def.node
    if graph_def.library.function or not _versions_kept(graph, graph_def):
        return None
    op_defs = _op_defs(nodes)
    order = None if op_defs is None else _creation_order(nodes, input_map, control_map)
    if order is None:
        return None
    full = [f"{prefix}/{name}" for name in names] if prefix else list(names)
    with graph._mutation_lock():  # pylint: disable=protected-access
        c_ops = _create(graph, nodes, order, op_defs, prefix + "/" if prefix else "",
                        input_map, control_map)
        return Imported(_wrap(graph, c_ops, full), full)


def _versions_kept(graph: tf.Graph, graph_def: graph_pb2.GraphDef) -> bool:
    """Whether importing ``graph_def`` would leave the target's GraphDef versions as they are."""
    ours, theirs = graph.graph_def_versions, graph_def.versions
    return (ours.producer <= theirs.producer and ours.min_consumer >= theirs.min_consumer
            and set(theirs.bad_consumers) <= set(ours.bad_consumers))


def _op_defs(nodes) -> list | None:
    """Each node's OpDef; None when a node has one the registry lacks, or what only the importer reads."""
    defs, found = [], _FOUND_OP_DEFS
    for node in nodes:
        if ("_output_shapes" in node.attr or node.HasField("experimental_debug_info")
                or node.HasField("experimental_type")):
            return None
        op = node.op
        known = found.get(op)
        if known is None:
            known = op_def(op)
            if known is None:
                return None
            found[op] = known
        defs.append(known)
    return defs


# The OpDefs found so far, by op type: a registered op keeps its OpDef (the registry only grows).
_FOUND_OP_DEFS: dict[str, Any] = {}


def _creation_order(nodes, input_map, control_map) -> list[int] | None:
    """The importer's order of creation: the smallest-indexed node whose inputs exist, each time.

    None when a node reads a node after it in a cycle (a v1 while loop), or names an input that is
    neither mapped nor in the GraphDef (the importer refuses that, with its message).
    """
    index = {node.name: i for i, node in enumerate(nodes)}
    pending = [0] * len(nodes)
    readers: list[list[int]] = [[] for _ in nodes]
    for i, node in enumerate(nodes):
        for inp in node.input:
            if inp[0] == "^":
                if inp[1:] in control_map:
                    continue
                source = inp[1:]
            else:
                source, _, slot = inp.partition(":")
                if (inp if slot else inp + ":0") in input_map:
                    continue
            if source not in index:
                return None
            pending[i] += 1
            readers[index[source]].append(i)
    ready = [i for i, count in enumerate(pending) if not count]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for reader in readers[i]:
            pending[reader] -= 1
            if not pending[reader]:
                heapq.heappush(ready, reader)
    return order if len(order) == len(nodes) else None


@functools.lru_cache(maxsize=1)
def _creating() -> tuple[ModuleType, Callable]:
    """The C API and its TF_Output maker, imported once (an import per op costs time too)."""
    from tensorflow.python.client import pywrap_tf_session as c_api
    from tensorflow.python.framework import c_api_util

    return c_api, c_api_util.tf_output


def _create(graph, nodes, order, op_defs, prefix, input_map, control_map) -> list:
    """Creates the C ops of ``nodes`` in ``order``; gives them in the GraphDef's order."""
    # pylint: disable=protected-access
    c_api, tf_output = _creating()
    set_attr, add_input = c_api.TF_SetAttrValueProto, c_api.TF_AddInput
    made: list = [None] * len(nodes)
    by_name: dict[str, Any] = {}
    with graph._c_graph.get() as c_graph:
        for i in order:
            node = nodes[i]
            op_type = node.op
            desc = c_api.TF_NewOperation(c_graph, op_type, prefix + node.name)
            if node.device:
                c_api.TF_SetDevice(desc, node.device)
            inputs, controls = [], []
            for inp in node.input:
                if inp[0] == "^":
                    name = inp[1:]
                    controls.append(control_map[name]._c_op if name in control_map else by_name[name])
                    continue
                name, _, slot = inp.partition(":")
                mapped = input_map.get(inp if slot else inp + ":0")
                inputs.append(mapped._as_tf_output() if mapped is not None
                              else tf_output(by_name[name], int(slot or 0)))
            plain = _PLAIN_INPUTS.get(op_type)
            if plain is None:
                plain = _PLAIN_INPUTS[op_type] = not any(
                    arg.number_attr or arg.type_list_attr for arg in op_defs[i].input_arg)
            if plain:  # one input per argument: no lists to group
                for item in inputs:
                    add_input(desc, item)
            else:
                for item in _grouped(op_defs[i], node, inputs):
                    if isinstance(item, list):
                        c_api.TF_AddInputList(desc, item)
                    else:
                        add_input(desc, item)
            for control in dict.fromkeys(controls):  # the importer drops repeated control inputs
                c_api.TF_AddControlInput(desc, control)
            attrs = node.attr
            for key in attrs:  # by key: the map's items() view walks it in Python
                value = attrs[key]
                if key == _COLOCATION and prefix:  # the importer prefixes colocation entries
                    set_attr(desc, key, _prefixed_colocation(value, prefix))
                else:
                    set_attr(desc, key, value.SerializeToString())
            try:
                made[i] = by_name[node.name] = c_api.TF_FinishOperation(desc)
            except tf.errors.InvalidArgumentError as e:
                raise ValueError(e.message) from None
    return made


# Whether an op type's OpDef takes one input per argument (no list arguments), by op type.
_PLAIN_INPUTS: dict[str, bool] = {}


def _grouped(op_def_, node, inputs: list) -> list:
    """The inputs of ``node`` grouped as its OpDef's arguments take them (a list per list argument)."""
    grouped, at = [], 0
    for arg in op_def_.input_arg:
        if arg.number_attr:
            count = node.attr[arg.number_attr].i
        elif arg.type_list_attr:
            count = len(node.attr[arg.type_list_attr].list.type)
        else:
            grouped.append(inputs[at])
            at += 1
            continue
        grouped.append(inputs[at:at + count])
        at += count
    return grouped


def _prefixed_colocation(value, prefix: str) -> bytes:
    """A colocation attribute with the prefix on each entry, serialized."""
    fixed = type(value)()
    loc = b"loc:@" + prefix.encode()
    fixed.list.s.extend([loc + e[5:] if e.startswith(b"loc:@") else e for e in value.list.s])
    return fixed.SerializeToString()
