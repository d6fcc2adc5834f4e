"""Reduced grammar rules to syntax nodes: what the parser's driver calls for each rule.

Each method named like a rule of ``grammar/graphdsl.lark`` gets the rule's children in order:
tokens as ``(terminal, text, offset)`` and the nodes already built for sub-rules. A node's
span (a :class:`~graphdsl.errors.TextSpan`: offsets, lines worked out when asked) runs from its
first child to its last; tokens of terminals named ``_...`` (keywords,
punctuation) only give positions. The builder never fails: a literal that is out of bounds (a
number too large, values nested too deep) is recorded in :attr:`Builder.problems`, and the parser
raises the first in source order once the whole text is read. No TensorFlow here.
"""

from __future__ import annotations

import functools
import math
import re
import sys
from typing import Any, Callable

from graphdsl.errors import SourceFile, SpecSyntaxError, TextSpan, text_span
from graphdsl.lang import syntax
from graphdsl.lang.units import UNIT

# Lists and maps nest at most this deep: deeper values are refused with a message rather than
# risking Python's recursion limit in the stages that walk them.
MAX_NESTING = 100
# An integer literal has at most this many digits (Python's own limit for int(str)).
MAX_DIGITS = getattr(sys, "get_int_max_str_digits", lambda: 4300)() or 4300

Token = tuple[str, str, int]
_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}

# The nodes' fast constructors (positional, see syntax.maker): the parse makes hundreds of
# thousands of them.
_String, _Ident, _Word = syntax.maker(syntax.String), syntax.maker(syntax.Ident), syntax.maker(syntax.Word)
_Int = syntax.maker(syntax.Int)
_Ref, _ListValue, _MapValue = syntax.maker(syntax.Ref), syntax.maker(syntax.ListValue), syntax.maker(syntax.MapValue)
_MapEntry, _Setting, _Bind = syntax.maker(syntax.MapEntry), syntax.maker(syntax.Setting), syntax.maker(syntax.Bind)
_VariableOverride, _Signature = syntax.maker(syntax.VariableOverride), syntax.maker(syntax.Signature)
_Version, _Source, _Copy = syntax.maker(syntax.Version), syntax.maker(syntax.Source), syntax.maker(syntax.Copy)
_Let, _Export = syntax.maker(syntax.Let), syntax.maker(syntax.Export)
_NESTING = (syntax.ListValue, syntax.MapValue)  # the values that nest (exact types)
# A value whose text is at most this long cannot nest deeper than MAX_NESTING (each level takes
# two brackets): the builder does not look into it.
_SHALLOW = 2 * MAX_NESTING
_new = object.__new__
# The most common nodes are made inline, without a call to their maker: their classes, and
# what sets each of their fields (syntax.setters).
_STRING, _LIST, _WORD, _IDENT = syntax.String, syntax.ListValue, syntax.Word, syntax.Ident
_INT, _FLOAT, _BOOL = syntax.Int, syntax.Float, syntax.Bool
_SETTING, _MAP_ENTRY = syntax.Setting, syntax.MapEntry
_STRING_VALUE, _STRING_SPAN = syntax.setters(_STRING)
_INT_VALUE, _INT_SPAN = syntax.setters(_INT)
_FLOAT_VALUE, _FLOAT_SPAN = syntax.setters(_FLOAT)
_BOOL_VALUE, _BOOL_SPAN = syntax.setters(_BOOL)
_LIST_ITEMS, _LIST_SPAN = syntax.setters(_LIST)
_WORD_NAME, _WORD_SPAN = syntax.setters(_WORD)
_IDENT_NAME, _IDENT_SPAN = syntax.setters(_IDENT)
_SETTING_KEY, _SETTING_VALUE, _SETTING_SPAN = syntax.setters(_SETTING)
_MAP_ENTRY_KEY, _MAP_ENTRY_VALUE, _MAP_ENTRY_SPAN = syntax.setters(_MAP_ENTRY)
_INFINITIES = (math.inf, -math.inf)
# The rules that make a statement (the grammar's `_statement`).
STATEMENTS = ("version", "source", "copy", "let", "export")


def _unescape(match: re.Match[str]) -> str:
    return _ESCAPES[match.group(1)]


def _string_node(file: SourceFile, quoted: str, start: int) -> syntax.String:
    """The node of the string token ``quoted`` at ``start``: a spec's most common node, made
    inline (no call to its maker)."""
    text = quoted[1:-1]
    if "\\" in text:
        text = _ESCAPE.sub(_unescape, text)
    span: TextSpan = _new(TextSpan)
    span.file, span.start, span.end = file, start, start + len(quoted)
    node = _new(_STRING)
    _STRING_VALUE(node, text)
    _STRING_SPAN(node, span)
    return node  # type: ignore[no-any-return]


class Builder:
    """Builds the nodes of one file; :attr:`rules` maps each rule's name to its method."""

    def __init__(self, file: SourceFile, statement: Callable[[Any], Any] | None = None) -> None:
        """``statement``, if given, is handed each statement as it is made, and what it returns
        stands for it (see :class:`graphdsl.lang.check.StatementChecks`)."""
        self.file = file
        self.path = file.path
        self.text = file.text
        self.problems: list[SpecSyntaxError] = []
        # The node of a token that is a value, by its terminal.
        self.token_values: dict[str, Callable[[Token], syntax.Value]] = {
            "STRING": self.string, "INT": self.integer, "FLOAT": self.number,
            "TRUE": self.boolean, "FALSE": self.boolean,
        }
        self.rules: dict[str, Callable[[list[Any]], Any]] = {
            "start": self.start, "version": self.version, "source": self.source, "copy": self.copy,
            "let": self.let, "export": self.export, "export_body": self.export_body,
            "setting": self.setting, "variable_override": self.variable_override, "bind": self.bind,
            "signature": self.signature, "label": self.label, "name": self.name, "ref": self.ref,
            "list": self.list_value, "map": self.map_value, "map_entry": self.map_entry,
            UNIT: self.list_unit,
        }
        if statement is not None:
            for name in STATEMENTS:
                self.rules[name] = functools.partial(_handed, statement, self.rules[name])

    # Spans ------------------------------------------------------------------------------------

    def token_span(self, token: Token) -> TextSpan:
        _, text, start = token
        return text_span(self.file, start, start + len(text))

    def span(self, children: list[Any]) -> TextSpan:
        first, last = children[0], children[-1]
        span: TextSpan = _new(TextSpan)  # text_span(), inline: the parse makes one per node
        span.file = self.file
        span.start = first[2] if type(first) is tuple else first.span.start
        span.end = last[2] + len(last[1]) if type(last) is tuple else last.span.end
        return span

    # Statements -------------------------------------------------------------------------------

    def start(self, children: list[Any]) -> syntax.Spec:
        return syntax.Spec(self.file, tuple(children), text_span(self.file, 0, len(self.file.text)))

    def version(self, children: list[Any]) -> syntax.Version:
        return _Version(self.integer(children[1]), self.span(children))

    # The rules below take their content by position (the grammar's order; punctuation and
    # keywords between), not by filtering the tokens out: tests/test_parse_programs.py compares
    # every tree with lark's own.

    def source(self, children: list[Any]) -> syntax.Source:
        # source NAME = KIND ( PATH (, setting)* ,? )
        return _Source(self.ident(children[1]), self.ident(children[3]), self.string(children[5]),
                       tuple(children[7:-1:2]), self.span(children))

    def copy(self, children: list[Any]) -> syntax.Copy:
        # copy NAMESPACE from SOURCE { entry* }
        return _Copy(self.ident(children[1]), self.ident(children[3]), tuple(children[5:-1]), self.span(children))

    def let(self, children: list[Any]) -> syntax.Let:
        return _Let(self.ident(children[1]), self.top_value(children[3]), self.span(children))

    def export(self, children: list[Any]) -> syntax.Export:
        # export KIND PATH body?
        body = children[3:]
        entries = body[0].entries if body else ()
        return _Export(self.ident(children[1]), self.string(children[2]), entries, bool(body), self.span(children))

    def export_body(self, children: list[Any]) -> _Body:
        return _Body(tuple(children[1:-1]), self.span(children))  # { entry* }

    # Entries ----------------------------------------------------------------------------------

    def setting(self, children: list[Any]) -> syntax.Setting:
        # ident(), top_value() and span() inline: a large spec has a setting per line or two.
        (_, key, start), _, value = children
        file = self.file
        key_span: TextSpan = _new(TextSpan)
        key_span.file, key_span.start, key_span.end = file, start, start + len(key)
        if type(value) is tuple:
            value = self.token_values[value[0]](value)
        inner = value.span
        end = inner.end
        if end - inner.start > _SHALLOW and type(value) in _NESTING:
            self.nesting(value)
        span: TextSpan = _new(TextSpan)
        span.file, span.start, span.end = file, start, end
        ident = _new(_IDENT)  # _Ident() and _Setting() inline
        _IDENT_NAME(ident, key)
        _IDENT_SPAN(ident, key_span)
        node = _new(_SETTING)
        _SETTING_KEY(node, ident)
        _SETTING_VALUE(node, value)
        _SETTING_SPAN(node, span)
        return node  # type: ignore[no-any-return]

    def variable_override(self, children: list[Any]) -> syntax.VariableOverride:
        return _VariableOverride(self.string(children[1]), self.top_value(children[3]),
                                       self.span(children))

    def bind(self, children: list[Any]) -> syntax.Bind:
        return _Bind(self.string(children[1]), self.top_value(children[3]), self.span(children))

    def signature(self, children: list[Any]) -> syntax.Signature:
        # signature label { setting* }
        return _Signature(children[1], tuple(children[3:-1]), self.span(children))

    def label(self, children: list[Any]) -> syntax.String:
        (token,) = children
        if token[0] == "STRING":
            return self.string(token)
        _, text, start = token
        span: TextSpan = _new(TextSpan)  # token_span() inline
        span.file, span.start, span.end = self.file, start, start + len(text)
        return _String(text, span)

    # Values -----------------------------------------------------------------------------------

    def value(self, item: Any) -> syntax.Value:
        """A value: a token (string, number, boolean) becomes its node; a node stays as it is."""
        if type(item) is not tuple:
            return item  # type: ignore[no-any-return]
        return self.token_values[item[0]](item)

    def boolean(self, token: Token) -> syntax.Bool:
        kind, text, start = token
        span: TextSpan = _new(TextSpan)  # token_span() inline
        span.file, span.start, span.end = self.file, start, start + len(text)
        node = _new(_BOOL)  # _Bool() inline
        _BOOL_VALUE(node, kind == "TRUE")
        _BOOL_SPAN(node, span)
        return node  # type: ignore[no-any-return]

    def top_value(self, item: Any) -> syntax.Value:
        """The value of an entry: a list or map in it may not nest deeper than MAX_NESTING."""
        if type(item) is tuple:
            return self.token_values[item[0]](item)
        span = item.span
        if span.end - span.start > _SHALLOW and type(item) in _NESTING:
            self.nesting(item)
        return item  # type: ignore[no-any-return]

    def name(self, children: list[Any]) -> syntax.Word:
        _, text, start = children[0]
        span: TextSpan = _new(TextSpan)  # text_span() inline
        span.file, span.start, span.end = self.file, start, start + len(text)
        node = _new(_WORD)  # _Word() inline
        _WORD_NAME(node, text)
        _WORD_SPAN(node, span)
        return node  # type: ignore[no-any-return]

    def ref(self, children: list[Any]) -> syntax.Ref:
        (_, name, start), _, path, (_, close, bracket) = children
        name_span: TextSpan = _new(TextSpan)  # ident() and span() inline
        name_span.file, name_span.start, name_span.end = self.file, start, start + len(name)
        span: TextSpan = _new(TextSpan)
        span.file, span.start, span.end = self.file, start, bracket + len(close)
        return _Ref(_Ident(name, name_span), self.string(path), span)

    def list_value(self, children: list[Any]) -> syntax.ListValue:
        # [ (value (, value)* ,?)? ]: the values stand at the odd places, commas between them.
        # A string is made by _string_node, not through token_values: lists of strings are common.
        file = self.file
        items = children[1:-1:2]
        for index, item in enumerate(items):
            if type(item) is tuple:
                kind, quoted, start = item
                items[index] = self.token_values[kind](item) if kind != "STRING" else _string_node(file, quoted, start)
        span: TextSpan = _new(TextSpan)  # span() inline: both ends are brackets
        _, close, end = children[-1]
        span.file, span.start, span.end = file, children[0][2], end + len(close)
        node = _new(_LIST)  # _ListValue() inline
        _LIST_ITEMS(node, tuple(items))
        _LIST_SPAN(node, span)
        return node  # type: ignore[no-any-return]

    def list_unit(self, children: list[Any]) -> syntax.ListValue:
        """The list a unit stands for (:mod:`graphdsl.lang.units`): its one child's text is where
        its tokens are. Each list in it is made as :meth:`list_value` makes it from the children
        the tables give it, innermost first."""
        units, texts, offsets, codes, start, end = children[0][1]
        if codes.find(units.opening, start + 1, end) < 0:
            return self._flat_list(units, texts[start:end], offsets[start:end], codes[start:end])
        return self._nested_list(units, texts[start:end], offsets[start:end], codes[start:end])

    def _flat_list(self, units: Any, texts: list[str], offsets: list[int], codes: str) -> syntax.ListValue:
        # No list inside: the items stand at every other token ([ a , b , c ,? ]).
        file, keys, token_values, string = self.file, units.keys, self.token_values, units.codes["STRING"]
        items: list[Any] = []
        for code, text, offset in zip(codes[1:-1:2], texts[1:-1:2], offsets[1:-1:2]):
            if code == string:
                items.append(_string_node(file, text, offset))
            else:
                items.append(token_values[keys[code]]((keys[code], text, offset)))
        span: TextSpan = _new(TextSpan)
        span.file, span.start, span.end = file, offsets[0], offsets[-1] + len(texts[-1])
        node = _new(_LIST)
        _LIST_ITEMS(node, tuple(items))
        _LIST_SPAN(node, span)
        return node  # type: ignore[no-any-return]

    def _nested_list(self, units: Any, texts: list[str], offsets: list[int], codes: str) -> syntax.ListValue:
        # One loop over the tokens, a list of items per open bracket; a number is made when its
        # list closes, as list_value makes it.
        file, keys, token_values = self.file, units.keys, self.token_values
        opening, closing, comma, string = map(units.codes.__getitem__, (units.open, units.close, units.comma, "STRING"))
        parents: list[Any] = []
        items: list[Any] = []
        scalars = False  # whether the list holds a token yet to make (a number)
        for code, text, offset in zip(codes, texts, offsets):
            if code == string:
                items.append(_string_node(file, text, offset))
            elif code == comma:
                continue
            elif code == opening:
                parents.append((items, offset, scalars))
                items, scalars = [], False
            elif code == closing:
                if scalars:
                    for index, item in enumerate(items):
                        if type(item) is tuple:
                            items[index] = token_values[item[0]](item)
                parent, begun, scalars = parents.pop()
                span: TextSpan = _new(TextSpan)
                span.file, span.start, span.end = file, begun, offset + len(text)
                node = _new(_LIST)
                _LIST_ITEMS(node, tuple(items))
                _LIST_SPAN(node, span)
                if not parents:
                    return node  # type: ignore[no-any-return]
                parent.append(node)
                items = parent
            else:
                items.append((keys[code], text, offset))
                scalars = True
        raise AssertionError("a unit ends with its closing bracket")  # pragma: no cover

    def map_value(self, children: list[Any]) -> syntax.MapValue:
        entries = tuple([c for c in children[1:-1] if type(c) is not tuple])  # { (entry ,?)* }
        return _MapValue(entries, self.span(children))

    def map_entry(self, children: list[Any]) -> syntax.MapEntry:
        key, _, value = children
        if type(value) is tuple:
            value = self.token_values[value[0]](value)
        span: TextSpan = _new(TextSpan)  # span() inline: a label, then a value's node
        span.file, span.start, span.end = self.file, key.span.start, value.span.end
        node = _new(_MAP_ENTRY)  # _MapEntry() inline
        _MAP_ENTRY_KEY(node, key)
        _MAP_ENTRY_VALUE(node, value)
        _MAP_ENTRY_SPAN(node, span)
        return node  # type: ignore[no-any-return]

    def nesting(self, value: syntax.ListValue | syntax.MapValue) -> None:
        """Record a problem if ``value`` (an entry's list or map) nests deeper than MAX_NESTING.

        Only a value with more brackets in its text than that can: the others are not walked.
        """
        text, span = self.text, value.span
        if text.count("[", span.start, span.end) + text.count("{", span.start, span.end) <= MAX_NESTING:
            return
        depths = _depths(value)
        if depths[id(value)] <= MAX_NESTING:
            return
        # Point at the first bracket past the limit, on the deepest path from the top.
        node: Any = value
        for _ in range(MAX_NESTING):
            node = max(_inner(node), key=lambda v: depths.get(id(v), 0))
        span = node.span
        self.problems.append(SpecSyntaxError(
            f"lists and maps nested more than {MAX_NESTING} deep",
            text_span(self.file, span.start, span.start + 1),
            "flatten the value (a python builder can rebuild the structure from it)",
        ))

    # Terminals --------------------------------------------------------------------------------

    def ident(self, token: Token) -> syntax.Ident:
        _, text, start = token
        span: TextSpan = _new(TextSpan)  # text_span(), inline
        span.file, span.start, span.end = self.file, start, start + len(text)
        node = _new(_IDENT)  # _Ident() inline
        _IDENT_NAME(node, text)
        _IDENT_SPAN(node, span)
        return node  # type: ignore[no-any-return]

    def string(self, token: Token) -> syntax.String:
        # _string_node() inline: a call more per string costs the exports of the benchmark 1 to 2%.
        _, quoted, start = token
        text = quoted[1:-1]
        if "\\" in text:
            text = _ESCAPE.sub(_unescape, text)
        span: TextSpan = _new(TextSpan)  # text_span(), inline
        span.file, span.start, span.end = self.file, start, start + len(quoted)
        node = _new(_STRING)  # _String() inline
        _STRING_VALUE(node, text)
        _STRING_SPAN(node, span)
        return node  # type: ignore[no-any-return]

    def integer(self, token: Token) -> syntax.Int:
        _, text, start = token
        # Count the digits only of a long text (a sign is not a digit).
        if len(text) > MAX_DIGITS and len(text.lstrip("-")) > MAX_DIGITS:
            self.problems.append(SpecSyntaxError(
                f"integer too long ({len(text.lstrip('-'))} digits)",
                self.token_span(token),
                f"an integer has at most {MAX_DIGITS} digits; write a long number as a string",
            ))
            return _Int(0, self.token_span(token))
        span: TextSpan = _new(TextSpan)  # text_span() inline
        span.file, span.start, span.end = self.file, start, start + len(text)
        node = _new(_INT)  # _Int() inline: python sources take many numbers
        _INT_VALUE(node, int(text))
        _INT_SPAN(node, span)
        return node  # type: ignore[no-any-return]

    def number(self, token: Token) -> syntax.Float:
        _, text, start = token
        value = float(text)
        if value in _INFINITIES:
            shown = text if len(text) <= 20 else text[:17] + "..."
            self.problems.append(SpecSyntaxError(
                f"number {shown} is too large",
                self.token_span(token),
                f"a number lies between -{sys.float_info.max:.1e} and {sys.float_info.max:.1e}",
            ))
        span: TextSpan = _new(TextSpan)  # token_span() inline
        span.file, span.start, span.end = self.file, start, start + len(text)
        node = _new(_FLOAT)  # _Float() inline
        _FLOAT_VALUE(node, value)
        _FLOAT_SPAN(node, span)
        return node  # type: ignore[no-any-return]


def _handed(statement: Callable[[Any], Any], build: Callable[[list[Any]], Any], children: list[Any]) -> Any:
    """The statement ``build`` makes of ``children``, handed to ``statement``."""
    return statement(build(children))


def _inner(value: syntax.ListValue | syntax.MapValue) -> list[syntax.Value]:
    """The values directly inside a list or map."""
    return list(value.items) if isinstance(value, syntax.ListValue) else [e.value for e in value.entries]


def _depths(value: syntax.ListValue | syntax.MapValue) -> dict[int, int]:
    """How deep each list and map in ``value`` nests (1: nothing nested inside), by its id;
    without recursion, since that is what is being checked."""
    depths: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, inside_done = stack.pop()
        inner = [v for v in _inner(node) if type(v) in _NESTING]
        if inside_done:
            depths[id(node)] = 1 + max((depths[id(v)] for v in inner), default=0)
        else:
            stack.append((node, True))
            stack.extend((v, False) for v in inner)
    return depths


class _Body:
    """An export body on its way into :class:`syntax.Export`."""

    __slots__ = ("entries", "span")

    def __init__(self, entries: tuple[Any, ...], span: TextSpan) -> None:
        self.entries = entries
        self.span = span
