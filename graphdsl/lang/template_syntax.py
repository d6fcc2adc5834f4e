"""The syntax tree of a template: a spec that describes a family of graphs.

:mod:`graphdsl.lang.template_parser` builds it; :mod:`graphdsl.lang.expand` turns it, for given
parameter values, into a plain :class:`~graphdsl.lang.syntax.Spec`. The statements mirror the
plain ones with expressions (:mod:`graphdsl.lang.expr`) for values, and a name being defined is
either an :class:`~graphdsl.lang.syntax.Ident` or an expression that computes it (a string such as
``"tower_{i}"``). Then come the template's own statements: parameters, ``set``, blocks and their
uses, outputs, ``for``, ``if`` and ``include``. No TensorFlow here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar, Union

from graphdsl.errors import SourceFile, Span
from graphdsl.lang.syntax import Comment, Ident, Node, String, Version

Expr = Node  # a node of graphdsl.lang.expr
NameExpr = Node  # an Ident (a name as written) or an Expr that computes it

# ---------------------------------------------------------------------------------------------
# The plain statements, with expressions
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting(Node):
    """``key = EXPR``: a source option, a copy, export or signature entry, a parameter's constraint,
    a block use's argument."""

    __slots__ = ("key", "value", "span")

    key: Ident
    value: Expr
    span: Span


@dataclass(frozen=True)
class Source(Node):
    """``source NAME = KIND("PATH", key = EXPR, ...)``; PATH may interpolate values."""

    __slots__ = ("name", "kind", "path", "options", "span")

    name: NameExpr
    kind: Ident
    path: Expr
    options: tuple[Setting, ...]
    span: Span


@dataclass(frozen=True)
class VariableOverride(Node):
    """``variable "PATTERN" = MODE``."""

    __slots__ = ("pattern", "value", "span")

    pattern: Expr
    value: Expr
    span: Span


@dataclass(frozen=True)
class Bind(Node):
    """``bind "INPUT:0" = REF``."""

    __slots__ = ("input", "value", "span")

    input: Expr
    value: Expr
    span: Span


@dataclass(frozen=True)
class Copy(Node):
    """``copy NAMESPACE from SOURCE { entries }``; entries may hold ``for`` and ``if``."""

    __slots__ = ("namespace", "source", "entries", "span")

    namespace: NameExpr
    source: NameExpr
    entries: tuple[Node, ...]
    span: Span


@dataclass(frozen=True)
class Let(Node):
    """``let ALIAS = REF``."""

    __slots__ = ("name", "value", "span")

    name: NameExpr
    value: Expr
    span: Span


@dataclass(frozen=True)
class Signature(Node):
    """``signature NAME { inputs = {...}  outputs = {...} }``; the name may interpolate values."""

    __slots__ = ("name", "entries", "span")

    name: Expr
    entries: tuple[Setting, ...]
    span: Span


@dataclass(frozen=True)
class Export(Node):
    """``export KIND "PATH" { entries }``; entries may hold ``for`` and ``if``."""

    __slots__ = ("kind", "path", "entries", "has_body", "span")

    kind: Ident
    path: Expr
    entries: tuple[Node, ...]
    has_body: bool
    span: Span


# ---------------------------------------------------------------------------------------------
# The template's own statements
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeSpec(Node):
    """A parameter's type: ``int``, ``float``, ``bool``, ``string``, ``list``, ``map``, ``ref``,
    or ``list[T]`` / ``map[T]`` with the type of their items."""

    __slots__ = ("name", "item", "span")

    name: Ident
    item: TypeSpec | None
    span: Span

    def __str__(self) -> str:
        return self.name.name + (f"[{self.item}]" if self.item is not None else "")


@dataclass(frozen=True)
class Check(Node):
    """``check CONDITION, "MESSAGE"``: a condition on the parameters, and what to say when it fails."""

    __slots__ = ("condition", "message", "span")

    condition: Expr
    message: Expr
    span: Span


@dataclass(frozen=True)
class Param(Node):
    """``param NAME: TYPE = DEFAULT { constraints }``; no default: the parameter is required.

    ``entries`` are :class:`Setting` (``min``, ``max``, ``one_of``) and :class:`Check`.
    """

    __slots__ = ("name", "type", "default", "entries", "span")

    name: Ident
    type: TypeSpec
    default: Expr | None
    entries: tuple[Node, ...]
    span: Span


@dataclass(frozen=True)
class Set(Node):
    """``set NAME = EXPR``: a variable of the body it stands in (a file, a block, a loop)."""

    __slots__ = ("name", "value", "span")

    name: Ident
    value: Expr
    span: Span


@dataclass(frozen=True)
class BlockParam(Node):
    """``NAME: TYPE = DEFAULT`` in a block's header; type and default are optional."""

    __slots__ = ("name", "type", "default", "span")

    name: Ident
    type: TypeSpec | None
    default: Expr | None
    span: Span


@dataclass(frozen=True)
class Block(Node):
    """``block NAME(params) { statements }``: a group of statements, used by ``use``."""

    __slots__ = ("name", "params", "body", "span")

    name: Ident
    params: tuple[BlockParam, ...]
    body: tuple[Node, ...]
    span: Span

    @cached_property
    def outputs(self) -> dict[str, Output]:
        """The outputs the body declares (in any branch), by name: the first of each."""
        found: dict[str, Output] = {}
        for node in walk_statements(self.body):
            if isinstance(node, Output):
                found.setdefault(node.name.name, node)
        return found


@dataclass(frozen=True)
class Use(Node):
    """``use PREFIX = BLOCK(key = EXPR, ...)``: the block's statements, under the prefix."""

    __slots__ = ("name", "block", "args", "span")

    name: NameExpr
    block: Ident
    args: tuple[Setting, ...]
    span: Span


@dataclass(frozen=True)
class Output(Node):
    """``output NAME = REF`` in a block: what a use exposes as ``PREFIX.NAME``."""

    __slots__ = ("name", "value", "span")

    name: Ident
    value: Expr
    span: Span


@dataclass(frozen=True)
class Include(Node):
    """``include "PATH"``: the parameters, blocks and statements of another file (once)."""

    __slots__ = ("path", "span")

    path: String
    span: Span


@dataclass(frozen=True)
class For(Node):
    """``for NAME in EXPR { body }`` (or ``for I, X in ...``); the body is statements or entries."""

    __slots__ = ("names", "iterable", "body", "span")

    names: tuple[Ident, ...]
    iterable: Expr
    body: tuple[Node, ...]
    span: Span


@dataclass(frozen=True)
class If(Node):
    """``if EXPR { then } else { otherwise }``; ``else if`` is an :class:`If` alone in ``otherwise``.

    Like ``comments``, two attributes that are not fields (no part in comparisons): ``then_end``,
    where the ``}`` of the first branch ends (line, column), and ``else_comments``, the comments
    after the last entry of the ``else`` branch (``comments.end`` holds those of the first).
    """

    __slots__ = ("condition", "then", "otherwise", "span")

    condition: Expr
    then: tuple[Node, ...]
    otherwise: tuple[Node, ...]
    span: Span
    then_end: ClassVar[tuple[int, int] | None] = None
    else_comments: ClassVar[tuple[Comment, ...]] = ()


Statement = Union[Version, Source, Copy, Let, Export, Param, Set, Block, Use, Output, Include, For, If]
# The template statements that hold a body of entries (for comments and the formatter).
TEMPLATE_BODIES = (Param, Block, Use, For, If)


@dataclass(frozen=True)
class Template(Node):
    """A whole template file: its statements in source order."""

    __slots__ = ("file", "statements", "span")

    file: SourceFile
    statements: tuple[Node, ...]
    span: Span

    @property
    def path(self) -> str:
        return self.file.path


def walk_statements(body: tuple[Node, ...]) -> list[Node]:
    """Every statement of ``body``, with those inside its ``for`` and ``if`` (not inside blocks)."""
    found: list[Node] = []
    stack = list(reversed(body))
    while stack:
        node = stack.pop()
        found.append(node)
        if isinstance(node, For):
            stack.extend(reversed(node.body))
        elif isinstance(node, If):
            stack.extend(reversed(node.then + node.otherwise))
    return found
