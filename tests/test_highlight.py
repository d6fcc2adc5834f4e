"""The Pygments lexer: every spec and template lexes cleanly, keywords where the grammar has them
(in a template's strings too), words from the schema, and `pygmentize -l gcomp` finds it through
the package's entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pygments.lexers import find_lexer_class_for_filename, get_lexer_by_name
from pygments.token import (
    Comment,
    Error,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    _TokenType,
)

from graphdsl.errors import SourceFile
from graphdsl.lang import expr as ex
from graphdsl.lang import functions, grammar, params, schema, syntax
from graphdsl.lang import template_syntax as ts
from graphdsl.lang.highlight import GcompLexer
from graphdsl.lang.template_make import _closing
from graphdsl.lang.template_parser import parse_any
from graphdsl.lang.words import words

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
SPECS = sorted([*(REPO / "specs").glob("*.gcomp"), *(REPO / "specs").glob("*/*.gcomp")])
TEMPLATES = sorted((DATA / "templates" / "ok").glob("**/*.gcomp"))
PARSED = [*SPECS, *sorted((DATA / "ok").glob("*.gcomp")), *TEMPLATES]
GOOD = [*PARSED, *sorted((DATA / "fmt").glob("*.gcomp"))]


def _tokens(text: str) -> list[tuple[int, _TokenType, str]]:
    return list(GcompLexer(stripnl=False, ensurenl=False).get_tokens_unprocessed(text))


def _offset(text: str, line: int, column: int) -> int:
    lines = text.split("\n")
    return sum(len(s) + 1 for s in lines[: line - 1]) + column - 1


@pytest.mark.parametrize("path", GOOD, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_token_of_a_spec_lexes_without_error(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    tokens = _tokens(text)
    assert "".join(value for _, _, value in tokens) == text
    assert [(i, v) for i, t, v in tokens if t in Error] == []


def _keywords_read(text: str, language: str, start: str, offset: int = 0) -> set[int]:
    """Where the grammar reads a keyword in ``text`` (and in the {...} of a template's strings)."""
    keyword_terminals = grammar.words(language).keyword_terminals
    found = set()
    for token in grammar.load(language).parse_interactive(text, start=start).iter_parse():
        assert token.start_pos is not None  # lark's lexer places every token it makes
        if token.type in keyword_terminals:
            found.add(offset + token.start_pos)
        elif token.type == "STRING" and language == "template":
            raw, i = str(token), 1
            while i < len(raw) - 1:
                if raw.startswith(("{{", "}}"), i) or raw[i] == "\\":
                    i += 2
                elif raw[i] == "{":
                    end = _closing(raw, i)
                    assert end is not None
                    found |= _keywords_read(raw[i + 1:end], language, "interpolation",
                                            offset + token.start_pos + i + 1)
                    i = end + 1
                else:
                    i += 1
    return found


def _is_template(text: str) -> bool:
    return isinstance(parse_any(SourceFile("<test>", text)), ts.Template)


@pytest.mark.parametrize("path", PARSED, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_keywords_are_keywords_where_the_grammar_reads_them_so(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    language = "template" if _is_template(text) else "start"
    expected = _keywords_read(text, language, language)
    # Keywords are Keyword tokens (types are Keyword.Type: names to the grammar); and, or, not
    # and in are Operator.Word.
    lexed = {i for i, t, _ in _tokens(text)
             if (t in Keyword and t not in Keyword.Type) or t in Operator.Word}
    assert lexed == expected
    # `signature` in a source's options is a key there, not the keyword
    if path.stem == "assembly":
        assert (text.index("signature ="), Name.Attribute, "signature") in _tokens(text)


def _walk(node: syntax.Node) -> list[syntax.Node]:
    found, stack = [], [node]
    while stack:
        found.append(stack.pop())
        stack.extend(found[-1].children())
    return found


@pytest.mark.parametrize("path", PARSED, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_source_and_export_kinds_are_builtins_and_types_are_types(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    nodes = _walk(parse_any(SourceFile(str(path), text)))
    kinds = [n.kind for n in nodes if isinstance(n, (syntax.Source, syntax.Export, ts.Source, ts.Export))]
    types = [n.name for n in nodes if isinstance(n, ts.TypeSpec)]
    functions_ = [n for n in nodes if isinstance(n, ex.Call)]
    by_offset = {i: (t, v) for i, t, v in _tokens(text)}
    for kind in kinds:
        assert by_offset[_offset(text, kind.span.line, kind.span.column)] == (Name.Builtin, kind.name)
    for type_ in types:
        assert by_offset[_offset(text, type_.span.line, type_.span.column)] == (Keyword.Type, type_.name)
    for call in functions_:
        assert by_offset[_offset(text, call.span.line, call.span.column)] == (Name.Builtin, call.function)
    assert kinds or types or functions_ or path.name == "more.gcomp"  # it only includes another


def test_the_words_come_from_the_grammar_and_the_schema() -> None:
    found = words()
    assert set(found.keywords) | set(found.constants) | set(found.operator_words) == \
        set(schema.keywords()) | set(grammar.words("template").keywords)
    assert set(schema.keywords()) < set(found.keywords) | set(found.constants)
    assert set(found.constants) == {"true", "false"}
    assert set(found.operator_words) == {"and", "or", "not", "in"}
    assert set(found.types) == set(params.BLOCK_PARAM_TYPES)
    assert set(found.functions) == set(functions.FUNCTIONS)
    assert {"==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "//", "%", "?", ".", "=>"} == set(found.operators)
    assert set(found.kinds) == set(schema.SOURCE_KINDS) | set(schema.EXPORT_KINDS)
    assert set(found.modes) == set(schema.VARIABLE_MODES)
    assert {"take", "variables", "stop_at", "tags", "inputs", "outputs", "checkpoint"} <= set(found.entries)
    for keyword in found.keywords:
        assert _tokens(keyword) == [(0, Keyword, keyword)]
        assert _tokens(keyword + "s") == [(0, Name, keyword + "s")]  # a longer word is a name
    for kind in found.kinds:
        assert _tokens(kind) == [(0, Name.Builtin, kind)]
    for mode in found.modes:
        assert _tokens(mode) == [(0, Name.Constant, mode)]
    for word in found.operator_words:
        assert _tokens(word) == [(0, Operator.Word, word)]
    for function in found.functions:
        assert _tokens(function + "(")[0] == (0, Name.Builtin, function)


def test_template_expressions_types_and_interpolation() -> None:
    text = 'param n: list[int] = [1] block b(x: ref, k: int = f(1)) { set y = "t_{i-1}{{" }'
    kinds = [(t, v) for _, t, v in _tokens(text) if v.strip()]
    for expected in [(Keyword, "param"), (Name.Variable, "n"), (Keyword.Type, "list"), (Keyword.Type, "int"),
                     (Keyword, "block"), (Name.Function, "b"), (Name.Variable, "x"), (Keyword.Type, "ref"),
                     (Name.Variable, "k"), (Name.Function, "f"), (Keyword, "set"), (Name.Variable, "y"),
                     (String.Interpol, "{"), (Name, "i"), (Operator, "-"), (Number.Integer, "1"),
                     (String.Interpol, "}"), (String.Escape, "{{")]:
        assert expected in kinds, expected
    assert (Keyword.Type, "int") not in [(t, v) for _, t, v in _tokens("set int = int(x)") if v.strip()]
    ops = [(t, v) for _, t, v in _tokens("i == 0 and not j >= 2 ? a // 2 : {for k in ks: k => -1}") if v.strip()]
    for expected in [(Operator, "=="), (Operator.Word, "and"), (Operator.Word, "not"), (Operator, ">="),
                     (Operator, "?"), (Operator, "//"), (Keyword, "for"), (Operator.Word, "in"),
                     (Operator, "=>"), (Number.Integer, "-1")]:
        assert expected in ops, expected
    assert not any(t in Error for _, t, _ in _tokens(text))
    assert any(t in Error for _, t, _ in _tokens('let x = "a{b\nlet y = z'))  # {... never closed


def test_strings_numbers_comments_and_references() -> None:
    text = 'let x = [Enc["a\\"b\\\\"], -1.5e-3, 42, true] # done'
    kinds = [(t, v) for _, t, v in _tokens(text) if v.strip()]
    assert kinds[:4] == [(Keyword, "let"), (Name.Variable, "x"), (Operator, "="), (Punctuation, "[")]
    for expected in [(Name.Namespace, "Enc"), (String.Escape, '\\"'), (String.Escape, "\\\\"),
                     (Number.Float, "-1.5e-3"), (Number.Integer, "42"), (Keyword.Constant, "true"),
                     (Comment.Single, "# done")]:
        assert expected in kinds


def test_what_the_language_refuses_is_an_error_token() -> None:
    assert any(t in Error for _, t, _ in _tokens('let x = "bad \\q escape"'))
    assert any(t in Error for _, t, _ in _tokens('let x = "no closing quote\nlet y = z'))
    assert any(t in Error for _, t, _ in _tokens("let x = y;"))


def test_pygments_finds_the_lexer_by_name_and_file_name() -> None:
    for alias in ("gcomp", "graphdsl"):
        assert type(get_lexer_by_name(alias)) is GcompLexer
    assert find_lexer_class_for_filename("specs/linear.gcomp") is GcompLexer


def test_pygmentize_highlights_a_spec() -> None:
    pygmentize = Path(sys.executable).parent / "pygmentize"
    done = subprocess.run([str(pygmentize), "-l", "gcomp", "-f", "html", "specs/linear.gcomp"],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert '<span class="k">copy</span>' in done.stdout
    assert '<span class="nb">python</span>' in done.stdout
    assert '<span class="err">' not in done.stdout
    terminal = subprocess.run([str(pygmentize), "-l", "gcomp", "specs/linear.gcomp"], cwd=REPO,
                              capture_output=True, text=True)
    assert terminal.returncode == 0 and "\x1b[" in terminal.stdout
