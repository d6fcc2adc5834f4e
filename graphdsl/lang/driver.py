"""The fast parse: the grammar's LALR tables, run by one loop that builds syntax nodes directly.

Lark compiles ``grammar/graphdsl.lark`` into LALR tables (:func:`graphdsl.lang.grammar.load`).
:meth:`Driver.parse` reads tokens with the lexer's :class:`~graphdsl.lang.lexer.Scanner` and
shifts and reduces as those tables say, calling a builder for each rule it reduces, so no lark
``Token`` or ``Tree`` is made: that is most of what a plain lark parse costs. The shape of what the
builders get follows lark's conventions for trees that keep all tokens: a rule named ``_x`` (and
lark's helper rules for ``*``, ``+`` and ``?``) is spliced into its parent, a ``?rule`` with one
child is that child, an alias (``-> name``) names the rule.

A text the tables reject raises :class:`Rejected`; lark's own parser, with the same lexer and
tables, then says why (:mod:`graphdsl.lang.syntax_errors`). No TensorFlow here.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from lark import Lark
from lark.parsers.lalr_analysis import Shift

from graphdsl.lang.lexer import NAME, Scanner

END = "$END"
# A token as the builders get it: (terminal name, text, line, column).
TokenTuple = tuple[str, str, int, int]

_BUILD, _SPLICE, _EXPAND = 0, 1, 2


class Rejected(Exception):
    """The text is not in the language (no detail: lark's parser finds and explains the error)."""


class Splice(list):  # type: ignore[type-arg]
    """The children of an inlined rule, on their way into their parent's."""


class Driver:
    """The LALR tables of one loaded grammar, ready to run."""

    def __init__(self, lark: Lark, start: str = "start") -> None:
        # lark keeps the tables of its LALR parser here (lark 1.x); tests/test_parser.py fails
        # by name if a release moves them.
        table = lark.parser.parser.parser.parse_table
        self.start_state = table.start_states[start]
        self.end_state = table.end_states[start]
        # Each state's actions on a terminal, as one int: a shift is the next state (>= 0), a
        # reduce is ~ the rule's index in self.rules (< 0). Its gotos: rule name -> next state.
        self.rules: list[tuple[int, str, str, int, bool]] = []
        self.states: dict[Any, dict[str, int]] = {}
        self.gotos: dict[Any, dict[str, Any]] = {}
        numbers: dict[int, int] = {}
        for state, actions in table.states.items():
            row: dict[str, int] = {}
            gotos: dict[str, Any] = {}
            for symbol, (action, arg) in actions.items():
                if action is not Shift:
                    if id(arg) not in numbers:
                        numbers[id(arg)] = len(self.rules)
                        self.rules.append(_rule(arg))
                    row[str(symbol)] = ~numbers[id(arg)]
                elif symbol.isupper() or symbol == END:  # a terminal (lark names rules in lower case)
                    row[str(symbol)] = arg
                else:
                    gotos[str(symbol)] = arg
            self.states[state] = row
            self.gotos[state] = gotos
        self.scanner = Scanner(lark.lexer_conf.terminals, lark.lexer_conf.ignore)
        # lark numbers its states 0, 1, ...: then a list indexed by state is a faster lookup.
        self.rows: Any = self.states
        self.goto_rows: Any = self.gotos
        if set(self.states) == set(range(len(self.states))):
            self.rows = [self.states[i] for i in range(len(self.states))]
            self.goto_rows = [self.gotos[i] for i in range(len(self.gotos))]

    def parse(self, text: str, builders: Mapping[str, Callable[[list[Any]], Any]]) -> Any:
        """Parse ``text``; ``builders[rule](children)`` makes the value of each rule reduced.

        Children are :data:`TokenTuple` for tokens and builders' values for rules, in order.
        Raises :class:`Rejected` where the text leaves the grammar.
        """
        states, gotos, end_state = self.rows, self.goto_rows, self.end_state
        # What each reduce does, with its builder looked up once per parse.
        rules = [(size, origin, builders[name] if mode == _BUILD else None, mode, splices)
                 for size, origin, name, mode, splices in self.rules]
        scanner = self.scanner
        match, group_names, keywords, word = (
            scanner.regex.match, scanner.group_names, scanner.keywords, scanner.word)
        state = self.start_state
        state_stack: list[Any] = [state]
        value_stack: list[Any] = []
        push_state, push_value = state_stack.append, value_stack.append
        pos, end, line, line_start = 0, len(text), 1, 0
        token: TokenTuple | None
        while True:
            found = match(text, pos)
            group = found.lastindex  # type: ignore[union-attr]
            if group is not None:
                start, after = found.span(group)  # type: ignore[union-attr]
            else:
                start = after = found.end()  # type: ignore[union-attr]
            if start > pos:  # ignored text (whitespace, comments) holds the line breaks
                newlines = text.count("\n", pos, start)
                if newlines:
                    line += newlines
                    line_start = text.rfind("\n", pos, start) + 1
            if group is not None:
                kind = group_names[group]
                value = text[start:after]
                pos = after
                if kind == NAME and value in keywords:
                    kind = word(states[state], value)
                token = (kind, value, line, start - line_start + 1)
            elif start < end:
                raise Rejected(start)
            else:
                kind, token = END, None
            while True:
                step = states[state].get(kind)
                if step is None:
                    raise Rejected(pos)
                if step >= 0:  # shift
                    state = step
                    push_state(state)
                    push_value(token)
                    break
                size, origin, build, mode, splices = rules[~step]
                if size == 1 and mode != _BUILD:
                    # One child, spliced or expanded into the parent: it stands for the rule.
                    state = gotos[state_stack[-2]][origin]
                    state_stack[-1] = state
                    continue  # never the end: the end state follows a reduce of the start rule
                if mode == _SPLICE and type(value_stack[-size]) is Splice:
                    # A left-recursive helper rule (x: x item): the splice grows in place.
                    grown = value_stack[-size]
                    for child in value_stack[1 - size:]:
                        if type(child) is Splice:
                            grown.extend(child)
                        else:
                            grown.append(child)
                    del value_stack[1 - size:]
                    del state_stack[-size:]
                else:
                    if size:
                        children = value_stack[-size:]
                        del value_stack[-size:]
                        del state_stack[-size:]
                    else:
                        children = []
                    if build is None:
                        push_value(_splice(children))
                    else:
                        push_value(build(_flat(children) if splices else children))
                state = gotos[state_stack[-1]][origin]
                push_state(state)
                if state == end_state and kind == END:
                    return value_stack[-1]


def _rule(rule: Any) -> tuple[int, str, str, int, bool]:
    """What a reduce needs of a lark rule: its number of symbols, its name in the tables, its
    builder's name, its mode, and whether any of its children may be a splice."""
    origin = str(rule.origin.name)  # lark's names are Tokens: plain strings compare faster
    splices = any(not symbol.is_term and symbol.name.startswith("_") for symbol in rule.expansion)
    if rule.alias:
        return len(rule.expansion), origin, str(rule.alias), _BUILD, splices
    mode = _SPLICE if origin.startswith("_") else (_EXPAND if rule.options.expand1 else _BUILD)
    return len(rule.expansion), origin, origin, mode, splices


def _splice(children: list[Any]) -> Splice:
    return Splice(_flat(children))


def _flat(children: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for child in children:
        if type(child) is Splice:
            flat.extend(child)
        else:
            flat.append(child)
    return flat
