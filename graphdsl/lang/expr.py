"""The expressions of templates: their nodes, their values, and a total evaluator.

A template writes expressions wherever a plain spec writes a value: arithmetic (``+ - * / // %``),
comparisons (``== != < <= > >= in``), ``and``/``or``/``not``, ``COND ? A : B``, indexing
(``sizes[i]``, ``m["k"]``, ``Enc["out:0"]``), ``.`` (a block use's output: ``L0.out``; a map's key),
strings with ``{...}`` interpolated, list and map comprehensions, and a few functions
(:data:`FUNCTIONS`). There is no I/O, no user function and no unbounded loop: every evaluation
ends, and every failure (a division by zero, a bad index, a type mismatch) is a
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
from typing import Any, Callable, Iterator, NoReturn, Union

from graphdsl.errors import Span, SpecError, did_you_mean
from graphdsl.lang.syntax import Node

# Bounds that keep every evaluation small: integers are 64-bit, and no list, map or string grows
# past MAX_ITEMS items or characters.
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
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"the {kind_of(value).split(' ', 1)[1]} {shown}"


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

    value: Any
    span: Span


@dataclass(frozen=True)
class Interpolated(Node):
    """A string with ``{...}``: ``parts`` are the literal texts and the expressions, in order."""

    parts: tuple[Union[str, Node], ...]
    span: Span


@dataclass(frozen=True)
class Variable(Node):
    """A bare word: a bound variable's value, else a :class:`Name` of the spec."""

    name: str
    span: Span


@dataclass(frozen=True)
class ListExpr(Node):
    """``[a, b, ...]``."""

    items: tuple[Node, ...]
    span: Span


@dataclass(frozen=True)
class MapItem(Node):
    """``key: value`` in a map; the key is a :class:`Literal` or :class:`Interpolated` string."""

    key: Node
    value: Node
    span: Span


@dataclass(frozen=True)
class MapExpr(Node):
    """``{ key: value, ... }``."""

    items: tuple[MapItem, ...]
    span: Span


@dataclass(frozen=True)
class Index(Node):
    """``target[index]``: a list's item, a map's value, or a namespace's element (a reference)."""

    target: Node
    index: Node
    span: Span


@dataclass(frozen=True)
class Attribute(Node):
    """``target.name``: an output of a block use, or a map's value."""

    target: Node
    name: str
    span: Span


@dataclass(frozen=True)
class Call(Node):
    """``function(args)``: one of :data:`FUNCTIONS`."""

    function: str
    args: tuple[Node, ...]
    span: Span


@dataclass(frozen=True)
class Unary(Node):
    """``-x`` or ``not x``."""

    op: str
    operand: Node
    span: Span


@dataclass(frozen=True)
class Binary(Node):
    """``left OP right``; ``and`` and ``or`` evaluate ``right`` only when needed."""

    op: str
    left: Node
    right: Node
    span: Span


@dataclass(frozen=True)
class Conditional(Node):
    """``condition ? then : otherwise``; only the chosen branch is evaluated."""

    condition: Node
    then: Node
    otherwise: Node
    span: Span


@dataclass(frozen=True)
class ListFor(Node):
    """``[for x in xs: item]`` (or ``for i, x in ...``)."""

    names: tuple[str, ...]
    iterable: Node
    item: Node
    span: Span


@dataclass(frozen=True)
class MapFor(Node):
    """``{for x in xs: key => value}``."""

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
    """What the evaluator asks of the expander: the spec's names, and a budget of iterations.

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


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


def fail(message: str, span: Span, hint: str | None = None) -> NoReturn:
    """Raise a :class:`SpecError` at ``span``."""
    raise SpecError(message, span, hint)


def evaluate(node: Node, scope: Scope, env: Environment) -> Value:
    """The value of the expression ``node``, with the variables of ``scope``."""
    return _EVALUATORS[type(node)](node, scope, env)


def _literal(node: Literal, scope: Scope, env: Environment) -> Value:
    return node.value


def _interpolated(node: Interpolated, scope: Scope, env: Environment) -> Value:
    pieces = [part if isinstance(part, str) else text_of(evaluate(part, scope, env)) for part in node.parts]
    text = "".join(pieces)
    if len(text) > MAX_ITEMS:
        fail(f"this string would hold {len(text)} characters, more than {MAX_ITEMS}", node.span)
    return text


def _variable(node: Variable, scope: Scope, env: Environment) -> Value:
    value = scope.lookup(node.name)
    if value is _UNBOUND:
        return env.word(node.name, node.span)
    return value


def _list(node: ListExpr, scope: Scope, env: Environment) -> Value:
    return tuple(evaluate(item, scope, env) for item in node.items)


def _map(node: MapExpr, scope: Scope, env: Environment) -> Value:
    result: dict[str, Value] = {}
    for item in node.items:
        key = evaluate(item.key, scope, env)
        if key in result:
            fail(f"duplicate key {quote(key)} in this map", item.key.span)
        result[key] = evaluate(item.value, scope, env)
    return result


def _index(node: Index, scope: Scope, env: Environment) -> Value:
    target = evaluate(node.target, scope, env)
    index = evaluate(node.index, scope, env)
    if isinstance(target, Name):
        if not isinstance(index, str):
            fail(f"an element of namespace '{target.text}' is named by a string, not {describe(index)}",
                 node.index.span, f'write {target.text}["op:0"]')
        if not index:
            fail("empty element name", node.index.span, 'name an op or a tensor, e.g. "out:0"')
        return Reference(target.text, index)
    if isinstance(target, tuple):
        if not _is_int(index):
            fail(f"a list is indexed by an int, not {describe(index)}", node.index.span)
        if not -len(target) <= index < len(target):
            fail(f"index {index} is out of range for a list of {len(target)} item"
                 f"{'' if len(target) == 1 else 's'}", node.index.span,
                 f"an index goes from 0 to {len(target) - 1}" if target else "the list is empty")
        return target[index]
    if isinstance(target, dict):
        return _map_get(target, index, node.index.span)
    if isinstance(node.target, Variable) and isinstance(target, (str, int, float)):
        fail(f"cannot index {describe(target)}", node.span,
             f"'{node.target.name}' is a variable; for the namespace of that name write "
             f'name("{node.target.name}")[...]')
    fail(f"cannot index {describe(target)}", node.span, "a list, a map or a namespace can be indexed")


def _map_get(target: dict, key: Value, span: Span) -> Value:
    if not isinstance(key, str):
        fail(f"a map is indexed by a string, not {describe(key)}", span)
    if key not in target:
        fail(f"the map has no key {quote(key)}", span,
             did_you_mean(key, [k for k in target]) or f"its keys: {', '.join(map(quote, target)) or 'none'}")
    return target[key]


def _attribute(node: Attribute, scope: Scope, env: Environment) -> Value:
    target = evaluate(node.target, scope, env)
    if isinstance(target, Name):
        return env.attribute(target, node.name, node.span)
    if isinstance(target, dict):
        return _map_get(target, node.name, node.span)
    fail(f"{describe(target)} has no '.{node.name}'", node.span,
         "'.' reaches the outputs of a block use and the keys of a map")


def _unary(node: Unary, scope: Scope, env: Environment) -> Value:
    value = evaluate(node.operand, scope, env)
    if node.op == "not":
        if not isinstance(value, bool):
            fail(f"'not' takes a bool, not {describe(value)}", node.span)
        return not value
    if not _is_number(value):
        fail(f"'-' takes a number, not {describe(value)}", node.span)
    return _checked(-value, node.span)


def _binary(node: Binary, scope: Scope, env: Environment) -> Value:
    op = node.op
    left = evaluate(node.left, scope, env)
    if op in ("and", "or"):
        if not isinstance(left, bool):
            fail(f"'{op}' takes bools, not {describe(left)}", node.left.span)
        if (op == "and" and not left) or (op == "or" and left):
            return left
        right = evaluate(node.right, scope, env)
        if not isinstance(right, bool):
            fail(f"'{op}' takes bools, not {describe(right)}", node.right.span)
        return right
    right = evaluate(node.right, scope, env)
    return _OPERATORS[op](left, right, node)


def _conditional(node: Conditional, scope: Scope, env: Environment) -> Value:
    condition = evaluate(node.condition, scope, env)
    if not isinstance(condition, bool):
        fail(f"a condition is a bool, not {describe(condition)}", node.condition.span)
    return evaluate(node.then if condition else node.otherwise, scope, env)


def _list_for(node: ListFor, scope: Scope, env: Environment) -> Value:
    return tuple(evaluate(node.item, inner, env)
                 for inner in loop_scopes(node.names, node.iterable, node.span, scope, env))


def _map_for(node: MapFor, scope: Scope, env: Environment) -> Value:
    result: dict[str, Value] = {}
    for inner in loop_scopes(node.names, node.iterable, node.span, scope, env):
        key = evaluate(node.key, inner, env)
        if not isinstance(key, str):
            fail(f"a map's key is a string, not {describe(key)}", node.key.span)
        if key in result:
            fail(f"duplicate key {quote(key)} in this map", node.key.span,
                 "each iteration must make a different key")
        result[key] = evaluate(node.value, inner, env)
    return result


def loop_scopes(names: tuple[str, ...], iterable: Node, span: Span, scope: Scope,
                env: Environment) -> Iterator[Scope]:
    """One scope per iteration of a ``for`` (statement or comprehension at ``span``): its names bound.

    ``for x in LIST`` binds each item, ``for i, x in LIST`` the index too; over a map, ``for k``
    binds each key and ``for k, v`` each key and value.
    """
    return scopes_over(evaluate(iterable, scope, env), names, iterable.span, span, scope, env)


def scopes_over(items: Value, names: tuple[str, ...], iterable: Span, span: Span, scope: Scope,
                env: Environment) -> Iterator[Scope]:
    """:func:`loop_scopes` over ``items``, the value of the expression at ``iterable``."""
    if isinstance(items, dict):
        pairs: Any = items.items()
    elif isinstance(items, tuple):
        pairs = enumerate(items)
    else:
        fail(f"a for loop goes over a list or a map, not {describe(items)}", iterable,
             "for i in range(N) counts from 0 to N - 1")
    if len(names) == 2 and names[0] == names[1]:
        fail(f"the loop binds '{names[0]}' twice", span, "name the index and the item differently")
    return _iterations(pairs, items, names, span, scope, env)


def _iterations(pairs: Any, items: Value, names: tuple[str, ...], span: Span, scope: Scope,
                env: Environment) -> Iterator[Scope]:
    for first, second in pairs:
        env.iterate(span)
        if len(names) == 1:
            values = {names[0]: first if isinstance(items, dict) else second}
        else:
            values = {names[0]: first, names[1]: second}
        yield Scope(scope, values)


def _call(node: Call, scope: Scope, env: Environment) -> Value:
    function = FUNCTIONS.get(node.function)
    if function is None:
        fail(f"unknown function '{node.function}'", node.span,
             did_you_mean(node.function, FUNCTIONS) or f"the functions: {', '.join(sorted(FUNCTIONS))}")
    args = [evaluate(arg, scope, env) for arg in node.args]
    return function(args, node, env)


_EVALUATORS: dict[type, Callable[[Any, Scope, Environment], Value]] = {
    Literal: _literal,
    Interpolated: _interpolated,
    Variable: _variable,
    ListExpr: _list,
    MapExpr: _map,
    Index: _index,
    Attribute: _attribute,
    Call: _call,
    Unary: _unary,
    Binary: _binary,
    Conditional: _conditional,
    ListFor: _list_for,
    MapFor: _map_for,
}

# ---------------------------------------------------------------------------------------------
# Operators
# ---------------------------------------------------------------------------------------------


def _is_int(value: Value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _checked(value: Value, span: Span) -> Value:
    """``value`` if it fits the language's numbers: a 64-bit int, a finite float."""
    if isinstance(value, int):
        if not -MAX_INT - 1 <= value <= MAX_INT:
            fail("integer overflow: the result does not fit in 64 bits", span)
    elif isinstance(value, float) and not math.isfinite(value):
        fail("the result is not a finite number", span)
    return value


def _numbers(left: Value, right: Value, node: Binary) -> None:
    if not (_is_number(left) and _is_number(right)):
        fail(f"'{node.op}' takes numbers, not {kind_of(left)} and {kind_of(right)}", node.span,
             _mismatch_hint(left, right, node.op))


def _mismatch_hint(left: Value, right: Value, op: str) -> str | None:
    if op == "+" and (isinstance(left, str) or isinstance(right, str)):
        return 'to put a value into a string, interpolate it: "tower_{i}"'
    if isinstance(left, Name) or isinstance(right, Name):
        name = left if isinstance(left, Name) else right
        return f"'{name.text}' is not a variable: no parameter, set or loop binds it"
    return None


def _add(left: Value, right: Value, node: Binary) -> Value:
    if isinstance(left, str) and isinstance(right, str):
        return _sized(left + right, node.span)
    if isinstance(left, tuple) and isinstance(right, tuple):
        return _sized(left + right, node.span)
    if isinstance(left, dict) and isinstance(right, dict):
        return _sized({**left, **right}, node.span)
    if _is_number(left) and _is_number(right):
        return _checked(left + right, node.span)
    fail(f"'+' adds numbers, or joins two strings, two lists or two maps; not {kind_of(left)} and "
         f"{kind_of(right)}", node.span, _mismatch_hint(left, right, "+"))


def _sized(value: Any, span: Span) -> Any:
    if len(value) > MAX_ITEMS:
        fail(f"the result would hold {len(value)} items, more than {MAX_ITEMS}", span)
    return value


def _sub(left: Value, right: Value, node: Binary) -> Value:
    _numbers(left, right, node)
    return _checked(left - right, node.span)


def _mul(left: Value, right: Value, node: Binary) -> Value:
    _numbers(left, right, node)
    return _checked(left * right, node.span)


def _divisor(right: Value, node: Binary) -> None:
    if right == 0:
        fail("division by zero", node.span, f"the right side of '{node.op}' is 0 here")


def _div(left: Value, right: Value, node: Binary) -> Value:
    _numbers(left, right, node)
    _divisor(right, node)
    return _checked(left / right, node.span)


def _floordiv(left: Value, right: Value, node: Binary) -> Value:
    _numbers(left, right, node)
    _divisor(right, node)
    return _checked(left // right, node.span)


def _mod(left: Value, right: Value, node: Binary) -> Value:
    _numbers(left, right, node)
    _divisor(right, node)
    return _checked(left % right, node.span)


def equal(left: Value, right: Value) -> bool:
    """Equality of values: numbers by value (1 == 1.0), a bool only equals a bool."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, tuple) and isinstance(right, tuple):
        return len(left) == len(right) and all(equal(a, b) for a, b in zip(left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(equal(v, right[k]) for k, v in left.items())
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    return type(left) is type(right) and bool(left == right)


def _eq(left: Value, right: Value, node: Binary) -> Value:
    return equal(left, right)


def _ne(left: Value, right: Value, node: Binary) -> Value:
    return not equal(left, right)


def _order(compare: Callable[[Any, Any], bool]) -> Callable[[Value, Value, Binary], Value]:
    def ordered(left: Value, right: Value, node: Binary) -> Value:
        if (_is_number(left) and _is_number(right)) or (isinstance(left, str) and isinstance(right, str)):
            return compare(left, right)
        fail(f"'{node.op}' compares two numbers or two strings, not {kind_of(left)} and {kind_of(right)}",
             node.span, _mismatch_hint(left, right, node.op))

    return ordered


def _in(left: Value, right: Value, node: Binary) -> Value:
    if isinstance(right, tuple):
        return any(equal(left, item) for item in right)
    if isinstance(right, dict):
        return isinstance(left, str) and left in right
    if isinstance(right, str) and isinstance(left, str):
        return left in right
    fail(f"'in' looks into a list, a map or a string, not {describe(right)}", node.right.span)


_OPERATORS: dict[str, Callable[[Value, Value, Binary], Value]] = {
    "+": _add, "-": _sub, "*": _mul, "/": _div, "//": _floordiv, "%": _mod,
    "==": _eq, "!=": _ne, "in": _in,
    "<": _order(lambda a, b: a < b), "<=": _order(lambda a, b: a <= b),
    ">": _order(lambda a, b: a > b), ">=": _order(lambda a, b: a >= b),
}

# ---------------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------------


def _arity(args: list[Value], node: Call, low: int, high: int, usage: str) -> None:
    if not low <= len(args) <= high:
        fail(f"{node.function}() takes {usage}, not {len(args)} argument{'' if len(args) == 1 else 's'}",
             node.span)


def _range(args: list[Value], node: Call, env: Environment) -> Value:
    _arity(args, node, 1, 3, "1 to 3 ints: range(STOP), range(START, STOP), range(START, STOP, STEP)")
    for arg, expr in zip(args, node.args):
        if not _is_int(arg):
            fail(f"range() takes ints, not {describe(arg)}", expr.span)
    bounds = range(*args) if len(args) > 1 else range(args[0])
    if len(args) == 3 and args[2] == 0:
        fail("range() step is 0", node.args[2].span, "a step is a positive or negative int")
    if len(bounds) > MAX_ITEMS:
        fail(f"range() of {len(bounds)} items, more than {MAX_ITEMS}", node.span)
    return tuple(bounds)


def _len(args: list[Value], node: Call, env: Environment) -> Value:
    _arity(args, node, 1, 1, "one list, map or string")
    (value,) = args
    if not isinstance(value, (tuple, dict, str)):
        fail(f"len() takes a list, a map or a string, not {describe(value)}", node.args[0].span)
    return len(value)


def _name(args: list[Value], node: Call, env: Environment) -> Value:
    _arity(args, node, 1, 1, "one string")
    (value,) = args
    if not isinstance(value, str):
        fail(f"name() takes a string, not {describe(value)}", node.args[0].span)
    check_name(value, node.args[0].span)
    return env.word(value, node.span)


def check_name(text: str, span: Span) -> None:
    """Fail unless ``text`` is a name: letters, digits and '_', not starting with a digit."""
    if not IDENTIFIER.fullmatch(text):
        fail(f"{quote(text)} is not a name", span,
             "a name is letters, digits and '_', not starting with a digit (a block use puts its "
             "own prefix before the names it makes)")


def _str(args: list[Value], node: Call, env: Environment) -> Value:
    _arity(args, node, 1, 1, "one value")
    return text_of(args[0])


def _int(args: list[Value], node: Call, env: Environment) -> Value:
    _arity(args, node, 1, 1, "one number or string")
    (value,) = args
    if _is_int(value):
        return value
    if isinstance(value, float):
        return _checked(int(value), node.span)
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,19}\s*", value):
        return _checked(int(value), node.span)
    fail(f"int() cannot make an int of {describe(value)}", node.span)


def _float(args: list[Value], node: Call, env: Environment) -> Value:
    _arity(args, node, 1, 1, "one number or string")
    (value,) = args
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return _checked(float(value), node.span)
        except ValueError:
            pass
    fail(f"float() cannot make a float of {describe(value)}", node.span)


def _extreme(pick: Callable[..., Any]) -> Callable[[list[Value], Call, Environment], Value]:
    def extreme(args: list[Value], node: Call, env: Environment) -> Value:
        items = args[0] if len(args) == 1 and isinstance(args[0], tuple) else tuple(args)
        if not items:
            fail(f"{node.function}() of nothing", node.span, f"give {node.function}() a list or values")
        if not (all(_is_number(v) for v in items) or all(isinstance(v, str) for v in items)):
            fail(f"{node.function}() takes numbers or strings, not {', '.join(sorted({kind_of(v) for v in items}))}",
                 node.span)
        return pick(items)

    return extreme


def _keys(args: list[Value], node: Call, env: Environment) -> Value:
    _arity(args, node, 1, 1, "one map")
    if not isinstance(args[0], dict):
        fail(f"keys() takes a map, not {describe(args[0])}", node.args[0].span)
    return tuple(args[0])


FUNCTIONS: dict[str, Callable[[list[Value], Call, Environment], Value]] = {
    "range": _range,
    "len": _len,
    "name": _name,
    "str": _str,
    "int": _int,
    "float": _float,
    "min": _extreme(min),
    "max": _extreme(max),
    "keys": _keys,
}
