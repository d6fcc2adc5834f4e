"""The expression language of templates: values, operators, functions, and positioned errors."""

from __future__ import annotations

from typing import Any

import pytest

from graphdsl.errors import SourceFile, SpecError, SpecSyntaxError
from graphdsl.lang import expr as ex
from graphdsl.lang import template_syntax as ts
from graphdsl.lang.evaluate import evaluate
from graphdsl.lang.template_parser import parse_template


def value(text: str, **variables: Any) -> Any:
    """The value of the expression ``text``, with ``variables`` bound."""
    template = parse_template(SourceFile("e.gcomp", f"graphdsl 1\nset v = {text}\n"))
    statement = template.statements[1]
    assert isinstance(statement, ts.Set)
    return evaluate(statement.value, ex.Scope(values=dict(variables)), ex.Environment())


def error(text: str, **variables: Any) -> SpecError:
    with pytest.raises(SpecError) as info:
        value(text, **variables)
    return info.value


@pytest.mark.parametrize("text, expected", [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("7 / 2", 3.5), ("7 // 2", 3), ("-7 // 2", -4),
    ("7 % 3", 1), ("2 - -1", 3), ("-(2 + 3)", -5), ("1.5 * 2", 3.0), ("10 - 2 - 3", 5),
    ("1 < 2 and 2 <= 2", True), ("not 1 == 1", False), ("1 == 1.0", True), ("true == 1", False),
    ("\"a\" < \"b\"", True), ("2 in [1, 2]", True), ("\"k\" in {k: 1}", True), ("\"ell\" in \"hello\"", True),
    ("[1, 2] + [3]", (1, 2, 3)), ("{a: 1} + {a: 2, b: 3}", {"a": 2, "b": 3}), ("\"ab\" + \"c\"", "abc"),
    ("true ? 1 : 2", 1), ("1 > 2 ? 1 : 2 > 1 ? 3 : 4", 3),
])
def test_operators(text: str, expected: Any) -> None:
    result = value(text)
    assert result == expected and type(result) is type(expected)


def test_and_or_and_the_conditional_evaluate_only_what_they_need() -> None:
    assert value("false and 1 / 0 == 1") is False
    assert value("true or 1 / 0 == 1") is True
    assert value("i == 0 ? 0 : xs[i - 1]", i=0, xs=()) == 0


def test_strings_interpolate_values() -> None:
    assert value('"tower_{i}"', i=3) == "tower_3"
    assert value('"layer{i + 1}/out:0"', i=1) == "layer2/out:0"
    assert value('"{{literal}} {x}"', x=True) == "{literal} true"
    assert value('"{xs} {m} {f}"', xs=(1, "a"), m={"k": 1}, f=0.5) == '[1, "a"] {k: 1} 0.5'
    assert value('"{ {a: 1}[k] }"', k="a") == "1"  # a map inside {...}


def test_indexing_lists_maps_and_namespaces() -> None:
    assert value("xs[1]", xs=(10, 20)) == 20
    assert value("xs[-1]", xs=(10, 20)) == 20
    assert value('m["b"]', m={"b": 2}) == 2
    assert value("m.b", m={"b": 2}) == 2
    assert value('Enc["out:0"]') == ex.Reference("Enc", "out:0")
    assert value('name("L{i}")["y:0"]', i=2) == ex.Reference("L2", "y:0")
    assert value("init") == ex.Name("init")


def test_comprehensions_and_loops_over_maps() -> None:
    assert value("[for i in range(4): i * i]") == (0, 1, 4, 9)
    assert value('[for i, x in xs: "{i}{x}"]', xs=("a", "b")) == ("0a", "1b")
    assert value("{for k, v in m: k => v + 1}", m={"a": 1, "b": 2}) == {"a": 2, "b": 3}
    assert value("[for k in m: k]", m={"a": 1, "b": 2}) == ("a", "b")


@pytest.mark.parametrize("text, expected", [
    ("range(3)", (0, 1, 2)), ("range(2, 8, 3)", (2, 5)), ("range(3, 0, -1)", (3, 2, 1)),
    ("len([1, 2])", 2), ("len(\"abc\")", 3), ("len({a: 1})", 1), ("str(3)", "3"), ("str(\"a\")", "a"),
    ("int(2.9)", 2), ("int(\"12\")", 12), ("float(2)", 2.0), ('float(" -.5e3 ")', -500.0), ('int(" +7 ")', 7), ("min(3, 1, 2)", 1), ("max([1, 5])", 5),
    ("keys({b: 1, a: 2})", ("b", "a")),
])
def test_functions(text: str, expected: Any) -> None:
    assert value(text) == expected


@pytest.mark.parametrize("text, message, column", [
    ("1 / (2 - 2)", "division by zero", 9),
    ('"a" + 1', "'+' adds numbers, or joins two strings, two lists or two maps; not a string and an int", 9),
    ("xs[5]", "index 5 is out of range for a list of 2 items", 12),
    ('m["c"]', 'the map has no key "c"', 11),
    ("9223372036854775807 + 1", "integer overflow: the result does not fit in 64 bits", 9),
    ("1 < \"a\"", "'<' compares two numbers or two strings, not an int and a string", 9),
    ("rang(3)", "unknown function 'rang'", 9),
    ("range(10000000)", "range() of 10000000 items, more than 1000000", 9),
    ("range(0, 10, 0)", "range() step is 0", 22),
    # int() and float() read numbers as a spec writes them, not all Python reads.
    ('int("1_000")', 'int() cannot make an int of the string "1_000"', 9),
    ('int("\u0661\u0662")', 'int() cannot make an int of the string "\u0661\u0662"', 9),
    ('float("1_0")', 'float() cannot make a float of the string "1_0"', 9),
    ('float("infinity")', 'float() cannot make a float of the string "infinity"', 9),
    ("range(-9223372036854775807 - 1, 9223372036854775807)",  # more items than a C ssize_t counts
     "range() of 18446744073709551615 items, more than 1000000", 9),
    ("range(9223372036854775807, -9223372036854775807 - 1, -1)",
     "range() of 18446744073709551615 items, more than 1000000", 9),
    ("1 ? 2 : 3", "a condition is a bool, not the int 1", 9),
    ("not 1", "'not' takes a bool, not the int 1", 9),
    ("[for x in 3: x]", "a for loop goes over a list or a map, not the int 3", 19),
    ('name("a b")', '"a b" is not a name', 14),
    ("L0.out", "'L0' is not a block use, so it has no '.out'", 9),
])
def test_errors_say_what_and_where(text: str, message: str, column: int) -> None:
    failure = error(text, xs=(1, 2), m={"a": 1, "b": 2})
    assert failure.message == message
    assert failure.span is not None
    assert (failure.span.line, failure.span.column) == (2, column)


def test_error_hints() -> None:
    assert error('"tower_" + i', i=1).hint == 'to put a value into a string, interpolate it: "tower_{i}"'
    assert error('m["bb"]', m={"b": 1, "a": 2}).hint == "did you mean 'b'?"
    assert error("rang(3)").hint == "did you mean 'range'?"
    assert error("N + 1").hint == "'N' is not a variable: no parameter, set or loop binds it"
    assert error('N["x:0"]', N=3).hint == "'N' is a variable; for the namespace of that name write name(\"N\")[...]"


def test_errors_inside_a_strings_braces_point_into_the_string() -> None:
    failure = error('"tower_{i / 0}"', i=1)
    assert failure.span is not None
    assert (failure.message, failure.span.column, failure.span.end_column) == ("division by zero", 17, 22)
    with pytest.raises(SpecSyntaxError) as info:
        value('"tower_{i +}"')
    assert info.value.message == "unexpected '}'; expected a value (inside a string's {...})"
    assert info.value.span is not None and info.value.span.column == 20
    with pytest.raises(SpecSyntaxError) as info:
        value('"x {a b}"')
    assert info.value.message == "unexpected name 'b'; expected '}' (inside a string's {...})"
    with pytest.raises(SpecSyntaxError) as info:
        value('"a } b"')
    assert info.value.span is not None
    assert (info.value.message, info.value.span.column) == ("a '}' that closes no '{' in a string", 12)
