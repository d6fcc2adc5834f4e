"""The canonical layout of a spec: ``graphdsl fmt`` writes every spec the same way.

:func:`format_spec` prints a syntax tree (with its comments) back as text; :func:`format_text`
parses, prints and checks the result. The layout:

- one statement or body entry per line, bodies indented by 4 spaces; a copy, signature or export
  body of one ``key = value`` entry (no signature) stays on its header's line when it fits;
- one space around ``=``, after ``:`` and ``,``, inside ``{ }`` of a map on one line; the ``=`` of
  consecutive entries of one kind (settings, binds, variable overrides, ``source`` and ``let``
  statements) aligned, a blank line ending the run;
- a list, map or source option list on one line when it fits in the width (and holds no comment),
  else one item per line, each followed by a comma;
- the blank lines the user put between statements, entries and comments kept, one at most;
- every comment where the tree attached it: leading comments on their own lines above their node,
  a trailing comment after the node's last line (those of consecutive lines aligned), the end
  comments of a body above its closing bracket;
- literals (strings, numbers, quoted or bare labels) as the user spelled them; no trailing
  whitespace; one line break at the end.

The result parses to the same tree (:func:`meaning`), and formatting it again changes nothing:
:func:`format_text` checks both before it returns. No TensorFlow here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

from graphdsl.errors import GraphDslError, SourceFile, Span, SpecSyntaxError
from graphdsl.lang import syntax
from graphdsl.lang.parser import parse

if TYPE_CHECKING:  # imported by format() for a template: `graphdsl check` of a plain spec pays nothing for it
    from graphdsl.lang import template_syntax

DEFAULT_WIDTH = 100
INDENT = 4
# Trailing whitespace the formatter drops from comments: the grammar's own blanks.
_BLANKS = " \t\f"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def format_text(text: str, path: str = "<string>", width: int = DEFAULT_WIDTH) -> str:
    """``text`` in the canonical layout; SpecSyntaxError when it does not parse.

    Should the result not parse back to the same tree, or not format to itself, it raises a
    :class:`~graphdsl.errors.GraphDslError` instead of returning it: a formatter must never change
    what a spec says.
    """
    return format_source(SourceFile(path, text), width)


def format_source(file: SourceFile, width: int = DEFAULT_WIDTH) -> str:
    """The text of ``file`` in the canonical layout, checked as :func:`format_text` says.

    A template (a spec with parameters, blocks, loops, choices or includes) is laid out by
    :mod:`graphdsl.lang.template_fmt`, and checked the same way.
    """
    from graphdsl.lang.expand import parse_any  # the template modules only for a template

    tree = parse_any(file)
    if not isinstance(tree, syntax.Spec):
        from graphdsl.lang import template_fmt
        from graphdsl.lang.template_parser import parse_template, ts

        formatted = template_fmt.format_template(tree, width)
        try:
            again: syntax.Spec | ts.Template = parse_template(SourceFile(file.path, formatted))
        except SpecSyntaxError:
            raise _refusal(file, "formatting would give a spec that does not parse") from None
        if not isinstance(again, ts.Template) or template_fmt.meaning(again) != template_fmt.meaning(tree):
            raise _refusal(file, "formatting would change what the spec says")
        if template_fmt.format_template(again, width) != formatted:
            raise _refusal(file, "formatting is not stable on this spec")
        return formatted
    formatted = format_spec(tree, width)
    try:
        again = parse(formatted, file.path)
    except SpecSyntaxError:
        raise _refusal(file, "formatting would give a spec that does not parse") from None
    if meaning(again) != meaning(tree):
        raise _refusal(file, "formatting would change what the spec says")
    if format_spec(again, width) != formatted:
        raise _refusal(file, "formatting is not stable on this spec")
    return formatted


def _refusal(file: SourceFile, what: str) -> GraphDslError:
    return GraphDslError(f"{file.path}: {what}; it is left as it is",
                         hint="this is a bug in graphdsl fmt: please report it with the spec")


def format_spec(spec: syntax.Spec, width: int = DEFAULT_WIDTH) -> str:
    """The text of ``spec`` in the canonical layout, ``width`` columns wide where it can be."""
    if width < 1:
        raise ValueError(f"width must be positive, not {width}")
    lines = _Printer(spec, width).lines()
    return _join(lines)


_SPAN = re.compile(r" @\d+:\d+-\d+:\d+$", re.M)  # ends every line of a dump that has one
_COMMENT = re.compile(r'^(\s*(?:- |trailing: )Comment )"(.*)"$')
_ESCAPED = re.compile(r"\\(.)")


def meaning(spec: syntax.Node) -> str:
    """What a spec says, as text: its :func:`~graphdsl.lang.syntax.dump` without the spans.

    Comments count, by their text and the node they belong to; trailing blanks in a comment do not
    (the formatter drops them).
    """
    lines = []
    for line in _SPAN.sub("", syntax.dump(spec)).split("\n"):
        match = _COMMENT.match(line)
        if match:
            text = _ESCAPED.sub(lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), match.group(2))
            line = match.group(1) + syntax._quote(text.rstrip(_BLANKS))
        lines.append(line)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Lines
# ---------------------------------------------------------------------------------------------


@dataclass
class _Line:
    """One output line: code at an indentation, and a comment after it (or alone, without code)."""

    indent: int
    code: str = ""
    comment: str | None = None


def _join(lines: list[_Line]) -> str:
    """The lines as text; the trailing comments of consecutive code lines at one indentation share
    a column."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        j = i
        while (j < len(lines) and lines[j].code and lines[j].comment is not None
               and lines[j].indent == lines[i].indent):
            j += 1
        if j > i:  # a run of code lines with trailing comments
            column = max(line.indent + len(line.code) for line in lines[i:j]) + 2
            for line in lines[i:j]:
                code = " " * line.indent + line.code
                out.append(code + " " * (column - len(code)) + _comment_text(line.comment))
            i = j
            continue
        line = lines[i]
        text = line.code if line.comment is None else _comment_text(line.comment)
        out.append(" " * line.indent + text if text else "")
        i += 1
    return "".join(line + "\n" for line in out)


def _comment_text(text: str | None) -> str:
    return (text or "").rstrip(_BLANKS)


# ---------------------------------------------------------------------------------------------
# The printer
# ---------------------------------------------------------------------------------------------

# How an entry of a body is printed: (entry, width its head is padded to) -> lines.
_Render = Callable[[syntax.Node, int], list[_Line]]
# Where the previous item of a body ended: its file and line (None before the first item).
_Place = tuple[SourceFile | None, int] | None


class _Printer:
    """Prints one spec (a template's printer extends it). Decisions depend on the tree and on where
    the user left blank lines only."""

    def __init__(self, root: syntax.Spec | template_syntax.Template, width: int) -> None:
        self.root = root
        self.width = width
        self._quiet: dict[int, bool] = {}
        self._flat: dict[int, str | None] = {}

    # Statements -------------------------------------------------------------------------------

    def lines(self) -> list[_Line]:
        root = self.root
        return self.body(root.statements, root.comments.end, 0, lambda s, a: self.statement(s, a, 0))

    def statement(self, node: syntax.Node, align: int, indent: int) -> list[_Line]:
        if isinstance(node, syntax.Version):
            return [_Line(indent, f"graphdsl {_spelled(node.number)}")]
        if isinstance(node, syntax.Source):
            return self.source(node, align, indent)
        if isinstance(node, syntax.Copy):
            header = f"copy {node.namespace.name} from {node.source.name}"
            return self.block(header, node, node.entries, indent, self.setting)
        if isinstance(node, syntax.Let):
            return self.setting(node, align, indent)
        if isinstance(node, syntax.Export):
            return self.export(node, indent)
        raise GraphDslError(f"graphdsl fmt cannot lay out this statement yet ({type(node).__name__})", node.span,
                            hint="leave this spec out of graphdsl fmt for now, and please report it")

    def source(self, node: syntax.Source, align: int, indent: int) -> list[_Line]:
        head = f"{self.head(node).ljust(align)} = {node.kind.name}("
        path = _spelled(node.path)
        if self.quiet(node):
            options = "".join(f", {o.key.name} = {self.flat(o.value)}" for o in node.options)
            line = f"{head}{path}{options})"
            if indent + len(line) <= self.width:
                return [_Line(indent, line)]
        inner = indent + INDENT
        body = self.body(node.options, node.comments.end, inner,
                         lambda option, a: self.setting(option, a, inner, ","))
        return [_Line(indent, head), _Line(inner, path + ","), *body, _Line(indent, ")")]

    def export(self, node: syntax.Export, indent: int) -> list[_Line]:
        header = f"export {node.kind.name} {_spelled(node.path)}"
        if node.has_body:
            return self.block(header, node, node.entries, indent, self.export_entry)
        if not node.comments.end:
            return [_Line(indent, header)]
        # Comments written inside `export KIND "PATH"` belong to it: they stay inside.
        inner = indent + INDENT
        comments = [_Line(inner, comment=c.text) for c in node.comments.end]
        return [_Line(indent, f"export {node.kind.name}"), *comments, _Line(inner, _spelled(node.path))]

    def export_entry(self, node: syntax.Node, align: int, indent: int) -> list[_Line]:
        if isinstance(node, syntax.Signature):
            header = f"signature {_spelled(node.name)}"
            return self.block(header, node, node.entries, indent, self.setting)
        return self.setting(node, align, indent)

    def setting(self, node: syntax.Node, align: int, indent: int, tail: str = "") -> list[_Line]:
        """An entry ``HEAD = VALUE`` (a setting, bind, variable override, let), HEAD padded."""
        return self.value(node.value, self.head(node).ljust(align) + " = ", tail, indent)  # type: ignore[attr-defined]

    # Bodies -----------------------------------------------------------------------------------

    def block(self, header: str, node: syntax.Node, entries: Sequence[syntax.Node], indent: int,
              render: Callable[[syntax.Node, int, int], list[_Line]]) -> list[_Line]:
        """``header { entries }``: on one line when it holds one short entry and no comment."""
        if not entries and not node.comments.end:
            return [_Line(indent, header + " {}")]
        if len(entries) == 1 and self.head(entries[0]) and self.quiet(node):
            line = f"{header} {{ {self.head(entries[0])} = {self.flat(entries[0].value)} }}"  # type: ignore[attr-defined]
            if indent + len(line) <= self.width:
                return [_Line(indent, line)]
        inner = indent + INDENT
        body = self.body(entries, node.comments.end, inner, lambda entry, a: render(entry, a, inner))
        return [_Line(indent, header + " {"), *body, _Line(indent, "}")]

    def body(self, entries: Sequence[syntax.Node], end: Sequence[syntax.Comment], indent: int,
             render: _Render) -> list[_Line]:
        """The entries of a body, one per line, with their comments and the user's blank lines.

        The heads of a run of entries of one kind (no blank line between them) are padded to the
        longest, so that their ``=`` align.
        """
        blank_before: list[bool] = []
        last: _Place = None
        for entry in entries:
            blank = False
            for comment in entry.comments.leading:
                blank = blank or _blank(last, comment.span)
                last = (comment.span.file, comment.span.end_line)
            blank_before.append(blank or _blank(last, entry.span))
            last = (entry.span.file, entry.span.end_line)

        lines: list[_Line] = []
        last = None
        for entry, align in zip(entries, _alignment(entries, blank_before, self.head)):
            for comment in entry.comments.leading:
                last = _add_comment(lines, last, comment, indent)
            if _blank(last, entry.span):
                lines.append(_Line(0))
            rendered = render(entry, align)
            if entry.comments.trailing is not None:
                assert rendered[-1].comment is None
                rendered[-1].comment = entry.comments.trailing.text
            lines.extend(rendered)
            last = (entry.span.file, entry.span.end_line)
        for comment in end:
            last = _add_comment(lines, last, comment, indent)
        return lines

    # Values -----------------------------------------------------------------------------------

    def value(self, node: syntax.Node, head: str, tail: str, indent: int) -> list[_Line]:
        """``head + value + tail`` at ``indent``: one line when it fits, else one item per line."""
        flat = self.flat(node)
        opened = self.opened(node)
        if flat is not None:
            if indent + len(head) + len(flat) + len(tail) <= self.width:
                return [_Line(indent, head + flat + tail)]
            if opened is None or not opened[1]:
                return [_Line(indent, head + flat + tail)]  # nothing to break
        assert opened is not None
        bracket, items = opened
        inner = indent + INDENT
        if bracket == "[":
            lines = self.body(items, node.comments.end, inner, lambda item, _: self.value(item, "", ",", inner))
            return [_Line(indent, head + "["), *lines, _Line(indent, "]" + tail)]
        # Commas are optional between map entries, but a key such as `copy` right after a value
        # would be read as the keyword: the comma keeps it a key.
        lines = self.body(items, node.comments.end, inner, lambda entry, _: self.value(
            entry.value, _spelled(entry.key) + ": ", ",", inner))  # type: ignore[attr-defined]
        return [_Line(indent, head + "{"), *lines, _Line(indent, "}" + tail)]

    def opened(self, node: syntax.Node) -> tuple[str, Sequence[syntax.Node]] | None:
        """A list's ``[`` and items, or a map's ``{`` and entries: what breaks over lines."""
        if isinstance(node, syntax.ListValue):
            return "[", node.items
        if isinstance(node, syntax.MapValue):
            return "{", node.entries
        return None

    def flat(self, node: syntax.Node) -> str | None:
        """The value on one line, or None when a comment inside it needs lines of its own."""
        key = id(node)
        if key not in self._flat:
            self._flat[key] = self._flatten(node)
        return self._flat[key]

    def _flatten(self, node: syntax.Node) -> str | None:
        if isinstance(node, syntax.ListValue):
            items = [self.flat(item) for item in node.items]
            if not self.quiet(node) or None in items:
                return None
            return "[" + ", ".join(items) + "]"  # type: ignore[arg-type]
        if isinstance(node, syntax.MapValue):
            values = [self.flat(entry.value) for entry in node.entries]
            if not self.quiet(node) or None in values:
                return None
            if not node.entries:
                return "{}"
            return "{ " + ", ".join(f"{_spelled(e.key)}: {v}" for e, v in zip(node.entries, values)) + " }"
        if isinstance(node, syntax.Ref):
            return f"{node.namespace.name}[{_spelled(node.element)}]"
        if isinstance(node, syntax.Word):
            return node.name
        if isinstance(node, syntax.Bool):
            return "true" if node.value else "false"
        return _spelled(node)

    @staticmethod
    def head(node: syntax.Node) -> str:
        """What stands before an entry's '=' (empty for a node without one)."""
        return _head(node)

    def quiet(self, node: syntax.Node) -> bool:
        """No comment inside ``node`` (its own leading and trailing comments are outside it)."""
        known = self._quiet
        if id(node) not in known:
            # Children before their parent, by a stack rather than recursion: a template's
            # expressions nest deeper than Python's recursion limit allows a frame or two per level.
            stack: list[tuple[syntax.Node, bool]] = [(node, False)]
            while stack:
                current, visited = stack.pop()
                children = current.children()
                if not visited:
                    stack.append((current, True))
                    stack.extend([(child, False) for child in children if id(child) not in known])
                elif id(current) not in known:
                    known[id(current)] = not self.loud(current) and all(
                        not child.comments and known[id(child)] for child in children)
        return known[id(node)]

    @staticmethod
    def loud(node: syntax.Node) -> bool:
        """Whether ``node`` itself holds a comment (one at the end of its body)."""
        return bool(node.comments.end)


def _blank(last: _Place, span: Span) -> bool:
    """Whether the user left a blank line between the previous item and the one at ``span``."""
    if last is None or last[0] is not span.file or span.file is None:
        return False
    file = span.file
    return any(not (file.line(n) or "").strip(_BLANKS) for n in range(last[1] + 1, span.line))


def _add_comment(lines: list[_Line], last: _Place, comment: syntax.Comment, indent: int) -> _Place:
    """Adds a comment on its own line (after a blank line where the user left one)."""
    if _blank(last, comment.span):
        lines.append(_Line(0))
    lines.append(_Line(indent, comment=comment.text))
    return (comment.span.file, comment.span.end_line)


def _spelled(node: syntax.Node) -> str:
    """A literal or label as the user spelled it (spelled canonically in a tree made by code)."""
    span = node.span
    if span.file is not None and span.line == span.end_line:
        line = span.file.line(span.line)
        if line is not None:
            return line[span.column - 1: span.end_column - 1]
    if isinstance(node, syntax.String):
        return node.value if _NAME.match(node.value) else syntax._quote(node.value)
    return repr(node.value)  # type: ignore[attr-defined]


def _head(node: syntax.Node) -> str:
    """What stands before an entry's '=' (empty for a node without one)."""
    if isinstance(node, syntax.Setting):
        return node.key.name
    if isinstance(node, syntax.Bind):
        return f"bind {_spelled(node.input)}"
    if isinstance(node, syntax.VariableOverride):
        return f"variable {_spelled(node.pattern)}"
    if isinstance(node, syntax.Let):
        return f"let {node.name.name}"
    if isinstance(node, syntax.Source):
        return f"source {node.name.name}"
    return ""


def _alignment(entries: Sequence[syntax.Node], blank_before: list[bool],
               head: Callable[[syntax.Node], str] = _head) -> list[int]:
    """For each entry, the width its head is padded to.

    A blank line ends a section; within one, the entries of one kind (settings, binds, variable
    overrides, sources, lets) have their heads padded to the longest of that kind.
    """
    aligns = [0] * len(entries)
    start = 0
    for i in range(1, len(entries) + 1):
        if i < len(entries) and not blank_before[i]:
            continue
        widths: dict[type, int] = {}
        for entry in entries[start:i]:
            widths[type(entry)] = max(widths.get(type(entry), 0), len(head(entry)))
        for k in range(start, i):
            aligns[k] = widths[type(entries[k])]
        start = i
    return aligns
