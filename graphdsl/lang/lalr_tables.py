"""The grammar's LALR parsers stored as JSON beside it, so that no start of graphdsl analyses it.

lark's LALR analysis of ``grammar/graphdsl.lark`` takes a few tenths of a second per language of
:data:`graphdsl.lang.grammar.STARTS`. ``make tables`` (``python -m graphdsl.lang.lalr_tables``) runs it
once, at development time, and writes ``grammar/graphdsl.LANGUAGE.json``: lark's own serialization
of the parser (what ``Lark.save`` would pickle), with the LALR table numbered in a fixed order so
that one grammar always gives the same file, one table row and one rule or terminal per line, and
the words of the language's terminals (:class:`graphdsl.lang.grammar.Words`).
``tests/test_grammar_tables.py`` fails while a file is stale.

The file is read two ways. :func:`tables` reads it as plain data (:class:`Tables`: the states, the
rules, the terminals and the words), without importing lark: that is all graphdsl's own parse needs
(:mod:`graphdsl.lang.driver`), and importing lark costs about as much CPU as the rest of checking a
small spec. :func:`read` makes lark's parser from it with lark's own loader, for what still runs
lark's parser (wording a syntax error, the template grammar's lexer). Each gives None when the file
was made from another grammar text (a grammar edited without ``make tables``), :func:`read` also
when it was made by another lark release; the caller then analyses the grammar as before.

JSON, not a pickle nor a Python module: reading it runs no code, and it needs no compiling.
No TensorFlow here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphdsl.lang import grammar

if TYPE_CHECKING:
    from lark import Lark

FORMAT = 2
# The serialized parser names graphdsl's lexer class by this string (the file holds no object).
_SPEC_LEXER = "graphdsl.lang.lark_lexer.SpecLexer"
_SHIFT, _REDUCE = 0, 1  # lark's codes of the two actions in a serialized table


# Plain classes, not dataclasses: every check makes them, and a dataclass costs its start a
# fraction of a millisecond to define.
class Pattern:
    """A terminal's pattern, with what lark's ``PatternStr`` (``type`` "str": a literal ``value``)
    and ``PatternRE`` (``type`` "re") give of it: :meth:`to_regexp` and ``max_width``. ``width``
    is that of its matches, for "re" (None: not stored)."""

    __slots__ = ("type", "value", "flags", "width")

    def __init__(self, type: str, value: str, flags: tuple[str, ...], width: tuple[int, int] | None) -> None:
        self.type, self.value, self.flags, self.width = type, value, flags, width

    def to_regexp(self) -> str:
        value = self.value if self.type == "re" else re.escape(self.value)
        for flag in self.flags:  # as lark applies them
            value = f"(?{flag}:{value})"
        return value

    @property
    def max_width(self) -> int:
        if self.type == "str":
            return len(self.value)
        if self.width is None:
            raise ValueError(f"the width of /{self.value}/ was not stored")
        return self.width[1]


class Terminal:
    """A terminal of the grammar, as lark's ``TerminalDef`` has it."""

    __slots__ = ("name", "pattern", "priority")

    def __init__(self, name: str, pattern: Pattern, priority: int) -> None:
        self.name, self.pattern, self.priority = name, pattern, priority


class Rule:
    """A rule of the LALR tables: ``origin: expansion`` (each symbol's name, and whether it is a
    terminal), its alias (``-> name``), whether it is a ``?rule`` (lark's ``expand1``), and what
    lark's tree keeps of it: for each symbol, whether it is a terminal whose token the tree leaves
    out (``filter_out``), unless the rule keeps all its tokens (``keep_all_tokens``)."""

    __slots__ = ("origin", "expansion", "alias", "expand1", "filtered", "keep_all_tokens")

    def __init__(self, origin: str, expansion: tuple[tuple[str, bool], ...], alias: str | None,
                 expand1: bool, filtered: tuple[bool, ...], keep_all_tokens: bool) -> None:
        self.origin, self.expansion, self.alias, self.expand1 = origin, expansion, alias, expand1
        self.filtered, self.keep_all_tokens = filtered, keep_all_tokens

    @property
    def tree(self) -> str | None:
        """The name of the tree lark makes of the rule: its alias, else its name; None for a
        spliced rule (a name starting with '_', no alias), whose children take its place."""
        return self.alias or (None if self.origin.startswith("_") else self.origin)

    @property
    def splices(self) -> bool:
        """Whether one of the rule's symbols is a spliced rule."""
        return any(not is_term and symbol.startswith("_") for symbol, is_term in self.expansion)


class Tables:
    """An LALR parser as plain data: ``states[state][symbol]`` is ``(True, next state)`` for a
    shift (a goto, for a rule's name) or ``(False, index in rules)`` for a reduce; the states of
    each start rule at its start and once it is reduced; the lexer's terminals (lark's order of
    declaration) and the names of those it ignores; the language's words, where the file has them
    (the fields of :class:`graphdsl.lang.grammar.Words`)."""

    __slots__ = ("states", "start_states", "end_states", "rules", "terminals", "ignore", "words")

    def __init__(self, states: dict[int, dict[str, tuple[bool, int]]], start_states: dict[str, int],
                 end_states: dict[str, int], rules: tuple[Rule, ...], terminals: tuple[Terminal, ...],
                 ignore: tuple[str, ...], words: dict[str, Any] | None = None) -> None:
        self.states, self.start_states, self.end_states = states, start_states, end_states
        self.rules, self.terminals, self.ignore, self.words = rules, terminals, ignore, words

    @classmethod
    def from_lark(cls, lark: Lark) -> Tables:
        """The tables of a parser lark made (read from the file, or analysed from the grammar)."""
        table = lark.parser.parser.parser.parse_table  # lark 1.x; tests/test_parser.py checks it
        rules: list[Rule] = []
        numbers: dict[int, int] = {}
        states: dict[int, dict[str, tuple[bool, int]]] = {}
        for state, actions in table.states.items():
            row: dict[str, tuple[bool, int]] = {}
            for symbol, (action, arg) in actions.items():
                if action.name == "Shift":
                    row[str(symbol)] = (True, arg)
                    continue
                if id(arg) not in numbers:
                    numbers[id(arg)] = len(rules)
                    rules.append(Rule(str(arg.origin.name), tuple((str(s.name), bool(s.is_term)) for s in arg.expansion),
                                      None if arg.alias is None else str(arg.alias), bool(arg.options.expand1),
                                      tuple(bool(s.is_term and s.filter_out) for s in arg.expansion),
                                      bool(arg.options.keep_all_tokens)))
                row[str(symbol)] = (False, numbers[id(arg)])
            states[state] = row
        terminals = tuple(Terminal(str(t.name), Pattern(t.pattern.type, t.pattern.value, tuple(t.pattern.flags),
                                                        _width(t.pattern)), t.priority)
                          for t in lark.lexer_conf.terminals)
        return cls(states, dict(table.start_states), dict(table.end_states), tuple(rules), terminals,
                   tuple(lark.lexer_conf.ignore))


def _width(pattern: Any) -> tuple[int, int] | None:
    """The widths of a lark pattern's matches (lark works them out when first asked)."""
    if pattern.type != "re":
        return None
    try:
        return (pattern.min_width, pattern.max_width)
    except Exception:  # a pattern lark cannot measure: Pattern.max_width says so if it is needed
        return None


def file_name(language: str) -> str:
    """The name of the file, beside the grammar, that holds the parser of ``language``."""
    return f"graphdsl.{language}.json"


def read(language: str, grammar_text: str) -> Lark | None:
    """The parser of ``language`` from its file; None if the file is missing or was made from
    another grammar text or by another lark release."""
    import lark

    stored = _stored(language, grammar_text)
    if stored is None or stored.get("lark_version") != lark.__version__:
        return None
    return _parser(stored)


def tables(language: str, grammar_text: str) -> Tables | None:
    """The tables of ``language`` from its file as plain data, without lark; None if the file is
    missing or was made from another grammar text. (They do not depend on the lark release
    installed: they are the grammar's, as the release that wrote them analysed it.)"""
    stored = _stored(language, grammar_text)
    if stored is None:
        return None
    memo = stored["memo"]
    data = stored["data"]
    rules: list[Rule] = []
    index: dict[int, int] = {}  # a rule's place in the memo -> in rules (those the table reduces)

    def rule(number: int) -> int:
        if number not in index:
            entry = memo[number]
            index[number] = len(rules)
            rules.append(Rule(entry["origin"]["name"],
                              tuple((s["name"], s["__type__"] == "Terminal") for s in entry["expansion"]),
                              entry["alias"], bool(entry["options"]["expand1"]),
                              tuple(bool(s.get("filter_out")) for s in entry["expansion"]),
                              bool(entry["options"]["keep_all_tokens"])))
        return index[number]

    states = {state: {symbol: (True, arg) if action == _SHIFT else (False, rule(arg)) for symbol, action, arg in row}
              for state, row in enumerate(stored["states"])}
    lexer_conf = data["parser"]["lexer_conf"]
    terminals = []
    for reference in lexer_conf["terminals"]:
        entry = memo[reference["@"]]
        pattern = entry["pattern"]
        kind = "str" if pattern["__type__"] == "PatternStr" else "re"
        width = pattern.get("_width")
        terminals.append(Terminal(entry["name"], Pattern(kind, pattern["value"], tuple(pattern["flags"]),
                                                         None if width is None else (width[0], width[1])),
                                  entry["priority"]))
    ignore = tuple(lexer_conf["ignore"])
    if any(t.pattern.type == "re" and t.pattern.width is None and t.name not in ignore for t in terminals):
        return None  # the lexers order these terminals by their widths (lark stores those it used)
    return Tables(states, stored["start_states"], stored["end_states"], tuple(rules), tuple(terminals),
                  ignore, stored.get("words"))


def _stored(language: str, grammar_text: str) -> dict[str, Any] | None:
    """The data of the file of ``language``; None if it is missing, of another format or made
    from another grammar text."""
    try:
        stored = json.loads(grammar.data_file(file_name(language)))
    except (OSError, ValueError):
        return None
    if stored.get("format") != FORMAT or stored.get("grammar_sha256") != _sha256(grammar_text):
        return None
    return stored  # type: ignore[no-any-return]


def encode(language: str) -> str:
    """The file of ``language``: its parser built from the grammar (:func:`grammar.build`), as JSON."""
    import lark
    from lark.grammar import Rule as LarkRule
    from lark.lexer import TerminalDef

    parser = grammar.build(language)
    words = grammar.words_of(parser, language)
    data, memo = parser.memo_serialize([TerminalDef, LarkRule])
    table = data["parser"].pop("parser")
    tokens, order = table["tokens"], _canonical(table)
    number = {state: i for i, state in enumerate(order)}
    data = _plain(data)
    if sorted(memo) != list(range(len(memo))):
        raise ValueError("lark's serialization memo is not numbered 0, 1, 2 ...")
    lines = [
        "{",
        f'"format": {FORMAT},',
        f'"grammar_sha256": {json.dumps(_sha256(grammar.text()))},',
        f'"lark_version": {json.dumps(lark.__version__)},',
        f'"data": {json.dumps(data)},',
        f'"start_states": {json.dumps({s: number[table["start_states"][s]] for s in sorted(table["start_states"])})},',
        f'"end_states": {json.dumps({s: number[table["end_states"][s]] for s in sorted(table["end_states"])})},',
        '"memo": [',
        ",\n".join(json.dumps(_plain(memo[i])) for i in range(len(memo))),
        "],",
        '"states": [',
        ",\n".join(json.dumps(_row(table["states"][state], tokens, number)) for state in order),
        "],",
        f'"words": {json.dumps(_plain(words.stored()))}',
        "}",
    ]
    return "\n".join(lines) + "\n"


def write(directory: str | Path | None = None) -> list[Path]:
    """Write the file of every language into ``directory`` (by default the source tree's grammar/)."""
    folder = Path(directory) if directory is not None else Path(__file__).parents[2] / "grammar"
    written = []
    for language in grammar.STARTS:
        path = folder / file_name(language)
        path.write_text(encode(language), encoding="utf-8")
        written.append(path)
    return written


def _sha256(text: str) -> str:
    """The fingerprint of the grammar ``text`` and of every other ``*.lark`` file beside it (a
    grammar split into files, joined by ``%import``, is stale when any of them changes)."""
    import hashlib

    digest = hashlib.sha256(text.encode("utf-8"))
    for name in grammar.other_grammar_files():
        digest.update(b"\0" + name.encode("utf-8") + b"\0" + grammar.data_file(name).encode("utf-8"))
    return digest.hexdigest()


def _canonical(table: dict[str, Any]) -> list[int]:
    """lark's state numbers in a fixed order (lark's own numbering varies with string hashing):
    breadth first from the start rules in name order, along each state's shifts in symbol order."""
    names: dict[int, str] = table["tokens"]
    order: dict[int, None] = {}
    todo = [table["start_states"][start] for start in sorted(table["start_states"])]
    while todo:
        state = todo.pop(0)
        if state not in order:
            order[state] = None
            actions = sorted(table["states"][state].items(), key=lambda item: names[item[0]])
            todo += [arg for _, (action, arg) in actions if action == _SHIFT]
    if len(order) != len(table["states"]):
        raise ValueError("the LALR table has states no start rule reaches")
    return list(order)


def _row(actions: dict[int, tuple[int, Any]], tokens: dict[int, str], number: dict[int, int]) -> list[list[Any]]:
    """One state's actions as [symbol, 0, next state] and [symbol, 1, rule], in symbol order."""
    row = [[tokens[token], action, number[arg] if action == _SHIFT else arg["@"]]
           for token, (action, arg) in actions.items()]
    return sorted(row, key=lambda step: step[0])


def _plain(value: Any) -> Any:
    """``value`` as JSON data: graphdsl's lexer class by its name, tuples as lists; ValueError at
    anything else that is not plain data."""
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise ValueError(f"a serialized mapping has keys that are not strings: {list(value)[:5]}")
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, type) and f"{value.__module__}.{value.__qualname__}" == _SPEC_LEXER:
        return _SPEC_LEXER
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ValueError(f"the serialized grammar holds {value!r}, which is not plain data")


def _parser(stored: dict[str, Any]) -> Lark:
    """The parser of a file's data, through lark's own loader of a saved parser."""
    from lark import Lark

    memo = dict(enumerate(stored["memo"]))
    for entry in stored["memo"]:
        if entry["__type__"] == "Rule":  # lark keeps it as a tuple
            entry["options"]["empty_indices"] = tuple(entry["options"]["empty_indices"])
    symbols = sorted({step[0] for row in stored["states"] for step in row})
    number = {symbol: i for i, symbol in enumerate(symbols)}
    data = stored["data"]
    data["parser"]["parser"] = {
        "tokens": dict(enumerate(symbols)),
        "states": {state: {number[symbol]: (action, {"@": arg} if action == _REDUCE else arg)
                           for symbol, action, arg in row}
                   for state, row in enumerate(stored["states"])},
        "start_states": stored["start_states"],
        "end_states": stored["end_states"],
    }
    options, lexer_conf = data["options"], data["parser"]["lexer_conf"]
    if options["lexer"] == _SPEC_LEXER:
        from graphdsl.lang.lark_lexer import SpecLexer

        options["lexer"] = lexer_conf["lexer_type"] = SpecLexer
    loaded = Lark.load({"data": data, "memo": memo})  # lark's loader takes the unpickled dict as well
    loaded.ignore_tokens = list(loaded.lexer_conf.ignore)  # set by Lark() only
    return loaded


if __name__ == "__main__":
    for written in write():
        print(f"wrote {written}")
