"""Stage 1: text to AST (graphdsl.lang.parser, graphdsl.lang.syntax). Syntax errors are also in tests/data/bad."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from lark import Lark, Token, Tree, logger

from graphdsl.lang import syntax

from graphdsl.lang import grammar, parser
from graphdsl.errors import SourceFile, Span, SpecError, SpecSyntaxError
from graphdsl.lang.parser import parse

HEAD = 'graphdsl 1\nsource s = graphdef("s.pb")\n'


def _value(text: str) -> syntax.Value:
    """The value of `take = TEXT` in a one-copy spec."""
    spec = parse(HEAD + f"copy A from s {{ take = {text} }}\n")
    return spec.copies[0].entries[0].value


def _as(kind: type[syntax.NodeT], node: object) -> syntax.NodeT:
    """``node``, checked to be a ``kind`` (the caller reads that kind's fields)."""
    assert isinstance(node, kind), node
    return node


def _literal(value: syntax.Value) -> object:
    """The Python value of a string, number or boolean node."""
    assert isinstance(value, (syntax.String, syntax.Int, syntax.Float, syntax.Bool)), value
    return value.value


def _trailing(node: syntax.Node) -> str:
    """The text of the comment that trails ``node``, which must have one."""
    comment = node.comments.trailing
    assert comment is not None, node
    return comment.text


def _walk(node: object):
    yield node
    if isinstance(node, tuple):
        for item in node:
            yield from _walk(item)
    elif dataclasses.is_dataclass(node):
        for field in dataclasses.fields(node):
            yield from _walk(getattr(node, field.name))


def test_grammar_has_no_lalr_conflict(caplog: pytest.LogCaptureFixture) -> None:
    # lark resolves a shift/reduce conflict as a shift and only logs it; strict mode would raise,
    # but needs the optional `interegular` package. The log tells the same without it.
    logger.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG, logger="lark"):
            Lark(grammar.text(), parser="lalr", debug=True)
    finally:
        logger.setLevel(logging.WARNING)
    assert "conflict" not in caplog.text.lower()


def test_grammar_loads_from_the_source_tree_when_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.resources

    def missing(name: str):
        raise ModuleNotFoundError(name)

    monkeypatch.setattr(importlib.resources, "files", missing)
    assert "start:" in grammar.text()


def test_values() -> None:
    assert _value('"a\\"b\\\\c\\nd\\te"') == syntax.String('a"b\\c\nd\te', _value('"a\\"b\\\\c\\nd\\te"').span)
    assert _literal(_value("42")) == 42 and isinstance(_value("42"), syntax.Int)
    assert _literal(_value("-7")) == -7
    assert _literal(_value("-1.5e-3")) == -0.0015 and isinstance(_value("-1.5e-3"), syntax.Float)
    assert _literal(_value("2E3")) == 2000.0
    assert _literal(_value(".5")) == 0.5
    assert _literal(_value("true")) is True and _literal(_value("false")) is False
    assert _as(syntax.Word, _value("init")).name == "init"


def test_lists_and_maps() -> None:
    items = _as(syntax.ListValue, _value('["a", 1, [], {},]')).items
    assert [type(i).__name__ for i in items] == ["String", "Int", "ListValue", "MapValue"]
    # Map entries: bare or quoted keys, commas optional (also across lines), trailing comma allowed.
    entries = _as(syntax.MapValue, _value('{ a: 1 "b c": 2\n d: 3, }')).entries
    assert [(e.key.value, _literal(e.value)) for e in entries] == [("a", 1), ("b c", 2), ("d", 3)]


def test_references() -> None:
    ref = _value('Enc["encoder/out:0"]')
    assert isinstance(ref, syntax.Ref)
    assert (ref.namespace.name, ref.element.value) == ("Enc", "encoder/out:0")


def test_keywords_are_contextual() -> None:
    spec = parse(
        'graphdsl 1\nsource copy = graphdef("s.pb")\ncopy take from copy { take = "x" }\n'
        'let inputs = take["x:0"]\n'
    )
    assert spec.sources[0].name.name == "copy"
    assert spec.copies[0].namespace.name == "take"
    assert spec.lets[0].name.name == "inputs"


def test_comments_and_newlines_are_whitespace() -> None:
    one_line = parse('graphdsl 1 source s = graphdef("s.pb") copy A from s { take = "x" }')
    spread = parse('# head\ngraphdsl\n1\nsource s =\n graphdef(\n"s.pb"  # path\n)\ncopy A from s {\ntake\n=\n"x"\n}\n')
    assert _shape(one_line) == _shape(spread)
    assert spread.copies[0].take[0].value == "x"


def _shape(node: syntax.Node) -> list[tuple[str, object]]:
    """The node types and leaf values of a tree, in source order (no spans, no comments)."""
    leaf = getattr(node, "value", getattr(node, "name", None))
    shape = [(type(node).__name__, None if isinstance(leaf, syntax.Node) else leaf)]
    for child in node.children():
        shape.extend(_shape(child))
    return shape


def test_comments_are_kept_on_the_nodes_they_lead_trail_or_end() -> None:
    spec = parse(
        "# about the version\ngraphdsl 1\n"
        'source s = graphdef("s.pb")  # a "#" in a string starts no comment: "#x"\n'
        'copy A from s {\n  take = ["#1", "x"]  # the take\n  # end of the copy\n}\n# end of file\n'
    )
    version, source, copy = spec.statements
    assert isinstance(copy, syntax.Copy)
    assert [c.text for c in version.comments.leading] == ["# about the version"]
    assert _trailing(source) == '# a "#" in a string starts no comment: "#x"'
    assert _literal(_as(syntax.ListValue, copy.entries[0].value).items[0]) == "#1"
    assert _trailing(copy.entries[0]) == "# the take"
    assert [c.text for c in copy.comments.end] == ["# end of the copy"]
    assert [c.text for c in spec.comments.end] == ["# end of file"]
    assert spec.comments.end[0].span == Span("<string>", 8, 1, 8, 14)


def test_comments_take_no_part_in_equality() -> None:
    assert parse(HEAD + 'copy A from s { take = "x" }').statements == parse(
        HEAD + 'copy A from s { take = "x" }  # b').statements


def test_a_comment_after_a_thousand_statements_is_attached_in_linear_time() -> None:
    # Every statement trails a comment: attaching must not scan all nodes per comment.
    text = HEAD + "".join(f'copy A{i} from s {{ take = "x" }}  # c{i}\n' for i in range(3000))
    spec = parse(text)
    assert _trailing(spec.copies[-1]) == "# c2999"


def test_nodes_have_children_in_source_order_and_a_visitor() -> None:
    spec = parse(HEAD + 'copy A from s { take = "x" bind "i:0" = B["y:0"] variables = init }\n')
    copy = spec.copies[0]
    assert [type(c).__name__ for c in copy.children()] == ["Ident", "Ident", "Setting", "Bind", "Setting"]

    class Strings(syntax.NodeVisitor):
        def __init__(self) -> None:
            self.found: list[str] = []

        def visit_String(self, node: syntax.String) -> None:
            self.found.append(node.value)

    visitor = Strings()
    visitor.visit(spec)
    assert visitor.found == ["s.pb", "x", "i:0", "y:0"]


def test_export_entries_keep_their_order() -> None:
    spec = parse(HEAD + 'copy A from s { take = "x" }\n'
                 'export savedmodel "m" { signature a { outputs = { y: A["x:0"] } } tags = ["t"] }\n')
    export = spec.exports[0]
    assert [type(e).__name__ for e in export.entries] == ["Signature", "Setting"]
    assert export.tags == ("t",) and [s.name.value for s in export.signatures] == ["a"]


def test_spans_name_their_file_and_errors_draw_from_it() -> None:
    spec = parse(HEAD + 'copy A from s { take = "x" }\n', "one.gcomp")
    other = parse(HEAD + 'copy B from s {\n  take = "y"\n}\n', "two.gcomp")
    take = other.copies[0].entries[0]
    assert take.span.file is other.file and spec.copies[0].span.file is spec.file
    error = SpecError("made up", take.span)  # no source text given: the span knows its file
    assert error.render() == 'two.gcomp:4:3: error: made up\n    4 |   take = "y"\n      |   ^^^^^^^^^^'


def test_an_error_in_an_included_file_names_where_it_was_included() -> None:
    main = SourceFile("main.gcomp", 'graphdsl 1\ninclude "part.gcomp"\n')
    part = SourceFile("part.gcomp", "let x = y\n", included_from=Span("main.gcomp", 2, 9, 2, 21, main))
    error = SpecError("unknown alias 'y'", Span("part.gcomp", 1, 9, 1, 10, part))
    assert error.render() == (
        "part.gcomp:1:9: error: unknown alias 'y'\n"
        "    1 | let x = y\n"
        "      |         ^\n"
        "  included from main.gcomp:2:9"
    )


def test_the_syntax_tree_has_no_class_named_like_a_builtin_or_typing_name() -> None:
    import builtins
    import typing

    classes = {name for name, value in vars(syntax).items()
               if isinstance(value, type) and value.__module__ == syntax.__name__}
    assert not classes & (set(dir(builtins)) | set(dir(typing)) | {"Str", "Name", "Map"})


def test_spans_are_one_based_and_end_exclusive() -> None:
    spec = parse(HEAD + 'copy A from s {\n  take = "x"\n}\n', path="p.gcomp")
    copy = spec.copies[0]
    assert copy.span == Span("p.gcomp", 3, 1, 5, 2)
    assert copy.namespace.span == Span("p.gcomp", 3, 6, 3, 7)
    assert copy.entries[0].value.span == Span("p.gcomp", 4, 10, 4, 13)


def test_no_lark_object_survives_the_transformer() -> None:
    spec = parser.parse_file(Path(__file__).parent / "data" / "ok" / "full.gcomp")
    assert not [n for n in _walk(spec) if isinstance(n, (Tree, Token))]
    # typeshed's DataclassInstance declares __dataclass_fields__ only, not __dataclass_params__.
    assert all(dataclasses.is_dataclass(n) and n.__dataclass_params__.frozen  # type: ignore[union-attr]
               for n in _walk(spec) if dataclasses.is_dataclass(n))


def test_parsed_nodes_are_the_dataclasses_own() -> None:
    # The parser builds nodes without their dataclass __init__ (syntax.maker): they must still
    # equal, hash like and stay as frozen as nodes built the usual way.
    spec = parse(HEAD + 'copy A from s {\n  take = ["x", "y/*"]\n  variables = value\n}\n')
    copy = spec.copies[0]
    setting = _as(syntax.Setting, copy.entries[0])
    names = _as(syntax.ListValue, setting.value)
    strings = tuple(syntax.String(_as(syntax.String, v).value, v.span) for v in names.items)
    same = syntax.Setting(syntax.Ident(setting.key.name, setting.key.span), syntax.ListValue(strings, names.span),
                          setting.span)
    assert setting == same and hash(setting) == hash(same) and repr(setting) == repr(same)
    with pytest.raises(dataclasses.FrozenInstanceError):
        copy.namespace.name = "B"  # type: ignore[misc]
    path = _as(syntax.String, names.items[0])
    made = syntax.maker(syntax.Export)(copy.namespace, path, (), False, copy.span)
    assert made == syntax.Export(copy.namespace, path, (), False, copy.span)
    # Comments are no field: a node given some keeps them, the others share the empty ones.
    spec = parse(HEAD + 'copy A from s {\n  take = ["x"]  # what\n  variables = value\n}\n')
    take, variables = spec.copies[0].entries
    assert take.comments.trailing is not None and take.comments.trailing.text == "# what"
    assert variables.comments is syntax.NO_COMMENTS and take.value.comments is syntax.NO_COMMENTS
    assert take == dataclasses.replace(take) and dataclasses.replace(take).comments is syntax.NO_COMMENTS


def test_copy_accessors() -> None:
    spec = parse(
        HEAD + 'copy A from s { take = "a" }\n'
        'copy B from s {\n  take = ["x", "y/*"]\n  variables = value\n  variable "y/*" = init\n'
        '  variable "y/keep" = value\n  stop_at = "in:0"\n  bind "in2:0" = A["a:0"]\n}\n'
    )
    a, b = spec.copies
    assert (a.take[0].value, a.default_mode, a.overrides, a.stop_at, a.binds) == ("a", "init", (), (), ())
    assert [t.value for t in b.take] == ["x", "y/*"]
    assert b.default_mode == "value"
    assert [(o.pattern.value, o.mode) for o in b.overrides] == [("y/*", "init"), ("y/keep", "value")]
    assert (b.mode_for("x/w"), b.mode_for("y/w"), b.mode_for("y/keep")) == ("value", "init", "value")
    assert [s.value for s in b.stop_at] == ["in:0"]
    assert [(x.input.value, _as(syntax.Ref, x.value).namespace.name) for x in b.binds] == [("in2:0", "A")]


def test_export_accessors_and_resolve() -> None:
    spec = parse(
        HEAD + 'copy A from s { take = "a" }\nlet a = A["a:0"]\nlet b = a\n'
        'export savedmodel "m" { signature s { outputs = { y: b } } }\n'
        'export metagraph "g"\nexport graphdef "f.pb" { outputs = [a, A["c:0"]] }\n'
    )
    saved, meta, frozen = spec.exports
    assert saved.tags == ("serve",) and saved.has_body and not meta.has_body
    (signature,) = saved.signatures
    assert signature.outputs is not None
    (output,) = signature.outputs.entries
    assert signature.inputs is None and _as(syntax.Word, output.value).name == "b"
    assert spec.resolve(output.value).element.value == "a:0"
    assert [spec.resolve(v).element.value for v in frozen.outputs] == ["a:0", "c:0"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("graphdsl 1\nsourc s = x()", "unexpected name 'sourc'"),
        ("graphdsl 1\ncopy A from s {", "unexpected end of file; expected 'bind', 'variable', '}' or a name"),
        ('graphdsl 1\nlet a = "x\n', "unterminated string"),
    ],
)
def test_syntax_errors_say_what_was_found_and_expected(text: str, message: str) -> None:
    with pytest.raises(SpecSyntaxError) as info:
        parse(text, "t.gcomp")
    assert message in info.value.message
    assert info.value.span is not None and info.value.span.file is not None
    assert info.value.span.path == "t.gcomp"
    assert info.value.span.file.text == text  # so that render() draws the line


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_carriage_returns_end_lines_as_newlines_do(newline: str) -> None:
    text = newline.join(["graphdsl 1", 'source s = graphdef("s.pb")', "", "copy A from s { tak = 1 }", ""])
    spec = parse(text)
    assert spec.copies[0].entries[0].span == Span("<string>", 4, 17, 4, 24)
    assert spec.file.line(4) == "copy A from s { tak = 1 }"
    with pytest.raises(SpecSyntaxError) as info:
        parse(text.replace("tak = 1", "tak = = 1"))
    assert info.value.render().splitlines()[1] == "    4 | copy A from s { tak = = 1 }"


@pytest.mark.parametrize("separator", ["\f", "\v", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
def test_only_newlines_end_lines(separator: str) -> None:
    # Python's str.splitlines() breaks at all of these; the lexer does not, nor may the drawing.
    text = f"graphdsl 1\n# a{separator}b\ncopy A from s {{ take = 1 1 }}\n"
    with pytest.raises(SpecSyntaxError) as info:
        parse(text)
    assert info.value.span is not None
    assert (info.value.span.line, info.value.span.column) == (3, 26)
    assert info.value.render().splitlines()[1:3] == [
        "    3 | copy A from s { take = 1 1 }",
        "      |                          ^",
    ]


@pytest.mark.parametrize(("separator", "newline"), [
    ("\f", "\n"), ("\v", "\n"), ("\x1c", "\n"), ("\x1e", "\n"), ("\x85", "\n"), ("\u2028", "\n"),
    ("\u2028", "\r\n"), ("\x85", "\r"),
])
def test_the_spans_of_the_tree_count_lines_at_newlines_only(separator: str, newline: str) -> None:
    # The parser's spans are offsets; their lines and columns are worked out when an error asks.
    from graphdsl.lang.load import load_spec_text

    text = (f'graphdsl 1\n# a{separator}b\nsource s = graphdef("x{separator}y.pb")\n'
            f'copy A from s {{ take = "x" }}\ncopy B from t {{\n  take = "{separator}" }}\n')
    with pytest.raises(SpecError) as info:
        load_spec_text(text.replace("\n", newline), "p.gcomp")
    assert info.value.span == Span("p.gcomp", 5, 13, 5, 14)
    assert info.value.render().splitlines()[:3] == [
        "p.gcomp:5:13: error: unknown source 't'",
        "    5 | copy B from t {",
        "      |             ^",
    ]
    spec = parse(text.replace("from t", "from s").replace("\n", newline), "p.gcomp")
    take = spec.copies[1].entries[0]
    assert take.span == Span("p.gcomp", 6, 3, 6, 13)
    assert (take.span.start, take.span.end) == (spec.text.rindex("take"), spec.text.rindex('"') + 1)


def test_a_byte_order_mark_is_not_part_of_the_text() -> None:
    assert parse("\ufeffgraphdsl 1").statements[0].span == Span("<string>", 1, 1, 1, 11)
    assert parser.decode(b"\xef\xbb\xbfgraphdsl 1", "p").text == "graphdsl 1"


def test_values_nested_to_the_limit_are_parsed_checked_and_dumped() -> None:
    from graphdsl.lang.check import check

    depth = parser.MAX_NESTING
    text = f'graphdsl 1\nsource p = python("b.py:f", x = {"[" * depth}1{"]" * depth})\ncopy P from p {{ take = "y" }}\n'
    spec = check(parse(text))
    assert syntax.dump(spec).count("ListValue") == depth
    with pytest.raises(SpecSyntaxError, match=f"nested more than {depth} deep"):
        parse(text.replace("[1]", "[[1]]"))


def test_nesting_counts_lists_and_maps_not_brackets_in_strings() -> None:
    depth = parser.MAX_NESTING
    many = '"' + "[{" * depth + '"'
    head = 'graphdsl 1\nsource p = python("b.py:f", x = '
    # Brackets in strings, any number of them, nest nothing.
    parse(head + f'[{many}, {{k: [{many}]}}])\ncopy P from p {{ take = "y" }}\n')
    # Lists and maps, alternating: refused at the first bracket past the limit, on the deepest path.
    deep = "[{k: " * (depth // 2) + "1" + "}]" * (depth // 2)  # at the limit
    text = head + f"[[1], {deep}, {many}])"
    with pytest.raises(SpecSyntaxError, match=f"nested more than {depth} deep") as info:
        parse(text)
    assert info.value.span is not None
    assert info.value.span.column == text.index("{k: 1}") - len("graphdsl 1\n") + 1
    parse(head + deep + ")\ncopy P from p { take = \"y\" }\n")  # exactly at the limit


def test_numbers_a_machine_cannot_hold_are_refused_where_they_stand() -> None:
    digits = "7" * (parser.MAX_DIGITS + 1)
    with pytest.raises(SpecSyntaxError) as info:
        parse(HEAD + f"copy A from s {{ take = [1, {digits}] }}")
    assert info.value.span == Span("<string>", 3, 28, 3, 28 + len(digits))
    fewer = parse(HEAD + f"copy A from s {{ take = {digits[1:]} }}")
    assert _literal(fewer.copies[0].entries[0].value) == int(digits[1:])
    with pytest.raises(SpecSyntaxError, match="number -2e308 is too large"):
        parse(HEAD + "copy A from s { take = -2e308 }")


def _lark_accepts(text: str) -> bool:
    from lark.exceptions import UnexpectedInput

    try:
        grammar.load().parse(text)
    except UnexpectedInput:
        return False
    return True


def _driver_accepts(text: str) -> bool:
    from graphdsl.lang.builder import Builder
    from graphdsl.lang.driver import Rejected

    try:
        parser._driver().parse(text, Builder(SourceFile("t", text)).rules)
    except Rejected:
        return False
    return True


def test_the_fast_parse_accepts_exactly_what_lark_accepts() -> None:
    # The driver runs lark's own tables; lark's parser (same lexer) words the syntax errors.
    data = Path(__file__).parent / "data"
    texts = [p.read_bytes().decode("utf-8", errors="replace") for p in sorted(data.glob("*/*.gcomp"))]
    texts += ["", "graphdsl", "graphdsl 1 copy A from s {", "let x = [1, [2, {a: 3,}],]", "copyA from s { }",
              "export k \"p\" { }", "export k \"p\" { signature s { } } ]", "let true = false", "let x = true"]
    assert len(texts) > 120
    for text in texts:
        assert _lark_accepts(text) == _driver_accepts(text), text


def test_parsing_leaves_the_garbage_collector_as_it_found_it() -> None:
    import gc

    assert gc.isenabled()
    parse(HEAD)
    with pytest.raises(SpecSyntaxError):
        parse(HEAD + "copy")
    assert gc.isenabled()
    gc.disable()
    try:
        parse(HEAD)
        assert not gc.isenabled()
    finally:
        gc.enable()
    # A program that keeps objects frozen (before a fork, say) keeps them frozen. Counted in a fresh
    # interpreter: in this one another thread (pytest-xdist's channel) may free a frozen object meanwhile.
    code = ("import gc\nfrom graphdsl.lang.parser import parse\n"
            f"parse({HEAD!r})\ngc.freeze()\nfrozen = gc.get_freeze_count()\nparse({HEAD!r})\n"
            "assert gc.get_freeze_count() == frozen, (gc.get_freeze_count(), frozen)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_program_that_parses_again_and_again_collects_the_cycles_it_drops() -> None:
    # Each parse runs with the collector paused and moves what it made into the oldest generation,
    # which Python's collector only goes through once its younger collections have moved enough
    # there: a loop of parses (a batch, an evolution, a service) would keep every cycle it dropped
    # (a syntax error's traceback, a template's expansion). A pause now collects once enough has
    # been moved (FLOOR, lowered here so that a short loop reaches it) as it held after the last
    # collection: counted, since an estimate drifted up and each collection came later.
    code = """
import gc
from graphdsl import collector
from graphdsl.errors import GraphDslError
from graphdsl.lang.load import load_spec_text
collector.FLOOR = 20_000
texts = ['graphdsl 1\\nparam n: int = 2\\nsource s = graphdef("s.pb")\\nfor i in range(n) {\\n copy "A{i}" from s { take = "x" }\\n}\\n',
         'graphdsl 1\\nparam n: int = 2\\nfor i in range(n) {\\n copy "A{i}" from t { take = "x" }\\n}\\n',
         'graphdsl 1\\ncopy A from s { take = }\\n']
counts = []
for _ in range(12):
    for _ in range(100):
        for text in texts:
            try:
                load_spec_text(text)
            except GraphDslError:
                pass
    counts.append(len(gc.get_objects()))
print(counts)
assert max(counts[3:]) < 2 * max(counts[:2]), counts
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr + result.stdout


def test_lark_keeps_its_lalr_tables_where_the_fast_parse_reads_them() -> None:
    # graphdsl.lang.driver runs lark's tables itself; a lark release that moves them fails here.
    table = grammar.load().parser.parser.parser.parse_table
    assert table.start_states["start"] in table.states and table.end_states["start"] in table.states


def test_terminal_patterns_lose_only_their_inner_captures() -> None:
    # The lexer's one expression matches faster with only each terminal's own group capturing;
    # the rewrite must keep what each pattern matches.
    from graphdsl.lang.lexer import _uncaptured

    assert _uncaptured(r'"(\\["\\nt]|[^"\\\n])*"') == r'"(?:\\["\\nt]|[^"\\\n])*"'
    assert _uncaptured(r"[(]x(y)\(") == r"[(]x(?:y)\("
    assert _uncaptured(r"[]()](a)") == r"[]()](?:a)"
    assert _uncaptured(r"(?P<n>z)") == r"(?P<n>z)"  # a named group stays: the pattern is kept whole
    assert parser._driver().scanner.regex.groups == len(parser._driver().scanner.group_names)
