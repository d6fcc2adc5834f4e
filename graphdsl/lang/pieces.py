"""The text lexed a long part at a time: one C-level ``findall`` a part, then a few list operations.

:class:`~graphdsl.lang.lexer.Scanner` matches one token at a time, a match object each; on a large
spec that is a fifth of the parse. :class:`Pieces` cuts the text with ``findall`` over one
alternation without groups, which returns strings and no match objects. Each piece is a token with
the whitespace after it (a text that starts with whitespace begins with a piece of whitespace alone,
and so does the whitespace after a comment); ``str.rstrip`` gives the token, and the offsets are
the running sum of the pieces' lengths. Which terminal read a piece is found from its first
character (one ``str.translate`` of the part's first characters): a table made from the terminals'
patterns (:func:`first_chars`) lists those that may start with it in lark's order, and where there
are several, the first whose pattern matches the whole token is the one the alternation chose
(found once per distinct token).

The alternation reads exactly the scanner's tokens: its branches are the scanner's, in lark's order
wherever two may start with the same character (elsewhere the cheap ones first: a branch that
starts with a fixed character is skipped at once where it cannot match). Whitespace rides with the
token before it only if no token can start or end with a whitespace character; else (another
grammar) whitespace is a piece of its own.

Where no token may hold a newline, a long text is cut into parts that end after one
(:meth:`Pieces.part`), and the parser takes each part's statements before lexing the next: the
tokens of one part at a time take the same memory over and over, instead of fresh memory for the
whole text's. No TensorFlow here.
"""

from __future__ import annotations

import functools
import re
import re._parser as _sre  # the parse of a pattern, to know what its matches start and end with
from itertools import accumulate, compress, repeat
from operator import itemgetter, not_
from typing import Any, Iterable

from graphdsl.lang.lexer import TerminalLike, _uncaptured, lark_order

IGNORED = " "  # the key of ignored text (whitespace, comments): no terminal is named so
END = "$END"  # lark's name for the end of the text
NAME = "NAME"
_NON_ASCII = ""  # in a set of characters: some character outside ASCII
_ASCII = frozenset(chr(code) for code in range(128))
_UNSURE = "\x00"  # in a string of codes: a token whose first character does not tell its code
_UNSURE_MASK = bytes([1]) + bytes(255)  # bytes.translate's table: _UNSURE to 1, every other byte to 0


class Pieces:
    """The terminals of a grammar compiled for lexing a whole text at once (see the module)."""

    def __init__(self, terminals: Iterable[TerminalLike], ignore: Iterable[str], keywords: dict[str, str],
                 name: str = NAME) -> None:
        ignore = set(ignore)
        self.name = name  # the terminal that reads keywords' spellings (see graphdsl.lang.lexer.Scanner)
        keyword_names = set(keywords.values())
        # The scanner's branches and their order (graphdsl.lang.lexer.Scanner): ignored first.
        ordered = [t for t in terminals if t.name in ignore]
        rest = [t for t in terminals if t.name not in keyword_names and t.name not in ignore]
        rest.sort(key=lark_order)
        ordered += rest
        patterns = [_uncaptured(t.pattern.to_regexp()) for t in ordered]
        keys = [IGNORED if t.name in ignore else t.name for t in ordered]
        firsts = [first_chars(p) for p in patterns]
        candidates = [(k, re.compile(p)) for k, p in zip(keys, patterns)]
        self.by_char = {c: [cand for cand, first in zip(candidates, firsts) if first is None or c in first]
                        for c in _ASCII}
        self.anywhere = candidates  # a first character outside ASCII: try them all
        self.spellings = dict(keywords)  # spelling -> keyword terminal
        # One character per key (terminal, keyword spelling, the end; "" for a token no terminal
        # reads), for comparing sequences: printable ASCII where there are few enough, so that the
        # string of a text's codes is one byte a character and each of its characters is shared.
        names = sorted(set(keys) | set(self.spellings) | {END, ""})
        base = 0x21 if len(names) <= 0x7F - 0x21 else 0x100
        self.codes = {name: chr(base + i) for i, name in enumerate(names)}
        self.names = {code: name for name, code in self.codes.items()}
        blank = _blank(patterns, keys, firsts)
        self.strip = "".join(sorted(blank[0])) if blank else None
        branches = _fast_order(list(zip(keys, patterns, firsts)))
        if blank is None:
            self.regex = re.compile("|".join(f"(?:{p})" for _, p, _ in branches))
        else:
            space = f"[{re.escape(self.strip or '')}]"
            alone = [p for k, p, _ in branches if k == IGNORED and p != blank[1]]
            tokens = [p for k, p, _ in branches if k != IGNORED]
            self.regex = re.compile("|".join(
                [f"(?:{p})" for p in alone] + [f"(?:{'|'.join(f'(?:{p})' for p in tokens)}){space}*", f"{space}+"]))
        # findall returns groups if a pattern keeps one, and an empty match takes no text.
        self.usable = self.regex.groups == 0 and self.regex.match("") is None and all(
            self.key(spelling) == spelling for spelling in self.spellings)
        # The code of every token that starts with a given character, where that character alone
        # tells: one terminal may start with it, or the first that may (in lark's order, which is
        # the alternation's among them) reads the character alone and looks neither around nor
        # back, so that the alternation takes it wherever the character is and the token is its
        # match. A NAME's code stands for keywords' spellings too: :attr:`spelled` has theirs.
        self.sure: dict[str, str] = {}
        for char, candidates in self.by_char.items():
            if len(candidates) == 1 or (candidates and candidates[0][1].match(char) is not None
                                        and _context_free(candidates[0][1].pattern)):
                self.sure[char] = self.codes[candidates[0][0]]
        self.spelled = {spelling: self.codes[self.key(spelling)] for spelling in self.spellings}
        # The same for all of a part's pieces at once (see part()): their first characters, each
        # translated to its sure code or to _UNSURE (every ASCII character to one of the two;
        # pieces that start with another character are looked at one by one). Only where the
        # codes are ASCII, so that none of them is _UNSURE.
        self.first_codes = None if base != 0x21 else {
            code: self.sure.get(chr(code), _UNSURE) for code in range(128)}
        # Which tokens are kept (not ignored), as bytes.translate's table of the codes: 0 for
        # ignored text, 1 for the rest (where the codes are ASCII).
        self.kept = None if base != 0x21 else bytes(int(chr(b) != self.codes[IGNORED]) for b in range(256))
        # Whether a text may be lexed part by part, each part ending after a newline (see part()):
        # a newline is read only by ignored whitespace (a run of a set of characters, which never
        # gives back what it took), and nothing looks around.
        self.by_lines = self.usable and _context_free(self.regex.pattern) and all(
            (consumed is not None and "\n" not in consumed) or (key == IGNORED and _run_of_chars(pattern))
            for key, pattern in zip(keys, patterns) for consumed in [_consumed(pattern)])
        # A token whose first character does not tell: :meth:`key` takes the first terminal, in
        # lark's order, whose pattern matches all of it (one that cannot start with its first
        # character cannot match it), so one match of their alternation, a group each, tells
        # it by the group that matched (the patterns have no group of their own where usable).
        self.whole = re.compile("|".join(f"({p})" for p in patterns)) if self.usable else None
        self.group_codes = [self.codes[""]] + [self.codes[k] for k in keys]

    def key(self, token: str) -> str:
        """The key of a token: IGNORED, a keyword's spelling, or its terminal ('' if none reads it)."""
        if not token:
            return IGNORED  # whitespace alone
        candidates = self.by_char.get(token[0], self.anywhere)
        if len(candidates) == 1:
            kind = candidates[0][0]
        else:
            kind = next((key for key, pattern in candidates if pattern.fullmatch(token)), "")
        if kind == self.name and token in self.spellings:
            return token
        return kind

    def classify(self, tokens: Iterable[str]) -> dict[str, str]:
        """The code of each token, as :meth:`key` gives its key (see :attr:`whole`)."""
        if self.whole is None:
            return {token: self.codes[self.key(token)] for token in tokens}
        whole, group_codes, name, spelled = self.whole.fullmatch, self.group_codes, self.codes[self.name], self.spelled
        out = {}
        for token in tokens:
            match = whole(token)
            code = group_codes[match.lastindex] if match is not None else group_codes[0]  # type: ignore[index]
            out[token] = spelled.get(token, name) if code == name else code
        return out

    def split(self, text: str) -> tuple[list[str], list[str], list[int], str, int]:
        """The tokens of ``text``: their keys, texts and offsets (three lists, index by index);
        their keys as one string, a character per token (:attr:`codes`); and the offset where
        lexing stopped: ``len(text)``, or where no terminal reads the text (the tokens end before
        it)."""
        texts, offsets, codes, end = self.cut(text)
        return list(map(self.names.__getitem__, codes)), texts, offsets, codes, end

    def cut(self, text: str, start: int = 0) -> tuple[list[str], list[int], str, int]:
        """:meth:`split` without the list of keys (the string of codes says them), from the
        offset ``start`` on."""
        texts, offsets, codes, end, _ = self.part(text, start, len(text))
        return texts, offsets, codes, end

    def part(self, text: str, start: int, stop: int) -> tuple[list[str], list[int], str, int, bool]:
        """The tokens of ``text[start:stop]`` as :meth:`cut` gives them, where ``stop`` is the end
        of the text or follows a newline (only if :attr:`by_lines`), and whether the tokens read
        all of it (no gap). Before the end of the text, the last piece is left out, as the text
        after ``stop`` might go on with it: every other piece read only what comes before its
        newline, so it is the piece of the whole text, and the returned end is where the piece
        left out starts."""
        pieces = self.regex.findall(text, start, stop)
        offsets = list(accumulate(map(len, pieces), initial=start))
        end = stop
        whole = offsets[-1] == end
        if not whole:  # findall skipped text no terminal reads: cut before the first gap
            cut = next((i for i, (p, o) in enumerate(zip(pieces, offsets)) if not text.startswith(p, o)),
                       len(pieces))
            del pieces[cut:]
            end = offsets[cut]
        elif end < len(text) and pieces:
            pieces.pop()
            end = offsets[-2]
        del offsets[len(pieces):]
        texts = pieces if self.strip is None else list(map(str.rstrip, pieces, repeat(self.strip)))
        # Each token's code by the first character of its piece (a piece is never empty) where
        # that tells, else by the token: each distinct such token and each keyword's spelling
        # classified once. All of it is done by C loops (translate, map, compress, join).
        firsts = "".join(map(itemgetter(0), pieces))
        by_first: Any
        if self.first_codes is not None and firsts.isascii():
            by_first = firsts.translate(self.first_codes)
            unsure = by_first.encode("latin-1").translate(_UNSURE_MASK)  # 1 where unsure, else 0
        else:
            by_first = list(map(self.sure.get, firsts))
            unsure = map(not_, by_first)
        exceptions = dict(self.spelled)
        exceptions.update(self.classify(set(compress(texts, unsure))))
        codes = "".join(map(exceptions.get, texts, by_first))
        ignored = self.codes[IGNORED]
        if ignored in codes:
            kept: Any = (codes.encode("latin-1").translate(self.kept) if self.kept is not None
                         else list(map(ignored.__ne__, codes)))
            texts, offsets = list(compress(texts, kept)), list(compress(offsets, kept))
            codes = codes.replace(ignored, "")
        return texts, offsets, codes, end, whole


def _blank(patterns: list[str], keys: list[str], firsts: list[frozenset[str] | None]) -> tuple[frozenset[str], str] | None:
    """The characters of the ignored whitespace (a pattern ``[...]+`` of ASCII characters) and
    its pattern, if whitespace may follow a token in its piece: no token may start or end with one
    of them, and no other ignored terminal (a comment) may start with one, and each alone starts
    with its first characters (then its piece is known as ignored whatever its end). None where
    that does not hold."""
    found = None
    for key, pattern in zip(keys, patterns):
        items = list(_sre.parse(pattern)) if key == IGNORED else []
        if len(items) == 1 and str(items[0][0]) == "MAX_REPEAT" and items[0][1][0] == 1:
            inner = list(items[0][1][2])
            if len(inner) == 1 and str(inner[0][0]) == "IN" and all(
                    str(op) in ("LITERAL", "RANGE") for op, _ in inner[0][1]):
                chars = _one_char("IN", inner[0][1])
                if chars and _NON_ASCII not in chars:
                    found = (frozenset(chars), pattern)
    if found is None:
        return None
    blank, blank_pattern = found
    for key, pattern, first in zip(keys, patterns, firsts):
        if pattern == blank_pattern:
            continue
        if first is None or first & blank:
            return None
        if key == IGNORED:
            if any(len([f for f in firsts if f is None or c in f]) > 1 for c in first):
                return None
            continue
        last = last_chars(pattern)
        if last is None or last & blank:
            return None
    return found


def _fast_order(branches: list[tuple[str, str, frozenset[str] | None]]) -> list[tuple[str, str, frozenset[str] | None]]:
    """The branches in an order that reads the same tokens: two that may start with the same
    character keep lark's order; otherwise those that start with a fixed character come first."""
    def cheap(pattern: str) -> bool:
        try:
            items = list(_sre.parse(pattern))
        except re.error:
            return False
        return bool(items) and str(items[0][0]) in ("LITERAL", "IN", "NOT_LITERAL")

    costly = [not cheap(pattern) for _, pattern, _ in branches]  # each pattern parsed once
    remaining = list(enumerate(branches))
    out = []
    while remaining:
        def free(position: int) -> bool:
            _, (_, _, first) = remaining[position]
            return all(f is not None and first is not None and not f & first for _, (_, _, f) in remaining[:position])
        ready = [p for p in range(len(remaining)) if free(p)]
        best = min(ready, key=lambda p: (costly[remaining[p][0]], remaining[p][0]))
        out.append(remaining.pop(best)[1])
    return out


def _consumed(pattern: str) -> frozenset[str] | None:
    """The characters a match of ``pattern`` may read (as :func:`first_chars`; None if that is
    not known)."""
    def chars(items: Any) -> set[str] | None:
        out: set[str] = set()
        for op, arg in items:
            name = str(op)
            if name == "SUBPATTERN":
                inner = chars(arg[-1])
            elif name == "BRANCH":
                found = [chars(b) for b in arg[1]]
                inner = None if any(f is None for f in found) else set().union(*(f for f in found if f is not None))
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                inner = chars(arg[2])
            elif name == "ATOMIC_GROUP":
                inner = chars(arg)
            elif name in ("AT", "ASSERT", "ASSERT_NOT"):
                continue
            else:
                inner = _one_char(name, arg)
            if inner is None:
                return None
            out |= inner
        return out

    try:
        found = chars(_sre.parse(pattern))
    except Exception:  # a construct of a later Python: not known
        return None
    return None if found is None else frozenset(found)


def _run_of_chars(pattern: str) -> bool:
    """Whether ``pattern`` is a run of characters of one set (``[...]+``, ``\\s*``): a match takes
    every such character in a row and never gives one back."""
    try:
        items = list(_sre.parse(pattern))
    except Exception:
        return False
    if len(items) != 1 or str(items[0][0]) not in ("MAX_REPEAT", "POSSESSIVE_REPEAT"):
        return False
    low, high, inner = items[0][1]
    inner = list(inner)
    return str(high) == str(_sre.MAXREPEAT) and len(inner) == 1 and str(inner[0][0]) in ("IN", "LITERAL", "CATEGORY")


@functools.lru_cache(maxsize=256)  # asked of each character's terminal: the same few patterns
def _context_free(pattern: str) -> bool:
    """Whether ``pattern`` matches without looking around or back (no anchors, lookarounds or
    back references): then a text it matches stays matched whatever follows it."""
    def free(items: Any) -> bool:
        for op, arg in items:
            name = str(op)
            if name in ("AT", "ASSERT", "ASSERT_NOT", "GROUPREF", "GROUPREF_EXISTS"):
                return False
            if name == "SUBPATTERN" and not free(arg[-1]):
                return False
            if name == "BRANCH" and not all(free(b) for b in arg[1]):
                return False
            if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and not free(arg[2]):
                return False
            if name == "ATOMIC_GROUP" and not free(arg):
                return False
        return True

    try:
        return free(_sre.parse(pattern))
    except Exception:  # a construct of a later Python: taken as not known
        return False


def first_chars(pattern: str) -> frozenset[str] | None:
    """The characters a match of ``pattern`` may start with: ASCII ones, and "" for any other;
    None if that is not known (an empty match, a construct this does not read): then it is taken
    to start with anything."""
    return _ends(pattern, reverse=False)


def last_chars(pattern: str) -> frozenset[str] | None:
    """The characters a match of ``pattern`` may end with (as :func:`first_chars`)."""
    return _ends(pattern, reverse=True)


def _ends(pattern: str, reverse: bool) -> frozenset[str] | None:
    try:
        chars, nullable = _first(list(_sre.parse(pattern)), reverse)
    except Exception:  # a construct of a later Python: the table then tries this terminal always
        return None
    return None if nullable or chars is None else frozenset(chars)


def _first(items: list[Any], reverse: bool) -> tuple[set[str] | None, bool]:
    """What a sequence of parsed items may start (or, ``reverse``, end) with, and whether it may
    match the empty text."""
    chars: set[str] = set()
    for op, arg in reversed(items) if reverse else items:
        name = str(op)
        if name in ("AT", "ASSERT", "ASSERT_NOT"):  # zero width: the next item starts the match
            continue
        if name == "SUBPATTERN":
            first, nullable = _first(list(arg[-1]), reverse) if not (arg[1] or arg[2]) else (None, True)
        elif name == "BRANCH":
            branches = [_first(list(b), reverse) for b in arg[1]]
            if any(f is None for f, _ in branches):
                return None, True
            first = set().union(*(f for f, _ in branches if f is not None))
            nullable = any(n for _, n in branches)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            first, nullable = _first(list(arg[2]), reverse)
            nullable = nullable or arg[0] == 0
        else:
            first, nullable = _one_char(name, arg), False
        if first is None:
            return None, True
        chars |= first
        if not nullable:
            return chars, False
    return chars, True


_CATEGORIES: dict[str, Any] = {
    "CATEGORY_DIGIT": str.isdigit, "CATEGORY_SPACE": str.isspace,
    "CATEGORY_WORD": lambda c: c.isalnum() or c == "_",
}


def _one_char(name: str, arg: Any) -> set[str] | None:
    """The characters one single-character item matches (None: not such an item)."""
    if name == "LITERAL":
        return {chr(arg) if arg < 128 else _NON_ASCII}
    if name == "NOT_LITERAL":
        return {c for c in _ASCII if ord(c) != arg} | {_NON_ASCII}
    if name == "ANY":
        return set(_ASCII) | {_NON_ASCII}
    if name != "IN":
        return None
    matched: set[str] = set()
    negate = False
    for op, value in arg:
        kind = str(op)
        if kind == "NEGATE":
            negate = True
        elif kind == "LITERAL":
            matched.add(chr(value) if value < 128 else _NON_ASCII)
        elif kind == "RANGE":
            matched |= {c for c in _ASCII if value[0] <= ord(c) <= value[1]}
            if value[1] >= 128:
                matched.add(_NON_ASCII)
        elif kind == "CATEGORY":
            category = str(value)
            test = _CATEGORIES.get(category.replace("NOT_", "").replace("UNI_", ""))
            if test is None:
                return None
            inside = {c for c in _ASCII if test(c)}
            matched |= (set(_ASCII) - inside if "NOT_" in category else inside) | {_NON_ASCII}
        else:
            return None
    return (set(_ASCII) - matched) | {_NON_ASCII} if negate else matched
