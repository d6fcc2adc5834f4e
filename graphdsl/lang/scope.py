"""The scope pass: names are defined once, above the statements that use them, and mean one thing.

Sources, namespaces, aliases and export paths are the spec's names. Statements run in order, so a
name must be defined above its use; a name used before its definition, defined twice, of the wrong
kind (a source where a namespace is wanted ...) or unknown is an error, with "did you mean" where
a known name is close. References (``NS["element"]`` and aliases) are checked where the schema
says an entry holds references. Aliases are resolved as they are defined, so each check is a
dictionary lookup and the pass runs in time linear in the spec, whatever its chains of aliases.
"""

from __future__ import annotations

import posixpath
from typing import Any, Iterable, NoReturn, TypeVar, cast

from graphdsl.errors import did_you_mean
from graphdsl.lang import grammar, schema, syntax
from graphdsl.lang.passes import Pass, describe, first_at, place, plain_names

N = TypeVar("N", bound=syntax.Node)
# Plain names: reading an enum's member from its class is slow, and the pass asks per entry.
_REFERENCES, _REFERENCE_MAP = schema.ValueType.REFERENCES, schema.ValueType.REFERENCE_MAP
_BIND, _REF, _SIGNATURE = syntax.Bind, syntax.Ref, syntax.Signature
_PLAIN_NAME = plain_names(glob=False, tensor=False)  # check_element's first step for references


class ScopePass(Pass):
    """Definitions before use, duplicate names, references, aliases and namespaces."""

    rank = 0

    def __init__(self, spec: syntax.Spec, statements: bool = True) -> None:
        """A pass handed statements one by one has no spec (None): it knows nothing defined
        below the statement it is at, which only its messages use; the one check of a good spec
        that needs it (an alias named as a namespace) is then
        :class:`graphdsl.lang.check.StatementChecks`' own, once the spec is whole."""
        super().__init__(spec, statements)
        # Defined above the current statement.
        self.sources: dict[str, syntax.Source] = {}
        self.namespaces: dict[str, syntax.Copy] = {}  # the first copy into each namespace
        self.aliases: dict[str, syntax.Let] = {}
        self.resolved: dict[str, syntax.Ref] = {}  # alias -> the reference it stands for
        self.export_paths: dict[str, syntax.Export] = {}
        # Defined anywhere, to tell "defined below" from "unknown".
        whole = spec is not None
        self.all_sources = _first_by_name((s.name.name, s) for s in spec.sources) if whole else {}
        self.all_namespaces = _first_by_name((c.namespace.name, c) for c in spec.copies) if whole else {}
        self.all_aliases = _first_by_name((a.name.name, a) for a in spec.lets) if whole else {}
        self.value_keywords = grammar.words().value_keywords  # `true`, `false`: no alias names

    def visit_Spec(self, spec: syntax.Spec) -> None:
        for statement in spec.statements if self.statements else ():
            self.visit(statement)

    def visit_Version(self, version: syntax.Version) -> None:
        pass

    # Statements -------------------------------------------------------------------------------

    def visit_Source(self, source: syntax.Source) -> None:
        self.enter(source, 1)
        name = source.name
        if name.name in self.sources:
            self.fail(f"duplicate source '{name.name}'", name.span, first_at(self.sources[name.name], name.name, at=name.span))
        self.sources[name.name] = source

    def visit_Copy(self, copy: syntax.Copy) -> None:
        self.enter(copy, 1)
        namespace, source = copy.namespace, copy.source
        if source.name not in self.sources:
            self.unknown_source(source)
        earlier = self.namespaces.get(namespace.name)
        if earlier is not None and earlier.source.name != source.name:
            self.fail(
                f"namespace '{namespace.name}' already takes from source '{earlier.source.name}' "
                f"(line {earlier.span.line})",
                source.span,
                f"a namespace takes from one source; copy '{source.name}' into another namespace",
            )
        for bind in copy.entries:
            if type(bind) is not _BIND:
                continue
            self._at = (bind, 0, 2)  # self.leave(bind, 2), inline
            ref = self.reference(bind.value, "a bind target")
            if ref.namespace.name == namespace.name:
                self.fail(
                    f"a bind cannot refer to its own namespace '{namespace.name}'",
                    bind.value.span,
                    "bind to an element of another namespace, or take the element in this copy",
                )
        self.namespaces.setdefault(namespace.name, copy)

    def visit_Let(self, let: syntax.Let) -> None:
        self.enter(let, 1)
        name = let.name
        if name.name in self.value_keywords:
            self.fail(f"'{name.name}' cannot name an alias", name.span, "it is a boolean value; choose another name")
        if name.name in self.aliases:
            self.fail(f"duplicate alias '{name.name}'", name.span, first_at(self.aliases[name.name], name.name, at=name.span))
        clash = self.all_namespaces.get(name.name)
        if clash is not None:
            self.fail(
                f"alias '{name.name}' has the name of a namespace",
                name.span,
                f"the namespace is defined at {place(clash.span, name.span)}; rename one of them",
            )
        self.resolved[name.name] = self.reference(let.value, "the value of a let")
        self.aliases[name.name] = let

    def visit_Export(self, export: syntax.Export) -> None:
        path = export.path
        self.enter(path, 2)  # after the schema's checks of the path itself
        # A path of one name (no '/') is its own normal form: normpath only for the others.
        normal = posixpath.normpath(path.value) if "/" in path.value else path.value
        if normal in self.export_paths:
            self.fail(f"duplicate export path '{path.value}'", path.span, first_at(self.export_paths[normal], at=path.span))
        self.export_paths[normal] = export
        kind = schema.EXPORT_KINDS.get(export.kind.name)
        if kind is None:
            return
        entry: Any
        for entry in export.entries:
            if type(entry) is _SIGNATURE:
                self.visit_Signature(entry)
                continue
            known = kind.entry(entry.key.name)
            if known is not None and known.type is _REFERENCES:
                self.leave(entry, 2)
                value = entry.value
                for item in value.items if isinstance(value, syntax.ListValue) else (value,):
                    self.reference(item, known.noun)

    def visit_Signature(self, signature: syntax.Signature) -> None:
        namespaces = self.namespaces
        for setting in signature.entries:
            known = schema.signature_entry(setting.key.name)
            if known is None or not isinstance(setting.value, syntax.MapValue):
                continue  # the schema pass reports it
            if known.type is not _REFERENCE_MAP:
                continue  # values, not names (a warmup's sample inputs)
            self._at = (setting, 0, 3)  # self.leave(setting, 3), inline
            for entry in setting.value.entries:
                value = entry.value
                # reference()'s first case inline (a good reference to a namespace copied above):
                # a signature's every input and output comes here.
                if type(value) is not _REF or value.namespace.name not in namespaces or _PLAIN_NAME(
                        value.element.value) is None:
                    self.reference(value, f"a signature {known.noun}")

    # References -------------------------------------------------------------------------------

    def reference(self, value: syntax.Value, what: str) -> syntax.Ref:
        """Check that ``value`` is a reference or alias to an element copied above; return the Ref."""
        if type(value) is _REF:
            ref = cast(syntax.Ref, value)
            if ref.namespace.name not in self.namespaces:
                self.namespace(ref.namespace)
            if _PLAIN_NAME(ref.element.value) is None:  # else surely a good name
                self.check_element(ref.element, "referenced element")
            return ref
        if isinstance(value, syntax.Word):
            self.alias(value)
            return self.resolved[value.name]
        self.fail(
            f"{what} must be a reference, not {describe(value)}",
            value.span,
            'write NAMESPACE["element"] or an alias defined with let',
        )

    def namespace(self, namespace: syntax.Ident) -> None:
        name = namespace.name
        if name in self.namespaces:
            return
        later = self.all_namespaces.get(name)
        if later is not None:
            self.fail(
                f"namespace '{name}' is defined below, at {place(later.span, namespace.span)}",
                namespace.span,
                f"statements run in order: move the copy into '{name}' above this line",
            )
        if name in self.sources:
            self.fail(
                f"'{name}' is a source, not a namespace",
                namespace.span,
                f"copy from it first (copy NS from {name} {{ ... }}), then refer to NS[...]",
            )
        if name in self.aliases:
            self.fail(f"'{name}' is an alias, not a namespace", namespace.span, f"write {name} without [...]")
        self.fail(
            f"unknown namespace '{name}'",
            namespace.span,
            did_you_mean(name, self.all_namespaces) or "a namespace is defined by a copy statement",
        )

    def alias(self, value: syntax.Word) -> None:
        name = value.name
        if name in self.aliases:
            return
        later = self.all_aliases.get(name)
        if later is not None:
            self.fail(
                f"alias '{name}' is defined below, at {place(later.span, value.span)}",
                value.span,
                "statements run in order: move the let statement above this line",
            )
        if name in self.namespaces:
            self.fail(f"'{name}' is a namespace, not an element", value.span, f'name an element: {name}["name:0"]')
        if name in self.sources:
            self.fail(f"'{name}' is a source, not an element", value.span,
                      "refer to an element of a copy: NS[\"name:0\"]")
        self.fail(
            f"unknown alias '{name}'",
            value.span,
            did_you_mean(name, list(self.all_aliases) + list(self.namespaces))
            or "define it first: let NAME = NS[\"name:0\"]",
        )

    def unknown_source(self, source: syntax.Ident) -> NoReturn:
        later = self.all_sources.get(source.name)
        if later is not None:
            self.fail(
                f"source '{source.name}' is defined below, at {place(later.span, source.span)}",
                source.span,
                "statements run in order: move the source statement above this copy",
            )
        if source.name in self.namespaces:
            self.fail(f"'{source.name}' is a namespace, not a source", source.span, "copy from a source name")
        self.fail(
            f"unknown source '{source.name}'",
            source.span,
            did_you_mean(source.name, self.all_sources) or "define it first: source NAME = KIND(\"PATH\")",
        )


def _first_by_name(pairs: Iterable[tuple[str, N]]) -> dict[str, N]:
    found: dict[str, N] = {}
    for name, node in pairs:
        found.setdefault(name, node)
    return found
