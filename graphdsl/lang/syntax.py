"""The typed syntax tree of a .gcomp spec.

:func:`graphdsl.parser.parse` builds these frozen dataclasses; nothing after the parser sees a
``lark.Tree``. Every node has a :class:`~graphdsl.errors.Span`. The tree keeps what the user wrote
(entries in order, duplicates included) so that :func:`graphdsl.check.check` can point at mistakes;
the convenience properties (``Copy.take``, ``Copy.binds``, ``Spec.resolve`` ...) give later stages
the meaning, and assume a spec that passed the checks.

:func:`dump` renders a tree as stable, indented text (the golden files in ``tests/data/ok``).
"""

from __future__ import annotations

import dataclasses
import fnmatch
from dataclasses import dataclass
from typing import Union

from graphdsl.errors import Span
from graphdsl.lang import schema

# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Str:
    """A string literal, escapes decoded; also a quoted label (signature name, map key)."""

    value: str
    span: Span


@dataclass(frozen=True)
class Int:
    """An integer literal."""

    value: int
    span: Span


@dataclass(frozen=True)
class Float:
    """A floating-point literal."""

    value: float
    span: Span


@dataclass(frozen=True)
class Bool:
    """``true`` or ``false``."""

    value: bool
    span: Span


@dataclass(frozen=True)
class Name:
    """A bare identifier used as a value: an alias (``logits``) or a mode (``init``, ``value``).

    Which one it is depends on where it stands; :mod:`graphdsl.check` decides.
    """

    name: str
    span: Span


@dataclass(frozen=True)
class Ref:
    """``NAMESPACE["element"]``: the copy, in ``namespace``, of the source element ``element``.

    ``element`` is an op name (``"encoder/out"``) or a tensor name (``"encoder/out:0"``) as it is
    called in the source graph.
    """

    namespace: Ident
    element: Str
    span: Span


@dataclass(frozen=True)
class List:
    """``[a, b, ...]``."""

    items: tuple[Value, ...]
    span: Span


@dataclass(frozen=True)
class MapEntry:
    """``key: value`` inside a map; a bare key is stored as a :class:`Str` too."""

    key: Str
    value: Value
    span: Span


@dataclass(frozen=True)
class Map:
    """``{ key: value, ... }``; entries in source order, duplicates kept (the checker rejects them)."""

    entries: tuple[MapEntry, ...]
    span: Span

    def get(self, key: str) -> Value | None:
        """The value of ``key``, or None."""
        for entry in self.entries:
            if entry.key.value == key:
                return entry.value
        return None


Value = Union[Str, Int, Float, Bool, Name, Ref, List, Map]

# ---------------------------------------------------------------------------------------------
# Pieces of statements
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ident:
    """An identifier in a naming position: a source, namespace, alias, kind or key name."""

    name: str
    span: Span


@dataclass(frozen=True)
class Setting:
    """``key = value``: a source option, a copy or export entry, a signature entry."""

    key: Ident
    value: Value
    span: Span


@dataclass(frozen=True)
class VariableOverride:
    """``variable "PATTERN" = MODE``: the mode for variables whose op name matches the glob."""

    pattern: Str
    value: Value
    span: Span

    @property
    def mode(self) -> str:
        """``"init"`` or ``"value"`` (on a checked spec)."""
        return _mode(self.value)


@dataclass(frozen=True)
class Bind:
    """``bind "INPUT:0" = REF``: the copied piece's input tensor becomes an existing copy."""

    input: Str
    value: Value
    span: Span


@dataclass(frozen=True)
class Signature:
    """``signature NAME { inputs = {...}  outputs = {...} }`` in a savedmodel export."""

    name: Str
    settings: tuple[Setting, ...]
    span: Span

    @property
    def inputs(self) -> Map | None:
        """The ``inputs`` map, or None when the signature takes no input."""
        return _setting_map(self.settings, "inputs")

    @property
    def outputs(self) -> Map | None:
        """The ``outputs`` map (never None on a checked spec)."""
        return _setting_map(self.settings, "outputs")


# ---------------------------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    """``graphdsl 1``: the language version; must be the first statement."""

    number: Int
    span: Span


@dataclass(frozen=True)
class Source:
    """``source NAME = KIND("PATH", key = value, ...)``; PATH is relative to the spec file."""

    name: Ident
    kind: Ident
    path: Str
    options: tuple[Setting, ...]
    span: Span

    def option(self, key: str) -> Value | None:
        """The value of option ``key``, or None."""
        return _setting(self.options, key)


@dataclass(frozen=True)
class Copy:
    """``copy NAMESPACE from SOURCE { ... }``: copy part of a source graph into a namespace.

    ``entries`` holds the body in source order: :class:`Setting` (``take``, ``variables``,
    ``stop_at``), :class:`VariableOverride` and :class:`Bind`.
    """

    namespace: Ident
    source: Ident
    entries: tuple[CopyEntry, ...]
    span: Span

    @property
    def take(self) -> tuple[Str, ...]:
        """What to copy: op names, tensor names or globs; a single string becomes one item."""
        return _strings(_setting(self._settings, "take"))

    @property
    def default_mode(self) -> str:
        """The mode of variables no override matches: ``"init"`` (the default) or ``"value"``."""
        value = _setting(self._settings, "variables")
        return schema.DEFAULT_MODE if value is None else _mode(value)

    @property
    def overrides(self) -> tuple[VariableOverride, ...]:
        """Per-pattern variable modes in source order; when several match, the last one wins."""
        return tuple(e for e in self.entries if isinstance(e, VariableOverride))

    def mode_for(self, variable_op_name: str) -> str:
        """The mode of one variable, by the op name it has in the source graph."""
        mode = self.default_mode
        for override in self.overrides:
            if fnmatch.fnmatchcase(variable_op_name, override.pattern.value):
                mode = override.mode
        return mode

    @property
    def stop_at(self) -> tuple[Str, ...]:
        """Tensors where the walk stops; each becomes a placeholder."""
        return _strings(_setting(self._settings, "stop_at"))

    @property
    def binds(self) -> tuple[Bind, ...]:
        """Inputs of the copied piece wired to earlier copies, in source order."""
        return tuple(e for e in self.entries if isinstance(e, Bind))

    @property
    def _settings(self) -> tuple[Setting, ...]:
        return tuple(e for e in self.entries if isinstance(e, Setting))


CopyEntry = Union[Setting, VariableOverride, Bind]


@dataclass(frozen=True)
class Let:
    """``let ALIAS = REF``: a name for a copied element."""

    name: Ident
    value: Value
    span: Span


@dataclass(frozen=True)
class Export:
    """``export KIND "PATH" { ... }``; PATH is relative to the build's output directory.

    ``has_body`` tells ``export metagraph "g"`` from ``export metagraph "g" { }``.
    """

    kind: Ident
    path: Str
    settings: tuple[Setting, ...]
    signatures: tuple[Signature, ...]
    has_body: bool
    span: Span

    @property
    def tags(self) -> tuple[str, ...]:
        """The SavedModel tags; ``("serve",)`` unless given."""
        value = _setting(self.settings, "tags")
        return schema.DEFAULT_TAGS if value is None else tuple(s.value for s in _strings(value))

    @property
    def outputs(self) -> tuple[Value, ...]:
        """A graphdef export's ``outputs``: references or aliases (use :meth:`Spec.resolve`)."""
        value = _setting(self.settings, "outputs")
        if value is None:
            return ()
        return value.items if isinstance(value, List) else (value,)


Statement = Union[Version, Source, Copy, Let, Export]


@dataclass(frozen=True)
class Spec:
    """A whole spec: its statements in source order, plus the file's path and text."""

    path: str
    text: str
    statements: tuple[Statement, ...]
    span: Span

    @property
    def version(self) -> Version | None:
        """The version statement, or None when there is none."""
        return next((s for s in self.statements if isinstance(s, Version)), None)

    @property
    def sources(self) -> tuple[Source, ...]:
        """``source`` statements in order."""
        return tuple(s for s in self.statements if isinstance(s, Source))

    @property
    def copies(self) -> tuple[Copy, ...]:
        """``copy`` statements in order; this is the order the build runs them in."""
        return tuple(s for s in self.statements if isinstance(s, Copy))

    @property
    def lets(self) -> tuple[Let, ...]:
        """``let`` statements in order."""
        return tuple(s for s in self.statements if isinstance(s, Let))

    @property
    def exports(self) -> tuple[Export, ...]:
        """``export`` statements in order."""
        return tuple(s for s in self.statements if isinstance(s, Export))

    def source(self, name: str) -> Source | None:
        """The source called ``name``, or None."""
        return next((s for s in self.sources if s.name.name == name), None)

    def resolve(self, value: Value) -> Ref:
        """The reference a value stands for, following aliases (on a checked spec)."""
        seen: set[str] = set()
        while isinstance(value, Name):
            if value.name in seen:
                raise ValueError(f"alias cycle through {value.name!r}")
            seen.add(value.name)
            let = next((s for s in self.lets if s.name.name == value.name), None)
            if let is None:
                raise KeyError(value.name)
            value = let.value
        if not isinstance(value, Ref):
            raise TypeError(f"not a reference: {value!r}")
        return value


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _setting(settings: tuple[Setting, ...], key: str) -> Value | None:
    for setting in settings:
        if setting.key.name == key:
            return setting.value
    return None


def _setting_map(settings: tuple[Setting, ...], key: str) -> Map | None:
    value = _setting(settings, key)
    return value if isinstance(value, Map) else None


def _strings(value: Value | None) -> tuple[Str, ...]:
    if value is None:
        return ()
    if isinstance(value, List):
        return tuple(v for v in value.items if isinstance(v, Str))
    return (value,) if isinstance(value, Str) else ()


def _mode(value: Value) -> str:
    return value.name if isinstance(value, Name) else "init"


# ---------------------------------------------------------------------------------------------
# Dump: a stable, readable rendering for golden files
# ---------------------------------------------------------------------------------------------

_LEAVES = (Str, Int, Float, Bool, Name, Ident)


def dump(node: object) -> str:
    """Render a node and everything under it as indented text, one node or field per line.

    Leaves print inline (``Str "x" @3:5-3:8``); spans print as ``@line:col-line:col``; the spec's
    own path and text are left out so that the dump does not depend on where the file lies.
    """
    lines: list[str] = []
    _dump(node, 0, "", lines)
    return "\n".join(lines) + "\n"


def _at(span: Span) -> str:
    return f"@{span.line}:{span.column}-{span.end_line}:{span.end_column}"


def _leaf(node: object) -> str:
    value = getattr(node, "name", None) if isinstance(node, (Name, Ident)) else node.value  # type: ignore[attr-defined]
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = _quote(value) if isinstance(value, str) else repr(value)
    return f"{type(node).__name__} {text} {_at(node.span)}"  # type: ignore[attr-defined]


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def _dump(node: object, depth: int, label: str, lines: list[str]) -> None:
    pad = "  " * depth + label
    if isinstance(node, _LEAVES):
        lines.append(pad + _leaf(node))
    elif isinstance(node, tuple):
        lines.append((pad + ("[]" if not node else "")).rstrip())
        for item in node:
            _dump(item, depth + 1, "- ", lines)
    elif dataclasses.is_dataclass(node):
        lines.append(f"{pad}{type(node).__name__} {_at(node.span)}")  # type: ignore[attr-defined]
        for field in dataclasses.fields(node):
            if field.name == "span" or (isinstance(node, Spec) and field.name in ("path", "text")):
                continue
            _dump(getattr(node, field.name), depth + 1, f"{field.name}: ", lines)
    else:
        lines.append(pad + repr(node))
