"""The schema pass: every statement says something :mod:`graphdsl.lang.schema` allows.

The version line; source kinds, their paths and options; copy entries, variable modes and element
names; export kinds, paths and entries; signatures. Within a statement, entries are checked in
order and what is missing is reported last, so that a misspelled ``tak = ...`` is reported as such
rather than as a missing ``take``. Names across statements and references belong to the scope
pass (:mod:`graphdsl.lang.scope`).
"""

from __future__ import annotations

import posixpath
from typing import Any, Mapping, TypeVar, cast

from graphdsl.errors import Span, SpecError, did_you_mean
from graphdsl.lang import schema, serving, syntax
from graphdsl.lang.passes import Pass, describe, first_at, plain_names

ValueType = schema.ValueType
# The types, as plain names: reading an enum's member from its class costs a lookup through the
# enum's metaclass, and value() below compares each entry's type.
_STRING, _STRING_LIST, _MODE, _BOOL = ValueType.STRING, ValueType.STRING_LIST, ValueType.MODE, ValueType.BOOL
_ELEMENT_PATTERNS, _TENSOR_NAMES = ValueType.ELEMENT_PATTERNS, ValueType.TENSOR_NAMES
_REFERENCE_MAP = ValueType.REFERENCE_MAP
# The node types literal() tells apart, by exact type (no node type has subclasses).
_LIST, _MAP, _WORD, _REF = syntax.ListValue, syntax.MapValue, syntax.Word, syntax.Ref
_SCALARS = frozenset({syntax.String, syntax.Int, syntax.Float, syntax.Bool})
_STRING_NODE, _SETTING, _OVERRIDE = syntax.String, syntax.Setting, syntax.VariableOverride
_SIGNATURE = syntax.Signature
# check_element's first step, for element patterns (globs) and tensor names.
_PLAIN_GLOB, _PLAIN_TENSOR = plain_names(glob=True, tensor=False), plain_names(glob=False, tensor=True)
K = TypeVar("K")  # a kind of the schema: SourceKind or ExportKind


class SchemaPass(Pass):
    """Kinds, options, entries and the types of their values, as the schema says."""

    rank = 1

    def visit_Spec(self, spec: syntax.Spec) -> None:
        self.enter(spec, 0)
        version = self.version()
        for statement in spec.statements if self.statements else ():  # else: those on the whole spec
            self.visit(statement)
        self.leave(spec, 0)
        if not spec.copies:
            self.fail(
                "nothing to build: the spec has no copy statement",
                version.span,
                "add one, e.g. copy Enc from encoder { take = [\"encoder/out\"] }",
            )

    def version(self) -> syntax.Version:
        statements = self.spec.statements
        versions = [s for s in statements if isinstance(s, syntax.Version)]
        if not versions:
            span = statements[0].span if statements else Span(self.spec.path, 1, 1, 1, 1, self.spec.file)
            self.fail("missing version line", span, "begin the spec with the line: graphdsl 1")
        first = versions[0]
        if statements[0] is not first:
            self.fail(
                "the version line must be the first statement",
                first.span,
                f"move it above line {statements[0].span.line}",
            )
        if len(versions) > 1:
            self.fail("duplicate version line", versions[1].span, f"the version is given at line {first.span.line}")
        if first.number.value not in schema.SUPPORTED_VERSIONS:
            known = ", ".join(str(v) for v in schema.SUPPORTED_VERSIONS)
            self.fail(f"unsupported version {first.number.value}", first.number.span,
                      f"this graphdsl reads version {known}")
        return first

    def visit_Version(self, version: syntax.Version) -> None:
        pass  # checked with the whole spec: where it stands matters

    def visit_Let(self, let: syntax.Let) -> None:
        pass  # a let is all names and references: the scope pass

    def kind(self, kinds: Mapping[str, K], word: syntax.Ident, noun: str) -> K:
        """The kind ``word`` names in the schema's table ``kinds``; ``noun`` says what has kinds ("a source")."""
        kind = kinds.get(word.name)
        if kind is None:
            self.fail(
                f"unknown {noun.split()[-1]} kind '{word.name}'",
                word.span,
                did_you_mean(word.name, kinds) or f"{noun} kind is one of: {', '.join(kinds)}",
            )
        return kind

    # Sources ----------------------------------------------------------------------------------

    def visit_Source(self, source: syntax.Source) -> None:
        self.enter(source, 1)
        kind = self.kind(schema.SOURCE_KINDS, source.kind, "a source")
        self.source_path(source, kind)
        seen: dict[str, syntax.Setting] = {}
        for option in source.options:
            key = option.key.name
            if key in seen:
                self.fail(f"duplicate option '{key}'", option.key.span, first_at(seen[key], key, column=True))
            seen[key] = option
            if kind.options is None:
                if type(option.value) not in _SCALARS:  # a scalar is a literal
                    self.literal(option.value, f"builder argument '{key}'")
                continue
            entry = kind.option(key)
            if entry is None:
                allowed = kind.option_names
                takes = f"takes: {', '.join(allowed)}" if allowed else "takes no options"
                self.fail(
                    f"unknown option '{key}' for a {kind.name} source",
                    option.key.span,
                    did_you_mean(key, allowed) or f"a {kind.name} source {takes}",
                )
            self.value(entry, option.value, f"option '{key}'")

    def source_path(self, source: syntax.Source, kind: schema.SourceKind) -> None:
        path = source.path
        if not path.value:
            self.fail("empty source path", path.span, "the path is relative to the spec file")
        self.no_nul(path)
        if kind.path_pattern is not None:
            if not kind.path_pattern.match(path.value):
                self.fail(
                    f"a {kind.name} source path must be FILE.py:FUNCTION",
                    path.span,
                    'e.g. "builders/linear.py:build": the function builds the graph',
                )
        elif kind.suffixes and not path.value.endswith(kind.suffixes):
            self.fail(
                f"a {kind.name} source path must end in {' or '.join(kind.suffixes)}",
                path.span,
                f"'{path.value}' does not; name the file of the {kind.name}",
            )

    def literal(self, value: syntax.Value, what: str) -> None:
        """A literal, at any depth: no alias or reference (a builder runs before any copy)."""
        # Depth first in source order, as a recursive walk would go, with a stack of its own;
        # only lists, maps and names go on it (python sources take large lists of scalars).
        stack: list[Any] = [value]
        pop, push = stack.pop, stack.append
        while stack:
            node = pop()
            kind = type(node)
            if kind is _LIST:
                # What may hold a name goes on the stack, last first; a list of scalars inside
                # is looked at here.
                for item in reversed(node.items):
                    inside = type(item)
                    if inside in _SCALARS:
                        continue
                    if inside is _LIST:
                        for inner in item.items:
                            if type(inner) not in _SCALARS:
                                push(item)
                                break
                    else:
                        push(item)
            elif kind is _MAP:
                self.map_keys(node, "key")
                stack += [e.value for e in reversed(node.entries) if type(e.value) not in _SCALARS]
            elif kind is _WORD:
                self.fail(f"{what} must be a literal", node.span, f'write "{node.name}" in quotes for a string')
            elif kind is _REF:
                self.fail(f"{what} must be a literal", node.span,
                          "a builder runs before any copy: it cannot take a reference")

    # Copies -----------------------------------------------------------------------------------

    def visit_Copy(self, copy: syntax.Copy) -> None:
        settings: dict[str, syntax.Setting] = {}
        patterns: dict[str, syntax.VariableOverride] = {}
        inputs: dict[str, syntax.Bind] = {}
        entry: Any
        for entry in copy.entries:
            self._at = (entry, 1, 2)  # self.enter(entry, 2), inline
            kind = type(entry)
            if kind is _SETTING:
                self.copy_setting(entry, settings)
            elif kind is _OVERRIDE:
                pattern = entry.pattern
                if not pattern.value:
                    self.fail("empty variable pattern", pattern.span,
                              'a pattern is a glob on variable op names, e.g. "dense/*"')
                if pattern.value in patterns:
                    self.fail(f"duplicate variable pattern '{pattern.value}'", pattern.span,
                              first_at(patterns[pattern.value]))
                patterns[pattern.value] = entry
                self.mode(entry.value)
            else:
                if _PLAIN_TENSOR(entry.input.value) is None:  # else surely a tensor name
                    self.check_element(entry.input, "bind input", tensor=True)
                if entry.input.value in inputs:
                    self.fail(f"input '{entry.input.value}' is bound twice", entry.input.span,
                              first_at(inputs[entry.input.value]))
                inputs[entry.input.value] = entry
        self.leave(copy, 1)
        for required in schema.COPY_ENTRIES:
            if required.required and required.key not in settings:
                self.fail(f"copy into '{copy.namespace.name}' has no {required.key}", copy.span, required.missing)

    def copy_setting(self, setting: syntax.Setting, seen: dict[str, syntax.Setting]) -> None:
        key = setting.key.name
        entry = schema.copy_entry(key)
        if entry is None:
            keys = [e.key for e in schema.COPY_ENTRIES]
            labelled = " and ".join(str(e) for e in schema.COPY_LABELLED)
            self.fail(
                f"unknown entry '{key}' in a copy",
                setting.key.span,
                did_you_mean(key, keys) or f"a copy takes {', '.join(keys)}, {labelled}",
            )
        if key in seen:
            self.fail(f"duplicate '{key}' in this copy", setting.key.span, first_at(seen[key]))
        seen[key] = setting
        self.value(entry, setting.value, f"'{key}'")

    def mode(self, value: syntax.Value) -> None:
        modes = schema.VARIABLE_MODES
        if type(value) is _WORD and cast(syntax.Word, value).name in modes:
            return
        if isinstance(value, syntax.String) and value.value in modes:
            self.fail("a variable mode is a bare word", value.span, f"write {value.value} without quotes")
        either = " or ".join(modes)
        if isinstance(value, syntax.Word):
            self.fail(
                f"unknown variable mode '{value.name}'",
                value.span,
                did_you_mean(value.name, modes) or f"a variable mode is {either}",
            )
        self.fail(f"a variable mode must be {either}, not {describe(value)}", value.span)

    # Exports ----------------------------------------------------------------------------------

    def visit_Export(self, export: syntax.Export) -> None:
        self.enter(export, 1)
        kind = self.kind(schema.EXPORT_KINDS, export.kind, "an export")
        self.export_path(export.path)
        seen: dict[str, syntax.Setting] = {}
        names: dict[str, syntax.Signature] = {}
        entry: Any
        for entry in export.entries:
            self._at = (entry, 1, 2)  # self.enter(entry, 2), inline
            if type(entry) is _SIGNATURE:
                self.signature(entry, kind, names)
            else:
                self.export_setting(entry, kind, seen)
        self.leave(export, 1)
        if kind.signatures and not names:
            self.fail(
                f"a {kind.name} export needs at least one signature",
                export.span,
                f"add e.g. signature {schema.DEFAULT_SIGNATURE} {{ inputs = {{...}}  outputs = {{...}} }}",
            )
        for required in kind.entries:
            if required.required:
                value = seen[required.key].value if required.key in seen else None
                if value is None or _empty(value):
                    self.fail(f"a {kind.name} export needs {required.key}", export.span, required.missing)

    def export_path(self, path: syntax.String) -> None:
        if not path.value:
            self.fail("empty export path", path.span, "the path is relative to the build's output directory")
        self.no_nul(path)
        normal = posixpath.normpath(path.value) if "/" in path.value else path.value  # one name: itself
        if path.value.startswith("/") or normal == ".." or normal.startswith("../"):
            self.fail(
                f"export path '{path.value}' leaves the output directory",
                path.span,
                "export paths are relative to the build's output directory",
            )

    def no_nul(self, path: syntax.String) -> None:
        if "\0" in path.value:
            self.fail("a path cannot hold a NUL character", path.span, "no file name can; remove it")

    def export_setting(self, setting: syntax.Setting, kind: schema.ExportKind, seen: dict[str, syntax.Setting]) -> None:
        key = setting.key.name
        entry = kind.entry(key)
        if entry is None:
            known = kind.entry_names + (("signature",) if kind.signatures else ())
            self.fail(
                f"unknown entry '{key}' in a {kind.name} export",
                setting.key.span,
                did_you_mean(key, known)
                or (f"a {kind.name} export takes: {', '.join(known)}" if known
                    else f"a {kind.name} export takes no entries"),
            )
        if key in seen:
            self.fail(f"duplicate '{key}' in this export", setting.key.span, first_at(seen[key]))
        seen[key] = setting
        self.value(entry, setting.value, f"'{key}'")

    def signature(self, signature: syntax.Signature, kind: schema.ExportKind,
                  names: dict[str, syntax.Signature]) -> None:
        if not kind.signatures:
            takers = " and ".join(k.name for k in schema.EXPORT_KINDS.values() if k.signatures)
            self.fail(f"a {kind.name} export takes no signature", signature.span,
                      f"signatures belong to {takers} exports")
        name = signature.name
        if name.value in names:
            self.fail(f"duplicate signature '{name.value}'", name.span, first_at(names[name.value]))
        names[name.value] = signature
        seen: dict[str, syntax.Setting] = {}
        for setting in signature.entries:
            self._at = (setting, 1, 3)  # self.enter(setting, 3), inline
            key = setting.key.name
            entry = schema.signature_entry(key)
            if entry is None:
                keys = [e.key for e in schema.SIGNATURE_ENTRIES]
                self.fail(
                    f"unknown entry '{key}' in a signature",
                    setting.key.span,
                    did_you_mean(key, keys) or f"a signature takes {' and '.join(keys)}",
                )
            if key in seen:
                self.fail(f"duplicate '{key}' in this signature", setting.key.span, first_at(seen[key]))
            seen[key] = setting
            self.value(entry, setting.value, f"'{key}'")
        self.leave(signature, 2)
        for required in schema.SIGNATURE_ENTRIES:
            if required.required:
                value = seen[required.key].value if required.key in seen else None
                if value is None or _empty(value):
                    self.fail(f"signature '{name.value}' has no {required.key}", signature.span,
                              required.missing)
        if serving.WARMUP not in seen:
            return  # nothing for serving.check_warmup to check
        try:
            serving.check_warmup(signature)
        except SpecError as error:
            self.fail(error.message, error.span or signature.span, error.hint)

    # Values, by the type the schema gives them --------------------------------------------------

    def value(self, entry: schema.Entry, value: syntax.Value, what: str) -> None:
        kind = entry.type
        if kind is _STRING:
            if not isinstance(value, syntax.String):
                self.fail(f"{what} must be a string, not {describe(value)}", value.span, f"e.g. {entry.example}")
        elif kind is _STRING_LIST:
            self.strings(value, what, entry.example)
        elif kind is _MODE:
            self.mode(value)
        elif kind is _ELEMENT_PATTERNS or kind is _TENSOR_NAMES:
            names = self.strings(value, what, entry.example, single=True)
            if not entry.allow_empty and not names:
                self.fail(f"empty {entry.key} list", value.span, "name at least one element to copy")
            glob = kind is _ELEMENT_PATTERNS
            plain = _PLAIN_GLOB if glob else _PLAIN_TENSOR
            for name in names:
                if plain(name.value) is None:  # else surely a good name: check_element's first step
                    self.check_element(name, entry.noun, glob=glob, tensor=not glob)
        elif kind is _BOOL:
            if not isinstance(value, syntax.Bool):
                self.fail(f"{what} must be true or false, not {describe(value)}", value.span,
                          f"write {entry.example}")
        elif kind is _REFERENCE_MAP:
            if not isinstance(value, syntax.MapValue):
                self.fail(f"{what} must be a map, not {describe(value)}", value.span, f"write {entry.example}")
            self.map_keys(value, entry.noun)
        # REFERENCES: the scope pass checks what they name; LITERAL: checked by literal();
        # INPUT_VALUES: checked with the signature's inputs, by signature().

    def strings(self, value: syntax.Value, what: str, example: str, single: bool = False) -> tuple[syntax.String, ...]:
        """A list of strings (or, if ``single``, one string); return the strings."""
        # Exact types, and a loop rather than all(generator): every take and stop_at comes here.
        if type(value) is _STRING_NODE:
            if single:
                return (cast(syntax.String, value),)
        elif type(value) is _LIST:
            items = cast(syntax.ListValue, value).items
            for item in items:
                if type(item) is not _STRING_NODE:
                    break
            else:
                return cast("tuple[syntax.String, ...]", items)
        bad = value
        if isinstance(value, syntax.ListValue):
            bad = next(v for v in value.items if not isinstance(v, syntax.String))
        kind = "a string or a list of strings" if single else "a list of strings"
        self.fail(f"{what} must be {kind}, not {describe(bad)}", bad.span, f"e.g. {example}")

    def map_keys(self, value: syntax.MapValue, what: str) -> None:
        seen: dict[str, syntax.MapEntry] = {}
        for entry in value.entries:
            if entry.key.value in seen:
                self.fail(f"duplicate {what} '{entry.key.value}'", entry.key.span,
                          first_at(seen[entry.key.value], column=True))
            seen[entry.key.value] = entry


def _empty(value: syntax.Value) -> bool:
    return (isinstance(value, syntax.ListValue) and not value.items) or (
        isinstance(value, syntax.MapValue) and not value.entries)
