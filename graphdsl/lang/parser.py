"""Stage 1: spec text to the typed syntax tree of :mod:`graphdsl.lang.syntax`.

Lark compiles ``grammar/graphdsl.lark`` into LALR tables; :mod:`graphdsl.lang.driver` runs them
over the tokens of :mod:`graphdsl.lang.lexer` and :mod:`graphdsl.lang.builder` makes a node of
each rule, with spans that point into one :class:`SourceFile`; :mod:`graphdsl.lang.comments`
attaches the comments. A text that does not follow the grammar raises
:class:`~graphdsl.errors.SpecSyntaxError` (worded by :mod:`graphdsl.lang.syntax_errors`); so does
a file that is not UTF-8, a number no machine type holds, or values nested deeper than
:data:`MAX_NESTING`. Meaning is checked later, by :mod:`graphdsl.lang.check`. No TensorFlow here.
"""

from __future__ import annotations

import codecs
import errno
import functools
import os
import re
import stat
from typing import Any, Callable

from graphdsl.collector import paused
from graphdsl.errors import NOT_A_FILE, GraphDslError, SourceFile, Span, SpecSyntaxError, normalize_newlines
from graphdsl.lang import comments, grammar, syntax
from graphdsl.lang.builder import MAX_DIGITS, MAX_NESTING, Builder
from graphdsl.lang.driver import Driver, Rejected
from graphdsl.lang.units import ListRule

__all__ = ["MAX_DIGITS", "MAX_NESTING", "decode", "has_template_line", "parse", "parse_file", "parse_source",
           "read_file"]

# A line that starts with a template keyword: such a file is read as a template first. Searched
# for in "\n" + the text: an expression that starts with a character is searched for much faster
# than one that starts with ^ (a large plain spec's text is scanned whole).
_TEMPLATE_LINE = re.compile(r"\n[ \t]*(param|set|block|use|output|include|for|if)\b")


# The grammar's list rule: lists of literals are read as units (graphdsl.lang.units), where the
# token before a list's bracket is one that a value follows (after a name, a bracket subscripts).
LISTS = ListRule("list", "list", "_LBRACK", "_RBRACK", "_COMMA", ("STRING", "INT", "FLOAT"),
                 ("_EQUAL", "_LPAR", "_COMMA", "_COLON", "_LBRACK"))


def parse(text: str, path: str = "<string>") -> syntax.Spec:
    """Parse spec text; ``path`` names it in error messages. Raises SpecSyntaxError."""
    return parse_source(SourceFile(path, text))


def parse_file(path: str | os.PathLike[str]) -> syntax.Spec:
    """Read and parse a spec file; errors name the file by ``path`` as given.

    The file must be UTF-8 (a byte order mark is allowed); OSError if it cannot be read.
    """
    name = os.fspath(path)
    return parse_source(decode(read_file(path), name))


def parse_source(file: SourceFile, statement: Callable[[Any], Any] | None = None) -> syntax.Spec:
    """Parse the text of ``file``; every span of the tree points into it. ``statement``, if given,
    is handed each statement as it is made (see :class:`graphdsl.lang.check.StatementChecks`)."""
    builder = Builder(file, statement)
    with paused():
        try:
            spec: syntax.Spec = _driver().parse(file.text, builder.rules)
        except Rejected:
            from graphdsl.lang.syntax_errors import syntax_error  # lark's parser words the error

            error = syntax_error(file)
            # A number or a nesting found out of bounds before the syntax error comes first.
            raise min([*builder.problems, error], key=_position) from None
        if builder.problems:
            raise min(builder.problems, key=_position)
        comments.attach(spec, file)
    return spec


def has_template_line(text: str) -> bool:
    """Whether a line of ``text`` starts with a template statement's keyword (``param``, ``for``,
    ...): :func:`graphdsl.lang.template_parser.parse_any` then reads it as a template first."""
    return _TEMPLATE_LINE.search("\n" + text) is not None


@functools.cache
def _driver() -> Driver:
    return Driver(grammar.tables(), lists=LISTS)


def _position(error: SpecSyntaxError) -> tuple[int, int]:
    span = error.span
    return (span.line, span.column) if span is not None else (0, 0)


def read_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a file a user named: a regular file, a pipe (``<(...)``, /dev/stdin) that ends
    when its writer closes it, or a terminal (ended by Ctrl-D). Another device is refused with an
    OSError, as a missing file is: read to its end, /dev/zero would never end."""
    with open(path, "rb") as file:
        mode = os.fstat(file.fileno()).st_mode
        if (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)) and not file.isatty():
            raise OSError(errno.EINVAL, NOT_A_FILE, os.fspath(path))
        return file.read()


def decode(data: bytes, path: str, what: str = "the spec",
           error: type[GraphDslError] = SpecSyntaxError, included_from: Span | None = None) -> SourceFile:
    """The file ``path`` holding ``data``, decoded as UTF-8 (a byte order mark is allowed); a file
    that an include reads knows where: ``included_from``.

    A byte that is not UTF-8 raises ``error`` at its line and column, saying that ``what`` (the
    spec, a params file ...) is not UTF-8 text.
    """
    if data.startswith(codecs.BOM_UTF8):  # so that a bad byte's column is counted without it
        data = data[len(codecs.BOM_UTF8):]
    try:
        return SourceFile(path, data.decode("utf-8"), included_from)
    except UnicodeDecodeError as problem:
        file = SourceFile(path, data.decode("utf-8", errors="replace"), included_from)
        before = normalize_newlines(data[: problem.start].decode("utf-8"))
        line = before.count("\n") + 1
        column = len(before) - before.rfind("\n")
        raise error(
            f"{what} is not UTF-8 text: byte 0x{data[problem.start]:02x} cannot be decoded",
            Span(path, line, column, line, column + 1, file),
            "save the file with the UTF-8 encoding",
        ) from None
