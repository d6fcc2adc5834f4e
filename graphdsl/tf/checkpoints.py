"""Reading a source's variable values straight from its checkpoint, without restoring it.

A MetaGraph source with a checkpoint does not restore its variables into a session when it loads:
a copy in mode ``value`` reads each value from the checkpoint file when the target is initialized
(as ``tf.compat.v1.train.init_from_checkpoint`` does), so a build holds each weight once, in the
target, instead of once in the source's session and once more in the target's. Anything else that
needs the source's session (a mutable table's contents, a variable the checkpoint keys do not
plainly name) restores it then, whole, as loading used to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import tensorflow as tf

from graphdsl.errors import SourceError
from graphdsl.tf.initial_values import Reader
from graphdsl.tf.messages import reason

# What TensorFlow's checkpoint reader raises on a truncated or corrupt file, besides its OpErrors.
UNREADABLE = (tf.errors.OpError, IndexError, RuntimeError, OSError)

_ASSIGNS = ("Assign", "AssignVariableOp")


def restored_keys(graph: tf.Graph, restore_op: str) -> dict[str, tuple[str, int]] | None:
    """``{variable op name: (checkpoint key, output index)}`` for what ``restore_op`` assigns.

    Follows the Saver's restore op down its control inputs (``restore_all``, ``restore_shard``) to
    the assign ops, and each assign's value back through identities to a ``RestoreV2`` output
    whose slice spec is empty (a whole tensor, not a partition). None when the restore op does
    anything else: then only running it tells what it restores.
    """
    try:
        root = graph.get_operation_by_name(restore_op.partition(":")[0])
    except KeyError:
        return None
    keys: dict[str, tuple[str, int]] = {}
    strings: dict[str, list[str] | None] = {}  # a RestoreV2's names and slices, read once each
    stack, seen = [root], set()
    while stack:
        op = stack.pop()
        if op.name in seen:
            continue
        seen.add(op.name)
        if op.type == "NoOp" and not op.inputs:
            stack.extend(op.control_inputs)
            continue
        found = _restored(op.inputs[1], strings) if op.type in _ASSIGNS and len(op.inputs) == 2 else None
        if found is None or op.control_inputs:
            return None
        keys[op.inputs[0].op.name] = found
    return keys


def _restored(tensor: Any, strings: dict[str, list[str] | None]) -> tuple[str, int] | None:
    while tensor.op.type == "Identity":
        tensor = tensor.op.inputs[0]
    op = tensor.op
    if op.type != "RestoreV2":
        return None
    # A Saver restores every variable from one RestoreV2 (per shard): its lists of names and slices
    # are read once, not once per variable (that was quadratic: 2.8 s for 880 variables).
    names, slices = (_cached_strings(op.inputs[i], strings) for i in (1, 2))
    index = tensor.value_index
    if names is None or slices is None or index >= len(names) or slices[index]:
        return None
    return names[index], index


def _cached_strings(tensor: Any, strings: dict[str, list[str] | None]) -> list[str] | None:
    if tensor.name not in strings:
        strings[tensor.name] = _const_strings(tensor)
    return strings[tensor.name]


def _const_strings(tensor: Any) -> list[str] | None:
    if tensor.op.type != "Const":
        return None
    proto = tensor.op.get_attr("value")
    return [s.decode("utf-8", "replace") for s in proto.string_val]


class CheckpointValues:
    """Reads single variables of a checkpoint, with the keys a Saver restores them from."""

    def __init__(self, prefix: Path, keys: dict[str, tuple[str, int]]) -> None:
        self.prefix = prefix
        self.keys = keys
        self._reader: Any = None
        self._dtypes: dict[str, tf.DType] | None = None
        self._shapes: dict[str, list[int]] | None = None

    def check(self, variables: dict[str, tuple[tf.DType, tf.TensorShape]]) -> None:
        """Raises ValueError unless the checkpoint holds a value for each of ``variables`` (by op
        name: dtype and shape), under the key it is restored from, as restoring it would."""
        dtypes, shapes = self._maps()
        for variable, (dtype, shape) in variables.items():
            entry = self.keys.get(variable)
            if entry is None:
                raise ValueError(f"nothing restores variable '{variable}'")
            key = entry[0]
            if key not in dtypes:
                raise ValueError(f"Key {key} not found in checkpoint")
            if dtypes[key] != dtype.base_dtype or not shape.is_compatible_with(shapes[key]):
                raise ValueError(f"variable '{variable}' ({dtype.base_dtype.name} {shape}) is "
                                 f"{dtypes[key].name} {tf.TensorShape(shapes[key])} in the checkpoint")

    def reader(self, variable: str, dtype: tf.DType, shape: tf.TensorShape) -> Reader | None:
        """A function reading ``variable``'s value from the checkpoint, or None if it cannot."""
        entry = self.keys.get(variable)
        if entry is None:
            return None
        key = entry[0]
        dtypes, shapes = self._maps()
        if key not in dtypes or dtypes[key] != dtype.base_dtype or not shape.is_compatible_with(shapes[key]):
            return None
        return _read(self._open(), key, self.prefix)

    def _open(self) -> Any:
        """The checkpoint's reader; ValueError when its index cannot be read."""
        if self._reader is None:
            try:
                self._reader = tf.compat.v1.train.NewCheckpointReader(str(self.prefix))
            except UNREADABLE as e:
                raise ValueError(f"checkpoint '{self.prefix}' cannot be read: {reason(e)}") from e
        return self._reader

    def _maps(self) -> tuple[dict[str, tf.DType], dict[str, list[int]]]:
        """The checkpoint's dtype and shape of every key (each map is built anew by every call)."""
        if self._dtypes is None:
            reader = self._open()
            self._dtypes, self._shapes = reader.get_variable_to_dtype_map(), reader.get_variable_to_shape_map()
        assert self._shapes is not None
        return self._dtypes, self._shapes


def _read(reader: Any, key: str, prefix: Path) -> Callable[[], Any]:
    def read() -> Any:
        try:
            return reader.get_tensor(key)
        except UNREADABLE as e:  # the index was read, the data under it is not all there
            raise SourceError(f"{prefix}: the value of '{key}' cannot be read from the checkpoint ({reason(e)})",
                              hint="the checkpoint is truncated or corrupt: write it again") from e
    return read
