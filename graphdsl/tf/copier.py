"""The recursive copier: copy top elements of a source graph, and everything they need, into a target.

One call does four things:

1. **walk** the source's GraphDef from the top elements through data inputs, control inputs and
   the variables reached (with their initializers or current values), stopping at elements the
   target already holds a copy of, at replaced tensors and at ``stop_at`` tensors;
2. **rewrite** the few nodes that need it: state names (``shared_name``) so that copies never share
   state with the original or with each other, colocation lists, value-mode initializers,
   placeholders where the walk stopped, and function names that clash in the target;
3. **import** the resulting GraphDef with the namespace as prefix (see :mod:`.internals`);
4. **record** what is the copy of what (see :mod:`.registry`), rebuild the copied variables as
   real ``tf.Variable`` objects of the target, and fill the target's collections.

and says what it added in a :class:`CopyResult`. A build runs steps 1 and 2 of several copies
(:meth:`Copier.prepare`), then imports them together and records each (:func:`import_together`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Callable, Collection, Iterable, Iterator, Mapping, Sequence

import tensorflow as tf
from tensorflow.core.framework import attr_value_pb2, graph_pb2, node_def_pb2

from graphdsl.collector import paused
from graphdsl.tf import functions, internals, tables
from graphdsl.errors import CopyError, NameClashError
from graphdsl.lang import schema
from graphdsl.tf.registry import CopyRecord, Registry, is_variable, registry_of, variable_tensor
from graphdsl.tf.index import (
    FRAME_OPS, GRAPH_COLLECTIONS, VARIABLE_COLLECTIONS, VARIABLE_OPS, SourceIndex, index_and_bytes,
    may_rename, renamed, tensor_name)
from graphdsl.tf.variables import ModeRule, VariableCopies

# Op types that are inputs of a graph: a lookup (``get_copied``) never adds one.
_INPUT_OPS = frozenset({"Placeholder", "PlaceholderV2"})

# A copy's ops are created one by one, rather than imported, into a target that holds more than
# this many times as many ops as the copy. The importer reads every op of the target on each
# import (about 0.3 us per op of the target); creating the ops costs a little more per op of the
# copy (about 12 us) and nothing per op of the target. Measured with
# `benchmarks/bench_per_copy.py --ops 20000 --copies 1,2,3,5,10,20,50,100,300 --modes paths`:
# a 20-op copy costs 0.78 ms imported and 1.01 ms created into a 400-op target, 0.91 and 0.99 at
# 800, 1.16 and 1.03 at 2,000, 1.86 and 1.06 at 4,000: the two cross at about 60 times the copy.
CREATE_RATIO = 50

# The part of the source a walk reaches before it goes on with a table of the ops not reached yet
# (see Copier.walk). Making the table copies the index's (about 14 ns per op of the source); the
# walk then does one dict operation per input where it did two or three. Measured with
# `benchmarks/profile_copy.py --source DIR/source_N.meta --repeat 1 --cold`, alternating with the
# walk before (median of 3): the walk of a whole-graph copy took 34 ms against 38 at 19,909 ops,
# 0.51 s against 0.59 at 199,236.
CHANGE_OVER = 0.125

# What the walk notes of an op by its type: whether its copy may need a new state name or frame
# (index.may_rename), whether it is a variable, or a table a value copy fills. One dict lookup per
# op, filled as the walk meets each type (an OpDef is read once per type).
_RENAMABLE, _VARIABLE, _TABLE = 1, 2, 4
_KINDS: dict[str, int] = {}


def _kind(op_type: str) -> int:
    return ((_RENAMABLE if may_rename(op_type) else 0) | (_VARIABLE if op_type in VARIABLE_OPS else 0)
            | (_TABLE if op_type in tables.MUTABLE_TABLE_OPS else 0))


@dataclass(frozen=True)
class CopyResult:
    """What one copy added to the target graph; a copy that only reuses earlier copies adds nothing."""

    namespace: str
    ops: tuple[str, ...] = ()  # names of the target ops added, in import order
    variables: Mapping[str, str] = field(default_factory=dict)  # target variable op name -> mode
    functions_renamed: Mapping[str, str] = field(default_factory=dict)  # source name -> target name
    placeholders: Mapping[str, str] = field(default_factory=dict)  # stopped source tensor -> target
    replacements: Mapping[str, str] = field(default_factory=dict)  # source tensor -> target tensor

    @property
    def empty(self) -> bool:
        """True when the copy added nothing (everything it needed was copied before)."""
        return not self.ops


@dataclass
class Walk:
    """What one copy call will import, and where it meets what the target already holds."""

    needed: Collection[str] = field(default_factory=dict)  # source op names, in walk order
    stopped: dict[str, None] = field(default_factory=dict)  # tensors where the walk stopped
    variables: dict[str, str] = field(default_factory=dict)  # variable op name -> mode
    boundary: set[str] = field(default_factory=set)  # inputs that map to tensors of the target
    controls: set[str] = field(default_factory=set)  # control inputs that map to ops of the target
    cut_controls: set[str] = field(default_factory=set)  # needed ops with a control input stopped
    rewired: set[str] = field(default_factory=set)  # needed ops reading a stopped tensor
    tables: list[str] = field(default_factory=list)  # needed mutable tables, in walk order
    renamable: list[str] = field(default_factory=list)  # needed ops of a type index.may_rename names


class _Reached(Collection[str]):
    """Every op of a source, in the order a walk reached them: ``in`` asks the source's index,
    where a table of the walk's own would cost an entry per op of the source."""

    __slots__ = ("order", "nodes")

    def __init__(self, order: list[str], nodes: Mapping[str, Any]) -> None:
        self.order, self.nodes = order, nodes

    def __contains__(self, name: object) -> bool:
        return name in self.nodes

    def __iter__(self) -> Iterator[str]:
        return iter(self.order)

    def __len__(self) -> int:
        return len(self.order)


@dataclass
class Prepared:
    """One copy walked and built (:meth:`Copier.prepare`), waiting for its import."""

    copier: "Copier"
    walk: Walk
    sub: graph_pb2.GraphDef  # the nodes to import, named as in the source (no namespace yet)
    names: list[str]  # the names of sub's nodes, in order
    placeholders: dict[str, str]  # stopped source tensor -> the placeholder's name in sub
    copied: int  # names[:copied] are the placeholders and the copies of source nodes
    contents: Any  # the table contents a value copy fills (see tables.add_contents)
    added: dict[str, bytes]  # functions the import adds to the target: name -> definition
    renamed: dict[str, str]  # functions renamed because their name clashed in the target


class Future:
    """A tensor that a prepared copy will make once imported: what a later copy may wire to.

    A copy wired (``replacements``) to a future tensor can go through one import with the copy
    that makes it: the merged GraphDef reads the tensor by its name in the target, as the import
    of each alone would wire it. Its dtype is the source tensor's (a copy keeps every attribute
    of the op); its shape is the target's to infer, so :func:`check_compatible` sees it unknown
    and ``check`` runs on the imported tensor before the copy wired to it is finished.
    """

    def __init__(self, maker: "Copier", tensor: str, dtype: tf.DType,
                 check: Callable[[tf.Tensor], None] | None = None) -> None:
        self.copier = maker
        op_name, _, index = tensor.partition(":")
        self.source_op, self.index = op_name, int(index)
        self.op = _FutureOp(maker.prefix + op_name, self)
        self.name = f"{self.op.name}:{index}"
        self.dtype = dtype
        self.shape = tf.TensorShape(None)
        self.check = check

    @property
    def input(self) -> str:
        """How a NodeDef names the tensor among its inputs."""
        return self.op.name if self.index == 0 else self.name

    @property
    def ready(self) -> bool:
        """Whether the copy that makes it is finished (imported before the copies wired to it)."""
        return self.source_op in self.copier.record.ops

    def live(self) -> tf.Tensor:
        """The tensor, once the copy that makes it is finished."""
        return self.copier.record.ops[self.source_op].outputs[self.index]


@dataclass(frozen=True)
class _FutureOp:
    """The op of a :class:`Future` tensor (a control input names it)."""

    name: str
    future: Future


class Copier:
    """Copies elements of one source graph into one namespace of a target graph."""

    def __init__(
        self,
        source: tf.Graph,
        target: tf.Graph,
        namespace: str,
        *,
        modes: ModeRule,
        session=None,
        replacements: Mapping | None = None,
        stop_at: Iterable | None = None,
        copied_variables: dict | None = None,
    ) -> None:
        self.source = source
        self.target = target
        self.namespace = namespace.strip("/")
        self.prefix = self.namespace + "/" if self.namespace else ""
        self.session = session
        self.copied_variables = copied_variables
        with paused():  # indexing a big source makes a Python object per node
            self.index: SourceIndex
            self.index, self._serialized = index_and_bytes(source)
        # The bytes the index was just made from, for this copier's first copy (see _copy_bytes);
        # dropped by that copy, whatever it is, so that they live no longer than it.
        self.tables = tables.tables_of(self.index)
        self.modes = tables.forced_modes(modes, self.tables)
        self.registry: Registry = registry_of(target)
        # A new record joins the registry only once a copy succeeded: a failed copy leaves no trace.
        self.record: CopyRecord = (self.registry.record(source, self.namespace)
                                   or CopyRecord(self.namespace))
        self.replacements = self._replacements(replacements or {})
        self.stop_at = {self._source_tensor_name(t, "stop_at") for t in stop_at or ()}
        self.stopped_ops = {t.partition(":")[0] for t in self.stop_at}
        self.replaced_ops = {t.partition(":")[0] for t in self.replacements}
        self.vars = VariableCopies(self)

    # -- arguments -------------------------------------------------------------------------------

    def _source_tensor_name(self, element, what: str) -> str:
        if isinstance(element, str):
            name = tensor_name(element)
        elif isinstance(element, tf.Tensor) or hasattr(element, "graph") and hasattr(element, "op"):
            if element.graph is not self.source:
                raise CopyError(f"{what}: tensor '{element.name}' is not in the source graph")
            name = element.name
        else:
            raise CopyError(f"{what}: expected a source tensor or its name, got {element!r}")
        if name.partition(":")[0] not in self.index.nodes:
            raise CopyError(
                f"{what}: the source graph has no tensor '{name}'",
                hint=_close(name.partition(":")[0], self.index.nodes),
            )
        return name

    def _replacements(self, replacements: Mapping) -> dict[str, Any]:
        result = {}
        for original, replacement in replacements.items():
            name = self._source_tensor_name(original, "replacements")
            if is_variable(replacement):
                replacement = variable_tensor(replacement)
            if isinstance(replacement, Future) and replacement.copier.target is self.target:
                pass  # a tensor a queued copy makes: its shape is checked once it is imported
            elif not isinstance(replacement, tf.Tensor) or replacement.graph is not self.target:
                raise CopyError(
                    f"replacement for '{name}' must be a tensor of the target graph, "
                    f"got {replacement!r}"
                )
            check_compatible(self.source.get_tensor_by_name(name), replacement)
            result[name] = replacement
        if self.copied_variables:
            for var_name in self.index.variables:
                given = self.copied_variables.get(self.prefix + var_name + ":0")
                if given is not None and var_name not in self.record.variables:
                    result.setdefault(var_name + ":0", variable_tensor(given))
        return result

    # -- the walk ---------------------------------------------------------------------------------

    def walk(self, roots: Iterable[str]) -> Walk:
        """Finds every source op the roots need that the target does not hold a copy of yet.

        ``roots`` are op names, and the names of ``stop_at`` tensors (see :meth:`roots_of`).

        Each input of each needed op is looked at once, here: the walk also collects the inputs
        that the import maps to elements already in the target. This loop runs once per input of
        the whole copy, so it keeps its lookups local.

        A walk that reaches much of the source (a whole-graph copy, say) goes on by taking each op
        it reaches out of a table of the ops not reached yet: one dict operation per input, where
        the table of reached ops costs three per op reached, and grows as the walk goes. Making
        the table copies the index's, so a walk changes over only once it has reached a part of
        the source (:data:`CHANGE_OVER`): a small copy from a big source never pays for it. The
        ops are reached in the same order either way.
        """
        walk = Walk()
        needed: dict[str, None] = {}
        boundary, controls = walk.boundary, walk.controls
        nodes, loops, notable = self.index.nodes, self.index.loops, self.index.notable
        copied, overridden = self.record.ops, self.record.tensors
        replacements, stop_at = self.replacements, self.stop_at
        stopped_ops, replaced_ops = self.stopped_ops, self.replaced_ops
        owners, kinds = self.index.initializer_owners, _KINDS
        table_inits, tables = self.tables.initializers, walk.tables
        renamable = walk.renamable
        # Nothing to meet (the first copy into a namespace, without replacements or stop_at): each
        # input is only followed, which is most of the time of a big copy. The stack then holds
        # inputs as NodeDefs name them ("x", "x:1", "^x"), made op names when popped.
        meets = bool(copied or overridden or replacements or stop_at or stopped_ops or replaced_ops)
        roots = list(roots)
        if stop_at:  # a root where the walk stops (see roots_of): its placeholder is its copy
            walk.stopped.update((r, None) for r in roots if r in stop_at and r not in overridden)
        stack = [r for r in reversed(roots) if r not in copied and r not in stop_at]
        push, pop, get = stack.append, stack.pop, nodes.get
        unreached: dict | None = None  # made once the walk has reached more than `many` ops
        many, later = int(len(nodes) * CHANGE_OVER), list[str]()  # later: reached after the change
        take: Callable[..., Any]  # unreached.pop, once made
        reach = later.append
        while stack:
            name = pop()
            if unreached is None:
                if name in needed:
                    continue
                node = get(name)
                if node is None:  # an input naming an output or a control input (no op name has ":" or "^")
                    name = name[1:] if name[0] == "^" else name.partition(":")[0]
                    if name in needed:
                        continue
                    node = nodes[name]
                needed[name] = None
                if len(needed) > many:
                    unreached = dict(nodes)
                    for reached in needed:
                        del unreached[reached]
                    take = unreached.pop
            else:
                node = take(name, None)
                if node is None:  # reached before, or an input naming an output or a control input
                    if name[0] == "^":
                        name = name[1:]
                    elif ":" in name:
                        name = name.partition(":")[0]
                    else:
                        continue
                    node = take(name, None)
                    if node is None:
                        continue
                reach(name)
            if loops and name in loops:
                stack.extend(m for m in loops[name] if m not in copied)
            if table_inits and name in table_inits:  # state that its initializers fill
                stack.extend(u for u in table_inits[name] if u not in copied)
            if name in owners:
                owner = owners[name]
                if self.modes(owner) == schema.VALUE_MODE:
                    if owner not in copied:
                        push(owner)  # replaced by an initializer assigning the current value
                    continue
            if name in notable:  # rare: most ops a copy takes as they are
                op = node.op
                kind = kinds.get(op)
                if kind is None:
                    kind = kinds[op] = _kind(op)
                if kind & _RENAMABLE:
                    renamable.append(name)
                if kind & _VARIABLE:
                    mode = walk.variables[name] = self.modes(name)
                    stack.extend(r for r in self.vars.extra_roots(name, mode) if r not in copied)
                elif kind & _TABLE:
                    tables.append(name)
            if not meets:
                stack += node.input
                continue
            for inp in node.input:
                if inp[0] == "^":
                    dep = inp[1:]
                    if dep in copied or dep in replaced_ops:
                        controls.add(dep)
                    elif dep in stopped_ops:
                        walk.cut_controls.add(name)
                    else:
                        push(dep)
                    continue
                op_name, colon, _ = inp.partition(":")
                tensor = inp if colon else inp + ":0"
                if tensor in replacements or tensor in overridden or op_name in copied:
                    boundary.add(tensor)
                elif tensor in stop_at:
                    walk.stopped[tensor] = None
                    walk.rewired.add(name)
                else:
                    push(op_name)
        if unreached is None:
            walk.needed = needed
        elif unreached:
            needed.update(dict.fromkeys(later))
            walk.needed = needed
        else:  # every op of the source
            walk.needed = _Reached([*needed, *later], nodes)
        return walk

    # -- the copy --------------------------------------------------------------------------------

    def complete(self, root: str) -> CopyResult | str:
        """Copies ``root`` if it only computes from what this namespace holds; else says why not.

        The ops added are those between ``root`` and earlier copies. None of them may hold state
        (a variable, an op with a state name) or take input (a placeholder): a lookup never makes
        state or inputs, so state is never copied a second time.
        """
        walk = self.walk([root])
        if not walk.boundary and not walk.controls:
            return f"'{root}' computes nothing from what was copied"
        for name in walk.needed:
            node = self.index.nodes[name]
            if node.op in VARIABLE_OPS:
                return f"'{root}' needs variable '{name}', which was not copied"
            if "shared_name" in node.attr:
                return f"'{root}' needs '{name}' (a {node.op}, which holds state), which was not copied"
            if node.op in _INPUT_OPS:
                return f"'{root}' needs input '{name}', which was not copied"
        return self._copy_walk(walk)

    def copy(self, roots: list[str]) -> CopyResult:
        """Copies ``roots`` (source op names) and everything they need; says what it added."""
        return self._copy_walk(self.walk(roots))

    def roots_of(self, elements: Iterable[Any]) -> list[str]:
        """The op names to copy for ``elements`` (source Operations, Tensors, Variables): a
        tensor this copy replaces needs no copy; a tensor it stops at is named as a tensor, for
        the walk to stop there (its copy is the placeholder put in its place)."""
        roots = []
        for e in elements:
            if isinstance(e, tf.Tensor) and e.name in self.stop_at:
                roots.append(e.name)
            elif not (isinstance(e, tf.Tensor) and e.name in self.replacements):
                roots.append(e.name if isinstance(e, tf.Operation) else e.op.name)
        return roots

    def copy_of(self, element: Any) -> Any:
        """The copy of ``element`` once the copy is done (a replaced tensor: its replacement);
        CopyError if there is none."""
        if isinstance(element, tf.Tensor) and element.name in self.replacements:
            return self.replacements[element.name]
        found = self.record.find(element)
        if found is None:
            raise CopyError(f"could not copy {element!r}")
        return found

    def _copy_walk(self, walk: Walk) -> CopyResult:
        serialized, self._serialized = self._serialized, None
        if not walk.needed and not walk.stopped:
            return CopyResult(self.namespace)
        with paused():
            if serialized is not None:
                result = self._copy_bytes(walk, serialized)
                if result is not None:
                    return result
            prepared = self._prepare(walk)
            return self._finish(prepared, self._import(prepared))

    def prepare(self, roots: list[str]) -> "Prepared | CopyResult":
        """Walks from ``roots`` and builds what :meth:`copy` would import, without importing it.

        Gives the (empty) result at once when the copy adds nothing. The target is not touched:
        :func:`import_together` imports what one or more copies prepared, and finishes them.
        """
        self._serialized = None
        walk = self.walk(roots)
        if not walk.needed and not walk.stopped:
            return CopyResult(self.namespace)
        with paused():
            return self._prepare(walk)

    def settle(self) -> None:
        """Wires this copy to the tensors its future replacements stand for, now imported.

        Runs each one's ``check`` on the tensor first (called before the copy is finished, and
        before it is imported when it goes alone).
        """
        for tensor, replacement in self.replacements.items():
            if isinstance(replacement, Future):
                live = replacement.live()
                if replacement.check is not None:
                    replacement.check(live)
                self.replacements[tensor] = live

    def _prepare(self, walk: Walk) -> "Prepared":
        stopped_ops = self.stopped_ops
        conflict = [n for n in walk.needed if n in stopped_ops]
        if conflict:
            name = conflict[0]
            raise CopyError(
                f"op '{name}' is needed by the copy, but the walk was told to stop at its output",
                hint=f"stop at every output of '{name}' the copy reaches, or do not stop there",
            )
        sub = graph_pb2.GraphDef()
        sub.versions.CopyFrom(self.index.graph_def.versions)
        placeholders = self._placeholders(walk, sub)
        names = self._copy_nodes(walk, sub, placeholders)
        tables.rewrite_assets(sub, walk.needed, self.tables)
        values = self.vars.read_values(walk)
        self.vars.add_initializers(walk, sub, values)
        contents = tables.add_contents(sub, walk.tables, self.index, self.tables, self.modes,
                                       self.session, self.vars.free)
        copied = len(names)  # the placeholders, then the copies of source nodes
        names += [node.name for node in sub.node[copied:]]  # then the nodes added for them
        added, renamed = functions.attach_library(
            sub, functions.needed_functions(sub.node, self.index), self.index, self.target, self.registry
        )
        self._check_names(names)
        return Prepared(self, walk, sub, names, placeholders, copied, contents, added, renamed)

    def _copy_bytes(self, walk: Walk, serialized: "bytes | internals.KeptBuffer") -> CopyResult | None:
        """Copies every op of the source by importing ``serialized``, the bytes its index was made
        from, when the copy changes no node but state and frame names (set on the imported ops);
        None, with nothing done, when the copy is another one.

        The common whole-graph copy then spares copying the GraphDef and serializing it again:
        the bytes hold the same nodes in the same order, the same versions, and an empty library.
        """
        index = self.index
        graph_def, nodes = index.graph_def, index.nodes
        if (len(walk.needed) != len(nodes) or walk.stopped or walk.tables or walk.boundary
                or walk.controls or self.stop_at or self.replacements or index.functions
                or self.tables.assets or graph_def.HasField("library")
                or graph_def.HasField("debug_info") or graph_def.version
                or any(mode == schema.VALUE_MODE for mode in walk.variables.values())):
            return None
        named, keep = index.colocated_with, _Either(walk.needed, self.record.ops)
        if named is None or not all(n in keep for n in named):
            return None  # a colocation entry may name an op the copy lacks: a rewrite
        names = list(nodes)
        if self._create_pays(names, {}):
            return None
        self._check_names(names)
        attrs = self._renames(walk)
        try:
            imported = internals.import_serialized(self.target, serialized, self.namespace, names, attrs)
        except ValueError as e:
            raise CopyError(f"TensorFlow refused the copy into namespace '{self.namespace}': {e}") from e
        if imported is None:
            return None
        if self.namespace:
            internals.mark_name_used(self.target, self.namespace)
        # Never imported (the bytes were): carries what _finish reads.
        prepared = Prepared(self, walk, graph_pb2.GraphDef(), names, {}, len(names), [], {}, {})
        return self._finish(prepared, imported)

    def _renames(self, walk: Walk) -> dict[int, list[tuple[str, bytes]]]:
        """The state and frame names :meth:`_rewrite` would give the copied ops, by position in
        the source's GraphDef: serialized AttrValues, to set on the imported ops."""
        nodes, prefix, attrs = self.index.nodes, self.prefix, {}
        positions = self.index.notable  # every renamable op is notable
        for name in walk.renamable:
            node = nodes[name]
            if not renamed(node) or not prefix:
                continue
            values = []
            attr = node.attr
            if "shared_name" in attr and attr["shared_name"].s:
                values.append(("shared_name", attr_value_pb2.AttrValue(
                    s=prefix.encode() + attr["shared_name"].s).SerializeToString()))
            if node.op in FRAME_OPS:
                values.append(("frame_name", attr_value_pb2.AttrValue(
                    s=prefix.encode() + attr["frame_name"].s).SerializeToString()))
            attrs[positions[name]] = values
        return attrs

    def _finish(self, prepared: "Prepared", imported: internals.Imported) -> CopyResult:
        """Records what the import of ``prepared`` added and rebuilds its variables and collections."""
        walk, placeholders = prepared.walk, prepared.placeholders
        self.registry.functions.update(prepared.added)
        self.registry.add(self.source, self.record)
        self._record(walk, prepared.names, imported.ops, placeholders, prepared.copied)
        variables = self.vars.make_variables(walk)
        self._fill_collections()
        tables.collect(self.target, self.record.ops, walk.needed, self.tables)
        tables.collect_contents(self.target, self.prefix, prepared.contents)
        return CopyResult(
            namespace=self.namespace,
            ops=tuple(imported.names),
            variables=variables,
            functions_renamed=prepared.renamed,
            placeholders={t: self.record.tensors[t].name for t in placeholders},
            replacements={t: r.name for t, r in self.replacements.items()
                          if t in walk.boundary or t.partition(":")[0] in walk.controls},
        )

    def _placeholders(self, walk: Walk, sub: graph_pb2.GraphDef) -> dict[str, str]:
        """A placeholder of the same dtype and shape for each tensor where the walk stopped."""
        made = {}
        for tensor in walk.stopped:
            op_name, _, index = tensor.partition(":")
            name = op_name if index == "0" else f"{op_name}_output_{index}"
            if index != "0" and name in self.index.nodes:
                raise CopyError(
                    f"cannot name the placeholder for stopped tensor '{tensor}': the source "
                    f"graph already has an op '{name}'"
                )
            original = self.source.get_tensor_by_name(tensor)
            node = sub.node.add(name=name, op="Placeholder")
            node.attr["dtype"].type = original.dtype.as_datatype_enum
            node.attr["shape"].shape.CopyFrom(original.shape.as_proto())
            made[tensor] = name
        return made

    def _copy_nodes(self, walk: Walk, sub: graph_pb2.GraphDef, placeholders: dict[str, str]) -> list[str]:
        """Copies the needed NodeDefs into ``sub``; rewrites only the few that need it.

        Returns the names of the nodes of ``sub``, in order (the placeholders first).
        """
        skip = self.vars.replaced_initializers(walk)
        nodes, offset = self.index.nodes, len(sub.node)
        if not skip and not offset and len(walk.needed) == len(nodes):
            # Every node of the source: one copy of its whole GraphDef, in the source's order, is
            # several times cheaper than a copy per node. The functions are attached later.
            sub.CopyFrom(self.index.graph_def)
            for other in ("library", "debug_info", "version"):
                sub.ClearField(other)
            names = list(nodes)
        else:
            names = [n for n in walk.needed if n not in skip] if skip else list(walk.needed)
            sub.node.extend(nodes[n] for n in names)  # one C-level copy per node
        keep = _Either(walk.needed, self.record.ops)  # what the target will hold, unmerged
        whole = not skip and not offset and len(names) == len(nodes)
        touched = self._touched(walk, names, skip, keep, whole)
        if touched:
            renamed_inputs = {t: p + ":0" for t, p in placeholders.items() if not t.endswith(":0")}
            if offset or len(names) != len(nodes):
                positions = {n: offset + i for i, n in enumerate(names) if n in touched}
            else:
                positions = self.index.positions
            for name in touched:
                self._rewrite(sub.node[positions[name]], walk, keep, renamed_inputs)
        return [*placeholders.values(), *names]

    def _touched(self, walk: Walk, names: list[str], skip: set[str], keep: "_Either",
                 whole: bool) -> set[str]:
        """The copied ops whose NodeDef needs a rewrite; looks only at the smaller side of each test.

        ``whole``: ``names`` are every op of the source.
        """
        needed, index, nodes = walk.needed, self.index, self.index.nodes

        def copied(name: str) -> bool:
            return name in needed and name not in skip

        touched = {n for n in (*walk.rewired, *walk.cut_controls) if n not in skip}
        touched.update(n for n in walk.renamable if n not in skip and renamed(nodes[n]))
        # The importer prefixes colocation lists itself; only entries naming an op the target
        # will not hold need a rewrite. A whole-graph copy first asks whether every op named by
        # a colocation entry is copied (or copied before), which spares reading every node.
        named = index.colocated_with
        if whole and named is not None and all(n in keep for n in named):
            return touched
        colocations = index.colocations
        if len(colocations) < len(names):
            pairs = ((n, c) for n, c in colocations.items() if copied(n))
        else:
            pairs = ((n, colocations[n]) for n in names if n in colocations)
        touched.update(n for n, listed in pairs if not all(c in keep for c in listed))
        return touched

    def _rewrite(self, node: node_def_pb2.NodeDef, walk: Walk, keep, renamed_inputs: dict) -> None:
        if node.name in walk.rewired:
            for i, inp in enumerate(node.input):
                if tensor_name(inp) in renamed_inputs:
                    node.input[i] = renamed_inputs[tensor_name(inp)]
        if node.name in walk.cut_controls:  # a placeholder has no side effect to wait for
            kept = [i for i in node.input if i[0] != "^" or i[1:] not in self.stopped_ops]
            del node.input[:]
            node.input.extend(kept)
        if "shared_name" in node.attr and node.attr["shared_name"].s:
            node.attr["shared_name"].s = (self.prefix + node.attr["shared_name"].s.decode()).encode()
        if "_class" in node.attr:
            _fix_colocation(node, keep)
        if node.op in FRAME_OPS and self.prefix:
            # Each v1 while loop runs in a frame named after it; copies need frames of their own.
            node.attr["frame_name"].s = (self.prefix + node.attr["frame_name"].s.decode()).encode()

    def _check_names(self, names: list[str]) -> None:
        if self.target.version == 0:
            return  # an empty target holds nothing to clash with
        prefix = self.prefix
        clashes = internals.existing_operations(self.target, [prefix + name for name in names])
        if clashes:
            full = clashes[0]
            raise NameClashError(
                f"the target graph already has an operation '{full}' that is not the copy "
                f"of '{full[len(prefix):]}' from this source",
                hint="copy into another namespace, or remove or rename the existing operation",
            )

    def _import(self, prepared: "Prepared") -> internals.Imported:
        input_map, control_map = self._maps(prepared.walk)
        try:
            imported = None
            if self._create_pays(prepared.names, input_map):
                imported = internals.create_nodes(self.target, prepared.sub, self.namespace,
                                                  input_map, control_map, prepared.names)
            if imported is None:
                imported = internals.import_nodes(self.target, prepared.sub, self.namespace, input_map,
                                                  control_map, names=prepared.names)
        except ValueError as e:
            raise CopyError(f"TensorFlow refused the copy into namespace '{self.namespace}': {e}") from e
        if self.namespace:
            internals.mark_name_used(self.target, self.namespace)
        return imported

    def _create_pays(self, names: list[str], input_map: Mapping[str, tf.Tensor]) -> bool:
        """Whether creating the copy's ops one by one (:func:`~.internals.create_nodes`) beats
        the import: the target holds many more ops than the copy (see :data:`CREATE_RATIO`), and
        each tensor the copy is wired to has the dtype and shape of the source tensor it stands
        for, so that each op is created from what it was created from in the source. A copy into
        no namespace is imported: only then does the importer refuse an op named like a name
        scope of the target."""
        if not self.namespace or self.target.version <= CREATE_RATIO * len(names):
            return False
        source = self.source
        for name, tensor in input_map.items():
            original = source.get_tensor_by_name(name)
            if original.dtype != tensor.dtype or not _same_shape(original.shape, tensor.shape):
                return False
        return True

    def _maps(self, walk: Walk, prefix: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
        """The import's input and control maps: names of the GraphDef (``prefix`` on) to target elements."""
        input_map = {prefix + tensor: self._existing_tensor(tensor) for tensor in walk.boundary}
        control_map = {prefix + name: self._existing_op(name) for name in walk.controls}
        return input_map, control_map

    def _existing_tensor(self, tensor: str):
        if tensor in self.replacements:
            return self.replacements[tensor]
        if tensor in self.record.tensors:
            return self.record.tensors[tensor]
        op_name, _, index = tensor.partition(":")
        return self.record.ops[op_name].outputs[int(index)]

    def _existing_op(self, op_name: str) -> tf.Operation:
        if op_name in self.record.ops:
            return self.record.ops[op_name]
        return next(r.op for t, r in self.replacements.items() if t.partition(":")[0] == op_name)

    def _record(self, walk: Walk, names: list[str], new_ops: list[tf.Operation],
                placeholders: dict[str, str], copied: int) -> None:
        """Records the copies: ``names[:copied]`` are the placeholders and the copied source nodes."""
        record, first = self.record, len(placeholders)
        record.ops.update(zip(islice(names, first, copied), islice(new_ops, first, copied)))
        made = dict(zip(names[:first], new_ops[:first]))
        made.update(zip(names[copied:], new_ops[copied:]))
        # A value-mode initializer stands in for the source's initializer of the same name.
        for name in self.vars.replaced_initializers(walk):
            record.ops[name] = made[name]
        for tensor, name in placeholders.items():
            record.tensors[tensor] = made[name].outputs[0]
        for tensor, replacement in self.replacements.items():
            record.tensors.setdefault(tensor, replacement)

    def _fill_collections(self) -> None:
        """Adds the copies of collection members to ``namespace/collection`` in the target.

        Ops, tensors and variables map to their copies. Other members with a proto form (the
        control flow v1 contexts) are rebuilt from it under the namespace, as a MetaGraph import
        does, once every element they list was copied; that also gives the copied ops their
        context, which ``tf.gradients`` through a v1 loop needs. The collections TensorFlow reads by
        name (contexts, table initializers, asset paths) keep their names in the target.
        """
        record = self.record
        for key in self.source.get_all_collection_keys():
            if key in VARIABLE_COLLECTIONS:
                continue
            target_key = key if key in GRAPH_COLLECTIONS else self.prefix + key
            for i, item in enumerate(self.source.get_collection(key)):
                if (key, i) in record.collected:
                    continue
                copy = record.find(item)
                if copy is None and not isinstance(item, (tf.Operation, tf.Tensor)):
                    copy = self._rebuild_from_proto(key, item)
                if copy is not None:
                    self.target.add_to_collection(target_key, copy)
                    record.collected.add((key, i))

    def _rebuild_from_proto(self, key: str, item):
        with self.source.as_default():
            proto = internals.to_proto(key, item)
        values = getattr(proto, "values_def", None)
        if proto is None or values is None or not values.values:
            return None
        if any(v.partition(":")[0] not in self.record.ops for v in values.values):
            return None  # only part of it was copied
        with self.target.as_default():
            return internals.from_proto(key, item, proto, self.namespace or None)


def import_together(copies: Sequence[Prepared | CopyResult]) -> Iterator[CopyResult]:
    """Imports prepared copies into their target and finishes each; yields their results in order.

    The copies go into one target and into namespaces of which none holds another (``a`` and
    ``a/b`` never go together), none wires to what another of them makes, and those that carry
    functions come from one source. TensorFlow's importer reads every name of the target before
    each import, so one import per copy costs time in proportion to the target: many small copies
    into a big target go through one import together, with the names already prefixed as the
    importer would prefix each copy's. Copies whose sources' GraphDef versions differ, or that
    define one function name two ways, are imported one by one. The target ends up as after one import per copy, in order; when the
    importer refuses the copies together, each is imported alone, so the refusal names its copy.
    A ``CopyResult`` (a copy that adds nothing) is yielded as it is. The results are yielded one
    by one, so that a caller can tell which copy an error belongs to.
    """
    prepared = [c for c in copies if isinstance(c, Prepared)]
    imported: dict[int, internals.Imported] = {}
    merged: dict[int, Prepared] = {}  # each copy as the merged import carried it
    if len(prepared) > 1 and internals.fast_import_works() and _mergeable(prepared):
        once = _added_once(prepared)
        with paused():
            imported = _import_merged(once)
        merged = {id(copy): alone for copy, alone in zip(prepared, once)}
    for copy in copies:
        if isinstance(copy, CopyResult):
            yield copy
            continue
        with paused():
            copy.copier.settle()
            carried = merged.get(id(copy))
            found = imported.get(id(carried)) if carried is not None else None
            if carried is not None and found is not None:
                result = copy.copier._finish(carried, found)
            else:
                result = copy.copier._finish(copy, copy.copier._import(copy))
        yield result


def _mergeable(prepared: list[Prepared]) -> bool:
    """Whether one GraphDef can carry every copy: one versions field, one definition per function name."""
    versions = prepared[0].sub.versions
    functions: dict[str, bytes] = {}
    for copy in prepared:
        if copy.sub.versions != versions:
            return False
        for name, definition in copy.added.items():
            if functions.setdefault(name, definition) != definition:
                return False
    return True


def _added_once(prepared: list[Prepared]) -> list[Prepared]:
    """The copies, each adding only the functions no copy before it adds, as one import each would.

    Prepared together, copies of one source each add the functions they need that the target
    lacks; imported one by one, a later copy finds those an earlier one added and adds nothing.
    """
    seen: set[str] = set()
    result = []
    for copy in prepared:
        added = {name: d for name, d in copy.added.items() if name not in seen}
        renamed = {old: new for old, new in copy.renamed.items() if new in added}
        seen.update(copy.added)
        result.append(dataclasses.replace(copy, added=added, renamed=renamed))
    return result


def _import_merged(prepared: list[Prepared]) -> dict[int, internals.Imported]:
    """One import of every copy's nodes, each under its namespace; {} when TensorFlow refuses it."""
    target = prepared[0].copier.target
    merged = graph_pb2.GraphDef()
    merged.versions.CopyFrom(prepared[0].sub.versions)
    input_map: dict[str, Any] = {}
    control_map: dict[str, Any] = {}
    full: list[str] = []
    library = merged.library
    for copy in prepared:
        prefix = copy.copier.prefix
        start = len(merged.node)
        merged.node.extend(copy.sub.node)
        library.function.extend(f for f in copy.sub.library.function if f.signature.name in copy.added)
        library.gradient.extend(g for g in copy.sub.library.gradient if g.function_name in copy.added)
        nodes = merged.node
        for i in range(start, len(nodes)):
            _prefix_node(nodes[i], prefix)
        inputs, controls = copy.copier._maps(copy.walk, prefix)
        futures = _future_inputs(inputs, controls)
        if futures:
            for i in range(start, len(nodes)):
                _read_futures(nodes[i], futures)
        input_map.update(inputs)
        control_map.update(controls)
        full += [prefix + name for name in copy.names]
    try:
        imported = internals.import_nodes(target, merged, "", input_map, control_map, names=full)
    except ValueError:
        return {}  # each alone: the error then names the copy TensorFlow refuses
    result, start = {}, 0
    for copy in prepared:
        end = start + len(copy.names)
        result[id(copy)] = internals.Imported(imported.ops[start:end], imported.names[start:end])
        internals.mark_name_used(target, copy.copier.namespace)
        start = end
    return result


def _future_inputs(inputs: dict[str, Any], controls: dict[str, Any]) -> dict[str, str]:
    """Takes the future tensors and ops out of an import's maps; gives the inputs naming them
    (prefixed) with what the nodes read instead: the names the tensors and ops get in the target."""
    futures = {}
    for name in [n for n, t in inputs.items() if isinstance(t, Future)]:
        future = inputs.pop(name)
        if future.ready:  # made by an earlier import: mapped, as a live tensor is
            inputs[name] = future.live()
            continue
        futures[name] = future.input
        if name.endswith(":0"):
            futures[name[:-2]] = future.input  # a NodeDef names output 0 by its op name
    for name in [n for n, op in controls.items() if isinstance(op, _FutureOp)]:
        future_op = controls.pop(name)
        if future_op.future.ready:
            controls[name] = future_op.future.live().op
        else:
            futures["^" + name] = "^" + future_op.name
    return futures


def _read_futures(node: node_def_pb2.NodeDef, futures: dict[str, str]) -> None:
    """Points the inputs of ``node`` that name future tensors at their names in the target."""
    inputs = node.input
    for i, inp in enumerate(inputs):
        if inp in futures:
            inputs[i] = futures[inp]


def _prefix_node(node: node_def_pb2.NodeDef, prefix: str) -> None:
    """Puts ``prefix`` on the names ``node`` holds, as TensorFlow's importer applies its prefix.

    The node's name, its inputs (the import maps prefixed names to target elements) and its
    colocation entries.
    """
    node.name = prefix + node.name
    inputs = node.input
    if inputs:
        renamed = ["^" + prefix + i[1:] if i[0] == "^" else prefix + i for i in inputs]
        del inputs[:]
        inputs.extend(renamed)
    if "_class" in node.attr:
        entries = node.attr["_class"].list.s
        if any(e.startswith(b"loc:@") for e in entries):
            fixed = [b"loc:@" + prefix.encode() + e[5:] if e.startswith(b"loc:@") else e for e in entries]
            del entries[:]
            entries.extend(fixed)


def _same_shape(first: tf.TensorShape, second: tf.TensorShape) -> bool:
    if first.rank is None or second.rank is None:
        return first.rank == second.rank
    return first.as_list() == second.as_list()


class _Either:
    """Membership in either of two containers, without building their union."""

    def __init__(self, first, second) -> None:
        self.first, self.second = first, second

    def __contains__(self, item) -> bool:
        return item in self.first or item in self.second


def check_compatible(original, replacement) -> None:
    """Raises CopyError unless ``replacement`` can stand where ``original`` stood."""
    if original.dtype.base_dtype != replacement.dtype.base_dtype:
        raise CopyError(
            f"cannot wire '{replacement.name}' ({replacement.dtype.name}) in place of "
            f"'{original.name}' ({original.dtype.name}): the dtypes differ",
            hint="wire a tensor of the same dtype, or cast it first",
        )
    if not original.shape.is_compatible_with(replacement.shape):
        raise CopyError(
            f"cannot wire '{replacement.name}' (shape {replacement.shape}) in place of "
            f"'{original.name}' (shape {original.shape}): the shapes are incompatible",
            hint="wire a tensor whose shape matches, or reshape it first",
        )


def _fix_colocation(node: node_def_pb2.NodeDef, keep) -> None:
    entries = node.attr["_class"].list.s
    kept = [s for s in entries if not s.startswith(b"loc:@") or s[5:].decode() in keep]
    if len(kept) == len(entries):
        return
    if kept:
        del entries[:]
        entries.extend(kept)
    else:
        del node.attr["_class"]


def _close(name: str, names) -> str | None:
    from graphdsl.errors import did_you_mean

    return did_you_mean(name, names)
