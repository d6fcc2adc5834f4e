"""One resolver of names, for build, plan, run and the API.

A name reaches a graph element in one of two places:

- **in a source graph**, as a spec writes it in ``take``, ``stop_at`` and ``bind``: an op name
  (``"encoder/out"``), a tensor name (``"encoder/out:0"``), a glob (``take`` only) or, for a
  savedmodel source, a signature key (``"@features"``);
- **in the target graph**, as a spec's values and ``graphdsl run`` name it: an alias, a reference
  ``NS["name in the source"]`` (the copy of that element), a signature key of the export being
  run, or a tensor, op or variable name of the graph itself.

:class:`Resolver` does both, so ``build``, ``plan`` and ``run`` agree on what a name means. The
composition feeds it as it runs the spec (sources, namespaces, aliases in statement order); ``run``
on a build's output directory gives it the aliases of the build manifest and the signature keys of
the loaded SavedModel.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import tensorflow as tf

from graphdsl.api import get_copied
from graphdsl.errors import BuildError, CopyError, GraphDslError, Span, did_you_mean
from graphdsl.lang import schema, syntax
from graphdsl.tf.registry import is_variable, registry_of, variable_named, variable_tensor
from graphdsl.tf.sources import LoadedSource

_GLOB = schema.GLOB_CHARS
# NAMESPACE["element"]; a template's block use makes scoped namespaces (tower_0/Enc).
_REFERENCE = re.compile(r'([A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)\["([^"]*)"\]')

Element = Any  # a tf.Tensor, tf.Operation or tf.Variable


class Resolver:
    """Names to elements of ``graph`` (the target), and of the sources copied into it.

    ``aliases`` maps an alias to its element (or to the element's name in ``graph``, as a build
    manifest keeps it); ``keys`` maps a signature key to a tensor name. ``sources`` and
    ``namespaces`` are filled by the composition; without them references cannot be resolved
    (a built graph keeps no record of what is a copy of what). ``error`` is the class of the
    errors :meth:`text` raises.
    """

    def __init__(self, graph: tf.Graph, spec: syntax.Spec | None = None,
                 error: type[GraphDslError] = GraphDslError) -> None:
        self.graph = graph
        self.spec = spec
        self.error = error
        self.sources: dict[str, LoadedSource] = {}  # source name -> loaded source
        self.namespaces: dict[str, str] = {}  # namespace -> source name
        self.aliases: dict[str, Element | str] = {}
        self.keys: dict[str, str] = {}  # signature key -> tensor name in the graph
        self._reads: dict[str, tf.Tensor] = {}  # variable op name -> the read op made for it

    # -- names in a source graph -------------------------------------------------------------------

    def take(self, source_name: str, item: syntax.String) -> list[Element]:
        """The source elements a ``take`` item names: one, or every op a glob matches."""
        text = item.value
        if not _GLOB & set(text):
            return [self.source_element(source_name, text, item.span)]
        graph = self.sources[source_name].graph
        matched = [op for op in graph.get_operations() if fnmatch.fnmatchcase(op.name, text)]
        if not matched:
            raise self._fail(f"no op of source '{source_name}' matches {text!r}", item.span,
                             "check the pattern against the source's op names")
        return matched

    def source_element(self, source_name: str, text: str, span: Span | None = None) -> Element:
        """The op (``"op"``) or tensor (``"op:0"``, ``"@key"``) of a source that ``text`` names.

        ``span`` is where the spec names it; errors point there (without one, they carry none).
        """
        source = self.sources[source_name]
        if text.startswith("@"):
            return self._signature_tensor(source, source_name, text[1:], span)
        op_name, _, index = text.partition(":")
        try:
            op = source.graph.get_operation_by_name(op_name)
        except KeyError:
            names = [o.name for o in source.graph.get_operations()]
            raise self._fail(f"source '{source_name}' has no op '{op_name}'", span,
                             did_you_mean(op_name, names)) from None
        if not index:
            return op
        if not index.isdigit() or int(index) >= len(op.outputs):
            raise self._fail(f"op '{op_name}' of source '{source_name}' has "
                             f"{len(op.outputs)} output(s), so there is no '{text}'", span,
                             f"use an index below {len(op.outputs)}" if op.outputs else None)
        return op.outputs[int(index)]

    def source_tensor(self, source_name: str, item: syntax.String) -> tf.Tensor:
        """Like :meth:`source_element`, for places that need a tensor (``stop_at``, ``bind``)."""
        element = self.source_element(source_name, item.value, item.span)
        if isinstance(element, tf.Operation):
            raise self._fail(f"{item.value!r} names an op; a tensor is needed here", item.span,
                             f"write '{item.value}:0'")
        return element

    def _signature_tensor(self, source: LoadedSource, source_name: str, key: str,
                          span: Span | None) -> tf.Tensor:
        """``"@key"``: the tensor of input or output ``key`` of a savedmodel source's signature."""
        try:
            return source.graph.get_tensor_by_name(source.signature_tensor(source_name, key))
        except GraphDslError as e:
            raise self._fail(e.message, span, e.hint) from None

    # -- the spec's values -------------------------------------------------------------------------

    def value(self, value: syntax.Value) -> Element:
        """The copied element an alias or reference of the spec denotes.

        Statements run in order, so an alias a value names is defined (the checker saw to that).
        """
        if isinstance(value, syntax.Word):
            return self._alias(value.name)
        if isinstance(value, syntax.Ref):
            return self.copy_of(value.namespace.name, value.element.value, value.element.span)
        raise TypeError(f"not a reference or alias: {value!r}")  # the checker lets none through

    def tensor(self, value: syntax.Value, resource: bool = False) -> tf.Tensor:
        """The tensor a value stands for where a tensor is needed.

        A variable stands for its value (one read op, made once), or for its handle where a
        ``resource`` is wanted (a bind onto a resource input).
        """
        element = self.value(value)
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

    def copy_of(self, namespace: str, element: str, span: Span | None = None) -> Element:
        """The copy in ``namespace`` of the source element called ``element`` ("x:0", "op", "@key").

        A variable's op name (``"dense/kernel"``) gives the copied Variable. ``span`` is where the
        spec names it; without one (the API, ``run``) errors carry no position.
        """
        if namespace not in self.namespaces:
            if self.spec is None:
                raise self.error(f"'{namespace}[\"{element}\"]': references name the copies of a "
                                 "spec, and this graph was loaded without one",
                                 hint="run the spec itself, or name an alias or the copy's own name")
            raise self._fail(f"no copy went into a namespace '{namespace}'", span,
                             did_you_mean(namespace, list(self.namespaces)))
        source_name = self.namespaces[namespace]
        source = self.sources[source_name]
        original = self.source_element(source_name, element, span)
        if isinstance(original, tf.Operation):
            variable = variable_named(source.graph, original.name)
            if variable is not None:
                original = variable
        try:
            return get_copied(original, self.graph, namespace=namespace, complete=False)
        except CopyError as e:
            record = registry_of(self.graph).record(source.graph, namespace)
            close = did_you_mean(element, record.names() if record else [])
            raise self._fail(f"{element!r} of source '{source_name}' was not copied into namespace "
                             f"'{namespace}'", span,
                             close or f"add it to the 'take' of a copy into {namespace} (what it "
                             "shares with what was copied is reused)") from e

    # -- names given on the command line or to the API -----------------------------------------------

    def text(self, name: str) -> Element:
        """The element a name given to ``graphdsl run`` or ``Composition.tensor`` stands for.

        In order: a signature key, an alias, a reference (``Head["logits:0"]``), a variable's op
        name (the Variable, whose value a fetch reads), a tensor or op name of the graph.
        """
        if name in self.keys:
            return self._in_graph(self.keys[name], name)
        if name in self.aliases:
            return self._alias(name)
        match = _REFERENCE.fullmatch(name)
        if match:
            return self.copy_of(match.group(1), match.group(2))
        found = self._by_name(name)
        if found is not None:
            return found
        known = sorted({*self.keys, *self.aliases})  # an alias may share a signature key's name
        ops = [op.name for op in self.graph.get_operations()]
        raise self.error(f"no input, output, alias or element named '{name}'",
                         hint=did_you_mean(name, [*known, *ops])
                         or f"known names: {', '.join(known) or '(none)'}")

    def _alias(self, name: str) -> Element:
        element = self.aliases[name]
        if isinstance(element, str):  # a name in the graph, as a build manifest keeps it
            element = self.aliases[name] = self._in_graph(element, name)
        return element

    def _in_graph(self, target_name: str, name: str) -> Element:
        found = self._by_name(target_name)
        if found is None:
            raise self.error(f"'{name}' stands for '{target_name}', which the graph does not hold",
                             hint="rebuild the output directory with 'graphdsl build'")
        return found

    def _by_name(self, name: str) -> Element | None:
        variable = variable_named(self.graph, name.partition(":")[0])
        if variable is not None:
            return variable
        try:
            return self.graph.as_graph_element(name, allow_tensor=True, allow_operation=True)
        except (KeyError, ValueError, TypeError):
            return None

    def _fail(self, message: str, span: Span | None, hint: str | None = None) -> GraphDslError:
        if span is None or self.spec is None:
            return self.error(message, hint=hint)
        return BuildError(message, span=span, hint=hint, source=self.spec.text)


def _describe(value: syntax.Value) -> str:
    if isinstance(value, syntax.Ref):
        return f'{value.namespace.name}["{value.element.value}"]'
    if isinstance(value, syntax.Word):
        return f"'{value.name}'"
    return repr(value)

