"""The one exception hierarchy of graphdsl.

Every error a user can cause derives from :class:`GraphDslError`. Errors about a spec carry a
:class:`Span` and render like a compiler's::

    specs/model.gcomp:4:15: error: unknown source 'encodr'
        4 | copy Enc from encodr {
          |               ^^^^^^
      help: did you mean 'encoder'?

Errors about a graph (the copier's) name the graph element instead of a position.
This module imports nothing heavy: the parser and checker use it without TensorFlow.
"""

from __future__ import annotations

import errno
import os
import re
import unicodedata
from bisect import bisect_right
from itertools import accumulate
from typing import Any, Iterable


def normalize_newlines(text: str) -> str:
    """``text`` with every line break as ``\\n``: ``\\r\\n`` and a lone ``\\r`` become ``\\n``.

    This is the one idea of a line graphdsl has: the lexer counts lines at ``\\n`` and error
    messages draw the lines split at ``\\n``. Other characters that some tools take for line
    breaks (form feed, vertical tab, U+0085, U+2028 ...) are characters within a line.
    """
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


class SourceFile:
    """The text of one spec file as the parser read it: what every :class:`Span` points into.

    ``included_from`` is where another file pulled this one in, if any: error messages then name
    that place too. Two files are the same only if they are the same object. The text is kept
    with its line breaks normalized (:func:`normalize_newlines`) and without a leading byte
    order mark, which editors write but users do not see: columns count what the user sees.
    """

    __slots__ = ("path", "text", "included_from", "_lines", "_starts")

    def __init__(self, path: str, text: str, included_from: "Span | None" = None) -> None:
        self.path = path
        self.text = normalize_newlines(text.removeprefix("\ufeff"))
        self.included_from = included_from
        self._lines: list[str] | None = None
        self._starts: list[int] | None = None

    def line(self, number: int) -> str | None:
        """Line ``number`` (1-based) without its line break, or None past the end."""
        if self._lines is None:
            self._lines = self.text.split("\n")
        if 1 <= number <= len(self._lines):
            return self._lines[number - 1]
        return None

    def _line_starts(self) -> list[int]:
        # The offset where each line starts: 0, then one past each "\n" (the lines of line()).
        if self._starts is None:
            if self._lines is None:
                self._lines = self.text.split("\n")
            self._starts = list(accumulate((len(line) + 1 for line in self._lines[:-1]), initial=0))
        return self._starts

    def position(self, offset: int) -> tuple[int, int]:
        """The 1-based line and column of the character at ``offset`` in the text (or of its end)."""
        starts = self._starts if self._starts is not None else self._line_starts()
        line = bisect_right(starts, offset)
        return line, offset - starts[line - 1] + 1

    def offset(self, line: int, column: int) -> int:
        """The offset in the text of 1-based ``line`` and ``column`` (the inverse of :meth:`position`)."""
        starts = self._starts if self._starts is not None else self._line_starts()
        return starts[min(max(line, 1), len(starts)) - 1] + column - 1

    def __repr__(self) -> str:
        return f"SourceFile({self.path!r})"


class Span:
    """A region of a spec file: 1-based line and column, end exclusive.

    ``file`` is the :class:`SourceFile` the span points into (None for spans made up by code);
    it takes no part in comparisons, so a span equals another at the same place of the same path.
    ``start`` and ``end`` are the same place as offsets into the file's text.

    ``Span(path, line, column, end_line, end_column, file)`` makes a :class:`LineSpan`, which holds
    those fields. The parser makes :class:`TextSpan` s, which hold the offsets and work out their
    lines when asked. Both are Spans: this class holds what they share, and no field itself.
    """

    __slots__ = ()
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    file: SourceFile | None

    def __new__(cls, *args: Any, **kwargs: Any) -> Span:
        return object.__new__(LineSpan if cls is Span else cls)

    def __init__(
        self, path: str, line: int, column: int, end_line: int, end_column: int,
        file: SourceFile | None = None,
    ) -> None:
        """What ``Span(...)`` takes: :class:`LineSpan` stores it."""

    def place(self) -> tuple[str, int, int, int, int]:
        """Path, line, column, end line and end column: what two equal spans share."""
        return (self.path, self.line, self.column, self.end_line, self.end_column)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Span) and self.place() == other.place()

    def __hash__(self) -> int:
        return hash(self.place())

    def __repr__(self) -> str:
        return "Span({!r}, {}, {}, {}, {})".format(*self.place())

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"

    def notes(self) -> tuple[str, ...]:
        """Lines that say how the text here was reached: none for a span of what a file says.

        A span of a statement a template made says which block use and loop values made it.
        """
        return ()

    @property
    def start(self) -> int:
        """The offset in its file's text where the span starts (a span with a file only)."""
        return self._file().offset(self.line, self.column)

    @property
    def end(self) -> int:
        """The offset in its file's text where the span ends, exclusive (a span with a file only)."""
        return self._file().offset(self.end_line, self.end_column)

    def _file(self) -> SourceFile:
        if self.file is None:
            raise ValueError(f"{self!r} has no file: it has no offsets")
        return self.file


class LineSpan(Span):
    """A span that holds its lines and columns (what ``Span(...)`` makes)."""

    __slots__ = ("path", "line", "column", "end_line", "end_column", "file")

    def __init__(
        self, path: str, line: int, column: int, end_line: int, end_column: int,
        file: SourceFile | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.end_line = end_line
        self.end_column = end_column
        self.file = file


class TextSpan(Span):
    """A span the parser made: its file and two offsets into the file's text (:func:`text_span`).

    Line and column are worked out from the offsets each time they are asked for: a large spec
    has hundreds of thousands of spans and most are never asked where they are, and a span with
    three fields takes half the memory of one with eight (memory that a fresh process pays for
    page by page). It is a :class:`Span` in every other way (equal to a Span at the same place,
    same attributes).
    """

    __slots__ = ("file", "start", "end")  # type: ignore[misc]  # fields here, properties in Span
    start: int  # type: ignore[misc]
    end: int  # type: ignore[misc]
    file: SourceFile

    @property
    def path(self) -> str:  # type: ignore[override]
        return self.file.path

    @property
    def line(self) -> int:  # type: ignore[override]
        return self.file.position(self.start)[0]

    @property
    def column(self) -> int:  # type: ignore[override]
        return self.file.position(self.start)[1]

    @property
    def end_line(self) -> int:  # type: ignore[override]
        return self.file.position(self.end)[0]

    @property
    def end_column(self) -> int:  # type: ignore[override]
        return self.file.position(self.end)[1]

    def place(self) -> tuple[str, int, int, int, int]:
        position = self.file.position  # each offset's line and column at once
        return (self.file.path, *position(self.start), *position(self.end))

    def __eq__(self, other: object) -> bool:
        if type(other) is TextSpan and other.file is self.file:  # one file: its offsets tell
            return self.start == other.start and self.end == other.end
        return isinstance(other, Span) and self.place() == other.place()

    def __hash__(self) -> int:
        return hash(self.place())


_new = object.__new__


def text_span(file: SourceFile, start: int, end: int) -> TextSpan:
    """The span of ``file``'s text from offset ``start`` to ``end`` (exclusive)."""
    span: TextSpan = _new(TextSpan)
    span.file = file
    span.start = start
    span.end = end
    return span


class GraphDslError(Exception):
    """Root of every error graphdsl raises on purpose; catch this one.

    ``message`` says what is wrong, ``span`` where (for spec errors), ``hint`` what would fix it.
    The line drawn under the message comes from the span's file; ``source`` (the spec text) is
    only needed for a span made without a file.
    ``subject`` is the path or graph element an error without a span is about (see :attr:`subject`).
    """

    kind = "error"

    def __init__(
        self,
        message: str,
        span: Span | None = None,
        hint: str | None = None,
        source: str | None = None,
        *,
        subject: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint
        self.source = source
        self._subject = subject

    def with_source(self, source: str) -> "GraphDslError":
        """Attach the spec text (if not attached yet) for a span that does not know its file."""
        if self.source is None:
            self.source = source
        return self

    def render(self) -> str:
        """The full, multi-line message: location, source line with caret, and hint.

        Characters a terminal would act on (escape sequences, other control characters) are
        shown escaped, so that a spec cannot write to the terminal through an error message.
        """
        message = _printable(_shortened(self.message))
        if self.span is None:
            lines = [f"{self.kind}: {message}"]
        else:
            lines = [f"{self.span}: {self.kind}: {message}"]
            lines.extend(_draw_caret(self.span, self._line(self.span)))
            lines.extend(f"  {note}" for note in self.span.notes())
            lines.extend(_included_from(self.span))
        if self.hint:
            lines.append(f"  help: {_printable(_shortened(self.hint))}")
        return "\n".join(lines)

    def _line(self, span: Span) -> str | None:
        if span.file is not None:
            return span.file.line(span.line)
        if self.source is not None:
            return SourceFile(span.path, self.source).line(span.line)
        return None

    def __str__(self) -> str:
        return self.render()

    @property
    def subject(self) -> str | None:
        """What an error without a span names: a path, or else a graph element; None with a span.

        The ``subject`` given to the constructor, else read from the message: messages about files
        start with the path (``"models/head.pb: no such file"``), those about graph elements quote
        the element (``"variable 'w' has no initializer"``).
        """
        if self.span is not None:
            return None
        if self._subject is not None:
            return self._subject
        prefix = _PATH_PREFIX.match(self.message)
        if prefix is not None:
            return prefix.group(1)
        quoted = _QUOTED.search(self.message)
        return quoted.group(1) if quoted is not None else None

    def to_dict(self) -> dict[str, Any]:
        """The error as plain data, one shape for every error (``--format json``).

        ``file``, ``line``, ``column``, ``end_line`` and ``end_column`` come from the span (1-based,
        the end exclusive) and are None without one; ``subject`` is then what the message names.
        """
        span = self.span
        return {
            "severity": self.kind,
            "type": type(self).__name__,
            "file": span.path if span else None,
            "line": span.line if span else None,
            "column": span.column if span else None,
            "end_line": span.end_line if span else None,
            "end_column": span.end_column if span else None,
            "message": self.message,
            "hint": self.hint,
            "subject": self.subject,
        }


# "PATH: ..." where PATH has no blank (a path with blanks is found quoted, or not at all)
_PATH_PREFIX = re.compile(r"^([^\s'\"]+): ")
_QUOTED = re.compile(r"'([^']+)'")


# A drawn line shows at most this many characters, around the caret.
_SHOWN = 100
# Control characters are drawn as their Unicode "control picture" (form feed as U+240C ...).
_PICTURES = {code: chr(0x2400 + code) for code in range(0x20)} | {0x7F: "\u2421"}


# A message or hint longer than this is shown with its middle left out: it quotes what the input
# gave (a name of a million characters, say), and its two ends say what is wrong and what to do.
LONGEST_MESSAGE = 1000


def _shortened(text: str) -> str:
    if len(text) <= LONGEST_MESSAGE:
        return text
    head, tail = LONGEST_MESSAGE * 2 // 3, LONGEST_MESSAGE // 4
    return f"{text[:head]} ... ({len(text) - head - tail:,} characters left out) ... {text[-tail:]}"


def _printable(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() or c in "\n\t" else c.encode("unicode_escape").decode("ascii") for c in text
    )


def _cell(char: str) -> tuple[str, int]:
    """How a character is drawn, and how many terminal columns it takes."""
    if char == "\t":
        return " ", 1  # the lexer counts a tab as one column
    if not char.isprintable():
        return _PICTURES.get(ord(char), "\ufffd"), 1
    if unicodedata.combining(char):
        return char, 0
    return char, 2 if unicodedata.east_asian_width(char) in "WF" else 1


def _draw_caret(span: Span, text: str | None) -> list[str]:
    if text is None:
        return []
    start = max(span.column, 1)
    if span.end_line == span.line and span.end_column > start:
        width = span.end_column - start
    else:
        width = max(len(text) - start + 1, 1)
    # A very long line is cut to a window around the caret.
    left = max(0, min(start - 1 - _SHOWN // 4, len(text) - _SHOWN))
    right = left + _SHOWN
    cells = [_cell(c) for c in text[left:right]]
    before = cells[: start - 1 - left]
    under = cells[start - 1 - left : start - 1 - left + width]
    prefix = "..." if left > 0 else ""
    suffix = "..." if right < len(text) else ""
    pad = len(prefix) + sum(w for _, w in before)
    carets = sum(w for _, w in under) + max(0, min(width, right - start + 1) - len(under))
    gutter = " " * len(str(span.line))
    return [
        f"    {span.line} | {prefix}{''.join(c for c, _ in cells)}{suffix}",
        f"    {gutter} | {' ' * pad}{'^' * max(carets, 1)}",
    ]


def _included_from(span: Span) -> list[str]:
    lines: list[str] = []
    seen: set[int] = set()
    file = span.file
    while file is not None and file.included_from is not None and id(file) not in seen:
        seen.add(id(file))  # an include cycle is reported elsewhere; never loop on it here
        lines.append(f"  included from {file.included_from}")
        file = file.included_from.file
    return lines


class GraphDslWarning(GraphDslError):
    """Something a build goes on after, with the same parts as an error; reported, never raised."""

    kind = "warning"


class SpecSyntaxError(GraphDslError):
    """The spec text does not follow the grammar."""


class SpecError(GraphDslError):
    """The spec parses but says something impossible (unknown names, duplicates, bad options)."""


class ParamError(SpecError):
    """A value given for a template's parameter does not fit its declaration (or is not declared)."""


class SourceError(GraphDslError):
    """A source graph could not be loaded (missing file, bad format, failing builder)."""


class BuildError(GraphDslError):
    """The spec is valid on its own but does not fit its source graphs."""


class ExportError(GraphDslError):
    """An export could not be written."""


class RunError(GraphDslError):
    """A name or value given to ``graphdsl run`` does not fit the graph being run."""


class LockError(GraphDslError):
    """A lock file is missing or unreadable, or the sources or exports differ from what it locked."""


class ArtifactError(GraphDslError):
    """A file or directory given to ``explain`` or ``diff`` is not something graphdsl can read."""


class CopyError(GraphDslError):
    """The copier was asked for something it cannot do; the message names the graph element."""


class NameClashError(CopyError):
    """The target already holds an element under the name a copy needs."""


class NotCopiedError(CopyError, KeyError):
    """``get_copied`` found no copy of the element asked for."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.render()


# What graphdsl's own read of a file says of a device other than a pipe or a terminal (read to its
# end, /dev/zero would never end): the reason of its OSError (EINVAL).
NOT_A_FILE = "a device, not a file"

# What to do about a file that cannot be read, by the reason (errno) it cannot.
_UNREADABLE_HINTS = {
    errno.ENOENT: "check the path",
    errno.ENOTDIR: "check the path: a part of it before the last is a file, not a directory",
    errno.ENAMETOOLONG: "check the path: it is longer than the system allows",
    errno.ELOOP: "check the path: its symbolic links lead round in a circle",
    errno.EISDIR: "name a file, not a directory",
    errno.EACCES: "check the file's permissions: you need to be allowed to read it",
    errno.EPERM: "check the file's permissions: you need to be allowed to read it",
}


def unreadable(error: OSError) -> GraphDslError:
    """The error to show for a file a user named that cannot be read (``error``): ``cannot read
    PATH: REASON``, with a hint suited to the reason when there is one."""
    name = error.filename if error.filename is not None else ""
    reason = error.strerror or str(error)
    if error.errno == errno.EINVAL and reason == NOT_A_FILE:
        hint: str | None = "name a regular file, or a pipe (/dev/stdin, <(command))"
    else:
        hint = _UNREADABLE_HINTS.get(error.errno) if error.errno is not None else None
    return GraphDslError(f"cannot read {name}: {reason}", hint=hint, subject=str(name))


# What to do about a file that cannot be written, by the reason (errno) it cannot.
_UNWRITABLE_HINTS = {
    errno.ENOENT: "check the path: its directory does not exist",
    errno.ENOTDIR: "check the path: a part of it before the last is a file, not a directory",
    errno.EEXIST: "check the path: a part of it before the last is a file, not a directory",
    errno.ENAMETOOLONG: "check the path: it is longer than the system allows",
    errno.ELOOP: "check the path: its symbolic links lead round in a circle",
    errno.EISDIR: "name a file, not a directory",
    errno.EACCES: "check the permissions: you need to be allowed to write there",
    errno.EPERM: "check the permissions: you need to be allowed to write there",
    errno.EROFS: "the file system is read-only: write somewhere else",
    errno.ENOSPC: "free some space on the disk, or write somewhere else",
}


def unwritable(error: OSError, path: str | os.PathLike[str]) -> GraphDslError:
    """The error to show for a file a user named that cannot be written (``error``, raised while
    writing ``path``): ``cannot write PATH: REASON``, with a hint suited to the reason."""
    # mkdir of a path whose part is a file says "File exists": of that part, not of PATH
    reason = os.strerror(errno.ENOTDIR) if error.errno == errno.EEXIST else error.strerror or str(error)
    hint = _UNWRITABLE_HINTS.get(error.errno) if error.errno is not None else None
    return GraphDslError(f"cannot write {os.fspath(path)}: {reason}", hint=hint, subject=os.fspath(path))


def clipped(text: str, size: int) -> str:
    """``text`` for a message: at most ``size`` characters, cut short with "..."."""
    return text if len(text) <= size else text[:size - 3] + "..."


def did_you_mean(name: str, candidates: Iterable[str], what: str = "") -> str | None:
    """A "did you mean 'x'?" hint for the candidate closest to ``name``, or None."""
    import difflib  # here: only a mistake needs it, and every command imports this module

    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    if not close:
        return None
    return f"did you mean {what + ' ' if what else ''}'{close[0]}'?"
