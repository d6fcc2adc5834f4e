"""Comments: found in the text and attached to the syntax tree, so a formatter can write them back.

The grammar ignores comments; :func:`attach` finds them with the grammar's own ``COMMENT`` and
``STRING`` patterns (a '#' inside a string starts no comment) and gives each to one node:

- a comment on the line where a node ends, after it, is that node's ``trailing`` comment (the
  node that ends last before it; of nodes ending at the same place, the outermost);
- any other comment is ``leading`` for the next entry of the innermost body that holds it
  (statement, copy/export/signature entry, source option, map entry or list item);
- a comment after the last entry of a body is in that body's ``end`` comments (the spec's, at the
  end of the file).

It runs in time linear in the size of the tree plus the number of comments. No TensorFlow here.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from graphdsl.errors import SourceFile, Span
from graphdsl.lang import grammar, syntax

Position = tuple[int, int]


@functools.cache
def _scanner() -> re.Pattern[str]:
    terminals = {t.name: t.pattern.to_regexp() for t in grammar.load().terminals}
    return re.compile(f"(?:{terminals['STRING']})|(?P<comment>{terminals['COMMENT']})")


def find(file: SourceFile) -> list[syntax.Comment]:
    """The comments of ``file``'s text, in order."""
    text = file.text
    if "#" not in text:
        return []
    found = []
    line, line_start, counted = 1, 0, 0
    for match in _scanner().finditer(text):
        if match.group("comment") is None:
            continue
        start = match.start()
        line += text.count("\n", counted, start)
        counted = start
        line_start = text.rfind("\n", 0, start) + 1
        column = start - line_start + 1
        span = Span(file.path, line, column, line, column + len(match.group()), file)
        found.append(syntax.Comment(match.group(), span))
    return found


def attach(spec: syntax.Spec, file: SourceFile) -> None:
    """Attach the comments of ``file`` to the nodes of ``spec`` (built from it, not shared yet)."""
    found = find(file)
    if found:
        _Attacher(spec).run(found)


@dataclass
class _Body:
    """A node holding a sequence of entries, and the comments gathered for it so far."""

    node: syntax.Node
    start: Position
    end: Position
    entries: list[syntax.Node]
    next_entry: int = 0
    end_comments: list[syntax.Comment] = field(default_factory=list)


def _start(span: Span) -> Position:
    return (span.line, span.column)


def _end(span: Span) -> Position:
    return (span.end_line, span.end_column)


class _Attacher:
    def __init__(self, spec: syntax.Spec) -> None:
        self.bodies: list[_Body] = []  # in order of their start
        self.ending: dict[int, list[tuple[int, int, syntax.Node]]] = {}  # end line -> (column, order, node)
        self.leading: dict[int, list[syntax.Comment]] = {}
        self.trailing: dict[int, syntax.Comment] = {}
        self.nodes: dict[int, syntax.Node] = {}
        self._collect(spec, spec.statements)

    def _collect(self, node: syntax.Node, entries: tuple[syntax.Node, ...]) -> None:
        # Iterative: bodies nest as deep as the values do. Outer entries are numbered first, so
        # that of two nodes ending at one place the outer one takes a trailing comment.
        stack: list[tuple[syntax.Node, tuple[syntax.Node, ...]]] = [(node, entries)]
        order = 0
        while stack:
            body_node, body_entries = stack.pop()
            self.bodies.append(_Body(body_node, _start(body_node.span), _end(body_node.span), list(body_entries)))
            for entry in body_entries:
                order += 1
                self.ending.setdefault(entry.span.end_line, []).append((entry.span.end_column, order, entry))
                stack.extend(_bodies_of(entry))
        self.bodies.sort(key=lambda b: b.start)

    def run(self, found: list[syntax.Comment]) -> None:
        # One sweep in source order; bodies nest, so the open ones form a stack.
        root = self.bodies[0]
        open_bodies: list[_Body] = [root]
        next_body = 1
        for comment in found:
            at = _start(comment.span)
            if self._trail(comment, at):
                continue
            while next_body < len(self.bodies) and self.bodies[next_body].start < at:
                self._push(open_bodies, self.bodies[next_body])
                next_body += 1
            while len(open_bodies) > 1 and open_bodies[-1].end <= at:
                open_bodies.pop()
            body = open_bodies[-1]
            while body.next_entry < len(body.entries) and _start(body.entries[body.next_entry].span) < at:
                body.next_entry += 1
            if body.next_entry < len(body.entries):
                entry = body.entries[body.next_entry]
                self.leading.setdefault(id(entry), []).append(comment)
                self.nodes[id(entry)] = entry
            else:
                body.end_comments.append(comment)
        self._store()

    @staticmethod
    def _push(open_bodies: list[_Body], body: _Body) -> None:
        while len(open_bodies) > 1 and open_bodies[-1].end <= body.start:
            open_bodies.pop()
        open_bodies.append(body)

    def _trail(self, comment: syntax.Comment, at: Position) -> bool:
        best: tuple[int, int, syntax.Node] | None = None
        for column, order, node in self.ending.get(comment.span.line, ()):
            if column <= at[1] and (best is None or column > best[0] or (column == best[0] and order < best[1])):
                best = (column, order, node)
        if best is None:
            return False
        self.trailing[id(best[2])] = comment
        self.nodes[id(best[2])] = best[2]
        return True

    def _store(self) -> None:
        ends = {id(b.node): b for b in self.bodies if b.end_comments}
        for ended in ends.values():
            self.nodes[id(ended.node)] = ended.node
        for key, node in self.nodes.items():
            body = ends.get(key)
            comments = syntax.Comments(
                leading=tuple(self.leading.get(key, ())),
                trailing=self.trailing.get(key),
                end=tuple(body.end_comments) if body else (),
            )
            # The tree is still being built: no one holds it yet, so setting the field is safe.
            object.__setattr__(node, "comments", comments)


def _bodies_of(node: syntax.Node) -> list[tuple[syntax.Node, tuple[syntax.Node, ...]]]:
    """The body an entry opens: its own, or that of the list or map it holds as its value."""
    if isinstance(node, syntax.Source):
        return [(node, node.options)]
    if isinstance(node, (syntax.Copy, syntax.Export, syntax.Signature)):
        return [(node, node.entries)]
    value = node if isinstance(node, (syntax.ListValue, syntax.MapValue)) else getattr(node, "value", None)
    if isinstance(value, syntax.ListValue):
        return [(value, value.items)]
    if isinstance(value, syntax.MapValue):
        return [(value, value.entries)]
    return []
