"""Which element of a target graph is the copy of which original.

Every target graph gets one :class:`Registry`, kept on the graph object itself (so it lives and
dies with the graph: a module-level table keyed by graph would keep every graph alive through the
copies it records); it holds a :class:`CopyRecord` per (source graph, namespace) pair, and never
a reference to a source graph. The copier consults it to reuse earlier copies instead of
duplicating them and to tell a copy from an unrelated element that happens to carry the same
name; ``get_copied`` consults it to answer lookups, including the ones a name cannot answer
(replaced inputs, placeholders put where a walk stopped).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

import tensorflow as tf


@dataclass
class CopyRecord:
    """The copies made from one source graph into one namespace of a target graph."""

    namespace: str
    ops: dict[str, tf.Operation] = field(default_factory=dict)  # original op name -> copy
    tensors: dict[str, Any] = field(default_factory=dict)  # original tensor name -> target tensor
    variables: dict[str, Any] = field(default_factory=dict)  # original variable op name -> Variable
    collected: set[tuple[str, int]] = field(default_factory=set)  # (collection, index) added

    def find(self, original) -> Any:
        """The copy of ``original`` (Operation, Tensor or Variable of the source), or None."""
        if isinstance(original, tf.Operation):
            return self.ops.get(original.name)
        if isinstance(original, tf.Tensor):
            found = self.tensors.get(original.name)
            if found is None and original.op.name in self.ops:
                found = self.ops[original.op.name].outputs[original.value_index]
            return found
        if is_variable(original):
            return self.variables.get(original.op.name)
        return None

    def names(self) -> list[str]:
        """Every original name this record can answer for, for "did you mean" hints."""
        return [*self.ops, *self.tensors]


class Registry:
    """All copy records of one target graph."""

    def __init__(self) -> None:
        self._records: dict[tuple[int, str], CopyRecord] = {}
        self._sources: dict[int, weakref.ref] = {}
        self.functions: dict[str, bytes] = {}  # function name in the target -> definition bytes

    def record(self, source: tf.Graph, namespace: str) -> CopyRecord | None:
        """The record for (``source``, ``namespace``), or None if nothing was copied there yet."""
        record = self._records.get((id(source), namespace))
        if record is not None and self._sources[id(source)]() is source:
            return record
        return None

    def add(self, source: tf.Graph, record: CopyRecord) -> None:
        """Keeps ``record`` as the record of (``source``, ``record.namespace``)."""
        self._records[(id(source), record.namespace)] = record
        if id(source) not in self._sources:
            self._sources[id(source)] = weakref.ref(source, self._forget(id(source)))

    def _forget(self, source_id: int):
        def forget(_ref: weakref.ref) -> None:
            for key in [k for k in self._records if k[0] == source_id]:
                del self._records[key]
            self._sources.pop(source_id, None)

        return forget

    def records(self) -> list[tuple[tf.Graph, CopyRecord]]:
        """Every (source graph, record) pair whose source graph is still alive."""
        pairs = []
        for (source_id, _), record in self._records.items():
            source = self._sources[source_id]()
            if source is not None:
                pairs.append((source, record))
        return pairs

    def namespace_known(self, namespace: str) -> bool:
        """True when some copy went into ``namespace`` of this target."""
        return any(ns == namespace for _, ns in self._records)


def is_variable(element) -> bool:
    """True for a tf.Variable (resource or ref) without importing the variable classes."""
    return (
        hasattr(element, "initializer")
        and hasattr(element, "op")
        and not isinstance(element, (tf.Tensor, tf.Operation))
    )


def variable_tensor(var) -> tf.Tensor:
    """The tensor that is a variable in its graph: a resource variable's handle, a ref variable's ref."""
    return var.handle if hasattr(var, "handle") else var.op.outputs[0]


def variable_named(graph: tf.Graph, op_name: str):
    """The variable of ``graph``'s GLOBAL_VARIABLES whose op is ``op_name``, or None."""
    wanted = op_name + ":0"
    for var in graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES):
        if var.name == wanted:  # ``var.op`` is slow on resource variables
            return var
    return None


_ATTRIBUTE = "_graphdsl_registry"  # where a target graph keeps its registry


def registry_of(graph: tf.Graph) -> Registry:
    """The registry of target ``graph``, made on first use."""
    registry = getattr(graph, _ATTRIBUTE, None)
    if registry is None:
        registry = Registry()
        setattr(graph, _ATTRIBUTE, registry)
    return registry
