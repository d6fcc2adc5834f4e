"""The template grammar's parse, fast: lark's LALR tables run by one loop that lexes as it parses.

A template is parsed from the grammar's ``template`` start rule (and a string's ``{...}`` from
``interpolation``) with lark's contextual lexer: at each parser state, a token is read with only
the terminals that state accepts (``a -1`` is a subtraction, ``[-1]`` a negative number). Run
through lark's own parser, a template of 10,000 statements took more than a second, most of it in
lark's per-token machinery. :class:`ContextualParser` does the same work in one loop: per parser
state, one regular expression of the terminals the state accepts, in the order of lark's lexer
(keywords read by the name pattern and then told apart, as lark's lexer does); the tables' shifts
and reduces; and the tree lark makes for the grammar's options (tokens of ``_`` terminals left
out, ``_rule`` spliced into its parent, ``?rule`` of one child replaced by it, aliases, and the
positions lark's ``propagate_positions`` gives each tree). ``tests/test_template_parse.py``
compares its trees with lark's.

A text it rejects raises :class:`Rejected`; the caller then runs lark's parser, which says why
(or, were the two ever to disagree, parses it). No TensorFlow here.
"""

from __future__ import annotations

import re
from typing import Any

from lark import Lark, Token, Tree
from lark.lexer import PatternRE, PatternStr, TerminalDef
from lark.parsers.lalr_analysis import Shift
from lark.tree import Meta

from graphdsl.lang.lexer import _uncaptured
from graphdsl.lang.pieces import first_chars

END = "$END"


class Rejected(Exception):
    """The text is not in the language, or not read by these tables (lark's parser says why)."""


# A token as the loop keeps it: (terminal, text, offset, line, column, and line, column and offset
# just after it), the fields of lark's Token in their order.
_Tok = tuple[str, str, int, int, int, int, int, int]


class _Node:
    """A reduced rule on the stack: its value (a Tree, a Token, or the children of a spliced
    rule as a list), and the first and last token of the text it covers (None if none)."""

    __slots__ = ("value", "first", "last")

    def __init__(self, value: Any, first: _Tok | None, last: _Tok | None) -> None:
        self.value, self.first, self.last = value, first, last


class ContextualParser:
    """The LALR tables of one loaded grammar (lark's LALR parser with its contextual lexer)."""

    def __init__(self, lark: Lark) -> None:
        # lark keeps the tables of its LALR parser here (lark 1.x); tests/test_template_parse.py
        # fails by name if a release moves them.
        table = lark.parser.parser.parser.parse_table
        self.start_states: dict[str, Any] = dict(table.start_states)
        self.end_states: dict[str, Any] = dict(table.end_states)
        terminals = {t.name: t for t in lark.lexer_conf.terminals}
        self.ignore = frozenset(lark.lexer_conf.ignore)
        # Per state: terminal -> next state (a shift, >= 0) or ~ the rule's index (a reduce); and
        # rule name -> next state (gotos).
        self.rules: list[tuple[Any, ...]] = []
        numbers: dict[int, int] = {}
        self.rows: dict[Any, dict[str, int]] = {}
        self.gotos: dict[Any, dict[str, Any]] = {}
        lexer_keys: dict[Any, frozenset[str]] = {}
        for state, actions in table.states.items():
            row: dict[str, int] = {}
            gotos: dict[str, Any] = {}
            for symbol, (action, arg) in actions.items():
                name = str(symbol)
                if action is not Shift:
                    if id(arg) not in numbers:
                        numbers[id(arg)] = len(self.rules)
                        self.rules.append(_rule(arg))
                    row[name] = ~numbers[id(arg)]
                elif name in terminals or name == END:
                    row[name] = arg
                else:
                    gotos[name] = arg
            self.rows[state] = row
            self.gotos[state] = gotos
            lexer_keys[state] = frozenset(name for name in row if name in terminals)
        # One lexer per set of accepted terminals, made when a parse first reaches such a state.
        self._terminals = terminals
        self._lexer_keys = lexer_keys
        self._lexers: dict[frozenset[str], _Lexer] = {}
        self.lexers: dict[Any, _Lexer] = {}
        self.usable = _skippable(terminals, self.ignore)
        self.chains: dict[tuple[Any, Any, str], Any] = {}

    def _chain(self, below: Any, state: Any, kind: str) -> Any:
        """The state after the reduces of one child that stand for their rule, one after the
        other, from ``state`` (above ``below``) on the token ``kind``."""
        while True:
            action = self.rows[state].get(kind)
            if action is None or action >= 0:
                return state
            _, origin, _, keep, splice, expand_one, _ = self.rules[~action]
            if not (expand_one and len(keep) == 1 and keep[0] and not splice[0]):
                return state
            state = self.gotos[below][origin]

    def lexer(self, state: Any) -> _Lexer:
        """The lexer of the terminals ``state`` accepts."""
        key = self._lexer_keys[state]
        lexer = self._lexers.get(key)
        if lexer is None:
            lexer = self._lexers[key] = _Lexer([self._terminals[n] for n in key],
                                                [self._terminals[n] for n in self.ignore])
        self.lexers[state] = lexer
        return lexer

    def parse(self, text: str, start: str) -> Tree[Token]:
        """The tree lark's parser makes of ``text`` from the start rule ``start``; :class:`Rejected`
        where the text leaves the grammar (or lexing it needs more than these lexers do)."""
        if not self.usable:
            raise Rejected(0)
        rows, gotos, rules, lexers, chains = self.rows, self.gotos, self.rules, self.lexers, self.chains
        end_state = self.end_states[start]
        states: list[Any] = [self.start_states[start]]
        values: list[Any] = []
        position, size = 0, len(text)
        line, line_start = 1, 0  # the line at ``position``, and the offset where it starts
        while True:
            state = states[-1]
            lexer = lexers.get(state) or self.lexer(state)
            found = lexer.regex.match(text, position)  # it matches, if only the empty text
            if found is None or found.lastgroup is None:  # no token: the end, or a character none reads
                skipped_to = found.end() if found is not None else position
                if skipped_to < size:
                    raise Rejected(skipped_to)
                kind, word, start_at = END, "", size
                after = size
            else:
                kind = found.lastgroup
                start_at, after = found.span(kind)
                word = text[start_at:after]
                keyword = lexer.unless.get(kind)
                if keyword is not None:
                    kind = keyword.get(word, kind)
            newlines = text.count("\n", position, start_at)
            if newlines:
                line += newlines
                line_start = text.rfind("\n", position, start_at) + 1
            column = start_at - line_start + 1
            if "\n" not in word:
                token: _Tok = (kind, word, start_at, line, column, line, column + len(word), after)
            else:
                token = (kind, word, start_at, line, column, line + word.count("\n"),
                         after - (start_at + word.rfind("\n")), after)
            while True:
                action = rows[state].get(kind)
                if action is None:
                    raise Rejected(start_at)
                if action >= 0:
                    states.append(action)
                    values.append(token)
                    break
                count, origin, name, keep, splice, expand_one, inline = rules[~action]
                if expand_one and count == 1 and keep[0] and not splice[0]:
                    # A ?rule of one child: the child stands for it (lark puts it in its place).
                    # Such reduces come in chains (an expression's levels of precedence), which
                    # depend only on the state below, the state and the token: worked out once.
                    key = (states[-2], state, kind)
                    found_state = chains.get(key)
                    if found_state is None:
                        found_state = chains[key] = self._chain(states[-2], state, kind)
                    state = found_state
                    states[-1] = state
                    continue
                if count:
                    children = values[-count:]
                    del values[-count:]
                    del states[-count:]
                else:
                    children = []
                node = _reduce(children, name, keep, splice, expand_one, inline)
                state = gotos[states[-1]][origin]
                states.append(state)
                values.append(node)
                if state == end_state and kind == END:
                    return node.value  # type: ignore[no-any-return]
            position = after
            if "\n" in word:
                line += word.count("\n")
                line_start = start_at + word.rfind("\n") + 1


def _reduce(children: list[Any], name: str, keep: tuple[bool, ...], splice: tuple[bool, ...],
            expand_one: bool, inline: bool) -> _Node:
    """The value of a rule reduced from ``children`` (tokens and nodes), as lark's tree builder
    makes it: tokens of filtered terminals left out, spliced rules' children in their place."""
    kept: list[Any] = []
    first = last = None
    if inline and splice and splice[0] and type(children[0]) is _Node:
        # A left-recursive helper rule (x: x item): its children grow in place, not copied
        # into a new list at each item.
        grown = children[0]
        kept, first, last = grown.value, grown.first, grown.last
        children = children[1:]
        keep, splice = keep[1:], splice[1:]
    for index, child in enumerate(children):
        if type(child) is tuple:
            if first is None:
                first = child
            last = child
            if keep[index]:
                # The token as lark's lexer makes it (the fields Token() sets, without its checks).
                made = _new_str(Token, child[1])
                made.type, made.value, made.start_pos, made.line, made.column, \
                    made.end_line, made.end_column, made.end_pos = child
                kept.append(made)
        else:
            if child.first is not None:
                if first is None:
                    first = child.first
                last = child.last
            if splice[index]:
                kept += child.value
            else:
                kept.append(child.value)
    if inline:  # a _rule: its children go into its parent's
        return _Node(kept, first, last)
    if expand_one and len(kept) == 1:
        only = kept[0]
        if type(only) is Token:  # lark places a lone token by itself, not by the rule's text
            where: _Tok = (only.type, only.value, only.start_pos or 0, only.line or 1, only.column or 1,
                           only.end_line or 1, only.end_column or 1, only.end_pos or 0)
            return _Node(only, where, where)
        return _Node(only, first, last)
    tree = _new(PositionedTree)
    tree.__dict__ = {"data": name, "children": kept, "_meta": None, "first": first, "last": last}
    return _Node(tree, first, last)


class PositionedTree(Tree[Token]):
    """lark's Tree, made with the first and last token of its text: its ``meta`` (positions as
    lark's ``propagate_positions`` sets them) is made from them when first asked for."""

    first: _Tok | None
    last: _Tok | None

    @property
    def meta(self) -> Meta:
        if self._meta is None:
            meta = self._meta = Meta()
            first, last = self.first, self.last
            if first is not None and last is not None:
                meta.line, meta.column, meta.start_pos = first[3], first[4], first[2]
                meta.end_line, meta.end_column, meta.end_pos = last[5], last[6], last[7]
                meta.empty = False
        return self._meta

    def offsets(self) -> tuple[int, int] | None:
        """Where the tree's text starts and ends (None for a tree of no text)."""
        first, last = self.first, self.last
        return None if first is None or last is None else (first[2], last[7])


_new = object.__new__
_new_str = str.__new__


def _rule(rule: Any) -> tuple[Any, ...]:
    """What a reduce needs of a lark rule: its number of symbols, its name in the tables, the
    name of the tree it makes, which of its symbols' tokens are kept, which are spliced rules,
    whether one child stands for the rule (``?rule``), and whether the rule is spliced itself."""
    origin = str(rule.origin.name)
    keep_all = bool(rule.options.keep_all_tokens)
    keep = tuple(not (symbol.is_term and symbol.filter_out and not keep_all) for symbol in rule.expansion)
    splice = tuple(not symbol.is_term and str(symbol.name).startswith("_") for symbol in rule.expansion)
    name = str(rule.alias) if rule.alias else origin
    expand_one = bool(rule.options.expand1) and not rule.alias
    return (len(rule.expansion), origin, name, keep, splice, expand_one,
            origin.startswith("_") and not rule.alias)


class _Lexer:
    """One parser state's terminals as one expression: what is ignored, then one named group
    per terminal in lark's order; ``unless`` tells a keyword apart from the name that reads it."""

    def __init__(self, terminals: list[TerminalDef], ignored: list[TerminalDef]) -> None:
        terminals = sorted(terminals, key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
        self.unless: dict[str, dict[str, str]] = {}
        embedded: set[str] = set()
        for regexp in (t for t in terminals if isinstance(t.pattern, PatternRE)):
            compiled = re.compile(regexp.pattern.to_regexp())
            for word in (t for t in terminals if isinstance(t.pattern, PatternStr)):
                value = word.pattern.value
                found = compiled.match(value)
                if word.priority == regexp.priority and found is not None and found.group(0) == value:
                    self.unless.setdefault(regexp.name, {})[value] = word.name
                    if set(word.pattern.flags) <= set(regexp.pattern.flags):
                        embedded.add(word.name)
        skip = "|".join(f"(?:{_uncaptured(t.pattern.to_regexp())})" for t in ignored)
        tokens = "|".join(f"(?P<{t.name}>{_uncaptured(t.pattern.to_regexp())})"
                          for t in terminals if t.name not in embedded)
        self.regex = re.compile(f"(?:{skip})*(?:{tokens})?" if skip else f"(?:{tokens})?")


def _skippable(terminals: dict[str, TerminalDef], ignore: frozenset[str]) -> bool:
    """Whether what is ignored can be skipped before each token: no ignored terminal may start
    with a character a token may start with (else lark's order between them would matter)."""
    ignored = [first_chars(terminals[n].pattern.to_regexp()) for n in ignore if n in terminals]
    tokens = [first_chars(t.pattern.to_regexp()) for name, t in terminals.items() if name not in ignore]
    skipped: set[str] = set()
    for chars in ignored:
        if chars is None:
            return False
        skipped |= chars
    return all(chars is not None and not chars & skipped for chars in tokens)
