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

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import tensorflow as tf

from graphdsl.api import copy_to_graph
from graphdsl.assemble.resolve import Element, Resolver
from graphdsl.errors import BuildError, CopyError, GraphDslError
from graphdsl.lang import syntax
from graphdsl.lang.load import load_spec
from graphdsl.tf.copier import check_compatible
from graphdsl.tf.messages import reason
from graphdsl.tf.registry import registry_of
from graphdsl.tf.sources import LoadedSource, load_source

tf1 = tf.compat.v1


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

    def __init__(self, spec: syntax.Spec) -> None:
        self.spec = spec
        self.graph = tf.Graph()
        self.names = Resolver(self.graph, spec)
        self.reports: list[CopyReport] = []
        self.exported: list[Any] = []  # per export: its signatures' or outputs' tensors
        self._session: tf1.Session | None = None

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

    # -- the statements --------------------------------------------------------------------------

    def _run(self) -> None:
        for statement in self.spec.statements:
            if isinstance(statement, syntax.Copy):
                self._copy(statement)
            elif isinstance(statement, syntax.Let):
                self.aliases[statement.name.name] = self.names.value(statement.value)
        self.exported = [self._export_elements(export) for export in self.spec.exports]

    def _source(self, name: str) -> LoadedSource:
        if name not in self.sources:
            statement = self.spec.source(name)
            assert statement is not None  # the checker saw to it
            options = {o.key.name: _literal(o.value) for o in statement.options}
            try:
                self.sources[name] = load_source(
                    statement.kind.name, statement.path.value, options, self._base_dir)
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
        source = self._source(copy.source.name)
        namespace = copy.namespace.name
        self.namespaces[namespace] = copy.source.name
        report = CopyReport(copy)
        tops = [e for item in copy.take for e in self.names.take(copy.source.name, item)]
        stop_at = [self.names.source_tensor(copy.source.name, item) for item in copy.stop_at]
        replacements = {}
        for bind in copy.binds:
            original = self.names.source_tensor(copy.source.name, bind.input)
            wired = self.names.tensor(bind.value, resource=original.dtype == tf.resource)
            try:
                check_compatible(original, wired)
            except CopyError as e:
                raise self._fail(f"bind {bind.input.value!r}: {e.message}", bind.span, e.hint) from e
            replacements[original] = wired
            report.binds.append((original.name, wired.name))
        record = registry_of(self.graph).record(source.graph, namespace)
        before_ops = len(record.ops) if record else 0
        before_vars = set(record.variables) if record else set()
        try:
            copy_to_graph(tops, self.graph, namespace=namespace, variables=self._modes(copy, source),
                          session=source.session, replacements=replacements, stop_at=stop_at)
        except CopyError as e:
            raise self._fail(e.message, copy.span, e.hint) from e
        record = registry_of(self.graph).record(source.graph, namespace)
        report.ops = len(record.ops) - before_ops
        report.variables = [(var.op.name, copy.mode_for(name))
                            for name, var in record.variables.items() if name not in before_vars]
        report.stops = [record.tensors[t.name].name for t in stop_at]
        self.reports.append(report)

    def _modes(self, copy: syntax.Copy, source: LoadedSource) -> Callable[[str], str]:
        """The copy's variable modes; a source without values refuses mode 'value' at this copy."""
        if source.session is not None:
            return copy.mode_for

        def mode_for(name: str) -> str:
            mode = copy.mode_for(name)
            if mode == "value":
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
    def session(self) -> tf1.Session:
        """A session on the composed graph with every variable initialized."""
        if self._session is None:
            with self.graph.as_default():
                init = tf.group(tf1.global_variables_initializer(),
                                tf1.local_variables_initializer(), tf1.tables_initializer(),
                                name="graphdsl_init")
            session = tf1.Session(graph=self.graph)
            try:
                session.run(init)
            except tf.errors.OpError as e:
                session.close()
                raise GraphDslError(f"initializing the composed graph's variables failed: {reason(e)}",
                                    hint="check the initializers of the variables copied in mode "
                                    "'init'") from None
            self._session = session
        return self._session

    def save(self, outdir: str | os.PathLike) -> list[Path]:
        """Writes every export of the spec into ``outdir``, all or nothing, with a manifest."""
        from graphdsl.assemble.save import save

        return save(self, outdir)

    def close(self) -> None:
        """Closes the composed graph's session and the sources' sessions."""
        if self._session is not None:
            self._session.close()
            self._session = None
        for source in self.sources.values():
            source.close()

    def __enter__(self) -> "Composition":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fail(self, message: str, span: Any, hint: str | None = None) -> BuildError:
        return BuildError(message, span=span, hint=hint, source=self.spec.text)


def compose(spec: str | os.PathLike | syntax.Spec, params: Any = None,
            max_statements: int | None = None) -> Composition:
    """Runs a spec (a path, spec text, or a checked :class:`~graphdsl.lang.syntax.Spec`) into a Composition.

    ``params`` are the values of a template's parameters: a mapping from names to values, or a
    :class:`graphdsl.lang.params.ParamValues` (which knows where each value came from);
    ``max_statements`` bounds what a template makes (the default: :mod:`graphdsl.lang.expand`'s).
    """
    if not isinstance(spec, syntax.Spec):
        limit = {} if max_statements is None else {"max_statements": max_statements}
        spec = load_spec(spec, params=params, **limit)
    elif params:
        raise GraphDslError("params apply to a spec given as a path or text; this Spec is expanded already",
                            hint="pass the path of the template with params=, or load_spec(path, params=...)")
    composition = Composition(spec)
    try:
        composition._run()
    except BaseException:
        composition.close()
        raise
    return composition


def build(spec: str | os.PathLike | syntax.Spec, outdir: str | os.PathLike, params: Any = None,
          max_statements: int | None = None) -> list[Path]:
    """Composes ``spec`` (for ``params``, see :func:`compose`) and writes its exports into ``outdir``;
    returns the paths written."""
    with compose(spec, params, max_statements) as composition:
        return composition.save(outdir)


def _literal(value: syntax.Value) -> Any:
    """The Python value of a literal option value."""
    if isinstance(value, (syntax.String, syntax.Int, syntax.Float, syntax.Bool)):
        return value.value
    if isinstance(value, syntax.ListValue):
        return [_literal(v) for v in value.items]
    if isinstance(value, syntax.MapValue):
        return {e.key.value: _literal(e.value) for e in value.entries}
    if isinstance(value, syntax.Word):
        return value.name
    raise TypeError(f"not a literal: {value!r}")
