"""The canonical layout of a template: what ``graphdsl fmt`` writes for a spec with parameters,
blocks, loops, choices or includes.

The plain statements are laid out as :mod:`graphdsl.lang.fmt` lays out a plain spec (bodies, the
alignment of ``=``, lists and maps wrapped at the width, blank lines, comments); the template's own
statements follow the same rules:

- ``param NAME: TYPE = DEFAULT`` with its constraints as a body (on one line when it holds one);
- ``block NAME(PARAM: TYPE = DEFAULT, ...)`` and ``use PREFIX = BLOCK(key = value, ...)`` with
  their lists on one line when they fit, else one per line; ``for`` and ``if`` bodies (and the body
  of a block) always one statement or entry per line, ``} else {`` and ``} else if COND {`` joined;
- ``set``, ``output`` and ``use`` align their ``=`` like ``let``;
- expressions with one space around binary operators and after ``,``, parentheses only where the
  grammar needs them; strings (their ``{...}`` included), numbers and quoted names as spelled.

:func:`format_template` prints; :func:`graphdsl.lang.fmt.format_source` checks the result. No
TensorFlow here.
"""

from __future__ import annotations

from typing import Callable, Sequence

from graphdsl.lang import expr as ex
from graphdsl.lang import syntax
from graphdsl.lang import template_syntax as ts
from graphdsl.lang.fmt import _BLANKS, DEFAULT_WIDTH, INDENT, _join, _Line, _Printer, _spelled
from graphdsl.lang.fmt import meaning as meaning_of

# How binary operators bind (higher binds tighter); unary minus binds at 7, indexing and '.' at 8.
_BINARY = {"or": 1, "and": 2, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4, "in": 4,
           "+": 5, "-": 5, "*": 6, "/": 6, "//": 6, "%": 6}
_COMPARISON = 4
_ATOM = 9

_Render = Callable[[syntax.Node, int, int], list[_Line]]


def format_template(template: ts.Template, width: int = DEFAULT_WIDTH) -> str:
    """The text of ``template`` in the canonical layout, ``width`` columns wide where it can be."""
    if width < 1:
        raise ValueError(f"width must be positive, not {width}")
    return _join(_TemplatePrinter(template, width).lines())


class _TemplatePrinter(_Printer):
    """Prints one template, with the plain printer's bodies, alignment, blank lines and comments."""

    # Statements -------------------------------------------------------------------------------

    def statement(self, node: syntax.Node, align: int, indent: int) -> list[_Line]:
        if isinstance(node, syntax.Version):
            return [_Line(indent, f"graphdsl {_spelled(node.number)}")]
        if isinstance(node, ts.Include):
            return [_Line(indent, f"include {_spelled(node.path)}")]
        if isinstance(node, ts.Source):
            return self.source(node, align, indent)
        if isinstance(node, ts.Copy):
            header = f"copy {_name(node.namespace)} from {_name(node.source)}"
            return self.block(header, node, node.entries, indent, self.copy_entry)
        if isinstance(node, ts.Export):
            return self.export(node, indent)
        if isinstance(node, (ts.Let, ts.Set, ts.Output)):
            return self.setting(node, align, indent)
        if isinstance(node, ts.Param):
            return self.param(node, indent)
        if isinstance(node, ts.Block):
            return self.block_statement(node, indent)
        if isinstance(node, ts.Use):
            return self.use(node, align, indent)
        return self.control(node, indent, self.statement)

    def source(self, node: ts.Source, align: int, indent: int) -> list[_Line]:  # type: ignore[override]
        return self.call(f"{self.head(node).ljust(align)} = {node.kind.name}(", node, node.options, indent,
                         first=_spelled(node.path))

    def export(self, node: ts.Export, indent: int) -> list[_Line]:  # type: ignore[override]
        header = f"export {node.kind.name} {_spelled(node.path)}"
        if node.has_body:
            return self.block(header, node, node.entries, indent, self.export_entry)
        if not node.comments.end:
            return [_Line(indent, header)]
        inner = indent + INDENT  # comments written inside `export KIND "PATH"` stay inside
        comments = [_Line(inner, comment=c.text) for c in node.comments.end]
        return [_Line(indent, f"export {node.kind.name}"), *comments, _Line(inner, _spelled(node.path))]

    def copy_entry(self, node: syntax.Node, align: int, indent: int) -> list[_Line]:
        if isinstance(node, (ts.For, ts.If)):
            return self.control(node, indent, self.copy_entry)
        return self.setting(node, align, indent)

    def export_entry(self, node: syntax.Node, align: int, indent: int) -> list[_Line]:
        if isinstance(node, ts.Signature):
            return self.block(f"signature {_spelled(node.name)}", node, node.entries, indent, self.setting)
        if isinstance(node, (ts.For, ts.If)):
            return self.control(node, indent, self.export_entry)
        return self.setting(node, align, indent)

    def param(self, node: ts.Param, indent: int) -> list[_Line]:
        head = f"param {node.name.name}: {_type(node.type)}"
        if node.default is None:
            lines = [_Line(indent, head)]
        else:
            lines = self.value(node.default, head + " = ", "", indent)
        if not node.entries and not node.comments.end:
            return lines
        if len(lines) == 1:
            return self.block(lines[0].code, node, node.entries, indent, self.param_entry)
        return self.braced(lines, node, node.entries, indent, self.param_entry)

    def param_entry(self, node: syntax.Node, align: int, indent: int) -> list[_Line]:
        if isinstance(node, ts.Check):
            return [_Line(indent, f"check {self.expr(node.condition)}, {self.expr(node.message)}")]
        return self.setting(node, align, indent)

    def block_statement(self, node: ts.Block, indent: int) -> list[_Line]:
        params = [self.block_param(p) for p in node.params]
        line = f"block {node.name.name}({', '.join(params)})"
        if indent + len(line) + 2 <= self.width or not params:
            header = [_Line(indent, line)]
        else:
            inner = indent + INDENT
            header = [_Line(indent, f"block {node.name.name}("), *(_Line(inner, p + ",") for p in params),
                      _Line(indent, ")")]
        return self.braced(header, node, node.body, indent, self.statement)

    def block_param(self, node: ts.BlockParam) -> str:
        text = node.name.name
        if node.type is not None:
            text += f": {_type(node.type)}"
        if node.default is not None:
            text += f" = {self.expr(node.default)}"
        return text

    def use(self, node: ts.Use, align: int, indent: int) -> list[_Line]:
        return self.call(f"{self.head(node).ljust(align)} = {node.block.name}(", node, node.args, indent)

    def call(self, head: str, node: syntax.Node, settings: Sequence[syntax.Node], indent: int,
             first: str | None = None) -> list[_Line]:
        """``HEAD FIRST, key = value, ...)``: on one line when it fits and holds no comment, else one
        item per line, each followed by a comma."""
        if self.quiet(node):
            items = [first] if first is not None else []
            items += [f"{self.head(s)} = {self.flat(s.value)}" for s in settings]  # type: ignore[attr-defined]
            line = head + ", ".join(items) + ")"
            if indent + len(line) <= self.width:
                return [_Line(indent, line)]
        inner = indent + INDENT
        body = self.body(settings, node.comments.end, inner, lambda s, a: self.setting(s, a, inner, ","))
        lines = [_Line(indent, head)]
        if first is not None:
            lines.append(_Line(inner, first + ","))
        return [*lines, *body, _Line(indent, ")")]

    def setting(self, node: syntax.Node, align: int, indent: int, tail: str = "") -> list[_Line]:
        return self.value(node.value, self.head(node).ljust(align) + " = ", tail, indent)  # type: ignore[attr-defined]

    # for and if, of statements or of entries ----------------------------------------------------

    def control(self, node: syntax.Node, indent: int, render: _Render) -> list[_Line]:
        if isinstance(node, ts.For):
            names = ", ".join(n.name for n in node.names)
            header = [_Line(indent, f"for {names} in {self.expr(node.iterable)}")]
            return self.braced(header, node, node.body, indent, render)
        if isinstance(node, ts.If):
            return self.if_(node, indent, render)
        raise ValueError(f"graphdsl fmt cannot lay out a {type(node).__name__} here")

    def if_(self, node: ts.If, indent: int, render: _Render) -> list[_Line]:
        inner = indent + INDENT
        then = self.body(node.then, node.comments.end, inner, lambda e, a: render(e, a, inner))
        head = f"if {self.expr(node.condition)} {{"
        if not node.otherwise and not node.else_comments:
            return [_Line(indent, head + "}")] if not then else [_Line(indent, head), *then, _Line(indent, "}")]
        lines = [_Line(indent, head), *then]
        chained = node.otherwise[0] if len(node.otherwise) == 1 else None
        if (isinstance(chained, ts.If) and not chained.comments.leading and chained.comments.trailing is None
                and not node.else_comments):
            rest = self.if_(chained, indent, render)
            rest[0].code = "} else " + rest[0].code
            return [*lines, *rest]
        otherwise = self.body(node.otherwise, node.else_comments, inner, lambda e, a: render(e, a, inner))
        return [*lines, _Line(indent, "} else {"), *otherwise, _Line(indent, "}")]

    @staticmethod
    def loud(node: syntax.Node) -> bool:
        return bool(node.comments.end or (isinstance(node, ts.If) and node.else_comments))

    def braced(self, header: list[_Line], node: syntax.Node, entries: Sequence[syntax.Node], indent: int,
               render: _Render) -> list[_Line]:
        """``HEADER { entries }``, one entry per line (``{}`` when there is none)."""
        if not entries and not node.comments.end:
            header[-1].code += " {}"
            return header
        inner = indent + INDENT
        body = self.body(entries, node.comments.end, inner, lambda entry, a: render(entry, a, inner))
        header[-1].code += " {"
        return [*header, *body, _Line(indent, "}")]

    # Values -----------------------------------------------------------------------------------

    def opened(self, node: syntax.Node) -> tuple[str, Sequence[syntax.Node]] | None:
        if isinstance(node, ex.ListExpr):
            return "[", node.items
        if isinstance(node, ex.MapExpr):
            return "{", node.items
        return super().opened(node)

    def _flatten(self, node: syntax.Node) -> str | None:
        if isinstance(node, (ex.ListExpr, ex.MapExpr)) and not self.quiet(node):
            return None
        return self.expr(node)

    def expr(self, node: syntax.Node, at_least: int = 0) -> str:
        """An expression on one line, in parentheses when it binds looser than ``at_least``."""
        # One frame per level of the expression (no generator, no helper): a template's
        # expressions nest 256 deep, which must stay clear of Python's recursion limit.
        expr = self.expr
        binds = _ATOM
        if isinstance(node, ex.Binary):
            binds = _BINARY[node.op]
            left = _COMPARISON + 1 if binds == _COMPARISON else binds  # comparisons do not chain
            right = max(binds + 1, left)
            text = f"{expr(node.left, left)} {node.op} {expr(node.right, right)}"
        elif isinstance(node, ex.Unary):
            if node.op == "not":
                text, binds = f"not {expr(node.operand, 3)}", 3
            else:
                operand = expr(node.operand, 7)
                # `- 1` is minus one; `-1` would be the literal.
                text, binds = ("- " if operand[:1].isdigit() or operand[:1] == "." else "-") + operand, 7
        elif isinstance(node, ex.Conditional):
            text = f"{expr(node.condition, 1)} ? {expr(node.then, 1)} : {expr(node.otherwise)}"
            binds = 0
        elif isinstance(node, ex.Index):
            text, binds = f"{expr(node.target, 8)}[{expr(node.index)}]", 8
        elif isinstance(node, ex.Attribute):
            target = expr(node.target, 8)
            if isinstance(node.target, ex.Literal) and not isinstance(node.target.value, str):
                target = f"({target})"  # `1.x` would be read as the number `1.` then `x`
            text, binds = f"{target}.{node.name}", 8
        elif isinstance(node, ex.Call):
            args = []
            for arg in node.args:
                args.append(expr(arg))
            text = f"{node.function}({', '.join(args)})"
        elif isinstance(node, ex.Variable):
            text = node.name
        elif isinstance(node, ex.ListExpr):
            items = []
            for item in node.items:
                items.append(expr(item))
            text = "[" + ", ".join(items) + "]"
        elif isinstance(node, ex.MapExpr):
            entries = []
            for entry in node.items:
                entries.append(f"{_spelled(entry.key)}: {expr(entry.value)}")
            text = "{ " + ", ".join(entries) + " }" if entries else "{}"
        elif isinstance(node, ex.ListFor):
            text = (f"[for {', '.join(node.names)} in {expr(node.iterable, _COMPARISON + 1)}: "
                    f"{expr(node.item)}]")
        elif isinstance(node, ex.MapFor):
            text = (f"{{ for {', '.join(node.names)} in {expr(node.iterable, _COMPARISON + 1)}: "
                    f"{expr(node.key, 1)} => {expr(node.value)} }}")
        else:
            text = _literal(node)
        return f"({text})" if binds < at_least else text

    # Heads ------------------------------------------------------------------------------------

    @staticmethod
    def head(node: syntax.Node) -> str:
        """What stands before an entry's '=' (empty for a node without one)."""
        if isinstance(node, ts.Setting):
            return node.key.name
        if isinstance(node, ts.Bind):
            return f"bind {_spelled(node.input)}"
        if isinstance(node, ts.VariableOverride):
            return f"variable {_spelled(node.pattern)}"
        for kind, word in _NAMED:
            if isinstance(node, kind):
                return f"{word} {_name(node.name)}"
        return ""


_NAMED = ((ts.Let, "let"), (ts.Source, "source"), (ts.Set, "set"), (ts.Output, "output"), (ts.Use, "use"))


def meaning(template: ts.Template) -> str:
    """What a template says, as text: :func:`graphdsl.lang.fmt.meaning` of its tree, with the end
    comments of each ``else`` branch (which are not among a node's ``comments``)."""
    lines = [meaning_of(template)]
    stack: list[syntax.Node] = [template]
    count = 0
    while stack:
        node = stack.pop()
        count += 1
        if isinstance(node, ts.If) and node.else_comments:
            texts = ", ".join(repr(c.text.rstrip(_BLANKS)) for c in node.else_comments)
            lines.append(f"node {count}: else comments {texts}")
        stack.extend(reversed(list(node.children())))
    return "\n".join(lines)


def _name(node: syntax.Node) -> str:
    """A name being defined: a word, or the string that computes it, as written."""
    return node.name if isinstance(node, syntax.Ident) else _literal(node)


def _type(node: ts.TypeSpec) -> str:
    return str(node)


def _literal(node: syntax.Node) -> str:
    """A literal or a string as spelled (a string with its {...} as one piece of text)."""
    if isinstance(node, (ex.Literal, ex.Interpolated, syntax.String)) and node.span.file is not None:
        return _spelled(node)
    if isinstance(node, ex.Literal):
        text = ex.show(node.value)
        return text.replace("{", "{{").replace("}", "}}") if isinstance(node.value, str) else text
    raise ValueError(f"graphdsl fmt cannot lay out a {type(node).__name__} here")
