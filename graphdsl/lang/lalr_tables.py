"""The grammar's LALR parsers stored as JSON beside it, so that no start of graphdsl analyses it.

lark's LALR analysis of ``grammar/graphdsl.lark`` takes a few tenths of a second per language of
:data:`graphdsl.lang.grammar.STARTS`. ``make tables`` (``python -m graphdsl.lang.lalr_tables``) runs it
once, at development time, and writes ``grammar/graphdsl.LANGUAGE.json``: lark's own serialization
of the parser (what ``Lark.save`` would pickle), with the LALR table numbered in a fixed order so
that one grammar always gives the same file, one table row and one rule or terminal per line.
:func:`read` makes the parser from that file with lark's own loader; it gives None when the file
was made from another grammar text or by another lark release (a grammar edited without
``make tables``), and the caller then builds the parser from the grammar.
``tests/test_grammar_tables.py`` fails while a file is stale.

JSON, not a pickle nor a Python module: reading it runs no code, and it needs no compiling.
No TensorFlow here.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import lark
from lark import Lark

from graphdsl.lang import grammar

FORMAT = 1
# The serialized parser names graphdsl's lexer class by this string (the file holds no object).
_SPEC_LEXER = "graphdsl.lang.lexer.SpecLexer"
_SHIFT, _REDUCE = 0, 1  # lark's codes of the two actions in a serialized table


def file_name(language: str) -> str:
    """The name of the file, beside the grammar, that holds the parser of ``language``."""
    return f"graphdsl.{language}.json"


def read(language: str, grammar_text: str) -> Lark | None:
    """The parser of ``language`` from its file; None if the file is missing or was made from
    another grammar text or by another lark release."""
    try:
        stored = json.loads(grammar.data_file(file_name(language)))
    except (OSError, ValueError):
        return None
    if (stored.get("format") != FORMAT or stored.get("grammar_sha256") != _sha256(grammar_text)
            or stored.get("lark_version") != lark.__version__):
        return None
    return _parser(stored)


def encode(language: str) -> str:
    """The file of ``language``: its parser built from the grammar (:func:`grammar.build`), as JSON."""
    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    data, memo = grammar.build(language).memo_serialize([TerminalDef, Rule])
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
        "]",
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
        from graphdsl.lang.lexer import SpecLexer

        options["lexer"] = lexer_conf["lexer_type"] = SpecLexer
    loaded = Lark.load({"data": data, "memo": memo})  # lark's loader takes the unpickled dict as well
    loaded.ignore_tokens = list(loaded.lexer_conf.ignore)  # set by Lark() only
    return loaded


if __name__ == "__main__":
    for written in write():
        print(f"wrote {written}")
