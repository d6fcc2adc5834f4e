"""Making template nodes: their fast constructors, and what strings and interpolations are made
of, worked out once per shape.

The makers (:func:`graphdsl.lang.syntax.maker`) make a node from its fields in order, without the
frozen dataclass's ``__init__``: a template of 10,000 statements makes some 100,000 nodes. A
string's parts (:func:`layout`) and the nodes of the expression inside its ``{...}``
(:func:`blueprint`) are kept per shape (the text with its digits made zeros): texts that differ
only in their digits are read alike. :mod:`graphdsl.lang.template_builder` (from lark's tree) and
:mod:`graphdsl.lang.template_direct` (from the driver) use them. No TensorFlow here.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Callable

from lark import Token

from graphdsl.errors import SourceFile, Span, SpecSyntaxError, text_span
from graphdsl.lang import expr as ex
from graphdsl.lang import grammar, syntax
from graphdsl.lang import template_syntax as ts
from graphdsl.lang.contextual import PositionedToken, PositionedTree

# Expressions nest at most this deep (a chain of 256 '+' is 256 deep): the stages that walk them
# recurse, and must stay clear of Python's recursion limit.
MAX_EXPRESSION_DEPTH = 256
# An expression inside a string's {...} nests at most this deep: it stands inside an expression,
# and the stages walk the two as one.
MAX_INTERPOLATION_DEPTH = 32
# Bodies of `for` and `if` nest at most this deep (an `else if` is one level more): the stages
# that walk statements recurse a few frames per level, and the expressions inside add theirs.
MAX_STATEMENT_DEPTH = 50
_TREE, _TOKEN = PositionedTree, PositionedToken  # what the fast parses make (exact types)
_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}
SPECIAL = re.compile(r"[\\{}]")  # what a string's text is read for

BINARY = {
    "or_op": "or", "and_op": "and", "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">",
    "ge": ">=", "in_op": "in", "add": "+", "sub": "-", "mul": "*", "div": "/", "floordiv": "//",
    "mod": "%",
}

# The nodes' fast constructors (positional, see syntax.maker): a template of 10,000 statements
# makes some 100,000 nodes, and a frozen dataclass's __init__ was most of the cost of each.
_make = syntax.maker
Ident, String, Int, Version = _make(syntax.Ident), _make(syntax.String), _make(syntax.Int), _make(syntax.Version)
Setting, Source, Copy, Let = _make(ts.Setting), _make(ts.Source), _make(ts.Copy), _make(ts.Let)
Export, Param, Check, TypeSpec = _make(ts.Export), _make(ts.Param), _make(ts.Check), _make(ts.TypeSpec)
Set, Block, BlockParam, Use = _make(ts.Set), _make(ts.Block), _make(ts.BlockParam), _make(ts.Use)
Output, Include, For, If = _make(ts.Output), _make(ts.Include), _make(ts.For), _make(ts.If)
VariableOverride, Bind, Signature = _make(ts.VariableOverride), _make(ts.Bind), _make(ts.Signature)
Literal, Interpolated, Variable = _make(ex.Literal), _make(ex.Interpolated), _make(ex.Variable)
Binary, Unary, Call, Index = _make(ex.Binary), _make(ex.Unary), _make(ex.Call), _make(ex.Index)
Attribute, Conditional, ListExpr = _make(ex.Attribute), _make(ex.Conditional), _make(ex.ListExpr)
MapExpr, MapItem, ListFor, MapFor = _make(ex.MapExpr), _make(ex.MapItem), _make(ex.ListFor), _make(ex.MapFor)

# A list of constants is folded (ex.ConstantList) by every way of making one: the builders, the
# driver's and the blueprints all make lists by list_expr (or, from a unit's tokens, as it would).
_new = object.__new__
_SET_ITEMS, _SET_SPAN = syntax.setters(ex.ListExpr)
_SET_VALUE, _SET_MAKE = ex.ConstantList.__dict__["value"].__set__, ex.ConstantList.__dict__["make"].__set__


def list_expr(items: tuple[ts.Expr, ...], span: Span) -> ts.Expr:
    """The node of ``[items]``: a :class:`~graphdsl.lang.expr.ConstantList` where each item is a
    literal or such a list, else a ListExpr."""
    values = []
    for item in items:
        kind = type(item)
        if kind is not ex.Literal and kind is not ex.ConstantList:
            return ListExpr(items, span)  # type: ignore[no-any-return]
        values.append(item.value)  # type: ignore[attr-defined]
    node: ex.ConstantList = _new(ex.ConstantList)
    _SET_ITEMS(node, items)
    _SET_SPAN(node, span)
    _SET_VALUE(node, tuple(values))
    return node


def constant_list(value: tuple[Any, ...], span: Span, make: Callable[[], tuple[ts.Expr, ...]]) -> ex.ConstantList:
    """The ConstantList of ``value`` at ``span``, whose items ``make`` makes when first asked for:
    those :func:`list_expr` is given for it."""
    node: ex.ConstantList = _new(ex.ConstantList)
    _SET_SPAN(node, span)
    _SET_VALUE(node, value)
    _SET_MAKE(node, make)
    return node


def offsets(item: Any) -> tuple[int, int]:
    """Where the text of a token or tree of either parse starts and ends in the text parsed."""
    kind = type(item)
    if kind is _TREE:
        start, end = item.start, item.end
    elif kind is _TOKEN or isinstance(item, Token):
        start, end = item.start_pos, item.end_pos
    else:  # a tree of lark's parser
        meta = item.meta
        start, end = (None, None) if meta.empty else (meta.start_pos, meta.end_pos)
    # Lark leaves a position None only for a token it made up; the grammar's have them all.
    return start or 0, end or 0


# ---------------------------------------------------------------------------------------------
# Strings, one layout per shape
# ---------------------------------------------------------------------------------------------

# What a string's text is made of, in order (see layout): literal text, given as where it is
# (first, last) or as the pieces that make it ((pieces), None); an expression's text (first, last);
# a mistake in its braces (where, message). Kept per shape: where the braces and escapes are.
TEXT, EXPR, MISTAKE = "text", "expr", "mistake"
Layout = tuple[tuple[str, Any, Any], ...]
LAYOUTS: dict[str, Layout] = {}


def layout(raw: str) -> Layout:
    """The parts of the string whose text (between its quotes) is ``raw``: ``{{`` and ``}}`` are
    braces, ``{...}`` an expression; a brace alone ends it with a mistake."""
    items: list[tuple[str, Any, Any]] = []
    pieces: list[tuple[int, int]] = []
    i = 0
    while True:
        found = SPECIAL.search(raw, i)  # the text up to the next '\\', '{' or '}' is as written
        if found is None:
            pieces.append((i, len(raw)))
            break
        at = found.start()
        pieces.append((i, at))
        char = raw[at]
        if char == "\\":
            pieces.append((at, at + 2))
            i = at + 2
        elif raw.startswith("{{", at) or raw.startswith("}}", at):
            pieces.append((at, at + 1))
            i = at + 2
        elif char == "}":
            items.append((MISTAKE, at, "a '}' that closes no '{' in a string"))
            return tuple(items)
        else:
            end = _closing(raw, at)
            if end is None:
                items.append((MISTAKE, at, "a '{' that is never closed in a string"))
                return tuple(items)
            _text(items, pieces)
            pieces = []
            items.append((EXPR, at + 1, end))
            i = end + 1
    _text(items, pieces)
    return tuple(items)


def _text(items: list[tuple[str, Any, Any]], pieces: list[tuple[int, int]]) -> None:
    pieces = [(first, last) for first, last in pieces if last > first]
    if len(pieces) == 1:
        items.append((TEXT, *pieces[0]))
    elif pieces:
        items.append((TEXT, tuple(pieces), None))


def _closing(raw: str, start: int) -> int | None:
    """The index of the '}' that closes the '{' at ``start`` (maps may nest inside), or None."""
    end = raw.find("}", start)
    if end != -1 and raw.find("{", start + 1, end) == -1:
        return end  # no map inside
    depth = 0
    for index in range(start, len(raw)):
        if raw[index] == "{":
            depth += 1
        elif raw[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return None


def decode(text: str) -> str:
    if "\\" not in text:
        return text
    return _ESCAPE.sub(lambda m: _ESCAPES[m.group(1)], text)


INFINITIES = (float("inf"), float("-inf"))


def integer(word: str) -> int | None:
    """The value of the integer literal ``word``, or None if it does not fit in 64 bits."""
    # Measured before converting: int() of thousands of digits is slow, and refused past 4300.
    value = int(word) if len(word.lstrip("-")) <= 20 else ex.MAX_INT + 1
    return value if -ex.MAX_INT - 1 <= value <= ex.MAX_INT else None


def too_large(word: str, span: Span) -> SpecSyntaxError:
    return SpecSyntaxError(f"integer {word if len(word) < 24 else word[:20] + '...'} does not fit in 64 bits",
                           span, "a template's integers are 64-bit")


def infinite(span: Span) -> SpecSyntaxError:
    return SpecSyntaxError("number too large", span, "a float is finite")


# ---------------------------------------------------------------------------------------------
# Interpolations, one blueprint per shape
# ---------------------------------------------------------------------------------------------

# A template's strings interpolate many texts that differ only in their digits ("x{k + 0}",
# "x{k + 1}", ..., "{a1}", "{a2}"). No terminal of the grammar tells one ASCII digit from another
# (names, numbers, comments and blanks take any digit alike, and no keyword or punctuation holds
# one: digit_blind checks it), so two texts that are the same but for their digits, digit for
# digit, lex into the same terminals at the same offsets and parse into the same tree, but for
# the text of their tokens. The expression of the first text of each shape is made into a
# blueprint: a function that makes the nodes of any text of that shape at any place of a file
# (the tokens' texts read from the text, its numbers checked as the builder checks them).
MakeExpr = Callable[[str, SourceFile, int], ts.Expr]
DIGITS = str.maketrans("123456789", "000000000")
BLUEPRINTS: dict[str, MakeExpr] = {}
MOST_KEPT = 4096
_QUANTIFIER = re.compile(r"\{\d+(,\d*)?\}")


@functools.cache
def digit_blind() -> bool:
    """Whether no terminal of the template grammar tells one ASCII digit from another: no word
    holds a digit, and a pattern names digits only as ``\\d`` or ``0-9`` (or counts with them)."""
    for terminal in grammar.tables("template").terminals:
        pattern = terminal.pattern
        text = pattern.value
        if pattern.type != "str":
            text = _QUANTIFIER.sub("", text).replace("0-9", "")
        if any(char in "0123456789" for char in text):
            return False
    return True


class _NoBlueprint(Exception):
    """An expression a blueprint does not make (a string inside, or nested too deep)."""


def blueprint(tree: Any) -> MakeExpr | None:
    """The blueprint of an interpolation's tree, or None where the builder must make it."""
    try:
        return _compile(tree, 0)
    except _NoBlueprint:
        return None


def _compile(item: Any, depth: int) -> MakeExpr:
    """What makes the node of ``item`` at depth ``depth`` (as :meth:`TreeBuilder.expr` makes it), of
    any text of the same shape, its offsets counted from ``base``."""
    start, end = offsets(item)
    if isinstance(item, Token):
        return _compile_token(item.type, start, end)
    if depth >= MAX_INTERPOLATION_DEPTH:  # a blueprint makes an interpolation's expression
        raise _NoBlueprint  # the builder raises the error
    data, children, depth = item.data, item.children, depth + 1
    if data == "interpolation":
        return _compile(children[0], depth)
    if data == "variable":
        return _named(Variable, offsets(children[0]), start, end)
    if data == "attribute":
        return _attribute(_compile(children[0], depth), offsets(children[1]), start, end)
    if data == "call":
        return _call(offsets(children[0]), [_compile(c, depth) for c in children[1:]], start, end)
    if data in ("list_for", "map_for"):
        names = [offsets(name) for name in children[0].children]
        parts = [_compile(c, depth) for c in children[1:]]
        return _loop(ListFor if data == "list_for" else MapFor, names, parts, start, end)
    if data == "t_map":
        return _many(MapExpr, [_map_item(c, depth) for c in children], start, end)
    if data == "t_list":
        return _many(list_expr, [_compile(c, depth) for c in children], start, end)
    parts = [_compile(c, depth) for c in children]
    if data in BINARY:
        return _fixed(Binary, BINARY[data], parts, start, end)
    if data in _UNARY:
        return _fixed(Unary, _UNARY[data], parts, start, end)
    return _fixed(_NODES[data], None, parts, start, end)


_UNARY = {"neg": "-", "not_op": "not"}
_NODES = {"conditional": Conditional, "index": Index}


def _compile_token(kind: str, start: int, end: int) -> MakeExpr:
    if kind == "INT":
        def make_integer(text: str, file: SourceFile, base: int) -> ts.Expr:
            word, span = text[start:end], text_span(file, base + start, base + end)
            value = integer(word)
            if value is None:
                raise too_large(word, span)
            return Literal(value, span)  # type: ignore[no-any-return]
        return make_integer
    if kind == "FLOAT":
        def make_number(text: str, file: SourceFile, base: int) -> ts.Expr:
            value, span = float(text[start:end]), text_span(file, base + start, base + end)
            if value in INFINITIES:
                raise infinite(span)
            return Literal(value, span)  # type: ignore[no-any-return]
        return make_number
    if kind in ("TRUE", "FALSE"):
        truth = kind == "TRUE"
        return lambda text, file, base: Literal(  # type: ignore[no-any-return]
            truth, text_span(file, base + start, base + end))
    raise _NoBlueprint  # a string: {...} holds none


def _named(make: Callable[..., ts.Expr], name: tuple[int, int], start: int, end: int) -> MakeExpr:
    first, last = name
    return lambda text, file, base: make(text[first:last], text_span(file, base + start, base + end))


def _attribute(target: MakeExpr, name: tuple[int, int], start: int, end: int) -> MakeExpr:
    first, last = name
    return lambda text, file, base: Attribute(  # type: ignore[no-any-return]
        target(text, file, base), text[first:last], text_span(file, base + start, base + end))


def _call(function: tuple[int, int], args: list[MakeExpr], start: int, end: int) -> MakeExpr:
    first, last = function
    return lambda text, file, base: Call(  # type: ignore[no-any-return]
        text[first:last], tuple([arg(text, file, base) for arg in args]), text_span(file, base + start, base + end))


def _loop(make: Callable[..., ts.Expr], names: list[tuple[int, int]], parts: list[MakeExpr], start: int,
          end: int) -> MakeExpr:
    def loop(text: str, file: SourceFile, base: int) -> ts.Expr:
        return make(tuple([text[first:last] for first, last in names]), *[part(text, file, base) for part in parts],
                    text_span(file, base + start, base + end))
    return loop


def _many(make: Callable[..., ts.Expr], items: list[MakeExpr], start: int, end: int) -> MakeExpr:
    return lambda text, file, base: make(tuple([item(text, file, base) for item in items]),
                                         text_span(file, base + start, base + end))


def _map_item(tree: Any, depth: int) -> MakeExpr:
    labels, value = tree.children
    (label,) = labels.children
    if label.type != "IDENT":
        raise _NoBlueprint  # a string: {...} holds none
    key = _named(Literal, offsets(label), *offsets(label))
    return _fixed(MapItem, None, [key, _compile(value, depth)], *offsets(tree))


def _fixed(make: Callable[..., ts.Expr], op: str | None, parts: list[MakeExpr], start: int, end: int) -> MakeExpr:
    """A node of an operator (or none) and a fixed number of parts, made in order."""
    if op is None and len(parts) == 2:
        first, second = parts
        return lambda text, file, base: make(first(text, file, base), second(text, file, base),
                                             text_span(file, base + start, base + end))
    if op is None and len(parts) == 3:
        first, second, third = parts
        return lambda text, file, base: make(first(text, file, base), second(text, file, base),
                                             third(text, file, base), text_span(file, base + start, base + end))
    if len(parts) == 1:
        (only,) = parts
        return lambda text, file, base: make(op, only(text, file, base), text_span(file, base + start, base + end))
    left, right = parts
    return lambda text, file, base: make(op, left(text, file, base), right(text, file, base),
                                         text_span(file, base + start, base + end))
