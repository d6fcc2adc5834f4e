"""Run a checked spec: load its sources, copy and wire the pieces, resolve names, export.

:func:`compose` is the interpreter. It runs the ``copy`` statements in order through the copier
(``bind`` entries become its ``replacements``), resolves every ``let`` and every reference of the
exports against the composed graph, and returns a :class:`Composition`. Mistakes that only the
source graphs reveal (a ``take`` naming no op, a bind whose dtypes differ, a reference to an element
that was not copied) are raised as :class:`~graphdsl.errors.BuildError` pointing at the spec line.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tensorflow as tf

from graphdsl.lang import syntax
from graphdsl.api import copy_to_graph, get_copied
from graphdsl.tf.copier import check_compatible
from graphdsl.tf.index import release_index
from graphdsl.errors import BuildError, CopyError, GraphDslError, Span, did_you_mean
from graphdsl.assemble.export import OutputDir, export_graphdef, export_metagraph, export_savedmodel
from graphdsl.tf.registry import is_variable, registry_of, variable_named, variable_tensor
from graphdsl.tf.sources import LoadedSource, load_source
from graphdsl.lang.load import load_spec

tf1 = tf.compat.v1

BUILD_MANIFEST = "graphdsl-build.yaml"
_GLOB = set("*?[")
_REFERENCE = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\["([^"]*)"\]')


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

    @property
    def source(self) -> str:
        return self.statement.source.name


class Composition:
    """The result of running a spec: the target graph, its session, and lookups by name."""

    def __init__(self, spec: syntax.Spec) -> None:
        self.spec = spec
        self.graph = tf.Graph()
        self.sources: dict[str, LoadedSource] = {}
        self.reports: list[CopyReport] = []
        self.namespaces: dict[str, str] = {}  # namespace -> source name
        self.aliases: dict[str, Any] = {}  # alias -> copied element
        self._session: tf1.Session | None = None
        self._reads: dict[str, tf.Tensor] = {}  # variable op name -> the read op made for it
        self._exported: list = []  # per export: its signatures' or outputs' tensors

    # -- the build -------------------------------------------------------------------------------

    def _run(self) -> None:
        for copy in self.spec.copies:
            self._copy(copy)
        for source in self.sources.values():
            release_index(source.graph)  # the copies are done: the sources' GraphDefs can go
        for let in self.spec.lets:
            self.aliases[let.name.name] = self.resolve(let.value)
        # Resolved now, so that a bad reference fails the build rather than the save.
        self._exported = [self._export_elements(export) for export in self.spec.exports]

    def _source(self, name: str) -> LoadedSource:
        if name not in self.sources:
            statement = self.spec.source(name)
            options = {o.key.name: _literal(o.value) for o in statement.options}
            try:
                self.sources[name] = load_source(
                    statement.kind.name, statement.path.value, options, self._base_dir)
            except GraphDslError as e:
                # The caret shows the path as written; the message need not repeat it resolved.
                written = statement.path.value
                message = e.message.replace(str(self._base_dir / written), written)
                raise self._fail(message, statement.path.span, e.hint) from e
        return self.sources[name]

    @property
    def _base_dir(self) -> Path:
        path = self.spec.path
        return Path(path).resolve().parent if os.path.exists(path) else Path.cwd()

    def _copy(self, copy: syntax.Copy) -> None:
        source = self._source(copy.source.name)
        namespace = copy.namespace.name
        self.namespaces[namespace] = copy.source.name
        report = CopyReport(copy)
        tops = [e for item in copy.take for e in self._take(source, copy, item)]
        stop_at = [self._source_tensor(source, copy, item) for item in copy.stop_at]
        replacements = {}
        for bind in copy.binds:
            original = self._source_tensor(source, copy, bind.input)
            wired = self.resolve(bind.value)
            wired = self._as_tensor(wired, bind.value, resource=original.dtype == tf.resource)
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
            copy_to_graph(tops, self.graph, namespace=namespace, variables=copy.mode_for,
                          session=source.session, replacements=replacements, stop_at=stop_at)
        except CopyError as e:
            message, hint = e.message, e.hint
            if source.session is None and "no session" in message:
                message = (f"source '{copy.source.name}' holds no variable values to copy in mode "
                           "'value'")
                hint = ("give the source its values (a checkpoint for a metagraph), or copy its "
                        "variables with 'variables = init'")
            raise self._fail(message, copy.span, hint) from e
        record = registry_of(self.graph).record(source.graph, namespace)
        report.ops = len(record.ops) - before_ops
        report.variables = [(var.op.name, copy.mode_for(name))
                            for name, var in record.variables.items() if name not in before_vars]
        report.stops = [record.tensors[t.name].name for t in stop_at]
        self.reports.append(report)

    def _take(self, source: LoadedSource, copy: syntax.Copy, item: syntax.Str) -> list:
        text = item.value
        if _GLOB & set(text):
            names = [op.name for op in source.graph.get_operations()]
            matched = [source.graph.get_operation_by_name(n) for n in names
                       if fnmatch.fnmatchcase(n, text)]
            if not matched:
                raise self._fail(f"no op of source '{copy.source.name}' matches {text!r}", item.span,
                                 "check the pattern against the source's op names")
            return matched
        return [self._source_element(source, copy.source.name, item)]

    def _source_element(self, source: LoadedSource, source_name: str, item: syntax.Str):
        text = item.value
        if text.startswith("@"):
            return self._signature_tensor(source, source_name, item)
        op_name, _, index = text.partition(":")
        try:
            op = source.graph.get_operation_by_name(op_name)
        except KeyError:
            names = [o.name for o in source.graph.get_operations()]
            raise self._fail(f"source '{source_name}' has no op '{op_name}'", item.span,
                             did_you_mean(op_name, names)) from None
        if not index:
            return op
        if int(index) >= len(op.outputs):
            raise self._fail(f"op '{op_name}' of source '{source_name}' has "
                             f"{len(op.outputs)} output(s), so there is no '{text}'", item.span,
                             f"use an index below {len(op.outputs)}" if op.outputs else None)
        return op.outputs[int(index)]

    def _signature_tensor(self, source: LoadedSource, source_name: str, item: syntax.Str):
        """``"@key"``: the tensor of input or output ``key`` of a savedmodel source's signature."""
        key = item.value[1:]
        if source.signature is None:
            raise self._fail(f"source '{source_name}' has no signature, so no '@{key}'", item.span,
                             "signature keys name tensors of savedmodel sources; name the tensor itself")
        found = {name for part in ("inputs", "outputs")
                 for k, name in source.signature[part].items() if k == key}
        if not found:
            keys = [*source.signature["inputs"], *source.signature["outputs"]]
            raise self._fail(f"the signature of source '{source_name}' has no input or output "
                             f"'{key}'", item.span,
                             did_you_mean(key, keys) or f"its keys: {', '.join(sorted(keys))}")
        if len(found) > 1:
            raise self._fail(f"'{key}' is both an input and an output of the signature of source "
                             f"'{source_name}'", item.span, f"name the tensor: one of {sorted(found)}")
        return source.graph.get_tensor_by_name(found.pop())

    def _source_tensor(self, source: LoadedSource, copy: syntax.Copy, item: syntax.Str):
        element = self._source_element(source, copy.source.name, item)
        if isinstance(element, tf.Operation):
            raise self._fail(f"{item.value!r} names an op; a tensor is needed here", item.span,
                             f"write '{item.value}:0'")
        return element

    # -- names -----------------------------------------------------------------------------------

    def resolve(self, value: syntax.Value):
        """The copied element a reference or alias denotes: a Tensor, Operation or Variable.

        A reference to a variable's op name (``Enc["dense/kernel"]``) gives the copied Variable.
        """
        if isinstance(value, syntax.Name) and value.name in self.aliases:
            return self.aliases[value.name]
        ref = self.spec.resolve(value)
        namespace = ref.namespace.name
        source_name = self.namespaces[namespace]
        source = self.sources[source_name]
        original = self._source_element(source, source_name, ref.element)
        if isinstance(original, tf.Operation):
            variable = variable_named(source.graph, original.name)
            if variable is not None:
                original = variable
        try:
            return get_copied(original, self.graph, namespace=namespace, complete=False)
        except CopyError as e:
            record = registry_of(self.graph).record(source.graph, namespace)
            close = did_you_mean(ref.element.value, record.names() if record else [])
            raise self._fail(f"{ref.element.value!r} of source '{source_name}' was not copied "
                             f"into namespace '{namespace}'", ref.element.span,
                             close or f"add it to the 'take' of a copy into {namespace} (what it "
                             "shares with what was copied is reused)") from e

    def _as_tensor(self, element, value: syntax.Value, resource: bool = False):
        """The tensor a referenced element stands for where a tensor is needed.

        A variable stands for its value (one read op, made once), or for its handle where a
        ``resource`` is wanted (a bind onto a resource input).
        """
        if is_variable(element):
            if resource:
                return variable_tensor(element)
            name = element.op.name
            if name not in self._reads:
                with self.graph.as_default():
                    self._reads[name] = tf.identity(element, name=name + "/value")
            return self._reads[name]
        if isinstance(element, tf.Operation):
            raise self._fail(f"{_describe(value)} names an op; a tensor is needed here",
                             value.span, "name one of its outputs, like 'op:0'")
        return element

    def copy_of(self, namespace: str, element: str):
        """The copy in ``namespace`` of the source element called ``element`` ("x:0" or "op")."""
        if namespace not in self.namespaces:
            raise GraphDslError(f"no copy went into a namespace '{namespace}'",
                                hint=did_you_mean(namespace, list(self.namespaces)))
        span = Span("<api>", 0, 0, 0, 0)
        try:
            return self.resolve(syntax.Ref(syntax.Ident(namespace, span), syntax.Str(element, span), span))
        except BuildError as e:  # its span would point into the spec, where this name is not
            raise GraphDslError(e.message, hint=e.hint) from None

    def tensor(self, name: str):
        """An element of the target by alias, reference text (``Head["logits:0"]``) or target name."""
        if name in self.aliases:
            return self.aliases[name]
        match = _REFERENCE.fullmatch(name)
        if match:
            return self.copy_of(*match.groups())
        try:
            return self.graph.as_graph_element(name, allow_tensor=True, allow_operation=True)
        except (KeyError, ValueError) as e:
            raise GraphDslError(f"the composed graph has no alias or element '{name}'",
                                hint=did_you_mean(name, list(self.aliases))) from e

    # -- the session and the exports ----------------------------------------------------------------

    @property
    def session(self) -> tf1.Session:
        """A session on the composed graph with every variable initialized."""
        if self._session is None:
            with self.graph.as_default():
                init = tf.group(tf1.global_variables_initializer(),
                                tf1.local_variables_initializer(), tf1.tables_initializer(),
                                name="graphdsl_init")
            self._session = tf1.Session(graph=self.graph)
            self._session.run(init)
        return self._session

    def _export_elements(self, export: syntax.Export):
        kind = export.kind.name
        if kind == "savedmodel":
            signatures = {}
            for signature in export.signatures:
                io = []
                for entries in (signature.inputs, signature.outputs):
                    io.append({e.key.value: self._as_tensor(self.resolve(e.value), e.value)
                               for e in (entries.entries if entries else ())})
                signatures[signature.name.value] = tuple(io)
            return signatures
        if kind == "graphdef":
            return [self._as_tensor(self.resolve(v), v) for v in export.outputs]
        return None

    def save(self, outdir: str | os.PathLike) -> list[Path]:
        """Writes every export of the spec into ``outdir``, all or nothing, with a manifest."""
        session = self.session
        with OutputDir(outdir) as out:
            for export, elements in zip(self.spec.exports, self._exported):
                try:
                    self._save_one(export, elements, out, session)
                except GraphDslError as e:
                    raise self._fail(e.message, export.span, e.hint) from e
            _write_manifest(self, out.path(BUILD_MANIFEST))
        return [Path(outdir) / e.path.value for e in self.spec.exports]

    def _save_one(self, export: syntax.Export, elements, out: OutputDir, session) -> None:
        kind, name = export.kind.name, export.path.value
        if kind == "savedmodel":
            export_savedmodel(self.graph, session, out.path(name), elements, tags=export.tags)
        elif kind == "metagraph":
            out.path(name + ".meta")  # claims the name, so two exports cannot write it twice
            export_metagraph(self.graph, session, out.staging, name)
        else:
            export_graphdef(self.graph, session, out.path(name), elements)

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

    def _fail(self, message: str, span, hint: str | None = None) -> BuildError:
        return BuildError(message, span=span, hint=hint, source=self.spec.text)


def compose(spec: str | os.PathLike | syntax.Spec) -> Composition:
    """Runs a spec (a path, spec text, or a checked :class:`~graphdsl.lang.syntax.Spec`) into a Composition."""
    if not isinstance(spec, syntax.Spec):
        spec = load_spec(spec)
    composition = Composition(spec)
    try:
        composition._run()
    except BaseException:
        composition.close()
        raise
    return composition


def build(spec: str | os.PathLike | syntax.Spec, outdir: str | os.PathLike) -> list[Path]:
    """Composes ``spec`` and writes its exports into ``outdir``; returns the paths written."""
    with compose(spec) as composition:
        return composition.save(outdir)


# -- helpers --------------------------------------------------------------------------------------


def _literal(value: syntax.Value) -> Any:
    """The Python value of a literal option value."""
    if isinstance(value, (syntax.Str, syntax.Int, syntax.Float, syntax.Bool)):
        return value.value
    if isinstance(value, syntax.List):
        return [_literal(v) for v in value.items]
    if isinstance(value, syntax.Map):
        return {e.key.value: _literal(e.value) for e in value.entries}
    if isinstance(value, syntax.Name):
        return value.name
    raise TypeError(f"not a literal: {value!r}")


def _describe(value: syntax.Value) -> str:
    if isinstance(value, syntax.Ref):
        return f'{value.namespace.name}["{value.element.value}"]'
    if isinstance(value, syntax.Name):
        return f"'{value.name}'"
    return repr(value)


def _export_entry(export: syntax.Export) -> dict:
    entry = {"kind": export.kind.name, "path": export.path.value}
    if export.kind.name == "savedmodel":
        entry["tags"] = list(export.tags)
    return entry


def _write_manifest(composition: Composition, path: Path) -> None:
    """``graphdsl-build.yaml``: what was built from what, and the aliases by target name."""
    import yaml

    aliases = {}
    for name, element in composition.aliases.items():
        kind = "variable" if is_variable(element) else (
            "operation" if isinstance(element, tf.Operation) else "tensor")
        target = element.op.name if kind == "variable" else element.name
        aliases[name] = {"kind": kind, "name": target}
    manifest = {
        "spec": composition.spec.path,
        "namespaces": {ns: src for ns, src in composition.namespaces.items()},
        "exports": [_export_entry(e) for e in composition.spec.exports],
        "aliases": aliases,
    }
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
