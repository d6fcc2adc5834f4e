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
from typing import Callable, Union

from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from graphdsl.errors import SourceFile, Span, SpecSyntaxError, text_span
from graphdsl.lang import expr as ex
from graphdsl.lang import comments, grammar, parser, syntax
from graphdsl.lang import template_syntax as ts
from graphdsl.collector import paused
from graphdsl.lang import driver as driver_module
from graphdsl.lang.contextual import Builders, ContextualParser, Lines, PositionedTree, tree_builders
from graphdsl.lang.syntax_errors import syntax_error

_TEMPLATE_STATEMENTS = (ts.Param, ts.Set, ts.Block, ts.Use, ts.Output, ts.Include, ts.For, ts.If)
# Expressions nest at most this deep (a chain of 256 '+' is 256 deep): the stages that walk them
# recurse, and must stay clear of Python's recursion limit.
MAX_EXPRESSION_DEPTH = 256
# What opens and closes an expression inside a string ("tower_{i}"); doubled, each is itself.
INTERPOLATION = ("{", "}")
_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


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
        try:
            tree = _parse(file.text, "template")
        except UnexpectedInput:
            raise syntax_error(file, start="template") from None
        template = _Builder(file).template(tree)
        comments.attach(template, file, _bodies_of)
        return template


# A template this long is read by the driver: making the driver takes about 10 ms, and reading
# a text with it rather than with the loop saves about that much on some 80,000 characters.
DRIVEN_FROM = 1 << 16


def _parse(text: str, start: str) -> _Tree:
    """The tree lark's parser makes of ``text`` from the start rule ``start`` of the template
    grammar. A long template is first read by :class:`~graphdsl.lang.driver.Driver`, as a plain
    spec is (the text lexed at once, statements replayed from what the tables did with a statement
    of the same terminals), with builders that make lark's tree; that reads every token as lark's
    contextual lexer does wherever the tables accept it, so a text it rejects (``a -1``, where a
    minus follows a value) is read again by the loop of :mod:`graphdsl.lang.contextual`, which
    lexes as lark does. Where that loop rejects the text too, lark's parser runs and raises the
    UnexpectedInput that words the error."""
    fast = _driver() if start == "template" and len(text) >= DRIVEN_FROM else None
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


@functools.lru_cache(maxsize=4096)
def _interpolation(text: str) -> _Tree:
    """The tree of the expression ``text`` inside a string's ``{...}``: its positions count from
    its own start, so the same text (``"layer{i}"`` on many lines) is parsed once. The callers
    only read the tree."""
    return _parse(text, "interpolation")


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

# The Lark tree of a template: each rule's children are its subtrees and its kept tokens. The grammar
# fixes which is which at each place; _tree and _token narrow a child to the one the rule puts there.
_Tree = Tree[Token]
_Child = Union[Tree[Token], Token]


def _tree(child: _Child) -> _Tree:
    if not isinstance(child, Tree):
        raise AssertionError(f"the grammar puts a rule here, not {child.type}")
    return child


def _token(child: _Child) -> Token:
    if not isinstance(child, Token):
        raise AssertionError(f"the grammar puts a token here, not {child.data}")
    return child


_BINARY = {
    "or_op": "or", "and_op": "and", "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">",
    "ge": ">=", "in_op": "in", "add": "+", "sub": "-", "mul": "*", "div": "/", "floordiv": "//",
    "mod": "%",
}


class _Builder:
    """Restructures the Lark tree of a template (or of one interpolation) into template nodes.

    ``line`` and ``column`` shift positions: an interpolation is parsed on its own, from column 1
    of line 1, and its nodes must point where it stands in the file.
    """

    def __init__(self, file: SourceFile, line: int = 0, column: int = 0) -> None:
        self.file = file
        self.path = file.path
        self.line = line
        self.column = column

    # Spans ------------------------------------------------------------------------------------

    def span_of(self, item: _Child) -> Span:
        offsets: tuple[int | None, int | None] | None
        if isinstance(item, Token):
            offsets = (item.start_pos, item.end_pos)
        elif type(item) is PositionedTree:
            offsets = item.offsets()
        else:  # a tree of lark's parser
            meta = item.meta
            offsets = None if meta.empty else (meta.start_pos, meta.end_pos)
        # Lark leaves a position None only for a token it made up; the grammar's have them all.
        start, end = offsets if offsets is not None else (0, 0)
        start, end = start or 0, end or 0
        if not self.line:  # lines and columns worked out from the offsets when asked for
            return text_span(self.file, start, end)
        # An interpolation, parsed on its own (one line): its columns are moved to where it stands.
        return Span(self.path, self.line, start + 1 + self.column, self.line, end + 1 + self.column, self.file)

    # Statements -------------------------------------------------------------------------------

    def template(self, tree: _Tree) -> ts.Template:
        text = self.file.text
        end = Span(self.path, 1, 1, text.count("\n") + 1, len(text) - text.rfind("\n"), self.file)
        return ts.Template(self.file, self.statements(tree.children), end)

    def statements(self, children: list[_Child]) -> tuple[ts.Node, ...]:
        return tuple(_STATEMENTS[_tree(child).data](self, _tree(child)) for child in children)

    def body(self, tree: _Tree) -> tuple[ts.Node, ...]:
        """The statements of a ``{ ... }`` (statements, copy_entries or export_entries)."""
        if tree.data == "statements":
            return self.statements(tree.children)
        return tuple(_ENTRIES[_tree(child).data](self, _tree(child)) for child in tree.children)

    def version(self, tree: _Tree) -> syntax.Version:
        (number,) = tree.children
        return syntax.Version(syntax.Int(int(_token(number)), self.span_of(number)), self.span_of(tree))

    def source(self, tree: _Tree) -> ts.Source:
        name, kind, path, *options = tree.children
        return ts.Source(self.name(_tree(name)), self.ident(kind), self.string(path),
                         tuple(self.setting(_tree(o)) for o in options), self.span_of(tree))

    def copy(self, tree: _Tree) -> ts.Copy:
        namespace, source, entries = tree.children
        return ts.Copy(self.name(_tree(namespace)), self.name(_tree(source)), self.body(_tree(entries)),
                       self.span_of(tree))

    def let(self, tree: _Tree) -> ts.Let:
        name, value = tree.children
        return ts.Let(self.name(_tree(name)), self.expr(value), self.span_of(tree))

    def export(self, tree: _Tree) -> ts.Export:
        kind, path, *body = tree.children
        entries = self.body(_tree(body[0])) if body else ()
        return ts.Export(self.ident(kind), self.string(path), entries, bool(body), self.span_of(tree))

    def param(self, tree: _Tree) -> ts.Param:
        name, type_, *rest = tree.children
        default = None
        entries: tuple[ts.Node, ...] = ()
        for child in rest:
            if isinstance(child, Tree) and child.data == "param_body":
                entries = tuple(self.setting(c) if c.data == "t_setting" else self.check(c)
                                for c in map(_tree, child.children))
            else:
                default = self.expr(child)
        return ts.Param(self.ident(name), self.type(_tree(type_)), default, entries, self.span_of(tree))

    def check(self, tree: _Tree) -> ts.Check:
        condition, message = tree.children
        return ts.Check(self.expr(condition), self.expr(message), self.span_of(tree))

    def type(self, tree: _Tree) -> ts.TypeSpec:
        name, *item = tree.children
        return ts.TypeSpec(self.ident(name), self.type(_tree(item[0])) if item else None, self.span_of(tree))

    def set(self, tree: _Tree) -> ts.Set:
        name, value = tree.children
        return ts.Set(self.ident(name), self.expr(value), self.span_of(tree))

    def block(self, tree: _Tree) -> ts.Block:
        name, *params, body = tree.children
        return ts.Block(self.ident(name), tuple(self.block_param(_tree(p)) for p in params), self.body(_tree(body)),
                        self.span_of(tree))

    def block_param(self, tree: _Tree) -> ts.BlockParam:
        name, *rest = tree.children
        type_ = default = None
        for child in rest:
            if isinstance(child, Tree) and child.data == "type":
                type_ = self.type(child)
            else:
                default = self.expr(child)
        return ts.BlockParam(self.ident(name), type_, default, self.span_of(tree))

    def use(self, tree: _Tree) -> ts.Use:
        name, block, *args = tree.children
        return ts.Use(self.name(_tree(name)), self.ident(block), tuple(self.setting(_tree(a)) for a in args),
                      self.span_of(tree))

    def output(self, tree: _Tree) -> ts.Output:
        name, value = tree.children
        return ts.Output(self.ident(name), self.expr(value), self.span_of(tree))

    def include(self, tree: _Tree) -> ts.Include:
        (path,) = tree.children
        return ts.Include(syntax.String(_decode(_token(path)[1:-1]), self.span_of(path)), self.span_of(tree))

    def for_(self, tree: _Tree) -> ts.For:
        names, iterable, body = tree.children
        return ts.For(tuple(self.ident(n) for n in _tree(names).children), self.expr(iterable),
                      self.body(_tree(body)), self.span_of(tree))

    def if_(self, tree: _Tree) -> ts.If:
        condition, then, *otherwise = tree.children
        rest: tuple[ts.Node, ...] = ()
        if otherwise:
            branch = _tree(otherwise[0])
            rest = (self.if_(branch),) if branch.data.endswith("_if") else self.body(branch)
        node = ts.If(self.expr(condition), self.body(_tree(then)), rest, self.span_of(tree))
        then_span = self.span_of(then)
        object.__setattr__(node, "then_end", (then_span.end_line, then_span.end_column))  # not a field
        return node

    # Entries ----------------------------------------------------------------------------------

    def setting(self, tree: _Tree) -> ts.Setting:
        key, value = tree.children
        return ts.Setting(self.ident(key), self.expr(value), self.span_of(tree))

    def variable_override(self, tree: _Tree) -> ts.VariableOverride:
        pattern, value = tree.children
        return ts.VariableOverride(self.string(pattern), self.expr(value), self.span_of(tree))

    def bind(self, tree: _Tree) -> ts.Bind:
        input_name, value = tree.children
        return ts.Bind(self.string(input_name), self.expr(value), self.span_of(tree))

    def signature(self, tree: _Tree) -> ts.Signature:
        label, *settings = tree.children
        return ts.Signature(self.label(_tree(label)), tuple(self.setting(_tree(s)) for s in settings),
                            self.span_of(tree))

    # Names ------------------------------------------------------------------------------------

    def name(self, tree: _Tree) -> ts.NameExpr:
        """A name being defined: an Ident as written, or the expression of a string that computes it."""
        (child,) = tree.children
        token = _token(child)
        if token.type == "STRING":
            return self.string(token)
        return self.ident(token)

    def label(self, tree: _Tree) -> ts.Expr:
        (child,) = tree.children
        token = _token(child)
        if token.type == "STRING":
            return self.string(token)
        return ex.Literal(str(token), self.span_of(token))

    def ident(self, item: _Child) -> syntax.Ident:
        token = _token(item)
        return syntax.Ident(str(token), self.span_of(token))

    # Expressions ------------------------------------------------------------------------------

    def expr(self, item: _Child, depth: int = 0) -> ts.Expr:
        if isinstance(item, Token):
            kind = item.type
            if kind == "STRING":
                return self.string(item)
            if kind == "INT":
                return ex.Literal(self.integer(item), self.span_of(item))
            if kind == "FLOAT":
                return ex.Literal(self.number(item), self.span_of(item))
            return ex.Literal(kind == "TRUE", self.span_of(item))
        if depth >= MAX_EXPRESSION_DEPTH:
            span = self.span_of(item)
            raise SpecSyntaxError(f"expressions nested more than {MAX_EXPRESSION_DEPTH} deep",
                                  Span(self.path, span.line, span.column, span.line, span.column + 1, self.file),
                                  "give parts of it names with set")
        data, children, span = item.data, item.children, self.span_of(item)
        depth += 1
        if data in _BINARY:
            left, right = children
            return ex.Binary(_BINARY[data], self.expr(left, depth), self.expr(right, depth), span)
        if data == "variable":
            return ex.Variable(str(children[0]), span)
        if data == "call":
            function, *args = children
            return ex.Call(str(function), tuple(self.expr(a, depth) for a in args), span)
        if data == "neg":
            return ex.Unary("-", self.expr(children[0], depth), span)
        if data == "not_op":
            return ex.Unary("not", self.expr(children[0], depth), span)
        if data == "conditional":
            condition, then, otherwise = children
            return ex.Conditional(self.expr(condition, depth), self.expr(then, depth),
                                  self.expr(otherwise, depth), span)
        if data == "index":
            target, index = children
            return ex.Index(self.expr(target, depth), self.expr(index, depth), span)
        if data == "attribute":
            target, name = children
            return ex.Attribute(self.expr(target, depth), str(name), span)
        if data == "t_list":
            return ex.ListExpr(tuple(self.expr(c, depth) for c in children), span)
        if data == "t_map":
            return ex.MapExpr(tuple(self.map_item(_tree(c), depth) for c in children), span)
        if data == "list_for":
            names, iterable, item_ = children
            return ex.ListFor(self.loop_names(_tree(names)), self.expr(iterable, depth), self.expr(item_, depth), span)
        if data == "map_for":
            names, iterable, key, value = children
            return ex.MapFor(self.loop_names(_tree(names)), self.expr(iterable, depth), self.expr(key, depth),
                             self.expr(value, depth), span)
        if data == "interpolation":
            return self.expr(children[0], depth)
        raise AssertionError(f"unknown expression {data}")  # the grammar has no other

    def map_item(self, tree: _Tree, depth: int) -> ex.MapItem:
        label, value = tree.children
        return ex.MapItem(self.label(_tree(label)), self.expr(value, depth), self.span_of(tree))

    @staticmethod
    def loop_names(tree: _Tree) -> tuple[str, ...]:
        return tuple(str(name) for name in tree.children)

    def integer(self, token: Token) -> int:
        # Measured before converting: int() of thousands of digits is slow, and refused past 4300.
        value = int(token) if len(token.lstrip("-")) <= 20 else ex.MAX_INT + 1
        if not -ex.MAX_INT - 1 <= value <= ex.MAX_INT:
            raise SpecSyntaxError(f"integer {token if len(token) < 24 else token[:20] + '...'} does not fit "
                                  "in 64 bits", self.span_of(token), "a template's integers are 64-bit")
        return value

    def number(self, token: Token) -> float:
        value = float(token)
        if value in (float("inf"), float("-inf")):
            raise SpecSyntaxError("number too large", self.span_of(token), "a float is finite")
        return value

    # Strings, with {...} -------------------------------------------------------------------------

    def string(self, item: _Child) -> ts.Expr:
        """A string literal: a Literal, or an Interpolated string when it holds ``{...}``."""
        token = _token(item)
        raw = token[1:-1]
        span = self.span_of(token)
        if "{" not in raw and "}" not in raw:
            return ex.Literal(_decode(raw), span)
        parts: list[str | ts.Node] = []
        literal: list[str] = []
        i = 0
        while i < len(raw):
            char = raw[i]
            if char == "\\":
                literal.append(raw[i:i + 2])
                i += 2
            elif raw.startswith("{{", i) or raw.startswith("}}", i):
                literal.append(char)
                i += 2
            elif char == "}":
                raise self._brace_error(span, i, "a '}' that closes no '{' in a string")
            elif char == "{":
                end = _closing(raw, i)
                if end is None:
                    raise self._brace_error(span, i, "a '{' that is never closed in a string")
                if literal:
                    parts.append(_decode("".join(literal)))
                    literal = []
                parts.append(self.interpolation(raw[i + 1:end], span, i + 1))
                i = end + 1
            else:
                literal.append(char)
                i += 1
        if literal:
            parts.append(_decode("".join(literal)))
        if all(isinstance(p, str) for p in parts):
            return ex.Literal("".join(parts), span)  # type: ignore[arg-type]
        return ex.Interpolated(tuple(parts), span)

    def _brace_error(self, span: Span, offset: int, message: str) -> SpecSyntaxError:
        column = span.column + 1 + offset
        return SpecSyntaxError(message, Span(self.path, span.line, column, span.line, column + 1, self.file),
                               "write {{ and }} for braces in a string; {EXPR} puts a value in it")

    def interpolation(self, text: str, string: Span, offset: int) -> ts.Expr:
        """The expression ``text``, found at ``offset`` in the string at ``string``."""
        shift = string.column + offset  # its column 1 is at this column of the line, plus one
        if not text.strip() or "\\" in text:
            column = string.column + offset  # the '{'
            raise SpecSyntaxError("expected an expression inside {...}" if not text.strip()
                                  else "an escape inside {...}",
                                  Span(self.path, string.line, column, string.line, column + len(text) + 2, self.file),
                                  "{...} holds an expression without strings: give a string a name with set")
        try:
            tree = _interpolation(text)
        except UnexpectedInput:
            error = syntax_error(SourceFile(self.path, text), start="interpolation")
            span = error.span
            assert span is not None
            moved = Span(self.path, string.line, span.column + shift, string.line,
                         (span.end_column if span.end_line == span.line else span.column + 1) + shift, self.file)
            # The text ends where the string's '}' stands.
            message = error.message.replace("the end of the file", "'}'").replace("end of file", "'}'")
            raise SpecSyntaxError(f"{message} (inside a string's {{...}})", moved, error.hint) from None
        return _Builder(self.file, string.line, shift).expr(tree)


# The method that makes each statement and each body entry, by its rule (shared by every builder:
# an interpolation makes one of its own).
_STATEMENTS: dict[str, Callable[[_Builder, _Tree], ts.Node]] = {
    "version": _Builder.version, "t_source": _Builder.source, "t_copy": _Builder.copy,
    "t_let": _Builder.let, "t_export": _Builder.export, "param": _Builder.param, "set": _Builder.set,
    "block": _Builder.block, "use": _Builder.use, "output": _Builder.output, "include": _Builder.include,
    "statement_for": _Builder.for_, "statement_if": _Builder.if_,
}
_ENTRIES: dict[str, Callable[[_Builder, _Tree], ts.Node]] = {
    "t_setting": _Builder.setting, "t_variable_override": _Builder.variable_override,
    "t_bind": _Builder.bind, "t_signature": _Builder.signature,
    "copy_for": _Builder.for_, "copy_if": _Builder.if_, "export_for": _Builder.for_, "export_if": _Builder.if_,
}


def _closing(raw: str, start: int) -> int | None:
    """The index of the '}' that closes the '{' at ``start`` (maps may nest inside), or None."""
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
