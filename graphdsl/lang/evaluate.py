"""Evaluation of template expressions: :func:`evaluate`, the operators and the loops.

Every evaluation ends (the values are bounded, see :mod:`graphdsl.lang.expr`; comprehensions count
their iterations through the :class:`~graphdsl.lang.expr.Environment`), and every failure is a
:class:`~graphdsl.errors.SpecError` at the expression's place. The functions a template may call
are in :mod:`graphdsl.lang.functions`. No TensorFlow here.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from graphdsl.errors import Span, did_you_mean
from graphdsl.lang.expr import (
    _UNBOUND,
    MAX_ITEMS,
    Attribute,
    Binary,
    Call,
    Conditional,
    ConstantList,
    Environment,
    Index,
    Interpolated,
    ListExpr,
    ListFor,
    Literal,
    MapExpr,
    MapFor,
    Name,
    Reference,
    Scope,
    Unary,
    Value,
    Variable,
    check_nesting,
    checked,
    describe,
    fail,
    is_int,
    is_number,
    kind_of,
    quote,
    text_of,
)
from graphdsl.lang.functions import FUNCTIONS
from graphdsl.lang.syntax import Node


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
    env.work(len(text), node.span)
    return text


def _variable(node: Variable, scope: Scope, env: Environment) -> Value:
    value = scope.lookup(node.name)
    if value is _UNBOUND:
        return env.word(node.name, node.span)
    return value


def _list(node: ListExpr, scope: Scope, env: Environment) -> Value:
    evaluators = _EVALUATORS  # evaluate() inline: a template's lists may be long
    items = tuple([evaluators[type(item)](item, scope, env) for item in node.items])
    check_nesting(items, node.span)
    env.work(len(items), node.span)
    return items


def _constant(node: ConstantList, scope: Scope, env: Environment) -> Value:
    # Nested at most MAX_NESTING deep, as the parse checks every list written in a template.
    return node.value  # folded as it was parsed: its items are literals and such lists


def _map(node: MapExpr, scope: Scope, env: Environment) -> Value:
    result: dict[str, Value] = {}
    for item in node.items:
        key = evaluate(item.key, scope, env)
        if key in result:
            fail(f"duplicate key {quote(key)} in this map", item.key.span)
        result[key] = evaluate(item.value, scope, env)
    check_nesting(result.values(), node.span)
    env.work(len(result), node.span)
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
        if not is_int(index):
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
    if not is_number(value):
        fail(f"'-' takes a number, not {describe(value)}", node.span)
    return checked(-value, node.span)


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
    if op in _THROUGH:
        env.work(_size(left) + _size(right), node.span)
    return _OPERATORS[op](left, right, node)


# The operators that go through their operands' items (comparing lists, looking into one, joining).
_THROUGH = frozenset(("==", "!=", "in", "+"))


def _size(value: Value) -> int:
    return len(value) if type(value) is tuple or type(value) is dict or type(value) is str else 1


def _conditional(node: Conditional, scope: Scope, env: Environment) -> Value:
    condition = evaluate(node.condition, scope, env)
    if not isinstance(condition, bool):
        fail(f"a condition is a bool, not {describe(condition)}", node.condition.span)
    return evaluate(node.then if condition else node.otherwise, scope, env)


def _list_for(node: ListFor, scope: Scope, env: Environment) -> Value:
    items = tuple([evaluate(node.item, inner, env)
                   for inner in loop_scopes(node.names, node.iterable, node.span, scope, env)])
    check_nesting(items, node.span)
    env.work(len(items), node.span)
    return items


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
    check_nesting(result.values(), node.span)
    env.work(len(result), node.span)
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
    result = function(args, node, env)
    env.work(sum([_size(arg) for arg in args]) + _size(result), node.span)
    return result


_EVALUATORS: dict[type, Callable[[Any, Scope, Environment], Value]] = {
    Literal: _literal,
    Interpolated: _interpolated,
    Variable: _variable,
    ListExpr: _list,
    ConstantList: _constant,
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


def _numbers(left: Value, right: Value, node: Binary) -> None:
    if not (is_number(left) and is_number(right)):
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
    if is_number(left) and is_number(right):
        return checked(left + right, node.span)
    fail(f"'+' adds numbers, or joins two strings, two lists or two maps; not {kind_of(left)} and "
         f"{kind_of(right)}", node.span, _mismatch_hint(left, right, "+"))


def _sized(value: Any, span: Span) -> Any:
    if len(value) > MAX_ITEMS:
        fail(f"the result would hold {len(value)} items, more than {MAX_ITEMS}", span)
    return value


def _sub(left: Value, right: Value, node: Binary) -> Value:
    _numbers(left, right, node)
    return checked(left - right, node.span)


def _mul(left: Value, right: Value, node: Binary) -> Value:
    _numbers(left, right, node)
    return checked(left * right, node.span)


def _divisor(right: Value, node: Binary) -> None:
    if right == 0:
        fail("division by zero", node.span, f"the right side of '{node.op}' is 0 here")


def _div(left: Value, right: Value, node: Binary) -> Value:
    _numbers(left, right, node)
    _divisor(right, node)
    return checked(left / right, node.span)


def _floordiv(left: Value, right: Value, node: Binary) -> Value:
    _numbers(left, right, node)
    _divisor(right, node)
    return checked(left // right, node.span)


def _mod(left: Value, right: Value, node: Binary) -> Value:
    _numbers(left, right, node)
    _divisor(right, node)
    return checked(left % right, node.span)


def equal(left: Value, right: Value) -> bool:
    """Equality of values: numbers by value (1 == 1.0), a bool only equals a bool."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, tuple) and isinstance(right, tuple):
        return len(left) == len(right) and all(equal(a, b) for a, b in zip(left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(equal(v, right[k]) for k, v in left.items())
    if is_number(left) and is_number(right):
        return bool(left == right)
    return type(left) is type(right) and bool(left == right)


def _eq(left: Value, right: Value, node: Binary) -> Value:
    return equal(left, right)


def _ne(left: Value, right: Value, node: Binary) -> Value:
    return not equal(left, right)


def _order(compare: Callable[[Any, Any], bool]) -> Callable[[Value, Value, Binary], Value]:
    def ordered(left: Value, right: Value, node: Binary) -> Value:
        if (is_number(left) and is_number(right)) or (isinstance(left, str) and isinstance(right, str)):
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
