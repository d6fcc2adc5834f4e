"""Template text to the tree of :mod:`graphdsl.lang.template_syntax`, and the one front door
that tells a template from a plain spec.

:func:`parse_any` reads a file as a plain spec (:func:`graphdsl.lang.parser.parse_source`) unless a
line of it starts a template statement (``param``, ``set``, ``block``, ``use``, ``output``,
``include``, ``for``, ``if``: :func:`graphdsl.lang.parser.has_template_line`); then it parses it
from the grammar's ``template`` start rule. A text that parses as
neither gets the error of the reading that went further (the plain one when they stop at the same
place), so that a plain spec is told about plain specs. The expression inside a string's ``{...}``
is parsed on its own from the ``interpolation`` start rule, its spans moved to where it stands in
the file. No TensorFlow here.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Callable

from lark import Token, Tree
from lark.exceptions import UnexpectedInput
from lark.lexer import PatternStr

from graphdsl.errors import SourceFile, Span, SpecSyntaxError, TextSpan, text_span
from graphdsl.lang import expr as ex
from graphdsl.lang import comments, grammar, parser, syntax
from graphdsl.lang import template_syntax as ts
from graphdsl.collector import paused
from graphdsl.lang import driver as driver_module
from graphdsl.lang.programs import Splice, flat
from graphdsl.lang.contextual import (Builders, ContextualParser, Lines, PositionedToken, PositionedTree,
                                      tree_builders)
from graphdsl.lang.syntax_errors import syntax_error

_TEMPLATE_STATEMENTS = (ts.Param, ts.Set, ts.Block, ts.Use, ts.Output, ts.Include, ts.For, ts.If)
# Expressions nest at most this deep (a chain of 256 '+' is 256 deep): the stages that walk them
# recurse, and must stay clear of Python's recursion limit.
MAX_EXPRESSION_DEPTH = 256
# What opens and closes an expression inside a string ("tower_{i}"); doubled, each is itself.
INTERPOLATION = ("{", "}")
_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}
_SPECIAL = re.compile(r"[\\{}]")  # what a string's text is read for


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
            template = _Builder(file).template(tree)
        comments.attach(template, file, _bodies_of)
        return template


# A template this long is read by the driver: making the driver takes about 10 ms, and reading
# a text with it rather than with the loop saves about that much on some 80,000 characters.
DRIVEN_FROM = 1 << 16


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


@functools.cache
def _contextual() -> ContextualParser:
    return ContextualParser(grammar.load("template"))


@functools.cache
def _driver() -> tuple[driver_module.Driver, Callable[[Lines], Builders]] | None:
    """The driver of the template grammar and its tree builders (None where the driver cannot
    replay statements or the builders cannot make lark's tree of this grammar)."""
    lark = grammar.load("template")
    trees = tree_builders(lark)
    driver = driver_module.Driver(lark, "template", name="IDENT", build_expanded=True, used_only=True)
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


# ---------------------------------------------------------------------------------------------
# Lark tree to template tree
# ---------------------------------------------------------------------------------------------

# The Lark tree of a template: each rule's children are its subtrees and its kept tokens. The
# grammar fixes which is which at each place, so the builder takes them as they come (Any).
_Tree = Tree[Token]
_TREE, _TOKEN = PositionedTree, PositionedToken  # what the fast parses make (exact types)

_BINARY = {
    "or_op": "or", "and_op": "and", "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">",
    "ge": ">=", "in_op": "in", "add": "+", "sub": "-", "mul": "*", "div": "/", "floordiv": "//",
    "mod": "%",
}

# The nodes' fast constructors (positional, see syntax.maker): a template of 10,000 statements
# makes some 100,000 nodes, and a frozen dataclass's __init__ was most of the cost of each.
_make = syntax.maker
_Ident, _String, _Int, _Version = _make(syntax.Ident), _make(syntax.String), _make(syntax.Int), _make(syntax.Version)
_Setting, _Source, _Copy, _Let = _make(ts.Setting), _make(ts.Source), _make(ts.Copy), _make(ts.Let)
_Export, _Param, _Check, _TypeSpec = _make(ts.Export), _make(ts.Param), _make(ts.Check), _make(ts.TypeSpec)
_Set, _Block, _BlockParam, _Use = _make(ts.Set), _make(ts.Block), _make(ts.BlockParam), _make(ts.Use)
_Output, _Include, _For, _If = _make(ts.Output), _make(ts.Include), _make(ts.For), _make(ts.If)
_VariableOverride, _Bind, _Signature = _make(ts.VariableOverride), _make(ts.Bind), _make(ts.Signature)
_Literal, _Interpolated, _Variable = _make(ex.Literal), _make(ex.Interpolated), _make(ex.Variable)
_Binary, _Unary, _Call, _Index = _make(ex.Binary), _make(ex.Unary), _make(ex.Call), _make(ex.Index)
_Attribute, _Conditional, _ListExpr = _make(ex.Attribute), _make(ex.Conditional), _make(ex.ListExpr)
_MapExpr, _MapItem, _ListFor, _MapFor = _make(ex.MapExpr), _make(ex.MapItem), _make(ex.ListFor), _make(ex.MapFor)
_new = object.__new__


def _offsets(item: Any) -> tuple[int, int]:
    """Where the text of a token or tree of either parse starts and ends in the text parsed."""
    kind = type(item)
    if kind is _TREE:
        start, end = item.start, item.end
    elif kind is _TOKEN or isinstance(item, Token):
        start, end = item.start_pos, item.end_pos
    else:  # a tree of lark's parser
        meta = item.meta
        start, end = (None, None) if meta.empty else (meta.start_pos, meta.end_pos)
    # Lark leaves a position None only for a token it made up; the grammar's have them all.
    return start or 0, end or 0


class _Builder:
    """Restructures the Lark tree of a template (or of one interpolation) into template nodes.

    ``base`` is the offset in the file of the text parsed: an interpolation is parsed on its own,
    and its nodes must point where it stands in the file. A string never spans lines, so the
    offsets give the line and column the text's own line and column would, moved along the line.
    """

    def __init__(self, file: SourceFile, base: int = 0) -> None:
        self.file = file
        self.path = file.path
        self.base = base

    # Spans ------------------------------------------------------------------------------------

    def span_of(self, item: Any) -> TextSpan:
        kind = type(item)  # the fast parses' types first: a span per node
        if kind is _TREE:
            start, end = item.start, item.end
        elif kind is _TOKEN:
            start, end = item.start_pos, item.end_pos
        else:
            start, end = _offsets(item)
        span: TextSpan = _new(TextSpan)  # text_span(), inline
        span.file = self.file
        span.start = (start or 0) + self.base
        span.end = (end or 0) + self.base
        return span

    # Statements -------------------------------------------------------------------------------

    def template(self, tree: _Tree) -> ts.Template:
        text = self.file.text
        end = Span(self.path, 1, 1, text.count("\n") + 1, len(text) - text.rfind("\n"), self.file)
        return ts.Template(self.file, self.statements(tree.children), end)

    def statements(self, children: list[Any]) -> tuple[ts.Node, ...]:
        return tuple([_STATEMENTS[child.data](self, child) for child in children])

    def body(self, tree: Any) -> tuple[ts.Node, ...]:
        """The statements of a ``{ ... }`` (statements, copy_entries or export_entries)."""
        if tree.data == "statements":
            return self.statements(tree.children)
        return tuple([_ENTRIES[child.data](self, child) for child in tree.children])

    def version(self, tree: Any) -> syntax.Version:
        (number,) = tree.children
        return _Version(_Int(int(number), self.span_of(number)), self.span_of(tree))

    def source(self, tree: Any) -> ts.Source:
        name, kind, path, *options = tree.children
        return _Source(self.name(name), self.ident(kind), self.string(path),
                       tuple([self.setting(o) for o in options]), self.span_of(tree))

    def copy(self, tree: Any) -> ts.Copy:
        namespace, source, entries = tree.children
        return _Copy(self.name(namespace), self.name(source), self.body(entries), self.span_of(tree))

    def let(self, tree: Any) -> ts.Let:
        name, value = tree.children
        return _Let(self.name(name), self.expr(value), self.span_of(tree))

    def export(self, tree: Any) -> ts.Export:
        kind, path, *body = tree.children
        entries = self.body(body[0]) if body else ()
        return _Export(self.ident(kind), self.string(path), entries, bool(body), self.span_of(tree))

    def param(self, tree: Any) -> ts.Param:
        name, type_, *rest = tree.children
        default = None
        entries: tuple[ts.Node, ...] = ()
        for child in rest:
            if isinstance(child, Tree) and child.data == "param_body":
                entries = tuple(self.setting(c) if c.data == "t_setting" else self.check(c) for c in child.children)
            else:
                default = self.expr(child)
        return _Param(self.ident(name), self.type(type_), default, entries, self.span_of(tree))

    def check(self, tree: Any) -> ts.Check:
        condition, message = tree.children
        return _Check(self.expr(condition), self.expr(message), self.span_of(tree))

    def type(self, tree: Any) -> ts.TypeSpec:
        name, *item = tree.children
        return _TypeSpec(self.ident(name), self.type(item[0]) if item else None, self.span_of(tree))

    def set(self, tree: Any) -> ts.Set:
        name, value = tree.children
        return _Set(self.ident(name), self.expr(value), self.span_of(tree))

    def block(self, tree: Any) -> ts.Block:
        name, *params, body = tree.children
        return _Block(self.ident(name), tuple(self.block_param(p) for p in params), self.body(body),
                      self.span_of(tree))

    def block_param(self, tree: Any) -> ts.BlockParam:
        name, *rest = tree.children
        type_ = default = None
        for child in rest:
            if isinstance(child, Tree) and child.data == "type":
                type_ = self.type(child)
            else:
                default = self.expr(child)
        return _BlockParam(self.ident(name), type_, default, self.span_of(tree))

    def use(self, tree: Any) -> ts.Use:
        name, block, *args = tree.children
        return _Use(self.name(name), self.ident(block), tuple(self.setting(a) for a in args), self.span_of(tree))

    def output(self, tree: Any) -> ts.Output:
        name, value = tree.children
        return _Output(self.ident(name), self.expr(value), self.span_of(tree))

    def include(self, tree: Any) -> ts.Include:
        (path,) = tree.children
        return _Include(_String(_decode(path[1:-1]), self.span_of(path)), self.span_of(tree))

    def for_(self, tree: Any) -> ts.For:
        names, iterable, body = tree.children
        return _For(tuple(self.ident(n) for n in names.children), self.expr(iterable), self.body(body),
                    self.span_of(tree))

    def if_(self, tree: Any) -> ts.If:
        condition, then, *otherwise = tree.children
        rest: tuple[ts.Node, ...] = ()
        if otherwise:
            branch = otherwise[0]
            rest = (self.if_(branch),) if branch.data.endswith("_if") else self.body(branch)
        node: ts.If = _If(self.expr(condition), self.body(then), rest, self.span_of(tree))
        then_span = self.span_of(then)
        object.__setattr__(node, "then_end", (then_span.end_line, then_span.end_column))  # not a field
        return node

    # Entries ----------------------------------------------------------------------------------

    def setting(self, tree: Any) -> ts.Setting:
        key, value = tree.children
        return _Setting(self.ident(key), self.expr(value), self.span_of(tree))

    def variable_override(self, tree: Any) -> ts.VariableOverride:
        pattern, value = tree.children
        return _VariableOverride(self.string(pattern), self.expr(value), self.span_of(tree))

    def bind(self, tree: Any) -> ts.Bind:
        input_name, value = tree.children
        return _Bind(self.string(input_name), self.expr(value), self.span_of(tree))

    def signature(self, tree: Any) -> ts.Signature:
        label, *settings = tree.children
        return _Signature(self.label(label), tuple(self.setting(s) for s in settings), self.span_of(tree))

    # Names ------------------------------------------------------------------------------------

    def name(self, tree: Any) -> ts.NameExpr:
        """A name being defined: an Ident as written, or the expression of a string that computes it."""
        (token,) = tree.children
        if token.type == "STRING":
            return self.string(token)
        return _Ident(str(token), self.span_of(token))

    def label(self, tree: Any) -> ts.Expr:
        (token,) = tree.children
        if token.type == "STRING":
            return self.string(token)
        return _Literal(str(token), self.span_of(token))

    def ident(self, token: Any) -> syntax.Ident:
        return _Ident(str(token), self.span_of(token))

    # Expressions ------------------------------------------------------------------------------

    def expr(self, item: Any, depth: int = 0) -> ts.Expr:
        kind = type(item)
        if kind is _TOKEN or (kind is not _TREE and isinstance(item, Token)):
            return self.value(item)
        if depth >= MAX_EXPRESSION_DEPTH:
            span = self.span_of(item)
            raise SpecSyntaxError(f"expressions nested more than {MAX_EXPRESSION_DEPTH} deep",
                                  Span(self.path, span.line, span.column, span.line, span.column + 1, self.file),
                                  "give parts of it names with set")
        return _EXPRESSIONS[item.data](self, item, depth + 1)

    def value(self, token: Any) -> ts.Expr:
        """A literal: a string (with or without ``{...}``), a number or a bool."""
        kind = token.type
        if kind == "STRING":
            return self.string(token)
        if kind == "INT":
            return _Literal(self.integer(token), self.span_of(token))
        if kind == "FLOAT":
            return _Literal(self.number(token), self.span_of(token))
        return _Literal(kind == "TRUE", self.span_of(token))

    def binary(self, tree: Any, depth: int) -> ts.Expr:
        left, right = tree.children
        return _Binary(_BINARY[tree.data], self.expr(left, depth), self.expr(right, depth), self.span_of(tree))

    def variable(self, tree: Any, depth: int) -> ts.Expr:
        return _Variable(str(tree.children[0]), self.span_of(tree))

    def call(self, tree: Any, depth: int) -> ts.Expr:
        function, *args = tree.children
        return _Call(str(function), tuple([self.expr(a, depth) for a in args]), self.span_of(tree))

    def neg(self, tree: Any, depth: int) -> ts.Expr:
        return _Unary("-", self.expr(tree.children[0], depth), self.span_of(tree))

    def not_op(self, tree: Any, depth: int) -> ts.Expr:
        return _Unary("not", self.expr(tree.children[0], depth), self.span_of(tree))

    def conditional(self, tree: Any, depth: int) -> ts.Expr:
        condition, then, otherwise = tree.children
        return _Conditional(self.expr(condition, depth), self.expr(then, depth), self.expr(otherwise, depth),
                            self.span_of(tree))

    def index(self, tree: Any, depth: int) -> ts.Expr:
        target, index = tree.children
        return _Index(self.expr(target, depth), self.expr(index, depth), self.span_of(tree))

    def attribute(self, tree: Any, depth: int) -> ts.Expr:
        target, name = tree.children
        return _Attribute(self.expr(target, depth), str(name), self.span_of(tree))

    def list_expr(self, tree: Any, depth: int) -> ts.Expr:
        return _ListExpr(tuple([self.expr(c, depth) for c in tree.children]), self.span_of(tree))

    def map_expr(self, tree: Any, depth: int) -> ts.Expr:
        return _MapExpr(tuple([self.map_item(c, depth) for c in tree.children]), self.span_of(tree))

    def list_for(self, tree: Any, depth: int) -> ts.Expr:
        names, iterable, item = tree.children
        return _ListFor(self.loop_names(names), self.expr(iterable, depth), self.expr(item, depth),
                        self.span_of(tree))

    def map_for(self, tree: Any, depth: int) -> ts.Expr:
        names, iterable, key, value = tree.children
        return _MapFor(self.loop_names(names), self.expr(iterable, depth), self.expr(key, depth),
                       self.expr(value, depth), self.span_of(tree))

    def interpolation_tree(self, tree: Any, depth: int) -> ts.Expr:
        return self.expr(tree.children[0], depth)

    def map_item(self, tree: Any, depth: int) -> ex.MapItem:
        label, value = tree.children
        return _MapItem(self.label(label), self.expr(value, depth), self.span_of(tree))

    @staticmethod
    def loop_names(tree: Any) -> tuple[str, ...]:
        return tuple(str(name) for name in tree.children)

    def integer(self, token: Any) -> int:
        value = _integer(token)
        if value is None:
            raise _too_large(token, self.span_of(token))
        return value

    def number(self, token: Any) -> float:
        value = float(token)
        if value in _INFINITIES:
            raise _infinite(self.span_of(token))
        return value

    # Strings, with {...} -------------------------------------------------------------------------

    def string(self, token: Any) -> ts.Expr:
        """A string literal: a Literal, or an Interpolated string when it holds ``{...}``."""
        return self.string_at(token[1:-1], self.span_of(token))

    def string_at(self, raw: str, span: TextSpan) -> ts.Expr:
        """The string whose text between its quotes is ``raw``, at ``span``."""
        if "{" not in raw and "}" not in raw:
            return _Literal(_decode(raw), span)
        shape = raw.translate(_DIGITS)  # where its braces and escapes are: the same for its shape
        layout = _LAYOUTS.get(shape)
        if layout is None:
            if len(_LAYOUTS) >= _MOST_BLUEPRINTS:
                _LAYOUTS.clear()
            layout = _LAYOUTS[shape] = _layout(raw)
        parts: list[str | ts.Node] = []
        interpolated = False
        for kind, first, last in layout:
            if kind is _TEXT:
                parts.append(_decode(raw[first:last] if type(last) is int else "".join([raw[a:b] for a, b in first])))
            elif kind is _EXPR:
                parts.append(self.interpolation(raw[first:last], span, first))
                interpolated = True
            else:  # the first mistake in its braces, told once the expressions before it are made
                raise self._brace_error(span, first, last)
        if not interpolated:
            return _Literal("".join(parts), span)  # type: ignore[arg-type]
        return _Interpolated(tuple(parts), span)

    def _brace_error(self, span: Span, offset: int, message: str) -> SpecSyntaxError:
        column = span.column + 1 + offset
        return SpecSyntaxError(message, Span(self.path, span.line, column, span.line, column + 1, self.file),
                               "write {{ and }} for braces in a string; {EXPR} puts a value in it")

    def interpolation(self, text: str, string: TextSpan, offset: int) -> ts.Expr:
        """The expression ``text``, found at ``offset`` in the string at ``string``."""
        if not text.strip() or "\\" in text:
            column = string.column + offset  # the '{'
            raise SpecSyntaxError("expected an expression inside {...}" if not text.strip()
                                  else "an escape inside {...}",
                                  Span(self.path, string.line, column, string.line, column + len(text) + 2, self.file),
                                  "{...} holds an expression without strings: give a string a name with set")
        base = string.start + 1 + offset  # the text's offset in the file (a string is one line)
        shape = text.translate(_DIGITS) if _digit_blind() else text
        make = _BLUEPRINTS.get(shape)
        if make is not None:
            return make(text, self.file, base)
        try:
            tree = _parse(text, "interpolation")
        except UnexpectedInput:
            shift = string.column + offset  # its column 1 is at this column of the line, plus one
            error = syntax_error(SourceFile(self.path, text), start="interpolation")
            span = error.span
            assert span is not None
            moved = Span(self.path, string.line, span.column + shift, string.line,
                         (span.end_column if span.end_line == span.line else span.column + 1) + shift, self.file)
            # The text ends where the string's '}' stands.
            message = error.message.replace("the end of the file", "'}'").replace("end of file", "'}'")
            raise SpecSyntaxError(f"{message} (inside a string's {{...}})", moved, error.hint) from None
        make = _blueprint(tree)
        if make is None:  # an expression no blueprint makes: the builder makes it (or says what is wrong)
            return _Builder(self.file, base).expr(tree)
        if len(_BLUEPRINTS) >= _MOST_BLUEPRINTS:
            _BLUEPRINTS.clear()
        _BLUEPRINTS[shape] = make
        return make(text, self.file, base)


# The method that makes each statement, body entry and expression, by its rule (shared by every
# builder: an interpolation makes one of its own).
_STATEMENTS: dict[str, Callable[[_Builder, Any], ts.Node]] = {
    "version": _Builder.version, "t_source": _Builder.source, "t_copy": _Builder.copy,
    "t_let": _Builder.let, "t_export": _Builder.export, "param": _Builder.param, "set": _Builder.set,
    "block": _Builder.block, "use": _Builder.use, "output": _Builder.output, "include": _Builder.include,
    "statement_for": _Builder.for_, "statement_if": _Builder.if_,
}
_ENTRIES: dict[str, Callable[[_Builder, Any], ts.Node]] = {
    "t_setting": _Builder.setting, "t_variable_override": _Builder.variable_override,
    "t_bind": _Builder.bind, "t_signature": _Builder.signature,
    "copy_for": _Builder.for_, "copy_if": _Builder.if_, "export_for": _Builder.for_, "export_if": _Builder.if_,
}
_EXPRESSIONS: dict[str, Callable[[_Builder, Any, int], ts.Expr]] = {
    **dict.fromkeys(_BINARY, _Builder.binary),
    "variable": _Builder.variable, "call": _Builder.call, "neg": _Builder.neg, "not_op": _Builder.not_op,
    "conditional": _Builder.conditional, "index": _Builder.index, "attribute": _Builder.attribute,
    "t_list": _Builder.list_expr, "t_map": _Builder.map_expr, "list_for": _Builder.list_for,
    "map_for": _Builder.map_for, "interpolation": _Builder.interpolation_tree,
}


# What a string's text is made of, in order (see _layout): literal text, given as where it is
# (first, last) or as the pieces that make it ((pieces), None); an expression's text (first, last);
# a mistake in its braces (where, message). Kept per shape: where the braces and escapes are.
_TEXT, _EXPR, _MISTAKE = "text", "expr", "mistake"
_Layout = tuple[tuple[str, Any, Any], ...]
_LAYOUTS: dict[str, _Layout] = {}


def _layout(raw: str) -> _Layout:
    """The parts of the string whose text (between its quotes) is ``raw``: ``{{`` and ``}}`` are
    braces, ``{...}`` an expression; a brace alone ends it with a mistake."""
    items: list[tuple[str, Any, Any]] = []
    pieces: list[tuple[int, int]] = []
    i = 0
    while True:
        found = _SPECIAL.search(raw, i)  # the text up to the next '\\', '{' or '}' is as written
        if found is None:
            pieces.append((i, len(raw)))
            break
        at = found.start()
        pieces.append((i, at))
        char = raw[at]
        if char == "\\":
            pieces.append((at, at + 2))
            i = at + 2
        elif raw.startswith("{{", at) or raw.startswith("}}", at):
            pieces.append((at, at + 1))
            i = at + 2
        elif char == "}":
            items.append((_MISTAKE, at, "a '}' that closes no '{' in a string"))
            return tuple(items)
        else:
            end = _closing(raw, at)
            if end is None:
                items.append((_MISTAKE, at, "a '{' that is never closed in a string"))
                return tuple(items)
            _text(items, pieces)
            pieces = []
            items.append((_EXPR, at + 1, end))
            i = end + 1
    _text(items, pieces)
    return tuple(items)


def _text(items: list[tuple[str, Any, Any]], pieces: list[tuple[int, int]]) -> None:
    pieces = [(first, last) for first, last in pieces if last > first]
    if len(pieces) == 1:
        items.append((_TEXT, *pieces[0]))
    elif pieces:
        items.append((_TEXT, tuple(pieces), None))


def _closing(raw: str, start: int) -> int | None:
    """The index of the '}' that closes the '{' at ``start`` (maps may nest inside), or None."""
    end = raw.find("}", start)
    if end != -1 and raw.find("{", start + 1, end) == -1:
        return end  # no map inside
    depth = 0
    for index in range(start, len(raw)):
        if raw[index] == "{":
            depth += 1
        elif raw[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return None


def _decode(text: str) -> str:
    if "\\" not in text:
        return text
    return _ESCAPE.sub(lambda m: _ESCAPES[m.group(1)], text)


_INFINITIES = (float("inf"), float("-inf"))


def _integer(word: str) -> int | None:
    """The value of the integer literal ``word``, or None if it does not fit in 64 bits."""
    # Measured before converting: int() of thousands of digits is slow, and refused past 4300.
    value = int(word) if len(word.lstrip("-")) <= 20 else ex.MAX_INT + 1
    return value if -ex.MAX_INT - 1 <= value <= ex.MAX_INT else None


def _too_large(word: str, span: Span) -> SpecSyntaxError:
    return SpecSyntaxError(f"integer {word if len(word) < 24 else word[:20] + '...'} does not fit in 64 bits",
                           span, "a template's integers are 64-bit")


def _infinite(span: Span) -> SpecSyntaxError:
    return SpecSyntaxError("number too large", span, "a float is finite")


# ---------------------------------------------------------------------------------------------
# Interpolations, one blueprint per shape
# ---------------------------------------------------------------------------------------------

# A template's strings interpolate many texts that differ only in their digits ("x{k + 0}",
# "x{k + 1}", ..., "{a1}", "{a2}"). No terminal of the grammar tells one ASCII digit from another
# (names, numbers, comments and blanks take any digit alike, and no keyword or punctuation holds
# one: _digit_blind checks it), so two texts that are the same but for their digits, digit for
# digit, lex into the same terminals at the same offsets and parse into the same tree, but for
# the text of their tokens. The expression of the first text of each shape is made into a
# blueprint: a function that makes the nodes of any text of that shape at any place of a file
# (the tokens' texts read from the text, its numbers checked as the builder checks them).
_MakeExpr = Callable[[str, SourceFile, int], ts.Expr]
_DIGITS = str.maketrans("123456789", "000000000")
_BLUEPRINTS: dict[str, _MakeExpr] = {}
_MOST_BLUEPRINTS = 4096
_QUANTIFIER = re.compile(r"\{\d+(,\d*)?\}")


@functools.cache
def _digit_blind() -> bool:
    """Whether no terminal of the template grammar tells one ASCII digit from another: no word
    holds a digit, and a pattern names digits only as ``\\d`` or ``0-9`` (or counts with them)."""
    for terminal in grammar.load("template").terminals:
        pattern = terminal.pattern
        text = pattern.value
        if not isinstance(pattern, PatternStr):
            text = _QUANTIFIER.sub("", text).replace("0-9", "")
        if any(char in "0123456789" for char in text):
            return False
    return True


class _NoBlueprint(Exception):
    """An expression a blueprint does not make (a string inside, or nested too deep)."""


def _blueprint(tree: Any) -> _MakeExpr | None:
    """The blueprint of an interpolation's tree, or None where the builder must make it."""
    try:
        return _compile(tree, 0)
    except _NoBlueprint:
        return None


def _compile(item: Any, depth: int) -> _MakeExpr:
    """What makes the node of ``item`` at depth ``depth`` (as :meth:`_Builder.expr` makes it), of
    any text of the same shape, its offsets counted from ``base``."""
    start, end = _offsets(item)
    if isinstance(item, Token):
        return _compile_token(item.type, start, end)
    if depth >= MAX_EXPRESSION_DEPTH:
        raise _NoBlueprint  # the builder raises the error
    data, children, depth = item.data, item.children, depth + 1
    if data == "interpolation":
        return _compile(children[0], depth)
    if data == "variable":
        return _named(_Variable, _offsets(children[0]), start, end)
    if data == "attribute":
        return _attribute(_compile(children[0], depth), _offsets(children[1]), start, end)
    if data == "call":
        return _call(_offsets(children[0]), [_compile(c, depth) for c in children[1:]], start, end)
    if data in ("list_for", "map_for"):
        names = [_offsets(name) for name in children[0].children]
        parts = [_compile(c, depth) for c in children[1:]]
        return _loop(_ListFor if data == "list_for" else _MapFor, names, parts, start, end)
    if data == "t_map":
        return _many(_MapExpr, [_map_item(c, depth) for c in children], start, end)
    if data == "t_list":
        return _many(_ListExpr, [_compile(c, depth) for c in children], start, end)
    parts = [_compile(c, depth) for c in children]
    if data in _BINARY:
        return _fixed(_Binary, _BINARY[data], parts, start, end)
    if data in _UNARY:
        return _fixed(_Unary, _UNARY[data], parts, start, end)
    return _fixed(_NODES[data], None, parts, start, end)


_UNARY = {"neg": "-", "not_op": "not"}
_NODES = {"conditional": _Conditional, "index": _Index}


def _compile_token(kind: str, start: int, end: int) -> _MakeExpr:
    if kind == "INT":
        def integer(text: str, file: SourceFile, base: int) -> ts.Expr:
            word, span = text[start:end], text_span(file, base + start, base + end)
            value = _integer(word)
            if value is None:
                raise _too_large(word, span)
            return _Literal(value, span)  # type: ignore[no-any-return]
        return integer
    if kind == "FLOAT":
        def number(text: str, file: SourceFile, base: int) -> ts.Expr:
            value, span = float(text[start:end]), text_span(file, base + start, base + end)
            if value in _INFINITIES:
                raise _infinite(span)
            return _Literal(value, span)  # type: ignore[no-any-return]
        return number
    if kind in ("TRUE", "FALSE"):
        truth = kind == "TRUE"
        return lambda text, file, base: _Literal(  # type: ignore[no-any-return]
            truth, text_span(file, base + start, base + end))
    raise _NoBlueprint  # a string: {...} holds none


def _named(make: Callable[..., ts.Expr], name: tuple[int, int], start: int, end: int) -> _MakeExpr:
    first, last = name
    return lambda text, file, base: make(text[first:last], text_span(file, base + start, base + end))


def _attribute(target: _MakeExpr, name: tuple[int, int], start: int, end: int) -> _MakeExpr:
    first, last = name
    return lambda text, file, base: _Attribute(  # type: ignore[no-any-return]
        target(text, file, base), text[first:last], text_span(file, base + start, base + end))


def _call(function: tuple[int, int], args: list[_MakeExpr], start: int, end: int) -> _MakeExpr:
    first, last = function
    return lambda text, file, base: _Call(  # type: ignore[no-any-return]
        text[first:last], tuple([arg(text, file, base) for arg in args]), text_span(file, base + start, base + end))


def _loop(make: Callable[..., ts.Expr], names: list[tuple[int, int]], parts: list[_MakeExpr], start: int,
          end: int) -> _MakeExpr:
    def loop(text: str, file: SourceFile, base: int) -> ts.Expr:
        return make(tuple([text[first:last] for first, last in names]), *[part(text, file, base) for part in parts],
                    text_span(file, base + start, base + end))
    return loop


def _many(make: Callable[..., ts.Expr], items: list[_MakeExpr], start: int, end: int) -> _MakeExpr:
    return lambda text, file, base: make(tuple([item(text, file, base) for item in items]),
                                         text_span(file, base + start, base + end))


def _map_item(tree: Any, depth: int) -> _MakeExpr:
    labels, value = tree.children
    (label,) = labels.children
    if label.type != "IDENT":
        raise _NoBlueprint  # a string: {...} holds none
    key = _named(_Literal, _offsets(label), *_offsets(label))
    return _fixed(_MapItem, None, [key, _compile(value, depth)], *_offsets(tree))


def _fixed(make: Callable[..., ts.Expr], op: str | None, parts: list[_MakeExpr], start: int, end: int) -> _MakeExpr:
    """A node of an operator (or none) and a fixed number of parts, made in order."""
    if op is None and len(parts) == 2:
        first, second = parts
        return lambda text, file, base: make(first(text, file, base), second(text, file, base),
                                             text_span(file, base + start, base + end))
    if op is None and len(parts) == 3:
        first, second, third = parts
        return lambda text, file, base: make(first(text, file, base), second(text, file, base),
                                             third(text, file, base), text_span(file, base + start, base + end))
    if len(parts) == 1:
        (only,) = parts
        return lambda text, file, base: make(op, only(text, file, base), text_span(file, base + start, base + end))
    left, right = parts
    return lambda text, file, base: make(op, left(text, file, base), right(text, file, base),
                                         text_span(file, base + start, base + end))


# ---------------------------------------------------------------------------------------------
# Template nodes straight from the driver
# ---------------------------------------------------------------------------------------------

# A long template read by the driver is built by the builders below, rule by rule as the driver
# reduces them, without lark's tree: each makes the node _Builder makes of that rule's tree. A rule's
# children come as the driver hands them: tokens as (terminal, text, offset), keywords and
# punctuation included, and what the builders of sub-rules made, as _Made. Any mistake a builder
# finds (a number too large, a brace alone in a string, an expression nested too deep) gives up
# the whole text to the tree and _Builder, which find the syntax error first if there is one,
# else the same mistake: what is told, and in what order, stays theirs.


class _Made:
    """What a rule made: its node (or nodes), where its text starts and ends (its container, as
    lark's tree places it), the height of an expression (trees on the longest way down, as
    _Builder counts its depth), and the rule's name."""

    __slots__ = ("value", "start", "end", "height", "rule")

    def __init__(self, value: Any, start: int, end: int, height: int, rule: str) -> None:
        self.value, self.start, self.end, self.height, self.rule = value, start, end, height, rule


class _GiveUp(Exception):
    """The direct builders leave this text to the tree and _Builder."""


def _kept(children: list[Any]) -> list[Any]:
    """The children lark's tree keeps: all but the tokens of terminals named ``_...``."""
    return [c for c in children if type(c) is not tuple or c[0][0] != "_"]


def _start(child: Any) -> int:
    return child[2] if type(child) is tuple else child.start  # type: ignore[no-any-return]


def _end(child: Any) -> int:
    return child[2] + len(child[1]) if type(child) is tuple else child.end  # type: ignore[no-any-return]


class _Direct:
    """The builders of one template file for the driver (:meth:`builders`)."""

    def __init__(self, file: SourceFile) -> None:
        self.file = file
        self.builder = _Builder(file)

    def builders(self) -> dict[str, Callable[[list[Any]], Any]]:
        """A builder for each rule the driver builds; those no template statement reaches give up."""
        made: dict[str, Callable[[list[Any]], Any]] = {}
        names, splicing = _rule_names()
        for name in names:
            method = getattr(self, "rule_" + name, None)
            if name in _BINARY:
                made[name] = functools.partial(self.binary, _BINARY[name], name)
            elif method is None:
                made[name] = _give_up
            elif name in splicing:
                made[name] = functools.partial(_splicing, method)
            else:
                made[name] = method
        return made

    # Spans, tokens and expressions --------------------------------------------------------------

    def span(self, start: int, end: int) -> TextSpan:
        span: TextSpan = _new(TextSpan)
        span.file, span.start, span.end = self.file, start, end
        return span

    def made(self, value: Any, children: list[Any], rule: str, height: int = 0) -> _Made:
        made: _Made = _new(_Made)
        made.value, made.start, made.end, made.height, made.rule = (
            value, _start(children[0]), _end(children[-1]), height, rule)
        return made

    def ident(self, token: tuple[str, str, int]) -> syntax.Ident:
        _, text, start = token
        return _Ident(text, self.span(start, start + len(text)))  # type: ignore[no-any-return]

    def string(self, token: tuple[str, str, int]) -> ts.Expr:
        _, text, start = token
        return self.builder.string_at(text[1:-1], self.span(start, start + len(text)))

    def expr(self, child: Any) -> ts.Expr:
        """The expression of a child: a literal's token, or what a rule made."""
        if type(child) is not tuple:
            return child.value  # type: ignore[no-any-return]
        kind, text, start = child
        if kind == "STRING":
            return self.string(child)
        span = self.span(start, start + len(text))
        if kind == "INT":
            value = _integer(text)
            if value is None:
                raise _GiveUp
            return _Literal(value, span)  # type: ignore[no-any-return]
        if kind == "FLOAT":
            number = float(text)
            if number in _INFINITIES:
                raise _GiveUp
            return _Literal(number, span)  # type: ignore[no-any-return]
        return _Literal(kind == "TRUE", span)  # type: ignore[no-any-return]

    def expression(self, value: ts.Expr, children: list[Any], rule: str, parts: list[Any]) -> _Made:
        """The _Made of an expression rule whose expression parts are ``parts``."""
        height = 1 + max((p.height for p in parts if type(p) is not tuple), default=0)
        if height > MAX_EXPRESSION_DEPTH:
            raise _GiveUp  # _Builder says where
        return self.made(value, children, rule, height)

    # Statements -------------------------------------------------------------------------------

    def rule_template(self, children: list[Any]) -> ts.Template:
        text = self.file.text
        end = Span(self.file.path, 1, 1, text.count("\n") + 1, len(text) - text.rfind("\n"), self.file)
        return ts.Template(self.file, tuple([c.value for c in children]), end)

    def rule_version(self, children: list[Any]) -> _Made:
        _, text, start = children[1]
        return self.made(_Version(_Int(int(text), self.span(start, start + len(text))), self.whole(children)),
                         children, "version")

    def whole(self, children: list[Any]) -> TextSpan:
        return self.span(_start(children[0]), _end(children[-1]))

    def rule_t_name(self, children: list[Any]) -> _Made:
        (token,) = children
        return self.made(self.string(token) if token[0] == "STRING" else self.ident(token), children, "t_name")

    def rule_t_source(self, children: list[Any]) -> _Made:
        name, kind, path, *options = _kept(children)
        return self.made(_Source(name.value, self.ident(kind), self.string(path), tuple([o.value for o in options]),
                                 self.whole(children)), children, "t_source")

    def rule_t_copy(self, children: list[Any]) -> _Made:
        namespace, source, entries = _kept(children)
        return self.made(_Copy(namespace.value, source.value, entries.value, self.whole(children)), children, "t_copy")

    def rule_t_let(self, children: list[Any]) -> _Made:
        name, value = _kept(children)
        return self.made(_Let(name.value, self.expr(value), self.whole(children)), children, "t_let")

    def rule_t_export(self, children: list[Any]) -> _Made:
        kind, path, *body = _kept(children)
        entries = body[0].value if body else ()
        return self.made(_Export(self.ident(kind), self.string(path), entries, bool(body), self.whole(children)),
                         children, "t_export")

    def body(self, children: list[Any], rule: str) -> _Made:
        return self.made(tuple([c.value for c in children[1:-1]]), children, rule)  # { entry* }

    def rule_statements(self, children: list[Any]) -> _Made:
        return self.body(children, "statements")

    def rule_copy_entries(self, children: list[Any]) -> _Made:
        return self.body(children, "copy_entries")

    def rule_export_entries(self, children: list[Any]) -> _Made:
        return self.body(children, "export_entries")

    def rule_param_body(self, children: list[Any]) -> _Made:
        return self.body(children, "param_body")

    def rule_param(self, children: list[Any]) -> _Made:
        name, type_, *rest = _kept(children)
        default = None
        entries: tuple[ts.Node, ...] = ()
        for child in rest:
            if type(child) is _Made and child.rule == "param_body":
                entries = child.value
            else:
                default = self.expr(child)
        return self.made(_Param(self.ident(name), type_.value, default, entries, self.whole(children)),
                         children, "param")

    def rule_param_check(self, children: list[Any]) -> _Made:
        condition, message = _kept(children)
        return self.made(_Check(self.expr(condition), self.expr(message), self.whole(children)), children, "check")

    def rule_type(self, children: list[Any]) -> _Made:
        name, *item = _kept(children)
        return self.made(_TypeSpec(self.ident(name), item[0].value if item else None, self.whole(children)),
                         children, "type")

    def rule_set(self, children: list[Any]) -> _Made:
        name, value = _kept(children)
        return self.made(_Set(self.ident(name), self.expr(value), self.whole(children)), children, "set")

    def rule_block(self, children: list[Any]) -> _Made:
        name, *params, body = _kept(children)
        return self.made(_Block(self.ident(name), tuple([p.value for p in params]), body.value, self.whole(children)),
                         children, "block")

    def rule_block_param(self, children: list[Any]) -> _Made:
        name, *rest = _kept(children)
        type_ = default = None
        for child in rest:
            if type(child) is _Made and child.rule == "type":
                type_ = child.value
            else:
                default = self.expr(child)
        return self.made(_BlockParam(self.ident(name), type_, default, self.whole(children)), children, "block_param")

    def rule_use(self, children: list[Any]) -> _Made:
        name, block, *args = _kept(children)
        return self.made(_Use(name.value, self.ident(block), tuple([a.value for a in args]), self.whole(children)),
                         children, "use")

    def rule_output(self, children: list[Any]) -> _Made:
        name, value = _kept(children)
        return self.made(_Output(self.ident(name), self.expr(value), self.whole(children)), children, "output")

    def rule_include(self, children: list[Any]) -> _Made:
        _, text, start = children[1]
        path = _String(_decode(text[1:-1]), self.span(start, start + len(text)))
        return self.made(_Include(path, self.whole(children)), children, "include")

    def loop(self, children: list[Any], rule: str) -> _Made:
        names, iterable, body = _kept(children)
        return self.made(_For(tuple([self.ident(n) for n in names.value]), self.expr(iterable), body.value,
                              self.whole(children)), children, rule)

    def rule_statement_for(self, children: list[Any]) -> _Made:
        return self.loop(children, "statement_for")

    def rule_copy_for(self, children: list[Any]) -> _Made:
        return self.loop(children, "copy_for")

    def rule_export_for(self, children: list[Any]) -> _Made:
        return self.loop(children, "export_for")

    def rule_loop_names(self, children: list[Any]) -> _Made:
        return self.made(_kept(children), children, "loop_names")

    def choice(self, children: list[Any], rule: str) -> _Made:
        condition, then, *otherwise = _kept(children)
        rest: tuple[ts.Node, ...] = ()
        if otherwise:
            branch = otherwise[0]
            rest = (branch.value,) if branch.rule.endswith("_if") else branch.value
        node: ts.If = _If(self.expr(condition), then.value, rest, self.whole(children))
        then_span = self.span(then.start, then.end)
        object.__setattr__(node, "then_end", (then_span.end_line, then_span.end_column))  # not a field
        return self.made(node, children, rule)

    def rule_statement_if(self, children: list[Any]) -> _Made:
        return self.choice(children, "statement_if")

    def rule_copy_if(self, children: list[Any]) -> _Made:
        return self.choice(children, "copy_if")

    def rule_export_if(self, children: list[Any]) -> _Made:
        return self.choice(children, "export_if")

    # Entries ----------------------------------------------------------------------------------

    def rule_t_setting(self, children: list[Any]) -> _Made:
        key, _, value = children
        return self.made(_Setting(self.ident(key), self.expr(value), self.whole(children)), children, "t_setting")

    def rule_t_variable_override(self, children: list[Any]) -> _Made:
        pattern, value = _kept(children)
        return self.made(_VariableOverride(self.string(pattern), self.expr(value), self.whole(children)),
                         children, "t_variable_override")

    def rule_t_bind(self, children: list[Any]) -> _Made:
        name, value = _kept(children)
        return self.made(_Bind(self.string(name), self.expr(value), self.whole(children)), children, "t_bind")

    def rule_t_signature(self, children: list[Any]) -> _Made:
        label, *settings = _kept(children)
        return self.made(_Signature(label.value, tuple([s.value for s in settings]), self.whole(children)),
                         children, "t_signature")

    def rule_t_label(self, children: list[Any]) -> _Made:
        (token,) = children
        if token[0] == "STRING":
            return self.made(self.string(token), children, "t_label")
        _, text, start = token
        return self.made(_Literal(text, self.span(start, start + len(text))), children, "t_label")

    # Expressions ------------------------------------------------------------------------------

    def binary(self, op: str, rule: str, children: list[Any]) -> _Made:
        left, _, right = children
        return self.expression(_Binary(op, self.expr(left), self.expr(right), self.whole(children)), children, rule,
                               [left, right])

    def rule_not_op(self, children: list[Any]) -> _Made:
        operand = children[1]
        return self.expression(_Unary("not", self.expr(operand), self.whole(children)), children, "not_op", [operand])

    def rule_neg(self, children: list[Any]) -> _Made:
        operand = children[1]
        return self.expression(_Unary("-", self.expr(operand), self.whole(children)), children, "neg", [operand])

    def rule_conditional(self, children: list[Any]) -> _Made:
        parts = _kept(children)
        condition, then, otherwise = parts
        return self.expression(_Conditional(self.expr(condition), self.expr(then), self.expr(otherwise),
                                            self.whole(children)), children, "conditional", parts)

    def rule_index(self, children: list[Any]) -> _Made:
        parts = _kept(children)
        target, index = parts
        return self.expression(_Index(self.expr(target), self.expr(index), self.whole(children)), children, "index",
                               parts)

    def rule_attribute(self, children: list[Any]) -> _Made:
        target, _, name = children
        return self.expression(_Attribute(self.expr(target), name[1], self.whole(children)), children, "attribute",
                               [target])

    def rule_variable(self, children: list[Any]) -> _Made:
        return self.expression(_Variable(children[0][1], self.whole(children)), children, "variable", [])

    def rule_call(self, children: list[Any]) -> _Made:
        function, *args = _kept(children)
        return self.expression(_Call(function[1], tuple([self.expr(a) for a in args]), self.whole(children)),
                               children, "call", args)

    def rule_t_list(self, children: list[Any]) -> _Made:
        items = _kept(children)
        return self.expression(_ListExpr(tuple([self.expr(i) for i in items]), self.whole(children)), children,
                               "t_list", items)

    def rule_t_map(self, children: list[Any]) -> _Made:
        items = _kept(children)
        return self.expression(_MapExpr(tuple([i.value for i in items]), self.whole(children)), children, "t_map",
                               items)

    def rule_t_map_entry(self, children: list[Any]) -> _Made:
        label, _, value = children
        made = self.made(_MapItem(label.value, self.expr(value), self.whole(children)), children, "t_map_entry")
        made.height = value.height if type(value) is not tuple else 0  # a map's entry is no level of its own
        return made

    def rule_list_for(self, children: list[Any]) -> _Made:
        parts = _kept(children)
        names, iterable, item = parts
        return self.expression(_ListFor(tuple([n[1] for n in names.value]), self.expr(iterable), self.expr(item),
                                        self.whole(children)), children, "list_for", parts[1:])

    def rule_map_for(self, children: list[Any]) -> _Made:
        parts = _kept(children)
        names, iterable, key, value = parts
        return self.expression(_MapFor(tuple([n[1] for n in names.value]), self.expr(iterable), self.expr(key),
                                       self.expr(value), self.whole(children)), children, "map_for", parts[1:])

    def rule_primary(self, children: list[Any]) -> Any:
        # ( expr ): the expression stands for it; a lone token stays where it is, and a tree is
        # placed by the text of the parentheses, as lark places them.
        (inner,) = _kept(children)
        if type(inner) is tuple:
            return inner
        made = self.made(inner.value, children, inner.rule, inner.height)
        return made


def _give_up(children: list[Any]) -> Any:
    raise _GiveUp  # a rule no template statement reaches


def _splicing(method: Callable[[list[Any]], Any], children: list[Any]) -> Any:
    """``method`` of a rule with spliced children, which may be handed on as one Splice."""
    if any(type(c) is Splice for c in children):
        children = flat(children)
    return method(children)


@functools.cache
def _rule_names() -> tuple[frozenset[str], frozenset[str]]:
    """The names of the rules the driver builds (as lark names their trees), and those of them
    with a spliced rule among their symbols."""
    names: set[str] = set()
    splicing: set[str] = set()
    for rule in grammar.load("template").rules:
        origin = str(rule.origin.name)
        if rule.alias or not origin.startswith("_"):
            name = str(rule.alias) if rule.alias else origin
            names.add(name)
            if any(not symbol.is_term and str(symbol.name).startswith("_") for symbol in rule.expansion):
                splicing.add(name)
    return frozenset(names), frozenset(splicing)


def _direct(file: SourceFile) -> tuple[ts.Template | None, bool]:
    """The template ``file`` is, made straight from the driver where it is long enough to be
    driven, else None; and whether the driver rejected the text (then the loop reads it)."""
    fast = _driver() if len(file.text) >= DRIVEN_FROM else None
    if fast is None:
        return None, False
    try:
        return fast[0].parse(file.text, _Direct(file).builders()), False
    except driver_module.Rejected:
        return None, True
    except (_GiveUp, SpecSyntaxError):
        return None, False  # _Builder tells what is wrong, after the parse
