"""Stage 2: static checks of a parsed spec, without loading any graph (and without TensorFlow).

:func:`check` walks the statements in order, as a build runs them, and raises the first
:class:`~graphdsl.errors.SpecError` it meets, with a span, a hint and "did you mean" where a name
is close to a known one. A name must be defined above the statement that uses it. Within a
statement the entries are checked in order and what is missing is reported last, so that a
misspelled ``tak = ...`` is reported as such rather than as a missing ``take``.
"""

from __future__ import annotations

import posixpath
from typing import Iterable, NoReturn

from graphdsl.lang import schema, serving, syntax
from graphdsl.errors import Span, SpecError, did_you_mean

# The schema's facts, in the shapes this checker reads them.
SOURCE_OPTIONS: dict[str, tuple[str, ...] | None] = {
    kind.name: None if kind.options is None else kind.option_names for kind in schema.SOURCE_KINDS.values()
}
SOURCE_SUFFIXES = {k.name: k.suffixes for k in schema.SOURCE_KINDS.values() if k.path_pattern is None}
PYTHON_PATH = schema.SOURCE_KINDS["python"].path_pattern
assert PYTHON_PATH is not None

COPY_SETTINGS = tuple(e.key for e in schema.COPY_ENTRIES)
VARIABLE_MODES = schema.VARIABLE_MODES
EXPORT_SETTINGS = {k.name: k.entry_names for k in schema.EXPORT_KINDS.values()}
SIGNATURE_SETTINGS = tuple(e.key for e in schema.SIGNATURE_ENTRIES)
SUPPORTED_VERSIONS = schema.SUPPORTED_VERSIONS

_GLOB_CHARS = schema.GLOB_CHARS


def check(spec: syntax.Spec) -> syntax.Spec:
    """Check a parsed spec; return it unchanged, or raise the first SpecError in source order."""
    _Checker(spec).run()
    return spec


def _fail(message: str, span: Span, hint: str | None = None) -> NoReturn:
    raise SpecError(message, span, hint)


def _first_by_name(nodes: Iterable[tuple[str, syntax.Statement]]) -> dict[str, syntax.Statement]:
    found: dict[str, syntax.Statement] = {}
    for name, node in nodes:
        found.setdefault(name, node)
    return found


class _Checker:
    """One walk over the statements; the dicts hold what is defined above the current one."""

    def __init__(self, spec: syntax.Spec) -> None:
        self.spec = spec
        self.sources: dict[str, syntax.Source] = {}
        self.namespaces: dict[str, syntax.Copy] = {}  # the first copy into each namespace
        self.aliases: dict[str, syntax.Let] = {}
        self.export_paths: dict[str, syntax.Export] = {}
        # Everything defined anywhere, to tell "defined below" from "unknown".
        self.all_sources = _first_by_name((s.name.name, s) for s in spec.sources)
        self.all_namespaces = _first_by_name((c.namespace.name, c) for c in spec.copies)
        self.all_aliases = _first_by_name((a.name.name, a) for a in spec.lets)

    def run(self) -> None:
        version = self.check_version()
        for statement in self.spec.statements:
            if isinstance(statement, syntax.Source):
                self.check_source(statement)
            elif isinstance(statement, syntax.Copy):
                self.check_copy(statement)
            elif isinstance(statement, syntax.Let):
                self.check_let(statement)
            elif isinstance(statement, syntax.Export):
                self.check_export(statement)
        if not self.namespaces:
            _fail(
                "nothing to build: the spec has no copy statement",
                version.span,
                "add one, e.g. copy Enc from encoder { take = [\"encoder/out\"] }",
            )

    # Version ----------------------------------------------------------------------------------

    def check_version(self) -> syntax.Version:
        statements = self.spec.statements
        versions = [s for s in statements if isinstance(s, syntax.Version)]
        if not versions:
            span = statements[0].span if statements else Span(self.spec.path, 1, 1, 1, 1)
            _fail("missing version line", span, "begin the spec with the line: graphdsl 1")
        first = versions[0]
        if statements[0] is not first:
            _fail(
                "the version line must be the first statement",
                first.span,
                f"move it above line {statements[0].span.line}",
            )
        if len(versions) > 1:
            _fail("duplicate version line", versions[1].span, f"the version is given at line {first.span.line}")
        if first.number.value not in SUPPORTED_VERSIONS:
            known = ", ".join(str(v) for v in SUPPORTED_VERSIONS)
            _fail(f"unsupported version {first.number.value}", first.number.span, f"this graphdsl reads version {known}")
        return first

    # Sources ----------------------------------------------------------------------------------

    def check_source(self, source: syntax.Source) -> None:
        name, kind = source.name, source.kind
        if name.name in self.sources:
            _fail(f"duplicate source '{name.name}'", name.span, self._first_at(self.sources[name.name], name.name))
        if kind.name not in SOURCE_OPTIONS:
            _fail(
                f"unknown source kind '{kind.name}'",
                kind.span,
                did_you_mean(kind.name, SOURCE_OPTIONS) or f"a source kind is one of: {', '.join(SOURCE_OPTIONS)}",
            )
        self.check_source_path(source)
        allowed = SOURCE_OPTIONS[kind.name]
        seen: dict[str, syntax.Setting] = {}
        for option in source.options:
            key = option.key.name
            if key in seen:
                _fail(f"duplicate option '{key}'", option.key.span, self._first_at(seen[key], key, column=True))
            seen[key] = option
            if allowed is None:
                self.check_literal(option.value, f"builder argument '{key}'")
            elif key not in allowed:
                takes = f"takes: {', '.join(allowed)}" if allowed else "takes no options"
                _fail(
                    f"unknown option '{key}' for a {kind.name} source",
                    option.key.span,
                    did_you_mean(key, allowed) or f"a {kind.name} source {takes}",
                )
            elif key == "tags":
                self.check_strings(option.value, "option 'tags'", 'tags = ["serve"]')
            else:
                entry = schema.SOURCE_KINDS[kind.name].option(key)
                if entry is not None and entry.type is schema.ValueType.BOOL:
                    if not isinstance(option.value, syntax.Bool):
                        _fail(f"option '{key}' must be true or false", option.value.span, f"write {entry.example}")
                else:
                    self.check_string(option.value, f"option '{key}'", entry.example if entry else key)
        self.sources[name.name] = source

    def check_source_path(self, source: syntax.Source) -> None:
        path, kind = source.path, source.kind.name
        if not path.value:
            _fail("empty source path", path.span, "the path is relative to the spec file")
        suffixes = SOURCE_SUFFIXES.get(kind)
        if suffixes and not path.value.endswith(suffixes):
            _fail(
                f"a {kind} source path must end in {' or '.join(suffixes)}",
                path.span,
                f"'{path.value}' does not; name the file of the {kind}",
            )
        if kind == "python" and not PYTHON_PATH.match(path.value):
            _fail(
                "a python source path must be FILE.py:FUNCTION",
                path.span,
                'e.g. "builders/linear.py:build": the function builds the graph',
            )

    def check_literal(self, value: syntax.Value, what: str) -> None:
        if isinstance(value, syntax.ListValue):
            for item in value.items:
                self.check_literal(item, what)
        elif isinstance(value, syntax.MapValue):
            self.check_map_keys(value, "key")
            for entry in value.entries:
                self.check_literal(entry.value, what)
        elif isinstance(value, syntax.Word):
            _fail(f"{what} must be a literal", value.span, f'write "{value.name}" in quotes for a string')
        elif isinstance(value, syntax.Ref):
            _fail(f"{what} must be a literal", value.span, "a builder runs before any copy: it cannot take a reference")

    # Copies -----------------------------------------------------------------------------------

    def check_copy(self, copy: syntax.Copy) -> None:
        namespace, source = copy.namespace, copy.source
        if source.name not in self.sources:
            self.unknown_source(source)
        earlier = self.namespaces.get(namespace.name)
        if earlier is not None and earlier.source.name != source.name:
            _fail(
                f"namespace '{namespace.name}' already takes from source '{earlier.source.name}' (line {earlier.span.line})",
                source.span,
                f"a namespace takes from one source; copy '{source.name}' into another namespace",
            )
        self.check_copy_entries(copy)
        if not any(isinstance(e, syntax.Setting) and e.key.name == "take" for e in copy.entries):
            _fail(
                f"copy into '{namespace.name}' has no take",
                copy.span,
                'say what to copy, e.g. take = ["encoder/out"]',
            )
        self.namespaces.setdefault(namespace.name, copy)

    def unknown_source(self, source: syntax.Ident) -> NoReturn:
        later = self.all_sources.get(source.name)
        if later is not None:
            _fail(
                f"source '{source.name}' is defined below, at line {later.span.line}",
                source.span,
                "statements run in order: move the source statement above this copy",
            )
        if source.name in self.namespaces:
            _fail(f"'{source.name}' is a namespace, not a source", source.span, "copy from a source name")
        _fail(
            f"unknown source '{source.name}'",
            source.span,
            did_you_mean(source.name, self.all_sources) or "define it first: source NAME = KIND(\"PATH\")",
        )

    def check_copy_entries(self, copy: syntax.Copy) -> None:
        settings: dict[str, syntax.Setting] = {}
        patterns: dict[str, syntax.VariableOverride] = {}
        inputs: dict[str, syntax.Bind] = {}
        for entry in copy.entries:
            if isinstance(entry, syntax.Setting):
                self.check_copy_setting(entry, settings)
            elif isinstance(entry, syntax.VariableOverride):
                pattern = entry.pattern
                if not pattern.value:
                    _fail("empty variable pattern", pattern.span, 'a pattern is a glob on variable op names, e.g. "dense/*"')
                if pattern.value in patterns:
                    _fail(f"duplicate variable pattern '{pattern.value}'", pattern.span, self._first_at(patterns[pattern.value]))
                patterns[pattern.value] = entry
                self.check_mode(entry.value)
            else:
                self.check_element(entry.input, "bind input", tensor=True)
                if entry.input.value in inputs:
                    _fail(
                        f"input '{entry.input.value}' is bound twice",
                        entry.input.span,
                        self._first_at(inputs[entry.input.value]),
                    )
                inputs[entry.input.value] = entry
                ref = self.check_reference(entry.value, "a bind target")
                if ref.namespace.name == copy.namespace.name:
                    _fail(
                        f"a bind cannot refer to its own namespace '{copy.namespace.name}'",
                        entry.value.span,
                        "bind to an element of another namespace, or take the element in this copy",
                    )

    def check_copy_setting(self, setting: syntax.Setting, seen: dict[str, syntax.Setting]) -> None:
        key = setting.key.name
        if key not in COPY_SETTINGS:
            _fail(
                f"unknown entry '{key}' in a copy",
                setting.key.span,
                did_you_mean(key, COPY_SETTINGS)
                or 'a copy takes take, variables, stop_at, variable "PATTERN" = MODE and bind "INPUT" = REF',
            )
        if key in seen:
            _fail(f"duplicate '{key}' in this copy", setting.key.span, self._first_at(seen[key]))
        seen[key] = setting
        if key == "variables":
            self.check_mode(setting.value)
            return
        example = 'take = ["encoder/out"]' if key == "take" else 'stop_at = ["input:0"]'
        names = self.check_strings(setting.value, f"'{key}'", example, single=True)
        if key == "take" and not names:
            _fail("empty take list", setting.value.span, "name at least one element to copy")
        for name in names:
            if key == "take":
                self.check_element(name, "element name", glob=True)
            else:
                self.check_element(name, "stop_at entry", tensor=True)

    def check_mode(self, value: syntax.Value) -> None:
        if isinstance(value, syntax.Word) and value.name in VARIABLE_MODES:
            return
        if isinstance(value, syntax.String) and value.value in VARIABLE_MODES:
            _fail("a variable mode is a bare word", value.span, f"write {value.value} without quotes")
        if isinstance(value, syntax.Word):
            _fail(
                f"unknown variable mode '{value.name}'",
                value.span,
                did_you_mean(value.name, VARIABLE_MODES) or "a variable mode is init or value",
            )
        _fail(f"a variable mode must be init or value, not {_describe(value)}", value.span)

    def check_element(self, name: syntax.String, what: str, glob: bool = False, tensor: bool = False) -> None:
        """An op name, or a tensor name OP:INDEX; globs only where ``glob``, tensors only if ``tensor``."""
        text = name.value
        if not text:
            _fail(f"empty {what}", name.span)
        if text.startswith("@"):  # a signature key of a savedmodel source: a tensor
            if len(text) == 1 or ":" in text or _GLOB_CHARS & set(text):
                _fail(f"malformed signature key '{text}'", name.span,
                      "write '@' and an input or output key of the source's signature, e.g. '@x'")
            return
        if not glob and _GLOB_CHARS & set(text):
            _fail(f"{what} '{text}' is a pattern", name.span, "name one element here; patterns are for take")
        if ":" in text:
            op, _, index = text.rpartition(":")
            if not op or ":" in op or not index.isdigit():
                _fail(f"malformed tensor name '{text}'", name.span, "a tensor name is OP:INDEX, e.g. 'encoder/out:0'")
        elif tensor:
            _fail(f"{what} '{text}' is not a tensor name", name.span, f"a tensor name ends in :INDEX, e.g. '{text}:0'")

    # References -------------------------------------------------------------------------------

    def check_reference(self, value: syntax.Value, what: str) -> syntax.Ref:
        """Check that ``value`` is a reference or alias to an element copied above; return the Ref."""
        if isinstance(value, syntax.Ref):
            self.check_namespace(value.namespace)
            self.check_element(value.element, "referenced element")
            return value
        if isinstance(value, syntax.Word):
            self.check_alias_use(value)
            return self.spec.resolve(value)
        _fail(
            f"{what} must be a reference, not {_describe(value)}",
            value.span,
            'write NAMESPACE["element"] or an alias defined with let',
        )

    def check_namespace(self, namespace: syntax.Ident) -> None:
        name = namespace.name
        if name in self.namespaces:
            return
        later = self.all_namespaces.get(name)
        if later is not None:
            _fail(
                f"namespace '{name}' is defined below, at line {later.span.line}",
                namespace.span,
                f"statements run in order: move the copy into '{name}' above this line",
            )
        if name in self.sources:
            _fail(
                f"'{name}' is a source, not a namespace",
                namespace.span,
                f"copy from it first (copy NS from {name} {{ ... }}), then refer to NS[...]",
            )
        if name in self.aliases:
            _fail(f"'{name}' is an alias, not a namespace", namespace.span, f"write {name} without [...]")
        _fail(
            f"unknown namespace '{name}'",
            namespace.span,
            did_you_mean(name, self.all_namespaces) or "a namespace is defined by a copy statement",
        )

    def check_alias_use(self, value: syntax.Word) -> None:
        name = value.name
        if name in self.aliases:
            return
        later = self.all_aliases.get(name)
        if later is not None:
            _fail(
                f"alias '{name}' is defined below, at line {later.span.line}",
                value.span,
                "statements run in order: move the let statement above this line",
            )
        if name in self.namespaces:
            _fail(f"'{name}' is a namespace, not an element", value.span, f'name an element: {name}["name:0"]')
        if name in self.sources:
            _fail(f"'{name}' is a source, not an element", value.span, "refer to an element of a copy: NS[\"name:0\"]")
        _fail(
            f"unknown alias '{name}'",
            value.span,
            did_you_mean(name, list(self.all_aliases) + list(self.namespaces))
            or "define it first: let NAME = NS[\"name:0\"]",
        )

    # Names ------------------------------------------------------------------------------------

    def check_let(self, let: syntax.Let) -> None:
        name = let.name
        if name.name in ("true", "false"):
            _fail(f"'{name.name}' cannot name an alias", name.span, "it is a boolean value; choose another name")
        if name.name in self.aliases:
            _fail(f"duplicate alias '{name.name}'", name.span, self._first_at(self.aliases[name.name], name.name))
        clash = self.all_namespaces.get(name.name)
        if clash is not None:
            _fail(
                f"alias '{name.name}' has the name of a namespace",
                name.span,
                f"the namespace is defined at line {clash.span.line}; rename one of them",
            )
        self.check_reference(let.value, "the value of a let")
        self.aliases[name.name] = let

    # Exports ----------------------------------------------------------------------------------

    def check_export(self, export: syntax.Export) -> None:
        kind = export.kind.name
        if kind not in EXPORT_SETTINGS:
            _fail(
                f"unknown export kind '{kind}'",
                export.kind.span,
                did_you_mean(kind, EXPORT_SETTINGS) or f"an export kind is one of: {', '.join(EXPORT_SETTINGS)}",
            )
        self.check_export_path(export)
        self.check_export_body(export)
        if kind == "savedmodel" and not export.signatures:
            _fail(
                "a savedmodel export needs at least one signature",
                export.span,
                "add e.g. signature serving_default { inputs = {...}  outputs = {...} }",
            )
        if kind == "graphdef" and not export.outputs:
            _fail(
                "a graphdef export needs outputs",
                export.span,
                "say what the frozen graph keeps: outputs = [REF, ...]",
            )

    def check_export_path(self, export: syntax.Export) -> None:
        path = export.path
        if not path.value:
            _fail("empty export path", path.span, "the path is relative to the build's output directory")
        normal = posixpath.normpath(path.value)
        if path.value.startswith("/") or normal == ".." or normal.startswith("../"):
            _fail(
                f"export path '{path.value}' leaves the output directory",
                path.span,
                "export paths are relative to the build's output directory",
            )
        if normal in self.export_paths:
            _fail(f"duplicate export path '{path.value}'", path.span, self._first_at(self.export_paths[normal]))
        self.export_paths[normal] = export

    def check_export_body(self, export: syntax.Export) -> None:
        kind = export.kind.name
        allowed = EXPORT_SETTINGS[kind]
        entries = export.entries
        seen: dict[str, syntax.Setting] = {}
        names: dict[str, syntax.Signature] = {}
        for entry in entries:
            if isinstance(entry, syntax.Signature):
                if kind != "savedmodel":
                    _fail(f"a {kind} export takes no signature", entry.span, "signatures belong to savedmodel exports")
                if entry.name.value in names:
                    _fail(f"duplicate signature '{entry.name.value}'", entry.name.span, self._first_at(names[entry.name.value]))
                names[entry.name.value] = entry
                self.check_signature(entry)
                continue
            key = entry.key.name
            if key not in allowed:
                known = allowed + (("signature",) if kind == "savedmodel" else ())
                _fail(
                    f"unknown entry '{key}' in a {kind} export",
                    entry.key.span,
                    did_you_mean(key, known)
                    or (f"a {kind} export takes: {', '.join(known)}" if known else f"a {kind} export takes no entries"),
                )
            if key in seen:
                _fail(f"duplicate '{key}' in this export", entry.key.span, self._first_at(seen[key]))
            seen[key] = entry
            if key == "tags":
                self.check_strings(entry.value, "'tags'", 'tags = ["serve"]')
            elif key == serving.SERVING:
                serving.check_serving(entry)
            else:  # outputs of a graphdef
                items = entry.value.items if isinstance(entry.value, syntax.ListValue) else (entry.value,)
                for item in items:
                    self.check_reference(item, "a graphdef output")

    def check_signature(self, signature: syntax.Signature) -> None:
        seen: dict[str, syntax.Setting] = {}
        for setting in signature.entries:
            key = setting.key.name
            if key not in SIGNATURE_SETTINGS:
                _fail(
                    f"unknown entry '{key}' in a signature",
                    setting.key.span,
                    did_you_mean(key, SIGNATURE_SETTINGS) or f"a signature takes: {', '.join(SIGNATURE_SETTINGS)}",
                )
            if key in seen:
                _fail(f"duplicate '{key}' in this signature", setting.key.span, self._first_at(seen[key]))
            seen[key] = setting
            if key == serving.WARMUP:  # literals, checked against the inputs below
                continue
            if not isinstance(setting.value, syntax.MapValue):
                _fail(
                    f"'{key}' must be a map, not {_describe(setting.value)}",
                    setting.value.span,
                    f'write {key} = {{ name: NS["element:0"] }}',
                )
            what = key[:-1]  # "input" or "output"
            self.check_map_keys(setting.value, what)
            for entry in setting.value.entries:
                self.check_reference(entry.value, f"a signature {what}")
        outputs = signature.outputs
        if outputs is None or not outputs.entries:
            _fail(
                f"signature '{signature.name.value}' has no outputs",
                signature.span,
                'add outputs = { name: NS["element:0"] }',
            )
        serving.check_warmup(signature)

    # Shared helpers ---------------------------------------------------------------------------

    def check_strings(
        self, value: syntax.Value, what: str, example: str, single: bool = False
    ) -> tuple[syntax.String, ...]:
        """A list of strings (or, if ``single``, one string); return the strings."""
        if single and isinstance(value, syntax.String):
            return (value,)
        if isinstance(value, syntax.ListValue) and all(isinstance(v, syntax.String) for v in value.items):
            return value.items  # type: ignore[return-value]
        bad = value
        if isinstance(value, syntax.ListValue):
            bad = next(v for v in value.items if not isinstance(v, syntax.String))
        kind = "a string or a list of strings" if single else "a list of strings"
        _fail(f"{what} must be {kind}, not {_describe(bad)}", bad.span, f"e.g. {example}")

    def check_string(self, value: syntax.Value, what: str, example: str) -> None:
        if not isinstance(value, syntax.String):
            _fail(f"{what} must be a string, not {_describe(value)}", value.span, f"e.g. {example}")

    def check_map_keys(self, value: syntax.MapValue, what: str) -> None:
        seen: dict[str, syntax.MapEntry] = {}
        for entry in value.entries:
            if entry.key.value in seen:
                _fail(f"duplicate {what} '{entry.key.value}'", entry.key.span, self._first_at(seen[entry.key.value], column=True))
            seen[entry.key.value] = entry

    @staticmethod
    def _first_at(node: object, name: str | None = None, column: bool = False) -> str:
        """Where the first of two duplicates is; with the column for things that share a line."""
        span: Span = node.span  # type: ignore[attr-defined]
        where = f"line {span.line}, column {span.column}" if column else f"line {span.line}"
        return f"the first '{name}' is at {where}" if name else f"the first is at {where}"


def _describe(value: syntax.Value) -> str:
    """A value in words, for messages: "a string", "the name 'x'", "a list" ..."""
    if isinstance(value, syntax.String):
        return f'the string "{value.value}"'
    if isinstance(value, (syntax.Int, syntax.Float)):
        return f"the number {value.value}"
    if isinstance(value, syntax.Bool):
        return "true" if value.value else "false"
    if isinstance(value, syntax.Word):
        return f"the name '{value.name}'"
    if isinstance(value, syntax.Ref):
        return "a reference"
    if isinstance(value, syntax.ListValue):
        return "a list"
    return "a map"
