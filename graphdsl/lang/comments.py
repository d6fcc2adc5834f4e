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
its end comments in the node's ``else_comments``. The template parser says which bodies a
template's nodes open (``attach(..., bodies=)``): a plain spec's parse imports nothing of templates.

It runs in time linear in the size of the tree plus the number of comments. No TensorFlow here.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from graphdsl.errors import SourceFile, Span, text_span
from graphdsl.lang import grammar, syntax

if TYPE_CHECKING:
    from graphdsl.lang import template_syntax as ts

Position = int  # an offset in the file's text


@functools.cache
def _scanner() -> re.Pattern[str]:
    terminals = {t.name: t.pattern.to_regexp() for t in grammar.tables().terminals}
    return re.compile(f"(?:{terminals['STRING']})|(?P<comment>{terminals['COMMENT']})")


def find(file: SourceFile) -> list[syntax.Comment]:
    """The comments of ``file``'s text, in order."""
    text = file.text
    if "#" not in text:
        return []
    return [syntax.Comment(match.group(), text_span(file, match.start(), match.end()))
            for match in _scanner().finditer(text) if match.group("comment") is not None]


def attach(spec: syntax.Spec | ts.Template, file: SourceFile,
           bodies: Callable[[syntax.Node], list[Body]] | None = None) -> None:
    """Attach the comments of ``file`` to the nodes of ``spec`` (built from it, not shared yet).

    ``bodies`` gives the bodies an entry opens (default: :func:`bodies_of`, a plain spec's).
    """
    found = find(file)
    if found:
        _Attacher(spec, bodies or bodies_of).run(found)


@dataclass
class Body:
    """A node holding a sequence of entries, and the comments gathered for it so far.

    ``start`` and ``end`` bound the body (the node's span, or an ``if``'s branch); ``slot`` is
    where its end comments go: the node's ``comments.end``, or an ``if``'s ``else_comments``.
    """

    node: syntax.Node
    start: Position
    end: Position
    entries: list[syntax.Node]
    slot: str = "end"
    end_comments: list[syntax.Comment] = field(default_factory=list)
    starts: list[int] | None = None  # where each entry starts, once asked

    def before(self, at: Position) -> int:
        """The index of the last entry that starts before ``at`` (-1 if none does)."""
        if self.starts is None:
            self.starts = [entry.span.start for entry in self.entries]
        return bisect_left(self.starts, at) - 1


def _start(span: Span) -> Position:
    return span.start


def _end(span: Span) -> Position:
    return span.end


class _Attacher:
    """Finds, for each comment, the entries around it by walking down from the top to it alone:
    only the bodies that hold a comment are looked at, so a spec with few comments costs little.

    Bodies nest and the entries of one body do not overlap, so the body that holds a comment is
    one of the bodies of the last entry starting before it, and so on down. On the way down, the
    last entry that ends before the comment is also found: an entry inside another ends after
    the outer ones before it, and of nodes ending at one place the outer one is met first.
    """

    def __init__(self, spec: syntax.Spec | ts.Template, bodies: Callable[[syntax.Node], list[Body]]) -> None:
        self.text = spec.file.text
        self.bodies_of = bodies
        self.root = Body(spec, _start(spec.span), _end(spec.span), list(spec.statements))
        self.opened: dict[int, list[Body]] = {}  # id of an entry -> the bodies it opens
        self.leading: dict[int, list[syntax.Comment]] = {}
        self.trailing: dict[int, syntax.Comment] = {}
        self.nodes: dict[int, syntax.Node] = {}
        self.ended: dict[tuple[int, str], Body] = {}  # bodies with end comments, by node and slot

    def run(self, found: list[syntax.Comment]) -> None:
        for comment in found:
            self._place(comment)
        self._store()

    def _place(self, comment: syntax.Comment) -> None:
        at = _start(comment.span)
        body: Body = self.root
        trail: syntax.Node | None = None
        while True:
            index = body.before(at)
            if index < 0:
                break
            entry = body.entries[index]
            if _end(entry.span) <= at:
                trail = _later(trail, entry)
                break
            if index > 0:
                trail = _later(trail, body.entries[index - 1])
            # The entry holds the comment: in its innermost body that does (an `if`'s branch,
            # a parameter's default inside the parameter), and after its other bodies' entries.
            bodies = self._bodies(entry)
            inner: Body | None = None
            for opened in bodies:
                if opened.start < at < opened.end and (inner is None or opened.start > inner.start):
                    inner = opened
            for opened in bodies:
                if opened is not inner and opened.start < at:
                    last = opened.before(at)
                    if last >= 0 and _end(opened.entries[last].span) <= at:
                        trail = _later(trail, opened.entries[last])
            if inner is None:
                break
            body = inner
        # On the line where an entry ends, after it: that entry's trailing comment.
        if trail is not None and self.text.find("\n", _end(trail.span), at) < 0:
            self.trailing[id(trail)] = comment
            self.nodes[id(trail)] = trail
            return
        if index + 1 < len(body.entries):
            entry = body.entries[index + 1]
            self.leading.setdefault(id(entry), []).append(comment)
            self.nodes[id(entry)] = entry
        else:
            body.end_comments.append(comment)
            self.ended[(id(body.node), body.slot)] = body

    def _bodies(self, entry: syntax.Node) -> list[Body]:
        bodies = self.opened.get(id(entry))
        if bodies is None:
            bodies = self.opened[id(entry)] = self.bodies_of(entry)
        return bodies

    def _store(self) -> None:
        ends = {id(b.node): b for b in self.ended.values() if b.slot == "end"}
        for ended in ends.values():
            self.nodes[id(ended.node)] = ended.node
        for branch in self.ended.values():
            if branch.slot == "else":
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


def _later(node: syntax.Node | None, other: syntax.Node) -> syntax.Node:
    """Of two entries, the one that ends later; the first (the outer one) where they end together."""
    return other if node is None or _end(other.span) > _end(node.span) else node


def make_body(node: syntax.Node, entries: tuple[syntax.Node, ...]) -> Body:
    """The body of ``node``: its span, holding ``entries``."""
    return Body(node, _start(node.span), _end(node.span), list(entries))


def bodies_of(node: syntax.Node) -> list[Body]:
    """The bodies a plain spec's entry opens: its own, or that of the list or map it holds as its value."""
    if isinstance(node, syntax.Source):
        return [make_body(node, node.options)]
    if isinstance(node, (syntax.Copy, syntax.Export, syntax.Signature)):
        return [make_body(node, node.entries)]
    return value_bodies(node if isinstance(node, (syntax.ListValue, syntax.MapValue)) else getattr(node, "value", None))


def value_bodies(value: syntax.Node | None) -> list[Body]:
    """The body of a list or map value (none for any other value)."""
    if isinstance(value, syntax.ListValue):
        return [make_body(value, value.items)]
    if isinstance(value, syntax.MapValue):
        return [make_body(value, value.entries)]
    return []
