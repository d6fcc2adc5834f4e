"""The scanner as lark's lexer: lark's LALR parser reads a plain spec with graphdsl's tokens.

graphdsl parses with its own loop (:mod:`graphdsl.lang.driver`); lark's parser runs on a text that
loop rejects, to word the syntax error (:mod:`graphdsl.lang.syntax_errors`), and in the tests that
compare graphdsl's trees with lark's. It must read the same tokens: :class:`SpecLexer` hands it
the :class:`~graphdsl.lang.lexer.Scanner`'s. This module imports lark; :mod:`graphdsl.lang.lexer`
does not. No TensorFlow here.
"""

from __future__ import annotations

from typing import Any, Iterator

from lark.exceptions import UnexpectedCharacters
from lark.lexer import Lexer, LexerState, Token

from graphdsl.lang.lexer import NAME, Scanner


class SpecLexer(Lexer):
    """The scanner as a lexer for lark's LALR parser (``Lark(..., lexer=SpecLexer)``)."""

    # lark's interface for custom lexers that see the parser's state (and take a TextSlice).
    __future_interface__ = 2

    def __init__(self, lexer_conf: Any) -> None:
        self.scanner = Scanner(lexer_conf.terminals, lexer_conf.ignore)

    def lex(self, lexer_state: LexerState, parser_state: Any) -> Iterator[Token]:
        """The tokens of the text, one at a time: the parser's state decides what a word is."""
        text_slice = lexer_state.text
        text: Any = getattr(text_slice, "text", text_slice)
        pos: int = getattr(text_slice, "start", 0)
        end: int = getattr(text_slice, "end", len(text))
        scanner = self.scanner
        match, group_names, keywords = scanner.regex.match, scanner.group_names, scanner.keywords
        states = parser_state.parse_conf.states if parser_state is not None else None
        line, line_start = 1, 0
        while True:
            found = match(text, pos, end)
            group = found.lastindex  # type: ignore[union-attr]
            start = found.start(group) if group else found.end()  # type: ignore[union-attr]
            if start > pos:  # ignored text (whitespace, comments) holds the line breaks
                newlines = text.count("\n", pos, start)
                if newlines:
                    line += newlines
                    line_start = text.rfind("\n", pos, start) + 1
            if group is None:
                if start < end:
                    raise UnexpectedCharacters(text, start, line, start - line_start + 1,
                                               state=parser_state.position if parser_state else None)
                return
            kind = group_names[group]
            value = found.group(group)  # type: ignore[union-attr]
            pos = found.end()  # type: ignore[union-attr]
            if kind == NAME and value in keywords and states is not None:
                kind = scanner.word(states[parser_state.position], value)
            column = start - line_start + 1
            token = Token(kind, value, start, line, column, line, column + len(value), pos)
            lexer_state.last_token = token
            yield token
