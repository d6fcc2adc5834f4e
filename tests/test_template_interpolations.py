"""The expressions inside a template's strings (``"x{k + 1}"``) are made from a blueprint per
shape (texts the same but for their digits parse alike): the nodes, spans and errors it gives are
exactly those the parse and the builder give each text on its own.

Compared on generated expressions written into the places a string may stand (names, values,
labels, map keys), each next to a text of the same shape with other digits (which the blueprint
of the first makes), and on texts that look alike but are not: keywords where names stand,
negative numbers, nested brackets, unicode, numbers too large.
"""

from __future__ import annotations

import random
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fmt_property import expressions
from test_template_direct import _mutated

from graphdsl.errors import SourceFile, SpecSyntaxError
from graphdsl.lang import syntax, template_builder, template_make
from graphdsl.lang.template_parser import parse_template

# Where a string with {...} may stand; @T@ and @O@ are two interpolations' texts.
PLACES = [
    'copy "C{@T@}" from s {\n  take = "x{@O@}"\n}\n',
    'set a = "p{@T@}q{@O@}r"\n',
    'set m = {"k{@T@}": 1, k: "v{@O@}"}\n',
    'export savedmodel "out{@T@}" {\n  signature "s{@O@}" { inputs = {x: C["x:0"]} }\n}\n',
    'use "L{@T@}" = layer(n = "{@O@}")\n',
]


class _Forgetful(dict):  # type: ignore[type-arg]
    """A cache that keeps nothing."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


def _read(text: str, blueprints: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The dump of the template ``text`` (or its error: message, place, hint), made with the
    interpolations' blueprints or by the builder alone."""
    template_make.BLUEPRINTS.clear()
    template_make.LAYOUTS.clear()
    with monkeypatch.context() as patch:
        if not blueprints:  # nor the layouts of strings kept by shape
            patch.setattr(template_make, "blueprint", lambda tree: None)
            patch.setattr(template_make, "LAYOUTS", _Forgetful())
        try:
            return syntax.dump(parse_template(SourceFile("t.gcomp", "graphdsl 1\n" + text)))
        except SpecSyntaxError as error:
            span = error.span
            assert span is not None
            return ("error", error.message, error.hint, span.line, span.column, span.end_line, span.end_column,
                    span.start, span.end)


def _same(text: str, other: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for place in PLACES:
        template = place.replace("@T@", text).replace("@O@", other)
        assert _read(template, True, monkeypatch) == _read(template, False, monkeypatch), template


def _other_digits(text: str, seed: int) -> str:
    """``text`` with each ASCII digit replaced by another (the same shape)."""
    chooser = random.Random(seed)
    return "".join(chooser.choice(string.digits) if char.isascii() and char.isdigit() else char for char in text)


# Texts that look alike but are not, and the errors a text of a shape can hold.
LOOKALIKES = [
    "k + 1", "k + 10", "k+1", "k -1", "-1", "- 1", "-1 - -1", "a1 + b22", "in1", "for1 + 1", "true1 or false",
    "x[0][1]", "f(1, [2, [3]], {a: 4})", "{a: {b: 1}}", "{for k, v in m: k => v * 2}", "[for i in range(3): i]",
    "1.5 + 2e3 - 3E-4 + .5", "1e999", "99999999999999999999", "9223372036854775807", "-9223372036854775808",
    "9223372036854775808", "n.out", "a ? 1 : 2", "not 1 == 2", "é + 1", "x٣ + 1", "٣ + 1", "１ + 1", "a $ 1",
    "1 +", "in", "for", "true", "a b", "(((1)))", "a[", "((a)", "0 + 00 + 007",
]


@pytest.mark.parametrize("text", LOOKALIKES)
def test_a_lookalike_interpolation_is_made_as_the_builder_makes_it(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for seed in range(3):
        _same(text, _other_digits(text, seed), monkeypatch)


DUMP = """Binary @60:35-60:41
  op: '+'
  left: Variable @60:35-60:36
    name: 'k'
  right: Literal @60:39-60:41
    value: 57
"""


# Strings (between their quotes) whose braces and escapes make their parts.
STRINGS = [
    "x{{1}}{k}", '\\"{k}\\n1', "{k}}}2{{", "1{k}2{j}3", "{1}", "}1", "{1", "1{ }", "{1\\n}", "{{}}", "a{ {b: 1}.b }",
    "{k}{{", "\\\\{k}", "{{{k}}}", "{k}}", "é1{k}😀2", "{ {a: {b: 2}}.a.b }x1",
]


@pytest.mark.parametrize("text", STRINGS)
def test_a_string_is_read_as_its_parts_whatever_its_digits(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for seed in range(3):
        template = f'set a = "{text}"\nset b = "{_other_digits(text, seed)}"\n'
        assert _read(template, True, monkeypatch) == _read(template, False, monkeypatch), template


def test_texts_of_one_shape_are_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    parse = template_builder.parse_interpolation

    def counting(text: str) -> Any:
        parsed.append(text)
        return parse(text)

    monkeypatch.setattr(template_builder, "parse_interpolation", counting)
    template_make.BLUEPRINTS.clear()
    lines = [f'copy "C{{k}}_{i}" from s {{ take = "x{{k + {i}}}" }}' for i in range(100)]
    template = parse_template(SourceFile("t.gcomp", "graphdsl 1\nparam k: int = 3\n" + "\n".join(lines)))
    assert sorted(set(parsed)) == ["k", "k + 0", "k + 10"]  # one text of each shape: 1 and 2 digits
    take = template.statements[2 + 57].entries[0].value  # type: ignore[attr-defined]
    assert syntax.dump(take.parts[1]) == DUMP


def test_the_grammar_tells_no_digit_from_another() -> None:
    # Else the blueprints would be made per text: the same trees, parsed once per text.
    assert template_make.digit_blind()


_texts = expressions(inside_string=True, leaves=6).map(lambda tokens: " ".join(text for text, _ in tokens))
_noise = st.lists(st.tuples(st.integers(0, 60),
                            st.sampled_from(["$", ")", "(", "[", "-", "9" * 21, " in ", ",", "é"])), max_size=2)


@settings(max_examples=120, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(text=_texts, noise=_noise, seed=st.integers(0, 1000))
def test_a_generated_interpolation_is_made_as_the_builder_makes_it(
        text: str, noise: list[tuple[int, str]], seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    text = _mutated(text, noise)
    _same(text, _other_digits(text, seed), monkeypatch)
