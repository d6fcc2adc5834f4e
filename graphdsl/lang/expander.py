"""Running a template: its statements, for its parameters' values, make a plain spec.

:func:`expand` takes a parsed template through :mod:`graphdsl.lang.includes` (its included files),
:mod:`graphdsl.lang.typecheck` (its expressions' types) and :mod:`graphdsl.lang.params` (its
parameters bound), then :class:`Expander` runs it into a plain :class:`~graphdsl.lang.syntax.Spec`
(no parameters, blocks, loops or includes), which is then checked like any spec. The statements run
in order, as a build runs them. :func:`graphdsl.lang.expand.load` is the front end that comes here
when a spec is a template; a plain spec never imports this module.

Every node the expander makes points at the template text that made it. When a block use or a loop
made it, its span is a :class:`GeneratedSpan`, whose notes say which ("in block `layer` used at
towers.gcomp:14:5, i = 3"), so that an error found in it, now or at build time, shows them.

Names: a block use puts its prefix before every name the block defines (``tower_0/Enc``); a word in
a block means the block's own name when the block defines one by that name, else the name outside.
Bounds: the statements made and the loop iterations run are counted; past ``max_statements`` the
expansion stops with an error that says how to raise the limit. No TensorFlow here.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
from typing import Any, Callable

from graphdsl.errors import LineSpan, Span, SpecError, clipped, did_you_mean
from graphdsl.lang import expr as ex
from graphdsl.lang.evaluate import evaluate, scopes_over
from graphdsl.lang import params as params_
from graphdsl.lang import schema, syntax
from graphdsl.lang import template_syntax as ts
from graphdsl.lang.check import StatementChecks, check
from graphdsl.lang.expand import DEFAULT_MAX_STATEMENTS, Expansion
from graphdsl.lang.includes import Program, Unit, load_program
from graphdsl.lang.template_make import MAX_STATEMENT_DEPTH
from graphdsl.collector import paused
from graphdsl.lang.typecheck import check_types

_LIMIT_HINT = "raise the limit with --max-statements N (max_statements=N in the Python API)"
# The items of lists, maps and strings the expressions and values of a template may go through,
# in all, per statement the limit allows: 10,000,000 by default, a few seconds of work.
WORK_PER_STATEMENT = 100

# The plain spec's nodes, by their fast constructors (positional, see syntax.maker): an expansion
# makes several per statement it makes.
_make = syntax.maker
_Bind, _Bool, _Copy, _Export = _make(syntax.Bind), _make(syntax.Bool), _make(syntax.Copy), _make(syntax.Export)
_Float, _Ident, _Int, _Let = _make(syntax.Float), _make(syntax.Ident), _make(syntax.Int), _make(syntax.Let)
_ListValue, _MapEntry, _MapValue = _make(syntax.ListValue), _make(syntax.MapEntry), _make(syntax.MapValue)
_Ref, _Setting, _Signature = _make(syntax.Ref), _make(syntax.Setting), _make(syntax.Signature)
_Source, _String, _Word = _make(syntax.Source), _make(syntax.String), _make(syntax.Word)
_VariableOverride, _Version = _make(syntax.VariableOverride), _make(syntax.Version)


def expand(template: ts.Template, given: params_.ParamValues,
           max_statements: int = DEFAULT_MAX_STATEMENTS) -> Expansion:
    """The plain spec ``template`` makes for the values ``given``, checked, with the values of all
    its parameters and where each came from. Raises SpecError or ParamError."""
    program = load_program(template)
    check_types(program)
    values, origins = params_.bind(program.params, given)
    statements = StatementChecks()  # each statement checked as it is made (see graphdsl.lang.check)
    spec = Expander(program, values, max_statements, statements).run()
    record = syntax.TemplateRecord(
        dict(values), {name: "its default" if origin.default else origin.text for name, origin in origins.items()},
        program.included_files())
    return Expansion(dataclasses.replace(check(spec, statements), template=record), values, origins, template=True)


# ---------------------------------------------------------------------------------------------
# Where a generated statement came from
# ---------------------------------------------------------------------------------------------


class Frame:
    """One loop iteration or block use that is making statements; ``parent`` is the one around it."""

    __slots__ = ("kind", "label", "span", "values", "parent", "spans")

    def __init__(self, kind: str, span: Span, parent: Frame | None, label: str = "",
                 values: tuple[tuple[str, Any], ...] = ()) -> None:
        self.kind = kind  # "loop" or "block"
        self.label = label
        self.span = span
        self.values = values
        self.parent = parent
        self.spans: dict[int, GeneratedSpan] = {}

    def notes(self) -> tuple[str, ...]:
        """Innermost first: the loops right around the statement, then each block use with the
        values of the loops around that use."""
        frames: list[Frame] = []
        frame: Frame | None = self
        while frame is not None:
            frames.append(frame)
            frame = frame.parent
        lines: list[str] = []
        index = 0
        loops: list[Frame] = []
        while index < len(frames) and frames[index].kind == "loop":
            loops.append(frames[index])
            index += 1
        if loops:
            lines.append(f"in the loop at {_where(loops[0].span)}, {_values(loops)}")
        while index < len(frames):
            block = frames[index]
            index += 1
            loops = []
            while index < len(frames) and frames[index].kind == "loop":
                loops.append(frames[index])
                index += 1
            lines.append(f"in block `{block.label}` used at {_where(block.span)}"
                         + (f", {_values(loops)}" if loops else ""))
        return tuple(lines)


def _where(span: Span) -> str:
    return f"{span.path}:{span.line}:{span.column}"


def _values(loops: list[Frame]) -> str:
    shown = []
    for loop in reversed(loops):  # outermost first
        for name, value in loop.values:
            text = ex.show(value)
            shown.append(f"{name} = {clipped(text, 40)}")
    return ", ".join(shown)


class GeneratedSpan(LineSpan):
    """The span of template text, for a node a loop iteration or a block use made from it."""

    __slots__ = ("frame",)

    def __init__(self, span: Span, frame: Frame) -> None:  # Span's fields, set here: it is made often
        # place(): a parsed span works out its lines and columns in one go, each time it is asked.
        self.path, self.line, self.column, self.end_line, self.end_column = span.place()
        self.file = span.file
        self.frame = frame

    def notes(self) -> tuple[str, ...]:
        return self.frame.notes()


# ---------------------------------------------------------------------------------------------
# The expander
# ---------------------------------------------------------------------------------------------


class _Context(ex.Environment):
    """Where statements are being expanded: variables, the block use's prefix and names, the frame."""

    __slots__ = ("expander", "scope", "prefix", "own", "frame", "unit", "depth")

    def __init__(self, expander: Expander, scope: ex.Scope, prefix: str, own: set[str] | None,
                 frame: Frame | None, unit: Unit, depth: int = 0) -> None:
        self.expander = expander
        self.scope = scope
        self.prefix = prefix
        self.own = own  # the names the block use defines (None outside blocks)
        self.frame = frame
        self.unit = unit
        self.depth = depth  # the block uses and `for` and `if` bodies around (see Expander.nested)

    def inner(self, frame: Frame | None = None, values: dict[str, Any] | None = None) -> _Context:
        """A context for a body inside this one (a loop iteration, a branch): its own variables."""
        return _Context(self.expander, ex.Scope(self.scope, values), self.prefix, self.own,
                        self.frame if frame is None else frame, self.unit, self.depth + 1)

    def full(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    # What the evaluator asks
    def word(self, name: str, span: Span) -> ex.Name:
        if self.own is not None and name in self.own:
            return ex.Name(self.full(name))
        return ex.Name(name)

    def attribute(self, target: ex.Name, name: str, span: Span) -> Any:
        return self.expander.output_of(target, name, self.span(span))

    def iterate(self, span: Span) -> None:
        self.expander.iterate(self.span(span))

    def work(self, items: int, span: Span) -> None:
        self.expander.work(items, span)  # Expander.value gives an error the frame's notes

    def span(self, span: Span) -> Span:
        """``span``, with the notes of this context's frame."""
        frame = self.frame
        if frame is None:
            return span
        made = frame.spans.get(id(span))
        if made is None:
            made = frame.spans[id(span)] = GeneratedSpan(span, frame)
        return made


class Expander:
    """Runs a program's statements for given parameter values; :meth:`run` gives the plain spec."""

    def __init__(self, program: Program, params: dict[str, Any], max_statements: int = DEFAULT_MAX_STATEMENTS,
                 statement: Callable[[Any], Any] | None = None) -> None:
        """``statement``, if given, is handed each statement as it is made, and what it returns
        stands for it."""
        self.program = program
        self.statement = statement
        self.max_statements = max_statements
        self.statements: list[syntax.Statement] = []
        self.count = 0
        self.iterations = 0
        self.work_done = 0
        self.params = ex.Scope(values=dict(params))
        self.file_scopes: dict[int, ex.Scope] = {}  # id(Unit) -> variables of its top level
        self.uses: dict[str, ts.Block] = {}  # prefix -> block
        self.defined: dict[str, tuple[str, Span]] = {}  # spec name -> (what, where)
        self.root_dir = posixpath.dirname(program.root.file.path.replace(os.sep, "/"))
        self._own: dict[int, frozenset[str]] = {}
        self._statement: dict[type, Callable[[Any, _Context], None]] = {
            syntax.Version: self.version, ts.Source: self.source, ts.Copy: self.copy, ts.Let: self.let,
            ts.Export: self.export, ts.Param: _skip, ts.Block: _skip, ts.Set: self.set, ts.Use: self.use,
            ts.Output: self.output, ts.Include: self.include, ts.For: self.for_statement,
            ts.If: self.if_statement,
        }
        self._version_done = False

    def run(self) -> syntax.Spec:
        root = self.program.root
        # Expansion allocates many small objects and frees few: paused, the cyclic collector does
        # not scan them again and again (it halved the time of a 10,000-statement expansion).
        with paused():
            self.unit(root)
        return syntax.Spec(root.file, tuple(self.statements), root.template.span)

    def unit(self, unit: Unit) -> None:
        scope = self.file_scopes.setdefault(id(unit), ex.Scope(self.params))
        self.body(unit.template.statements, _Context(self, scope, "", None, None, unit))

    def body(self, statements: tuple[ts.Node, ...], ctx: _Context) -> None:
        for statement in statements:
            self._statement[type(statement)](statement, ctx)

    # Bounds -----------------------------------------------------------------------------------

    def emit(self, statement: syntax.Statement) -> None:
        self.statements.append(statement if self.statement is None else self.statement(statement))
        self.made(statement.span)

    def made(self, span: Span) -> None:
        """Count one statement or entry made (at ``span``)."""
        self.count += 1
        if self.count > self.max_statements:
            raise SpecError(f"the template makes more than {self.max_statements} statements", span,
                            f"a loop that runs too long? {_LIMIT_HINT}")

    def nested(self, ctx: _Context, span: Span) -> int:
        """The depth of a body entered from ``ctx`` at ``span`` (a block use's, a loop's, a
        branch's). Each file's bodies nest at most MAX_STATEMENT_DEPTH deep, and so do they, counted
        through the blocks used: expanding them recurses."""
        depth = ctx.depth + 1
        if depth > MAX_STATEMENT_DEPTH:
            raise SpecError(f"block uses, for and if nested more than {MAX_STATEMENT_DEPTH} deep", ctx.span(span),
                            "a chain of blocks that use blocks, each inside loops or ifs? use fewer levels")
        return depth

    def work(self, items: int, span: Span) -> None:
        """Count ``items`` handled at ``span``: the items a list operation goes through, the
        characters a string is made of, the items of a value written into the plain spec. Each
        is bounded (MAX_ITEMS), but a loop may repeat one: the total stops at WORK_PER_STATEMENT
        items per statement allowed, rather than running for hours."""
        self.work_done += items
        if self.work_done > self.max_statements * WORK_PER_STATEMENT:
            raise SpecError(f"the template handles more than {self.max_statements * WORK_PER_STATEMENT:,} items "
                            "(of lists, maps and strings) in all", span,
                            f"a loop that goes through a long list at each turn? {_LIMIT_HINT}, "
                            f"which allows {WORK_PER_STATEMENT} items per statement")

    def iterate(self, span: Span) -> None:
        self.iterations += 1
        if self.iterations > self.max_statements:
            raise SpecError(f"the template's loops run more than {self.max_statements} iterations", span,
                            f"a loop that runs too long? {_LIMIT_HINT}")

    # Evaluation and names ---------------------------------------------------------------------

    def value(self, node: ts.Expr, ctx: _Context, scope: ex.Scope | None = None) -> Any:
        """The value of an expression; its errors carry the notes of ``ctx``'s frame."""
        try:
            return evaluate(node, ctx.scope if scope is None else scope, ctx)
        except SpecError as error:
            if error.span is not None and not isinstance(error.span, GeneratedSpan):
                error.span = ctx.span(error.span)
            raise

    def text(self, node: ts.Expr, ctx: _Context, what: str) -> str:
        value = self.value(node, ctx)
        if not isinstance(value, str):
            raise SpecError(f"{what} is a string, not {ex.describe(value)}", ctx.span(node.span))
        return value

    def define(self, name: ts.NameExpr, ctx: _Context, what: str) -> syntax.Ident:
        """The name a statement defines, under the block use's prefix; remembered for clashes."""
        if isinstance(name, syntax.Ident):
            text = name.name
        else:
            text = self.text(name, ctx, f"the name of a {what}")
            ex.check_name(text, ctx.span(name.span))
        if ctx.own is not None:
            ctx.own.add(text)
        full = ctx.full(text)
        span = ctx.span(name.span)
        earlier = self.defined.get(full)
        if earlier is not None and (what == "block use") != (earlier[0] == "block use"):
            raise SpecError(f"'{full}' names a {what} here and a {earlier[0]} at {_where(earlier[1])}", span,
                            "a block use's prefix is a name of its own: rename one of them")
        self.defined.setdefault(full, (what, span))
        return _Ident(full, span)

    def refer(self, name: ts.NameExpr, ctx: _Context) -> syntax.Ident:
        """A name a statement refers to (a copy's source): the block's own, else the one outside."""
        if isinstance(name, syntax.Ident):
            return _Ident(ctx.word(name.name, name.span).text, ctx.span(name.span))
        text = self.text(name, ctx, "a source's name")
        ex.check_name(text, ctx.span(name.span))
        return _Ident(ctx.word(text, name.span).text, ctx.span(name.span))

    def output_of(self, target: ex.Name, name: str, span: Span) -> ex.Name:
        """``PREFIX.NAME``: the alias of an output of the block use ``PREFIX``."""
        block = self.uses.get(target.text)
        if block is None:
            raise SpecError(f"'{target.text}' is not a block use (yet), so it has no '.{name}'", span,
                            did_you_mean(target.text, self.uses, "the block use")
                            or "'.' reaches the outputs of a block use made above: use NAME = BLOCK(...)")
        if name not in block.outputs:
            outputs = list(block.outputs)
            raise SpecError(f"block '{block.name.name}' has no output '{name}'", span,
                            did_you_mean(name, outputs) or (f"its outputs: {', '.join(outputs)}" if outputs
                                                            else "it declares no output: output NAME = REF"))
        return ex.Name(f"{target.text}/{name}")

    # Values of the plain spec -------------------------------------------------------------------

    def node(self, value: Any, span: Span, ctx: _Context, position: str = "any") -> syntax.Value:
        """A value as a node of the plain spec, at ``span``.

        ``position`` says what the place takes: ``"ref"`` (a reference or alias), ``"mode"`` (a
        variable mode: the strings init and value become words), ``"literal"`` (a builder's
        argument) or ``"any"``. A name no variable binds is a mistake where no name belongs.
        """
        kind = type(value)  # the common kinds first, by their exact type
        if kind is str and position != "mode":
            return _String(value, span)
        if kind is int:
            return _Int(value, span)
        if kind is tuple:
            return self.list_node(value, span, ctx, position)
        if isinstance(value, bool):
            return _Bool(value, span)
        if isinstance(value, int):
            return _Int(value, span)
        if isinstance(value, float):
            return _Float(value, span)
        if isinstance(value, str):
            if position == "mode" and value in schema.VARIABLE_MODES:
                return _Word(value, span)
            return _String(value, span)
        if isinstance(value, tuple):
            return _ListValue(tuple(self.node(v, span, ctx, position) for v in value), span)
        if isinstance(value, dict):
            return _MapValue(tuple(_MapEntry(_String(k, span), self.node(v, span, ctx, position), span)
                                   for k, v in value.items()), span)
        if isinstance(value, ex.Reference):
            return _Ref(_Ident(value.namespace, span), _String(value.element, span), span)
        assert isinstance(value, ex.Name)
        if position == "ref" or (position == "mode" and value.text in schema.VARIABLE_MODES):
            if value.text not in self.defined and value.text not in schema.VARIABLE_MODES:
                close = did_you_mean(value.text, ctx.scope.names(), "the variable")
                if close:
                    raise SpecError(f"unknown name '{value.text}'", span, close)
            return _Word(value.text, span)
        raise SpecError(f"unknown name '{value.text}'", span,
                        did_you_mean(value.text, ctx.scope.names(), "the variable")
                        or (f'no variable is called so; for the string, write "{value.text}"'
                            if position != "mode" else "a variable mode is init or value"))

    def plain(self, value: Any, span: Span, ctx: _Context, position: str = "any") -> syntax.Value:
        """:meth:`node` of the value of an entry or statement, its items counted (see :meth:`work`):
        ten times each, as each becomes a node of the plain spec (some hundred bytes)."""
        if type(value) is tuple or type(value) is dict:
            self.work(10 * _items(value), span)
        return self.node(value, span, ctx, position)

    def list_node(self, value: tuple[Any, ...], span: Span, ctx: _Context, position: str) -> syntax.ListValue:
        """:meth:`node` of a list: its strings and the lists in it made by :func:`_list_node`
        (lists of strings and such lists are common, thousands of items in a long template), the
        rest by :meth:`node`."""
        node = self.node
        if position == "mode":  # the strings init and value become words
            return _ListValue(tuple([node(v, span, ctx, position) for v in value]), span)  # type: ignore[no-any-return]
        return _list_node(value, span, lambda item: node(item, span, ctx, position))

    def setting(self, setting: ts.Setting, ctx: _Context, position: str = "any") -> syntax.Setting:
        span = ctx.span(setting.value.span)
        value = self.plain(self.value(setting.value, ctx), span, ctx, position)
        where = ctx.span(setting.span)
        self.made(where)
        return _Setting(_Ident(setting.key.name, ctx.span(setting.key.span)), value, where)

    # Statements -------------------------------------------------------------------------------

    def version(self, version: syntax.Version, ctx: _Context) -> None:
        if not self._version_done:  # the root's; an included file's says nothing more
            self._version_done = True
            self.emit(_Version(version.number, version.span))  # without the template's comments

    def source(self, source: ts.Source, ctx: _Context) -> None:
        name = self.define(source.name, ctx, "source")
        path = self.text(source.path, ctx, "a source's path")
        if ctx.unit is not self.program.root:
            path = self.relative_path(path, ctx.unit, source.kind.name)
        options = tuple([self.source_option(o, source.kind.name, ctx) for o in source.options])
        self.emit(_Source(name, _Ident(source.kind.name, ctx.span(source.kind.span)),
                                _String(path, ctx.span(source.path.span)), options, ctx.span(source.span)))

    def source_option(self, option: ts.Setting, kind: str, ctx: _Context) -> syntax.Setting:
        """A source's option; a path option of an included file's source is moved like its path."""
        setting = self.setting(option, ctx, "literal")
        known = schema.SOURCE_KINDS.get(kind)
        entry = known.option(option.key.name) if known is not None else None
        if entry is not None and entry.path and ctx.unit is not self.program.root \
                and isinstance(setting.value, syntax.String):
            moved = _String(self.relative_path(setting.value.value, ctx.unit, ""), setting.value.span)
            setting = _Setting(setting.key, moved, setting.span)
        return setting

    def relative_path(self, path: str, unit: Unit, kind: str) -> str:
        """A source path of an included file, made relative to the root spec's directory."""
        file_part, sep, function = path.rpartition(":") if kind == "python" else (path, "", "")
        if kind == "python" and not sep:
            file_part, function = path, ""
        if not file_part or posixpath.isabs(file_part):
            return path
        here = posixpath.dirname(unit.file.path.replace(os.sep, "/"))
        moved = posixpath.relpath(posixpath.join(here, file_part), self.root_dir or ".")
        return f"{moved}{sep}{function}"

    def copy(self, copy: ts.Copy, ctx: _Context) -> None:
        source = self.refer(copy.source, ctx)
        namespace = self.define(copy.namespace, ctx, "namespace")
        entries: list[syntax.Node] = []
        self.copy_entries(copy.entries, ctx, entries)
        self.emit(_Copy(namespace, source, tuple(entries), ctx.span(copy.span)))  # type: ignore[arg-type]

    def copy_entries(self, entries: tuple[ts.Node, ...], ctx: _Context, out: list[syntax.Node]) -> None:
        for entry in entries:
            if isinstance(entry, ts.Setting):
                out.append(self.setting(entry, ctx, "mode" if entry.key.name == "variables" else "any"))
            elif isinstance(entry, ts.VariableOverride):
                pattern = self.text(entry.pattern, ctx, "a variable pattern")
                value = self.plain(self.value(entry.value, ctx), ctx.span(entry.value.span), ctx, "mode")
                self.made(ctx.span(entry.span))
                out.append(_VariableOverride(_String(pattern, ctx.span(entry.pattern.span)), value,
                                                   ctx.span(entry.span)))
            elif isinstance(entry, ts.Bind):
                name = self.text(entry.input, ctx, "a bind's input")
                value = self.plain(self.value(entry.value, ctx), ctx.span(entry.value.span), ctx, "ref")
                self.made(ctx.span(entry.span))
                out.append(_Bind(_String(name, ctx.span(entry.input.span)), value, ctx.span(entry.span)))
            else:
                self.control(entry, ctx, lambda body, inner: self.copy_entries(body, inner, out))

    def let(self, let: ts.Let, ctx: _Context) -> None:
        name = self.define(let.name, ctx, "alias")
        value = self.plain(self.value(let.value, ctx), ctx.span(let.value.span), ctx, "ref")
        self.emit(_Let(name, value, ctx.span(let.span)))

    def export(self, export: ts.Export, ctx: _Context) -> None:
        path = self.text(export.path, ctx, "an export's path")
        entries: list[syntax.Node] = []
        self.export_entries(export.entries, ctx, entries)
        self.emit(_Export(_Ident(export.kind.name, ctx.span(export.kind.span)),
                                _String(path, ctx.span(export.path.span)), tuple(entries),  # type: ignore[arg-type]
                                export.has_body, ctx.span(export.span)))

    def export_entries(self, entries: tuple[ts.Node, ...], ctx: _Context, out: list[syntax.Node]) -> None:
        for entry in entries:
            if isinstance(entry, ts.Setting):
                out.append(self.setting(entry, ctx, "ref" if entry.key.name == "outputs" else "any"))
            elif isinstance(entry, ts.Signature):
                name = self.text(entry.name, ctx, "a signature's name")
                settings = tuple(self.setting(s, ctx, "ref") for s in entry.entries)
                self.made(ctx.span(entry.span))
                out.append(_Signature(_String(name, ctx.span(entry.name.span)), settings,
                                            ctx.span(entry.span)))
            else:
                self.control(entry, ctx, lambda body, inner: self.export_entries(body, inner, out))

    def set(self, statement: ts.Set, ctx: _Context) -> None:
        name = statement.name.name
        if name in ctx.scope.values:
            raise SpecError(f"'{name}' is set twice in this body", ctx.span(statement.name.span),
                            "a name is set once per body; use another name, or a for loop")
        ctx.scope.values[name] = self.value(statement.value, ctx)

    def use(self, use: ts.Use, ctx: _Context) -> None:
        block, unit = self.program.blocks[use.block.name]
        prefix = self.define(use.name, ctx, "block use")
        if prefix.name in self.uses:
            raise SpecError(f"duplicate block use '{prefix.name}'", prefix.span,
                            "each use of a block needs its own name")
        values = self.arguments(use, block, ctx)
        depth = self.nested(ctx, use.span)
        frame = Frame("block", ctx.span(use.span), ctx.frame, label=block.name.name)
        file_scope = self.file_scopes.setdefault(id(unit), ex.Scope(self.params))
        inner = _Context(self, ex.Scope(file_scope, values), prefix.name, set(self.own_names(block)), frame, unit,
                         depth)
        self.uses[prefix.name] = block
        self.body(block.body, inner)

    def arguments(self, use: ts.Use, block: ts.Block, ctx: _Context) -> dict[str, Any]:
        """The block's parameters for this use: its arguments (typed), else the defaults."""
        declared = {p.name.name: p for p in block.params}
        given: dict[str, tuple[Any, ts.Setting]] = {}
        for arg in use.args:
            key = arg.key.name
            if key not in declared:
                raise SpecError(f"block '{block.name.name}' has no parameter '{key}'", ctx.span(arg.key.span),
                                did_you_mean(key, declared) or (f"its parameters: {', '.join(declared)}"
                                                                if declared else "it takes no parameter"))
            if key in given:
                raise SpecError(f"'{key}' is given twice", ctx.span(arg.key.span))
            given[key] = (self.value(arg.value, ctx), arg)
        values: dict[str, Any] = {}
        for param in block.params:
            name = param.name.name
            if name in given:
                value, arg = given[name]
                where = ctx.span(arg.value.span)
            elif param.default is not None:
                value = self.value(param.default, ctx, ex.Scope(self.params, dict(values)))
                where = ctx.span(param.default.span)
            else:
                raise SpecError(f"block '{block.name.name}' needs '{name}' ({params_.type_words(param.type)})",
                                ctx.span(use.span), f"give it: {use.block.name}({name} = ...)")
            value, problem = params_.conform(value, param.type)
            if problem is not None:
                separator = ", " if problem.startswith("not ") else ": "
                raise SpecError(f"'{name}' of block '{block.name.name}' must be "
                                f"{params_.type_words(param.type)}{separator}{problem}", where)
            values[name] = value
        return values

    def own_names(self, block: ts.Block) -> frozenset[str]:
        """The names a block's statements define as written (not computed), in any branch."""
        names = self._own.get(id(block))
        if names is None:
            found = set()
            for node in ts.walk_statements(block.body):
                name = getattr(node, "name", None) if isinstance(node, (ts.Source, ts.Let, ts.Use, ts.Output)) \
                    else getattr(node, "namespace", None) if isinstance(node, ts.Copy) else None
                if isinstance(name, syntax.Ident):
                    found.add(name.name)
            names = self._own[id(block)] = frozenset(found)
        return names

    def output(self, output: ts.Output, ctx: _Context) -> None:
        name = ctx.full(output.name.name)
        value = self.plain(self.value(output.value, ctx), ctx.span(output.value.span), ctx, "ref")
        self.defined.setdefault(name, ("alias", ctx.span(output.name.span)))
        self.emit(_Let(_Ident(name, ctx.span(output.name.span)), value, ctx.span(output.span)))

    def include(self, include: ts.Include, ctx: _Context) -> None:
        unit = ctx.unit.includes.get(id(include))
        if unit is not None:  # None: the file was included before
            self.unit(unit)

    def for_statement(self, loop: ts.For, ctx: _Context) -> None:
        self.control(loop, ctx, self.body)

    def if_statement(self, choice: ts.If, ctx: _Context) -> None:
        self.control(choice, ctx, self.body)

    def control(self, node: ts.Node, ctx: _Context, body: Callable[[tuple[ts.Node, ...], _Context], None]) -> None:
        """A ``for`` or an ``if`` (of statements, copy entries or export entries): runs ``body``."""
        depth = self.nested(ctx, node.span)
        if isinstance(node, ts.If):
            condition = self.value(node.condition, ctx)
            if not isinstance(condition, bool):
                raise SpecError(f"an if's condition is a bool, not {ex.describe(condition)}", ctx.span(node.condition.span))
            body(node.then if condition else node.otherwise, ctx.inner())
            return
        assert isinstance(node, ts.For)
        names = tuple(n.name for n in node.names)
        items = self.value(node.iterable, ctx)
        try:
            scopes = scopes_over(items, names, node.iterable.span, node.span, ctx.scope, ctx)
        except SpecError as error:
            error.span = ctx.span(error.span) if error.span is not None else None
            raise
        for scope in scopes:
            frame = Frame("loop", node.span, ctx.frame, values=tuple(scope.values.items()))
            body(node.body, _Context(self, scope, ctx.prefix, ctx.own, frame, ctx.unit, depth))


def _items(value: Any) -> int:
    """The items of a list or map, with those of the lists and maps in it (without recursion)."""
    count, todo = 0, [value]
    while todo:
        current = todo.pop()
        items = current.values() if type(current) is dict else current
        count += len(items)
        todo.extend([item for item in items if type(item) is tuple or type(item) is dict])
    return count


def _list_node(value: tuple[Any, ...], span: Span, other: Callable[[Any], syntax.Value]) -> syntax.ListValue:
    """The plain node of a list at ``span``: its strings and lists made here, any other item by ``other``."""
    return _ListValue(tuple([_String(item, span) if type(item) is str else  # type: ignore[no-any-return]
                             _list_node(item, span, other) if type(item) is tuple else other(item) for item in value]),
                      span)


def _skip(statement: Any, ctx: _Context) -> None:
    """Declarations (param, block) make no statement: the program gathered them."""
