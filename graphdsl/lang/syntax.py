"""The typed syntax tree of a .gcomp spec.

:func:`graphdsl.lang.parser.parse` builds these frozen dataclasses; nothing after the parser sees a
``lark.Tree``. Every node has a :class:`~graphdsl.errors.Span` that names its file (a
:class:`~graphdsl.errors.SourceFile`), so an error can point into any file a spec is made of.

The tree keeps what the user wrote, in order: statements, body entries (duplicates included) and
comments (attached to the node they precede or follow, see :class:`Comments`), so that the checker
can point at mistakes and a formatter can write the spec back. :meth:`Node.children` and
:class:`NodeVisitor` walk it. The convenience properties (``Copy.take``, ``Export.signatures``,
``Spec.resolve`` ...) give later stages the meaning, and assume a spec that passed the checks.

:func:`dump` renders a tree as stable, indented text (the golden files in ``tests/data/ok``).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
from dataclasses import dataclass
from functools import cached_property
from types import MemberDescriptorType
from typing import Any, Callable, ClassVar, Iterator, TypeVar, Union, cast

from graphdsl.errors import SourceFile, Span
from graphdsl.lang import schema

# ---------------------------------------------------------------------------------------------
# Comments and the base of every node
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comment:
    """A ``# ...`` comment; ``text`` starts with '#' and runs to the end of its line."""

    text: str
    span: Span


@dataclass(frozen=True)
class Comments:
    """The comments that belong to a node.

    ``leading``: on the lines just above the node (after the previous node of the same body);
    ``trailing``: on the node's last line, after it; ``end``: in a body (or the file) after its last
    entry, before the closing bracket (or the end of the file).
    """

    leading: tuple[Comment, ...] = ()
    trailing: Comment | None = None
    end: tuple[Comment, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.leading or self.trailing or self.end)


NO_COMMENTS = Comments()

# Fields that are not children: where a node is, and what is said about it.
_NOT_CHILDREN = frozenset({"span", "comments", "file", "template"})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


class Node:
    """Base of every syntax node: a ``span`` (declared by each node, last of its fields) and its comments.

    ``comments`` is not a field: it takes no part in comparisons, and a node without comments
    shares the empty :data:`NO_COMMENTS` (the parser sets it on the few nodes that have some, as
    it builds the tree; making it a field would slow down building every node).
    """

    # The fields of the spec's nodes are slots (declared by each class): a large spec has
    # hundreds of thousands of nodes, and a dict of fields per node was a good part of the cost
    # of making and freeing each. The dict here only comes to be for the few nodes given
    # comments (or, on template nodes, attributes that are not fields).
    __slots__ = ("__dict__",)

    span: Span  # each node (a frozen dataclass) declares it as its last positional field
    comments: ClassVar[Comments] = NO_COMMENTS

    def children(self) -> Iterator[Node]:
        """The nodes directly under this one, in source order."""
        names = _CHILD_FIELDS.get(type(self))
        if names is None:
            names = tuple(f.name for f in dataclasses.fields(cast(Any, self)) if f.name not in _NOT_CHILDREN)
            _CHILD_FIELDS[type(self)] = names
        for name in names:
            value = getattr(self, name)
            if isinstance(value, Node):
                yield value
            elif isinstance(value, tuple):
                yield from (item for item in value if isinstance(item, Node))


class NodeVisitor:
    """Walks a tree: :meth:`visit` calls ``visit_<ClassName>(node)``, or :meth:`generic_visit`.

    ``generic_visit`` visits the children; a ``visit_X`` method decides itself whether to go on
    into its node's children (call ``self.generic_visit(node)``).
    """

    _methods: ClassVar[dict[type, str]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._methods = {}

    def visit(self, node: Node) -> Any:
        """Visit ``node`` with its ``visit_<ClassName>`` method, else :meth:`generic_visit`."""
        kind = type(node)
        name = self._methods.get(kind)
        if name is None:
            name = f"visit_{kind.__name__}"
            if not hasattr(self, name):
                name = "generic_visit"
            self._methods[kind] = name
        method: Callable[[Node], Any] = getattr(self, name)
        return method(node)

    def generic_visit(self, node: Node) -> None:
        """Visit every child of ``node`` in source order."""
        for child in node.children():
            self.visit(child)


NodeVisitor._methods = {}

# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class String(Node):
    """A string literal, escapes decoded; also a quoted label (signature name, map key)."""

    __slots__ = ("value", "span")

    value: str
    span: Span


@dataclass(frozen=True)
class Int(Node):
    """An integer literal."""

    __slots__ = ("value", "span")

    value: int
    span: Span


@dataclass(frozen=True)
class Float(Node):
    """A floating-point literal."""

    __slots__ = ("value", "span")

    value: float
    span: Span


@dataclass(frozen=True)
class Bool(Node):
    """``true`` or ``false``."""

    __slots__ = ("value", "span")

    value: bool
    span: Span


@dataclass(frozen=True)
class Word(Node):
    """A bare identifier used as a value: an alias (``logits``) or a mode (``init``, ``value``).

    Which one it is depends on where it stands; the checker decides.
    """

    __slots__ = ("name", "span")

    name: str
    span: Span


@dataclass(frozen=True)
class Ident(Node):
    """An identifier in a naming position: a source, namespace, alias, kind or key name."""

    __slots__ = ("name", "span")

    name: str
    span: Span


@dataclass(frozen=True)
class Ref(Node):
    """``NAMESPACE["element"]``: the copy, in ``namespace``, of the source element ``element``.

    ``element`` is an op name (``"encoder/out"``) or a tensor name (``"encoder/out:0"``) as it is
    called in the source graph.
    """

    __slots__ = ("namespace", "element", "span")

    namespace: Ident
    element: String
    span: Span


@dataclass(frozen=True)
class ListValue(Node):
    """``[a, b, ...]``."""

    __slots__ = ("items", "span")

    items: tuple[Value, ...]
    span: Span


@dataclass(frozen=True)
class MapEntry(Node):
    """``key: value`` inside a map; a bare key is stored as a :class:`String` too."""

    __slots__ = ("key", "value", "span")

    key: String
    value: Value
    span: Span


@dataclass(frozen=True)
class MapValue(Node):
    """``{ key: value, ... }``; entries in source order, duplicates kept (the checker rejects them)."""

    __slots__ = ("entries", "span")

    entries: tuple[MapEntry, ...]
    span: Span


Value = Union[String, Int, Float, Bool, Word, Ref, ListValue, MapValue]
NodeT = TypeVar("NodeT", bound=Node)

# ---------------------------------------------------------------------------------------------
# Pieces of statements
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting(Node):
    """``key = value``: a source option, a copy or export entry, a signature entry."""

    __slots__ = ("key", "value", "span")

    key: Ident
    value: Value
    span: Span


@dataclass(frozen=True)
class VariableOverride(Node):
    """``variable "PATTERN" = MODE``: the mode for variables whose op name matches the glob."""

    __slots__ = ("pattern", "value", "span")

    pattern: String
    value: Value
    span: Span

    @property
    def mode(self) -> str:
        """``"init"`` or ``"value"`` (on a checked spec)."""
        return _mode(self.value)


@dataclass(frozen=True)
class Bind(Node):
    """``bind "INPUT:0" = REF``: the copied piece's input tensor becomes an existing copy."""

    __slots__ = ("input", "value", "span")

    input: String
    value: Value
    span: Span


@dataclass(frozen=True)
class Signature(Node):
    """``signature NAME { inputs = {...}  outputs = {...} }`` in a savedmodel export."""

    __slots__ = ("name", "entries", "span")

    name: String
    entries: tuple[Setting, ...]
    span: Span

    @property
    def inputs(self) -> MapValue | None:
        """The ``inputs`` map, or None when the signature takes no input."""
        return _setting_map(self.entries, "inputs")

    @property
    def outputs(self) -> MapValue | None:
        """The ``outputs`` map (never None on a checked spec)."""
        return _setting_map(self.entries, "outputs")


# ---------------------------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Version(Node):
    """``graphdsl 1``: the language version; must be the first statement."""

    __slots__ = ("number", "span")

    number: Int
    span: Span


@dataclass(frozen=True)
class Source(Node):
    """``source NAME = KIND("PATH", key = value, ...)``; PATH is relative to the spec file."""

    __slots__ = ("name", "kind", "path", "options", "span")

    name: Ident
    kind: Ident
    path: String
    options: tuple[Setting, ...]
    span: Span


@dataclass(frozen=True)
class Copy(Node):
    """``copy NAMESPACE from SOURCE { ... }``: copy part of a source graph into a namespace.

    ``entries`` holds the body in source order: :class:`Setting` (``take``, ``variables``,
    ``stop_at``), :class:`VariableOverride` and :class:`Bind`.
    """

    __slots__ = ("namespace", "source", "entries", "span")

    namespace: Ident
    source: Ident
    entries: tuple[CopyEntry, ...]
    span: Span

    @property
    def take(self) -> tuple[String, ...]:
        """What to copy: op names, tensor names or globs; a single string becomes one item."""
        return _strings(_setting(self.entries, "take"))

    @property
    def default_mode(self) -> str:
        """The mode of variables no override matches: ``"init"`` (the default) or ``"value"``."""
        value = _setting(self.entries, "variables")
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
    def stop_at(self) -> tuple[String, ...]:
        """Tensors where the walk stops; each becomes a placeholder."""
        return _strings(_setting(self.entries, "stop_at"))

    @property
    def binds(self) -> tuple[Bind, ...]:
        """Inputs of the copied piece wired to earlier copies, in source order."""
        return tuple(e for e in self.entries if isinstance(e, Bind))


CopyEntry = Union[Setting, VariableOverride, Bind]


@dataclass(frozen=True)
class Let(Node):
    """``let ALIAS = REF``: a name for a copied element."""

    __slots__ = ("name", "value", "span")

    name: Ident
    value: Value
    span: Span


@dataclass(frozen=True)
class Export(Node):
    """``export KIND "PATH" { ... }``; PATH is relative to the build's output directory.

    ``entries`` holds the body in source order: :class:`Setting` and :class:`Signature`.
    ``has_body`` tells ``export metagraph "g"`` from ``export metagraph "g" { }``.
    """

    __slots__ = ("kind", "path", "entries", "has_body", "span")

    kind: Ident
    path: String
    entries: tuple[ExportEntry, ...]
    has_body: bool
    span: Span

    @property
    def signatures(self) -> tuple[Signature, ...]:
        """The signatures (of a savedmodel export), in source order."""
        return tuple(e for e in self.entries if isinstance(e, Signature))

    @property
    def tags(self) -> tuple[str, ...]:
        """The SavedModel tags; ``("serve",)`` unless given."""
        value = _setting(self.entries, "tags")
        return schema.DEFAULT_TAGS if value is None else tuple(s.value for s in _strings(value))

    @property
    def outputs(self) -> tuple[Value, ...]:
        """A graphdef export's ``outputs``: references or aliases (use :meth:`Spec.resolve`)."""
        value = _setting(self.entries, "outputs")
        if value is None:
            return ()
        return value.items if isinstance(value, ListValue) else (value,)


ExportEntry = Union[Setting, Signature]
Statement = Union[Version, Source, Copy, Let, Export]


@dataclass(frozen=True)
class TemplateRecord:
    """How a template made a plain spec: what the lock and the provenance record of a build keep.

    ``params``: the value of every declared parameter, defaults included (what the expansion
    used), in the order declared; ``origins``: where each value came from, in words ("the
    command-line argument --param layers=3", "its default"); ``includes``: every file the
    template included, directly or through others.
    """

    params: dict[str, Any]
    origins: dict[str, str]
    includes: tuple[SourceFile, ...]


@dataclass(frozen=True)
class Spec(Node):
    """A whole spec: its statements in source order, and the file they were read from.

    ``comments.end`` holds the comments after the last statement. ``template`` says how a
    template made the spec (None for a spec written plain); it takes no part in comparisons.
    """

    file: SourceFile
    statements: tuple[Statement, ...]
    span: Span
    template: TemplateRecord | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def path(self) -> str:
        """The spec's path as given to the parser (``"<string>"`` for text)."""
        return self.file.path

    @property
    def text(self) -> str:
        """The spec's text (line breaks as ``\\n``)."""
        return self.file.text

    @cached_property
    def sources(self) -> tuple[Source, ...]:
        """``source`` statements in order."""
        return tuple(s for s in self.statements if isinstance(s, Source))

    @cached_property
    def copies(self) -> tuple[Copy, ...]:
        """``copy`` statements in order; this is the order the build runs them in."""
        return tuple(s for s in self.statements if isinstance(s, Copy))

    @cached_property
    def lets(self) -> tuple[Let, ...]:
        """``let`` statements in order."""
        return tuple(s for s in self.statements if isinstance(s, Let))

    @cached_property
    def exports(self) -> tuple[Export, ...]:
        """``export`` statements in order."""
        return tuple(s for s in self.statements if isinstance(s, Export))

    def source(self, name: str) -> Source | None:
        """The source called ``name``, or None."""
        return self._sources_by_name.get(name)

    def resolve(self, value: Value) -> Ref:
        """The reference a value stands for, following aliases (on a checked spec).

        Each alias is followed once and remembered, so resolving every alias of a chain of any
        length costs time linear in the chain.
        """
        if isinstance(value, Ref):
            return value
        if not isinstance(value, Word):
            raise TypeError(f"not a reference: {value!r}")
        resolved = self._resolved
        chain: list[str] = []
        current: Value = value
        while isinstance(current, Word):
            name = current.name
            known = resolved.get(name)
            if known is not None:
                current = known
                break
            if name in chain:
                raise ValueError(f"alias cycle through {name!r}")
            chain.append(name)
            let = self._lets_by_name.get(name)
            if let is None:
                raise KeyError(name)
            current = let.value
        if not isinstance(current, Ref):
            raise TypeError(f"not a reference: {current!r}")
        for name in chain:
            resolved[name] = current
        return current

    @cached_property
    def _sources_by_name(self) -> dict[str, Source]:
        return _first_by_name((s.name.name, s) for s in self.sources)

    @cached_property
    def _lets_by_name(self) -> dict[str, Let]:
        return _first_by_name((s.name.name, s) for s in self.lets)

    @cached_property
    def _resolved(self) -> dict[str, Ref]:
        return {}


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def literal(value: Value) -> Any:
    """The Python value of a literal (a source option, a builder argument); a bare word is its name."""
    if isinstance(value, (String, Int, Float, Bool)):
        return value.value
    if isinstance(value, ListValue):
        return [literal(v) for v in value.items]
    if isinstance(value, MapValue):
        return {e.key.value: literal(e.value) for e in value.entries}
    if isinstance(value, Word):
        return value.name
    raise TypeError(f"not a literal: {value!r}")


def _first_by_name(pairs: Iterator[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, node in pairs:
        found.setdefault(name, node)
    return found


def _setting(entries: tuple[Node, ...], key: str) -> Value | None:
    for entry in entries:
        if isinstance(entry, Setting) and entry.key.name == key:
            return entry.value
    return None


def _setting_map(entries: tuple[Node, ...], key: str) -> MapValue | None:
    value = _setting(entries, key)
    return value if isinstance(value, MapValue) else None


def _strings(value: Value | None) -> tuple[String, ...]:
    if value is None:
        return ()
    if isinstance(value, ListValue):
        return tuple(v for v in value.items if isinstance(v, String))
    return (value,) if isinstance(value, String) else ()


def _mode(value: Value) -> str:
    return value.name if isinstance(value, Word) else schema.DEFAULT_MODE


def setters(cls: type[Node]) -> tuple[Callable[[Any, Any], None], ...]:
    """For each field of the node class ``cls``, in order, what sets it on a node being made
    (the slot's own setter; for a class without slots, a store into the node's dict)."""
    out: list[Callable[[Any, Any], None]] = []
    for field in dataclasses.fields(cast(Any, cls)):
        slot = cls.__dict__.get(field.name)
        if isinstance(slot, MemberDescriptorType):
            out.append(slot.__set__)
        else:
            out.append(functools.partial(_store, field.name))
    return tuple(out)


def _store(name: str, node: Any, value: Any) -> None:
    node.__dict__[name] = value


def maker(cls: type[NodeT]) -> Callable[..., NodeT]:
    """A constructor of the node class ``cls`` that takes its fields positionally, for the parser.

    It makes the same node as ``cls(...)`` (equal, hashed alike, still frozen), without the
    frozen dataclass's ``__init__``, which sets each field through ``object.__setattr__``: that
    made building nodes about half the cost of a large spec's parse. Only for classes with no
    ``__post_init__`` and no default the caller leaves out.
    """
    names = tuple(f.name for f in dataclasses.fields(cast(Any, cls)))
    # One function per class, its fields set one by one (no loop, no zip): its text is made of
    # the dataclass's own field names.
    slots = [isinstance(cls.__dict__.get(name), MemberDescriptorType) for name in names]
    arguments = ", ".join(f"a{i}" for i in range(len(names)))
    stores = "".join(f"    set{i}(node, a{i})\n" if slot else f"    node.__dict__[{name!r}] = a{i}\n"
                     for i, (name, slot) in enumerate(zip(names, slots)))
    text = f"def make({arguments}):\n    node = new(cls)\n{stores}    return node\n"
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    namespace.update((f"set{i}", setter) for i, setter in enumerate(setters(cls)))
    exec(compile(text, f"<maker of {cls.__name__}>", "exec"), namespace)
    return cast(Callable[..., NodeT], namespace["make"])


# ---------------------------------------------------------------------------------------------
# Dump: a stable, readable rendering for golden files
# ---------------------------------------------------------------------------------------------

_LEAVES = (String, Int, Float, Bool, Word, Ident)


def dump(node: Node) -> str:
    """Render a node and everything under it as indented text, one node or field per line.

    Leaves print inline (``String "x" @3:5-3:8``); spans print as ``@line:col-line:col``; comments
    print under the node they belong to; the spec's file is left out so that the dump does not
    depend on where the file lies.
    """
    lines: list[str] = []
    _dump(node, 0, "", lines)
    return "\n".join(lines) + "\n"


def _at(span: Span) -> str:
    return f"@{span.line}:{span.column}-{span.end_line}:{span.end_column}"


def _leaf(node: Node) -> str:
    value = node.name if isinstance(node, (Word, Ident)) else node.value  # type: ignore[attr-defined]
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = _quote(value) if isinstance(value, str) else repr(value)
    return f"{type(node).__name__} {text} {_at(node.span)}"


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def _comment(comment: Comment) -> str:
    return f"Comment {_quote(comment.text)} {_at(comment.span)}"


def _dump_comments(comments: Comments, depth: int, lines: list[str]) -> None:
    if not comments:
        return
    pad = "  " * depth
    lines.append(pad + "comments:")
    for label, items in (("leading", comments.leading), ("end", comments.end)):
        if items:
            lines.append(f"{pad}  {label}:")
            lines.extend(f"{pad}    - {_comment(c)}" for c in items)
        if label == "leading" and comments.trailing is not None:
            lines.append(f"{pad}  trailing: {_comment(comments.trailing)}")


def _dump(node: object, depth: int, label: str, lines: list[str]) -> None:
    pad = "  " * depth + label
    if isinstance(node, _LEAVES):
        lines.append(pad + _leaf(node))
        if node.comments:
            _dump_comments(node.comments, depth + 1, lines)
    elif isinstance(node, tuple):
        lines.append((pad + ("[]" if not node else "")).rstrip())
        for item in node:
            _dump(item, depth + 1, "- ", lines)
    elif isinstance(node, Node):
        lines.append(f"{pad}{type(node).__name__} {_at(node.span)}")
        _dump_comments(node.comments, depth + 1, lines)
        for f in dataclasses.fields(cast(Any, node)):
            if f.name not in _NOT_CHILDREN:
                _dump(getattr(node, f.name), depth + 1, f"{f.name}: ", lines)
    else:
        lines.append(pad + repr(node))
