"""Comments: found in the text and attached to the syntax tree, so a formatter can write them back.

The grammar ignores comments; :func:`attach` finds them with the grammar's own ``COMMENT`` and
``STRING`` patterns (a '#' inside a string starts no comment) and gives each to one node:

- a comment on the line where a node ends, after it, is that node's ``trailing`` comment (the
  node that ends last before it; of nodes ending at the same place, the outermost);
- any other comment is ``leading`` for the next entry of the innermost body that holds it
  (statement, copy/export/signature entry, source option, map entry or list item);
- a comment after the last entry of a body is in that body's ``end`` comments (the spec's, at the
  end of the file).

Templates (:mod:`graphdsl.lang.template_syntax`) take the same rules: their bodies are those of
parameters, blocks, block uses' arguments, ``for`` and ``if``; the ``else`` body of an ``if`` keeps
its end comments in the node's ``else_comments``.

It runs in time linear in the size of the tree plus the number of comments. No TensorFlow here.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from graphdsl.errors import SourceFile, Span, text_span
from graphdsl.lang import expr as ex
from graphdsl.lang import grammar, syntax
from graphdsl.lang import template_syntax as ts

Position = int  # an offset in the file's text


@functools.cache
def _scanner() -> re.Pattern[str]:
    terminals = {t.name: t.pattern.to_regexp() for t in grammar.load().terminals}
    return re.compile(f"(?:{terminals['STRING']})|(?P<comment>{terminals['COMMENT']})")


def find(file: SourceFile) -> list[syntax.Comment]:
    """The comments of ``file``'s text, in order."""
    text = file.text
    if "#" not in text:
        return []
    return [syntax.Comment(match.group(), text_span(file, match.start(), match.end()))
            for match in _scanner().finditer(text) if match.group("comment") is not None]


def attach(spec: syntax.Spec | ts.Template, file: SourceFile) -> None:
    """Attach the comments of ``file`` to the nodes of ``spec`` (built from it, not shared yet)."""
    found = find(file)
    if found:
        _Attacher(spec).run(found)


@dataclass
class _Body:
    """A node holding a sequence of entries, and the comments gathered for it so far.

    ``start`` and ``end`` bound the body (the node's span, or an ``if``'s branch); ``slot`` is
    where its end comments go: the node's ``comments.end``, or an ``if``'s ``else_comments``.
    """

    node: syntax.Node
    start: Position
    end: Position
    entries: list[syntax.Node]
    slot: str = "end"
    next_entry: int = 0
    end_comments: list[syntax.Comment] = field(default_factory=list)


def _start(span: Span) -> Position:
    return span.start


def _end(span: Span) -> Position:
    return span.end


class _Attacher:
    def __init__(self, spec: syntax.Spec | ts.Template) -> None:
        self.bodies: list[_Body] = []  # in order of their start
        # The end of the line where entries end (its offset) -> (where each ends, order, entry).
        self.ending: dict[int, list[tuple[int, int, syntax.Node]]] = {}
        self.leading: dict[int, list[syntax.Comment]] = {}
        self.trailing: dict[int, syntax.Comment] = {}
        self.nodes: dict[int, syntax.Node] = {}
        self.text = spec.file.text
        self._collect(spec, spec.statements)

    def _collect(self, node: syntax.Node, entries: tuple[syntax.Node, ...]) -> None:
        # Iterative: bodies nest as deep as the values do. Outer entries are numbered first, so
        # that of two nodes ending at one place the outer one takes a trailing comment.
        stack = [_Body(node, _start(node.span), _end(node.span), list(entries))]
        order = 0
        find, size = self.text.find, len(self.text)
        while stack:
            body = stack.pop()
            self.bodies.append(body)
            for entry in body.entries:
                order += 1
                end = entry.span.end
                line_end = find("\n", end)
                self.ending.setdefault(size if line_end < 0 else line_end, []).append((end, order, entry))
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
        # A comment runs to the end of its line: its end is that line's end.
        for column, order, node in self.ending.get(comment.span.end, ()):
            if column <= at and (best is None or column > best[0] or (column == best[0] and order < best[1])):
                best = (column, order, node)
        if best is None:
            return False
        self.trailing[id(best[2])] = comment
        self.nodes[id(best[2])] = best[2]
        return True

    def _store(self) -> None:
        ends = {id(b.node): b for b in self.bodies if b.end_comments and b.slot == "end"}
        for ended in ends.values():
            self.nodes[id(ended.node)] = ended.node
        for branch in self.bodies:
            if branch.end_comments and branch.slot == "else":
                object.__setattr__(branch.node, "else_comments", tuple(branch.end_comments))
        for key, node in self.nodes.items():
            body = ends.get(key)
            comments = syntax.Comments(
                leading=tuple(self.leading.get(key, ())),
                trailing=self.trailing.get(key),
                end=tuple(body.end_comments) if body else (),
            )
            # The tree is still being built: no one holds it yet, so setting the field is safe.
            object.__setattr__(node, "comments", comments)


def _body(node: syntax.Node, entries: tuple[syntax.Node, ...]) -> _Body:
    return _Body(node, _start(node.span), _end(node.span), list(entries))


def _bodies_of(node: syntax.Node) -> list[_Body]:
    """The bodies an entry opens: its own, or that of the list or map it holds as its value."""
    if isinstance(node, (syntax.Source, ts.Source)):
        return [_body(node, node.options)]
    if isinstance(node, (syntax.Copy, syntax.Export, syntax.Signature, ts.Copy, ts.Export, ts.Signature)):
        return [_body(node, node.entries)]
    if isinstance(node, ts.TEMPLATE_BODIES):
        return _template_bodies(node)
    value = node if isinstance(node, _LISTS + _MAPS) else getattr(node, "value", None)
    return _value_bodies(value)


_LISTS = (syntax.ListValue, ex.ListExpr)
_MAPS = (syntax.MapValue, ex.MapExpr)


def _value_bodies(value: syntax.Node | None) -> list[_Body]:
    if isinstance(value, syntax.ListValue):
        return [_body(value, value.items)]
    if isinstance(value, syntax.MapValue):
        return [_body(value, value.entries)]
    if isinstance(value, (ex.ListExpr, ex.MapExpr)):
        return [_body(value, value.items)]
    return []


def _template_bodies(node: syntax.Node) -> list[_Body]:
    """The bodies of a template's own statements (and of a default written as a list or map)."""
    if isinstance(node, ts.Param):
        return [_body(node, node.entries), *_value_bodies(node.default)]
    if isinstance(node, ts.Block):
        return [_body(node, node.body)]
    if isinstance(node, ts.Use):
        return [_body(node, node.args)]
    if isinstance(node, ts.For):
        return [_body(node, node.body)]
    assert isinstance(node, ts.If)
    # Two bodies: the branch up to its '}' and what follows `else`, each with its end comments.
    then_end = _end(node.span) if node.then_end is None else node.span.file.offset(*node.then_end)
    bodies = [_Body(node, _start(node.span), then_end, list(node.then))]
    if then_end < _end(node.span):
        bodies.append(_Body(node, then_end, _end(node.span), list(node.otherwise), "else"))
    return bodies
