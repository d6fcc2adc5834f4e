"""What a spec that does not follow the grammar is told: a :class:`SpecSyntaxError`.

:func:`syntax_error` parses the text again, token by token, to say what was found, what the parser
expected instead (asked of the LALR tables), which bracket is still open, and "did you mean" for a
misspelled keyword. Only a text that failed to parse comes here, so the fast path of the parser
keeps no token list. No TensorFlow here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from graphdsl.errors import SourceFile, Span, SpecSyntaxError, did_you_mean
from graphdsl.lang import grammar


def syntax_error(file: SourceFile, start: str = "start") -> SpecSyntaxError:
    """The error for the first place where ``file``'s text leaves the grammar.

    ``start`` is the start rule the text was parsed from (``"template"`` for a template). Raises
    ValueError if the text parses (a caller's mistake).
    """
    language = grammar.language_of(start)
    tracker = _Tracker(grammar.words(language))
    interactive = grammar.load(language).parse_interactive(file.text, start=start)
    try:
        for token in interactive.iter_parse():
            tracker.tokens.append(token)
        interactive.feed_eof(tracker.tokens[-1] if tracker.tokens else None)
    except UnexpectedInput as exc:
        tracker.accepts = interactive.accepts()
        return _syntax_error(exc, file, tracker)
    raise ValueError(f"{file.path} parses: no syntax error to report")


@dataclass
class _Tracker:
    """The tokens read so far, to tell what came just before an error and which brackets are open."""

    words: grammar.Words
    tokens: list[Token] = field(default_factory=list)
    # What the parser would have taken instead of the offending token (asked of the parser itself:
    # the `expected` of lark's exceptions may be too wide or too narrow).
    accepts: set[str] = field(default_factory=set)

    def before(self, offset: int) -> list[Token]:
        return [t for t in self.tokens if t.start_pos is not None and t.start_pos < offset]

    def open_brackets(self, offset: int) -> list[Token]:
        stack: list[Token] = []
        for token in self.before(offset):
            if token.type in self.words.openers:
                stack.append(token)
            elif token.type in self.words.closers and stack:
                stack.pop()
        return stack


def _syntax_error(exc: UnexpectedInput, file: SourceFile, tracker: _Tracker) -> SpecSyntaxError:
    if isinstance(exc, UnexpectedToken):
        return _unexpected_token(exc, file, tracker)
    if isinstance(exc, UnexpectedCharacters):
        return _unexpected_character(exc, file, tracker)
    # pragma: no cover - LALR raises only the two above
    return SpecSyntaxError(str(exc), Span(file.path, exc.line, exc.column, exc.line, exc.column + 1, file))


def _unexpected_token(exc: UnexpectedToken, file: SourceFile, tracker: _Tracker) -> SpecSyntaxError:
    path = file.path
    token = exc.token
    expected = {name for name in tracker.accepts if name in tracker.words.quoted}
    if token.type == "$END":
        last = tracker.tokens[-1] if tracker.tokens else None
        line, column = (last.end_line, last.end_column) if last else (1, 1)
        span = Span(path, line, column, line, column + 1, file)  # type: ignore[arg-type,operator]
        offset = (last.end_pos or 0) if last else 0  # type: ignore[union-attr]
    else:
        span = Span(path, token.line, token.column, token.end_line, token.end_column, file)  # type: ignore[arg-type]
        offset = token.start_pos or 0
    message = f"unexpected {_describe(token)}; expected {_expected_words(expected, tracker.words)}"
    return SpecSyntaxError(message, span, _hint(token, expected, tracker, offset))


def _hint(token: Token, expected: set[str], tracker: _Tracker, offset: int) -> str | None:
    if token.type in ("NAME", "IDENT"):
        keyword_terminals = tracker.words.keyword_terminals
        keywords = [keyword_terminals[name] for name in expected if name in keyword_terminals]
        glued = next((k for k in sorted(keywords, key=len, reverse=True) if token.startswith(k)), None)
        if glued:
            return f"a keyword is a word of its own: write '{glued} {token[len(glued):]}'"
        hint = did_you_mean(str(token), keywords)
        if hint:
            return hint
    before = tracker.before(offset)
    previous = before[-1] if before else None
    if previous is not None and previous.type in ("NAME", "IDENT") and "_EQUAL" in expected:
        # A keyword that puts a label before '=' reads, misspelled, as a setting's key.
        close = did_you_mean(str(previous), tracker.words.entry_keywords)
        if close:
            return f"{close[:-1]} instead of '{previous}'?"
    if previous is not None and previous.type == "_VARIABLE" and token.type == "_EQUAL":
        return 'for the default mode write variables = MODE; variable "PATTERN" = MODE sets matching ones'
    # An unclosed bracket explains an error only where the text runs on past it: at the end of
    # the file, or at a keyword that starts the next statement.
    still_open = tracker.open_brackets(offset)
    if still_open and (token.type == "$END" or token.type in tracker.words.statement_start):
        bracket = still_open[-1]
        return f"the '{bracket}' opened at line {bracket.line}, column {bracket.column} is still open"
    return None


def _unexpected_character(exc: UnexpectedCharacters, file: SourceFile, tracker: _Tracker) -> SpecSyntaxError:
    path, text = file.path, file.text
    line, column, char = exc.line, exc.column, exc.char
    span = Span(path, line, column, line, column + 1, file)
    if char == '"':
        rest = text[exc.pos_in_stream :].split("\n", 1)[0]
        bad = re.match(r'"(?:\\["\\nt]|[^"\\])*(\\.?)', rest)
        if bad and bad.group(1):
            start = column + bad.start(1)
            escape = bad.group(1)
            return SpecSyntaxError(
                f"unknown escape '{escape}' in a string",
                Span(path, line, start, line, start + len(escape), file),
                'a string knows the escapes \\" \\\\ \\n \\t',
            )
        return SpecSyntaxError(
            "unterminated string", Span(path, line, column, line, column + len(rest), file),
            "close it with '\"' on the same line; a string cannot span lines",
        )
    if char == "'":
        return SpecSyntaxError(
            "unexpected character \"'\"", span, "strings are written in double quotes: \"like this\""
        )
    expected = {name for name in tracker.accepts if name in tracker.words.quoted}
    message = f"unexpected character {char!r}"
    if expected:
        message += f"; expected {_expected_words(expected, tracker.words)}"
    return SpecSyntaxError(message, span)


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    if token.type in ("NAME", "IDENT"):
        return f"name '{token}'"
    if token.type == "STRING":
        return f"string {token}"
    if token.type in ("INT", "FLOAT"):
        return f"number {token}"
    return f"'{token}'"


def _expected_words(expected: set[str], known: grammar.Words) -> str:
    if known.value_start <= expected:
        expected = (expected - known.value_start) | {"<value>"}
    words = sorted({known.quoted.get(name, "a value") for name in expected})
    # Quoted keywords and marks first, then descriptions, and the end of the file last.
    words.sort(key=lambda w: (not w.startswith("'"), w == "the end of the file"))
    if not words:
        return "nothing more"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]
