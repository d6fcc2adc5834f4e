"""What the checker's passes share: the order of their findings, and checks both of them make.

Each pass (:mod:`graphdsl.lang.scope`, :mod:`graphdsl.lang.rules`) walks the whole spec with a
:class:`~graphdsl.lang.syntax.NodeVisitor` and stops at its first :class:`Finding`.
:func:`graphdsl.lang.check.check` then reports the earliest finding of all passes, as if one
checker had walked the spec once. "Earliest" is the order of a walk in source order: a check made
on entering a node comes before anything inside it; a check made on leaving a node (say, an entry
that is missing from a body) comes after everything inside it. Positions in the text give that
order without the passes walking in step:

- entering a node is at its start, leaving it at its end;
- at one place, leaving comes before entering, an outer node is entered before an inner one and
  left after it (``level`` is the nesting level: spec 0, statement 1, entry 2 ...);
- at one moment of the walk, the scope pass comes before the schema pass (``rank``).
"""

from __future__ import annotations

import re
from typing import Callable, ClassVar, NoReturn

from graphdsl.errors import Span, SpecError
from graphdsl.lang import schema, syntax

Key = tuple[int, int, int, int, int]


class Finding(Exception):
    """The first error a pass found, and where in the walk it found it."""

    def __init__(self, error: SpecError, key: Key) -> None:
        super().__init__(error.message)
        self.error = error
        self.key = key


class Pass(syntax.NodeVisitor):
    """A walk over a spec that stops at its first error."""

    rank: ClassVar[int]

    def __init__(self, spec: syntax.Spec, statements: bool = True) -> None:
        """With ``statements`` false, the pass leaves out what it checks of each statement on its
        own: the statements passed as they were made (:class:`graphdsl.lang.check.StatementChecks`)."""
        self.spec = spec
        self.statements = statements
        # Where the walk is: the node entered (1) or left (0), and its level. The key of a finding
        # is worked out from it only when the pass fails: asking a span its line costs time.
        self._at: tuple[syntax.Node | None, int, int] = (None, 1, 0)

    def run(self) -> Finding | None:
        """Walk the spec; return the first finding, or None."""
        try:
            self.visit(self.spec)
        except Finding as finding:
            return finding
        return None

    def enter(self, node: syntax.Node, level: int) -> None:
        """The checks that follow are made on entering ``node``."""
        self._at = (node, 1, level)

    def leave(self, node: syntax.Node, level: int) -> None:
        """The checks that follow are made on leaving ``node``, after everything inside it."""
        self._at = (node, 0, level)

    def fail(self, message: str, span: Span, hint: str | None = None) -> NoReturn:
        """Stop the pass with an error at ``span``."""
        raise Finding(SpecError(message, span, hint), (*self._where(), self.rank))

    def _where(self) -> tuple[int, int, int, int]:
        node, entering, level = self._at
        if node is None:
            return (0, 0, 0, 0)
        at = node.span
        if entering:
            return (at.line, at.column, 1, level)
        return (at.end_line, at.end_column, 0, -level)

    def check_element(self, name: syntax.String, what: str, glob: bool = False, tensor: bool = False) -> None:
        """An op name, or a tensor name OP:INDEX; globs only where ``glob``, tensors only if ``tensor``."""
        text = name.value
        if _PLAIN[glob, tensor](text) is not None:
            return  # the common case, in one match: a name the checks below all let through
        if not text:
            self.fail(f"empty {what}", name.span)
        if text.startswith(schema.SIGNATURE_KEY_PREFIX):  # a signature key of a savedmodel source
            if len(text) == 1 or ":" in text or not schema.GLOB_CHARS.isdisjoint(text):
                self.fail(f"malformed signature key '{text}'", name.span,
                          "write '@' and an input or output key of the source's signature, e.g. '@x'")
            return
        if not glob and not schema.GLOB_CHARS.isdisjoint(text):
            self.fail(f"{what} '{text}' is a pattern", name.span, "name one element here; patterns are for take")
        if ":" in text:
            op, _, index = text.rpartition(":")
            if not op or ":" in op or not index.isdigit():
                self.fail(f"malformed tensor name '{text}'", name.span,
                          "a tensor name is OP:INDEX, e.g. 'encoder/out:0'")
        elif tensor:
            self.fail(f"{what} '{text}' is not a tensor name", name.span,
                      f"a tensor name ends in :INDEX, e.g. '{text}:0'")


def _plain_names() -> dict[tuple[bool, bool], Callable[[str], re.Match[str] | None]]:
    """For (glob, tensor) as check_element takes them: the fullmatch of names it surely lets
    through (not a signature key; no pattern character where none is allowed; OP:INDEX with one
    ':' and ASCII digits, and a tensor name where one is required)."""
    head, glob_chars = re.escape(schema.SIGNATURE_KEY_PREFIX), re.escape("".join(sorted(schema.GLOB_CHARS)))
    patterns = {
        (True, False): f"[^{head}:][^:]*(?::[0-9]+)?",
        (False, False): f"[^{head}:{glob_chars}][^:{glob_chars}]*(?::[0-9]+)?",
        (False, True): f"[^{head}:{glob_chars}][^:{glob_chars}]*:[0-9]+",
        (True, True): f"[^{head}:][^:]*:[0-9]+",
    }
    return {key: re.compile(pattern).fullmatch for key, pattern in patterns.items()}


_PLAIN = _plain_names()


def plain_names(glob: bool, tensor: bool) -> Callable[[str], re.Match[str] | None]:
    """The first step of :meth:`Pass.check_element`: matches the names it surely lets through
    (None: the name takes the whole check)."""
    return _PLAIN[glob, tensor]


def first_at(node: syntax.Node, name: str | None = None, column: bool = False, at: Span | None = None) -> str:
    """Where the first of two duplicates is; with the column for things that share a line, and
    its file when it is not that of ``at`` (the second's place)."""
    where = place(node.span, at, column)
    return f"the first '{name}' is at {where}" if name else f"the first is at {where}"


def place(span: Span, at: Span | None = None, column: bool = False) -> str:
    """``line N`` (``, column C``) of ``span`` for a message at ``at``: ``PATH:N`` (``:C``) when
    the two are in different files (a template's statements come from the files it includes)."""
    if at is not None and span.file is not at.file and span.file is not None and at.file is not None:
        return f"{span.path}:{span.line}:{span.column}" if column else f"{span.path}:{span.line}"
    return f"line {span.line}, column {span.column}" if column else f"line {span.line}"


def describe(value: syntax.Value) -> str:
    """A value in words, for messages: "a string", "the name 'x'", "a list" ..."""
    if isinstance(value, syntax.String):
        return f'the string "{value.value}"'
    if isinstance(value, (syntax.Int, syntax.Float)):
        return f"the number {value.value}"
    if isinstance(value, syntax.Bool):
        return "true" if value.value else "false"
    if isinstance(value, syntax.Word):
        return f"the name '{value.name}'"
    if isinstance(value, syntax.Ref):
        return "a reference"
    if isinstance(value, syntax.ListValue):
        return "a list"
    return "a map"
