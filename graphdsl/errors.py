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

import difflib
import re
from dataclasses import dataclass
from typing import Any, Iterable


@dataclass(frozen=True)
class Span:
    """A region of a spec file: 1-based line and column, end exclusive."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


class GraphDslError(Exception):
    """Root of every error graphdsl raises on purpose; catch this one.

    ``message`` says what is wrong, ``span`` where (for spec errors), ``hint`` what would fix it.
    ``source`` is the spec text, used to draw the offending line with a caret; ``subject`` the path
    or graph element an error without a span is about (see :attr:`subject`).
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
        """Attach the spec text (if not attached yet) so that :meth:`render` can draw the line."""
        if self.source is None:
            self.source = source
        return self

    def render(self) -> str:
        """The full, multi-line message: location, source line with caret, and hint."""
        if self.span is None:
            lines = [f"{self.kind}: {self.message}"]
        else:
            lines = [f"{self.span}: {self.kind}: {self.message}"]
            lines.extend(_draw_caret(self.span, self.source))
        if self.hint:
            lines.append(f"  help: {self.hint}")
        return "\n".join(lines)

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


def _draw_caret(span: Span, source: str | None) -> list[str]:
    if source is None:
        return []
    text_lines = source.splitlines()
    if not 1 <= span.line <= len(text_lines):
        return []
    text = text_lines[span.line - 1].rstrip("\n").expandtabs(1)
    gutter = " " * len(str(span.line))
    start = max(span.column, 1)
    if span.end_line == span.line and span.end_column > start:
        width = span.end_column - start
    else:
        width = max(len(text) - start + 1, 1)
    return [
        f"    {span.line} | {text}",
        f"    {gutter} | {' ' * (start - 1)}{'^' * width}",
    ]


class GraphDslWarning(GraphDslError):
    """Something a build goes on after, with the same parts as an error; reported, never raised."""

    kind = "warning"


class SpecSyntaxError(GraphDslError):
    """The spec text does not follow the grammar."""


class SpecError(GraphDslError):
    """The spec parses but says something impossible (unknown names, duplicates, bad options)."""


class SourceError(GraphDslError):
    """A source graph could not be loaded (missing file, bad format, failing builder)."""


class BuildError(GraphDslError):
    """The spec is valid on its own but does not fit its source graphs."""


class ExportError(GraphDslError):
    """An export could not be written."""


class RunError(GraphDslError):
    """A name or value given to ``graphdsl run`` does not fit the graph being run."""


class CopyError(GraphDslError):
    """The copier was asked for something it cannot do; the message names the graph element."""


class NameClashError(CopyError):
    """The target already holds an element under the name a copy needs."""


class NotCopiedError(CopyError, KeyError):
    """``get_copied`` found no copy of the element asked for."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.render()


def did_you_mean(name: str, candidates: Iterable[str], what: str = "") -> str | None:
    """A "did you mean 'x'?" hint for the candidate closest to ``name``, or None."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    if not close:
        return None
    return f"did you mean {what + ' ' if what else ''}'{close[0]}'?"
