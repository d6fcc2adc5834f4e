"""What the copier needs to know about a source graph, computed once per graph version.

The walk runs on the source's GraphDef rather than on its Python ``Operation`` objects: one
``as_graph_def()`` is a single C++ serialization, NodeDefs are cheap to read, and the walk can then
follow cycles (control flow v1) and reach millions of ops without recursion.

The index is kept on the source graph object, for the next copy from it, and goes with the graph;
:func:`release_index` drops it (and the GraphDef it holds) sooner, when no copy from that graph
will follow.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import tensorflow as tf
from tensorflow.core.framework import graph_pb2, node_def_pb2, variable_pb2

from graphdsl.tf import internals

_KEYS = tf.compat.v1.GraphKeys

# Op types that own variable state.
VARIABLE_OPS = frozenset({"VarHandleOp", "VariableV2", "Variable", "_VarHandlesOp"})

# Op types that name a control flow v1 frame.
FRAME_OPS = frozenset({"Enter", "RefEnter"})

# Tables filled by the program rather than by an initializer; a SavedModel restores their contents.
MUTABLE_TABLE_OPS = frozenset({
    "MutableHashTable", "MutableHashTableV2", "MutableHashTableOfTensors",
    "MutableHashTableOfTensorsV2", "MutableDenseHashTable", "MutableDenseHashTableV2",
})

# Collections that hold variables and keep their names in the target (the seed's rule):
# anything else copied into namespace N goes into collection "N/<name>".
VARIABLE_COLLECTIONS = (
    _KEYS.GLOBAL_VARIABLES,
    _KEYS.TRAINABLE_VARIABLES,
    _KEYS.LOCAL_VARIABLES,
    _KEYS.MODEL_VARIABLES,
)

# Collections that keep their names in the target, because TensorFlow reads them by name: a MetaGraph
# import rebuilds control flow v1 contexts from protos only under their own names (and gives each op
# its context from them); ``tables_initializer()`` and SavedModel exports read the table initializers
# and asset paths there. The names of the ops they list carry the namespace.
GRAPH_COLLECTIONS = (
    _KEYS.COND_CONTEXT,
    _KEYS.WHILE_CONTEXT,
    _KEYS.TABLE_INITIALIZERS,
    _KEYS.ASSET_FILEPATHS,
)


@dataclass
class SourceIndex:
    """A snapshot of one source graph: its nodes by name, functions, and variables."""

    graph: tf.Graph
    version: int
    graph_def: graph_pb2.GraphDef
    nodes: dict[str, node_def_pb2.NodeDef]
    functions: dict  # name -> FunctionDef
    gradients: dict[str, str]  # function name -> gradient function name
    variables: dict  # variable op name -> tf.Variable of the source
    memberships: dict[str, list[str]]  # variable op name -> the variable collections holding it
    variable_ops: list[str]  # the ops of a type in VARIABLE_OPS, in the GraphDef's order
    # The few ops a copy may rewrite or treats apart (see :func:`notable`), by name, with their
    # positions in the GraphDef, in its order: a walk reads the type of these ops only.
    notable: dict[str, int]
    _consumers: dict[str, list[str]] | None = field(default=None, repr=False)
    _defs: dict | None = field(default=None, repr=False)
    _owners: dict[str, str] | None = field(default=None, repr=False)
    _loops: dict[str, list[str]] | None = field(default=None, repr=False)
    _colocations: dict[str, tuple[str, ...]] | None = field(default=None, repr=False)
    # Every op name a colocation constraint of the source names, and maybe a few names more; None
    # when the serialized GraphDef did not tell (then :attr:`colocations` does).
    colocated_with: frozenset[str] | None = None
    _positions: dict[str, int] | None = field(default=None, repr=False)

    @property
    def colocations(self) -> dict[str, tuple[str, ...]]:
        """For each op with colocation constraints, the ops it is colocated with."""
        if self._colocations is None:
            colocations: dict[str, tuple[str, ...]] = {}
            for node in self.graph_def.node:
                attr = node.attr
                if "_class" in attr:
                    colocations[node.name] = tuple(
                        s[5:].decode() for s in attr["_class"].list.s if s.startswith(b"loc:@"))
            self._colocations = colocations
        return self._colocations

    def in_graph_order(self, names) -> list[str]:
        """``names`` (op names of the source) in the order the source created them.

        Costs what sorting ``names`` costs, not a scan of the source: many small copies from one
        big source each pay for their own ops only. Names of notable ops (variables, say) are
        sorted without :attr:`positions`, a table of every op.
        """
        names, notable = list(names), self.notable
        if all(name in notable for name in names):
            return sorted(names, key=notable.__getitem__)
        return sorted(names, key=self.positions.__getitem__)

    @property
    def positions(self) -> dict[str, int]:
        """Each op's position in the source's GraphDef."""
        if self._positions is None:
            self._positions = {name: i for i, name in enumerate(self.nodes)}
        return self._positions

    @property
    def loops(self) -> dict[str, list[str]]:
        """For each op of a control flow v1 loop, every op of that loop.

        A v1 loop is copied whole: its frame, and tf.gradients through it, need all of its ops.
        """
        if self._loops is None:
            table: dict[str, list[str]] = {}
            with self.graph.as_default():
                for context in self.graph.get_collection(_KEYS.WHILE_CONTEXT):
                    proto = internals.to_proto(_KEYS.WHILE_CONTEXT, context)
                    members = sorted({v.partition(":")[0] for v in proto.values_def.values}
                                     - {v.partition(":")[0] for v in proto.values_def.external_values})
                    for member in members:
                        table.setdefault(member, members)
            self._loops = table
        return self._loops

    @property
    def variable_defs(self) -> dict:
        """The VariableDef of every variable that has one, by variable op name."""
        if self._defs is None:
            with self.graph.as_default():
                defs = {
                    name: var.to_proto()
                    for name, var in self.variables.items()
                    if hasattr(var, "to_proto")
                }
            for name in self.variable_ops:
                if name not in defs:
                    inferred = self._infer_def(self.nodes[name])
                    if inferred is not None:
                        defs[name] = inferred
            self._defs = defs
        return self._defs

    def _infer_def(self, node: node_def_pb2.NodeDef) -> variable_pb2.VariableDef | None:
        """A VariableDef for a variable outside any collection (a graph loaded from a GraphDef).

        TensorFlow names a variable's initializer "<name>/Assign" and its read op
        "<name>/Read/ReadVariableOp" (resource) or "<name>/read" (ref); without them, None.
        """
        name = node.name
        assign = self.nodes.get(name + "/Assign")
        if assign is None or assign.op not in ("Assign", "AssignVariableOp"):
            return None
        if len(assign.input) < 2 or assign.input[0] != name:
            return None
        vdef = variable_pb2.VariableDef(
            variable_name=name + ":0",
            initializer_name=assign.name,
            initial_value_name=tensor_name(assign.input[1]),
            trainable=is_trainable_dtype(node.attr["dtype"].type),
            is_resource=node.op != "VariableV2" and node.op != "Variable",
        )
        for read in (name + "/Read/ReadVariableOp", name + "/read"):
            if read in self.nodes and self.nodes[read].input[:1] == [name]:
                vdef.snapshot_name = read + ":0"
                break
        return vdef

    @property
    def initializer_owners(self) -> dict[str, str]:
        """For each variable initializer op, the variable it initializes."""
        if self._owners is None:
            self._owners = {
                vdef.initializer_name.partition(":")[0]: name
                for name, vdef in self.variable_defs.items()
                if vdef.initializer_name
            }
        return self._owners

    def variable_collections(self, op_name: str) -> list[str]:
        """The variable collections that hold the variable ``op_name``, in a fixed order."""
        return self.memberships.get(op_name, [])

    def consumers(self, op_name: str) -> list[str]:
        """Names of the ops that take an output of ``op_name`` as a data input."""
        if self._consumers is None:
            table: dict[str, list[str]] = {}
            for node in self.graph_def.node:
                for name in node.input:
                    if not name.startswith("^"):
                        table.setdefault(name.partition(":")[0], []).append(node.name)
            self._consumers = table
        return self._consumers.get(op_name, [])


def colocation_names(serialized: bytes) -> frozenset[str] | None:
    """The op names after every ``loc:@`` of a serialized GraphDef, or None when one of them is
    not the start of a length-prefixed string.

    A colocation constraint is an entry b"loc:@<op name>" of the ``_class`` attribute's list of
    strings; serialized, each entry is tag 0x12 (``AttrValue.ListValue.s``), its length as a
    varint, then its bytes. Every colocation entry of the GraphDef is among the names; other bytes
    that happen to read ``loc:@`` (inside a tensor's content, say) may add names, or make the
    answer None.
    """
    # Read in place, occurrence by occurrence: splitting the bytes would copy the whole GraphDef.
    # ``start`` is where the bytes after the previous occurrence begin, ``at`` this occurrence.
    find, marker, end = serialized.find, b"loc:@", len(serialized)
    found = set()
    start, at = 0, find(marker)
    while at >= 0:
        following = find(marker, at + 5)
        limit = following if following >= 0 else end  # the name ends before the next occurrence
        if at - start >= 2 and serialized[at - 2] == 0x12 and serialized[at - 1] < 0x80:
            length = serialized[at - 1] - 5
        elif at - start >= 3 and serialized[at - 3] == 0x12 and serialized[at - 2] >= 0x80 > serialized[at - 1]:
            length = ((serialized[at - 2] & 0x7F) | serialized[at - 1] << 7) - 5
        else:
            return None
        start = at + 5
        if not 0 <= length <= limit - start:
            return None
        found.add(serialized[start:start + length])
        at = following
    try:
        return frozenset(name.decode() for name in found)
    except UnicodeDecodeError:
        return None


@functools.lru_cache(maxsize=None)
def may_rename(op_type: str) -> bool:
    """Whether a copy of an op of this type may need a rewrite whatever the copy: a v1 frame
    (``frame_name``), or a type with a state name (``shared_name``; an unknown type may have one)."""
    if op_type in FRAME_OPS:
        return True
    op_def = internals.op_def(op_type)
    return op_def is None or any(attr.name == "shared_name" for attr in op_def.attr)


def notable(op_type: str) -> bool:
    """Whether a copy treats an op of this type apart: it may rewrite it (:func:`may_rename`), or
    it is a variable or a mutable table."""
    return may_rename(op_type) or op_type in VARIABLE_OPS or op_type in MUTABLE_TABLE_OPS


class _Notable(dict):
    """:func:`notable` of each op type, asked once per type; ``__getitem__`` is a C call."""

    def __missing__(self, op_type: str) -> bool:
        self[op_type] = found = notable(op_type)
        return found


_NOTABLE = _Notable()


def renamed(node: node_def_pb2.NodeDef) -> bool:
    """Whether the copy of ``node`` needs a rewrite whatever the copy: a v1 frame, or a state name."""
    attr = node.attr
    return node.op in FRAME_OPS or ("shared_name" in attr and bool(attr["shared_name"].s))


def is_trainable_dtype(dtype: int) -> bool:
    """Whether a variable of this dtype can be trained (a string or integer one cannot)."""
    base = tf.as_dtype(dtype).base_dtype
    return base.is_floating or base.is_complex


def tensor_name(name: str) -> str:
    """'x' -> 'x:0'; 'x:1' stays."""
    return name if ":" in name else name + ":0"


_ATTRIBUTE = "_graphdsl_index"  # where a source graph keeps its index


def index_of(graph: tf.Graph) -> SourceIndex:
    """The index of ``graph``, rebuilt only when the graph gained operations since the last call."""
    return index_and_bytes(graph)[0]


def index_and_bytes(graph: tf.Graph) -> tuple[SourceIndex, "bytes | internals.KeptBuffer | None"]:
    """:func:`index_of`, and the serialized GraphDef the index was made from when this call made
    it (else None), as :func:`~.internals.import_serialized` takes it. The index does not keep
    it: a whole-graph copy that follows at once imports it rather than serializing the GraphDef
    again."""
    version = graph.version
    cached = getattr(graph, _ATTRIBUTE, None)
    if cached is not None and cached.version == version:
        return cached, None
    release_index(graph)  # the old GraphDef goes before the new one is made
    graph_def, serialized, importable = internals.graph_def_and_bytes(graph)
    variables, memberships = _variables(graph)
    nodes: dict[str, node_def_pb2.NodeDef] = {}
    notable: dict[str, int] = {}
    is_notable = _NOTABLE
    # One pass: at 200k ops the nodes no longer fit in the CPU's caches, and each further pass
    # over them (even a C loop: map, zip) costs about as much as this one.
    for position, node in enumerate(graph_def.node):
        name = node.name
        nodes[name] = node
        if is_notable[node.op]:
            notable[name] = position
    variable_ops = [name for name in notable if nodes[name].op in VARIABLE_OPS]
    index = SourceIndex(
        graph=graph,
        version=version,
        graph_def=graph_def,
        nodes=nodes,
        functions={f.signature.name: f for f in graph_def.library.function},
        gradients={g.function_name: g.gradient_func for g in graph_def.library.gradient},
        variables=variables,
        memberships=memberships,
        variable_ops=variable_ops,
        notable=notable,
        # From the bytes, which a whole-graph copy asks about rather than reading every node's
        # attributes (several times the cost); the bytes themselves are not kept.
        colocated_with=colocation_names(serialized),
    )
    setattr(graph, _ATTRIBUTE, index)
    return index, importable


def release_index(graph: tf.Graph) -> None:
    """Drops the index of ``graph`` and the GraphDef it holds; a later copy from it makes a new one."""
    if getattr(graph, _ATTRIBUTE, None) is not None:
        delattr(graph, _ATTRIBUTE)


def _variables(graph: tf.Graph) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The variables of ``graph``'s variable collections by op name, and the collections holding each."""
    found: dict[str, Any] = {}
    memberships: dict[str, list[str]] = {}
    for key in VARIABLE_COLLECTIONS:
        for var in graph.get_collection(key):
            name = _op_name(var)
            if name is None:
                continue
            if var.graph is graph:
                found.setdefault(name, var)
            keys = memberships.setdefault(name, [])
            if key not in keys:
                keys.append(key)
    return found, memberships


def _op_name(var) -> str | None:
    """The op name of a collection entry that is a variable (``ResourceVariable.op`` is slow)."""
    name = getattr(var, "name", None)
    if not isinstance(name, str) or not hasattr(var, "initializer"):
        return None
    return name.rpartition(":")[0]
