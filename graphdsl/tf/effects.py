"""Source graphs are data: what graphdsl runs of them must not act outside the session.

Loading a source, reading a variable's value and initializing a composed graph run ops of graphs
that came from files: a SavedModel's restore and main ops, a MetaGraph's restore op, a variable's
snapshot, an initializer and what it waits for. Before running any of those, graphdsl walks what
they would run (data and control inputs, and the bodies of the functions called, all of them) and
refuses ops that act outside the session: writing files, printing, calling Python, talking to a
debugger. A source whose spec says ``allow_side_effects = true`` is trusted, as are the graphs a
Python builder returns (the builder is code the spec names).

The test is an allow-list: an op is safe when TensorFlow registers it as stateless (a function of
its inputs) and it is not one of the few stateless ops that reach outside anyway, or when its type
is one of the stateful ops listed in :data:`SAFE_STATEFUL`, whose state lives in the session
(variables, tables, random generators, restoring a checkpoint, function calls whose bodies are
checked in turn). Any other stateful op, including one this TensorFlow does not know, is refused.
"""

from __future__ import annotations

import weakref
from typing import Callable, Iterable, Iterator, Mapping, TypeVar

import tensorflow as tf
from tensorflow.core.framework import function_pb2, node_def_pb2
from tensorflow.core.protobuf import meta_graph_pb2

from graphdsl.collector import paused
from graphdsl.errors import BuildError
from graphdsl.tf import internals
from graphdsl.tf.functions import holds_function, node_functions
from graphdsl.tf.registry import registry_of

# Stateful op types whose effects stay inside the session.
SAFE_STATEFUL = frozenset({
    # variables
    "VarHandleOp", "_VarHandlesOp", "VariableV2", "Variable", "ReadVariableOp", "_ReadVariablesOp",
    "AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp", "VarIsInitializedOp",
    "IsVariableInitialized", "DestroyResourceOp", "ResourceGather", "ResourceGatherNd",
    # lookup tables
    "HashTable", "HashTableV2", "MutableHashTable", "MutableHashTableV2",
    "MutableHashTableOfTensors", "MutableHashTableOfTensorsV2", "MutableDenseHashTable",
    "MutableDenseHashTableV2", "AnonymousHashTable", "AnonymousMutableHashTable",
    "AnonymousMutableHashTableOfTensors", "AnonymousMutableDenseHashTable", "InitializeTable",
    "InitializeTableV2", "InitializeTableFromTextFile", "InitializeTableFromTextFileV2",
    "LookupTableFind", "LookupTableFindV2", "LookupTableImport", "LookupTableImportV2",
    "LookupTableInsert", "LookupTableInsertV2", "LookupTableSize", "LookupTableSizeV2",
    "LookupTableExport", "LookupTableExportV2",
    # random numbers
    "RandomUniform", "RandomUniformInt", "RandomStandardNormal", "TruncatedNormal", "RandomShuffle",
    "RandomGamma", "RandomPoisson", "RandomPoissonV2", "Multinomial", "ParameterizedTruncatedNormal",
    "StatefulUniform", "StatefulUniformInt", "StatefulUniformFullInt", "StatefulStandardNormal",
    "StatefulStandardNormalV2", "StatefulTruncatedNormal", "StatefulRandomBinomial", "RngSkip",
    "RngReadAndSkip",
    # restoring a checkpoint (reads files, writes none)
    "RestoreV2", "Restore", "RestoreSlice",
    # calls and control flow: the bodies are checked too
    "StatefulPartitionedCall", "PartitionedCall", "If", "While", "Case", "_Arg", "_Retval",
    # in-session checks and containers
    "Assert", "CheckNumerics", "CheckNumericsV2", "TensorArrayV3", "TensorArrayWriteV3",
    "TensorArrayReadV3", "TensorArrayGatherV3", "TensorArrayScatterV3", "TensorArraySizeV3",
    "TensorArrayCloseV3", "TensorArrayConcatV3", "TensorArraySplitV3", "TensorArrayGradV3",
    "TensorArrayGradWithShape", "StackV2", "StackPushV2", "StackPopV2", "StackCloseV2",
})

# Stateless by their registration, yet they reach outside the session: they call back into Python
# or send tensors to a debugger's URLs.
_STATELESS_OUTSIDE = frozenset({
    "PyFuncStateless", "DebugIdentity", "DebugNanCount", "DebugNumericSummary",
    "DebugNumericSummaryV2", "Copy", "CopyHost",
})

HINT = ("graphdsl runs only ops without effects outside the session when it loads a source, reads "
        "values and initializes; if you trust this source, give it the option "
        "allow_side_effects = true")

_Item = TypeVar("_Item")  # what a guard walks: node names or live ops

_guarded: "weakref.WeakKeyDictionary[tf.Graph, str]" = weakref.WeakKeyDictionary()


def guard(graph: tf.Graph, label: str) -> None:
    """Marks ``graph`` as data from ``label`` (e.g. "source 'models/m'"): what runs of it is checked."""
    _guarded[graph] = label


def guarded(graph: tf.Graph) -> str | None:
    """The label of a guarded graph, or None for a trusted one."""
    return _guarded.get(graph)


def is_safe(op_type: str) -> bool:
    """True for an op type that acts only inside the session (see the module docstring)."""
    if op_type in SAFE_STATEFUL:
        return True
    op_def = internals.op_def(op_type)
    return op_def is not None and not op_def.is_stateful and op_type not in _STATELESS_OUTSIDE


def first_effect(
    nodes: Mapping[str, node_def_pb2.NodeDef],
    library: Mapping[str, function_pb2.FunctionDef],
    roots: Iterable[str],
    trusted: Callable[[str], bool] = lambda _name: False,
) -> str | None:
    """Describes the first op acting outside the session that running ``roots`` would run, or None.

    Follows data and control inputs among ``nodes`` (a name missing there is not followed) and
    every function an op calls. An op for which ``trusted(name)`` holds is followed but not judged,
    and neither are the functions it calls.
    """
    def inputs(name: str) -> Iterable[str]:
        node = nodes.get(name)
        return () if node is None else (i.lstrip("^").partition(":")[0] for i in node.input)

    def judged(name: str) -> node_def_pb2.NodeDef | None:
        return None if name not in nodes or trusted(name) else nodes[name]

    found = _first_unsafe([r.partition(":")[0].lstrip("^") for r in roots], inputs, judged, library)
    if found is None:
        return None
    name, node, detail = found
    return f"op '{name}' ({node.op}){detail}"


def _first_unsafe(roots: list[_Item], inputs: Callable[[_Item], Iterable[_Item]],
                  judged: Callable[[_Item], node_def_pb2.NodeDef | None],
                  library: Mapping[str, function_pb2.FunctionDef]) -> tuple[_Item, node_def_pb2.NodeDef, str] | None:
    """The walk of both guards: from ``roots`` through ``inputs``, the first item whose NodeDef
    (``judged``: None for one not judged) runs an unsafe op, with that NodeDef and the detail."""
    checked: dict[str, str | None] = {}  # function name -> what it runs that is unsafe
    seen: set[_Item] = set()
    stack = roots
    while stack:
        item = stack.pop()
        if item in seen:
            continue
        seen.add(item)
        stack.extend(inputs(item))
        node = judged(item)
        if node is None:
            continue
        found = _node_effect(node, library, checked)
        if found is not None:
            return item, node, found
    return None


def _node_effect(node: node_def_pb2.NodeDef, library: Mapping[str, function_pb2.FunctionDef],
                 checked: dict[str, str | None]) -> str | None:
    """'' when ``node`` itself is unsafe, ' calls ...' when a function it calls is, else None."""
    if node.op not in library and not is_safe(node.op):
        return ""
    if isinstance(library, dict) and not library:
        return None  # calls nothing
    if node.op not in library and not any(map(holds_function, node.attr.values())):
        return None  # calls nothing (most nodes: looked at without node_functions' generators)
    for function in node_functions(node, library):
        found = _function_effect(function, library, checked)
        if found is not None:
            return f", through function '{function}', which runs {found}"
    return None


def _function_effect(name: str, library: Mapping[str, function_pb2.FunctionDef],
                     checked: dict[str, str | None]) -> str | None:
    if name in checked:
        return checked[name]
    checked[name] = None  # a recursive call is judged by the first visit
    result = None
    for node in library[name].node_def:
        found = _node_effect(node, library, checked)
        if found is not None:
            result = f"op '{node.name}' ({node.op}){found}"
            break
    checked[name] = result
    return result


def check_target_runs(graph: tf.Graph, roots: Iterable[tf.Operation],
                      what: str = "initializing the built graph") -> None:
    """Raises BuildError if running ``roots`` of the built ``graph`` would run an unsafe op copied
    from a guarded source. Ops graphdsl made and copies of trusted sources are not judged.

    The walk is :func:`first_effect`'s (both run :func:`_first_unsafe`), over the live graph: it
    visits only what ``roots`` run (an op's data inputs, then its control inputs by name, as a
    GraphDef of the graph lists them), reads the definition of the guarded ops it meets, and the
    function library only when one of them may call a function, instead of serializing the whole
    graph.
    """
    untrusted: dict[tf.Operation, str] = {}
    for source, record in registry_of(graph).records():
        label = guarded(source)
        if label is not None:
            untrusted.update(dict.fromkeys(
                record.ops.values(), f"copied into namespace '{record.namespace}' from {label}"))
    if not untrusted:
        return

    def inputs(op: tf.Operation) -> Iterable[tf.Operation]:
        yield from (tensor.op for tensor in op.inputs)
        yield from sorted(op.control_inputs, key=lambda control: control.name)

    def judged(op: tf.Operation) -> node_def_pb2.NodeDef | None:
        return op.node_def if op in untrusted else None

    found = _first_unsafe(list(roots), inputs, judged, _GraphLibrary(graph))
    if found is not None:
        op, node, detail = found
        raise BuildError(f"{what} would run op '{op.name}' ({node.op}){detail}, which acts outside "
                         f"the session; it was {untrusted[op]}", hint=HINT)


class _GraphLibrary(Mapping[str, function_pb2.FunctionDef]):
    """A graph's function library, read from the graph (one ``as_graph_def``) when first needed.

    A name TensorFlow registers as an op is no function's (it refuses a function named like an
    op), so asking about an op type reads nothing.
    """

    def __init__(self, graph: tf.Graph) -> None:
        self._graph = graph
        self._functions: dict[str, function_pb2.FunctionDef] | None = None
        self._registered: dict[str, bool] = {}  # op type -> registered

    def _read(self) -> dict[str, function_pb2.FunctionDef]:
        if self._functions is None:
            library = self._graph.as_graph_def().library
            self._functions = {f.signature.name: f for f in library.function}
        return self._functions

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            registered = self._registered.get(name)
            if registered is None:
                registered = self._registered[name] = internals.op_def(name) is not None
            if registered:
                return False
        return name in self._read()

    def __getitem__(self, name: str) -> function_pb2.FunctionDef:
        return self._read()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())


def meta_effect(meta: meta_graph_pb2.MetaGraphDef, roots: Iterable[str]) -> str | None:
    """What running ``roots`` (op or tensor names) of a MetaGraphDef would run outside the session."""
    # The table of nodes is garbage once the walk is done, and makes none of its own: no cyclic
    # collection meanwhile (its objects would count towards one of the whole heap).
    with paused(kept=False):
        nodes = {node.name: node for node in meta.graph_def.node}
        library = {f.signature.name: f for f in meta.graph_def.library.function}
        return first_effect(nodes, library, [r for r in roots if r])


def main_op_names(meta: meta_graph_pb2.MetaGraphDef) -> list[str]:
    """The ops a SavedModel loader runs after restoring: its main op, legacy init op or init signature."""
    # (``collection_def[key]`` would add an empty collection to ``meta``, which an import then logs)
    names = [value for key in ("saved_model_main_op", "legacy_init_op") if key in meta.collection_def
             for value in meta.collection_def[key].node_list.value]
    init = meta.signature_def.get("__saved_model_init_op")
    if init is not None:
        names.extend(info.name for info in init.outputs.values())
    return names
