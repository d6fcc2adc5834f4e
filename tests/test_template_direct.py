"""A long template is built straight from the driver (no lark tree): the nodes, spans and errors
are exactly those the tree and the template builder give, and a mistake a builder finds (a number
too large, a brace alone in a string, an expression nested too deep) never hides a syntax error
further on.

Compared on every spec and template of the repository, on generated templates (with mistakes
put in at random), and on texts made for the cases that differ: parentheses around tokens and
around trees, map entries, loops, else if, empty bodies, interpolations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fmt_property import specs, template_statement

from graphdsl.errors import SourceFile, SpecSyntaxError
from graphdsl.lang import driver as driver_module
from graphdsl.lang import syntax, template_parser
from graphdsl.lang.template_parser import parse_template

ROOT = Path(__file__).resolve().parent.parent


def _read(text: str, direct: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The dump of template ``text`` (or its error), built from the driver or from the tree; and
    whether the driver built it."""
    used: list[bool] = []
    with monkeypatch.context() as patch:
        patch.setattr(template_parser, "DRIVEN_FROM", 0 if direct else 1 << 62)
        direct_of = template_parser._direct

        def watched(file: SourceFile) -> Any:
            made = direct_of(file)
            used.append(made[0] is not None)
            return made

        patch.setattr(template_parser, "_direct", watched)
        try:
            result: Any = syntax.dump(parse_template(SourceFile("t.gcomp", text)))
        except SpecSyntaxError as error:
            span = error.span
            assert span is not None
            result = ("error", error.message, error.hint, span.line, span.column, span.end_line, span.end_column)
    return result, any(used)


def _same(text: str, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Asserts that both ways make the same; whether the driver built it."""
    direct, built = _read(text, True, monkeypatch)
    general, _ = _read(text, False, monkeypatch)
    assert direct == general, text
    return built


TEXTS = [
    "set a = (1)\nset b = (x)\nset c = (x) + (1)\nset d = ((x + 1)) * 2\nset e = -(1)\nset f = (a)[0].out\n",
    'set m = {k: 1, "l{i}": [2, (3)], n: {o: (p)}}\nset n = {}\nset o = []\nset p = f()\nset q = f(1, 2,)\n',
    "set l = [for i in range(3): (i)]\nset m = {for k, v in m: k => (v)}\nset c = a ? (b) : c\n",
    'param n: int = 3 { min = 1 max = 8 check n % 2 == 1, "odd" }\nparam s: string\nparam l: list[map[int]] = []\n',
    "block b(x: ref, n: int = 1, m, k: list[int]) { copy C from s { } output o = C[\"y:0\"] }\nblock e() { }\n",
    'use "U{i}" = b(x = I["x:0"], n = 2,)\nuse V = e()\noutput o = U0.o\ninclude "lib/a.gcomp"\n',
    'for i in range(2) { if i == 0 { set a = 1 } else if i == 1 { set a = 2 } else { } }\nif x { }\n',
    'copy "C{i}" from "s{j}" { take = ["x"] variable "v{i}*" = init bind "b:0" = A["y:0"] '
    'for j in [1] { stop_at = "z{j}" } if k { variables = value } else if l { } else { } }\n',
    'export savedmodel "out{i}" { signature s { inputs = {x: A["x:0"]} } signature "t{i}" { } '
    'for j in [1] { } if k { } else { } }\nexport metagraph "m"\nsource s = graphdef("a{i}.pb", x = 1,)\n',
    "graphdsl 1\nlet a = b\nlet \"c{i}\" = d[\"e:0\"]\nset t = true and not false or 1.5e3 > -2\n",
    "set a = " + "(" * 300 + "1" + ")" * 300 + "\n",  # parentheses make no level of their own
    "set a = " + "not " * 255 + "x\n",  # as deep as an expression goes
    "set a = " + "not " * 150 + "{a: " * 98 + "x" + "}" * 98 + "\n",  # a map's entry makes no level of its own
    "if x { " * 50 + "}" * 50 + "\n",  # as deep as bodies go
    "if x { }" + " else if x { }" * 49 + "\n",
    "copy C from s { " + "for i in x { " * 25 + "if x { " * 25 + "}" * 50 + " }\n",
    "set a = " + "[" * 100 + "]" * 100 + "\n",  # as deep as lists go
    "",
]
# Mistakes a builder finds, alone or before a syntax error further on.
MISTAKES = [
    "set a = 99999999999999999999999\n", "set a = 1e999\n", 'set a = "x}"\n', 'set a = "{x"\n',
    'set a = "{1 +}"\n', 'set a = "{}"\n', "set a = " + "not " * 300 + "x\n",
    "set a = " + "-" * 300 + "1\n", "set a = " + "[" * 300 + "]" * 300 + "\n",
    "set a = " + "not " * 250 + "{a: " * 10 + "x" + "}" * 10 + "\n",
    # As deep as the tree builder goes before Python's recursion limit: it says what is wrong.
    "set a = " + "{a: " * 300 + "x" + "}" * 300 + "\n", "set a = " + "f(" * 300 + "x" + ")" * 300 + "\n",
    'set a = "{' + "[" * 300 + "]" * 300 + '}"\n',
    "set a = " + "{for k in m: k => " * 300 + "x" + "}" * 300 + "\n",
    "set a = 99999999999999999999999\nset b = 1 +\n", 'set a = "x}"\nset b = $\n',
    "set a = " + "-" * 300 + "1\nset b = )\n",
    "if x { " * 51 + "}" * 51 + "\n", "if x { }" + " else if x { }" * 50 + "\n",
    "copy C from s { " + "for i in x { " * 25 + "if x { " * 26 + "}" * 51 + " }\n",
    'export savedmodel "m" { ' + "if x { " * 51 + "}" * 51 + " }\n",
    "for i in x { " * 51 + "}" * 51 + "\nset b = )\n",
    "set a = " + "[" * 101 + "]" * 101 + "\n", "set a = " + "{a: " * 101 + "x" + "}" * 101 + "\n",
]


@pytest.mark.parametrize("text", TEXTS)
def test_a_template_is_built_from_the_driver_as_from_its_tree(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _same(text, monkeypatch) or not text


@pytest.mark.parametrize("text", MISTAKES)
def test_a_builder_s_mistake_is_told_as_the_tree_tells_it(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not _same(text, monkeypatch)  # given up to the tree, which tells it


def test_every_spec_and_template_of_the_repository_is_built_as_from_its_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = sorted([*ROOT.joinpath("specs").rglob("*.gcomp"), *ROOT.joinpath("tests", "data").rglob("*.gcomp")])
    built = [_same(path.read_bytes().decode("utf-8", errors="replace"), monkeypatch) for path in paths]
    assert sum(built) > 50 and not all(built)


_noise = st.lists(st.tuples(st.integers(0, 400), st.sampled_from(
    ["$", ")", "(", "}", "{", '"', "9" * 21, "1e999", " -1", "-", " in ", ",", "é", '"{', '}"', "((((", "\n"])),
    max_size=2)


def _mutated(text: str, noise: list[tuple[int, str]]) -> str:
    for where, what in noise:
        at = where % (len(text) + 1)
        text = text[:at] + what + text[at:]
    return text


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(text=specs(template_statement, most=5), noise=_noise)
def test_a_generated_template_is_built_from_the_driver_as_from_its_tree(
        text: str, noise: list[tuple[int, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    _same(_mutated(text, noise), monkeypatch)


_LISTS = ['[1, "a", 2, 3]', '[[1, 2], [3, 4], 5, [6]]', '[["s"], "s", ["s"], "s",]', '[[[1], [2]], [[3]], 4, 5]',
          '[x, 1, "a", 2]', '[[1, 2], f(1), "a", 2]', '[1, 2, 3, 4]', '[' + '9' * 30 + ', "a", 1, 2]',
          '[[1, "a", 2, 3]]', '[1, "a", 2, 3', '[[[[1, "a", 2, 3]], 1, 2, 3], 4, 5, 6]']


@pytest.mark.parametrize("value", _LISTS)
def test_lists_read_as_one_token_are_built_from_the_driver_as_from_the_tree(
        value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Parts of a few lines: the trie learns in the first, and lists are units from the next.
    monkeypatch.setattr(driver_module, "PART", 8)
    statements = [f"set a = {value}", f'source "p{{i}}" = python("b.py:f", arg = {value}, b = [{value}, 1])',
                  f"set c = x[{value}] + [{value}, 2]", f'copy C from s {{ take = {value} }}']
    for statement in statements:
        _same(("param i: int = 1\n" + statement + "\n") * 3, monkeypatch)
