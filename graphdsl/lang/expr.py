"""The expressions of templates: their nodes and values (:mod:`graphdsl.lang.evaluate` evaluates them).

A template writes expressions wherever a plain spec writes a value: arithmetic (``+ - * / // %``),
comparisons (``== != < <= > >= in``), ``and``/``or``/``not``, ``COND ? A : B``, indexing
(``sizes[i]``, ``m["k"]``, ``Enc["out:0"]``), ``.`` (a block use's output: ``L0.out``; a map's key),
strings with ``{...}`` interpolated, list and map comprehensions, and a few functions
(:mod:`graphdsl.lang.functions`). There is no I/O, no user function and no unbounded loop: every
evaluation ends, and every failure (a division by zero, a bad index, a type mismatch) is a
:class:`~graphdsl.errors.SpecError` at the expression's place.

Values are Python values: ``int`` (64-bit: overflow is an error), ``float`` (finite), ``bool``,
``str``, ``tuple`` (a list), ``dict`` (a map, string keys, never mutated), and two of the spec's
own: :class:`Name` (a bare word that no variable binds: a namespace, alias, source, block use, or a
mode such as ``init``) and :class:`Reference` (``NAMESPACE["element"]``). What a bare word means
and what ``.`` reaches is asked of an :class:`Environment` (the expander). No TensorFlow here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, NoReturn, Union

from graphdsl.errors import Span, SpecError, clipped
from graphdsl.lang.builder import MAX_NESTING
from graphdsl.lang.syntax import Node

# Bounds that keep every evaluation small: integers are 64-bit, no list, map or string grows
# past MAX_ITEMS items or characters, and lists and maps nest at most MAX_NESTING deep (as a plain
# spec's, so that what a template makes reads back, and the stages that walk values recurse).
MAX_INT = 2**63 - 1
MAX_ITEMS = 1_000_000

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# ---------------------------------------------------------------------------------------------
# Values of the spec's own kinds
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Name:
    """A name of the spec (``Enc``, ``tower_0/out``, ``init``): what a word no variable binds means."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Reference:
    """``NAMESPACE["element"]``: the copy, in a namespace, of an element of its source graph."""

    namespace: str
    element: str

    def __str__(self) -> str:
        return f'{self.namespace}["{self.element}"]'


Value = Any  # int | float | bool | str | tuple | dict | Name | Reference


def kind_of(value: Value) -> str:
    """The kind of a value with its article, for messages: "an int", "a list", "a reference"."""
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, int):
        return "an int"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, tuple):
        return "a list"
    if isinstance(value, dict):
        return "a map"
    if isinstance(value, Name):
        return "a name"
    if isinstance(value, Reference):
        return "a reference"
    return "null" if value is None else f"a {type(value).__name__}"


def describe(value: Value) -> str:
    """A value in words, for messages: ``the int 3``, ``the string "a"``, ``the name 'Enc'``."""
    if value is None:
        return "null"
    shown = f"'{value.text}'" if isinstance(value, Name) else show(value)
    return f"the {kind_of(value).split(' ', 1)[1]} {clipped(shown, 60)}"


def show(value: Value) -> str:
    """A value as a template would write it: ``3``, ``"a"``, ``[1, "b"]``, ``{k: 1}``, ``Enc["x:0"]``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)}: {show(v)}" for k, v in value.items()) + "}"
    return str(value)


def text_of(value: Value) -> str:
    """A value as ``{...}`` puts it into a string: strings and names as they are, others as written."""
    if isinstance(value, str):
        return value
    if isinstance(value, Name):
        return value.text
    return show(value)


def quote(text: str) -> str:
    """``text`` as a string literal of the language."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def _key(key: str) -> str:
    return key if IDENTIFIER.fullmatch(key) else quote(key)


# ---------------------------------------------------------------------------------------------
# Nodes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal(Node):
    """A literal: an int, float, bool or string (a string without ``{...}``)."""

    __slots__ = ("value", "span")

    value: Any
    span: Span


@dataclass(frozen=True)
class Interpolated(Node):
    """A string with ``{...}``: ``parts`` are the literal texts and the expressions, in order."""

    __slots__ = ("parts", "span")

    parts: tuple[Union[str, Node], ...]
    span: Span


@dataclass(frozen=True)
class Variable(Node):
    """A bare word: a bound variable's value, else a :class:`Name` of the spec."""

    __slots__ = ("name", "span")

    name: str
    span: Span


@dataclass(frozen=True)
class ListExpr(Node):
    """``[a, b, ...]``."""

    __slots__ = ("items", "span")

    items: tuple[Node, ...]
    span: Span


_ITEMS = ListExpr.__dict__["items"]  # the slot of a list's items


class ConstantList(ListExpr):
    """``[a, b, ...]`` whose items are all constants (literals and such lists), folded as it is
    parsed: its :attr:`value` is known, so that evaluation and the type check take it in one step.

    Its fields are a :class:`ListExpr`'s: it compares, hashes and dumps by them. Its items may be
    made only when first asked for (by :attr:`make`: to place a comment inside the list, or by the
    formatter), the same nodes each time: the check of a long template asks for none.
    """

    __slots__ = ("value", "make")

    value: tuple[Value, ...]
    make: Callable[[], tuple[Node, ...]]

    @property  # type: ignore[override]  # the field, made when first read
    def items(self) -> tuple[Node, ...]:
        try:
            return _ITEMS.__get__(self)  # type: ignore[no-any-return]
        except AttributeError:
            items = self.make()
            _ITEMS.__set__(self, items)
            return items


@dataclass(frozen=True)
class MapItem(Node):
    """``key: value`` in a map; the key is a :class:`Literal` or :class:`Interpolated` string."""

    __slots__ = ("key", "value", "span")

    key: Node
    value: Node
    span: Span


@dataclass(frozen=True)
class MapExpr(Node):
    """``{ key: value, ... }``."""

    __slots__ = ("items", "span")

    items: tuple[MapItem, ...]
    span: Span


@dataclass(frozen=True)
class Index(Node):
    """``target[index]``: a list's item, a map's value, or a namespace's element (a reference)."""

    __slots__ = ("target", "index", "span")

    target: Node
    index: Node
    span: Span


@dataclass(frozen=True)
class Attribute(Node):
    """``target.name``: an output of a block use, or a map's value."""

    __slots__ = ("target", "name", "span")

    target: Node
    name: str
    span: Span


@dataclass(frozen=True)
class Call(Node):
    """``function(args)``: one of :data:`FUNCTIONS`."""

    __slots__ = ("function", "args", "span")

    function: str
    args: tuple[Node, ...]
    span: Span


@dataclass(frozen=True)
class Unary(Node):
    """``-x`` or ``not x``."""

    __slots__ = ("op", "operand", "span")

    op: str
    operand: Node
    span: Span


@dataclass(frozen=True)
class Binary(Node):
    """``left OP right``; ``and`` and ``or`` evaluate ``right`` only when needed."""

    __slots__ = ("op", "left", "right", "span")

    op: str
    left: Node
    right: Node
    span: Span


@dataclass(frozen=True)
class Conditional(Node):
    """``condition ? then : otherwise``; only the chosen branch is evaluated."""

    __slots__ = ("condition", "then", "otherwise", "span")

    condition: Node
    then: Node
    otherwise: Node
    span: Span


@dataclass(frozen=True)
class ListFor(Node):
    """``[for x in xs: item]`` (or ``for i, x in ...``)."""

    __slots__ = ("names", "iterable", "item", "span")

    names: tuple[str, ...]
    iterable: Node
    item: Node
    span: Span


@dataclass(frozen=True)
class MapFor(Node):
    """``{for x in xs: key => value}``."""

    __slots__ = ("names", "iterable", "key", "value", "span")

    names: tuple[str, ...]
    iterable: Node
    key: Node
    value: Node
    span: Span


# ---------------------------------------------------------------------------------------------
# Scopes and the environment
# ---------------------------------------------------------------------------------------------


class Scope:
    """Variables bound in one body (a file, a block use, a loop iteration), over the enclosing one."""

    __slots__ = ("values", "parent")

    def __init__(self, parent: Scope | None = None, values: dict[str, Value] | None = None) -> None:
        self.values: dict[str, Value] = {} if values is None else values
        self.parent = parent

    def lookup(self, name: str) -> Any:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.values:
                return scope.values[name]
            scope = scope.parent
        return _UNBOUND

    def names(self) -> list[str]:
        """Every variable visible here."""
        found: list[str] = []
        scope: Scope | None = self
        while scope is not None:
            found.extend(scope.values)
            scope = scope.parent
        return found


class _Unbound:
    pass


_UNBOUND: Any = _Unbound()


class Environment:
    """What the evaluator asks of the expander: the spec's names, and budgets of iterations and work.

    This base class gives a word its own name and knows no block use; the expander refines it.
    """

    def word(self, name: str, span: Span) -> Name:
        """The spec name a bare word (or ``name("...")``) stands for where it is written."""
        return Name(name)

    def attribute(self, target: Name, name: str, span: Span) -> Value:
        """``target.name``, where ``target`` is a name: an output of a block use."""
        fail(f"'{target.text}' is not a block use, so it has no '.{name}'", span,
             "'.' reaches the outputs of a block use (use NAME = BLOCK(...)) and the keys of a map")

    def iterate(self, span: Span) -> None:
        """Called once per iteration of a comprehension (the expander bounds the total)."""

    def work(self, items: int, span: Span) -> None:
        """Called with the items of lists, maps and strings an operation at ``span`` goes through
        or makes (the expander bounds the total: a loop may repeat an operation on a long list)."""


# ---------------------------------------------------------------------------------------------
# Helpers of the evaluator and the functions
# ---------------------------------------------------------------------------------------------


def fail(message: str, span: Span, hint: str | None = None) -> NoReturn:
    """Raise a :class:`SpecError` at ``span``."""
    raise SpecError(message, span, hint)


def is_int(value: Value) -> bool:
    """An int, and not a bool (which Python takes for one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Value) -> bool:
    """An int or a float, and not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def checked(value: Value, span: Span) -> Value:
    """``value`` if it fits the language's numbers: a 64-bit int, a finite float."""
    if isinstance(value, int):
        if not -MAX_INT - 1 <= value <= MAX_INT:
            fail("integer overflow: the result does not fit in 64 bits", span)
    elif isinstance(value, float) and not math.isfinite(value):
        fail("the result is not a finite number", span)
    return value


def check_nesting(items: Any, span: Span) -> None:
    """Fail if a list or map holding ``items`` (its items, or its values) would nest deeper than
    MAX_NESTING: the lists and maps among them are looked into level by level, without recursion."""
    level = [item for item in items if type(item) is tuple or type(item) is dict]
    depth = 1
    while level:
        depth += 1
        if depth > MAX_NESTING:
            fail(f"lists and maps nested more than {MAX_NESTING} deep", span,
                 "a spec's values nest at most that deep: flatten the value")
        inner: list[Any] = []
        for value in level:
            inner.extend([item for item in (value.values() if type(value) is dict else value)
                          if type(item) is tuple or type(item) is dict])
        level = inner


def check_name(text: str, span: Span) -> None:
    """Fail unless ``text`` is a name: letters, digits and '_', not starting with a digit."""
    if not IDENTIFIER.fullmatch(text):
        fail(f"{quote(text)} is not a name", span,
             "a name is letters, digits and '_', not starting with a digit (a block use puts its "
             "own prefix before the names it makes)")
