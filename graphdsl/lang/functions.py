"""The functions a template may call: ``range``, ``len``, ``name``, ``str``, ``int``, ``float``,
``min``, ``max`` and ``keys``. Each takes its arguments' values and the call (for its place in the
file); a wrong argument is a :class:`~graphdsl.errors.SpecError` there. No TensorFlow here.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from graphdsl.lang.expr import (
    MAX_ITEMS,
    Call,
    Environment,
    Value,
    check_name,
    checked,
    describe,
    fail,
    is_int,
    is_number,
    kind_of,
    text_of,
)


# The texts int() and float() read: numbers as a spec writes them (ASCII digits: Python's own
# int() and float() also read "1_000", "١٢" and "infinity").
_INT_TEXT = re.compile(r"\s*[-+]?[0-9]{1,19}\s*", re.ASCII)
_FLOAT_TEXT = re.compile(r"\s*[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\s*", re.ASCII)


def _arity(args: list[Value], node: Call, low: int, high: int, usage: str) -> None:
    if not low <= len(args) <= high:
        fail(f"{node.function}() takes {usage}, not {len(args)} argument{'' if len(args) == 1 else 's'}",
             node.span)


def _range(args: list[Value], node: Call, env: Environment) -> Value:
    _arity(args, node, 1, 3, "1 to 3 ints: range(STOP), range(START, STOP), range(START, STOP, STEP)")
    for arg, expr in zip(args, node.args):
        if not is_int(arg):
            fail(f"range() takes ints, not {describe(arg)}", expr.span)
    if len(args) == 3 and args[2] == 0:
        fail("range() step is 0", node.args[2].span, "a step is a positive or negative int")
    bounds = range(*args) if len(args) > 1 else range(args[0])
    # range's len() is a C ssize_t: from -2**63 to 2**63 - 1 is one item too many for it.
    count = max(0, -((bounds.start - bounds.stop) // bounds.step))
    if count > MAX_ITEMS:
        fail(f"range() of {count} items, more than {MAX_ITEMS}", node.span)
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


def _str(args: list[Value], node: Call, env: Environment) -> Value:
    _arity(args, node, 1, 1, "one value")
    return text_of(args[0])


def _int(args: list[Value], node: Call, env: Environment) -> Value:
    _arity(args, node, 1, 1, "one number or string")
    (value,) = args
    if is_int(value):
        return value
    if isinstance(value, float):
        return checked(int(value), node.span)
    if isinstance(value, str) and _INT_TEXT.fullmatch(value):
        return checked(int(value), node.span)
    fail(f"int() cannot make an int of {describe(value)}", node.span)


def _float(args: list[Value], node: Call, env: Environment) -> Value:
    _arity(args, node, 1, 1, "one number or string")
    (value,) = args
    if is_number(value):
        return float(value)
    if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value):
        return checked(float(value), node.span)
    fail(f"float() cannot make a float of {describe(value)}", node.span)


def _extreme(pick: Callable[..., Any]) -> Callable[[list[Value], Call, Environment], Value]:
    def extreme(args: list[Value], node: Call, env: Environment) -> Value:
        items = args[0] if len(args) == 1 and isinstance(args[0], tuple) else tuple(args)
        if not items:
            fail(f"{node.function}() of nothing", node.span, f"give {node.function}() a list or values")
        if not (all(is_number(v) for v in items) or all(isinstance(v, str) for v in items)):
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
