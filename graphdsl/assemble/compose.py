"""Run a checked spec: load its sources, run its ``copy`` and ``let`` statements in order.

:func:`compose` is the interpreter. Each ``copy`` goes through the copier (``bind`` entries become
its ``replacements``, ``stop_at`` its stops); each ``let`` names what the copies above it made; then
every reference of the exports is resolved, so that a bad one fails the build rather than the save.
Names are resolved by :class:`~graphdsl.assemble.resolve.Resolver`; exports are written by
:mod:`~graphdsl.assemble.save`. Mistakes that only the source graphs reveal (a ``take`` naming no op,
a bind whose dtypes differ, a reference to an element that was not copied) are raised as
:class:`~graphdsl.errors.BuildError` pointing at the spec line.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import tensorflow as tf

from graphdsl.assemble.resolve import Element, Resolver
from graphdsl.assemble.save import check_export_names, save
from graphdsl.errors import BuildError, CopyError, GraphDslError
from graphdsl.lang import schema, syntax
from graphdsl.tf import effects, initial_values
from graphdsl.lang.load import load_spec
from graphdsl.tf import internals
from graphdsl.tf.copier import Copier, CopyResult, Future, Prepared, check_compatible, import_together
from graphdsl.tf.index import VARIABLE_OPS, index_of, release_index
from graphdsl.tf.messages import reason
from graphdsl.tf.cache import SourceCache
from graphdsl.tf.registry import CopyRecord, is_variable, registry_of
from graphdsl.tf.variables import mode_rule
from graphdsl.tf.sources import LoadedSource, load_source
from graphdsl.tools import progress

tf1 = tf.compat.v1

# The most nodes the queued copies hold together. Importing them together saves reading the
# target's names once per copy, which matters for many small copies; the merged GraphDef is a
# second copy of their nodes, so big copies, which gain little, go through their own import.
QUEUED_NODES = 50_000


@dataclass
class CopyReport:
    """What one ``copy`` statement added to the target."""

    statement: syntax.Copy
    ops: int = 0
    variables: list[tuple[str, str]] = field(default_factory=list)  # (copied variable, mode)
    binds: list[tuple[str, str]] = field(default_factory=list)  # (source input, target tensor)
    stops: list[str] = field(default_factory=list)  # placeholders made where the walk stopped

    @property
    def namespace(self) -> str:
        return self.statement.namespace.name


class Composition:
    """The result of running a spec: the target graph, its session, and lookups by name."""

    def __init__(self, spec: syntax.Spec, builder_timeout: float | None = None,
                 source_cache: SourceCache | None = None) -> None:
        self.spec = spec
        self.builder_timeout = builder_timeout
        # (namespace, source tensor) -> the placeholder a copy made where its walk stopped there
        self._placeholders: dict[tuple[str, str], str] = {}
        self.source_cache = source_cache  # sources loaded by earlier compositions, kept open
        self.graph = tf.Graph()
        self.names = Resolver(self.graph, spec)
        self.reports: list[CopyReport] = []
        self._pending = _Queue()  # copies prepared, not imported yet, and the lets between them
        self.exported: list[Any] = []  # per export: its signatures' or outputs' tensors
        self._session: tf.compat.v1.Session | None = None

    @property
    def sources(self) -> dict[str, LoadedSource]:
        """The sources loaded so far, by name."""
        return self.names.sources

    @property
    def namespaces(self) -> dict[str, str]:
        """Each namespace copied into, with the name of its source, in the order of the copies."""
        return self.names.namespaces

    @property
    def aliases(self) -> dict[str, Element]:
        """Each alias of the spec with its element: a Tensor, Operation or Variable."""
        return self.names.aliases

    def reports_by_namespace(self) -> dict[str, list[CopyReport]]:
        """The copies' reports grouped by namespace, in one pass (a spec may have thousands)."""
        grouped: dict[str, list[CopyReport]] = {}
        for report in self.reports:
            grouped.setdefault(report.namespace, []).append(report)
        return grouped

    # -- the statements --------------------------------------------------------------------------

    def _run(self) -> None:
        for statement in self.spec.statements:
            if isinstance(statement, syntax.Copy):
                self._copy(statement)
            elif isinstance(statement, syntax.Let):
                if self._pending:  # it names what the queued copies make: it runs after them
                    self._pending.add(statement)
                else:
                    self._let(statement)
        self._flush()
        if self.source_cache is None:  # a cache keeps each source's index for the next composition
            for source in self.sources.values():
                release_index(source.graph)  # the copies are done: the sources' GraphDefs can go
        check_export_names(self.spec)
        self.exported = [self._export_elements(export) for export in self.spec.exports]

    def _source(self, name: str) -> LoadedSource:
        if name not in self.sources:
            statement = self.spec.source(name)
            assert statement is not None  # the checker saw to it
            options = {o.key.name: syntax.literal(o.value) for o in statement.options}
            load = self.source_cache.load if self.source_cache is not None else load_source
            try:
                with progress.task(f"loading source {name}"):
                    self.sources[name] = load(
                        statement.kind.name, statement.path.value, options, self._base_dir,
                        builder_timeout=self.builder_timeout)
            except GraphDslError as e:
                raise self._fail(e.message, statement.path.span, e.hint) from e
        return self.sources[name]

    @property
    def _base_dir(self) -> Path:
        """Where a source's relative path starts: the spec's directory, as the user reaches it.

        Kept relative to the working directory, so messages name a path the user can open.
        """
        path = self.spec.path
        return Path(path).parent if os.path.exists(path) else Path(".")

    def _copy(self, copy: syntax.Copy) -> None:
        """Prepares ``copy`` and queues it; consecutive copies that can go together import at once.

        Copies queue while they go into namespaces apart from the queued ones (``a`` and ``a/b``
        never go together) and the queue holds at most :data:`QUEUED_NODES` nodes; a copy wired
        to a tensor a queued copy makes (through a queued namespace or alias) reads it as a
        :class:`~graphdsl.tf.copier.Future` (see :meth:`_futures`). The lets between them queue
        too, and name their elements once the copies before them are done. The queue is imported (see
        :func:`~graphdsl.tf.copier.import_together`) before anything that needs what it makes. A
        copy's error is raised only once the statements before it are done, so the first failing
        statement is the one named, as if each copy ran alone.
        """
        if self._pending and not self._joins(copy):
            self._flush()
        futures: dict[int, Future] | None = {}
        try:
            futures = self._futures(copy) if self._pending else {}
            if futures is None:
                self._flush()  # it wires to what a queued copy makes, which no future can stand for
                futures = {}
            pending = self._prepare(copy, futures)
        except Exception:
            self._flush()  # an earlier copy's error comes first
            for future in (futures or {}).values():  # then a bind checked before what failed
                if future.check is not None and future.ready:
                    future.check(future.live())
            raise
        if not self._fits(pending):
            self._flush()  # the queue goes first, in one import; then this copy
            if pending.functions:  # it chose its functions by the target without the queue's
                pending = self._prepare(copy, {})
        self._pending.add(pending)

    def _joins(self, copy: syntax.Copy) -> bool:
        """Whether ``copy`` can be imported together with the queued copies."""
        queue = self._pending
        if not queue.apart(copy.namespace.name):
            return False
        if queue.functions is not None:
            # Each copy chooses the functions it adds, and their names, by what the target holds:
            # the copies of one source agree, those of two sources with functions may not.
            loaded = self.sources.get(copy.source.name)
            if loaded is None or (loaded.graph is not queue.functions and index_of(loaded.graph).functions):
                return False
        return True

    def _futures(self, copy: syntax.Copy) -> dict[int, Future] | None:
        """The binds of ``copy`` that name a tensor a queued copy makes, by position, each as a
        :class:`~graphdsl.tf.copier.Future`; None when one names something else the queue makes
        (a variable, an op, a placeholder, a replaced tensor, an element of an earlier copy, a
        queued alias of any of these), which only the import of the queue can resolve."""
        futures: dict[int, Future] = {}
        for i, bind in enumerate(copy.binds):
            queued, ref = self._pending.reference(bind.value)
            if not queued:
                continue
            future = self._future(ref) if ref is not None and internals.fast_import_works() else None
            if future is None:
                return None
            futures[i] = future
        return futures

    def _future(self, ref: syntax.Ref) -> Future | None:
        """The future tensor ``ref`` names: an output of an op the queued copy into its
        namespace brings itself; None for anything else."""
        pending = self._pending.by_namespace[ref.namespace.name]
        prepared, copier = pending.prepared, pending.copier
        if not isinstance(prepared, Prepared):
            return None
        try:
            element = self.names.source_element(pending.statement.source.name, ref.element.value)
        except GraphDslError:
            return None  # resolved as without a queue, so that the error comes where it would
        if not isinstance(element, tf.Tensor):
            return None
        name, op = element.name, element.op
        if (op.name not in prepared.walk.needed or op.name in copier.record.ops
                or name in copier.record.tensors or name in copier.replacements
                or name in copier.stop_at or op.type in VARIABLE_OPS
                or op.name in copier.vars.replaced_initializers(prepared.walk)):
            return None
        return Future(copier, name, element.dtype)

    def _fits(self, pending: "_Pending") -> bool:
        """Whether a prepared copy imports together with the queue: its source's GraphDef versions
        are theirs, and the queue stays within :data:`QUEUED_NODES` nodes."""
        prepared, queue = pending.prepared, self._pending
        if not isinstance(prepared, Prepared):
            return True
        return ((queue.versions is None or queue.versions == prepared.sub.versions)
                and queue.nodes + len(prepared.names) <= QUEUED_NODES)

    def _prepare(self, copy: syntax.Copy, futures: dict[int, Future]) -> "_Pending":
        source = self._source(copy.source.name)
        namespace = copy.namespace.name
        self.namespaces[namespace] = copy.source.name
        report = CopyReport(copy)
        tops = [e for item in copy.take for e in self.names.take(copy.source.name, item)]
        stop_at = [self.names.source_tensor(copy.source.name, item) for item in copy.stop_at]
        replacements = {}
        for i, bind in enumerate(copy.binds):
            original = self.names.source_tensor(copy.source.name, bind.input)
            wired: tf.Tensor | Future
            if i in futures:
                # its dtype is checked now, its shape once the copy that makes it is imported
                wired = futures[i]
                wired.check = functools.partial(self._check_bind, bind, original)
            else:
                if self._pending and is_variable(self.names.value(bind.value)):
                    self._flush()  # wiring a variable may add a read op: after the queued copies, in order
                wired = self.names.tensor(bind.value, resource=original.dtype == tf.resource)
            self._check_bind(bind, original, wired)
            replacements[original] = wired
            report.binds.append((original.name, wired.name))
        try:
            copier = Copier(source.graph, self.graph, namespace, modes=mode_rule(self._modes(copy, source)),
                            session=source.values, replacements=replacements, stop_at=stop_at)
            prepared = copier.prepare(copier.roots_of(tops))
        except CopyError as e:
            raise self._fail(e.message, copy.span, e.hint) from e
        return _Pending(copy, report, copier, tops, stop_at, prepared, functions=bool(copier.index.functions))

    def _check_bind(self, bind: syntax.Bind, original: tf.Tensor, wired: Any) -> None:
        """Refuses a bind whose tensor cannot stand where the source's stood (dtype, shape)."""
        try:
            check_compatible(original, wired)
        except CopyError as e:
            raise self._fail(f"bind {bind.input.value!r}: {e.message}", bind.span, e.hint) from e

    def _let(self, let: syntax.Let) -> None:
        self.aliases[let.name.name] = self.names.value(let.value)

    def _flush(self) -> None:
        """Imports the queued copies and finishes each, and runs the queued lets, in order."""
        pending, self._pending = self._pending.items, _Queue()
        results = import_together([p.prepared for p in pending if isinstance(p, _Pending)])
        for item in pending:
            if isinstance(item, syntax.Let):
                self._let(item)
                continue
            try:
                result = next(results)
                for top in item.tops:
                    item.copier.copy_of(top)  # raises CopyError if the copy holds none
            except CopyError as e:
                raise self._fail(e.message, item.statement.span, e.hint) from e
            self._finish(item, result)

    def _finish(self, pending: "_Pending", result: CopyResult) -> None:
        copy, report = pending.statement, pending.report
        namespace = copy.namespace.name
        source = self.sources[copy.source.name]
        self._placeholders.update({(namespace, t): p for t, p in result.placeholders.items()})
        record = registry_of(self.graph).record(source.graph, namespace)
        assert record is not None  # the copy succeeded, so it made (or extended) the record
        report.ops = len(result.ops)
        added = {name: var for name, var in record.variables.items() if var.op.name in result.variables}
        report.variables = [(var.op.name, result.variables[var.op.name]) for var in added.values()]
        stops = {item: self._stop(copy, item, tensor, record)
                 for item, tensor in zip(copy.stop_at, pending.stop_at)}
        report.stops = [placeholder.name for placeholder in stops.values()]
        self._check_initializers(copy, added, stops)
        self.reports.append(report)

    def _stop(self, copy: syntax.Copy, item: syntax.String, tensor: tf.Tensor, record: CopyRecord) -> tf.Tensor:
        """The placeholder the walk put at ``stop_at`` entry ``item``; an error if it never got there."""
        namespace = copy.namespace.name
        placeholder = self._placeholders.get((namespace, tensor.name))
        if placeholder is not None:
            return self.graph.get_tensor_by_name(placeholder)
        if tensor.op.name in record.ops:
            raise self._fail(f"stop_at {item.value!r}: the walk does not stop there, because op "
                             f"'{tensor.op.name}' is copied into '{namespace}' whole (by an earlier "
                             "copy, or for another of its outputs)", item.span,
                             "remove it from stop_at, or stop where the copies first meet it")
        raise self._fail(f"stop_at {item.value!r}: the walk never reaches it (nothing the copy takes "
                         "reads it)", item.span, "remove it from stop_at, or take what reads it")

    def _check_initializers(self, copy: syntax.Copy, added: dict[str, Any],
                            stops: dict[syntax.String, tf.Tensor]) -> None:
        """Refuses a variable copied in mode 'init' whose initializer reads a placeholder.

        Initializing the composition (and every export's loader) runs the initializers with
        nothing fed, so such a variable could never get a value. Usually a ``stop_at`` cut its
        initial value off; sometimes the source itself fed it at initialization.
        """
        clean: set[str] = set()  # ops known to reach no placeholder
        for name, variable in added.items():
            if copy.mode_for(name) != schema.INIT_MODE:
                continue
            placeholder = _placeholder_read_by(variable.initializer, clean)
            if placeholder is None:
                continue
            stop = next((item for item, made in stops.items() if made.op is placeholder), None)
            if stop is not None:
                raise self._fail(
                    f"stop_at {stop.value!r}: variable '{name}' is initialized from it, and the "
                    "placeholder put there cannot be fed when the variables are initialized",
                    stop.span, f"copy '{name}' with its value (variable \"{name}\" = value), or stop "
                    "the walk where its initializer does not need it")
            raise self._fail(
                f"variable '{name}' is initialized from placeholder '{placeholder.name}', which "
                "cannot be fed when the variables are initialized", copy.span,
                f"copy '{name}' with its value (variable \"{name}\" = value) from a source that holds it")

    def _modes(self, copy: syntax.Copy, source: LoadedSource) -> Callable[[str], str]:
        """The copy's variable modes; a source without values refuses mode 'value' at this copy."""
        if source.has_values:
            return copy.mode_for

        def mode_for(name: str) -> str:
            mode = copy.mode_for(name)
            if mode == schema.VALUE_MODE:
                raise self._fail(
                    f"source '{copy.source.name}' holds no variable values to copy in mode 'value'",
                    copy.span, "give the source its values (a checkpoint for a metagraph), or copy "
                    "its variables with 'variables = init'")
            return mode

        return mode_for

    def _export_elements(self, export: syntax.Export) -> Any:
        kind = export.kind.name
        if kind == "savedmodel":
            signatures = {}
            for signature in export.signatures:
                io = []
                for entries in (signature.inputs, signature.outputs):
                    io.append({e.key.value: self.names.tensor(e.value)
                               for e in (entries.entries if entries else ())})
                signatures[signature.name.value] = tuple(io)
            return signatures
        if kind == "graphdef":
            return [self.names.tensor(v) for v in export.outputs]
        return None

    # -- lookups ---------------------------------------------------------------------------------

    def resolve(self, value: syntax.Value) -> Element:
        """The copied element a reference or alias of the spec denotes: a Tensor, Operation or Variable.

        A reference to a variable's op name (``Enc["dense/kernel"]``) gives the copied Variable.
        """
        return self.names.value(value)

    def copy_of(self, namespace: str, element: str) -> Element:
        """The copy in ``namespace`` of the source element called ``element`` ("x:0" or "op")."""
        return self.names.copy_of(namespace, element)

    def tensor(self, name: str) -> Element:
        """An element by alias, reference text (``Head["logits:0"]``), signature key or graph name."""
        return self.names.text(name)

    # -- the session and the exports ----------------------------------------------------------------

    @property
    def session(self) -> tf.compat.v1.Session:
        """A session on the composed graph with every variable initialized.

        The values of variables copied in mode 'value' are read from their sources now, and fed to
        their initializers a chunk at a time (see :mod:`~graphdsl.tf.initial_values`).
        """
        if self._session is None:
            with self.graph.as_default():
                init = tf.group(tf1.global_variables_initializer(),
                                tf1.local_variables_initializer(), tf1.tables_initializer(),
                                name="graphdsl_init")
                variables = [*tf1.global_variables(), *tf1.local_variables()]
                fed, rest = initial_values.split_initializers(self.graph, [v.initializer for v in variables])
                rest += self.graph.get_collection(tf1.GraphKeys.TABLE_INITIALIZERS)
            effects.check_target_runs(self.graph, [init])
            session = tf1.Session(graph=self.graph)
            try:
                initial_values.feed_values(session, fed, rest, label="initializing the composed graph")
            except tf.errors.OpError as e:
                session.close()
                raise GraphDslError(f"initializing the composed graph's variables failed: {reason(e)}",
                                    hint="check the initializers of the variables copied in mode "
                                    "'init'") from None
            except BaseException:
                session.close()
                raise
            self._session = session
        return self._session

    def save(self, outdir: str | os.PathLike) -> list[Path]:
        """Writes every export of the spec into ``outdir``, all or nothing, with a manifest."""
        return save(self, outdir)

    def close(self) -> None:
        """Closes the composed graph's session and the sources' sessions (not those of a cache)."""
        if self._session is not None:
            self._session.close()
            self._session = None
        if self.source_cache is None:
            for source in self.sources.values():
                source.close()

    def __enter__(self) -> "Composition":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fail(self, message: str, span: Any, hint: str | None = None) -> BuildError:
        return BuildError(message, span=span, hint=hint, source=self.spec.text)


class _Queue:
    """The statements waiting for the queued copies' import, with what deciding a join needs.

    Kept as the queue grows, so that a join costs the same with a thousand copies queued as with one.
    """

    def __init__(self) -> None:
        self.items: list[_Pending | syntax.Let] = []
        self.namespaces: set[str] = set()
        self.by_namespace: dict[str, _Pending] = {}  # the queued copy into each namespace
        self.lets: dict[str, syntax.Let] = {}  # the last queued let of each alias
        self.scopes: set[str] = set()  # the namespaces that hold a queued one: "a" for "a/b"
        self.nodes = 0
        self.versions: Any = None  # the GraphDef versions of the queued copies' sources
        self.functions: tf.Graph | None = None  # the queued copies' source with functions, if any

    def __bool__(self) -> bool:
        return bool(self.items)

    def add(self, item: "_Pending | syntax.Let") -> None:
        self.items.append(item)
        if isinstance(item, syntax.Let):
            self.lets[item.name.name] = item
            return
        name = item.statement.namespace.name
        self.namespaces.add(name)
        self.by_namespace[name] = item
        self.scopes.update(_scopes(name))
        if isinstance(item.prepared, Prepared):
            self.nodes += len(item.prepared.names)
            self.versions = item.prepared.sub.versions
        if item.functions:
            self.functions = item.copier.source

    def reference(self, value: syntax.Value) -> tuple[bool, syntax.Ref | None]:
        """Whether ``value`` names what the queue makes, and then the reference it comes to
        through the queued lets (None when it comes to something else)."""
        seen: set[str] = set()  # the lets followed (the checker refuses a cycle; this does not rely on it)
        while isinstance(value, syntax.Word) and value.name in self.lets and value.name not in seen:
            seen.add(value.name)
            value = self.lets[value.name].value
        if isinstance(value, syntax.Ref) and value.namespace.name in self.namespaces:
            return True, value
        return bool(seen), None

    def apart(self, namespace: str) -> bool:
        """Whether ``namespace`` neither is, holds, nor lies in a queued namespace."""
        return (namespace not in self.namespaces and namespace not in self.scopes
                and not any(scope in self.namespaces for scope in _scopes(namespace)))


def _scopes(namespace: str) -> list[str]:
    """The namespaces that hold ``namespace``: ["a", "a/b"] for "a/b/c"."""
    parts = namespace.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


@dataclass
class _Pending:
    """A copy statement prepared for its import, with what finishing it needs."""

    statement: syntax.Copy
    report: CopyReport
    copier: Copier
    tops: list[Any]  # the source elements its take names
    stop_at: list[tf.Tensor]  # its stop_at entries, as source tensors
    prepared: Prepared | CopyResult  # what it imports (a CopyResult: nothing)
    functions: bool  # whether its source has functions


def compose(spec: str | os.PathLike | syntax.Spec, params: Any = None,
            max_statements: int | None = None, *, builder_timeout: float | None = None,
            source_cache: SourceCache | None = None) -> Composition:
    """Runs a spec (a file path, or a checked :class:`~graphdsl.lang.syntax.Spec`, e.g. from
    ``load_spec_text``) into a Composition.

    ``params`` are the values of a template's parameters: a mapping from names to values, or a
    :class:`graphdsl.lang.params.ParamValues` (which knows where each value came from);
    ``max_statements`` bounds what a template makes (the default: :mod:`graphdsl.lang.expand`'s).
    ``builder_timeout`` bounds each Python builder, in seconds (default
    :data:`graphdsl.tf.sources.BUILDER_TIMEOUT`, 600; 0: no limit). ``source_cache`` (a
    :class:`~graphdsl.tf.cache.SourceCache`) lends sources loaded by earlier compositions and keeps
    the ones this one loads, open, for the next.
    """
    if not isinstance(spec, syntax.Spec):
        limit = {} if max_statements is None else {"max_statements": max_statements}
        spec = load_spec(spec, params=params, **limit)
    elif params:
        raise GraphDslError("params apply to a spec given as a path; this Spec is expanded already",
                            hint="pass the path of the template with params=, or load_spec(path, params=...)")
    composition = Composition(spec, builder_timeout, source_cache)
    try:
        composition._run()
    except BaseException:
        composition.close()
        raise
    return composition


def build(spec: str | os.PathLike | syntax.Spec, outdir: str | os.PathLike, params: Any = None,
          max_statements: int | None = None, *, builder_timeout: float | None = None,
          source_cache: SourceCache | None = None) -> list[Path]:
    """Composes ``spec`` (for ``params``, see :func:`compose`) and writes its exports into ``outdir``;
    returns the paths written."""
    with compose(spec, params, max_statements, builder_timeout=builder_timeout,
                 source_cache=source_cache) as composition:
        return composition.save(outdir)


def _placeholder_read_by(op: tf.Operation, clean: set[str]) -> tf.Operation | None:
    """A placeholder ``op`` depends on through inputs and control inputs, or None.

    ``clean`` holds ops already known to depend on none; the walk adds those it clears.
    """
    stack, seen = [op], set()
    while stack:
        current = stack.pop()
        if current.name in seen or current.name in clean:
            continue
        seen.add(current.name)
        if current.type in ("Placeholder", "PlaceholderV2"):
            return current
        stack.extend(t.op for t in current.inputs)
        stack.extend(current.control_inputs)
    clean.update(seen)
    return None
