"""Lark's tree of a template (or of the expression inside a string's ``{...}``) to the nodes of
:mod:`graphdsl.lang.template_syntax` and :mod:`graphdsl.lang.expr`.

:class:`TreeBuilder` restructures the tree the contextual parse makes (or lark's own); a string's
expressions are parsed on their own (:func:`parse_interpolation`) and made from a blueprint per
shape (:mod:`graphdsl.lang.template_make`), their spans moved to where they stand in the file.
The builder raises the first mistake it meets (a number too large, a brace alone in a string, an
expression nested too deep) once the parse is done. No TensorFlow here.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from graphdsl.errors import SourceFile, Span, SpecSyntaxError, TextSpan
from graphdsl.lang import grammar, syntax
from graphdsl.lang import template_make as mk
from graphdsl.lang import template_syntax as ts
from graphdsl.lang import expr as ex
from graphdsl.lang.builder import MAX_NESTING
from graphdsl.lang.contextual import ContextualParser, PositionedToken, PositionedTree
from graphdsl.lang.driver import Rejected
from graphdsl.lang.syntax_errors import syntax_error

# The Lark tree of a template: each rule's children are its subtrees and its kept tokens. The
# grammar fixes which is which at each place, so the builder takes them as they come (Any).
_Tree = Tree[Token]
_TREE, _TOKEN = PositionedTree, PositionedToken  # what the fast parses make (exact types)
_new = object.__new__


@functools.cache
def contextual() -> ContextualParser:
    """The contextual parse of the template grammar (:mod:`graphdsl.lang.contextual`)."""
    return ContextualParser(grammar.tables("template"))


def parse_interpolation(text: str) -> _Tree:
    """The tree of the expression ``text`` inside a string's ``{...}``, its positions counted from
    its own start; UnexpectedInput (from lark's parser, which words it) if it is not one."""
    try:
        return contextual().parse(text, "interpolation")
    except Rejected:
        return grammar.load("template").parse(text, start="interpolation")


class TreeBuilder:
    """Restructures the Lark tree of a template (or of one interpolation) into template nodes.

    ``base`` is the offset in the file of the text parsed: an interpolation is parsed on its own,
    and its nodes must point where it stands in the file. A string never spans lines, so the
    offsets give the line and column the text's own line and column would, moved along the line.
    """

    def __init__(self, file: SourceFile, base: int = 0, limit: int = mk.MAX_EXPRESSION_DEPTH) -> None:
        self.file = file
        self.path = file.path
        self.base = base
        self.limit = limit  # how deep its expressions may nest
        self.lists = 0  # the lists and maps around the expression being made
        self.depth = 0  # the `for` and `if` bodies around the statement being made

    # Spans ------------------------------------------------------------------------------------

    def span_of(self, item: Any) -> TextSpan:
        kind = type(item)  # the fast parses' types first: a span per node
        if kind is _TREE:
            start, end = item.start, item.end
        elif kind is _TOKEN:
            start, end = item.start_pos, item.end_pos
        else:
            start, end = mk.offsets(item)
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
        return mk.Version(mk.Int(int(number), self.span_of(number)), self.span_of(tree))

    def source(self, tree: Any) -> ts.Source:
        name, kind, path, *options = tree.children
        return mk.Source(self.name(name), self.ident(kind), self.string(path),
                       tuple([self.setting(o) for o in options]), self.span_of(tree))

    def copy(self, tree: Any) -> ts.Copy:
        namespace, source, entries = tree.children
        return mk.Copy(self.name(namespace), self.name(source), self.body(entries), self.span_of(tree))

    def let(self, tree: Any) -> ts.Let:
        name, value = tree.children
        return mk.Let(self.name(name), self.expr(value), self.span_of(tree))

    def export(self, tree: Any) -> ts.Export:
        kind, path, *body = tree.children
        entries = self.body(body[0]) if body else ()
        return mk.Export(self.ident(kind), self.string(path), entries, bool(body), self.span_of(tree))

    def param(self, tree: Any) -> ts.Param:
        name, type_, *rest = tree.children
        default = None
        entries: tuple[ts.Node, ...] = ()
        for child in rest:
            if isinstance(child, Tree) and child.data == "param_body":
                entries = tuple(self.setting(c) if c.data == "t_setting" else self.check(c) for c in child.children)
            else:
                default = self.expr(child)
        return mk.Param(self.ident(name), self.type(type_), default, entries, self.span_of(tree))

    def check(self, tree: Any) -> ts.Check:
        condition, message = tree.children
        return mk.Check(self.expr(condition), self.expr(message), self.span_of(tree))

    def type(self, tree: Any) -> ts.TypeSpec:
        name, *item = tree.children
        return mk.TypeSpec(self.ident(name), self.type(item[0]) if item else None, self.span_of(tree))

    def set(self, tree: Any) -> ts.Set:
        name, value = tree.children
        return mk.Set(self.ident(name), self.expr(value), self.span_of(tree))

    def block(self, tree: Any) -> ts.Block:
        name, *params, body = tree.children
        return mk.Block(self.ident(name), tuple(self.block_param(p) for p in params), self.body(body),
                      self.span_of(tree))

    def block_param(self, tree: Any) -> ts.BlockParam:
        name, *rest = tree.children
        type_ = default = None
        for child in rest:
            if isinstance(child, Tree) and child.data == "type":
                type_ = self.type(child)
            else:
                default = self.expr(child)
        return mk.BlockParam(self.ident(name), type_, default, self.span_of(tree))

    def use(self, tree: Any) -> ts.Use:
        name, block, *args = tree.children
        return mk.Use(self.name(name), self.ident(block), tuple(self.setting(a) for a in args), self.span_of(tree))

    def output(self, tree: Any) -> ts.Output:
        name, value = tree.children
        return mk.Output(self.ident(name), self.expr(value), self.span_of(tree))

    def include(self, tree: Any) -> ts.Include:
        (path,) = tree.children
        return mk.Include(mk.String(mk.decode(path[1:-1]), self.span_of(path)), self.span_of(tree))

    def nested(self, tree: Any) -> None:
        """Enter the body of the ``for`` or ``if`` ``tree``: an error past MAX_STATEMENT_DEPTH."""
        if self.depth >= mk.MAX_STATEMENT_DEPTH:
            span = self.span_of(tree)
            raise SpecSyntaxError(f"for and if bodies nested more than {mk.MAX_STATEMENT_DEPTH} deep (an else if counts "
                                  "as one more)",
                                  Span(self.path, span.line, span.column, span.line, span.column + 1, self.file),
                                  "move the inner statements into a block, or join the conditions with and")
        self.depth += 1

    def for_(self, tree: Any) -> ts.For:
        names, iterable, body = tree.children
        self.nested(tree)
        try:
            return mk.For(tuple(self.ident(n) for n in names.children), self.expr(iterable), self.body(body),
                          self.span_of(tree))
        finally:
            self.depth -= 1

    def if_(self, tree: Any) -> ts.If:
        condition, then, *otherwise = tree.children
        self.nested(tree)
        try:
            rest: tuple[ts.Node, ...] = ()
            if otherwise:
                branch = otherwise[0]
                rest = (self.if_(branch),) if branch.data.endswith("_if") else self.body(branch)
            node: ts.If = mk.If(self.expr(condition), self.body(then), rest, self.span_of(tree))
        finally:
            self.depth -= 1
        then_span = self.span_of(then)
        object.__setattr__(node, "then_end", (then_span.end_line, then_span.end_column))  # not a field
        return node

    # Entries ----------------------------------------------------------------------------------

    def setting(self, tree: Any) -> ts.Setting:
        key, value = tree.children
        return mk.Setting(self.ident(key), self.expr(value), self.span_of(tree))

    def variable_override(self, tree: Any) -> ts.VariableOverride:
        pattern, value = tree.children
        return mk.VariableOverride(self.string(pattern), self.expr(value), self.span_of(tree))

    def bind(self, tree: Any) -> ts.Bind:
        input_name, value = tree.children
        return mk.Bind(self.string(input_name), self.expr(value), self.span_of(tree))

    def signature(self, tree: Any) -> ts.Signature:
        label, *settings = tree.children
        return mk.Signature(self.label(label), tuple(self.setting(s) for s in settings), self.span_of(tree))

    # Names ------------------------------------------------------------------------------------

    def name(self, tree: Any) -> ts.NameExpr:
        """A name being defined: an Ident as written, or the expression of a string that computes it."""
        (token,) = tree.children
        if token.type == "STRING":
            return self.string(token)
        return mk.Ident(str(token), self.span_of(token))

    def label(self, tree: Any) -> ts.Expr:
        (token,) = tree.children
        if token.type == "STRING":
            return self.string(token)
        return mk.Literal(str(token), self.span_of(token))

    def ident(self, token: Any) -> syntax.Ident:
        return mk.Ident(str(token), self.span_of(token))

    # Expressions ------------------------------------------------------------------------------

    def expr(self, item: Any, depth: int = 0) -> ts.Expr:
        # One frame per level of the expression (two for a list's or a call's item, three for a
        # map's value): 256 levels stay clear of Python's recursion limit, so each kind is made
        # here rather than by a method of its own.
        kind = type(item)
        if kind is _TOKEN or (kind is not _TREE and isinstance(item, Token)):
            kind = item.type
            if kind == "STRING":
                return self.string_at(item[1:-1], self.span_of(item))
            if kind == "INT":
                return mk.Literal(self.integer(item), self.span_of(item))  # type: ignore[no-any-return]
            if kind == "FLOAT":
                return mk.Literal(self.number(item), self.span_of(item))  # type: ignore[no-any-return]
            return mk.Literal(kind == "TRUE", self.span_of(item))  # type: ignore[no-any-return]
        if depth >= self.limit:
            span = self.span_of(item)
            where = "expressions" if self.limit == mk.MAX_EXPRESSION_DEPTH else "an expression inside {...}"
            raise SpecSyntaxError(f"{where} nested more than {self.limit} deep",
                                  Span(self.path, span.line, span.column, span.line, span.column + 1, self.file),
                                  "give parts of it names with set")
        data, children, span = item.data, item.children, self.span_of(item)
        depth += 1
        op = mk.BINARY.get(data)
        if op is not None:
            left, right = children
            return mk.Binary(op, self.expr(left, depth), self.expr(right, depth), span)  # type: ignore[no-any-return]
        if data == "variable":
            return mk.Variable(str(children[0]), span)  # type: ignore[no-any-return]
        if data == "call":
            function, *args = children
            return mk.Call(str(function), tuple([self.expr(a, depth) for a in args]), span)  # type: ignore[no-any-return]
        if data == "neg":
            return mk.Unary("-", self.expr(children[0], depth), span)  # type: ignore[no-any-return]
        if data == "not_op":
            return mk.Unary("not", self.expr(children[0], depth), span)  # type: ignore[no-any-return]
        if data == "conditional":
            condition, then, otherwise = children
            return mk.Conditional(self.expr(condition, depth), self.expr(then, depth),  # type: ignore[no-any-return]
                                  self.expr(otherwise, depth), span)
        if data == "index":
            target, index = children
            return mk.Index(self.expr(target, depth), self.expr(index, depth), span)  # type: ignore[no-any-return]
        if data == "attribute":
            target, name = children
            return mk.Attribute(self.expr(target, depth), str(name), span)  # type: ignore[no-any-return]
        if data == "t_list" or data == "t_map":
            # A list or map written inside another nests as deep as a plain spec's at most: deeper
            # is no value (evaluate refuses it), and `fmt` lays each level out on lines of its own.
            if self.lists >= MAX_NESTING:
                raise SpecSyntaxError(f"lists and maps nested more than {MAX_NESTING} deep",
                                      Span(self.path, span.line, span.column, span.line, span.column + 1, self.file),
                                      "flatten the value")
            self.lists += 1
            try:
                if data == "t_list":
                    return mk.list_expr(tuple([self.expr(c, depth) for c in children]), span)
                return mk.MapExpr(tuple([self.map_item(c, depth) for c in children]), span)  # type: ignore[no-any-return]
            finally:
                self.lists -= 1
        if data == "list_for":
            names, iterable, item_ = children
            return mk.ListFor(self.loop_names(names), self.expr(iterable, depth),  # type: ignore[no-any-return]
                              self.expr(item_, depth), span)
        if data == "map_for":
            names, iterable, key, value = children
            return mk.MapFor(self.loop_names(names), self.expr(iterable, depth),  # type: ignore[no-any-return]
                             self.expr(key, depth), self.expr(value, depth), span)
        if data == "interpolation":
            return self.expr(children[0], depth)
        raise AssertionError(f"unknown expression {data}")  # the grammar has no other

    def map_item(self, tree: Any, depth: int) -> ex.MapItem:
        label, value = tree.children
        return mk.MapItem(self.label(label), self.expr(value, depth), self.span_of(tree))

    @staticmethod
    def loop_names(tree: Any) -> tuple[str, ...]:
        return tuple(str(name) for name in tree.children)

    def integer(self, token: Any) -> int:
        value = mk.integer(token)
        if value is None:
            raise mk.too_large(token, self.span_of(token))
        return value

    def number(self, token: Any) -> float:
        value = float(token)
        if value in mk.INFINITIES:
            raise mk.infinite(self.span_of(token))
        return value

    # Strings, with {...} -------------------------------------------------------------------------

    def string(self, token: Any) -> ts.Expr:
        """A string literal: a Literal, or an Interpolated string when it holds ``{...}``."""
        return self.string_at(token[1:-1], self.span_of(token))

    def string_at(self, raw: str, span: TextSpan) -> ts.Expr:
        """The string whose text between its quotes is ``raw``, at ``span``."""
        if "{" not in raw and "}" not in raw:
            return mk.Literal(mk.decode(raw), span)
        shape = raw.translate(mk.DIGITS)  # where its braces and escapes are: the same for its shape
        layout = mk.LAYOUTS.get(shape)
        if layout is None:
            if len(mk.LAYOUTS) >= mk.MOST_KEPT:
                mk.LAYOUTS.clear()
            layout = mk.LAYOUTS[shape] = mk.layout(raw)
        parts: list[str | ts.Node] = []
        interpolated = False
        for kind, first, last in layout:
            if kind is mk.TEXT:
                parts.append(mk.decode(raw[first:last] if type(last) is int else "".join([raw[a:b] for a, b in first])))
            elif kind is mk.EXPR:
                parts.append(self.interpolation(raw[first:last], span, first))
                interpolated = True
            else:  # the first mistake in its braces, told once the expressions before it are made
                raise self._brace_error(span, first, last)
        if not interpolated:
            return mk.Literal("".join(parts), span)  # type: ignore[arg-type]
        return mk.Interpolated(tuple(parts), span)

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
        shape = text.translate(mk.DIGITS) if mk.digit_blind() else text
        make = mk.BLUEPRINTS.get(shape)
        if make is not None:
            return make(text, self.file, base)
        try:
            tree = parse_interpolation(text)
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
        make = mk.blueprint(tree)
        if make is None:  # an expression no blueprint makes: the builder makes it (or says what is wrong)
            return TreeBuilder(self.file, base, mk.MAX_INTERPOLATION_DEPTH).expr(tree)
        if len(mk.BLUEPRINTS) >= mk.MOST_KEPT:
            mk.BLUEPRINTS.clear()
        mk.BLUEPRINTS[shape] = make
        return make(text, self.file, base)


# The method that makes each statement and body entry, by its rule (shared by every
# builder: an interpolation makes one of its own).
_STATEMENTS: dict[str, Callable[[TreeBuilder, Any], ts.Node]] = {
    "version": TreeBuilder.version, "t_source": TreeBuilder.source, "t_copy": TreeBuilder.copy,
    "t_let": TreeBuilder.let, "t_export": TreeBuilder.export, "param": TreeBuilder.param, "set": TreeBuilder.set,
    "block": TreeBuilder.block, "use": TreeBuilder.use, "output": TreeBuilder.output, "include": TreeBuilder.include,
    "statement_for": TreeBuilder.for_, "statement_if": TreeBuilder.if_,
}
_ENTRIES: dict[str, Callable[[TreeBuilder, Any], ts.Node]] = {
    "t_setting": TreeBuilder.setting, "t_variable_override": TreeBuilder.variable_override,
    "t_bind": TreeBuilder.bind, "t_signature": TreeBuilder.signature,
    "copy_for": TreeBuilder.for_, "copy_if": TreeBuilder.if_,
    "export_for": TreeBuilder.for_, "export_if": TreeBuilder.if_,
}


