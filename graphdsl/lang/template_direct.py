"""A long template's nodes made straight from the driver's reduces, without lark's tree.

When :class:`graphdsl.lang.driver.Driver` reads a template (one of 8 KiB or more, see
:mod:`graphdsl.lang.template_parser`), :func:`build` gives it a builder per rule, which makes
the nodes :class:`~graphdsl.lang.template_builder.TreeBuilder` makes of that rule's tree. A
mistake a builder finds gives the text up (:class:`GiveUp`) to the tree and the tree builder,
which tell it after the whole parse, as ever. No TensorFlow here.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from graphdsl.errors import SourceFile, Span, TextSpan
from graphdsl.lang import grammar, syntax
from graphdsl.lang.builder import MAX_NESTING
from graphdsl.lang import template_make as mk
from graphdsl.lang import template_syntax as ts
from graphdsl.lang.driver import Driver
from graphdsl.lang.programs import Splice, flat
from graphdsl.lang.template_builder import TreeBuilder
from graphdsl.lang.units import UNIT

_new = object.__new__
_NESTING = ("t_list", "t_map")  # the rules of the lists and maps that nest at most MAX_NESTING deep

# A long template read by the driver is built by the builders below, rule by rule as the driver
# reduces them, without lark's tree: each makes the node TreeBuilder makes of that rule's tree. A
# rule's children come as the driver hands them: tokens as (terminal, text, offset), keywords and
# punctuation included, and what the builders of sub-rules made, as _Made. Any mistake a builder
# finds (a number too large, a brace alone in a string, an expression nested too deep) gives up
# the whole text to the tree and the tree builder, which find the syntax error first if there is
# one, else the same mistake: what is told, and in what order, stays theirs.


class _Made:
    """What a rule made: its node (or nodes), where its text starts and ends (its container, as
    lark's tree places it), the height of an expression (trees on the longest way down, as
    TreeBuilder counts its depth), and the rule's name."""

    __slots__ = ("value", "start", "end", "height", "rule")

    def __init__(self, value: Any, start: int, end: int, height: int, rule: str) -> None:
        self.value, self.start, self.end, self.height, self.rule = value, start, end, height, rule


class GiveUp(Exception):
    """The direct builders leave this text to the tree and the tree builder."""


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
        self.builder = TreeBuilder(file)
        self.unit_codes: dict[Any, tuple[str, str, str, str]] = {}  # by Units: see codes_of

    def builders(self) -> dict[str, Callable[[list[Any]], Any]]:
        """A builder for each rule the driver builds; those no template statement reaches give up."""
        made: dict[str, Callable[[list[Any]], Any]] = {}
        names, splicing = _rule_names()
        for name in names:
            method = getattr(self, "rule_" + name, None)
            if name in mk.BINARY:
                made[name] = functools.partial(self.binary, mk.BINARY[name], name)
            elif method is None:
                made[name] = _give_up
            elif name in splicing:
                made[name] = functools.partial(_splicing, method)
            else:
                made[name] = method
        made[UNIT] = self.list_unit  # a list read as one token (graphdsl.lang.units)
        return made

    # Spans, tokens and expressions --------------------------------------------------------------

    def span(self, start: int, end: int) -> TextSpan:
        span: TextSpan = _new(TextSpan)
        span.file, span.start, span.end = self.file, start, end
        return span

    def made(self, value: Any, span: TextSpan, rule: str, height: int = 0) -> _Made:
        made: _Made = _new(_Made)  # _Made(), inline: one per rule
        made.value, made.start, made.end, made.height, made.rule = value, span.start, span.end, height, rule
        return made

    def ident(self, token: tuple[str, str, int]) -> syntax.Ident:
        _, text, start = token
        span: TextSpan = _new(TextSpan)  # span(), inline: a name per statement or two
        span.file, span.start, span.end = self.file, start, start + len(text)
        return mk.Ident(text, span)  # type: ignore[no-any-return]

    def string(self, token: tuple[str, str, int]) -> ts.Expr:
        _, text, start = token
        span: TextSpan = _new(TextSpan)
        span.file, span.start, span.end = self.file, start, start + len(text)
        raw = text[1:-1]
        if "{" not in raw and "}" not in raw and "\\" not in raw:
            return mk.Literal(raw, span)  # type: ignore[no-any-return]  # as written: what string_at makes of it
        return self.builder.string_at(raw, span)

    def expr(self, child: Any) -> ts.Expr:
        """The expression of a child: a literal's token, or what a rule made."""
        if type(child) is not tuple:
            return child.value  # type: ignore[no-any-return]
        kind, text, start = child
        if kind == "STRING":
            return self.string(child)
        span = self.span(start, start + len(text))
        if kind == "INT":
            value = mk.integer(text)
            if value is None:
                raise GiveUp
            return mk.Literal(value, span)  # type: ignore[no-any-return]
        if kind == "FLOAT":
            number = float(text)
            if number in mk.INFINITIES:
                raise GiveUp
            return mk.Literal(number, span)  # type: ignore[no-any-return]
        return mk.Literal(kind == "TRUE", span)  # type: ignore[no-any-return]

    def expression(self, value: ts.Expr, span: TextSpan, rule: str, parts: list[Any]) -> _Made:
        """The _Made of an expression rule whose expression parts are ``parts``."""
        height = 0
        for part in parts:
            if type(part) is not tuple and part.height > height:
                height = part.height
        if height >= mk.MAX_EXPRESSION_DEPTH or (height >= MAX_NESTING and rule in _NESTING):
            raise GiveUp  # the tree builder says where (a list this high may nest lists too deep)
        return self.made(value, span, rule, height + 1)

    def whole(self, children: list[Any]) -> TextSpan:
        """The span of a rule's text: from its first child to its last (a token or a rule's text)."""
        first, last = children[0], children[-1]
        span: TextSpan = _new(TextSpan)
        span.file = self.file
        span.start = first[2] if type(first) is tuple else first.start
        span.end = last[2] + len(last[1]) if type(last) is tuple else last.end
        return span

    # Statements -------------------------------------------------------------------------------

    def rule_template(self, children: list[Any]) -> ts.Template:
        text = self.file.text
        end = Span(self.file.path, 1, 1, text.count("\n") + 1, len(text) - text.rfind("\n"), self.file)
        return ts.Template(self.file, tuple([c.value for c in children]), end)

    def rule_version(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        _, text, start = children[1]
        return self.made(mk.Version(mk.Int(int(text), self.span(start, start + len(text))), span),
                         span, "version")

    def rule_t_name(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        (token,) = children
        return self.made(self.string(token) if token[0] == "STRING" else self.ident(token), span, "t_name")

    def rule_t_source(self, children: list[Any]) -> _Made:
        # source NAME = KIND ( PATH (, setting)* ,? ): taken by position (a statement's commonest rule)
        span = self.whole(children)
        options = tuple([option.value for option in children[7:-1:2]])
        return self.made(mk.Source(children[1].value, self.ident(children[3]), self.string(children[5]), options,
                                   span), span, "t_source")

    def rule_t_copy(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        namespace, source, entries = _kept(children)
        return self.made(mk.Copy(namespace.value, source.value, entries.value, span), span, "t_copy",
                         entries.height)

    def rule_t_let(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        name, value = _kept(children)
        return self.made(mk.Let(name.value, self.expr(value), span), span, "t_let")

    def rule_t_export(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        kind, path, *body = _kept(children)
        entries = body[0].value if body else ()
        return self.made(mk.Export(self.ident(kind), self.string(path), entries, bool(body), span),
                         span, "t_export", body[0].height if body else 0)

    def body(self, children: list[Any], rule: str) -> _Made:
        # { entry* }; its height: the `for` and `if` bodies nested in it, on the longest way down
        span = self.whole(children)
        entries = children[1:-1]
        height = max([c.height for c in entries], default=0)
        return self.made(tuple([c.value for c in entries]), span, rule, height)

    def rule_statements(self, children: list[Any]) -> _Made:
        return self.body(children, "statements")

    def rule_copy_entries(self, children: list[Any]) -> _Made:
        return self.body(children, "copy_entries")

    def rule_export_entries(self, children: list[Any]) -> _Made:
        return self.body(children, "export_entries")

    def rule_param_body(self, children: list[Any]) -> _Made:
        return self.body(children, "param_body")

    def rule_param(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        name, type_, *rest = _kept(children)
        default = None
        entries: tuple[ts.Node, ...] = ()
        for child in rest:
            if type(child) is _Made and child.rule == "param_body":
                entries = child.value
            else:
                default = self.expr(child)
        return self.made(mk.Param(self.ident(name), type_.value, default, entries, span),
                         span, "param")

    def rule_param_check(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        condition, message = _kept(children)
        return self.made(mk.Check(self.expr(condition), self.expr(message), span), span, "check")

    def rule_type(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        name, *item = _kept(children)
        return self.made(mk.TypeSpec(self.ident(name), item[0].value if item else None, span),
                         span, "type")

    def rule_set(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        name, value = _kept(children)
        return self.made(mk.Set(self.ident(name), self.expr(value), span), span, "set")

    def rule_block(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        name, *params, body = _kept(children)
        return self.made(mk.Block(self.ident(name), tuple([p.value for p in params]), body.value, span),
                         span, "block")

    def rule_block_param(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        name, *rest = _kept(children)
        type_ = default = None
        for child in rest:
            if type(child) is _Made and child.rule == "type":
                type_ = child.value
            else:
                default = self.expr(child)
        return self.made(mk.BlockParam(self.ident(name), type_, default, span), span, "block_param")

    def rule_use(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        name, block, *args = _kept(children)
        return self.made(mk.Use(name.value, self.ident(block), tuple([a.value for a in args]), span),
                         span, "use")

    def rule_output(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        name, value = _kept(children)
        return self.made(mk.Output(self.ident(name), self.expr(value), span), span, "output")

    def rule_include(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        _, text, start = children[1]
        path = mk.String(mk.decode(text[1:-1]), self.span(start, start + len(text)))
        return self.made(mk.Include(path, span), span, "include")

    def nested(self, height: int) -> int:
        """The height of a ``for`` or ``if`` whose bodies are ``height`` high."""
        if height >= mk.MAX_STATEMENT_DEPTH:
            raise GiveUp  # the tree builder says where
        return height + 1

    def loop(self, children: list[Any], rule: str) -> _Made:
        span = self.whole(children)
        names, iterable, body = _kept(children)
        return self.made(mk.For(tuple([self.ident(n) for n in names.value]), self.expr(iterable), body.value,
                              span), span, rule, self.nested(body.height))

    def rule_statement_for(self, children: list[Any]) -> _Made:
        return self.loop(children, "statement_for")

    def rule_copy_for(self, children: list[Any]) -> _Made:
        return self.loop(children, "copy_for")

    def rule_export_for(self, children: list[Any]) -> _Made:
        return self.loop(children, "export_for")

    def rule_loop_names(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        return self.made(_kept(children), span, "loop_names")

    def choice(self, children: list[Any], rule: str) -> _Made:
        span = self.whole(children)
        condition, then, *otherwise = _kept(children)
        rest: tuple[ts.Node, ...] = ()
        height = then.height
        if otherwise:
            branch = otherwise[0]
            rest = (branch.value,) if branch.rule.endswith("_if") else branch.value
            height = max(height, branch.height)
        node: ts.If = mk.If(self.expr(condition), then.value, rest, span)
        then_span = self.span(then.start, then.end)
        object.__setattr__(node, "then_end", (then_span.end_line, then_span.end_column))  # not a field
        return self.made(node, span, rule, self.nested(height))

    def rule_statement_if(self, children: list[Any]) -> _Made:
        return self.choice(children, "statement_if")

    def rule_copy_if(self, children: list[Any]) -> _Made:
        return self.choice(children, "copy_if")

    def rule_export_if(self, children: list[Any]) -> _Made:
        return self.choice(children, "export_if")

    # Entries ----------------------------------------------------------------------------------

    def rule_t_setting(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        key, _, value = children
        return self.made(mk.Setting(self.ident(key), self.expr(value), span), span, "t_setting")

    def rule_t_variable_override(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        pattern, value = _kept(children)
        return self.made(mk.VariableOverride(self.string(pattern), self.expr(value), span),
                         span, "t_variable_override")

    def rule_t_bind(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        name, value = _kept(children)
        return self.made(mk.Bind(self.string(name), self.expr(value), span), span, "t_bind")

    def rule_t_signature(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        label, *settings = _kept(children)
        return self.made(mk.Signature(label.value, tuple([s.value for s in settings]), span),
                         span, "t_signature")

    def rule_t_label(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        (token,) = children
        if token[0] == "STRING":
            return self.made(self.string(token), span, "t_label")
        _, text, start = token
        return self.made(mk.Literal(text, self.span(start, start + len(text))), span, "t_label")

    # Expressions ------------------------------------------------------------------------------

    def binary(self, op: str, rule: str, children: list[Any]) -> _Made:
        span = self.whole(children)
        left, _, right = children
        return self.expression(mk.Binary(op, self.expr(left), self.expr(right), span), span, rule,
                               [left, right])

    def rule_not_op(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        operand = children[1]
        return self.expression(mk.Unary("not", self.expr(operand), span), span, "not_op", [operand])

    def rule_neg(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        operand = children[1]
        return self.expression(mk.Unary("-", self.expr(operand), span), span, "neg", [operand])

    def rule_conditional(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        parts = _kept(children)
        condition, then, otherwise = parts
        return self.expression(mk.Conditional(self.expr(condition), self.expr(then), self.expr(otherwise),
                                            span), span, "conditional", parts)

    def rule_index(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        parts = _kept(children)
        target, index = parts
        return self.expression(mk.Index(self.expr(target), self.expr(index), span), span, "index",
                               parts)

    def rule_attribute(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        target, _, name = children
        return self.expression(mk.Attribute(self.expr(target), name[1], span), span, "attribute",
                               [target])

    def rule_variable(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        return self.expression(mk.Variable(children[0][1], span), span, "variable", [])

    def rule_call(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        function, *args = _kept(children)
        return self.expression(mk.Call(function[1], tuple([self.expr(a) for a in args]), span),
                               span, "call", args)

    def rule_t_list(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        items = _kept(children)
        return self.expression(mk.list_expr(tuple([self.expr(i) for i in items]), span), span, "t_list", items)

    def list_unit(self, children: list[Any]) -> _Made:
        """The list a unit stands for (:mod:`graphdsl.lang.units`), as :meth:`rule_t_list` makes it
        from the children the tables give it. A list of constants (most units) is folded from its
        tokens' texts alone (:meth:`folded`), its items made when first asked for."""
        units, texts, offsets, codes, start, end = children[0][1]
        made = self.folded(units, texts, offsets, codes, start, end)
        if made is not None:
            return made
        return self.unit_lists(units, texts[start:end], offsets[start:end], codes[start:end])

    def folded(self, units: Any, texts: list[str], offsets: list[int], codes: str, start: int, end: int) -> _Made | None:
        """The _Made of the list of a unit's tokens (``start`` to ``end``) if its items are all
        constants: its value, as :func:`~graphdsl.lang.template_make.list_expr` folds the items
        :meth:`unit_lists` makes; None where an item is not a constant, or is a mistake (which
        :meth:`unit_lists` gives up on)."""
        keys = units.keys
        opening, closing, comma, string = self.unit_codes.get(units) or self.codes_of(units)
        # Its tokens, copied: the lists of a part's tokens are the driver's, and the folded list
        # keeps them to make its items from.
        texts, offsets, codes = texts[start:end], offsets[start:end], codes[start:end]
        first, last = offsets[0], offsets[-1] + 1
        # Where the list's text holds no backslash nor brace (in a string or a comment), each of
        # its strings is its text between the quotes.
        plain = mk.SPECIAL.search(self.file.text, first, last) is None
        parents: list[list[Any]] = []
        values: list[Any] = []
        height = 0
        for code, token in zip(codes, texts):
            if code == string:
                raw = token[1:-1]
                if not plain:
                    if "{" in raw or "}" in raw:
                        return None  # an interpolation, or braces doubled: as string() makes it
                    raw = mk.decode(raw)
                values.append(raw)
            elif code == comma:
                continue
            elif code == opening:
                parents.append(values)
                values = []
                if len(parents) > height:
                    height = len(parents)
            elif code == closing:
                value = tuple(values)
                values = parents.pop()
                values.append(value)
            else:
                kind = keys[code]
                if kind == "INT":
                    number = mk.integer(token)
                    if number is None:
                        return None
                    values.append(number)
                elif kind == "FLOAT":
                    real = float(token)
                    if real in mk.INFINITIES:
                        return None
                    values.append(real)
                else:  # pragma: no cover  # a unit holds strings, numbers and lists
                    return None  # made item by item, as any other list
        span = self.span(first, last - 1 + len(texts[-1]))
        items = functools.partial(self.unit_items, units, texts, offsets, codes)
        return self.made(mk.constant_list(values[0], span, items), span, "t_list", height)

    def codes_of(self, units: Any) -> tuple[str, str, str, str]:
        """The codes of a list's brackets, its comma and a string, among ``units``' token codes."""
        codes = units.codes
        found = self.unit_codes[units] = (codes[units.open], codes[units.close], codes[units.comma], codes["STRING"])
        return found

    def unit_items(self, units: Any, texts: list[str], offsets: list[int], codes: str) -> tuple[ts.Expr, ...]:
        """The items of the folded list of a unit's tokens, made as :meth:`unit_lists` makes them."""
        return self.unit_lists(units, texts, offsets, codes).value.items  # type: ignore[no-any-return]

    def unit_lists(self, units: Any, texts: list[str], offsets: list[int], codes: str) -> _Made:
        """The list of a unit's tokens, each list in it made as :meth:`rule_t_list` makes it,
        innermost first, in one loop over the tokens (a list's tokens become expressions as it
        closes)."""
        keys = units.keys
        opening, closing, comma = map(units.codes.__getitem__, (units.open, units.close, units.comma))
        parents: list[Any] = []
        items: list[Any] = []  # the open list's tokens and the _Made of its lists
        for code, text, offset in zip(codes, texts, offsets):
            if code == comma:
                continue
            if code == opening:
                parents.append((items, offset))
                items = []
            elif code == closing:
                parent, begun = parents.pop()
                span = self.span(begun, offset + len(text))
                made = self.expression(mk.list_expr(tuple([self.expr(item) for item in items]), span), span,
                                       "t_list", items)
                if not parents:
                    return made
                parent.append(made)
                items = parent
            else:
                items.append((keys[code], text, offset))
        raise AssertionError("a unit ends with its closing bracket")  # pragma: no cover

    def rule_t_map(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        items = _kept(children)
        return self.expression(mk.MapExpr(tuple([i.value for i in items]), span), span, "t_map",
                               items)

    def rule_t_map_entry(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        label, _, value = children
        made = self.made(mk.MapItem(label.value, self.expr(value), span), span, "t_map_entry")
        made.height = value.height if type(value) is not tuple else 0  # a map's entry is no level of its own
        return made

    def rule_list_for(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        parts = _kept(children)
        names, iterable, item = parts
        return self.expression(mk.ListFor(tuple([n[1] for n in names.value]), self.expr(iterable), self.expr(item),
                                        span), span, "list_for", parts[1:])

    def rule_map_for(self, children: list[Any]) -> _Made:
        span = self.whole(children)
        parts = _kept(children)
        names, iterable, key, value = parts
        return self.expression(mk.MapFor(tuple([n[1] for n in names.value]), self.expr(iterable), self.expr(key),
                                       self.expr(value), span), span, "map_for", parts[1:])

    def rule_primary(self, children: list[Any]) -> Any:
        # ( expr ): the expression stands for it; a lone token stays where it is, and a tree is
        # placed by the text of the parentheses, as lark places them.
        span = self.whole(children)
        (inner,) = _kept(children)
        if type(inner) is tuple:
            return inner
        made = self.made(inner.value, span, inner.rule, inner.height)
        return made


def _give_up(children: list[Any]) -> Any:
    raise GiveUp  # a rule no template statement reaches


def _splicing(method: Callable[[list[Any]], Any], children: list[Any]) -> Any:
    """``method`` of a rule with spliced children, which may be handed on as one Splice."""
    if Splice in map(type, children):  # any(), by C loops: a statement's options come this way
        children = flat(children)
    return method(children)


@functools.cache
def _rule_names() -> tuple[frozenset[str], frozenset[str]]:
    """The names of the rules the driver builds (as lark names their trees), and those of them
    with a spliced rule among their symbols."""
    names: set[str] = set()
    splicing: set[str] = set()
    for rule in grammar.tables("template").rules:  # read as data: no parser of lark's is made
        name = rule.tree
        if name is not None:
            names.add(name)
            if rule.splices:
                splicing.add(name)
    return frozenset(names), frozenset(splicing)



def build(driver: Driver, file: SourceFile) -> ts.Template:
    """The template ``file`` is, read by ``driver``: :class:`~graphdsl.lang.driver.Rejected` where
    the driver does not read it, :class:`GiveUp` (or a SpecSyntaxError) where a builder finds a
    mistake."""
    return driver.parse(file.text, _Direct(file).builders())  # type: ignore[no-any-return]
