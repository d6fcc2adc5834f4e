"""What the copier needs to know about a source graph, computed once per graph version.

The walk runs on the source's GraphDef rather than on its Python ``Operation`` objects: one
``as_graph_def()`` is a single C++ serialization, NodeDefs are cheap to read, and the walk can then
follow cycles (control flow v1) and reach millions of ops without recursion.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

from tensorflow.core.framework import graph_pb2, node_def_pb2
from tensorflow.python.framework import ops

# Op types that own variable state.
VARIABLE_OPS = frozenset({"VarHandleOp", "VariableV2", "Variable", "_VarHandlesOp"})

# Collections that hold variables and keep their names in the target (the seed's rule):
# anything else copied into namespace N goes into collection "N/<name>".
VARIABLE_COLLECTIONS = (
    ops.GraphKeys.GLOBAL_VARIABLES,
    ops.GraphKeys.TRAINABLE_VARIABLES,
    ops.GraphKeys.LOCAL_VARIABLES,
    ops.GraphKeys.MODEL_VARIABLES,
)


@dataclass
class SourceIndex:
    """A snapshot of one source graph: its nodes by name, functions, and variables."""

    graph: ops.Graph
    version: int
    graph_def: graph_pb2.GraphDef
    nodes: dict[str, node_def_pb2.NodeDef]
    functions: dict  # name -> FunctionDef
    gradients: dict[str, str]  # function name -> gradient function name
    variables: dict  # variable op name -> tf.Variable of the source
    _consumers: dict[str, list[str]] | None = field(default=None, repr=False)
    _defs: dict | None = field(default=None, repr=False)
    _owners: dict[str, str] | None = field(default=None, repr=False)
    _memberships: dict[str, list[str]] | None = field(default=None, repr=False)

    @property
    def variable_defs(self) -> dict:
        """The VariableDef of every variable that has one, by variable op name."""
        if self._defs is None:
            with self.graph.as_default():
                self._defs = {
                    name: var.to_proto()
                    for name, var in self.variables.items()
                    if hasattr(var, "to_proto")
                }
        return self._defs

    def initializer_owner(self, op_name: str) -> str | None:
        """The variable whose initializer op is ``op_name``, if any."""
        if self._owners is None:
            self._owners = {
                vdef.initializer_name.partition(":")[0]: name
                for name, vdef in self.variable_defs.items()
                if vdef.initializer_name
            }
        return self._owners.get(op_name)

    def variable_collections(self, op_name: str) -> list[str]:
        """The variable collections that hold the variable ``op_name``, in a fixed order."""
        if self._memberships is None:
            table: dict[str, list[str]] = {}
            for key in VARIABLE_COLLECTIONS:
                for var in self.graph.get_collection(key):
                    op = getattr(var, "op", None)
                    if op is not None and key not in table.setdefault(op.name, []):
                        table[op.name].append(key)
            self._memberships = table
        return self._memberships.get(op_name, [])

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


_cache: "weakref.WeakKeyDictionary[ops.Graph, SourceIndex]" = weakref.WeakKeyDictionary()


def index_of(graph: ops.Graph) -> SourceIndex:
    """The index of ``graph``, rebuilt only when the graph gained operations since the last call."""
    version = graph.version
    cached = _cache.get(graph)
    if cached is not None and cached.version == version:
        return cached
    graph_def = graph.as_graph_def()
    index = SourceIndex(
        graph=graph,
        version=version,
        graph_def=graph_def,
        nodes={node.name: node for node in graph_def.node},
        functions={f.signature.name: f for f in graph_def.library.function},
        gradients={g.function_name: g.gradient_func for g in graph_def.library.gradient},
        variables=_variables(graph),
    )
    _cache[graph] = index
    return index


def _variables(graph: ops.Graph) -> dict:
    found = {}
    for key in VARIABLE_COLLECTIONS:
        for var in graph.get_collection(key):
            op = getattr(var, "op", None)
            if op is not None and op.graph is graph:
                found.setdefault(op.name, var)
    return found
