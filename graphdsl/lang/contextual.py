"""The template grammar's parse, fast, making the tree lark's own parser makes.

A template is parsed from the grammar's ``template`` start rule (and a string's ``{...}`` from
``interpolation``) with lark's contextual lexer: at each parser state, a token is read with only
the terminals that state accepts (``a -1`` is a subtraction, ``[-1]`` a negative number). Run
through lark's own parser, a template of 10,000 statements took more than a second, most of it in
lark's per-token machinery. Two faster ways make the same tree (the same rules, tokens and
positions; ``tests/test_template_parse.py`` compares them with lark's):

- :func:`tree_builders`: builders for :class:`graphdsl.lang.driver.Driver`, which reads a plain
  spec (the text lexed at once, each statement replayed from what the tables did with one of the
  same terminals). Lexing at once reads every token as the contextual lexer does wherever the
  tables accept it; where they do not (``a -1``, where the contextual lexer reads a minus, or a
  keyword glued to a name), the driver rejects the text and the loop below reads it.
- :class:`ContextualParser`: one loop that lexes as it parses, per parser state with one regular
  expression of the terminals the state accepts, in the order of lark's lexer (keywords read by
  the name pattern and then told apart, as lark's lexer does).

Both build the tree lark builds for the grammar's options (tokens of ``_`` terminals left out,
``_rule`` spliced into its parent, ``?rule`` of one child replaced by it, aliases, and the positions
lark's ``propagate_positions`` gives each tree, worked out from offsets when first asked for). A
text the loop rejects raises :class:`Rejected`; the caller then runs lark's parser, which says why
(or, were the two ever to disagree, parses it). No TensorFlow here.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Any, Callable

from lark import Lark, Token, Tree
from lark.tree import Meta

from graphdsl.lang.lalr_tables import Rule, Tables, Terminal
from graphdsl.lang.lexer import _uncaptured, lark_order
from graphdsl.lang.driver import END, Rejected
from graphdsl.lang.pieces import first_chars
from graphdsl.lang.programs import Splice, flat


# A token as the loops keep it: (terminal, text, offset).
_Tok = tuple[str, str, int]


class _Node:
    """A reduced rule on the stack: its value (a Tree, a Token, or the children of a spliced
    rule as a list), and the offsets where the text it covers starts and ends (None if none)."""

    __slots__ = ("value", "start", "end")

    def __init__(self, value: Any, start: int | None, end: int | None) -> None:
        self.value, self.start, self.end = value, start, end


class ContextualParser:
    """The LALR tables of one grammar (those of lark's LALR parser, with its contextual lexer)."""

    def __init__(self, tables: Tables | Lark) -> None:
        """``tables``: the grammar's stored tables (:func:`graphdsl.lang.grammar.tables`: no
        parser of lark's is loaded), or lark's parser of it, whose tables are taken."""
        if not isinstance(tables, Tables):
            tables = Tables.from_lark(tables)
        self.start_states: dict[str, Any] = dict(tables.start_states)
        self.end_states: dict[str, Any] = dict(tables.end_states)
        terminals = {t.name: t for t in tables.terminals}
        self.ignore = frozenset(tables.ignore)
        # Per state: terminal -> next state (a shift, >= 0) or ~ the rule's index (a reduce); and
        # rule name -> next state (gotos).
        self.rules: list[tuple[Any, ...]] = [_rule(rule) for rule in tables.rules]
        self.rows: dict[Any, dict[str, int]] = {}
        self.gotos: dict[Any, dict[str, Any]] = {}
        lexer_keys: dict[Any, frozenset[str]] = {}
        for state, actions in tables.states.items():
            row: dict[str, int] = {}
            gotos: dict[str, Any] = {}
            for name, (shift, arg) in actions.items():
                if not shift:
                    row[name] = ~arg
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
            _, origin, _, _, _, _, _, unit = self.rules[~action]
            if not unit:
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
        lines = Lines(text)
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
            token: _Tok = (kind, word, start_at)
            while True:
                action = rows[state].get(kind)
                if action is None:
                    raise Rejected(start_at)
                if action >= 0:
                    states.append(action)
                    values.append(token)
                    break
                count, origin, name, keep, splice, expand_one, inline, unit = rules[~action]
                if unit:
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
                node = _reduce(children, name, keep, splice, expand_one, inline, lines)
                state = gotos[states[-1]][origin]
                states.append(state)
                values.append(node)
                if state == end_state and kind == END:
                    return node.value  # type: ignore[no-any-return]
            position = after


def _reduce(children: list[Any], name: str, keep: tuple[bool, ...], splice: tuple[bool, ...],
            expand_one: bool, inline: bool, lines: Lines) -> _Node:
    """The value of a rule reduced from ``children`` (tokens and nodes), as lark's tree builder
    makes it: tokens of filtered terminals left out, spliced rules' children in their place."""
    kept: list[Any] = []
    start = end = None
    if inline and splice and splice[0] and type(children[0]) is _Node:
        # A left-recursive helper rule (x: x item): its children grow in place, not copied
        # into a new list at each item.
        grown = children[0]
        kept, start, end = grown.value, grown.start, grown.end
        children = children[1:]
        keep, splice = keep[1:], splice[1:]
    for index, child in enumerate(children):
        if type(child) is tuple:
            kind, word, offset = child
            if start is None:
                start = offset
            end = offset + len(word)
            if keep[index]:
                kept.append(_token(kind, word, offset, lines))
        else:
            if child.start is not None:
                if start is None:
                    start = child.start
                end = child.end
            if splice[index]:
                kept += child.value
            else:
                kept.append(child.value)
    if inline:  # a _rule: its children go into its parent's
        return _Node(kept, start, end)
    if expand_one and len(kept) == 1:
        return _alone(kept[0], start, end)
    return _Node(_tree(name, kept, start, end, lines), start, end)


def _alone(only: Any, start: int | None, end: int | None) -> _Node:
    """A ?rule whose one child stands for it: lark places a lone token by itself, and a tree by
    the text of the rule (its container)."""
    if isinstance(only, Token):
        return _Node(only, only.start_pos, only.end_pos)
    return _Node(only, start, end)


_new = object.__new__
_new_str = str.__new__


def _token(kind: str, word: str, start: int, lines: Lines) -> PositionedToken:
    """The token as lark's lexer makes it (the fields Token() sets, without its checks), its
    lines and columns worked out when asked for."""
    made: PositionedToken = _new_str(PositionedToken, word)
    made.type, made.value, made.start_pos, made.end_pos, made.lines = kind, word, start, start + len(word), lines
    return made


def _tree(name: str, children: list[Any], start: int | None, end: int | None, lines: Lines) -> PositionedTree:
    tree: PositionedTree = _new(PositionedTree)
    tree.__dict__ = {"data": name, "children": children, "_meta": None, "start": start, "end": end, "lines": lines}
    return tree


class Lines:
    """Where the lines of a text start, found when first asked for: the line and column of an
    offset as lark's lexer counts them (lines at '\\n', columns from 1)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts: list[int] | None = None

    def position(self, offset: int) -> tuple[int, int]:
        starts = self.starts
        if starts is None:
            starts = self.starts = [0, *(found.end() for found in re.finditer("\n", self.text))]
        line = bisect_right(starts, offset)
        return line, offset - starts[line - 1] + 1


class PositionedToken(Token):
    """lark's Token, made with its offsets: its lines and columns are worked out when first
    asked for."""

    __slots__ = ("lines",)
    lines: Lines

    def __getattr__(self, name: str) -> Any:
        # Only called for a field not set yet: the positions, all set at once.
        if name not in _POSITIONS:
            raise AttributeError(name)
        self.line, self.column = self.lines.position(self.start_pos or 0)
        self.end_line, self.end_column = self.lines.position(self.end_pos or 0)
        return object.__getattribute__(self, name)


_POSITIONS = frozenset({"line", "column", "end_line", "end_column"})


class PositionedTree(Tree[Token]):
    """lark's Tree, made with the offsets of its text: its ``meta`` (positions as lark's
    ``propagate_positions`` sets them) is made from them when first asked for."""

    start: int | None
    end: int | None
    lines: Lines

    @property
    def meta(self) -> Meta:
        if self._meta is None:
            meta = self._meta = Meta()
            start, end = self.start, self.end
            if start is not None and end is not None:
                meta.line, meta.column = self.lines.position(start)
                meta.end_line, meta.end_column = self.lines.position(end)
                meta.start_pos, meta.end_pos = start, end
                meta.empty = False
        return self._meta

    def offsets(self) -> tuple[int, int] | None:
        """Where the tree's text starts and ends (None for a tree of no text)."""
        start, end = self.start, self.end
        return None if start is None or end is None else (start, end)


def _rule(rule: Rule) -> tuple[Any, ...]:
    """What a reduce needs of a rule: its number of symbols, its name in the tables, the
    name of the tree it makes, which of its symbols' tokens are kept, which are spliced rules,
    whether one child stands for the rule (``?rule``), whether the rule is spliced itself, and
    whether it is a ?rule of one symbol that stands for it (a reduce that only changes the state)."""
    origin = rule.origin
    keep = tuple(not (filtered and not rule.keep_all_tokens) for filtered in rule.filtered)
    splice = tuple(not is_term and symbol.startswith("_") for symbol, is_term in rule.expansion)
    name = rule.alias or origin
    expand_one = rule.expand1 and not rule.alias
    unit = expand_one and len(keep) == 1 and keep[0] and not splice[0]
    return len(rule.expansion), origin, name, keep, splice, expand_one, rule.tree is None, unit


class _Lexer:
    """One parser state's terminals as one expression: what is ignored, then one named group
    per terminal in lark's order; ``unless`` tells a keyword apart from the name that reads it."""

    def __init__(self, terminals: list[Terminal], ignored: list[Terminal]) -> None:
        terminals = sorted(terminals, key=lark_order)
        self.unless: dict[str, dict[str, str]] = {}
        embedded: set[str] = set()
        for regexp in (t for t in terminals if t.pattern.type == "re"):
            compiled = re.compile(regexp.pattern.to_regexp())
            for word in (t for t in terminals if t.pattern.type == "str"):
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


def _skippable(terminals: dict[str, Terminal], ignore: frozenset[str]) -> bool:
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


Builders = dict[str, Callable[[list[Any]], Any]]


def tree_builders(tables: Tables | Lark) -> Callable[[Lines], Builders] | None:
    """Builders that make lark's tree for :class:`graphdsl.lang.driver.Driver` run over a
    grammar's ``tables`` (or those of lark's parser of it) with ``build_expanded``: given a text's
    :class:`Lines`, a builder per rule name, which gets a rule's children as the driver hands them
    (tokens as ``(terminal, text, offset)``, spliced rules' children in their place) and keeps
    what lark keeps. None if lark's tree builder would keep or drop a token by more than whether
    its terminal's name starts with '_' (then these builders cannot tell)."""
    if not isinstance(tables, Tables):
        tables = Tables.from_lark(tables)
    expand: dict[str, bool] = {}  # builder name -> whether one kept child stands for the rule
    for rule in tables.rules:
        if rule.keep_all_tokens or any(is_term and filtered != symbol.startswith("_")
                                       for (symbol, is_term), filtered in zip(rule.expansion, rule.filtered)):
            return None
        one, name = rule.expand1 and not rule.alias, rule.tree
        if one and len(rule.expansion) == 1 and rule.expansion[0][1] and rule.expansion[0][0].startswith("_"):
            return None  # the driver would put the token it drops in the rule's place
        if name is not None:
            if expand.setdefault(name, one) != one:
                return None  # two rules of one name, one stood for by its child and one not

    def builders(lines: Lines) -> Builders:
        return {name: _builder(name, one, lines) for name, one in expand.items()}

    return builders


def _builder(name: str, expand_one: bool, lines: Lines) -> Callable[[list[Any]], _Node]:
    def build(children: list[Any]) -> _Node:
        kept: list[Any] = []
        start = end = None
        for child in children:
            kind = type(child)
            if kind is tuple:
                terminal, word, offset = child
                if start is None:
                    start = offset
                end = offset + len(word)
                if terminal[0] != "_":
                    # _token() inline: a template has a token to keep for every two or three.
                    made = _new_str(PositionedToken, word)
                    made.type, made.value, made.start_pos, made.end_pos, made.lines = (
                        terminal, word, offset, end, lines)
                    kept.append(made)
            elif kind is Splice:  # the children of a spliced rule, handed on whole (rare)
                return build(flat(children))
            else:
                if child.start is not None:
                    if start is None:
                        start = child.start
                    end = child.end
                kept.append(child.value)
        if expand_one and len(kept) == 1:
            return _alone(kept[0], start, end)
        tree: PositionedTree = _new(PositionedTree)
        tree.__dict__ = {"data": name, "children": kept, "_meta": None, "start": start, "end": end, "lines": lines}
        node: _Node = _new(_Node)  # _Node(), inline: a node per rule
        node.value, node.start, node.end = tree, start, end
        return node

    return build
