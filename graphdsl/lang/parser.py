"""Stage 1: spec text to the typed syntax tree of :mod:`graphdsl.lang.syntax`.

Lark parses the text with ``grammar/graphdsl.lark`` (LALR, contextual lexer); :class:`_Builder`
only restructures the Lark tree into nodes whose spans point into one :class:`SourceFile`, and
:mod:`graphdsl.lang.comments` attaches the comments. A text that does not follow the grammar
raises :class:`~graphdsl.errors.SpecSyntaxError` (see :mod:`graphdsl.lang.syntax_errors`); so does
a file that is not UTF-8, a number no machine type holds, or values nested deeper than
:data:`MAX_NESTING`. Meaning is checked later, by :mod:`graphdsl.lang.check`. No TensorFlow here.
"""

from __future__ import annotations

import codecs
import contextlib
import gc
import math
import os
import re
import sys
from pathlib import Path
from typing import Callable, Iterator

from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from graphdsl.errors import SourceFile, Span, SpecSyntaxError, normalize_newlines
from graphdsl.lang import comments, grammar, syntax
from graphdsl.lang.syntax_errors import syntax_error

# Lists and maps nest at most this deep: deeper values are refused with a message rather than
# risking Python's recursion limit in the stages that walk them.
MAX_NESTING = 100
# An integer literal has at most this many digits (Python's own limit for int(str)).
MAX_DIGITS = getattr(sys, "get_int_max_str_digits", lambda: 4300)() or 4300


def parse(text: str, path: str = "<string>") -> syntax.Spec:
    """Parse spec text; ``path`` names it in error messages. Raises SpecSyntaxError."""
    return parse_source(SourceFile(path, text))


def parse_file(path: str | os.PathLike[str]) -> syntax.Spec:
    """Read and parse a spec file; errors name the file by ``path`` as given.

    The file must be UTF-8 (a byte order mark is allowed); OSError if it cannot be read.
    """
    name = os.fspath(path)
    return parse_source(decode(Path(path).read_bytes(), name))


def parse_source(file: SourceFile) -> syntax.Spec:
    """Parse the text of ``file``; every span of the tree points into it."""
    with paused_gc():
        try:
            tree = grammar.load().parse(file.text)
        except UnexpectedInput:
            raise syntax_error(file) from None
        spec = _Builder(file).spec(tree)
        comments.attach(spec, file)
    return spec


def decode(data: bytes, path: str) -> SourceFile:
    """The spec file ``path`` holding ``data``, decoded as UTF-8; SpecSyntaxError at a bad byte."""
    if data.startswith(codecs.BOM_UTF8):  # so that a bad byte's column is counted without it
        data = data[len(codecs.BOM_UTF8):]
    try:
        return SourceFile(path, data.decode("utf-8"))
    except UnicodeDecodeError as error:
        file = SourceFile(path, data.decode("utf-8", errors="replace"))
        before = normalize_newlines(data[: error.start].decode("utf-8"))
        line = before.count("\n") + 1
        column = len(before) - before.rfind("\n")
        raise SpecSyntaxError(
            f"the spec is not UTF-8 text: byte 0x{data[error.start]:02x} cannot be decoded",
            Span(path, line, column, line, column + 1, file),
            "save the file with the UTF-8 encoding",
        ) from None


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (restored after).

    Parsing allocates hundreds of thousands of small objects and frees none: each allocation
    threshold would start a collection that scans them all again, which made parsing a large
    spec several times slower. Nothing here creates garbage cycles that must be freed meanwhile.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# ---------------------------------------------------------------------------------------------
# Lark tree to syntax tree
# ---------------------------------------------------------------------------------------------

_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


class _Builder:
    """Restructures the Lark tree into :mod:`graphdsl.lang.syntax` nodes, in one recursive walk.

    Only values recurse without bound (lists and maps); the walk counts their depth and refuses
    more than :data:`MAX_NESTING` before Python's recursion limit is near.
    """

    def __init__(self, file: SourceFile) -> None:
        self.file = file
        self.path = file.path
        self._values: dict[str, Callable[[Tree, int], syntax.Value]] = {
            "ref": self.ref, "list": self.list, "map": self.map, "name": self.word,
        }
        self._entries: dict[str, Callable[[Tree], syntax.Node]] = {
            "setting": self.setting, "variable_override": self.variable_override,
            "bind": self.bind, "signature": self.signature,
        }
        self._statements: dict[str, Callable[[Tree], syntax.Statement]] = {
            "version": self.version, "source": self.source, "copy": self.copy,
            "let": self.let, "export": self.export,
        }

    # Spans ------------------------------------------------------------------------------------

    def span_of(self, item: Tree | Token) -> Span:
        if isinstance(item, Token):
            return Span(self.path, item.line, item.column, item.end_line, item.end_column,  # type: ignore[arg-type]
                        self.file)
        meta = item.meta
        if meta.empty:
            return Span(self.path, 1, 1, 1, 1, self.file)
        return Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column, self.file)

    # Statements -------------------------------------------------------------------------------

    def spec(self, tree: Tree) -> syntax.Spec:
        statements = tuple(self._statements[child.data](child) for child in tree.children)  # type: ignore[union-attr]
        text = self.file.text
        end_line = text.count("\n") + 1
        end_column = len(text) - text.rfind("\n")
        return syntax.Spec(self.file, statements, Span(self.path, 1, 1, end_line, end_column, self.file))

    def version(self, tree: Tree) -> syntax.Version:
        (number,) = tree.children
        return syntax.Version(self.int(number), self.span_of(tree))  # type: ignore[arg-type]

    def source(self, tree: Tree) -> syntax.Source:
        name, kind, path, *options = tree.children
        return syntax.Source(self.ident(name), self.ident(kind), self.string(path),  # type: ignore[arg-type]
                             tuple(self.setting(o) for o in options), self.span_of(tree))  # type: ignore[arg-type]

    def copy(self, tree: Tree) -> syntax.Copy:
        namespace, source, *entries = tree.children
        return syntax.Copy(self.ident(namespace), self.ident(source),  # type: ignore[arg-type]
                           tuple(self._entries[e.data](e) for e in entries),  # type: ignore[union-attr,misc]
                           self.span_of(tree))

    def let(self, tree: Tree) -> syntax.Let:
        name, value = tree.children
        return syntax.Let(self.ident(name), self.value(value), self.span_of(tree))  # type: ignore[arg-type]

    def export(self, tree: Tree) -> syntax.Export:
        kind, path, *body = tree.children
        entries = body[0].children if body else []  # type: ignore[union-attr]
        return syntax.Export(self.ident(kind), self.string(path),  # type: ignore[arg-type]
                             tuple(self._entries[e.data](e) for e in entries),  # type: ignore[union-attr,misc]
                             bool(body), self.span_of(tree))

    # Entries ----------------------------------------------------------------------------------

    def setting(self, tree: Tree) -> syntax.Setting:
        key, value = tree.children
        return syntax.Setting(self.ident(key), self.value(value), self.span_of(tree))  # type: ignore[arg-type]

    def variable_override(self, tree: Tree) -> syntax.VariableOverride:
        pattern, value = tree.children
        return syntax.VariableOverride(self.string(pattern), self.value(value), self.span_of(tree))  # type: ignore[arg-type]

    def bind(self, tree: Tree) -> syntax.Bind:
        input_name, value = tree.children
        return syntax.Bind(self.string(input_name), self.value(value), self.span_of(tree))  # type: ignore[arg-type]

    def signature(self, tree: Tree) -> syntax.Signature:
        name, *settings = tree.children
        return syntax.Signature(self.label(name), tuple(self.setting(s) for s in settings),  # type: ignore[arg-type]
                                self.span_of(tree))

    def label(self, tree: Tree) -> syntax.String:
        (token,) = tree.children
        if token.type == "STRING":  # type: ignore[union-attr]
            return self.string(token)  # type: ignore[arg-type]
        return syntax.String(str(token), self.span_of(token))  # type: ignore[arg-type]

    # Values -----------------------------------------------------------------------------------

    def value(self, item: Tree | Token, depth: int = 0) -> syntax.Value:
        if isinstance(item, Token):
            kind = item.type
            if kind == "STRING":
                return self.string(item)
            if kind == "INT":
                return self.int(item)
            if kind == "FLOAT":
                return self.float(item)
            return syntax.Bool(kind == "TRUE", self.span_of(item))
        return self._values[item.data](item, depth)  # type: ignore[index]

    def word(self, tree: Tree, depth: int) -> syntax.Word:
        (token,) = tree.children
        return syntax.Word(str(token), self.span_of(token))  # type: ignore[arg-type]

    def ref(self, tree: Tree, depth: int) -> syntax.Ref:
        namespace, element = tree.children
        return syntax.Ref(self.ident(namespace), self.string(element), self.span_of(tree))  # type: ignore[arg-type]

    def list(self, tree: Tree, depth: int) -> syntax.ListValue:
        self.check_depth(tree, depth)
        return syntax.ListValue(tuple(self.value(v, depth + 1) for v in tree.children), self.span_of(tree))

    def map(self, tree: Tree, depth: int) -> syntax.MapValue:
        self.check_depth(tree, depth)
        entries = []
        for entry in tree.children:
            key, value = entry.children  # type: ignore[union-attr]
            entries.append(syntax.MapEntry(self.label(key), self.value(value, depth + 1), self.span_of(entry)))  # type: ignore[arg-type]
        return syntax.MapValue(tuple(entries), self.span_of(tree))

    def check_depth(self, tree: Tree, depth: int) -> None:
        if depth >= MAX_NESTING:
            span = self.span_of(tree)
            raise SpecSyntaxError(
                f"lists and maps nested more than {MAX_NESTING} deep",
                Span(self.path, span.line, span.column, span.line, span.column + 1, self.file),
                "flatten the value (a python builder can rebuild the structure from it)",
            )

    # Terminals --------------------------------------------------------------------------------

    def ident(self, token: Token) -> syntax.Ident:
        return syntax.Ident(str(token), self.span_of(token))

    def string(self, token: Token) -> syntax.String:
        text = token[1:-1]
        if "\\" in text:
            text = _ESCAPE.sub(lambda m: _ESCAPES[m.group(1)], text)
        return syntax.String(text, self.span_of(token))

    def int(self, token: Token) -> syntax.Int:
        digits = len(token.lstrip("-"))
        if digits > MAX_DIGITS:
            raise SpecSyntaxError(
                f"integer too long ({digits} digits)",
                self.span_of(token),
                f"an integer has at most {MAX_DIGITS} digits; write a long number as a string",
            )
        return syntax.Int(int(token), self.span_of(token))

    def float(self, token: Token) -> syntax.Float:
        value = float(token)
        if math.isinf(value):
            shown = token if len(token) <= 20 else token[:17] + "..."
            raise SpecSyntaxError(
                f"number {shown} is too large",
                self.span_of(token),
                f"a number lies between -{sys.float_info.max:.1e} and {sys.float_info.max:.1e}",
            )
        return syntax.Float(value, self.span_of(token))
