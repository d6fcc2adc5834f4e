"""How the copier copies variables, in its two modes.

- **init**: the variable's initializer (and the subgraph that computes its initial value) is
  copied, so running the target's initializers draws values afresh as the source would.
- **value**: the variable's current value becomes the initial value of the copy, so initializing
  the target restores the trained weights. The value is not put in the graph: the copy's initial
  value is an op that hands over the value kept beside the graph (see :mod:`.initial_values`). It
  is read through the source's session when the copy is made, or later, when the target is
  initialized, when ``session`` is a :class:`~graphdsl.tf.initial_values.LateValues`.

Either way the copy is rebuilt as a real ``tf.Variable`` of the target, through the same
``VariableDef`` protocol a MetaGraph import uses, and put into the target's variable collections.
Variables the source has no ``VariableDef`` for (graphs loaded from a TF2 SavedModel keep none)
can only be value-copied; they get a synthesized initializer and read op.
"""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import graph_pb2, tensor_shape_pb2, variable_pb2

from graphdsl.errors import CopyError
from graphdsl.lang import schema
from graphdsl.tf import effects, initial_values, internals
from graphdsl.tf.initial_values import InitialValue, LateValues, Reader
from graphdsl.tf.index import is_trainable_dtype
from graphdsl.tools import progress

if TYPE_CHECKING:
    from graphdsl.tf.copier import Copier, Walk

_RESOURCE_OPS = ("VarHandleOp", "_VarHandlesOp")

ModeRule = Callable[[str], str]  # a variable's op name -> its mode
MODES = schema.VARIABLE_MODES


def mode_rule(variables: str | Mapping[str, str] | ModeRule) -> ModeRule:
    """Turns the ``variables`` argument into a function from a variable's op name to its mode.

    Accepted: "init" or "value" for all variables; a mapping from glob patterns on the variable's
    op name to a mode (the last matching pattern wins; "*" sets the default, which is "init"); or a
    function of the name.
    """
    if isinstance(variables, str):
        _check_mode(variables, "variables")
        return lambda _name: variables
    if isinstance(variables, Mapping):
        rules = list(variables.items())
        for pattern, mode in rules:
            _check_mode(mode, f"variables[{pattern!r}]")

        def by_pattern(name: str) -> str:
            chosen = schema.DEFAULT_MODE
            for pattern, mode in rules:
                if fnmatch.fnmatchcase(name, pattern):
                    chosen = mode
            return chosen

        return by_pattern
    if callable(variables):
        def checked(name: str) -> str:
            mode = variables(name)
            _check_mode(mode, f"the mode chosen for variable '{name}'")
            return mode

        return checked
    raise CopyError(f"variables must be 'init', 'value', a mapping or a function, not {variables!r}")


def _check_mode(mode: Any, what: str) -> None:
    if mode not in MODES:
        raise CopyError(f"{what} is {mode!r}", hint="a variable mode is 'init' or 'value'")


class VariableCopies:
    """The variable side of one :class:`~graphdsl.copier.Copier`."""

    def __init__(self, copier: "Copier") -> None:
        self.copier = copier
        self.index = copier.index
        self._synth: dict[str, tuple[str, str, str]] = {}  # var -> (value, assign, read) node names
        self._values: dict[str, tuple[InitialValue, Any]] = {}  # var -> (its value, the op's function)

    # -- what the source says ----------------------------------------------------------------------

    @property
    def defs(self) -> dict[str, variable_pb2.VariableDef]:
        return self.index.variable_defs

    def extra_roots(self, name: str, mode: str) -> list[str]:
        """Source ops a copied variable needs besides itself, in ``mode``."""
        vdef = self.defs.get(name)
        if vdef is None:
            if mode == schema.INIT_MODE:
                raise CopyError(
                    f"variable '{name}' has no initializer in the source graph (a graph loaded "
                    "from a TF2 SavedModel or a bare GraphDef keeps none), so it cannot be "
                    "copied in mode 'init'",
                    hint="copy it in mode 'value', with the session that holds its value",
                )
            return []
        roots = [_op(vdef.snapshot_name)] if vdef.snapshot_name else []
        if mode == schema.INIT_MODE:
            roots.append(_op(vdef.initializer_name))
            # The initializer need not read the initial value: an initial value that reads another
            # variable is assigned through a guard TensorFlow adds, while the VariableDef (and the
            # copy's ``initial_value``) names the value as given.
            if vdef.initial_value_name:
                roots.append(_op(vdef.initial_value_name))
        return roots

    def replaced_initializers(self, walk: "Walk") -> set[str]:
        """Source initializer ops that value mode replaces with one of its own."""
        return {
            _op(self.defs[name].initializer_name)
            for name, mode in walk.variables.items()
            if mode == schema.VALUE_MODE and name in self.defs
        }

    # -- value mode ----------------------------------------------------------------------------------

    def read_values(self, walk: "Walk") -> dict[str, Reader]:
        """A reader of the current value of each value-mode variable of ``walk``.

        With a session, the values are read now, in one session run, and the readers hand them
        over; with :class:`LateValues`, each reader reads its value when it is called.
        """
        names = [n for n, mode in walk.variables.items() if mode == schema.VALUE_MODE]
        if not names:
            return {}
        session = self.copier.session
        if session is None:
            raise CopyError(
                f"variable '{names[0]}' is copied in mode 'value', but no session was given to "
                "read its value from",
                hint="pass session= (the session holding the source's values), or use mode 'init'",
            )
        if session.graph is not self.copier.source:
            raise CopyError(
                "the session given to read variable values runs another graph than the source",
                hint="pass the session of the source graph",
            )
        reads = [self._read_tensor(name) for name in names]
        self._check_reads(reads)
        late: dict[str, Reader] = {}
        if isinstance(session, LateValues):
            for name, read in zip(names, reads):
                found = session.reader(name, read)
                if found is not None:
                    late[name] = found
        now = [(name, read) for name, read in zip(names, reads) if name not in late]
        if not now:
            return late
        try:
            with progress.task(f"reading the values of {len(now)} variable{'s' if len(now) > 1 else ''}"):
                values = session.run([read for _, read in now])
        except tf.errors.FailedPreconditionError as e:
            raise CopyError(
                f"a variable copied in mode 'value' has no value in the session: {e.message}",
                hint="initialize the source's variables or restore its checkpoint first, "
                "or copy them in mode 'init'",
            ) from None
        held = {name: _Held(value) for (name, _), value in zip(now, values)}
        return {name: late[name] if name in late else held[name] for name in names}

    def _check_reads(self, reads: list[tf.Tensor]) -> None:
        """Refuses to read values through ops that act outside the session, in a guarded source."""
        label = effects.guarded(self.copier.source)
        if label is None:
            return
        for read in reads:
            found = effects.first_effect(self.index.nodes, self.index.functions, [read.name])
            if found is not None:
                raise CopyError(f"reading the value of '{read.name}' of {label} would run {found}, "
                                "which acts outside the session", hint=effects.HINT)

    def _read_tensor(self, name: str) -> tf.Tensor:
        source = self.copier.source
        vdef = self.defs.get(name)
        if vdef is not None and vdef.snapshot_name:
            return source.get_tensor_by_name(vdef.snapshot_name)
        for consumer in self.index.consumers(name):
            op = source.get_operation_by_name(consumer)
            if op.type in ("ReadVariableOp", "Identity") and op.inputs[0].op.name == name:
                return op.outputs[0]
        raise CopyError(
            f"cannot read the value of variable '{name}': the source graph has no op reading it",
            hint="copy it in mode 'init', or load the source with its read ops",
        )

    def add_initializers(self, walk: "Walk", sub: graph_pb2.GraphDef, values: dict[str, Reader]) -> None:
        """Adds, for each value-mode variable, the op giving its value and an op assigning it."""
        for name, read in values.items():
            node = self.index.nodes[name]
            dtype = node.attr["dtype"].type
            vdef = self.defs.get(name)
            value_name = self.free(f"{name}/copied_value")
            assign_name = _op(vdef.initializer_name) if vdef else self.free(f"{name}/copied_assign")
            function = initial_values.add_value_node(sub, value_name, dtype, read)
            if node.op in _RESOURCE_OPS:
                assign = sub.node.add(name=assign_name, op="AssignVariableOp", input=[name, value_name])
                assign.attr["dtype"].type = dtype
            else:
                assign = sub.node.add(name=assign_name, op="Assign", input=[name, value_name])
                assign.attr["T"].type = dtype
                assign.attr["validate_shape"].b = True
                assign.attr["use_locking"].b = True
            read_name = ""
            if vdef is None:
                read_name = self.free(f"{name}/copied_read")
                read_node = sub.node.add(name=read_name, input=[name])
                if node.op in _RESOURCE_OPS:
                    read_node.op = "ReadVariableOp"
                    read_node.attr["dtype"].type = dtype
                else:
                    read_node.op = "Identity"
                    read_node.attr["T"].type = dtype
            self._synth[name] = (value_name, assign_name, read_name)
            shape = _value_shape(read, node)
            prefix = self.copier.prefix
            entry = InitialValue(prefix + name, prefix + value_name, dtype, shape,
                                 initial_values.nbytes_of(dtype, shape), read, prefix + assign_name)
            self._values[name] = (entry, function)

    def free(self, name: str) -> str:
        """``name``, or ``name_N``, so that it names no op of the source."""
        candidate, n = name, 1
        while candidate in self.index.nodes:
            candidate, n = f"{name}_{n}", n + 1
        return candidate

    # -- the copies as Variables -----------------------------------------------------------------------

    def make_variables(self, walk: "Walk") -> dict[str, str]:
        """Rebuilds each copied variable as a tf.Variable of the target and records it.

        Returns the variables made: target variable op name -> mode.
        """
        copier = self.copier
        record, target, prefix = copier.record, copier.target, copier.prefix
        made = {}
        # The source's order, not the walk's.
        names = [n for n in self.index.in_graph_order(walk.variables) if n not in record.variables]
        with target.as_default():  # once: entering it costs as much as a small variable
            variables = internals.variables_from_protos(
                [self._target_def(name, walk.variables[name]) for name in names], copier.namespace or None,
                [self._attrs(name) for name in names])
            collected: dict[str, list] = {}
            for name, var in zip(names, variables):
                mode = walk.variables[name]
                made[prefix + name] = mode
                record.variables[name] = var
                if name in self._values:
                    initial_values.keep(target, *self._values.pop(name))
                for key in self._collections(name):
                    collected.setdefault(key, []).append(var)
                if copier.copied_variables is not None:
                    copier.copied_variables[prefix + name + ":0"] = var
            for key, members in collected.items():  # in order, as one add_to_collection each would
                target.add_to_collection(key, members[0])  # which refuses a finalized graph
                target.get_collection_ref(key).extend(members[1:])
        return made

    def _target_def(self, name: str, mode: str) -> variable_pb2.VariableDef:
        vdef = variable_pb2.VariableDef()
        original = self.defs.get(name)
        if original is not None:
            vdef.CopyFrom(original)
        else:
            vdef.variable_name = name + ":0"
            vdef.trainable = is_trainable_dtype(self.index.nodes[name].attr["dtype"].type)
            vdef.is_resource = self.index.nodes[name].op in _RESOURCE_OPS
        if mode == schema.VALUE_MODE:
            value_name, assign_name, read_name = self._synth[name]
            vdef.initial_value_name = value_name + ":0"
            vdef.initializer_name = assign_name
            if read_name:
                vdef.snapshot_name = read_name + ":0"
        return vdef

    def _attrs(self, name: str) -> tuple[int, Any] | None:
        """The variable op's dtype and shape, which its copy holds too; None for an op without them."""
        attr = self.index.nodes[name].attr
        if "dtype" not in attr or "shape" not in attr:
            return None
        return attr["dtype"].type, attr["shape"].shape

    def _collections(self, name: str) -> list[str]:
        if name not in self.index.variables:  # in no collection of the source (TF2, GraphDef)
            if not is_trainable_dtype(self.index.nodes[name].attr["dtype"].type):
                return [tf.compat.v1.GraphKeys.GLOBAL_VARIABLES]
            return [tf.compat.v1.GraphKeys.GLOBAL_VARIABLES, tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES]
        return self.index.variable_collections(name)


class _Held:
    """A reader handing over a value read already."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self) -> Any:
        return self.value


def _value_shape(read: Reader, node: Any) -> tensor_shape_pb2.TensorShapeProto:
    """The shape of the value ``read`` gives: the held value's, else the variable's declared one."""
    if isinstance(read, _Held):
        return tf.TensorShape(np.shape(read.value)).as_proto()
    return node.attr["shape"].shape


def _op(name: str) -> str:
    return name.partition(":")[0]
