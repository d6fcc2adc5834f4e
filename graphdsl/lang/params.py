"""A template's parameters: the values given for them, where each came from, and their binding.

Values come, later ones winning, from the declarations' defaults, from ``--params FILE.yaml``
(several), from ``--param NAME=VALUE`` (a YAML literal) and from the Python API
(``compose(spec, params={...})``). Each value keeps its :class:`Origin`, so that an error can say
where it came from: the YAML file with its line and column (drawn with a caret), or the
command-line argument. :func:`bind` checks them against the declarations (names, types,
``min``/``max``/``one_of`` and ``check`` constraints) and returns the parameters' values; every
mistake is a :class:`~graphdsl.errors.ParamError` naming the parameter, what was expected, the
value and its origin. The one YAML reader also serves ``graphdsl batch``, whose files may set a
source's option with a ``SOURCE.OPTION`` key (``options=True``). No TensorFlow here.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, NoReturn

from graphdsl.errors import ParamError, SourceFile, Span, SpecError, clipped, did_you_mean
from graphdsl.lang import expr as ex
from graphdsl.lang.builder import MAX_NESTING
from graphdsl.lang.evaluate import equal, evaluate
from graphdsl.lang import template_syntax as ts

# The types a parameter may have; a block's parameters may also be references ("ref").
PARAM_TYPES = ("int", "float", "bool", "string", "list", "map")
BLOCK_PARAM_TYPES = PARAM_TYPES + ("ref",)
_CONTAINERS = ("list", "map")
_NOUNS = {"int": ("an int", "ints"), "float": ("a float", "floats"), "bool": ("a bool", "bools"),
          "string": ("a string", "strings"), "list": ("a list", "lists"), "map": ("a map", "maps"),
          "ref": ("a reference", "references")}
CONSTRAINTS = ("min", "max", "one_of")
# A key of a batch's params file that sets a source's option: SOURCE.OPTION (linear.seed).
OPTION_KEY = re.compile(rf"{ex.IDENTIFIER.pattern}\.{ex.IDENTIFIER.pattern}")


@dataclass(frozen=True)
class Origin:
    """Where a value came from: words for messages, and the place to draw when there is one.

    ``span`` is the value's place (in a YAML file, or a template's default); ``key_span`` the
    place of its name (a YAML key).
    """

    text: str
    span: Span | None = None
    key_span: Span | None = None
    default: bool = False


@dataclass(frozen=True)
class Given:
    """A value given for a parameter, and where it came from."""

    value: Any
    origin: Origin


class ParamValues:
    """Values given for parameters by name, in order; :meth:`merged` lets later ones win."""

    def __init__(self, items: Mapping[str, Given] | None = None) -> None:
        self.items: dict[str, Given] = dict(items or {})

    def __bool__(self) -> bool:
        return bool(self.items)

    def merged(self, *later: ParamValues) -> ParamValues:
        """These values, overridden by those of ``later`` in order."""
        items = dict(self.items)
        for values in later:
            items.update(values.items)
        return ParamValues(items)

    def values(self) -> dict[str, Any]:
        """The values by name, as plain data (lists, not tuples)."""
        return {name: plain(item.value) for name, item in self.items.items()}

    def split(self) -> tuple[ParamValues, ParamValues]:
        """``(template parameters, SOURCE.OPTION values)``: the names without a dot, and those with."""
        return (ParamValues({n: g for n, g in self.items.items() if "." not in n}),
                ParamValues({n: g for n, g in self.items.items() if "." in n}))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], where: str = "params= of the Python API") -> ParamValues:
        """Values given as a Python mapping (the API's ``params=``)."""
        items: dict[str, Given] = {}
        for name, value in mapping.items():
            if not isinstance(name, str):
                raise ParamError(f"a parameter's name is a string, not {_shown(name)} ({where})")
            # Shown once it is known to be a value of the language (a finite one: not a list
            # that holds itself, no integer too long to print).
            value = normalize(value, name, Origin(f"{where} (parameter {name})"))
            origin = Origin(f"{where} ({name}={clipped(ex.show(value), 80)})")
            items[name] = Given(value, origin)
        return cls(items)

    @classmethod
    def from_command_line(cls, arguments: Iterable[str], option: str = "--param") -> ParamValues:
        """Values of ``--param NAME=VALUE`` arguments, VALUE a YAML literal; ``option`` is the
        option's name as the command line spells it, for messages."""
        items: dict[str, Given] = {}
        for argument in arguments:
            import yaml  # here: a command line without --param does not pay for importing it

            name, sep, text = argument.partition("=")
            origin = Origin(f"the command-line argument {option} {clipped(argument, 80)}")
            if not sep or not ex.IDENTIFIER.fullmatch(name):
                raise ParamError(f"{option} takes NAME=VALUE, not '{argument}'",
                                 hint=f"e.g. {option} layers=12 (VALUE is a YAML literal: 12, 0.5, true, [1, 2], value)")
            try:
                value = yaml.load(text, Loader=_loader()) if text.strip() else ""
            except yaml.YAMLError as error:
                raise ParamError(f"the value of parameter '{name}' is not YAML: {_yaml_problem(error)} "
                                 f"(from {origin.text})",
                                 hint=_escape_hint(error) if isinstance(error, yaml.reader.ReaderError)
                                 else f'quote it if it is a string: {option} name=\'"a: b"\'') from None
            items[name] = Given(normalize(value, name, origin), origin)
        return cls(items)

    @classmethod
    def from_yaml_file(cls, path: str | os.PathLike[str], *, options: bool = False) -> ParamValues:
        """Values of a ``--params`` YAML file: a mapping from parameter names to values.

        With ``options``, a key may also be ``SOURCE.OPTION``: a source's option (``graphdsl
        batch``); :meth:`split` parts them from the template's parameters.
        """
        from graphdsl.lang.parser import decode, read_file

        name = os.fspath(path)
        text = decode(read_file(path), name, "the params file", ParamError).text
        return cls.from_yaml_text(text, name, options=options)

    @classmethod
    def from_yaml_text(cls, text: str, path: str, *, options: bool = False) -> ParamValues:
        """Values of YAML text read from ``path``; each value keeps its line and column.

        ``options``: as in :meth:`from_yaml_file`.
        """
        import yaml

        file = SourceFile(path, text)
        loader = None
        try:
            loader = _loader()(file.text)  # it refuses some characters at once
            root = loader.get_single_node()
            if root is None:
                return cls()
            if not isinstance(root, yaml.MappingNode):
                raise ParamError(f"a params file maps parameter names to values, not {_node_kind(root)}",
                                 _span(file, root), "write one NAME: VALUE per line")
            items: dict[str, Given] = {}
            for key_node, value_node in root.value:
                key = loader.construct_object(key_node, deep=True)
                key_span = _span(file, key_node)
                _check_key(key, key_span, options)
                if key in items:
                    first = items[key].origin.key_span
                    raise ParamError(f"parameter '{key}' is given twice in this file", key_span,
                                     f"the first is at line {first.line}" if first else None)
                value_span = _span(file, value_node)
                origin = Origin(f"{path}:{value_span.line}:{value_span.column}", value_span, key_span)
                value = loader.construct_object(value_node, deep=True)
                items[key] = Given(normalize(value, key, origin), origin)
        except yaml.reader.ReaderError as error:  # a character YAML does not take, anywhere in the file
            raise ParamError(f"the params file is not valid YAML: {_yaml_problem(error)}", _at(file, error.position),
                             _escape_hint(error)) from None
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            span = _at(file, mark.index) if mark is not None else None
            raise ParamError(f"the params file is not valid YAML: {_yaml_problem(error)}", span) from None
        finally:
            if loader is not None:
                loader.dispose()
        return cls(items)


def _check_key(key: Any, span: Span, options: bool) -> None:
    """A params file's key is a parameter's name (or, with ``options``, ``SOURCE.OPTION``)."""
    if isinstance(key, str) and ex.IDENTIFIER.fullmatch(key):
        return
    if isinstance(key, str) and OPTION_KEY.fullmatch(key):
        if options:
            return
        raise ParamError(f"'{key}' is not a parameter name", span,
                         "a parameter name is letters, digits and '_'; SOURCE.OPTION keys set a "
                         "source's option in the params files of graphdsl batch only")
    raise ParamError(f"{key!r} is not a parameter name", span,
                     "a parameter name is letters, digits and '_'"
                     + (", or SOURCE.OPTION for a source's option" if options else ""))


def _loader() -> Any:
    """A YAML loader that also reads ``1e-3`` as a float (YAML 1.2 does; PyYAML's 1.1 wants ``1.0e-3``)."""
    from graphdsl import yaml_input

    global _LOADER
    if _LOADER is None:
        class Loader(yaml_input.Loader):
            pass

        Loader.add_implicit_resolver(
            "tag:yaml.org,2002:float",
            re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
            list("-+0123456789."))
        _LOADER = Loader
    return _LOADER


_LOADER: Any = None


def _span(file: SourceFile, node: Any) -> Span:
    # By the marks' offsets: their lines and columns are YAML's, which also ends a line at U+0085,
    # U+2028 and U+2029, where a spec (and an editor) does not.
    (line, column), (end_line, end_column) = file.position(node.start_mark.index), file.position(node.end_mark.index)
    if end_line != line:  # a value over several lines: its first line
        return Span(file.path, line, column, line, column + 1, file)
    return Span(file.path, line, column, end_line, max(end_column, column + 1), file)


def _at(file: SourceFile, offset: int) -> Span:
    """The character at ``offset`` of ``file``'s text (where YAML says a mistake is)."""
    line, column = file.position(min(offset, len(file.text)))
    return Span(file.path, line, column, line, column + 1, file)


def _node_kind(node: Any) -> str:
    import yaml

    return "a list" if isinstance(node, yaml.SequenceNode) else "a single value"


def _yaml_problem(error: Exception) -> str:
    import yaml

    from graphdsl import yaml_input

    if isinstance(error, yaml.reader.ReaderError):  # its text names "<unicode string>" and an offset
        return yaml_input.refused_character(error)
    return str(getattr(error, "problem", None) or error).strip()


def _escape_hint(error: Any) -> str:
    from graphdsl import yaml_input

    return yaml_input.escape_hint(error)


# ---------------------------------------------------------------------------------------------
# Values from outside: made into the template language's values
# ---------------------------------------------------------------------------------------------


def normalize(value: Any, name: str, origin: Origin, depth: int = 0) -> Any:
    """``value`` (from YAML or Python) as a value of the language: lists become tuples.

    A value the language has no type for (null, a date, a set ...), or nested more than
    MAX_NESTING deep (a list that holds itself is nested for ever), is a ParamError.
    """
    if depth > MAX_NESTING:
        raise ParamError(f"parameter '{name}' has values nested more than {MAX_NESTING} deep" + _from(origin),
                         origin.span, "flatten the value; a list or map may not hold itself")
    if isinstance(value, str):
        _text(value, name, origin)
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -ex.MAX_INT - 1 <= value <= ex.MAX_INT:
            _given_error(name, "an integer that fits in 64 bits", value, origin)
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            _given_error(name, "a finite number", value, origin)
        return value
    if isinstance(value, (list, tuple)):
        return tuple(normalize(v, name, origin, depth + 1) for v in value)
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                _given_error(name, "a map with string keys", value, origin)
            _text(key, name, origin)
            result[key] = normalize(item, name, origin, depth + 1)
        return result
    if value is None:
        raise ParamError(f"parameter '{name}' has no value (null)" + _from(origin), origin.span,
                         f"give it a value, e.g. {name}: 3 (an int, a float, a bool, a string, a list or a map)")
    raise ParamError(f"parameter '{name}' cannot be a {type(value).__name__} ({_shown(value)})" + _from(origin),
                     origin.span, "a value is an int, a float, a bool, a string, a list or a map")


def _text(text: str, name: str, origin: Origin) -> None:
    """Refuse a string no spec can hold: a carriage return ends a line of a spec, in a string too,
    so the plain spec a template makes (graphdsl expand) could not say it."""
    if "\r" in text:
        raise ParamError(f"parameter '{name}' holds a carriage return ({_shown(text)})" + _from(origin), origin.span,
                         "a spec's strings cannot hold one: a line of a spec ends there; remove it")


def plain(value: Any) -> Any:
    """A value of the language as plain data for YAML or JSON: tuples become lists (in maps too)."""
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def _given_error(name: str, expected: str, value: Any, origin: Origin) -> NoReturn:
    raise ParamError(f"parameter '{name}' must be {expected}, not {_shown(value)}" + _from(origin), origin.span)


def _shown(value: Any) -> str:
    """``value`` in a message: its repr, cut short; an integer too long to print, by its size."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 1000:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1:,} digits"
    return clipped(repr(value), 80)


def _from(origin: Origin) -> str:
    """`` (from ...)`` when the message's place does not show where the value came from."""
    return "" if origin.span is not None else f" (from {origin.text})"


# ---------------------------------------------------------------------------------------------
# Types
# ---------------------------------------------------------------------------------------------


def check_type(spec: ts.TypeSpec, allowed: tuple[str, ...] = PARAM_TYPES) -> None:
    """Fail unless ``spec`` names a known type (``list[T]`` and ``map[T]`` naming one too)."""
    name = spec.name.name
    if name not in allowed:
        raise SpecError(f"unknown type '{name}'", spec.name.span,
                        did_you_mean(name, allowed) or f"a type is one of: {', '.join(allowed)}")
    if spec.item is not None:
        if name not in _CONTAINERS:
            raise SpecError(f"'{name}' takes no item type", spec.item.span, f"write {name}")
        check_type(spec.item, allowed)


def type_words(spec: ts.TypeSpec | None) -> str:
    """A type in words: "an int", "a list of ints", "a map of lists of strings"."""
    if spec is None:
        return "any value"
    one, many = _NOUNS[spec.name.name]
    if spec.item is None:
        return one
    return f"{one} of {_plural(spec.item)}"


def _plural(spec: ts.TypeSpec) -> str:
    one, many = _NOUNS[spec.name.name]
    return many if spec.item is None else f"{many} of {_plural(spec.item)}"


def conform(value: Any, spec: ts.TypeSpec | None) -> tuple[Any, str | None]:
    """``(value as the type, None)``, or ``(None, what is wrong)``; an int is a float where one is wanted.

    What is wrong reads after "must be TYPE": ``not the string "a"``, or ``item 1 is the string "a"``.
    """
    converted, problem = _conform(value, spec)
    if problem is None:
        return converted, None
    where, bad = problem
    return None, (f"{where} is {ex.describe(bad)}" if where else f"not {ex.describe(bad)}")


_IS_TYPE = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, float),
    "bool": lambda v: isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "list": lambda v: isinstance(v, tuple),
    "map": lambda v: isinstance(v, dict),
    "ref": lambda v: isinstance(v, (ex.Name, ex.Reference)),
}


def _conform(value: Any, spec: ts.TypeSpec | None) -> tuple[Any, tuple[str, Any] | None]:
    if spec is None:
        return value, None
    name = spec.name.name
    if name == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value), None
    if not _IS_TYPE[name](value):
        return None, ("", value)
    if spec.item is None:
        return value, None
    pairs: Iterable[tuple[Any, Any]] = enumerate(value) if isinstance(value, tuple) else value.items()
    result = {}
    for key, item in pairs:
        converted, problem = _conform(item, spec.item)
        if problem is not None:
            where = f"item {key}" if isinstance(value, tuple) else f"key {ex.quote(str(key))}"
            return None, (f"{where}{', ' + problem[0] if problem[0] else ''}", problem[1])
        result[key] = converted
    return (tuple(result.values()) if isinstance(value, tuple) else result), None


# ---------------------------------------------------------------------------------------------
# Binding
# ---------------------------------------------------------------------------------------------


class _ParamEnvironment(ex.Environment):
    """Declarations name no spec element: a word no parameter binds is a mistake."""

    def __init__(self, scope: ex.Scope) -> None:
        self.scope = scope

    def word(self, name: str, span: Span) -> ex.Name:
        raise SpecError(f"unknown name '{name}'", span,
                        did_you_mean(name, self.scope.names(), "the parameter")
                        or "a parameter's default and constraints name only parameters declared "
                        "above it (and all of them in a check)")


def bind(declared: list[ts.Param], given: ParamValues) -> tuple[dict[str, Any], dict[str, Origin]]:
    """The value of every declared parameter, and where each came from.

    Raises ParamError for an unknown or missing parameter, a value of the wrong type, or one that
    fails a constraint; SpecError for a mistake in the declarations themselves.
    """
    by_name = {p.name.name: p for p in declared}
    for name, item in given.items.items():
        if name not in by_name:
            raise ParamError(f"unknown parameter '{name}'" + _from(item.origin),
                             item.origin.key_span or item.origin.span,
                             did_you_mean(name, by_name, "the parameter")
                             or (f"the spec's parameters: {', '.join(by_name)}" if by_name
                                 else "the spec declares no parameter"))
    values: dict[str, Any] = {}
    origins: dict[str, Origin] = {}
    overridden: list[tuple[ts.Param, Any, Origin]] = []  # defaults a value replaced: checked all the same
    scope = ex.Scope(values=values)
    env = _ParamEnvironment(scope)
    for param in declared:
        check_type(param.type)
        name = param.name.name
        default: Given | None = None
        if param.default is not None:
            span = param.default.span
            default = Given(evaluate(param.default, ex.Scope(scope), env),
                            Origin(f"the default at {span}", span, default=True))
            default = Given(_typed(param, default), default.origin)
        found = given.items.get(name)
        if found is None:
            if default is None:
                raise ParamError(f"missing parameter '{name}' ({type_words(param.type)})", param.name.span,
                                 f"give it with --param {name}=VALUE, in a --params file, or with "
                                 "params= in the Python API")
            item = default
        else:
            item = found
        if found is not None and default is not None:
            overridden.append((param, default.value, default.origin))
        values[name] = _typed(param, item)
        origins[name] = item.origin
    for param in declared:
        _check_constraints(param, values[param.name.name], origins[param.name.name], scope, env)
    for param, default_value, origin in overridden:
        _check_constraints(param, default_value, origin, scope, env, checks=False)
    return values, origins


def _typed(param: ts.Param, item: Given) -> Any:
    """``item``'s value as the parameter's type; a ParamError that says where it came from if it is not."""
    value, problem = conform(item.value, param.type)
    if problem is None:
        return value
    name = param.name.name
    what = "the default of parameter" if item.origin.default else "parameter"
    separator = ", " if problem.startswith("not ") else ": "
    raise ParamError(f"{what} '{name}' must be {type_words(param.type)}{separator}{problem}" + _from(item.origin),
                     item.origin.span or param.type.span,
                     None if item.origin.span is None or item.origin.default
                     else f"'{name}' is declared at {param.name.span}")


def _check_constraints(param: ts.Param, value: Any, origin: Origin, scope: ex.Scope, env: ex.Environment,
                       checks: bool = True) -> None:
    """``value`` against the parameter's min, max and one_of (and its checks, unless ``checks`` is False:
    a default that a value replaced is checked on its own, not with the others)."""
    name = param.name.name
    seen: dict[str, ts.Setting] = {}
    for entry in param.entries:
        if isinstance(entry, ts.Check):
            if not checks:
                continue
            condition = evaluate(entry.condition, scope, env)
            if not isinstance(condition, bool):
                raise SpecError(f"a check's condition is a bool, not {ex.describe(condition)}", entry.condition.span)
            if not condition:
                message = evaluate(entry.message, scope, env)
                if not isinstance(message, str):
                    raise SpecError(f"a check's message is a string, not {ex.describe(message)}", entry.message.span)
                _violation(name, message, value, origin, entry.span, user=True)
            continue
        assert isinstance(entry, ts.Setting)  # a param's entries are settings and checks
        key = entry.key.name
        if key not in CONSTRAINTS:
            raise SpecError(f"unknown entry '{key}' in a param", entry.key.span,
                            did_you_mean(key, CONSTRAINTS) or "a param takes min, max, one_of and "
                            'check CONDITION, "MESSAGE"')
        if key in seen:
            raise SpecError(f"duplicate '{key}' in this param", entry.key.span, f"the first is at line {seen[key].span.line}")
        seen[key] = entry
        bound = evaluate(entry.value, scope, env)
        if key == "one_of":
            if not isinstance(bound, tuple):
                raise SpecError(f"one_of is a list of the allowed values, not {ex.describe(bound)}", entry.value.span)
            if not any(equal(value, allowed) for allowed in bound):
                close = did_you_mean(value, [v for v in bound if isinstance(v, str)]) if isinstance(value, str) else None
                _violation(name, f"must be one of {', '.join(ex.show(v) for v in bound)}, not {ex.show(value)}",
                           value, origin, entry.span, close)
            continue
        if param.type.name.name not in ("int", "float") or not ex.is_number(bound):
            raise SpecError(f"{key} bounds a number: it applies to an int or float parameter, with a number",
                            entry.span)
        if (key == "min" and value < bound) or (key == "max" and value > bound):
            words = "at least" if key == "min" else "at most"
            _violation(name, f"must be {words} {ex.show(bound)}, not {ex.show(value)}", value, origin, entry.span)


def _violation(name: str, what: str, value: Any, origin: Origin, constraint: Span, hint: str | None = None,
               user: bool = False) -> NoReturn:
    """A constraint failed: drawn at the value when a file holds it, else at the constraint.

    ``what`` is the constraint's words ("must be at most 64, not 100"), or the message of a
    ``check`` (``user``).
    """
    text = f"parameter '{name}' = {ex.show(value)}: {what}" if user else f"parameter '{name}' {what}"
    if origin.span is not None and not origin.default:
        raise ParamError(text, origin.span, hint or f"the constraint is at {constraint}")
    raise ParamError(f"{text} (from {'its default' if origin.default else origin.text})", constraint, hint)
