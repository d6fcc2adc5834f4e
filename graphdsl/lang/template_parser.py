"""Template text to the tree of :mod:`graphdsl.lang.template_syntax`, and the one front door
that tells a template from a plain spec.

:func:`parse_any` reads a file as a plain spec (:func:`graphdsl.lang.parser.parse_source`) unless a
line of it starts a template statement (``param``, ``set``, ``block``, ``use``, ``output``,
``include``, ``for``, ``if``: :func:`graphdsl.lang.parser.has_template_line`); then it parses it
from the grammar's ``template`` start rule. A text that parses as
neither gets the error of the reading that went further (the plain one when they stop at the same
place), so that a plain spec is told about plain specs. A long template is built straight from the
driver's reduces (:mod:`graphdsl.lang.template_direct`); any other, or one whose build finds a
mistake, from its tree (:mod:`graphdsl.lang.template_builder`). The expression inside a string's
``{...}`` is parsed on its own from the ``interpolation`` start rule, its spans moved to where it
stands in the file. No TensorFlow here.
"""

from __future__ import annotations

import functools
from typing import Callable

from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from graphdsl.errors import SourceFile, SpecSyntaxError
from graphdsl.lang import expr as ex
from graphdsl.lang import comments, grammar, parser, syntax, template_direct
from graphdsl.lang import template_syntax as ts
from graphdsl.collector import paused
from graphdsl.lang import driver as driver_module
from graphdsl.lang.contextual import Builders, Lines, tree_builders
from graphdsl.lang.syntax_errors import syntax_error
from graphdsl.lang.template_builder import TreeBuilder
from graphdsl.lang.template_builder import contextual as _contextual
from graphdsl.lang.units import ListRule

_TEMPLATE_STATEMENTS = (ts.Param, ts.Set, ts.Block, ts.Use, ts.Output, ts.Include, ts.For, ts.If)
_Tree = Tree[Token]
# What opens and closes an expression inside a string ("tower_{i}"); doubled, each is itself.
INTERPOLATION = ("{", "}")


def parse_any(file: SourceFile) -> syntax.Spec | ts.Template:
    """A plain spec, or a template if ``file`` has a template statement; SpecSyntaxError if neither."""
    if parser.has_template_line(file.text):
        try:
            template = parse_template(file)
        except SpecSyntaxError as template_error:
            try:
                return parser.parse_source(file)
            except SpecSyntaxError as plain_error:
                raise _further(plain_error, template_error) from None
        return template if is_template(template) else parser.parse_source(file)
    try:
        return parser.parse_source(file)
    except SpecSyntaxError as plain_error:
        return template_instead(file, plain_error)


def template_instead(file: SourceFile, plain_error: SpecSyntaxError) -> ts.Template:
    """The template ``file`` is, when no line of it starts a template statement and it does not
    parse as a plain spec (``plain_error``): a ``for`` or ``if`` among a copy's entries makes one.
    Raises ``plain_error`` when it is not a template either: it is a plain spec with a mistake."""
    try:
        template = parse_template(file)
    except SpecSyntaxError:
        raise plain_error from None
    if is_template(template):
        return template
    raise plain_error


def is_template(template: ts.Template) -> bool:
    """Whether ``template`` has a template statement (else it is a plain spec): at the top level,
    or a ``for`` or ``if`` among the entries of a copy or an export."""
    for statement in template.statements:
        if isinstance(statement, _TEMPLATE_STATEMENTS):
            return True
        if isinstance(statement, (ts.Copy, ts.Export)):
            if any(isinstance(entry, (ts.For, ts.If)) for entry in statement.entries):
                return True
    return False


def _further(plain: SpecSyntaxError, template: SpecSyntaxError) -> SpecSyntaxError:
    def where(error: SpecSyntaxError) -> tuple[int, int]:
        return (error.span.line, error.span.column) if error.span else (0, 0)

    return template if where(template) > where(plain) else plain


def parse_template(file: SourceFile) -> ts.Template:
    """Parse ``file`` as a template; SpecSyntaxError where it leaves the grammar."""
    with paused():
        template, rejected = _direct(file)
        if template is None:
            try:
                tree = _parse(file.text, "template", driven=not rejected)
            except UnexpectedInput:
                raise syntax_error(file, start="template") from None
            template = TreeBuilder(file).template(tree)
        comments.attach(template, file, _bodies_of)
        return template


# A template this long is read by the driver: making the driver takes about 11 ms (the loop's
# parser 3.5 ms), and reading a text with it and building its nodes straight from it rather than
# through the loop and lark's tree saves about the difference on some 8,000 characters.
DRIVEN_FROM = 1 << 13


def _parse(text: str, start: str, driven: bool = True) -> _Tree:
    """The tree lark's parser makes of ``text`` from the start rule ``start`` of the template
    grammar. A long template is first read by :class:`~graphdsl.lang.driver.Driver`, as a plain
    spec is (the text lexed at once, statements replayed from what the tables did with a statement
    of the same terminals), with builders that make lark's tree; that reads every token as lark's
    contextual lexer does wherever the tables accept it, so a text it rejects (``a -1``, where a
    minus follows a value) is read again by the loop of :mod:`graphdsl.lang.contextual`, which
    lexes as lark does. Where that loop rejects the text too, lark's parser runs and raises the
    UnexpectedInput that words the error."""
    fast = _driver() if driven and start == "template" and len(text) >= DRIVEN_FROM else None
    if fast is not None:
        driver, trees = fast
        try:
            return driver.parse(text, trees(Lines(text))).value  # type: ignore[no-any-return]
        except driver_module.Rejected:
            pass
    try:
        return _contextual().parse(text, start)
    except driver_module.Rejected:
        return grammar.load("template").parse(text, start=start)


# The template grammar's list (an alternative of `primary`), read as units as a plain spec's are:
# the same brackets, items and places.
LISTS = ListRule("primary", "t_list", *parser.LISTS[2:])


@functools.cache
def _driver() -> tuple[driver_module.Driver, Callable[[Lines], Builders]] | None:
    """The driver of the template grammar and its tree builders (None where the driver cannot
    replay statements or the builders cannot make lark's tree of this grammar)."""
    tables = grammar.tables("template")  # read as data: no parser of lark's is made
    trees = tree_builders(tables)
    driver = driver_module.Driver(tables, "template", name="IDENT", build_expanded=True, used_only=True, lists=LISTS)
    return (driver, trees) if trees is not None and driver.programs is not None else None


def _bodies_of(node: syntax.Node) -> list[comments.Body]:
    """The bodies a template's entry opens (see :mod:`graphdsl.lang.comments`): its own, those of
    a template statement, or that of the list or map it holds as its value."""
    if isinstance(node, ts.Source):
        return [comments.make_body(node, node.options)]
    if isinstance(node, (ts.Copy, ts.Export, ts.Signature)):
        return [comments.make_body(node, node.entries)]
    if isinstance(node, ts.TEMPLATE_BODIES):
        return _template_bodies(node)
    if isinstance(node, (ex.ListExpr, ex.MapExpr)):
        return [comments.make_body(node, node.items)]
    value = getattr(node, "value", None)
    if isinstance(value, (ex.ListExpr, ex.MapExpr)):
        return [comments.make_body(value, value.items)]
    return comments.bodies_of(node)  # a node of a plain spec's kind


def _value_bodies(value: syntax.Node | None) -> list[comments.Body]:
    if isinstance(value, (ex.ListExpr, ex.MapExpr)):
        return [comments.make_body(value, value.items)]
    return comments.value_bodies(value)


def _template_bodies(node: syntax.Node) -> list[comments.Body]:
    """The bodies of a template's own statements (and of a default written as a list or map)."""
    if isinstance(node, ts.Param):
        return [comments.make_body(node, node.entries), *_value_bodies(node.default)]
    if isinstance(node, (ts.Block, ts.For)):
        return [comments.make_body(node, node.body)]
    if isinstance(node, ts.Use):
        return [comments.make_body(node, node.args)]
    assert isinstance(node, ts.If)
    # Two bodies: the branch up to its '}' and what follows `else`, each with its end comments.
    then_end = node.span.end
    if node.then_end is not None and node.span.file is not None:  # a parsed template's node has its file
        then_end = node.span.file.offset(*node.then_end)
    bodies = [comments.Body(node, node.span.start, then_end, list(node.then))]
    if then_end < node.span.end:
        bodies.append(comments.Body(node, then_end, node.span.end, list(node.otherwise), "else"))
    return bodies


def _direct(file: SourceFile) -> tuple[ts.Template | None, bool]:
    """The template ``file`` is, made straight from the driver where it is long enough to be
    driven, else None; and whether the driver rejected the text (then the loop reads it)."""
    fast = _driver() if len(file.text) >= DRIVEN_FROM else None
    if fast is None:
        return None, False
    try:
        return template_direct.build(fast[0], file), False
    except driver_module.Rejected:
        return None, True
    except (template_direct.GiveUp, SpecSyntaxError):
        return None, False  # the tree builder tells what is wrong, after the parse

