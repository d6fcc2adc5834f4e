"""Types of a template's expressions, checked before any value is known.

Expansion evaluates only what the parameters' values reach: the branch an ``if`` takes, the blocks
that are used, loops that run at least once. :func:`check_types` goes over every expression of a
program instead (both branches, every block, every loop body), with the types the declarations
give (parameters, block parameters) and those that follow from them (loop variables, ``set``), and
fails on an operation that no value of those types can make work (``"layer_" + i`` with ``i`` an
int, an ``if`` on a string, ``sizes["a"]`` with ``sizes`` a list). What it cannot know (an untyped
block parameter, an item of a plain ``list``) it lets through: evaluation still checks it.

A type is ``"int"``, ``"float"``, ``"bool"``, ``"string"``, ``"name"`` (a bare word: a namespace,
alias or block use), ``"ref"`` (``NS["element"]``), ``"any"``, or ``("list", T)`` / ``("map", T)``.
No TensorFlow here.
"""

from __future__ import annotations

from typing import Any, Callable, NoReturn, Union

from graphdsl.errors import Span, SpecError
from graphdsl.lang import expr as ex
from graphdsl.lang import syntax
from graphdsl.lang import template_syntax as ts
from graphdsl.lang.includes import Program, Unit

Type = Union[str, tuple[str, Any]]
ANY = "any"
_NUMBERS = ("int", "float")
_WORDS = {"int": "an int", "float": "a float", "bool": "a bool", "string": "a string", "name": "a name",
          "ref": "a reference"}


def check_types(program: Program) -> None:
    """Fail with a SpecError at the first expression of ``program`` whose types cannot work."""
    params = {p.name.name: from_spec(p.type) for p in program.params}
    checker = _Checker()
    seen: set[int] = set()
    todo = [program.root]
    while todo:
        unit = todo.pop()
        if id(unit) in seen:
            continue
        seen.add(id(unit))
        scope = _Scope(params)
        checker.body(unit.template.statements, scope)
        todo.extend(u for u in unit.includes.values() if isinstance(u, Unit))
    for declared in program.params:
        # The values check the rest of a param (its default and constraints) as the template loads;
        # a check's message is made only when the check fails.
        for entry in declared.entries:
            if isinstance(entry, ts.Check):
                kind = checker.expr(entry.message, _Scope(params))
                if kind not in ("string", ANY):
                    _fail(f"a check's message is a string, not {words(kind)}", entry.message.span)
    for block, _ in program.blocks.values():
        scope = _Scope(params)
        for param in block.params:
            scope.types[param.name.name] = from_spec(param.type)
            if param.default is not None:
                checker.expr(param.default, _Scope(params))
        checker.body(block.body, scope)


def from_spec(spec: ts.TypeSpec | None) -> Type:
    """The type a declaration names; ``ref`` (a reference or a name) is known only at expansion."""
    if spec is None or spec.name.name == "ref":
        return ANY
    if spec.name.name in ("list", "map"):
        return (spec.name.name, from_spec(spec.item))
    return spec.name.name


def words(kind: Type) -> str:
    """A type with its article: "an int", "a list"."""
    if isinstance(kind, tuple):
        return f"a {kind[0]}"
    return _WORDS.get(kind, "a value")


class _Scope:
    def __init__(self, parent: _Scope | dict[str, Type]) -> None:
        self.parent = parent if isinstance(parent, _Scope) else None
        self.types: dict[str, Type] = {} if isinstance(parent, _Scope) else dict(parent)

    def lookup(self, name: str) -> Type | None:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.types:
                return scope.types[name]
            scope = scope.parent
        return None


def _fail(message: str, span: Span, hint: str | None = None) -> NoReturn:
    raise SpecError(message, span, hint)


def _join(types: list[Type]) -> Type:
    return types[0] if types and all(t == types[0] for t in types) else ANY


_SCALARS: dict[type, Type] = {bool: "bool", int: "int", float: "float", str: "string"}


def constant_type(value: tuple[Any, ...]) -> Type:
    """The type of the list whose value is ``value`` (of a :class:`~graphdsl.lang.expr.ConstantList`):
    the type :meth:`_Checker.list_` gives the list of its items. Items of two kinds (or none)
    join to ``any``, whatever they are."""
    kinds = set(map(type, value))
    if len(kinds) != 1:
        return ("list", ANY)
    (kind,) = kinds
    if kind is tuple:
        return ("list", _join([constant_type(item) for item in value]))
    return ("list", _SCALARS[kind])


def _item(kind: Type) -> Type:
    return kind[1] if isinstance(kind, tuple) else ANY


class _Checker:
    """Walks statements and expressions, typing each expression once per place it stands."""

    # Statements ---------------------------------------------------------------------------------

    def body(self, statements: tuple[ts.Node, ...], scope: _Scope) -> None:
        for statement in statements:
            self.statement(statement, scope)

    def statement(self, node: ts.Node, scope: _Scope) -> None:
        if type(node) is ts.Source:  # the commonest statement, as _parts gives its expressions
            expr = self.expr
            if not isinstance(node.name, syntax.Ident):
                expr(node.name, scope)
            expr(node.path, scope)
            for option in node.options:
                expr(option.value, scope)
        elif isinstance(node, ts.Set):
            scope.types[node.name.name] = self.expr(node.value, scope)
        elif isinstance(node, ts.For):
            inner = _Scope(scope)
            self.loop(node.names, node.iterable, inner, scope)
            self.body(node.body, inner)
        elif isinstance(node, ts.If):
            self.condition(node.condition, scope, "an if's condition")
            self.body(node.then, _Scope(scope))
            self.body(node.otherwise, _Scope(scope))
        elif isinstance(node, (ts.Param, ts.Block, syntax.Version, ts.Include)):
            return  # declarations: checked with their program; blocks on their own
        else:
            expressions, entries = _parts(node)
            for child in expressions:
                self.expr(child, scope)
            for entry in entries:
                self.statement(entry, scope)

    def loop(self, names: tuple[Any, ...], iterable: ts.Expr, inner: _Scope, outer: _Scope) -> None:
        kind = self.expr(iterable, outer)
        texts = [n.name if isinstance(n, syntax.Ident) else n for n in names]
        if isinstance(kind, tuple):
            first, second = ("string", kind[1]) if kind[0] == "map" else ("int", kind[1])
            if len(texts) == 1:
                inner.types[texts[0]] = first if kind[0] == "map" else second
            else:
                inner.types[texts[0]], inner.types[texts[1]] = first, second
        elif kind != ANY:
            _fail(f"a for loop goes over a list or a map, not {words(kind)}", iterable.span,
                  "for i in range(N) counts from 0 to N - 1")
        else:
            inner.types.update({name: ANY for name in texts})

    def condition(self, node: ts.Expr, scope: _Scope, what: str) -> None:
        kind = self.expr(node, scope)
        if kind not in ("bool", ANY):
            _fail(f"{what} is a bool, not {words(kind)}", node.span)

    # Expressions ----------------------------------------------------------------------------------

    def expr(self, node: ts.Expr, scope: _Scope) -> Type:
        return _RULES[type(node)](self, node, scope)

    def literal(self, node: ex.Literal, scope: _Scope) -> Type:
        value = node.value
        return "bool" if isinstance(value, bool) else "int" if isinstance(value, int) else \
            "float" if isinstance(value, float) else "string"

    def interpolated(self, node: ex.Interpolated, scope: _Scope) -> Type:
        for part in node.parts:
            if not isinstance(part, str):
                self.expr(part, scope)
        return "string"

    def variable(self, node: ex.Variable, scope: _Scope) -> Type:
        kind = scope.lookup(node.name)
        return "name" if kind is None else kind

    def list_(self, node: ex.ListExpr, scope: _Scope) -> Type:
        rules = _RULES  # expr() inline: a template's lists may be long
        return ("list", _join([rules[type(item)](self, item, scope) for item in node.items]))

    def constant(self, node: ex.ConstantList, scope: _Scope) -> Type:
        return constant_type(node.value)

    def map_(self, node: ex.MapExpr, scope: _Scope) -> Type:
        for item in node.items:
            self.expr(item.key, scope)
        return ("map", _join([self.expr(item.value, scope) for item in node.items]))

    def index(self, node: ex.Index, scope: _Scope) -> Type:
        target, index = self.expr(node.target, scope), self.expr(node.index, scope)
        if target == ANY:
            return ANY
        wanted = {"list": "int", "map": "string", "name": "string"}.get(target[0] if isinstance(target, tuple) else target)
        if wanted is None:
            # A word a variable binds is that variable, even where a namespace of that name exists.
            hint = (f"'{node.target.name}' is a variable; for the namespace of that name write "
                    f"name(\"{node.target.name}\")[...]" if isinstance(node.target, ex.Variable)
                    and target in ("string", "int", "float") else "a list, a map or a namespace can be indexed")
            _fail(f"cannot index {words(target)}", node.span, hint)
        if index not in (wanted, ANY):
            what = "an element of a namespace" if target == "name" else words(target)
            _fail(f"{what} is {'named' if target == 'name' else 'indexed'} by {words(wanted)}, not {words(index)}",
                  node.index.span)
        return "ref" if target == "name" else _item(target)

    def attribute(self, node: ex.Attribute, scope: _Scope) -> Type:
        target = self.expr(node.target, scope)
        if target in ("name", ANY):
            return target
        if isinstance(target, tuple) and target[0] == "map":
            return target[1]
        _fail(f"{words(target)} has no '.{node.name}'", node.span,
              "'.' reaches the outputs of a block use and the keys of a map")

    def call(self, node: ex.Call, scope: _Scope) -> Type:
        args = [self.expr(arg, scope) for arg in node.args]
        result, wanted = _FUNCTIONS.get(node.function, (None, ()))
        if result is None:
            return ANY  # an unknown function: evaluation says so, with "did you mean"
        for arg, kind, expr_node in zip(args, wanted, node.args):
            if kind != ANY and arg != ANY and not _fits(arg, kind):
                _fail(f"{node.function}() takes {_accepted(kind)}, not {words(arg)}", expr_node.span)
        return result

    def unary(self, node: ex.Unary, scope: _Scope) -> Type:
        kind = self.expr(node.operand, scope)
        if node.op == "not":
            if kind not in ("bool", ANY):
                _fail(f"'not' takes a bool, not {words(kind)}", node.span)
            return "bool"
        if kind not in (*_NUMBERS, ANY):
            _fail(f"'-' takes a number, not {words(kind)}", node.span)
        return kind

    def binary(self, node: ex.Binary, scope: _Scope) -> Type:
        left, right = self.expr(node.left, scope), self.expr(node.right, scope)
        op = node.op
        if op in ("and", "or"):
            for side, kind in ((node.left, left), (node.right, right)):
                if kind not in ("bool", ANY):
                    _fail(f"'{op}' takes bools, not {words(kind)}", side.span)
            return "bool"
        if op in ("==", "!=", "in"):
            if op == "in" and right not in (ANY, "string") and not isinstance(right, tuple):
                _fail(f"'in' looks into a list, a map or a string, not {words(right)}", node.right.span)
            return "bool"
        if ANY in (left, right):
            return ANY if op not in ("<", "<=", ">", ">=") else "bool"
        if op in ("<", "<=", ">", ">="):
            if not ((left in _NUMBERS and right in _NUMBERS) or left == right == "string"):
                _fail(f"'{op}' compares two numbers or two strings, not {words(left)} and {words(right)}", node.span)
            return "bool"
        if op == "+" and left == right == "string":
            return left
        if op == "+" and isinstance(left, tuple) and isinstance(right, tuple) and left[0] == right[0]:
            return (left[0], _join([left[1], right[1]]))
        if left in _NUMBERS and right in _NUMBERS:
            return "float" if op == "/" or "float" in (left, right) else "int"
        if op == "+":
            hint = 'to put a value into a string, interpolate it: "tower_{i}"' if "string" in (left, right) else None
            _fail(f"'+' adds numbers, or joins two strings, two lists or two maps; not {words(left)} and "
                  f"{words(right)}", node.span, hint)
        _fail(f"'{op}' takes numbers, not {words(left)} and {words(right)}", node.span)

    def conditional(self, node: ex.Conditional, scope: _Scope) -> Type:
        self.condition(node.condition, scope, "a condition")
        return _join([self.expr(node.then, scope), self.expr(node.otherwise, scope)])

    def list_for(self, node: ex.ListFor, scope: _Scope) -> Type:
        inner = _Scope(scope)
        self.loop(node.names, node.iterable, inner, scope)
        return ("list", self.expr(node.item, inner))

    def map_for(self, node: ex.MapFor, scope: _Scope) -> Type:
        inner = _Scope(scope)
        self.loop(node.names, node.iterable, inner, scope)
        key = self.expr(node.key, inner)
        if key not in ("string", ANY):
            _fail(f"a map's key is a string, not {words(key)}", node.key.span)
        return ("map", self.expr(node.value, inner))


def _fits(kind: Type, wanted: str) -> bool:
    if wanted == "number":
        return kind in _NUMBERS
    if wanted == "sized":
        return kind == "string" or isinstance(kind, tuple)
    if wanted in ("list", "map"):
        return isinstance(kind, tuple) and kind[0] == wanted
    return kind == wanted


def _accepted(wanted: str) -> str:
    return {"number": "a number", "sized": "a list, a map or a string", "list": "a list",
            "map": "a map"}.get(wanted, words(wanted))


# function -> (result type, the types of its first arguments; "any" for what it converts)
_FUNCTIONS: dict[str, tuple[Type, tuple[str, ...]]] = {
    "range": (("list", "int"), ("int", "int", "int")),
    "len": ("int", ("sized",)),
    "name": ("name", ("string",)),
    "str": ("string", (ANY,)),
    "int": ("int", (ANY,)),
    "float": ("float", (ANY,)),
    "min": (ANY, ()),
    "max": (ANY, ()),
    "keys": (("list", "string"), ("map",)),
}


# What each kind of child of a statement or entry is to the checker: an expression, a setting
# (its value is one), an entry of its body (walked next), or neither (a name as written, a type).
_EXPRESSION, _SETTING, _ENTRY, _NEITHER = range(4)
_ROLES: dict[type, int] = {}


def _role(kind: type) -> int:
    if issubclass(kind, ts.Setting):
        return _SETTING
    if issubclass(kind, (ts.VariableOverride, ts.Bind, ts.Signature, ts.For, ts.If)):
        return _ENTRY
    return _NEITHER if issubclass(kind, (syntax.Ident, ts.TypeSpec)) else _EXPRESSION


def _parts(node: ts.Node) -> tuple[list[ts.Expr], list[ts.Node]]:
    """The expressions of a statement or entry itself, and the entries of its body (which
    :meth:`_Checker.statement` walks next), in order."""
    expressions: list[ts.Expr] = []
    entries: list[ts.Node] = []
    roles = _ROLES
    for child in node.children():
        role = roles.get(type(child))
        if role is None:
            role = roles[type(child)] = _role(type(child))
        if role == _EXPRESSION:
            expressions.append(child)
        elif role == _SETTING:
            expressions.append(child.value)  # type: ignore[attr-defined]
        elif role == _ENTRY:
            entries.append(child)
    return expressions, entries


_RULES: dict[type, Callable[[_Checker, Any, _Scope], Type]] = {
    ex.Literal: _Checker.literal,
    ex.Interpolated: _Checker.interpolated,
    ex.Variable: _Checker.variable,
    ex.ListExpr: _Checker.list_,
    ex.ConstantList: _Checker.constant,
    ex.MapExpr: _Checker.map_,
    ex.Index: _Checker.index,
    ex.Attribute: _Checker.attribute,
    ex.Call: _Checker.call,
    ex.Unary: _Checker.unary,
    ex.Binary: _Checker.binary,
    ex.Conditional: _Checker.conditional,
    ex.ListFor: _Checker.list_for,
    ex.MapFor: _Checker.map_for,
}
