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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lark import Lark

    from graphdsl.lang.lalr_tables import Tables

GRAMMAR_FILE = "graphdsl.lark"

# The start rules of each language of the grammar: a plain spec, and a template (with the rule that
# parses the expression inside a string's {...}, which graphdsl/lang/template_parser.py uses).
STARTS = {"start": ("start",), "template": ("template", "interpolation")}

# The terminals with a regular expression cannot be quoted: they are described. A test checks that
# every such terminal the parser can expect has a description here.
_DESCRIPTIONS = {
    "NAME": "a name",
    "IDENT": "a name",
    "STRING": "a string",
    "INT": "an integer",
    "FLOAT": "a number",
    "$END": "the end of the file",
}
_PAIRS = {"(": ")", "[": "]", "{": "}"}
# Texts that leave the parser inside each kind of body, to ask it which keywords start an entry.
_BODY_PROBES = ("copy A from s {", 'export k "p" {')
# Where an operand starts: after '=' in a plain spec; after an operator in a template (where '='
# also takes 'not', which an operator does not).
_VALUE_PROBES = {"start": "let x =", "template": "let x = 1 +"}


def text() -> str:
    """The grammar's text: package data of ``graphdsl.grammar`` (or ``grammar/`` in a source tree)."""
    return data_file(GRAMMAR_FILE)


def data_file(name: str) -> str:
    """The text of the file ``name`` beside the grammar."""
    folder = _folder()
    if folder is not None:
        return (folder / name).read_text(encoding="utf-8")
    from importlib.resources import files  # an install that is not a folder (a zip)

    return files("graphdsl.grammar").joinpath(name).read_text(encoding="utf-8")


def other_grammar_files() -> list[str]:
    """The names of the ``*.lark`` files beside the grammar but its own, sorted."""
    folder = _folder()
    if folder is not None:
        names = [path.name for path in folder.iterdir()]
    else:
        from importlib.resources import files

        names = [entry.name for entry in files("graphdsl.grammar").iterdir()]
    return sorted(name for name in names if name.endswith(".lark") and name != GRAMMAR_FILE)


@functools.cache
def _folder() -> Path | None:
    """The folder of the grammar's files: package data ``graphdsl/grammar/`` of an install, or
    ``grammar/`` of the source tree (found by path: importlib.resources costs a check of a small
    spec a tenth of its time to import)."""
    here = Path(__file__).resolve().parents
    for folder in (here[1] / "grammar", here[2] / "grammar"):
        if (folder / GRAMMAR_FILE).is_file():
            return folder
    return None


def language_of(start: str) -> str:
    """The language (a key of :data:`STARTS`) whose parser has the start rule ``start``."""
    return next(language for language, starts in STARTS.items() if start in starts)


def load(language: str = "start") -> Lark:
    """The grammar as one LALR parser; made on first use per language, then shared.

    ``language`` is a key of :data:`STARTS`. A plain spec (``"start"``) gets graphdsl's lexer: its
    tables and terminals drive graphdsl's own parse loop (:mod:`graphdsl.lang.driver`), and lark's
    parser itself runs only on a text that loop rejects, to word the syntax error. A template
    (``"template"``, whose parser also has the start rule ``"interpolation"``: pass ``start=`` when
    parsing) gets lark's contextual lexer.

    The parser is read from the tables generated beside the grammar (:mod:`graphdsl.lang.lalr_tables`:
    no LALR analysis at run time); only when they do not match the grammar's text or the installed
    lark (a grammar edited without ``make tables``) is it built from the grammar by :func:`build`.
    """
    return _load(language)  # one cache entry per language, however the argument is passed


@functools.cache
def _load(language: str) -> Lark:
    """:func:`load`, cached by the language's name."""
    _known(language)
    from graphdsl.lang import lalr_tables

    return lalr_tables.read(language, text()) or build(language)


def tables(language: str = "start") -> Tables:
    """The LALR tables of ``language`` as plain data (:class:`graphdsl.lang.lalr_tables.Tables`),
    made once per language: read from the stored file without importing lark, or (a grammar
    edited without ``make tables``) taken from :func:`load`'s parser."""
    return _tables(language)


@functools.cache
def _tables(language: str) -> Tables:
    """:func:`tables`, cached by the language's name."""
    _known(language)
    from graphdsl.lang import lalr_tables

    return lalr_tables.tables(language, text()) or lalr_tables.Tables.from_lark(load(language))


def _known(language: str) -> None:
    if language not in STARTS:
        raise ValueError(f"unknown language {language!r}: one of {', '.join(STARTS)}")


def forget() -> None:
    """Drops the parsers, tables and words made so far: the next use reads the grammar's files
    again (after they changed)."""
    _load.cache_clear()
    _tables.cache_clear()
    words.cache_clear()


def build(language: str) -> Lark:
    """The parser of ``language`` (a key of :data:`STARTS`) made from the grammar's text by lark's
    LALR analysis (a few tenths of a second): what :mod:`graphdsl.lang.lalr_tables` stores."""
    # strict=True would need the optional `interegular` package at run time; tests/test_parser.py
    # instead asserts that the LALR tables have no conflict.
    from lark import Lark

    if language == "start":
        from graphdsl.lang.lark_lexer import SpecLexer

        return Lark(text(), parser="lalr", lexer=SpecLexer, maybe_placeholders=False,
                    start=list(STARTS[language]))
    return Lark(
        text(),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
        start=list(STARTS[language]),
    )


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

    def stored(self) -> dict[str, Any]:
        """The words as JSON data (sets sorted), as the stored tables keep them."""
        return {name: sorted(value) if isinstance(value, frozenset) else value
                for name, value in self.__dict__.items()}

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> Words:
        """The words kept by :meth:`stored`."""
        return cls(
            quoted=dict(data["quoted"]), keywords=tuple(data["keywords"]),
            keyword_terminals=dict(data["keyword_terminals"]),
            statement_start=frozenset(data["statement_start"]), entry_keywords=tuple(data["entry_keywords"]),
            value_start=frozenset(data["value_start"]), openers=dict(data["openers"]))

    @property
    def value_keywords(self) -> frozenset[str]:
        """Keywords that are values wherever a value stands (``true``, ``false``)."""
        return frozenset(k for t, k in self.keyword_terminals.items() if t in self.value_start)

    @property
    def closers(self) -> frozenset[str]:
        """The terminal names of closing brackets."""
        return frozenset(self.openers.values())


@functools.cache
def words(language: str = "start") -> Words:
    """The words of the terminals of one language of the grammar (computed once per language).

    Keywords are those the language's own rules use: a plain spec has no template keyword. They
    are read from the stored tables (no lark) when those are the grammar's.
    """
    stored = tables(language).words
    return Words.from_stored(stored) if stored is not None else words_of(load(language), language)


def words_of(lark: Lark, language: str) -> Words:
    """The words of ``language`` worked out from its parser ``lark`` (see :func:`words`)."""
    start = STARTS[language][0]
    used = _used_terminals(lark, STARTS[language])
    literal = {t.name: t.pattern.value for t in lark.terminals if t.pattern.type == "str"}
    quoted = {name: f"'{value}'" for name, value in literal.items()}
    quoted.update(_DESCRIPTIONS)
    keyword_terminals = {name: value for name, value in literal.items()
                         if value.isidentifier() and name in used}
    by_value = {value: name for name, value in literal.items()}
    openers = {by_value[o]: by_value[c] for o, c in _PAIRS.items() if o in by_value and c in by_value}
    entry_keywords = {keyword_terminals[t] for probe in _BODY_PROBES for t in _accepts(lark, probe, start)
                      if t in keyword_terminals}
    return Words(
        quoted=quoted,
        keywords=tuple(keyword_terminals.values()),
        keyword_terminals=keyword_terminals,
        statement_start=frozenset(_accepts(lark, "", start) - {"$END"}),
        entry_keywords=tuple(k for k in keyword_terminals.values() if k in entry_keywords),
        value_start=frozenset(_accepts(lark, _VALUE_PROBES[language], start)),
        openers=openers,
    )


def expression_terminals() -> frozenset[str]:
    """The terminals of a template's expressions (the rules reachable from ``interpolation``)."""
    return frozenset(_used_terminals(load("template"), ("interpolation",)))


def _used_terminals(lark: Lark, starts: tuple[str, ...]) -> set[str]:
    """The terminals of the rules reachable from ``starts`` (lark keeps every rule of the file)."""
    by_origin: dict[str, list] = {}
    for rule in lark.rules:
        by_origin.setdefault(rule.origin.name, []).append(rule)
    seen, todo, terminals = set(starts), list(starts), set()
    while todo:
        for rule in by_origin.get(todo.pop(), ()):
            for symbol in rule.expansion:
                if symbol.is_term:
                    terminals.add(symbol.name)
                elif symbol.name not in seen:
                    seen.add(symbol.name)
                    todo.append(symbol.name)
    return terminals


def _accepts(lark: Lark, probe: str, start: str) -> set[str]:
    """The terminals the parser accepts after ``probe``, parsing from ``start``."""
    interactive = lark.parse_interactive(probe, start=start)
    interactive.exhaust_lexer()
    return set(interactive.accepts())

