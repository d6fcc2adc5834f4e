"""A template's list of constants (literals and such lists) is folded as it is parsed: its value is
known, so that the type check and evaluation take it in one step, and a long template's lists read
as one token (units) are folded from their tokens' texts, their items made only when asked for.

Whatever folds, the user sees the same: the plain spec an expansion makes (its nodes, spans and
the notes of spans made in loops and blocks), the errors (message, hint, place, notes), what
``graphdsl fmt`` prints (comments inside lists included), and the driver's build stays the tree
builder's.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphdsl.errors import GraphDslError, SourceFile
from graphdsl.lang import driver as driver_module
from graphdsl.lang import expr as ex
from graphdsl.lang import syntax, template_direct, template_parser
from graphdsl.lang import template_make as mk
from graphdsl.lang.expand import load
from graphdsl.lang.expander import GeneratedSpan
from graphdsl.lang.template_fmt import format_template
from graphdsl.lang.template_parser import parse_template


def _ways(monkeypatch: pytest.MonkeyPatch, direct: bool, fold: bool) -> list[int]:
    """Parse templates from the driver (in parts of a few lines, so that lists become units
    after the first) or from the tree; with lists folded or not. Counts the units folded."""
    folded: list[int] = []
    monkeypatch.setattr(template_parser, "DRIVEN_FROM", 0 if direct else 1 << 62)
    monkeypatch.setattr(driver_module, "PART", 8)
    mk.BLUEPRINTS.clear()
    fast = template_parser._driver()
    assert fast is not None and fast[0].programs is not None
    fast[0].programs.clear()  # the statements' shapes learnt anew: lists become units after the first part
    if fold:
        fold_unit = template_direct._Direct.folded

        def counted(self: Any, *args: Any) -> Any:
            made = fold_unit(self, *args)
            folded.append(made is not None)
            return made

        monkeypatch.setattr(template_direct._Direct, "folded", counted)
    else:  # every list made as a ListExpr, item by item
        monkeypatch.setattr(mk, "list_expr", lambda items, span: mk.ListExpr(items, span))
        monkeypatch.setattr(template_direct._Direct, "folded", lambda self, *args: None)
    return folded


def _notes(node: Any, found: list[tuple[str, tuple[str, ...]]]) -> list[tuple[str, tuple[str, ...]]]:
    """The notes of every span made in a loop or a block, node by node, in order."""
    span = getattr(node, "span", None)
    if isinstance(span, GeneratedSpan):
        found.append((type(node).__name__, span.notes()))
    if isinstance(node, syntax.Node):
        for child in node.children():
            _notes(child, found)
    return found


def _expanded(text: str, monkeypatch: pytest.MonkeyPatch, direct: bool, fold: bool) -> tuple[Any, list[int]]:
    """What a user gets of ``text``: the dump of the plain spec and the notes of its spans, or the
    error with its place and notes."""
    with monkeypatch.context() as patch:
        folded = _ways(patch, direct, fold)
        try:
            spec = load(text, "t.gcomp").spec
        except GraphDslError as error:
            span = error.span
            assert span is not None
            return ("error", error.message, error.hint, span.line, span.column, span.end_line, span.end_column,
                    span.notes()), folded
        return (syntax.dump(spec), _notes(spec, [])), folded


def _same_expansion(text: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Asserts that the expansion is the same however the lists were made; returns it."""
    folded, units = _expanded(text, monkeypatch, True, True)
    assert any(units), "no list was folded from a unit"
    assert _expanded(text, monkeypatch, True, False)[0] == folded
    assert _expanded(text, monkeypatch, False, True)[0] == folded
    return folded




def _varied(n: int) -> str:
    """A list of constants of the ``n``-th shape: lists that vary in shape from line to line are
    read as units (after the first part of the text)."""
    return "[" + ", ".join([*('["s"]' if n >> bit & 1 else '"s"' for bit in range(4)), str(n), f'[{n}.5, ["u"]]']) + "]"


FILLER = "".join(f'source f{n} = python("b.py:build", arg = {_varied(n)})\n' for n in range(16))
TEMPLATE = """graphdsl 1
param k: int = 2
param sizes: list[int] = [1, 2, 3, 4]
source s = graphdef("models/s.pb")
copy A from s { take = ["x", "y", "z", "w"] }
""" + FILLER + """block b(xs: list = [["u"], "v", 1, 2.5]) {
    source q = python("b.py:build", arg = xs, more = [["m"], "m\\n", 1, false], same = ["a", "b", "c", "d"])
    output o = A["x:0"]
}
for i in range(k) {
    source "p{i}" = python("b.py:build", arg = [["s"], "s", [1, 2], i], flat = [["s"], "{{s}}", [1, 2], 3])
    use "U{i}" = b()
    for j in [["a", 1], ["b", 2], ["c", 3], ["d", 4]] {
        source "r{i}_{j[0]}" = python("b.py:build", arg = [["s"], "\\"s\\"", [[j[1]]], 4], n = j[1])
    }
}
set t = [[1], 2, "3", 4][k - 1]
source z = python("b.py:build", arg = t, n = len([["a"], "b", 1, 2]), c = "a" in ["a", ["b"], 1, 2],
                  s = "{[1, [2], true, 4.0]}", e = [], m = {a: [["x"], "y", 1, 2]})
copy B from s { take = "x" variables = [["init"], "value", 1, 2][1] }
export savedmodel "out" {
    signature serving_default { inputs = { x: A["x:0"] } outputs = { y: A["y:0"] } warmup = { x: [[1.0, 2.0], [3, 4]] } }
}
"""


def test_a_list_of_constants_is_folded_with_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    text = 'graphdsl 1\nset a = [1, "a\\n", [2.5, true], []]\nset b = [1, x, [2]]\nset c = ["{k}", ["{{k}}"]]\n'
    for direct in (True, False):
        with monkeypatch.context() as patch:
            _ways(patch, direct, True)
            a, b, c = [s.value for s in parse_template(SourceFile("t.gcomp", text)).statements[1:]]  # type: ignore[attr-defined]
        assert type(a) is ex.ConstantList and a.value == (1, "a\n", (2.5, True), ())
        assert [type(item) for item in a.items] == [ex.Literal, ex.Literal, ex.ConstantList, ex.ConstantList]
        # Not constant: a variable, an interpolation; the constant lists inside are folded.
        assert type(b) is ex.ListExpr and type(b.items[2]) is ex.ConstantList
        assert type(c) is ex.ListExpr and type(c.items[1]) is ex.ConstantList and c.items[1].value == ("{k}",)


def test_a_folded_list_expands_as_the_list_of_its_items(monkeypatch: pytest.MonkeyPatch) -> None:
    dump, notes = _same_expansion(TEMPLATE, monkeypatch)
    assert 'String "{s}"' in dump and 'String "m\\n"' in dump and 'Word "value"' in dump  # as written
    assert any("in the loop at t.gcomp:" in " ".join(n) for _, n in notes)
    assert any("in block `b` used at" in " ".join(n) for _, n in notes)


ERRORS = [
    # A type error on a loop variable that takes a list's items, and the same found when evaluated.
    'for x in ["a", "b", "c", "d"] {\n    set y = x + 1\n}\n',
    'for x in [["a"], "b", 1, 2] {\n    set y = x + 1\n}\n',
    'param l: list[int] = [1, "a", [2], 3]\n',
    'set a = [[1], 2, "x", 4][9]\n',
    'set a = [[1], 2, "x", 4] + 1\n',
    'copy C from s { take = "x" variables = [["init"], "value", 1, 2] }\n',
    'for i in range(2) {\n    source "p{i}" = python("b.py:build", arg = [["s"], "s", 1, 2], arg = [["s"], "s", 1, 3])\n}\n',
    'block b() {\n    copy C from s { take = [["x"], "y", 1, 2] }\n}\nuse U = b()\n',
]


@pytest.mark.parametrize("error", ERRORS)
def test_an_error_about_a_folded_list_is_the_unfolded_one_s(error: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = 'graphdsl 1\nparam k: int = 1\nsource s = graphdef("models/s.pb")\n' + FILLER + error
    told = _same_expansion(text, monkeypatch)
    assert told[0] == "error" and told[3] > 14  # on the statement with the mistake


def test_a_long_template_is_checked_without_the_items_of_its_folded_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[int] = []
    items_of = template_direct._Direct.unit_items

    def counted(self: Any, *args: Any) -> Any:
        made.append(1)
        return items_of(self, *args)

    monkeypatch.setattr(template_direct._Direct, "unit_items", counted)
    _, units = _expanded(TEMPLATE, monkeypatch, True, True)
    assert sum(units) > 10 and not made
    # Asked for (here by the formatter), they are made once each.
    with monkeypatch.context() as patch:
        units = _ways(patch, True, True)
        template = parse_template(SourceFile("t.gcomp", TEMPLATE))
    assert not made
    once = format_template(template)
    assert format_template(template) == once and len(made) == sum(units)


COMMENTED = "graphdsl 1\n" + "".join(
    f'source p{n} = python("b.py:build", arg = [["s"], # one\n    "s{n}", [{n}, 2], # two\n    "t", # three\n], '
    f'more = [[1], 2, "x", {n}]) # after\n' for n in range(12))


def test_comments_inside_folded_lists_are_formatted_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    printed = []
    for direct, fold in ((True, True), (True, False), (False, True), (False, False)):
        with monkeypatch.context() as patch:
            units = _ways(patch, direct, fold)
            template = parse_template(SourceFile("t.gcomp", COMMENTED))
            printed.append((syntax.dump(template), format_template(template)))
        assert not direct or not fold or sum(units) > 5
    assert printed[0] == printed[2]  # the driver's build is the tree builder's, folded alike
    assert printed[0][1] == printed[1][1] == printed[3][1]  # fmt prints the same
    assert printed[0][1].count("# one") == printed[0][1].count("# three") == 12


_scalars = st.one_of(st.sampled_from(['"s"', '"a\\\\nb"', '"{{x}}"', '"q\\""', '""', '"é"', "1.5", "2e3", "true", "false",
                                      "9223372036854775807"]), st.integers(-10**12, 10**12).map(str))
_lists = st.lists(st.recursive(_scalars, lambda inner: st.lists(inner, max_size=5).map(lambda xs: f"[{', '.join(xs)}]"),
                               max_leaves=12), max_size=6).map(lambda xs: f"[{', '.join(xs)}]")
# Where a list stands: a builder's argument, a loop's list, a block parameter's default, a set, an
# index, a copy's variables (a mistake: a list is no mode) and its take.
_PLACES = [
    'source p{i} = python("b.py:f", arg = {v}, n = [{v}, k])',
    'for x in {v} {{\n    source "l{i}_{{k}}_{{len(str(x))}}" = python("b.py:f", arg = [x, {v}])\n}}',
    'block b{i}(v: list = {v}) {{\n    source q = python("b.py:f", arg = v, w = {v})\n}}\nuse U{i} = b{i}()',
    'set v{i} = {v}\nsource t{i} = python("b.py:f", arg = v{i} + {v})',
    'source z{i} = python("b.py:f", arg = {v}[0])',
    'copy V{i} from s {{ take = "x" variables = {v} }}',
    'copy T{i} from s {{ take = {v} }}',
]


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.tuples(st.sampled_from(_PLACES), _lists), min_size=1, max_size=6))
def test_generated_lists_of_constants_expand_as_the_lists_of_their_items(
        parts: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    statements = [place.format(i=i, v=value) for i, (place, value) in enumerate(parts)]
    text = 'graphdsl 1\nparam k: int = 1\nsource s = graphdef("m.pb")\ncopy A from s { take = "x" }\n' + FILLER
    _same_expansion(text + "\n".join(statements) + "\n", monkeypatch)
