"""The grammar of .gcomp specs, loaded once, and the words of its terminals.

Every keyword and punctuation mark of ``grammar/graphdsl.lark`` is a named terminal with a literal
pattern; :func:`words` reads them from the loaded grammar (and asks the LALR tables which of them
start a statement, a body entry or a value), so that syntax errors and the schema's keyword list
never hold a hand copy. No TensorFlow here.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lark
from lark import Lark
from lark.lexer import PatternStr

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
    try:
        from importlib.resources import files

        return files("graphdsl.grammar").joinpath(GRAMMAR_FILE).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return (Path(__file__).parents[2] / "grammar" / GRAMMAR_FILE).read_text(encoding="utf-8")


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

    The parser comes from the tables generated into :mod:`graphdsl.lang.grammar_tables` (no LALR
    analysis at run time); only when they do not match the grammar's text or the installed lark
    (a grammar edited without ``make tables``) is it built from the grammar, as :func:`build` does.
    """
    return _load(language)  # one cache entry per language, however the argument is passed


@functools.cache
def _load(language: str) -> Lark:
    """:func:`load`, cached by the language's name."""
    if language not in STARTS:
        raise ValueError(f"unknown language {language!r}: one of {', '.join(STARTS)}")
    from graphdsl.lang import grammar_tables

    if grammar_tables.GRAMMAR_SHA256 == _sha256(text()) and grammar_tables.LARK_VERSION == lark.__version__:
        return _from_tables(grammar_tables.TABLES[language])
    return build(language)


load.cache_clear = _load.cache_clear  # type: ignore[attr-defined]  # as if load were cached itself


def build(language: str) -> Lark:
    """The parser of ``language`` (a key of :data:`STARTS`) made from the grammar's text by lark's
    LALR analysis (a few tenths of a second): what :mod:`graphdsl.lang.grammar_tables` stores."""
    # strict=True would need the optional `interegular` package at run time; tests/test_parser.py
    # instead asserts that the LALR tables have no conflict.
    if language == "start":
        from graphdsl.lang.lexer import SpecLexer

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


# The serialized parsers name graphdsl's lexer class by this string (the data holds no object).
_SPEC_LEXER = "graphdsl.lang.lexer.SpecLexer"
_PLAIN = (str, int, float, bool, type(None))


def tables(language: str) -> dict[str, Any]:
    """The parser of ``language`` built from the grammar, as lark serializes it (``Lark.save``
    without the pickle): nested dicts, lists, tuples, strings, numbers, booleans and None."""
    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    data, memo = build(language).memo_serialize([TerminalDef, Rule])
    data["parser"]["parser"] = _canonical(data["parser"]["parser"])
    table = _plain({"data": data, "memo": memo})
    return table  # type: ignore[no-any-return]


def _canonical(table: dict[str, Any]) -> dict[str, Any]:
    """The serialized LALR table numbered in one fixed order, so that generating it again gives
    the same text: lark numbers symbols and states in an order that varies with string hashing.
    Symbols go in name order; states in the order a breadth-first walk meets them, from the start
    rules in name order, along each state's shifts in symbol name order."""
    names: dict[int, str] = table["tokens"]
    symbols = sorted(names.values())
    number = {name: i for i, name in enumerate(symbols)}
    states: dict[int, dict[int, tuple[int, Any]]] = table["states"]

    def by_name(actions: dict[int, tuple[int, Any]]) -> list[tuple[str, tuple[int, Any]]]:
        return sorted(((names[token], step) for token, step in actions.items()), key=lambda item: item[0])

    order: dict[int, int] = {}
    todo = [table["start_states"][start] for start in sorted(table["start_states"])]
    while todo:
        state = todo.pop(0)
        if state in order:
            continue
        order[state] = len(order)
        todo += [arg for _, (action, arg) in by_name(states[state]) if action == 0]  # 0: shift
    if len(order) != len(states):
        raise ValueError("the LALR table has states no start rule reaches")
    return {
        **table,
        "tokens": dict(enumerate(symbols)),
        "states": {order[state]: {number[name]: (action, order[arg] if action == 0 else arg)
                                  for name, (action, arg) in by_name(states[state])}
                   for state in sorted(states, key=order.__getitem__)},
        "start_states": {start: order[state] for start, state in sorted(table["start_states"].items())},
        "end_states": {start: order[state] for start, state in sorted(table["end_states"].items())},
    }


def _plain(value: Any) -> Any:
    """``value`` with graphdsl's lexer class replaced by its name; ValueError at anything else
    that is not plain data (so that the generated module is data and nothing else)."""
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, type) and f"{value.__module__}.{value.__qualname__}" == _SPEC_LEXER:
        return _SPEC_LEXER
    if isinstance(value, _PLAIN):
        return value
    raise ValueError(f"the serialized grammar holds {value!r}, which is not plain data")


def _from_tables(table: dict[str, Any]) -> Lark:
    data = dict(table["data"])
    options = data["options"] = dict(data["options"])
    parser = data["parser"] = dict(data["parser"])
    lexer_conf = parser["lexer_conf"] = dict(parser["lexer_conf"])
    if options["lexer"] == _SPEC_LEXER:
        from graphdsl.lang.lexer import SpecLexer

        options["lexer"] = lexer_conf["lexer_type"] = SpecLexer
    # lark's own loader of a saved parser (Lark.load), given the data instead of a pickle.
    loaded = Lark._load_from_dict(data, table["memo"])
    loaded.ignore_tokens = tuple(loaded.lexer_conf.ignore)  # set by Lark() only
    return loaded


def _format(value: Any, column: int, indent: int = 0) -> str:
    """``repr(value)`` in lines of at most about 120 characters: a container too long for its line
    has its items on the lines below, four spaces in, as many a line as fit."""
    text = repr(value)
    if column + len(text) <= 120 or not isinstance(value, (dict, list, tuple)) or not value:
        return text
    inner = indent + 4
    if isinstance(value, dict):
        items = [f"{k!r}: {_format(v, inner + 2 + len(repr(k)), inner)}" for k, v in value.items()]
        opening, closing = "{", "}"
    else:
        items = [_format(v, inner, inner) for v in value]
        opening, closing = ("[", "]") if isinstance(value, list) else ("(", ")")
    lines: list[str] = []
    for item in items:
        if lines and "\n" not in item and "\n" not in lines[-1] and len(lines[-1]) + len(item) + 2 <= 120:
            lines[-1] += f" {item},"
        else:
            lines.append(f"{' ' * inner}{item},")
    return opening + "\n" + "\n".join(lines) + "\n" + " " * indent + closing


def _sha256(grammar_text: str) -> str:
    return hashlib.sha256(grammar_text.encode("utf-8")).hexdigest()


def write_tables(path: str | Path | None = None) -> Path:
    """Generate :mod:`graphdsl.lang.grammar_tables` from the grammar (``make tables``)."""
    target = Path(path) if path is not None else Path(__file__).with_name("grammar_tables.py")
    body = _format({language: tables(language) for language in STARTS}, len("TABLES = "))
    target.write_text(
        '"""The LALR parsers of ``grammar/graphdsl.lark``, serialized by lark: generated by ``make tables``\n'
        "(:func:`graphdsl.lang.grammar.write_tables`), do not edit.\n\n"
        "Plain data, read by :func:`graphdsl.lang.grammar.load` so that no start of graphdsl runs lark's\n"
        "LALR analysis. ``tests/test_grammar_tables.py`` fails when this file is stale; a stale file is\n"
        'not used (the grammar is then analysed at run time, as before).\n"""\n\n'
        f"GRAMMAR_SHA256 = {_sha256(text())!r}\n"
        f"LARK_VERSION = {lark.__version__!r}\n\n"
        f"TABLES = {body}\n",
        encoding="utf-8",
    )
    return target


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
def words(language: str = "start") -> Words:
    """The words of the terminals of one language of the grammar (computed once per language).

    Keywords are those the language's own rules use: a plain spec has no template keyword.
    """
    lark = load(language)
    start = STARTS[language][0]
    used = _used_terminals(lark, STARTS[language])
    literal = {t.name: t.pattern.value for t in lark.terminals if isinstance(t.pattern, PatternStr)}
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


if __name__ == "__main__":
    print(f"wrote {write_tables()}")
