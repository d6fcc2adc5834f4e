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
# A token as the builders get it: (terminal name, text, offset in the text).
TokenTuple = tuple[str, str, int]

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
        # Per state, what each keyword's spelling reads as there (Scanner.word, worked out once).
        keywords = self.scanner.keywords
        self.words: Any = (
            [{w: self.scanner.word(row, w) for w in keywords} for row in self.rows]
            if isinstance(self.rows, list)
            else {state: {w: self.scanner.word(row, w) for w in keywords} for state, row in self.states.items()})

    def parse(self, text: str, builders: Mapping[str, Callable[[list[Any]], Any]]) -> Any:
        """Parse ``text``; ``builders[rule](children)`` makes the value of each rule reduced.

        Children are :data:`TokenTuple` for tokens and builders' values for rules, in order.
        Raises :class:`Rejected` where the text leaves the grammar.
        """
        gotos, end_state, words = self.goto_rows, self.end_state, self.words
        actions = self._actions(builders)
        group_names = self.scanner.group_names
        state = self.start_state
        state_stack: list[Any] = [state]
        value_stack: list[Any] = []
        push_state, push_value = state_stack.append, value_stack.append
        end = len(text)
        token: TokenTuple | None
        # One match per token (ignored text first); the expression also matches the empty text at
        # the end, and where no token starts, the text is not in the language.
        for found in self.scanner.regex.finditer(text):
            group = found.lastindex
            if group is not None:
                start, after = found.span(group)
                kind = group_names[group]
                value = text[start:after]
                if kind == NAME:  # a keyword where the parser takes it (see Scanner.word)
                    kind = words[state].get(value, NAME)
                token = (kind, value, start)
            elif found.end() < end:
                raise Rejected(found.end())
            else:
                kind, token = END, None
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
                    raise Rejected(found.start())
                size, origin, build, splices = step
                if build is None and type(value_stack[-size]) is Splice:
                    # A left-recursive helper rule (x: x item): the splice grows in place.
                    grown = value_stack[-size]
                    if size == 2:
                        child = value_stack.pop()
                        state_stack.pop()
                        if type(child) is Splice:
                            grown.extend(child)
                        else:
                            grown.append(child)
                    else:
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
                    push_value(_splice(children))
                else:
                    push_value(build(_flat(children) if splices else children))
                state = gotos[state_stack[-1]][origin]
                push_state(state)
                if state == end_state and kind == END:
                    return value_stack[-1]
        raise Rejected(end)  # not reached: the last match is the empty one at the end

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
