"""The values value-mode copies start from, carried beside the graph instead of inside it.

A variable copied in mode ``value`` is initialized by assigning it ``<variable>/copied_value``. That
op holds no value: it is a ``PyFunc`` that hands over the value kept for it in the target graph's
:class:`InitialValues`, so the GraphDef stays small whatever the weights weigh (a ``Const`` would
carry them through numpy, a TensorProto, the imported GraphDef and its serialized bytes, and could
not hold more than 2 GB), and ``global_variables_initializer()`` keeps working with nothing fed.

:func:`initialize` is the faster way: it feeds each value straight to its ``copied_value`` tensor,
a few at a time, so that no more than about :data:`CHUNK_BYTES` of values are in flight at once,
and shows progress on a terminal while values move. Exports never carry the values either:
:func:`without_values` turns each ``copied_value`` op of an exported graph into a placeholder of
the same dtype and shape (the checkpoint beside the graph holds the values).

Where a value comes from is a *reader*: a function returning the value as a numpy array. The copy
API reads values once, when it copies, and keeps the arrays; a build reads them when it initializes
(from the source's checkpoint file or session), one chunk at a time, so the values are never all in
memory twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import graph_pb2, node_def_pb2, tensor_shape_pb2

from graphdsl.errors import GraphDslError
from graphdsl.tf import internals
from graphdsl.tf.messages import reason
from graphdsl.tools import progress

Reader = Callable[[], Any]

CHUNK_BYTES = 256 << 20  # values fed to one session run, at most (a larger value goes alone)

_ATTRIBUTE = "_graphdsl_initial_values"  # where a graph keeps its InitialValues


@dataclass
class InitialValue:
    """The value one value-mode copy starts from: ``tensor`` (the ``copied_value`` output) is fed it."""

    variable: str  # the copy's op name in the target, for messages
    op_name: str  # the ``copied_value`` op in the target
    dtype: int  # DataType enum
    shape: tensor_shape_pb2.TensorShapeProto
    nbytes: int  # the value's size, or an estimate for strings
    read: Reader
    initializer: str = ""  # the op assigning the value to the copy


class InitialValues:
    """The initial values kept for the value-mode copies of one target graph, by ``copied_value`` op."""

    def __init__(self) -> None:
        self.entries: dict[str, InitialValue] = {}
        self._functions: list[Callable[[], Any]] = []  # the ops' functions, kept alive with the graph

    def add(self, entry: InitialValue, function: Callable[[], Any]) -> None:
        self.entries[entry.op_name] = entry
        self._functions.append(function)

    def __contains__(self, op_name: object) -> bool:
        return op_name in self.entries

    def __bool__(self) -> bool:
        return bool(self.entries)


def values_of(graph: tf.Graph, create: bool = False) -> InitialValues | None:
    """The initial values kept on ``graph`` (None when it has none and ``create`` is false)."""
    found = getattr(graph, _ATTRIBUTE, None)
    if found is None and create:
        found = InitialValues()
        setattr(graph, _ATTRIBUTE, found)
    return found


# -- in the graph ------------------------------------------------------------------------------------


def add_value_node(sub: graph_pb2.GraphDef, name: str, dtype: int, read: Reader) -> Callable[[], Any]:
    """Adds to ``sub`` the op ``name`` that gives ``read()`` when run; returns the function it calls.

    The caller keeps the function alive (TensorFlow's registry of Python functions holds it weakly)
    for as long as the graph the op is imported into may run it.
    """
    def value() -> Any:
        return read()

    node = sub.node.add(name=name, op="PyFunc")
    node.attr["token"].s = internals.register_py_function(value, tf.as_dtype(dtype)).encode()
    node.attr["Tin"].list.SetInParent()
    node.attr["Tout"].list.type.append(dtype)
    return value


def keep(graph: tf.Graph, entry: InitialValue, function: Callable[[], Any]) -> None:
    """Records ``entry`` on ``graph`` once its op was imported, and gives the op its static shape."""
    values = values_of(graph, create=True)
    assert values is not None
    values.add(entry, function)
    graph.get_operation_by_name(entry.op_name).outputs[0].set_shape(entry.shape)


def without_values(graph_def: graph_pb2.GraphDef, graph: tf.Graph) -> bool:
    """Turns each ``copied_value`` op of ``graph_def`` (a GraphDef of ``graph``) into a placeholder.

    A graph written to a file must not call back into this process; the checkpoint written beside
    it holds the values. Returns whether anything changed.
    """
    values = values_of(graph)
    if not values:
        return False
    changed = False
    for node in graph_def.node:
        entry = values.entries.get(node.name)
        if entry is not None and node.op == "PyFunc":
            _as_placeholder(node, entry)
            changed = True
    return changed


def _as_placeholder(node: node_def_pb2.NodeDef, entry: InitialValue) -> None:
    node.op = "Placeholder"
    node.ClearField("attr")
    node.attr["dtype"].type = entry.dtype
    node.attr["shape"].shape.CopyFrom(entry.shape)


# -- initializing a session ------------------------------------------------------------------------


def initialize(session: Any, *, label: str = "initializing variables") -> None:
    """Initializes every variable and table of ``session``'s graph, feeding the kept initial values.

    Does what running ``global_variables_initializer()``, ``local_variables_initializer()`` and
    ``tables_initializer()`` does, but the values of value-mode copies are fed to them a chunk at a
    time instead of passing through Python callbacks. Raises :class:`GraphDslError` when a value
    cannot be read or assigned.
    """
    graph = session.graph
    with graph.as_default():
        variables = [*graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES),
                     *graph.get_collection(tf.compat.v1.GraphKeys.LOCAL_VARIABLES)]
        fed, rest = split_initializers(graph, [v.initializer for v in variables])
        rest += graph.get_collection(tf.compat.v1.GraphKeys.TABLE_INITIALIZERS)
    feed_values(session, fed, rest, label=label)  # adds no op to the graph


def split_initializers(graph: tf.Graph, initializers: Iterable[tf.Operation]
                       ) -> tuple[list[InitialValue], list[tf.Operation]]:
    """The kept initial values whose initializers are among ``initializers``, and the other ones."""
    values = values_of(graph)
    by_initializer = {e.initializer: e for e in values.entries.values()} if values else {}
    fed, rest = [], []
    for op in initializers:
        entry = by_initializer.get(op.name)
        (fed.append(entry) if entry is not None else rest.append(op))  # type: ignore[func-returns-value]
    return fed, rest


def feed_values(session: Any, entries: list[InitialValue], then: list[tf.Operation] | None = None, *,
                label: str = "initializing variables") -> None:
    """Runs the initializers of ``entries`` in ``session``, feeding each its value, chunk by chunk,
    then the ops ``then``: in the same run as the last chunk when the values fit in one, since each
    new set of fetches costs the session a pass over the whole graph.

    An error of the ops ``then`` is raised as TensorFlow raises it.
    """
    then = list(then or ())
    graph = session.graph
    chunks = list(_chunks(entries))
    if not chunks:
        if then:
            session.run(then)
        return
    total = sum(e.nbytes for e in entries)
    with progress.task(f"{label}: values", total=_mib(total)) as step:
        for i, chunk in enumerate(chunks):
            feeds = {}
            for entry in chunk:
                step.describe(f"{label}: value of {entry.variable} ({_mib(entry.nbytes)} MiB)")
                feeds[graph.get_tensor_by_name(entry.op_name + ":0")] = _read(entry)
            fetches = [graph.get_operation_by_name(e.initializer) for e in chunk]
            together = then if len(chunks) == 1 else []
            try:
                session.run(fetches + together, feeds)
            except tf.errors.OpError as e:
                if together:  # which one failed, the assignments or the other initializers?
                    session.run(fetches, feeds)
                    raise
                raise GraphDslError(f"assigning the value of '{chunk[0].variable}' failed: {reason(e)}",
                                    hint="check that the source still holds the value") from None
            del feeds
            step.advance(_mib(sum(e.nbytes for e in chunk)))
    if then and len(chunks) > 1:
        session.run(then)


def _read(entry: InitialValue) -> Any:
    try:
        return entry.read()
    except tf.errors.OpError as e:
        raise GraphDslError(f"reading the value of '{entry.variable}' from its source failed: {reason(e)}",
                            hint="initialize the source's variables or restore its checkpoint, or "
                            "copy them in mode 'init'") from None


def _chunks(entries: list[InitialValue]) -> Iterator[list[InitialValue]]:
    chunk: list[InitialValue] = []
    size = 0
    for entry in entries:
        if chunk and size + entry.nbytes > CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append(entry)
        size += entry.nbytes
    if chunk:
        yield chunk


def _mib(nbytes: int) -> int:
    return (nbytes + (1 << 20) - 1) >> 20


def nbytes_of(dtype: int, shape: tensor_shape_pb2.TensorShapeProto) -> int:
    """The bytes a value of ``dtype`` and ``shape`` takes (strings and unknown shapes: a guess)."""
    size = int(np.prod([d.size for d in shape.dim])) if not shape.unknown_rank else 1
    item = tf.as_dtype(dtype).size if dtype != tf.string.as_datatype_enum else 64
    return max(size, 1) * max(item, 1)


# -- where a build reads values from ---------------------------------------------------------------


class LateValues:
    """A source's values, read when the target is initialized rather than when it is copied.

    Passed as ``session=`` to the copier, it stands for the source's session: ``run`` goes to the
    session (made on first use by ``session``, a function), and each value-mode copy gets a reader
    that takes its value from ``checkpoint`` when that can (a
    :class:`~graphdsl.tf.checkpoints.CheckpointValues`), else from the session.
    """

    def __init__(self, graph: tf.Graph, session: Callable[[], Any], checkpoint: Any = None) -> None:
        self.graph = graph
        self._session = session
        self.checkpoint = checkpoint

    @property
    def session(self) -> Any:
        return self._session()

    def run(self, *args: Any, **kwargs: Any) -> Any:
        return self._session().run(*args, **kwargs)

    def reader(self, variable: str, read: Any) -> Reader | None:
        """A function reading source ``variable`` (an op name) late, or None: then read it now.

        Only a plain read of the variable (``ReadVariableOp`` or ``Identity`` of it, waiting for
        nothing) can be read late, from the checkpoint: anything else runs in the session, when
        the copy is made, as it always did.
        """
        op = read.op
        plain = (op.type in ("ReadVariableOp", "Identity") and not op.control_inputs
                 and op.inputs[0].op.name == variable)
        if self.checkpoint is None or not plain:
            return None
        return self.checkpoint.reader(variable, read.dtype, read.shape)
