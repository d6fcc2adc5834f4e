"""YAML that anyone may have written, read so that every mistake in it is a ``yaml.YAMLError``.

graphdsl reads YAML from users and from files it did not write: parameter values (``--param``,
``--params``), ``--feed`` values, settings files, build manifests, locks and provenance records.
PyYAML's safe loader refuses what it cannot parse with a ``yaml.YAMLError``, which the readers turn
into graphdsl's own errors; but some texts it parses make its constructors fail with other
exceptions (``!!float y``: ValueError, ``!!timestamp 2001``: AttributeError, ``!!bool maybe``:
KeyError, an integer of 5,000 digits: ValueError), and some make values that the code reading them
cannot walk: a value holding itself (``&a [*a]``), nesting deeper than Python's recursion, or
aliases that repeat a value exponentially often (a "billion laughs": nine lines naming a list of a
billion items); and of two equal keys of a map PyYAML keeps the last without a word.
:class:`Loader` refuses all of these as ``yaml.YAMLError`` s at the place of the value, so that
every reader's handler of YAML errors covers them. No TensorFlow here.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

from graphdsl.errors import clipped
from graphdsl.lang.builder import MAX_DIGITS
from graphdsl.lang.builder import MAX_NESTING as MAX_DEPTH

# A value nests at most MAX_DEPTH deep (as a spec's lists and maps), and holds at most this many
# items with every alias expanded: what reads it walks every one.
MAX_ITEMS = 1_000_000


class Loader(yaml.SafeLoader):
    """PyYAML's safe loader that fails only with ``yaml.YAMLError`` (see the module)."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._open: set[str] = set()  # the anchors of the values being composed

    def compose_node(self, parent: Any, index: Any) -> Any:
        event: Any = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:
                mark: Any = event.start_mark
                raise ComposerError(None, None, f"the alias *{event.anchor} is inside the value it names: "
                                    "a value cannot hold itself", mark)
            return super().compose_node(parent, index)
        anchor = getattr(event, "anchor", None)
        if anchor is None or isinstance(event, yaml.ScalarEvent):
            return super().compose_node(parent, index)
        self._open.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._open.discard(anchor)

    def get_single_node(self) -> Any:
        try:
            node = super().get_single_node()
        except RecursionError:
            raise ComposerError(None, None, f"values nested more than {MAX_DEPTH} deep", None) from None
        if node is not None:
            _bounded(node)
        return node

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError) as error:
            tag = f"{node.tag.replace('tag:yaml.org,2002:', '!!')} " if node.tag else ""
            raise ConstructorError(None, None, f"{tag}value {_text(node)} cannot be read ({_problem(error)})",
                                   node.start_mark) from None
        except RecursionError:
            raise ConstructorError(None, None, f"values nested more than {MAX_DEPTH} deep",
                                   node.start_mark) from None

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        # PyYAML keeps the last of two equal keys without a word: a map that says a thing twice
        # is a mistake, told at the second key.
        mapping = super().construct_mapping(node, deep=deep)
        if len(mapping) < len(node.value):
            first: dict[Any, Any] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if key in first:
                    line, _ = place(first[key].start_mark)
                    raise ConstructorError(None, None, f"the key {clipped(repr(key), 40)} is given twice in this "
                                           f"map (first at line {line})", key_node.start_mark)
                first[key] = key_node
        return mapping


def place(mark: Any) -> tuple[int, int]:
    """The 1-based line and column of a YAML mark as the text counts lines: the mark's own also
    ends one at U+0085, U+2028 and U+2029."""
    if not isinstance(mark.buffer, str):  # a mark of a stream read in parts
        return mark.line + 1, mark.column + 1
    return mark.buffer.count("\n", 0, mark.index) + 1, mark.index - mark.buffer.rfind("\n", 0, mark.index)


def refused_character(error: yaml.reader.ReaderError) -> str:
    """What a ``ReaderError`` says, without its "<unicode string>" and offset: which character."""
    return f"it holds the character U+{_code(error):04X}, which YAML does not allow"


def escape_hint(error: yaml.reader.ReaderError) -> str:
    """How to write the character a ``ReaderError`` refused."""
    return f'remove it, or write it as an escape in a quoted string: "\\u{_code(error):04x}"'


def _code(error: yaml.reader.ReaderError) -> int:
    character: Any = error.character
    return character if isinstance(character, int) else ord(character[:1] or "\0")


def load(text: str, loader: type[Loader] = Loader) -> Any:
    """The value of YAML ``text`` (as ``yaml.safe_load``); ``yaml.YAMLError`` for any mistake."""
    return yaml.load(text, Loader=loader)


def compose(text: str) -> Any:
    """The node tree of YAML ``text`` (as ``yaml.compose``), checked as :func:`load` checks it."""
    return yaml.compose(text, Loader=Loader)


def _bounded(root: Any) -> None:
    """Refuse a node tree nested more than MAX_DEPTH deep or of more than MAX_ITEMS items once
    every alias is expanded: each node's expanded size and depth are worked out once, children
    before parents, so the walk is linear in the tree and needs no deep stack of its own."""
    sizes: dict[int, tuple[int, int]] = {}  # id of a node -> (items, depth) below and with it
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if not ready:
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        items = 1 + sum(sizes[id(child)][0] for child in children)
        depth = 1 + max((sizes[id(child)][1] for child in children), default=0)
        if depth > MAX_DEPTH + 1:  # a document's own mapping or list, then values MAX_DEPTH deep
            raise ComposerError(None, None, f"values nested more than {MAX_DEPTH} deep", node.start_mark)
        if items > MAX_ITEMS:
            raise ComposerError(None, None, f"the value holds more than {MAX_ITEMS:,} items once its aliases "
                                "are expanded", node.start_mark)
        sizes[id(node)] = (items, depth)


def _children(node: Any) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return []


def _text(node: Any) -> str:
    value = node.value if isinstance(node, yaml.ScalarNode) else "..."
    return repr(clipped(value, 40))


def _problem(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    if text.startswith("Exceeds the limit"):  # Python's bound on int(str): its advice is Python's
        return f"an integer has at most {MAX_DIGITS} digits"
    return clipped(text, 120)
