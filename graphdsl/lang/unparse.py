"""A plain spec's syntax tree written back as text: ``graphdsl expand`` prints what a template makes.

:func:`unparse` writes one statement or body entry per line, four spaces per level, values inline
(a list or map over several lines only when comments sit inside it), and every comment where the
parser put it: leading comments above their node, a trailing one after it on its last line, the
end comments of a body before its closing bracket. Parsing the text gives the same tree, spans
aside (``tests/test_unparse.py``). It is deliberately simple: it keeps no layout of the input,
aligns nothing and wraps no line. No TensorFlow here.
"""

from __future__ import annotations

import re

from graphdsl.lang import syntax
from graphdsl.lang.expr import quote

_INDENT = "    "
# A label (signature name, map key) written bare must lex as a NAME, and no keyword.
_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*")
_RESERVED = frozenset({"true", "false"})


def unparse(spec: syntax.Spec) -> str:
    """The text of ``spec``."""
    lines: list[str] = []
    previous: syntax.Node | None = None
    for statement in spec.statements:
        if previous is not None and _blank_line_between(previous, statement):
            lines.append("")
        _node_lines(statement, _statement(statement, 0), 0, lines)
        previous = statement
    lines.extend(_comment_lines(spec.comments.end, 0))
    return "\n".join(lines) + "\n"


def unparse_value(value: syntax.Node) -> str:
    """The text of one value (on one line unless comments sit inside it)."""
    return _value(value, 0)


def _blank_line_between(previous: syntax.Node, statement: syntax.Node) -> bool:
    """One-line statements of one kind (sources, lets) stay together; others stand apart."""
    return not (type(previous) is type(statement) and isinstance(statement, (syntax.Source, syntax.Let)))


def _node_lines(node: syntax.Node, text: str, depth: int, lines: list[str]) -> None:
    """``node``'s leading comments, its text (indented), and its trailing comment on its last line."""
    lines.extend(_comment_lines(node.comments.leading, depth))
    pad = _INDENT * depth
    body = [pad + line if i == 0 else line for i, line in enumerate(text.split("\n"))]
    if node.comments.trailing is not None:
        body[-1] += "  " + node.comments.trailing.text
    lines.extend(body)


def _comment_lines(comments: tuple[syntax.Comment, ...], depth: int) -> list[str]:
    return [_INDENT * depth + c.text for c in comments]


def _has_comments(node: syntax.Node) -> bool:
    if node.comments:
        return True
    return any(_has_comments(child) for child in node.children())


# ---------------------------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------------------------


def _statement(node: syntax.Node, depth: int) -> str:
    if isinstance(node, syntax.Version):
        return f"graphdsl {node.number.value}"
    if isinstance(node, syntax.Source):
        return _source(node, depth)
    if isinstance(node, syntax.Copy):
        return _body(f"copy {node.namespace.name} from {node.source.name}", node.entries, node, depth)
    if isinstance(node, syntax.Let):
        return f"let {node.name.name} = {_value(node.value, depth)}"
    if isinstance(node, syntax.Export):
        head = f"export {node.kind.name} {quote(node.path.value)}"
        return _body(head, node.entries, node, depth) if node.has_body else head
    raise TypeError(f"not a statement: {node!r}")


def _source(node: syntax.Source, depth: int) -> str:
    head = f"source {node.name.name} = {node.kind.name}({quote(node.path.value)}"
    if not any(_has_comments(o) for o in node.options) and not node.comments.end:
        return head + "".join(f", {_entry(o, depth)}" for o in node.options) + ")"
    lines = [head + ","]
    for option in node.options:
        _node_lines(option, _entry(option, depth + 1) + ",", depth + 1, lines)
    lines.extend(_comment_lines(node.comments.end, depth + 1))
    lines.append(_INDENT * depth + ")")
    return "\n".join(lines)


def _body(head: str, entries: tuple[syntax.Node, ...], owner: syntax.Node, depth: int) -> str:
    """``head { entries }``, one entry per line."""
    if not entries and not owner.comments.end:
        return head + " { }"
    lines = [head + " {"]
    for entry in entries:
        _node_lines(entry, _entry(entry, depth + 1), depth + 1, lines)
    lines.extend(_comment_lines(owner.comments.end, depth + 1))
    lines.append(_INDENT * depth + "}")
    return "\n".join(lines)


def _entry(node: syntax.Node, depth: int) -> str:
    if isinstance(node, syntax.Setting):
        return f"{node.key.name} = {_value(node.value, depth)}"
    if isinstance(node, syntax.VariableOverride):
        return f"variable {quote(node.pattern.value)} = {_value(node.value, depth)}"
    if isinstance(node, syntax.Bind):
        return f"bind {quote(node.input.value)} = {_value(node.value, depth)}"
    if isinstance(node, syntax.Signature):
        return _body(f"signature {_label(node.name.value)}", node.entries, node, depth)
    raise TypeError(f"not a body entry: {node!r}")


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------


def _value(node: syntax.Node, depth: int) -> str:
    """A value; its first line continues the current one, the others are indented for ``depth``."""
    if isinstance(node, syntax.String):
        return quote(node.value)
    if isinstance(node, syntax.Bool):
        return "true" if node.value else "false"
    if isinstance(node, (syntax.Int, syntax.Float)):
        return repr(node.value)
    if isinstance(node, syntax.Word):
        return node.name
    if isinstance(node, syntax.Ref):
        return f"{node.namespace.name}[{quote(node.element.value)}]"
    if isinstance(node, syntax.ListValue):
        if not _has_comments(node):
            return "[" + ", ".join(_value(v, depth) for v in node.items) + "]"
        return _block("[", "]", [(item, _value(item, depth + 1) + ",") for item in node.items], node, depth)
    if isinstance(node, syntax.MapValue):
        if not _has_comments(node):
            if not node.entries:
                return "{}"
            return "{ " + ", ".join(f"{_label(e.key.value)}: {_value(e.value, depth)}" for e in node.entries) + " }"
        items = [(e, f"{_label(e.key.value)}: {_value(e.value, depth + 1)}") for e in node.entries]
        return _block("{", "}", items, node, depth)
    raise TypeError(f"not a value: {node!r}")


def _block(opening: str, closing: str, items: list[tuple[syntax.Node, str]], owner: syntax.Node, depth: int) -> str:
    lines = [opening]
    for node, text in items:
        _node_lines(node, text, depth + 1, lines)
    lines.extend(_comment_lines(owner.comments.end, depth + 1))
    lines.append(_INDENT * depth + closing)
    return "\n".join(lines)


def _label(text: str) -> str:
    return text if _BARE.fullmatch(text) and text not in _RESERVED else quote(text)
