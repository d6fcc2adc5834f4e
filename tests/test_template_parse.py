"""The fast parse of templates (graphdsl.lang.contextual) makes exactly the tree lark's own LALR
parser makes with its contextual lexer: the same rules, tokens (terminal, text) and positions
(line, column, offsets of every tree and token), and it rejects exactly what lark rejects.

Compared on every spec and template of the repository, on generated templates and expressions,
and on texts whose tokens depend on the parser's state (a '-' that is a minus or a number's sign,
keywords where a name may stand).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput
from test_fmt_property import expression_statements, specs, template_statement

from graphdsl.errors import SourceFile, SpecSyntaxError
from graphdsl.lang import grammar, template_parser
from graphdsl.lang import driver
from graphdsl.lang.contextual import ContextualParser, Lines, Rejected

ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def _lark() -> Lark:
    return grammar.load("template")


@functools.cache
def _fast() -> ContextualParser:
    return ContextualParser(_lark())


def _canonical(tree: Tree[Token]) -> list[Any]:
    """Everything a tree says, in order, without recursion: rules, tokens, positions."""
    out: list[Any] = []
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Tree):
            meta = node.meta
            where = None if meta.empty else (meta.line, meta.column, meta.end_line, meta.end_column,
                                             meta.start_pos, meta.end_pos)
            out.append(("tree", node.data, where, len(node.children)))
            stack.extend(reversed(node.children))
        else:
            out.append(("token", node.type, str(node), node.line, node.column, node.end_line, node.end_column,
                        node.start_pos, node.end_pos))
    return out


def _same(text: str, start: str = "template") -> bool:
    """Asserts that graphdsl's parses make the tree lark makes of ``text`` (or reject it): the
    contextual loop, the driver that replays statements (a whole template: it may also reject a
    text whose tokens depend on the parser's state, which then goes to the loop), and what
    parse_template runs; whether lark accepted it."""
    try:
        expected = _canonical(_lark().parse(text, start=start))
    except UnexpectedInput:
        with pytest.raises(Rejected):
            _fast().parse(text, start)
        if start == "template":
            with pytest.raises(driver.Rejected):
                _driven(text)
            with pytest.raises(UnexpectedInput):
                template_parser._parse(text, start)
        return False
    assert _canonical(_fast().parse(text, start)) == expected, text
    if start == "template":
        try:
            assert _canonical(_driven(text)) == expected, text
        except driver.Rejected:
            pass
        assert _canonical(template_parser._parse(text, start)) == expected, text
    return True


def _driven(text: str) -> Tree[Token]:
    fast = template_parser._driver()
    assert fast is not None
    parser, trees = fast
    return parser.parse(text, trees(Lines(text))).value  # type: ignore[no-any-return]


def test_every_spec_and_template_of_the_repository_parses_as_lark_parses_it() -> None:
    paths = sorted([*ROOT.joinpath("specs").rglob("*.gcomp"), *ROOT.joinpath("tests", "data").rglob("*.gcomp")])
    accepted = [_same(path.read_bytes().decode("utf-8", errors="replace")) for path in paths]
    assert sum(accepted) > 50 and not all(accepted)  # both kinds are there


@pytest.mark.parametrize("text", [
    "set a = b -1\n", "set a = b-1\n", "set a = [-1, - 1, -1.5e3, 2--3]\n", "set a = x//2/3\n",
    "set a = f(-1)[0].out\n", 'set a = k > 2 ? "value" : "init"\n', "set a = not x in y and z or w\n",
    "set a = (((1)))\n", "set a = -(1)\n", "set a = (x) + (1)\n", 'set a = {k: 1, "l": [2]}\n',
    "set a = [for i in range(3): i * 2]\n", "set a = {for k, v in m: k => v}\n",
    "set for = 1\n", "set a = in\n", "set a = for\n",  # keywords where a name may, or may not, stand
    "set a = 1\n# a comment\n\n\tset b = a  # and another\n",
    'copy "t_{i}" from s { take = "x{i}" for j in range(2) { bind "b{j}" = j } }\n',
    "set a = \n", "set a = 1 +\n", "set a = 1 $ 2\n", "",
])
def test_tokens_that_depend_on_the_parser_state_are_read_as_lark_reads_them(text: str) -> None:
    _same(text)


@pytest.mark.parametrize("text", ["i", "i + 1", "-1", "a -1", "name[0].out", "x ? 1 : 2", "", "1 +"])
def test_an_interpolation_parses_as_lark_parses_it(text: str) -> None:
    _same(text, "interpolation")


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=specs(template_statement, most=5))
def test_generated_templates_parse_as_lark_parses_them(text: str) -> None:
    _same(text)


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=specs(expression_statements, most=3))
def test_generated_expressions_parse_as_lark_parses_them(text: str) -> None:
    _same(text)


def test_a_long_template_keeps_every_statement_in_order() -> None:
    # The statements of a template are children of one rule that grows by one at each: they
    # are appended in place, and each keeps its own position.
    text = "".join(f"set v{i} = {i} * k\n" for i in range(3000))
    tree = _fast().parse(text, "template")
    statements = [child for child in tree.children if isinstance(child, Tree)]
    assert [str(child.children[0]) for child in statements] == [f"v{i}" for i in range(3000)]
    assert [child.meta.line for child in statements] == list(range(1, 3001))
    assert _canonical(tree) == _canonical(_lark().parse(text, start="template"))


def test_a_text_the_fast_parse_rejects_gets_lark_s_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fast loop only says where it stopped; lark's parser then words the error, and a text
    # lark accepts is parsed by lark all the same.
    with pytest.raises(SpecSyntaxError) as raised:
        template_parser.parse_template(SourceFile("t.gcomp", "set a = 1 +\n"))
    assert raised.value.render().startswith("t.gcomp:1:12: error: unexpected end of file; expected a value")

    def refuse(text: str, start: str) -> Tree[Token]:
        raise Rejected(0)

    monkeypatch.setattr(template_parser._contextual(), "parse", refuse)
    template = template_parser.parse_template(SourceFile("t.gcomp", "set a = 1 + 2\n"))
    assert [type(s).__name__ for s in template.statements] == ["Set"]


def test_a_template_is_read_by_the_driver_unless_a_token_depends_on_the_parser_state() -> None:
    plain = "set a = [1, -1]\nset b = a[0] - 1\n" * 3
    assert _canonical(_driven(plain)) == _canonical(_lark().parse(plain, start="template"))
    for text in ["set b = a -1\n", "set b = a-1\n", "copy A froms { }\n"]:  # '-1' a number, 'froms' a name
        with pytest.raises(driver.Rejected):
            _driven(text)
        _same(text)


def test_a_long_template_is_read_by_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    text = 'copy "C{i}" from s { take = "x" variables = k > 2 ? "value" : "init" }\n' * 1000
    assert len(text) >= template_parser.DRIVEN_FROM

    def loop(text: str, start: str) -> Tree[Token]:
        raise AssertionError("read by the loop")

    monkeypatch.setattr(template_parser._contextual(), "parse", loop)
    assert _canonical(template_parser._parse(text, "template")) == _canonical(_lark().parse(text, start="template"))
