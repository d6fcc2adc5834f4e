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
        rules: dict[int, tuple[int, str, str, int, bool]] = {}
        self.states: dict[Any, dict[str, tuple[bool, Any]]] = {}
        for state, actions in table.states.items():
            row: dict[str, tuple[bool, Any]] = {}
            for symbol, (action, arg) in actions.items():
                if action is Shift:
                    row[str(symbol)] = (True, arg)
                else:
                    row[str(symbol)] = (False, rules.setdefault(id(arg), _rule(arg)))
            self.states[state] = row
        self.scanner = Scanner(lark.lexer_conf.terminals, lark.lexer_conf.ignore)

    def parse(self, text: str, builders: Mapping[str, Callable[[list[Any]], Any]]) -> Any:
        """Parse ``text``; ``builders[rule](children)`` makes the value of each rule reduced.

        Children are :data:`TokenTuple` for tokens and builders' values for rules, in order.
        Raises :class:`Rejected` where the text leaves the grammar.
        """
        states, end_state = self.states, self.end_state
        scanner = self.scanner
        match, group_names, keywords, word = (
            scanner.regex.match, scanner.group_names, scanner.keywords, scanner.word)
        state_stack: list[Any] = [self.start_state]
        value_stack: list[Any] = []
        pos, end, line, line_start = 0, len(text), 1, 0
        token: TokenTuple | None
        while True:
            found = match(text, pos)
            group = found.lastindex  # type: ignore[union-attr]
            start = found.start(group) if group else found.end()  # type: ignore[union-attr]
            if start > pos:  # ignored text (whitespace, comments) holds the line breaks
                newlines = text.count("\n", pos, start)
                if newlines:
                    line += newlines
                    line_start = text.rfind("\n", pos, start) + 1
            if group is not None:
                kind = group_names[group]
                value = found.group(group)  # type: ignore[union-attr]
                pos = found.end()  # type: ignore[union-attr]
                if kind == NAME and value in keywords:
                    kind = word(states[state_stack[-1]], value)
                token = (kind, value, line, start - line_start + 1)
            elif start < end:
                raise Rejected(start)
            else:
                kind, token = END, None
            while True:
                step = states[state_stack[-1]].get(kind)
                if step is None:
                    raise Rejected(pos)
                shift, arg = step
                if shift:
                    state_stack.append(arg)
                    value_stack.append(token)
                    break
                size, origin, name, mode, splices = arg
                if size == 1 and mode != _BUILD:
                    # One child, spliced or expanded into the parent: it stands for the rule.
                    state_stack.pop()
                elif mode == _SPLICE and type(value_stack[-size]) is Splice:
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
                    if mode == _SPLICE:
                        value_stack.append(_splice(children))
                    else:
                        value_stack.append(builders[name](_flat(children) if splices else children))
                state_stack.append(states[state_stack[-1]][origin][1])
                if kind == END and state_stack[-1] == end_state:
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
