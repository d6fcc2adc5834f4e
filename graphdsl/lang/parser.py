"""Stage 1: spec text to the typed syntax tree of :mod:`graphdsl.lang.syntax`.

Lark parses the text with ``grammar/graphdsl.lark`` (LALR, contextual lexer); :class:`_ToAst` only
restructures the Lark tree into dataclasses. A text that does not follow the grammar raises
:class:`~graphdsl.errors.SpecSyntaxError` saying what was found, what was expected, which bracket
is still open, and "did you mean" for a misspelled keyword. Meaning is checked later, by
:mod:`graphdsl.check`. No TensorFlow here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from lark import Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from graphdsl.lang import grammar, syntax
from graphdsl.errors import Span, SpecSyntaxError, did_you_mean

def parse(text: str, path: str = "<string>") -> syntax.Spec:
    """Parse spec text; ``path`` names it in error messages. Raises SpecSyntaxError."""
    tracker = _Tracker()
    interactive = grammar.load().parse_interactive(text)
    try:
        for token in interactive.iter_parse():
            tracker.tokens.append(token)
        tree = interactive.feed_eof(tracker.tokens[-1] if tracker.tokens else None)
    except UnexpectedInput as exc:
        tracker.accepts = interactive.accepts()
        raise _syntax_error(exc, text, path, tracker) from None
    return _ToAst(path, text).transform(tree)


def parse_file(path: str | os.PathLike[str]) -> syntax.Spec:
    """Read and parse a spec file; errors name the file by ``path`` as given."""
    text = Path(path).read_text(encoding="utf-8")
    return parse(text, os.fspath(path))


# ---------------------------------------------------------------------------------------------
# Lark tree to AST
# ---------------------------------------------------------------------------------------------

_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


class _ToAst(Transformer):
    """Restructures the Lark tree into :mod:`graphdsl.lang.syntax` nodes; never raises user errors."""

    def __init__(self, path: str, text: str) -> None:
        super().__init__()
        self._path = path
        self._text = text

    def _span(self, item: Token | object) -> Span:
        if isinstance(item, Token):
            return Span(self._path, item.line, item.column, item.end_line, item.end_column)  # type: ignore[arg-type]
        if getattr(item, "empty", True):
            return Span(self._path, 1, 1, 1, 1)
        return Span(self._path, item.line, item.column, item.end_line, item.end_column)  # type: ignore[attr-defined]

    # Terminals --------------------------------------------------------------------------------

    def NAME(self, token: Token) -> syntax.Ident:
        return syntax.Ident(str(token), self._span(token))

    def STRING(self, token: Token) -> syntax.Str:
        value = re.sub(r"\\(.)", lambda m: _ESCAPES[m.group(1)], token[1:-1])
        return syntax.Str(value, self._span(token))

    def INT(self, token: Token) -> syntax.Int:
        return syntax.Int(int(token), self._span(token))

    def FLOAT(self, token: Token) -> syntax.Float:
        return syntax.Float(float(token), self._span(token))

    def TRUE(self, token: Token) -> syntax.Bool:
        return syntax.Bool(True, self._span(token))

    def FALSE(self, token: Token) -> syntax.Bool:
        return syntax.Bool(False, self._span(token))

    # Values -----------------------------------------------------------------------------------

    @v_args(meta=True)
    def name(self, meta, children) -> syntax.Name:
        (ident,) = children
        return syntax.Name(ident.name, ident.span)

    @v_args(meta=True)
    def ref(self, meta, children) -> syntax.Ref:
        namespace, element = children
        return syntax.Ref(namespace, element, self._span(meta))

    @v_args(meta=True)
    def list(self, meta, children) -> syntax.List:
        return syntax.List(tuple(children), self._span(meta))

    @v_args(meta=True)
    def map(self, meta, children) -> syntax.Map:
        return syntax.Map(tuple(children), self._span(meta))

    @v_args(meta=True)
    def map_entry(self, meta, children) -> syntax.MapEntry:
        key, value = children
        return syntax.MapEntry(key, value, self._span(meta))

    def label(self, children) -> syntax.Str:
        (item,) = children
        return item if isinstance(item, syntax.Str) else syntax.Str(item.name, item.span)

    # Statements and their pieces ----------------------------------------------------------------

    @v_args(meta=True)
    def setting(self, meta, children) -> syntax.Setting:
        key, value = children
        return syntax.Setting(key, value, self._span(meta))

    @v_args(meta=True)
    def variable_override(self, meta, children) -> syntax.VariableOverride:
        pattern, value = children
        return syntax.VariableOverride(pattern, value, self._span(meta))

    @v_args(meta=True)
    def bind(self, meta, children) -> syntax.Bind:
        input_name, value = children
        return syntax.Bind(input_name, value, self._span(meta))

    @v_args(meta=True)
    def version(self, meta, children) -> syntax.Version:
        (number,) = children
        return syntax.Version(number, self._span(meta))

    @v_args(meta=True)
    def source(self, meta, children) -> syntax.Source:
        name, kind, path, *options = children
        return syntax.Source(name, kind, path, tuple(options), self._span(meta))

    @v_args(meta=True)
    def copy(self, meta, children) -> syntax.Copy:
        namespace, source, *entries = children
        return syntax.Copy(namespace, source, tuple(entries), self._span(meta))

    @v_args(meta=True)
    def let(self, meta, children) -> syntax.Let:
        name, value = children
        return syntax.Let(name, value, self._span(meta))

    @v_args(meta=True)
    def signature(self, meta, children) -> syntax.Signature:
        name, *settings = children
        return syntax.Signature(name, tuple(settings), self._span(meta))

    def export_body(self, children) -> _Body:
        return _Body(children)

    @v_args(meta=True)
    def export(self, meta, children) -> syntax.Export:
        kind, path, *rest = children
        body = rest[0] if rest else _Body([])
        settings = tuple(c for c in body.entries if isinstance(c, syntax.Setting))
        signatures = tuple(c for c in body.entries if isinstance(c, syntax.Signature))
        return syntax.Export(kind, path, settings, signatures, bool(rest), self._span(meta))

    @v_args(meta=True)
    def start(self, meta, children) -> syntax.Spec:
        end_line = self._text.count("\n") + 1
        end_column = len(self._text) - self._text.rfind("\n")
        span = Span(self._path, 1, 1, end_line, end_column)
        return syntax.Spec(self._path, self._text, tuple(children), span)


@dataclass
class _Body:
    """An export body on its way into :class:`syntax.Export`."""

    entries: list[object]


# ---------------------------------------------------------------------------------------------
# Syntax errors
# ---------------------------------------------------------------------------------------------

@dataclass
class _Tracker:
    """The tokens read so far, to tell what came just before an error and which brackets are open."""

    tokens: list[Token] = field(default_factory=list)
    # What the parser would have taken instead of the offending token (asked of the parser itself:
    # the `expected` of lark's exceptions may be too wide or too narrow).
    accepts: set[str] = field(default_factory=set)

    def before(self, offset: int) -> list[Token]:
        return [t for t in self.tokens if t.start_pos is not None and t.start_pos < offset]

    def open_brackets(self, offset: int) -> list[Token]:
        stack: list[Token] = []
        for token in self.before(offset):
            if token.type in grammar.words().openers:
                stack.append(token)
            elif token.type in grammar.words().closers and stack:
                stack.pop()
        return stack


def _syntax_error(exc: UnexpectedInput, text: str, path: str, tracker: _Tracker) -> SpecSyntaxError:
    if isinstance(exc, UnexpectedToken):
        error = _unexpected_token(exc, path, tracker)
    elif isinstance(exc, UnexpectedCharacters):
        error = _unexpected_character(exc, text, path, tracker)
    else:  # pragma: no cover - LALR raises only the two above
        error = SpecSyntaxError(str(exc), Span(path, exc.line, exc.column, exc.line, exc.column + 1))
    return error.with_source(text)  # type: ignore[return-value]


def _unexpected_token(exc: UnexpectedToken, path: str, tracker: _Tracker) -> SpecSyntaxError:
    token = exc.token
    expected = {name for name in tracker.accepts if name in grammar.words().quoted}
    if token.type == "$END":
        last = tracker.tokens[-1] if tracker.tokens else None
        line, column = (last.end_line, last.end_column) if last else (1, 1)
        span = Span(path, line, column, line, column + 1)  # type: ignore[arg-type]
        offset = (last.end_pos or 0) if last else 0  # type: ignore[union-attr]
    else:
        span = Span(path, token.line, token.column, token.end_line, token.end_column)  # type: ignore[arg-type]
        offset = token.start_pos or 0
    message = f"unexpected {_describe(token)}; expected {_expected_words(expected)}"
    return SpecSyntaxError(message, span, _hint(token, expected, tracker, offset))


def _hint(token: Token, expected: set[str], tracker: _Tracker, offset: int) -> str | None:
    if token.type == "NAME":
        keyword_terminals = grammar.words().keyword_terminals
        keywords = [keyword_terminals[name] for name in expected if name in keyword_terminals]
        hint = did_you_mean(str(token), keywords)
        if hint:
            return hint
    before = tracker.before(offset)
    previous = before[-1] if before else None
    if previous is not None and previous.type == "NAME" and "_EQUAL" in expected:
        # A keyword that puts a label before '=' reads, misspelled, as a setting's key.
        close = did_you_mean(str(previous), grammar.words().entry_keywords)
        if close:
            return f"{close[:-1]} instead of '{previous}'?"
    if previous is not None and previous.type == "_VARIABLE" and token.type == "_EQUAL":
        return 'for the default mode write variables = MODE; variable "PATTERN" = MODE sets matching ones'
    # An unclosed bracket explains an error only where the text runs on past it: at the end of
    # the file, or at a keyword that starts the next statement.
    still_open = tracker.open_brackets(offset)
    if still_open and (token.type == "$END" or token.type in grammar.words().statement_start):
        bracket = still_open[-1]
        return f"the '{bracket}' opened at line {bracket.line}, column {bracket.column} is still open"
    return None


def _unexpected_character(
    exc: UnexpectedCharacters, text: str, path: str, tracker: _Tracker
) -> SpecSyntaxError:
    line, column, char = exc.line, exc.column, exc.char
    span = Span(path, line, column, line, column + 1)
    if char == '"':
        rest = text[exc.pos_in_stream :].split("\n", 1)[0]
        bad = re.match(r'"(?:\\["\\nt]|[^"\\])*(\\.?)', rest)
        if bad and bad.group(1):
            start = column + bad.start(1)
            escape = bad.group(1)
            return SpecSyntaxError(
                f"unknown escape '{escape}' in a string",
                Span(path, line, start, line, start + len(escape)),
                'a string knows the escapes \\" \\\\ \\n \\t',
            )
        return SpecSyntaxError(
            "unterminated string", Span(path, line, column, line, column + len(rest)),
            "close it with '\"' on the same line; a string cannot span lines",
        )
    if char == "'":
        return SpecSyntaxError(
            "unexpected character \"'\"", span, "strings are written in double quotes: \"like this\""
        )
    expected = {name for name in tracker.accepts if name in grammar.words().quoted}
    message = f"unexpected character {char!r}"
    if expected:
        message += f"; expected {_expected_words(expected)}"
    return SpecSyntaxError(message, span)


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    if token.type == "NAME":
        return f"name '{token}'"
    if token.type == "STRING":
        return f"string {token}"
    if token.type in ("INT", "FLOAT"):
        return f"number {token}"
    return f"'{token}'"


def _expected_words(expected: set[str]) -> str:
    known = grammar.words()
    if known.value_start <= expected:
        expected = (expected - known.value_start) | {"<value>"}
    words = sorted(known.quoted.get(name, "a value") for name in expected)
    # Quoted keywords and marks first, then descriptions, and the end of the file last.
    words.sort(key=lambda w: (not w.startswith("'"), w == "the end of the file"))
    if not words:
        return "nothing more"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]
