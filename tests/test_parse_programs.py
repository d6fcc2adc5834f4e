"""The fast parse (whole-text lexing, statements replayed from the trie of programs, compiled
programs) makes exactly the tree lark's own parser makes through the same builders.

The reference: lark's LALR parser with graphdsl's lexer, keeping every token, its tree handed
to graphdsl.lang.builder rule by rule, then the comments attached. Compared node by node: types,
fields, spans (offsets), comments, and the literal problems the builder records (a number too
long, values nested too deep). Every spec of the repository, generated specs (each parsed twice
and with its statements repeated, so that programs are compiled and found by their keys), and the
inputs that were hardened before.
"""

from __future__ import annotations

import dataclasses
import functools
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput

from graphdsl.errors import SourceFile, Span
from graphdsl.lang import comments, grammar, parser, programs, syntax
from graphdsl.lang import pieces as pieces_module
from graphdsl.lang.builder import Builder
from graphdsl.lang import driver as driver_module
from graphdsl.lang.driver import END, Driver, Rejected
from graphdsl.lang.lark_lexer import SpecLexer
from graphdsl.lang.pieces import Pieces, first_chars, last_chars

ROOT = Path(__file__).resolve().parent.parent
HEAD = 'graphdsl 1\nsource s = graphdef("s.pb")\n'


@pytest.fixture(autouse=True)
def _compile_soon(monkeypatch: pytest.MonkeyPatch) -> None:
    # Programs are compiled once run COMPILE_AFTER times; here on their second run, so that the
    # texts below, each parsed twice, go through both the replay and the compiled function.
    monkeypatch.setattr(programs, "COMPILE_AFTER", 2)


@functools.cache
def _lark() -> Lark:
    return Lark(grammar.text(), parser="lalr", lexer=SpecLexer, maybe_placeholders=False, keep_all_tokens=True)


def _reference(text: str) -> tuple[list[Any], list[str]] | None:
    """The tree lark's parser makes of ``text`` through graphdsl's builders, and the builder's
    problems (by position: the parser reports the first); None if lark rejects the text."""
    file = SourceFile("t.gcomp", text)
    builder = Builder(file)
    try:
        tree = _lark().parse(file.text)
    except UnexpectedInput:
        return None
    # Bottom up without recursion: values nest hundreds deep.
    done: dict[int, Any] = {}
    stack: list[tuple[Any, bool]] = [(tree, False)]
    while stack:
        node, ready = stack.pop()
        if not ready:
            stack.append((node, True))
            stack.extend((c, False) for c in node.children if isinstance(c, Tree))
            continue
        children = [(c.type, str(c), c.start_pos) if isinstance(c, Token) else done[id(c)] for c in node.children]
        done[id(node)] = builder.rules[str(node.data)](children)
    spec = done[id(tree)]
    comments.attach(spec, file)
    return _canonical(spec), _problems(builder)


def _fast(text: str, token_by_token: bool = False) -> tuple[list[Any], list[str]] | None:
    """What the fast parse makes of ``text`` (as :func:`_reference`); where it rejects the text,
    ``token_by_token`` gives the problems found before the error, or None."""
    file = SourceFile("t.gcomp", text)
    builder = Builder(file)
    driver = parser._driver()
    try:
        if token_by_token:  # the tables run over the scanner's tokens, as before the fast path
            tokens, end = driver.scanner_tokens(file.text)
            complete = end == len(file.text)
            tokens += [("$END", "", end)] if complete else []
            spec = driver.run(tokens, 0, [driver.start_state], [], builder.rules, complete)
        else:
            spec = driver.parse(file.text, builder.rules)
    except Rejected:
        return None if not token_by_token else ([], _problems(builder))
    comments.attach(spec, file)
    return _canonical(spec), _problems(builder)


def _problems(builder: Builder) -> list[Any]:
    return sorted((p.span.start, p.message) for p in builder.problems)  # type: ignore[union-attr]


def _canonical(root: object) -> list[Any]:
    """Everything the tree says, in order, without recursion: node types, fields, spans as
    offsets, comments."""
    out: list[Any] = []
    stack: list[object] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, Span):
            out.append(("span", type(node).__name__, node.start, node.end))
        elif isinstance(node, (tuple, list)):
            out.append(("seq", len(node)))
            stack.extend(reversed(node))
        elif isinstance(node, (syntax.Node, syntax.Comment, syntax.Comments)):
            out.append((type(node).__name__,))
            fields = [getattr(node, f.name) for f in dataclasses.fields(node)]  # type: ignore[arg-type]
            if isinstance(node, syntax.Node):
                fields.append(node.comments)
            stack.extend(reversed(fields))
        elif isinstance(node, SourceFile):
            out.append(("file", node.path))
        else:
            out.append((type(node).__name__, node))
    return out


def _same(text: str) -> None:
    expected = _reference(text)
    for _ in range(2):  # again: the programs are compiled now
        assert _fast(text) == expected, text[:300]
        if expected is None:  # rejected: the problems found before the error are those found before
            file = SourceFile("t.gcomp", text)
            builder = Builder(file)
            with pytest.raises(Rejected):
                parser._driver().parse(file.text, builder.rules)
            assert ([], _problems(builder)) == _fast(text, token_by_token=True), text[:300]


def test_every_spec_of_the_repository_parses_as_lark_parses_it() -> None:
    paths = sorted([*ROOT.joinpath("specs").rglob("*.gcomp"), *ROOT.joinpath("tests", "data").rglob("*.gcomp")])
    assert len(paths) > 50
    accepted = 0
    for path in paths:
        text = path.read_bytes().decode("utf-8", errors="replace")
        _same(text)
        _same(text + "\n" + text)  # each statement again: found by its keys, compiled
        accepted += _reference(text) is not None
    assert accepted > 20


@pytest.mark.parametrize("text", [
    HEAD + 'copy copyA from s { take = "x" }\ncopy copy from source { take = copy }\n',
    HEAD + "let true_ = [true, false, from, copy, source, let, export, variable, bind, signature]\n",
    HEAD + 'export savedmodel "m"\nexport metagraph "n"\nexport savedmodel "o" { tags = ["serve"] }\n',
    HEAD + "let x = " + "[" * 150 + "]" * 150 + "\n" + "let y = " + "[" * 490 + "]" * 490 + "\n",
    HEAD + "let big = " + "7" * 5000 + "\nlet small = [-" + "1" * 5000 + ", 1.5e999]\n",
    HEAD + 'copy A from s {\f take = "x"\v }\n',
    HEAD + 'let a = "x"\x1c\x1d\x1e\x85\u2028 let b = a\n',
    HEAD + 'copy A from s { take = "unterminated }\n',
    HEAD + "let a = [1, 2\nlet b = 1\n",
    HEAD + "let a = [" + "9" * 5000 + " 2]\n",  # a problem found before the syntax error
    "# only a comment",
    "",
    "   \n\t",
    "graphdsl",
    HEAD + "let a = é\n",
    HEAD + "# c0\nlet a = 1 # c1\n# c2\nlet b = {\n  # c3\n  k: 1, # c4\n  # c5\n}\n# c6\n" * 3,
])
def test_hardened_inputs_parse_as_lark_parses_them(text: str) -> None:
    _same(text)


def test_the_first_characters_of_a_pattern() -> None:
    # The lexer's table of which terminals a piece may be: wrong here, a piece gets the wrong
    # terminal. "" stands for the characters outside ASCII.
    assert first_chars(r"-?\d+") == frozenset("-0123456789") | {""}  # \d: other digits too
    assert first_chars(r'"(?:\\["\\nt]|[^"\\\n])*"') == frozenset('"')
    assert first_chars(r"[ \t\r\n\f]+") == frozenset(" \t\r\n\f")
    assert first_chars(r"(?:-?\d+[eE][+-]?\d+|-?(\d+\.\d*|\.\d+)([eE][+-]?\d+)?)") == frozenset("-.0123456789") | {""}
    assert first_chars(r"\s") == frozenset(c for c in map(chr, range(128)) if c.isspace()) | {""}
    assert first_chars(r"[^a]") == frozenset(map(chr, range(128))) - {"a"} | {""}
    assert first_chars("é") == frozenset({""})
    assert first_chars(r"a?") is None  # may match nothing: taken to start with anything
    assert first_chars(r"(?i:a)") is None
    # Whitespace rides in the piece of the token before it only if no token ends with it.
    assert last_chars(r'"(?:\\["\\nt]|[^"\\\n])*"') == frozenset('"')
    assert last_chars(r"[A-Za-z_][A-Za-z0-9_]*(?:\/[A-Za-z_][A-Za-z0-9_]*)*") == frozenset(
        string.ascii_letters + string.digits + "_")
    assert " " in (last_chars(r"#[^\n]*") or ())


def test_the_whole_text_lexer_reads_what_the_scanner_reads() -> None:
    driver = parser._driver()
    pieces = driver.pieces
    assert isinstance(pieces, Pieces) and driver.programs is not None  # the fast path is in use
    text = HEAD + 'copy copyA from s { take = ["a#b", x/y] } # c\nlet f = -1.5e3 let i = -7 let d = .5\n'
    for text in (text, text + "# the end", "  " + text, HEAD + "let a = 1 $ let b = 2", '"open'):
        keys, texts, offsets, codes, end = pieces.split(text)
        assert (list(zip(keys, texts, offsets)), end) == driver.scanner_tokens(text)
        assert len(codes) == len(keys)
        assert end == len(text) or text[end] in '$"'


def test_a_token_is_known_by_its_first_character_only_where_that_character_tells() -> None:
    # Where it does not (a digit: an INT or a FLOAT; "=": "=", "==" or "=>"), the token is read
    # whole: taken by its first character, "1.5" would be an INT and "==" an "=".
    pieces = parser._driver().pieces
    assert pieces is not None
    codes = pieces.codes
    assert pieces.sure["a"] == pieces.sure["_"] == codes["NAME"] and pieces.sure['"'] == codes["STRING"]
    assert "1" not in pieces.sure and "-" not in pieces.sure and "=" not in pieces.sure
    assert pieces.spelled["copy"] == codes["copy"]
    assert pieces.split('x = 1.5 == "s" copy -2')[0] == ["NAME", "_EQUAL", "FLOAT", "_EQEQ", "STRING", "copy", "INT"]
    # A part's tokens of that kind are classified together, each as key() reads it alone; a part
    # whose pieces start with a character outside ASCII, one by one.
    tokens = ["1", "-2", "1.5", ".5", "-.5e2", "1e9", "=", "==", "=>", "-", "-x", "é", "1x", "copy", "a/b", "true", "."]
    assert pieces.classify(tokens) == {token: codes[pieces.key(token)] for token in tokens}
    assert pieces.split('x = é 1.5 ==')[0] == ["NAME", "_EQUAL"]  # no terminal reads é: the tokens end there
    assert pieces.split('x = "é" 1.5 ==')[0] == ["NAME", "_EQUAL", "STRING", "FLOAT", "_EQEQ"]
    # A pattern that looks around may not match its first character alone where it stands.
    assert pieces_module._context_free(r"[a-z]+(?:/[a-z]+)*") and not pieces_module._context_free(r"a(?=b)")
    assert not pieces_module._context_free(r"\bx") and not pieces_module._context_free(r"(a)\1")


_FIRST = string.ascii_letters + "_"
_names = st.one_of(
    st.builds(str.__add__, st.sampled_from(_FIRST), st.text(_FIRST + string.digits, max_size=4)),
    st.sampled_from(["copy", "from", "source", "let", "export", "variable", "bind", "signature", "true", "a/b"]),
)
_strings = st.lists(st.sampled_from(["a", " ", "#", "é", '\\"', "\\n", "{", "\u2028"]), max_size=5).map(
    lambda chars: '"' + "".join(chars) + '"')
_scalars = st.one_of(_names, _strings, st.sampled_from(["1", "-2", "3.5", "-.5e2", "1e9", "true", "false"]),
                     st.builds(lambda n, s: f"{n}[{s}]", _names, _strings))
_trailing = st.sampled_from(["", ","])
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.builds(lambda items, end: "[" + ", ".join(items) + (end if items else "") + "]", st.lists(inner, max_size=4), _trailing),
    st.builds(lambda entries, gap, end: "{" + gap.join(f"{k}: {v}" for k, v in entries) + end + "}",
              st.lists(st.tuples(st.one_of(_names, _strings), inner), max_size=3), st.sampled_from([", ", " ", "\n"]),
              _trailing)), max_leaves=8)
_entries = st.lists(st.one_of(
    st.builds("{} = {}".format, _names, _values),
    st.builds('variable {} = {}'.format, _strings, _values),
    st.builds('bind {} = {}'.format, _strings, _values)), max_size=3).map(" ".join)
_statements = st.one_of(
    st.sampled_from(["graphdsl 1", "graphdsl -3"]),
    st.builds('source {} = {}({}{}{})'.format, _names, _names, _strings,
              st.lists(st.builds(", {} = {}".format, _names, _values), max_size=2).map("".join), _trailing),
    st.builds("copy {} from {} {{ {} }}".format, _names, _names, _entries),
    st.builds("let {} = {}".format, _names, _values),
    st.builds("export {} {}{}".format, _names, _strings, st.one_of(st.just(""), st.builds(
        " {{ {} signature {} {{ {} }} }}".format, _entries, _names, _entries))),
    st.sampled_from(["}", "let", "copy A from", "= 1", "$"]),  # pieces of statements, to be rejected
)
_gaps = st.sampled_from([" ", "\n", "  # note\n", "\t", "\f", "\n# c\n\n"])


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(statements=st.lists(_statements, max_size=6), gap=_gaps, repeat=st.integers(1, 3))
def test_generated_specs_parse_as_lark_parses_them(statements: list[str], gap: str, repeat: int) -> None:
    # Repeated, each statement's program is found by its keys and compiled on its second run.
    _same(gap.join(statements * repeat))


@pytest.mark.parametrize("glob", [False, True])
@pytest.mark.parametrize("tensor", [False, True])
def test_the_checks_of_element_names_take_their_shortcut_only_for_names_they_accept(
        glob: bool, tensor: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from graphdsl.lang import passes

    class Probe(passes.Pass):
        rank = 0

        def checks(self, text: str) -> bool:
            self.enter(self.spec, 0)
            try:
                self.check_element(syntax.String(text, Span("t", 1, 1, 1, 1)), "name", glob=glob, tensor=tensor)
            except passes.Finding:
                return False
            return True

    texts = ["", "a", "a:0", "a:b", ":0", "a:0:1", "a::0", "a*", "a*:0", "[x]", "@", "@x", "@x:0", "a:²", "a:٣",
             "é/ü:12", "a b:3", "a\n:1", "layer/*", "?", "a:", "a/b", "x:007"]
    spec = parser.parse(HEAD + 'copy A from s { take = "x" }\n')
    plain = dict(passes._PLAIN)
    monkeypatch.setattr(passes, "_PLAIN", {key: lambda text: None for key in plain})  # the checks alone
    for text in texts:
        shortcut = plain[glob, tensor](text) is not None
        accepted = Probe(spec).checks(text)
        assert not shortcut or accepted, text  # the shortcut lets through only what the checks accept
        assert shortcut == accepted or not text.isascii() or text.startswith("@"), text


def test_a_statement_shape_that_comes_again_is_compiled_and_gives_the_same_tree() -> None:
    text = HEAD + 'copy Zq1 from s { take = ["a", "b"] variables = value }\n' * 3
    _same(text)
    trie = parser._driver().programs
    assert trie is not None
    # Every program of the trie (the recently found ones by_first keeps may be others by now,
    # after the other tests this process ran).
    found, nodes = [], [trie.first, trie.between]
    while nodes:
        for key, step in nodes.pop().items():
            if key == programs._STACK:
                continue
            if isinstance(step, dict):
                nodes.append(step)
            else:
                found.append(step)
    compiled = [p for p in found if p.interpreted is not None]
    assert any(p.kinds[:2] == ("_COPY", "NAME") and p.size == 16 for p in compiled)


def test_a_rule_handed_a_splice_whole_gets_the_children_the_tables_give_it() -> None:
    # graphdsl's grammar never hands a splice whole to a rule; another grammar may (a ?rule of two
    # children, here under a rule that does not splice it): replayed and compiled, the rule gets
    # the Splice that running the tables token by token gives it.
    lark = Lark('start: _item*\n_item: stmt\nstmt: "a" pair ";"\n?pair: NAME NAME\nNAME: /[x-z]+/\n%ignore " "',
                parser="lalr", keep_all_tokens=True)
    driver = Driver(lark)
    builders: dict[str, Any] = {"start": list, "stmt": lambda children: ("stmt", children)}
    text = "a x y ; a xx yz ; a z z ;"
    tokens, end = driver.scanner_tokens(text)
    expected = driver.run([*tokens, (END, "", end)], 0, [driver.start_state], [], builders, True)
    assert [type(stmt[1][1]) for stmt in expected] == [programs.Splice] * 3
    assert driver.programs is not None
    for _ in range(3):  # each program replayed, compiled on its second run, run compiled on its third
        parsed = driver.parse(text, builders)
        assert parsed == expected and [type(stmt[1][1]) for stmt in parsed] == [programs.Splice] * 3
    known = [p for found in driver.programs.by_first.values() for p in found]
    assert known and all(not p.plain and p.interpreted is not None for p in known)


@pytest.fixture
def _small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    # A long text is read part by part (driver.PART characters, to a newline); parts this small
    # cut every few lines, between statements and inside them.
    monkeypatch.setattr(driver_module, "PART", 8)


@pytest.mark.usefixtures("_small_parts")
def test_a_text_read_part_by_part_parses_as_lark_parses_it() -> None:
    assert parser._driver().pieces is not None and parser._driver().pieces.by_lines  # type: ignore[union-attr]
    paths = sorted([*ROOT.joinpath("specs").rglob("*.gcomp"), *ROOT.joinpath("tests", "data").rglob("*.gcomp")])
    for path in paths[::3]:
        _same(path.read_bytes().decode("utf-8", errors="replace"))
    long_list = "copy B from s { take = [\n" + ",\n".join(f'"op{i}"' for i in range(60)) + "\n] }\n"
    for text in [HEAD + long_list * 2,  # a statement longer than a part
                 HEAD + "# c0\nlet a = 1 # c1\n# c2\nlet b = {\n  # c3\n  k: 1, # c4\n  # c5\n}\n# c6\n" * 6,
                 HEAD + "let a = 1\n" * 20 + "let b = [" + "9" * 5000 + "]\n" + "let c = 2\n" * 20,
                 HEAD + "let a = 1\n" * 20 + "let b = [1, 2\n" + "let c = 2\n" * 20,  # rejected in a part
                 HEAD + "let a = 1\n" * 20 + "let b = 1 $\n" + "let c = 2\n" * 20]:  # a character no token reads
        _same(text)


@pytest.mark.usefixtures("_small_parts")
@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(statements=st.lists(_statements, max_size=8), gap=_gaps, repeat=st.integers(1, 3))
def test_generated_specs_read_part_by_part_parse_as_lark_parses_them(statements: list[str], gap: str,
                                                                      repeat: int) -> None:
    _same(gap.join(statements * repeat))


def test_a_part_leaves_out_its_last_piece_which_the_text_after_it_may_continue() -> None:
    pieces = parser._driver().pieces
    assert pieces is not None
    text = 'let a = 12\n   let b = "x"\n'
    stop = text.index("\n") + 1
    texts, offsets, codes, end, whole = pieces.part(text, 0, stop)
    assert whole and texts == ["let", "a", "="] and end == text.index("12")  # "12\n   " goes on past stop
    assert pieces.part(text, end, len(text))[0] == ["12", "let", "b", "=", '"x"']
    assert pieces.part("let a = 1 $ 2\n\n", 0, 14)[3:] == (10, False)  # "$": no terminal reads it


@pytest.mark.parametrize(("terminal", "by_lines"), [
    ('STRING: /"[^"]*"/', False),  # a string may hold a newline: a part could end inside one
    ('STRING: /"[^"\\n]*"/', True),
    ('STRING: /"[^"\\n]*"/\nCOMMENT: /\\/\\*(.|\\n)*?\\*\\//\n%ignore COMMENT', False),
])
def test_a_text_is_read_part_by_part_only_where_no_token_holds_a_newline(terminal: str, by_lines: bool) -> None:
    lark = Lark(f'start: _item*\n_item: stmt\nstmt: "a" NAME STRING ";"\nNAME: /[x-z]+/\n{terminal}\n%ignore /[ \\n]+/',
                parser="lalr", keep_all_tokens=True)
    driver = Driver(lark)
    assert driver.pieces is not None and driver.pieces.by_lines == by_lines


# Lists a unit stands for (four items or more, nested or of several kinds), and some it does not.
_UNIT_LISTS = ['[1, "a", 2, 3]', '[1, "a", 2, 3,]', '[[1, 2], [3, 4], 5, [6]]', '[["s"], "s", ["s"], "s"]',
               '[[], [[]], [], 1]', '[[[1], [2]], [[3]], 4, 5]', '[[[[1]]], 2, 3, 4]', '[-1, 1.5e3, -.5, "x\\"y"]',
               '[\n  "a", # one\n  "b", 1, 2,\n]', '[1.5e999, -' + '1' * 5000 + ', "a", 1]',
               '[[' + '9' * 5000 + ', 1], 2, 3, 4]', '[' * 300 + ']' * 300, '[[1, 2], A["x:0"], 1, 2]',
               '[[1, 2], true, 1, 2]', '[[1, 2], {k: [1, 2, "a", 3]}, 1, 2]', '[1, 2, 3, 4, 5]', '[1, 2]',
               '[["a", 1, 2, 3], ["b"]]', '[[[[1, "a", 2, 3]], 1, 2, 3], 4, 5, 6]']


@pytest.mark.usefixtures("_small_parts")
@pytest.mark.parametrize("value", _UNIT_LISTS)
def test_lists_read_as_one_token_parse_as_lark_parses_them(value: str) -> None:
    # A list of literals is one token (a unit) for the trie, once a part made it learn (here the
    # first: parts are a few lines): in every place a value stands, after a name's subscript (not
    # a list), with a syntax error inside it or after it.
    for text in [f"let a = {value}\n",
                 f'source p = python("b.py:f", arg = {value}, other = [{value}, {value}])\n',
                 f'copy A from s {{ take = {value} variables = {{ k: {value}, "x": {value} }} }}\n',
                 f'let b = A["x"]\nlet c = {value} [1, 2]\n',
                 f"let d = [{value}, 1 2]\n",
                 f"let e = {value[:-1]}\n"]:
        _same(HEAD + text * 2)


@pytest.mark.usefixtures("_small_parts")
def test_every_list_a_unit_may_stand_for_reads_as_the_list_rule() -> None:
    # A unit is taken where the tables read the sample lists as the list rule; where the token
    # before a bracket subscripts (a name's), a list there is not a unit, and the tables say so.
    driver = parser._driver()
    units = driver.units
    assert units is not None and driver.programs is not None
    codes = driver.pieces.codes  # type: ignore[union-attr]
    keys = ['let', 'NAME', '_EQUAL', '_LBRACK', 'INT', '_COMMA', 'STRING', '_COMMA', 'INT', '_COMMA', 'FLOAT',
            '_RBRACK', '$END']
    collapsed = units.collapse(list(map(str, range(len(keys)))), list(range(len(keys))),
                               "".join(codes[k] for k in keys))
    assert collapsed is not None and collapsed[2] == codes["let"] + codes["NAME"] + codes["_EQUAL"] + units.code + codes["$END"]
    assert units.collapse(["A", "[", '"x"', "]"], [0, 1, 2, 3],
                          codes["NAME"] + codes["_LBRACK"] + codes["STRING"] + codes["_RBRACK"]) is None
    units.verified.clear()
    driver.programs.clear()  # learnt afresh: a test before may have taught the trie this shape
    _same(HEAD + "let a = [[1, 2], [3], 4, 5]\n" * 3)
    states = [state for state, known in units.verified.items() if known]
    assert states  # the tables read a list where the unit stood
    rows, gotos = driver.programs.rows, driver.programs.gotos
    ref_state = next(s for s in range(len(rows)) if "_LBRACK" in rows[s] and units.rule not in gotos[s])
    assert not units.reads_lists(ref_state, rows, gotos, driver.programs.words, driver.programs.rules)


@pytest.mark.usefixtures("_small_parts")
def test_lists_read_as_one_token_part_by_part_parse_as_lark_parses_them() -> None:
    # A part may end inside a list (its inner lists then units, the outer one not yet).
    lines = [f'source p{i} = python("b.py:f", arg = [[{i}, 2],\n  ["s", "t", 1, 2], [[1.5]],\n  {i}, "s"])\n'
             for i in range(12)]
    _same(HEAD + "".join(lines) + "let x = [[1, 2], [3, 4]] $\n" + "".join(lines))
    _same(HEAD + "".join(lines) * 2)
