"""The grammar of .gcomp specs, loaded once, and the words of its terminals.

Every keyword and punctuation mark of ``grammar/graphdsl.lark`` is a named terminal with a literal
pattern; :func:`words` reads them from the loaded grammar (and asks the LALR tables which of them
start a statement, a body entry or a value), so that syntax errors and the schema's keyword list
never hold a hand copy. No TensorFlow here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from lark import Lark
from lark.lexer import PatternStr

GRAMMAR_FILE = "graphdsl.lark"

# The terminals with a regular expression cannot be quoted: they are described. A test checks that
# every such terminal the parser can expect has a description here.
_DESCRIPTIONS = {
    "NAME": "a name",
    "STRING": "a string",
    "INT": "an integer",
    "FLOAT": "a number",
    "$END": "the end of the file",
}
_PAIRS = {"(": ")", "[": "]", "{": "}"}
# Texts that leave the parser inside each kind of body, to ask it which keywords start an entry.
_BODY_PROBES = ("copy A from s {", 'export k "p" {')
_VALUE_PROBE = "let x ="


def text() -> str:
    """The grammar's text: package data of ``graphdsl.grammar`` (or ``grammar/`` in a source tree)."""
    try:
        from importlib.resources import files

        return files("graphdsl.grammar").joinpath(GRAMMAR_FILE).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return (Path(__file__).parents[2] / "grammar" / GRAMMAR_FILE).read_text(encoding="utf-8")


@functools.cache
def load() -> Lark:
    """The grammar as one LALR parser with graphdsl's lexer; built on first use, then shared.

    Its tables and terminals drive graphdsl's own parse loop (:mod:`graphdsl.lang.driver`);
    lark's parser itself runs only on a text that loop rejects, to word the syntax error.
    """
    from graphdsl.lang.lexer import SpecLexer

    # strict=True would need the optional `interegular` package at run time; tests/test_parser.py
    # instead asserts that the LALR tables have no conflict.
    return Lark(text(), parser="lalr", lexer=SpecLexer, maybe_placeholders=False)


@dataclass(frozen=True)
class Words:
    """The terminals of the grammar in the user's words.

    ``quoted`` maps a terminal's name to how a message names it: ``'copy'``, ``'{'``, ``a string``.
    The sets hold terminal names.
    """

    quoted: dict[str, str]
    keywords: tuple[str, ...]  # the words, in the grammar's order: "graphdsl", "source", ...
    keyword_terminals: dict[str, str]  # terminal name -> keyword
    statement_start: frozenset[str]
    entry_keywords: tuple[str, ...]  # keywords that start a body entry: "variable", "bind", ...
    value_start: frozenset[str]
    openers: dict[str, str]  # terminal name of an opening bracket -> that of its closing one

    @property
    def value_keywords(self) -> frozenset[str]:
        """Keywords that are values wherever a value stands (``true``, ``false``)."""
        return frozenset(k for t, k in self.keyword_terminals.items() if t in self.value_start)

    @property
    def closers(self) -> frozenset[str]:
        """The terminal names of closing brackets."""
        return frozenset(self.openers.values())


@functools.cache
def words() -> Words:
    """The words of the loaded grammar's terminals (computed once)."""
    lark = load()
    literal = {t.name: t.pattern.value for t in lark.terminals if isinstance(t.pattern, PatternStr)}
    quoted = {name: f"'{value}'" for name, value in literal.items()}
    quoted.update(_DESCRIPTIONS)
    keyword_terminals = {name: value for name, value in literal.items() if value.isidentifier()}
    by_value = {value: name for name, value in literal.items()}
    openers = {by_value[o]: by_value[c] for o, c in _PAIRS.items() if o in by_value and c in by_value}
    entry_keywords = {keyword_terminals[t] for probe in _BODY_PROBES for t in _accepts(lark, probe)
                      if t in keyword_terminals}
    return Words(
        quoted=quoted,
        keywords=tuple(keyword_terminals.values()),
        keyword_terminals=keyword_terminals,
        statement_start=frozenset(_accepts(lark, "") - {"$END"}),
        entry_keywords=tuple(k for k in keyword_terminals.values() if k in entry_keywords),
        value_start=frozenset(_accepts(lark, _VALUE_PROBE)),
        openers=openers,
    )


def _accepts(lark: Lark, probe: str) -> set[str]:
    """The terminals the parser accepts after ``probe``."""
    interactive = lark.parse_interactive(probe)
    interactive.exhaust_lexer()
    return set(interactive.accepts())
