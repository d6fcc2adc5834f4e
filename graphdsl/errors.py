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
from dataclasses import dataclass
from typing import Iterable


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
    ``source`` is the spec text, used to draw the offending line with a caret.
    """

    kind = "error"

    def __init__(
        self,
        message: str,
        span: Span | None = None,
        hint: str | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint
        self.source = source

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


def did_you_mean(name: str, candidates: Iterable[str], what: str = "") -> str | None:
    """A "did you mean 'x'?" hint for the candidate closest to ``name``, or None."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    if not close:
        return None
    return f"did you mean {what + ' ' if what else ''}'{close[0]}'?"
