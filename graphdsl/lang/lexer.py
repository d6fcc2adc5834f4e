"""The lexer of .gcomp specs: the grammar's terminals as one regular expression.

:class:`Scanner` turns every terminal of the grammar into a branch of one compiled expression,
ordered as lark orders them. A word is a keyword only where the parser accepts that keyword
(keywords are contextual, so ``copy`` and ``take`` stay usable as names) and only as a whole word:
``copyA`` is the name ``copyA``, never ``copy`` then ``A`` (as lark's own contextual lexer would
read it). Ignored terminals (whitespace, comments) are skipped. Positions count lines at ``\\n``
only (see :func:`graphdsl.errors.normalize_newlines`).

The fast parse (:mod:`graphdsl.lang.driver`) runs the scanner inline; :class:`SpecLexer` gives the
same tokens to lark's own parser, which reports syntax errors (:mod:`graphdsl.lang.syntax_errors`).
No TensorFlow here.
"""

from __future__ import annotations

import re
import re._parser as _sre  # the parse of a pattern, to know what its matches start with
from itertools import accumulate, compress
from typing import Any, Iterable, Iterator, Mapping

from lark.exceptions import UnexpectedCharacters
from lark.lexer import Lexer, LexerState, PatternStr, TerminalDef, Token

NAME = "NAME"
END = "$END"  # lark's name of the end of the text


class Scanner:
    """The grammar's terminals compiled for lexing."""

    def __init__(self, terminals: Iterable[TerminalDef], ignore: Iterable[str]) -> None:
        terminals = list(terminals)
        self.ignore = frozenset(ignore)
        # Keywords are read as NAME, then told apart by the word and the parser's state.
        name = re.compile(next(t for t in terminals if t.name == NAME).pattern.to_regexp())
        self.keywords = {t.pattern.value: t.name for t in terminals
                         if isinstance(t.pattern, PatternStr) and name.fullmatch(t.pattern.value)}
        keyword_names = set(self.keywords.values())
        skipped = [_uncaptured(t.pattern.to_regexp()) for t in terminals if t.name in self.ignore]
        rest = [t for t in terminals if t.name not in keyword_names and t.name not in self.ignore]
        # The order of lark's own lexer: the first branch that matches wins.
        rest.sort(key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
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
        return NAME if NAME in accepted else keyword


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


# The whole text at once ------------------------------------------------------------------------

IGNORED = " "  # the key of ignored text (whitespace, comments): no terminal is named so


class Pieces:
    """The whole text cut by one C-level ``findall`` into ignored runs and tokens, classified.

    ``findall`` over one alternation without groups (ignored patterns first, then the terminals in
    lark's order, as :class:`Scanner`'s expression) returns the text as strings, one per match, and
    no match objects: lexing a large spec is then a few list operations instead of Python work per
    token. Which terminal read a piece is found from its first character: a table built from the
    terminals' patterns (:func:`first_chars`) lists the terminals that may start with it, in lark's
    order, and where there are several, the first whose pattern matches the whole piece is the one
    the alternation chose. A piece a keyword is spelled like is keyed by its spelling, for the
    parser's state to decide (see :meth:`Scanner.word`).
    """

    def __init__(self, scanner: Scanner, terminals: Iterable[TerminalDef]) -> None:
        terminals = list(terminals)
        keyword_names = set(scanner.keywords.values())
        ordered = [t for t in terminals if t.name in scanner.ignore]
        rest = [t for t in terminals if t.name not in keyword_names and t.name not in scanner.ignore]
        rest.sort(key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
        ordered += rest
        patterns = [_uncaptured(t.pattern.to_regexp()) for t in ordered]
        self.regex = re.compile("|".join(f"(?:{p})" for p in patterns))
        # The candidates, in order: (key, compiled pattern); ignored terminals key as IGNORED.
        candidates = [(IGNORED if t.name in scanner.ignore else t.name, re.compile(p))
                      for t, p in zip(ordered, patterns)]
        self.spellings = dict(scanner.keywords)  # spelling -> keyword terminal
        firsts = [first_chars(p) for p in patterns]
        self.by_char: dict[str, list[tuple[str, re.Pattern[str]]]] = {
            chr(code): [c for c, first in zip(candidates, firsts) if first is None or chr(code) in first]
            for code in range(128)}
        self.anywhere = candidates  # a first character outside ASCII: try them all
        # One character per key (terminal, keyword spelling, the end), for comparing sequences.
        names = sorted({key for key, _ in candidates} | set(self.spellings) | {END})
        self.codes = {name: chr(0x100 + i) for i, name in enumerate(names)}
        # findall would return groups if a pattern kept one, and never ends on an empty match.
        self.usable = self.regex.groups == 0 and self.regex.match("") is None and all(
            candidates_resolve(self, spelling) == NAME for spelling in self.spellings)

    def key(self, piece: str) -> str:
        """The key of a piece: IGNORED, a keyword's spelling, or its terminal ('' if none reads it)."""
        candidates = self.by_char.get(piece[0], self.anywhere)
        if len(candidates) == 1:
            kind = candidates[0][0]
        else:
            kind = next((key for key, pattern in candidates if pattern.fullmatch(piece)), "")
        if kind == NAME and piece in self.spellings:
            return piece
        return kind

    def split(self, text: str) -> tuple[list[tuple[str, str, int]], str, int]:
        """The tokens of ``text`` as (key, text, offset); their keys as one string, a character
        per token (:attr:`codes`); and the offset where lexing stopped: ``len(text)``, or where no
        terminal reads the text (the tokens end before it)."""
        pieces = self.regex.findall(text)
        offsets = list(accumulate(map(len, pieces), initial=0))
        end = len(text)
        if offsets[-1] != end:  # findall skipped text no terminal reads: cut before the first gap
            cut = next((i for i, (p, o) in enumerate(zip(pieces, offsets)) if not text.startswith(p, o)),
                       len(pieces))
            del pieces[cut:]
            end = offsets[cut]
        # Each distinct piece classified once; the rest is done by C loops (map, compress).
        key = self.key
        known = {piece: key(piece) for piece in set(pieces)}
        keys = list(map(known.__getitem__, pieces))
        kept = list(map(IGNORED.__ne__, keys))
        tokens = list(compress(zip(keys, pieces, offsets), kept))
        codes = "".join(map(self.codes.__getitem__, compress(keys, kept)))
        return tokens, codes, end

def candidates_resolve(pieces: Pieces, text: str) -> str:
    """The terminal the alternation reads ``text`` as, trying every terminal in order."""
    return next((key for key, pattern in pieces.anywhere if pattern.fullmatch(text)), "")


_ASCII = [chr(code) for code in range(128)]
_CATEGORIES: dict[str, Any] = {
    "CATEGORY_DIGIT": str.isdigit, "CATEGORY_SPACE": str.isspace,
    "CATEGORY_WORD": lambda c: c.isalnum() or c == "_",
}


def first_chars(pattern: str) -> frozenset[str] | None:
    """The ASCII characters a match of ``pattern`` may start with; None if that is not known (an
    empty match, a construct this does not read): then it is taken to start with any."""
    try:
        parsed = _sre.parse(pattern)
        chars, nullable = _first(list(parsed))
    except Exception:  # a construct of a later Python: the table then tries this terminal always
        return None
    return None if nullable or chars is None else frozenset(chars)


def _first(items: list[Any]) -> tuple[set[str] | None, bool]:
    """What a sequence of parsed items may start with, and whether it may match the empty text."""
    chars: set[str] = set()
    for op, arg in items:
        name = str(op)
        if name in ("AT", "ASSERT", "ASSERT_NOT"):  # zero width: what follows starts the match
            continue
        if name == "SUBPATTERN":
            first, nullable = _first(list(arg[-1])) if not (arg[1] or arg[2]) else (None, True)
        elif name == "BRANCH":
            branches = [_first(list(b)) for b in arg[1]]
            if any(f is None for f, _ in branches):
                return None, True
            first = set().union(*(f for f, _ in branches))  # type: ignore[arg-type]
            nullable = any(n for _, n in branches)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            first, nullable = _first(list(arg[2]))
            nullable = nullable or arg[0] == 0
        else:
            first, nullable = _one_char(name, arg), False
        if first is None:
            return None, True
        chars |= first
        if not nullable:
            return chars, False
    return chars, True


def _one_char(name: str, arg: Any) -> set[str] | None:
    """The ASCII characters one single-character item matches (None: not such an item)."""
    if name == "LITERAL":
        return {chr(arg)} if arg < 128 else set()
    if name == "NOT_LITERAL":
        return {c for c in _ASCII if ord(c) != arg}
    if name == "ANY":
        return set(_ASCII)
    if name != "IN":
        return None
    matched: set[str] = set()
    negate = False
    for op, value in arg:
        kind = str(op)
        if kind == "NEGATE":
            negate = True
        elif kind == "LITERAL":
            matched |= {chr(value)} if value < 128 else set()
        elif kind == "RANGE":
            matched |= {c for c in _ASCII if value[0] <= ord(c) <= value[1]}
        elif kind == "CATEGORY":
            category = str(value)
            test = _CATEGORIES.get(category.replace("NOT_", "").replace("UNI_", ""))
            if test is None:
                return None
            inside = {c for c in _ASCII if test(c)}
            matched |= set(_ASCII) - inside if "NOT_" in category else inside
        else:
            return None
    return set(_ASCII) - matched if negate else matched
