"""The lexer of .gcomp specs: the grammar's terminals as one regular expression.

:class:`Scanner` turns every terminal of the grammar into a branch of one compiled expression,
ordered as lark orders them. A word is a keyword only where the parser accepts that keyword
(keywords are contextual, so ``copy`` and ``take`` stay usable as names) and only as a whole word:
``copyA`` is the name ``copyA``, never ``copy`` then ``A`` (as lark's own contextual lexer would
read it). Ignored terminals (whitespace, comments) are skipped. Positions count lines at ``\\n``
only (see :func:`graphdsl.errors.normalize_newlines`).

The fast parse (:mod:`graphdsl.lang.driver`) runs the scanner inline;
:class:`graphdsl.lang.lark_lexer.SpecLexer` gives the same tokens to lark's own parser, which
reports syntax errors (:mod:`graphdsl.lang.syntax_errors`). The terminals are lark's
``TerminalDef`` or the plain data of the stored tables (:class:`graphdsl.lang.lalr_tables.Terminal`):
this module does not import lark, so that checking a plain spec never does. No TensorFlow here.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping, Protocol

NAME = "NAME"


class PatternLike(Protocol):
    """A terminal's pattern as lark's ``PatternStr`` and ``PatternRE`` have it: ``type`` is
    ``"str"`` for a literal ``value``, ``"re"`` for a regular expression."""

    @property
    def type(self) -> str: ...

    @property
    def value(self) -> str: ...

    def to_regexp(self) -> str: ...

    @property
    def max_width(self) -> int: ...


class TerminalLike(Protocol):
    """A terminal as lark's ``TerminalDef`` has it."""

    @property
    def name(self) -> str: ...

    @property
    def pattern(self) -> PatternLike: ...

    @property
    def priority(self) -> int: ...


class Scanner:
    """The grammar's terminals compiled for lexing."""

    def __init__(self, terminals: Iterable[TerminalLike], ignore: Iterable[str], name: str = NAME) -> None:
        terminals = list(terminals)
        self.ignore = frozenset(ignore)
        # Keywords are read as names (the terminal ``name``: NAME in a plain spec, IDENT in a
        # template), then told apart by the word and the parser's state.
        self.name = name
        names = re.compile(next(t for t in terminals if t.name == name).pattern.to_regexp())
        self.keywords = {t.pattern.value: t.name for t in terminals
                         if t.pattern.type == "str" and names.fullmatch(t.pattern.value)}
        keyword_names = set(self.keywords.values())
        skipped = [_uncaptured(t.pattern.to_regexp()) for t in terminals if t.name in self.ignore]
        rest = [t for t in terminals if t.name not in keyword_names and t.name not in self.ignore]
        # The order of lark's own lexer: the first branch that matches wins.
        rest.sort(key=lark_order)
        # One match skips what is ignored (no ignored terminal starts like a token) and reads the
        # next token, if any: "(?:IGNORED)*(?:(TOKEN1)|(TOKEN2)|...)?".
        self.regex = re.compile(
            f"(?:{'|'.join(skipped)})*(?:{'|'.join(f'({_uncaptured(t.pattern.to_regexp())})' for t in rest)})?")
        # The group of each token: the groups before it come first.
        self.group_names: dict[int, str] = {}
        index = 1 + sum(re.compile(p).groups for p in skipped)
        for t in rest:
            self.group_names[index] = t.name
            index += 1 + re.compile(_uncaptured(t.pattern.to_regexp())).groups

    def word(self, accepted: Mapping[str, Any], word: str) -> str:
        """The terminal of ``word`` (a keyword's spelling) where the parser accepts ``accepted``."""
        keyword = self.keywords[word]
        if keyword in accepted:
            return keyword
        # A name where a name may stand; else the keyword, so that the error names it as such.
        return self.name if self.name in accepted else keyword


def lark_order(terminal: TerminalLike) -> tuple[int, int, int, str]:
    """The sort key of lark's own lexer: where several terminals match, the first in this order
    wins (higher priority, then the longest possible match, then the longest pattern)."""
    return (-terminal.priority, -terminal.pattern.max_width, -len(terminal.pattern.value), terminal.name)


def _uncaptured(pattern: str) -> str:
    """``pattern`` with its groups made non-capturing: it matches the same text, and the one
    expression of all terminals matches faster when only each terminal's own group captures
    (a capturing group inside a repeat, as in a string's characters, records every repetition).
    The pattern is returned as it is if the rewrite would not leave it without capturing groups."""
    out: list[str] = []
    i, size, in_class = 0, len(pattern), False
    while i < size:
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":  # a class: '(' inside is a character; a leading ']' does not close it
            in_class = True
            start = i + 1 + (pattern.startswith("^", i + 1))
            start += pattern.startswith("]", start)
            out.append(pattern[i:start])
            i = start
            continue
        elif char == "(" and not pattern.startswith("?", i + 1):
            out.append("(?:")
            i += 1
            continue
        out.append(char)
        i += 1
    rewritten = "".join(out)
    try:
        return rewritten if re.compile(rewritten).groups == 0 else pattern
    except re.error:
        return pattern
