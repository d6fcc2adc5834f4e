"""The fast parse: the grammar's LALR tables, run by one loop that builds syntax nodes directly.

Lark compiles ``grammar/graphdsl.lark`` into LALR tables, stored beside it as plain data
(:func:`graphdsl.lang.grammar.tables`: reading them imports no lark).
:meth:`Driver.parse` shifts and reduces as those tables say, calling a builder for each rule it
reduces, so no lark ``Token`` or ``Tree`` is made: that is most of what a plain lark parse costs.
It lexes the text a long part at a time (:mod:`graphdsl.lang.pieces`) and takes it statement by statement
through a trie of what the tables do with each sequence of terminals (:mod:`graphdsl.lang.programs`);
:meth:`Driver.run` runs the tables token by token over what the trie does not take (the end of the
text, a statement they reject), and over the :class:`~graphdsl.lang.lexer.Scanner`'s tokens where
the grammar allows neither (another start rule, terminals the whole-text lexer cannot read). The shape of what the
builders get follows lark's conventions for trees that keep all tokens: a rule named ``_x`` (and
lark's helper rules for ``*``, ``+`` and ``?``) is spliced into its parent, a ``?rule`` with one
child is that child, an alias (``-> name``) names the rule.

A text the tables reject raises :class:`Rejected`; lark's own parser, with the same lexer and
tables, then says why (:mod:`graphdsl.lang.syntax_errors`). No TensorFlow here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping

from graphdsl.lang.lalr_tables import Rule, Tables
from graphdsl.lang.lexer import NAME, Scanner
from graphdsl.lang.pieces import Pieces
from graphdsl.lang.programs import MAX_NODES, Programs, Splice, flat
from graphdsl.lang.units import UNIT, ListRule, Units

if TYPE_CHECKING:
    from lark import Lark

END = "$END"
# A token as the builders get it: (terminal name, text, offset in the text).
TokenTuple = tuple[str, str, int]

_BUILD, _SPLICE, _EXPAND = 0, 1, 2
# A long text is lexed and parsed this many characters at a time (and a bit more, to a newline):
# its tokens take the memory of one part, not of the whole text.
PART = 1 << 16


class Rejected(Exception):
    """The text is not in the language (no detail: lark's parser finds and explains the error)."""


class Driver:
    """The LALR tables of one loaded grammar, ready to run."""

    def __init__(self, tables: Tables | Lark, start: str = "start", name: str = NAME, build_expanded: bool = False,
                 used_only: bool = False, lists: ListRule | None = None) -> None:
        """``tables`` are a grammar's LALR tables (or lark's parser of it, whose tables are taken);
        ``name`` is the terminal that reads keywords' spellings; with ``build_expanded``, a
        ``?rule`` of several symbols is built by its builder (which decides whether one child
        stands for it, as lark does with the tokens it filters out) rather than spliced; with
        ``used_only``, the text is lexed with only the terminals some state of the tables
        accepts (as lark's contextual lexer never reads another); ``lists`` names the grammar's
        list rule, whose lists of literals the fast parse then takes as units
        (:mod:`graphdsl.lang.units`)."""
        if not isinstance(tables, Tables):
            tables = Tables.from_lark(tables)
        self.start_state = tables.start_states[start]
        self.end_state = tables.end_states[start]
        # Each state's actions on a terminal, as one int: a shift is the next state (>= 0), a
        # reduce is ~ the rule's index in self.rules (< 0). Its gotos: rule name -> next state.
        self.rules: list[tuple[int, str, str, int, bool]] = [_rule(rule, build_expanded) for rule in tables.rules]
        self.states: dict[Any, dict[str, int]] = {}
        self.gotos: dict[Any, dict[str, Any]] = {}
        for state, actions in tables.states.items():
            row: dict[str, int] = {}
            gotos: dict[str, Any] = {}
            for symbol, (shift, arg) in actions.items():
                if not shift:
                    row[symbol] = ~arg
                elif symbol.isupper() or symbol == END:  # a terminal (lark names rules in lower case)
                    row[symbol] = arg
                else:
                    gotos[symbol] = arg
            self.states[state] = row
            self.gotos[state] = gotos
        terminals = list(tables.terminals)
        if used_only:
            used = {symbol for row in self.states.values() for symbol in row} | set(tables.ignore)
            terminals = [t for t in terminals if t.name in used]
        self.scanner = Scanner(terminals, tables.ignore, name)
        # lark numbers its states 0, 1, ...: then a list indexed by state is a faster lookup.
        self.rows: Any = self.states
        self.goto_rows: Any = self.gotos
        if set(self.states) == set(range(len(self.states))):
            self.rows = [self.states[i] for i in range(len(self.states))]
            self.goto_rows = [self.gotos[i] for i in range(len(self.gotos))]
        # Per state, what each keyword's spelling reads as there (Scanner.word, worked out once).
        keywords = self.scanner.keywords
        self.words: Any = (
            [{w: self.scanner.word(row, w) for w in keywords} for row in self.rows]
            if isinstance(self.rows, list)
            else {state: {w: self.scanner.word(row, w) for w in keywords} for state, row in self.states.items()})
        # The fast path: the whole text lexed at once, statements replayed from the trie; each
        # where the grammar allows it (else the tables run token by token over the scanner's).
        self.pieces: Pieces | None = Pieces(terminals, tables.ignore, keywords, name)
        if not self.pieces.usable or set(keywords) & {str(t.name) for t in terminals}:
            self.pieces = None
        self.between_state: Any = None
        self.programs: Programs | None = None
        self.units: Units | None = None
        statement = _repeated(tables.rules, start, build_expanded)
        if statement is not None and self.pieces is not None:
            helper, built = statement
            self.between_state = self.gotos[self.start_state].get(helper)
            if self.between_state is not None and built and not any(
                    size == 0 and mode != _BUILD for size, _, _, mode, _ in self.rules):
                steps = [(size, origin, name if mode == _BUILD else None, mode == _BUILD, splices)
                         for size, origin, name, mode, splices in self.rules]
                names = self.pieces.names
                if lists is not None:
                    self.units = Units(self.pieces.codes, *lists)
                    names = {**names, self.units.code: UNIT}
                self.programs = Programs(self.rows, self.goto_rows, self.words, steps,
                                         self.start_state, self.between_state, names, self.units)

    def parse(self, text: str, builders: Mapping[str, Callable[[list[Any]], Any]]) -> Any:
        """Parse ``text``; ``builders[rule](children)`` makes the value of each rule reduced.

        Children are :data:`TokenTuple` for tokens and builders' values for rules, in order.
        Raises :class:`Rejected` where the text leaves the grammar.
        """
        pieces, programs = self.pieces, self.programs
        if pieces is None or programs is None:
            tokens, end = self.scanner_tokens(text)
            complete = end == len(text)
            if complete:
                tokens.append((END, "", end))
            return self.run(tokens, 0, [self.start_state], [], builders, complete)
        if programs.nodes > MAX_NODES:
            programs.clear()
        units = self.units if UNIT in builders else None  # lists as units need their builder
        statements, position, units = self._parts(text, pieces, programs, builders, units)
        texts, offsets, codes, end = self._tail(text, position, pieces)
        collapsed = units.collapse(texts, offsets, codes) if units is not None else None
        made, start, _ = self._statements(*(collapsed or (texts, offsets, codes)), programs, builders,
                                          programs.between if statements else programs.first)
        if collapsed is not None:  # the tables read the tokens a unit stands for
            texts, offsets, codes, end = self._tail(text, collapsed[1][start] if start < len(collapsed[1]) else end,
                                                    pieces)
            start = 0
        complete = end == len(text)
        statements += made
        if not statements:
            states, values = [self.start_state], []
        else:
            states = [self.start_state, self.between_state]
            values = [statements[0] if len(statements) == 1 else Splice(statements)]
        # What the trie does not take (the end, a statement the tables reject) runs token by token.
        tokens = list(zip(map(pieces.names.__getitem__, codes[start:]), texts[start:], offsets[start:]))
        return self.run(tokens, 0, states, values, builders, complete)

    @staticmethod
    def _tail(text: str, position: int, pieces: Pieces) -> tuple[list[Any], list[int], str, int]:
        """The tokens of ``text`` from ``position`` on, as :meth:`Pieces.cut` gives them (with
        the end's if lexing reached it), and where lexing stopped."""
        texts, offsets, codes, end = pieces.cut(text, position)
        if end == len(text):
            texts.append("")
            offsets.append(end)
            codes += pieces.codes[END]
        return texts, offsets, codes, end

    @classmethod
    def _parts(cls, text: str, pieces: Pieces, programs: Programs,
               builders: Mapping[str, Callable[[list[Any]], Any]], units: Units | None
               ) -> tuple[list[Any], int, Units | None]:
        """The values of the statements of ``text`` read part by part (about :data:`PART`
        characters each, cut after a newline: see :meth:`graphdsl.lang.pieces.Pieces.part`), each
        part's tokens dropped before the next is lexed, so that they take the same memory over
        and over; the offset where the rest of the text (its last part, or from a statement the
        trie does not take on) starts; and ``units`` if lists are taken as units by then: from
        the part after one where the trie learned more nodes than it read statements (lists that
        vary in shape make statements of ever new shapes; where shapes repeat, a statement's
        program costs less than its units)."""
        statements: list[Any] = []
        position, size, node = 0, len(text), programs.first
        active = None
        part = PART
        while pieces.by_lines and size - position > 2 * part:
            stop = text.find("\n", position + part) + 1
            if stop <= 0 or size - stop < part:
                break
            texts, offsets, codes, end, whole = pieces.part(text, position, stop)
            if not whole:
                break
            if active is not None:
                texts, offsets, codes = active.collapse(texts, offsets, codes) or (texts, offsets, codes)
            nodes = programs.nodes
            made, start, stopped = cls._statements(texts, offsets, codes, programs, builders, node)
            statements += made
            if programs.nodes - nodes > len(made):
                active = units
            if made:
                position, node, part = (offsets[start] if start < len(offsets) else end), programs.between, PART
            if stopped < len(codes):  # the tables must run over what the trie did not take
                break
            if not made:  # a statement longer than the part: a longer part
                part *= 2
        return statements, position, active

    @staticmethod
    def _statements(texts: list[str], offsets: list[int], codes: str, programs: Programs,
                    builders: Mapping[str, Callable[[list[Any]], Any]],
                    node: dict[Any, Any]) -> tuple[list[Any], int, int]:
        """The values of the statements from ``node`` on (the trie's first node, or the node
        between two statements) that the trie knows or learns (:mod:`graphdsl.lang.programs`),
        the index of the token where they end, and that of the token where the walk stopped
        (``len(codes)`` if it ran out of tokens, less where the tables must take over)."""
        statements: list[Any] = []
        append = statements.append
        between, learn, find, startswith = programs.between, programs.learn, programs.find, codes.startswith
        root = node
        last: Any = None
        start = i = 0
        size = len(codes)
        while i < size:
            if node is between:
                # A whole statement by its keys: the one before's shape, or one seen before.
                program = last if last is not None and startswith(last.codes, i) else find(codes, i)
                if program is not None:
                    append(program.run(texts, offsets, i, builders))
                    i += program.size
                    start, last = i, program
                    continue
            # Token by token through the trie, learning the rest of a statement it does not know.
            step = node.get(codes[i])
            if step is None:
                step, i = learn(node, codes, i)
                if step is None:
                    break
            elif type(step) is dict:
                node = step
                i += 1
                continue
            append(step.run(texts, offsets, start, builders))
            if root is between and not step.codes:
                programs.remember(step, codes[start:i + 1])
            start, node = i, between
            root = between
            last = step if step.codes else None
        return statements, start, i

    def scanner_tokens(self, text: str) -> tuple[list[TokenTuple], int]:
        """The tokens of ``text`` read by the scanner's expression, match by match (keys as
        :meth:`graphdsl.lang.pieces.Pieces.split` gives them), and where lexing stopped."""
        tokens: list[TokenTuple] = []
        group_names, keywords, name = self.scanner.group_names, self.scanner.keywords, self.scanner.name
        for found in self.scanner.regex.finditer(text):
            group = found.lastindex
            if group is None:
                return tokens, found.end()
            start, after = found.span(group)
            kind, value = group_names[group], text[start:after]
            tokens.append((value if kind == name and value in keywords else kind, value, start))
        return tokens, len(text)  # not reached: the last match is the empty one at the end

    def run(self, tokens: list[TokenTuple], i: int, state_stack: list[Any], value_stack: list[Any],
            builders: Mapping[str, Callable[[list[Any]], Any]], complete: bool) -> Any:
        """Run the tables token by token over ``tokens[i:]`` from the given stacks; the value of
        the start rule, or :class:`Rejected` (also where ``complete`` is false: lexing stopped)."""
        gotos, end_state, words = self.goto_rows, self.end_state, self.words
        actions = self._actions(builders)
        state = state_stack[-1]
        push_state, push_value = state_stack.append, value_stack.append
        for index in range(i, len(tokens)):
            token = tokens[index]
            key, value, start = token
            kind = words[state].get(key, key)  # a keyword's spelling: what it reads as here
            if kind != key:
                token = (kind, value, start)
            while True:
                step = actions[state].get(kind)
                if type(step) is int:  # shift
                    state = step
                    push_state(state)
                    push_value(token)
                    break
                if type(step) is str:
                    # A rule of one child, spliced or expanded into its parent: the child stands
                    # for the rule. Never the end: that follows a reduce of the start rule.
                    state = gotos[state_stack[-2]][step]
                    state_stack[-1] = state
                    continue
                if step is None:
                    raise Rejected(start)
                size, origin, build, splices = step
                if build is None and type(value_stack[-size]) is Splice:
                    # A left-recursive helper rule (x: x item): the splice grows in place.
                    grown = value_stack[-size]
                    for child in value_stack[1 - size:]:
                        if type(child) is Splice:
                            grown.extend(child)
                        else:
                            grown.append(child)
                    del value_stack[1 - size:]
                    del state_stack[1 - size:]
                    state = gotos[state_stack[-2]][origin]
                    state_stack[-1] = state
                    continue
                if size:
                    children = value_stack[-size:]
                    del value_stack[-size:]
                    del state_stack[-size:]
                else:
                    children = []
                if build is None:
                    push_value(Splice(flat(children)))
                else:
                    push_value(build(flat(children) if splices else children))
                state = gotos[state_stack[-1]][origin]
                push_state(state)
                if state == end_state and kind == END:
                    return value_stack[-1]
        raise Rejected(tokens[-1][2] if tokens else 0)

    def _actions(self, builders: Mapping[str, Callable[[list[Any]], Any]]) -> Any:
        """Each state's actions for one parse, by terminal: a shift is the next state (an int); a
        reduce of one child that stands for its rule is the rule's name in the tables (a str);
        another reduce is (number of children, name in the tables, its builder or None for a
        spliced rule, whether a child may be a splice)."""
        steps: list[Any] = []
        for size, origin, name, mode, splices in self.rules:
            if size == 1 and mode != _BUILD:
                steps.append(origin)
            else:
                steps.append((size, origin, builders[name] if mode == _BUILD else None, splices))
        if isinstance(self.rows, list):
            return [{kind: step if step >= 0 else steps[~step] for kind, step in row.items()} for row in self.rows]
        return {state: {kind: step if step >= 0 else steps[~step] for kind, step in row.items()}
                for state, row in self.rows.items()}


def _rule(rule: Rule, build_expanded: bool = False) -> tuple[int, str, str, int, bool]:
    """What a reduce needs of a rule: its number of symbols, its name in the tables, its
    builder's name, its mode, and whether any of its children may be a splice (a ``?rule`` of
    several symbols is built where ``build_expanded``)."""
    origin, splices = rule.origin, rule.splices
    if rule.alias:
        return len(rule.expansion), origin, rule.alias, _BUILD, splices
    mode = _SPLICE if rule.tree is None else (_EXPAND if rule.expand1 else _BUILD)
    if mode == _EXPAND and build_expanded and len(rule.expansion) > 1:
        mode = _BUILD
    return len(rule.expansion), origin, origin, mode, splices


def _repeated(rules: tuple[Rule, ...], start: str, build_expanded: bool = False) -> tuple[str, bool] | None:
    """For a start rule ``start: _item*`` (lark's helper ``h: _item | h _item``): the helper's
    name, and whether every ``_item`` is one rule that is built (so that the first rule built
    right above the state between two items is the item); None for another start rule."""
    by_origin: dict[str, list[Rule]] = {}
    for rule in rules:
        by_origin.setdefault(rule.origin, []).append(rule)
    starts = [[symbol for symbol, _ in r.expansion] for r in by_origin.get(start, [])]
    helpers = [e[0] for e in starts if len(e) == 1]
    if sorted(map(len, starts)) != [0, 1] or helpers[0] not in by_origin:
        return None
    helper = helpers[0]
    expansions = sorted(([symbol for symbol, _ in r.expansion] for r in by_origin[helper]), key=len)
    if len(expansions) != 2 or len(expansions[0]) != 1 or expansions[1] != [helper, expansions[0][0]]:
        return None
    item = expansions[0][0]
    if not item.startswith("_") or any(r.expand1 or r.alias for r in by_origin.get(item, [])):
        return None
    alternatives = [r.expansion for r in by_origin.get(item, [])]
    built = bool(alternatives) and all(
        len(e) == 1 and not e[0][1] and _rule(r, build_expanded)[3] == _BUILD
        for e in alternatives for r in by_origin.get(e[0][0], []))
    return helper, built and all(len(e) == 1 and not e[0][1] and e[0][0] in by_origin for e in alternatives)
