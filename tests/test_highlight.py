"""The Pygments lexer: every spec lexes cleanly, keywords where the grammar has them, words from the
schema, and `pygmentize -l gcomp` finds it through the package's entry point."""

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

from graphdsl.lang import grammar, schema
from graphdsl.lang.highlight import GcompLexer
from graphdsl.lang.parser import parse
from graphdsl.lang.template_parser import _TEMPLATE_LINE
from graphdsl.lang.words import words

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
SPECS = sorted(p for p in (REPO / "specs").glob("*.gcomp")
               if not _TEMPLATE_LINE.search(p.read_text(encoding="utf-8")))  # plain specs: templates come next
GOOD = [*SPECS, *sorted((DATA / "ok").glob("*.gcomp")), *sorted((DATA / "fmt").glob("*.gcomp"))]


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


@pytest.mark.parametrize("path", [*SPECS, *sorted((DATA / "ok").glob("*.gcomp"))],
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_keywords_are_keywords_where_the_grammar_reads_them_so(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    keyword_terminals = grammar.words().keyword_terminals
    interactive = grammar.load().parse_interactive(text)
    expected = {t.start_pos for t in interactive.iter_parse() if t.type in keyword_terminals}
    lexed = {i for i, t, _ in _tokens(text) if t in Keyword}
    assert lexed == expected
    # `signature` in a source's options is a key there, not the keyword
    if path.stem == "assembly":
        assert (text.index("signature ="), Name.Attribute, "signature") in _tokens(text)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_source_and_export_kinds_are_builtins(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    spec = parse(text)
    kinds = [s.kind for s in spec.sources] + [e.kind for e in spec.exports]
    by_offset = {i: (t, v) for i, t, v in _tokens(text)}
    for kind in kinds:
        assert by_offset[_offset(text, kind.span.line, kind.span.column)] == (Name.Builtin, kind.name)


def test_the_words_come_from_the_grammar_and_the_schema() -> None:
    found = words()
    assert set(found.keywords) | set(found.constants) == set(schema.keywords())
    assert set(found.constants) == {"true", "false"}
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
