"""The front end for any spec: read, parse, expand (a template) and check it, in :func:`load`.

A plain spec is parsed (:mod:`graphdsl.lang.parser`) and checked (:func:`graphdsl.lang.check.check`).
A template is parsed (:mod:`graphdsl.lang.template_parser`), then expanded by
:mod:`graphdsl.lang.expander` (its includes, types and parameters, then :class:`Expander`) into a
plain :class:`~graphdsl.lang.syntax.Spec`, which is checked like any spec.

The template machinery (expressions, parameters, includes, the template parser and the expander)
is imported only once a spec is found to be a template, or parameter values are given: a plain
spec's ``graphdsl check`` pays for none of it (a fifth of its start).
:class:`Expander`, :class:`Frame` and :class:`GeneratedSpan` are still found here, imported on
first use. No TensorFlow here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from graphdsl.errors import SourceFile, SpecSyntaxError
from graphdsl.lang import parser, syntax
from graphdsl.lang.check import StatementChecks, check

if TYPE_CHECKING:
    from graphdsl.lang import template_syntax as ts
    from graphdsl.lang.expander import Expander as Expander, Frame as Frame, GeneratedSpan as GeneratedSpan
    from graphdsl.lang.params import Origin, ParamValues

# A template makes at most this many statements and body entries, and its loops run at most this
# many iterations, unless told otherwise (`--max-statements N`, `max_statements=N`).
DEFAULT_MAX_STATEMENTS = 100_000


@dataclass
class Expansion:
    """A spec ready to build, and how it was made: the parameters' values and their origins."""

    spec: syntax.Spec
    params: dict[str, Any]
    origins: dict[str, Origin]
    template: bool  # False for a plain spec


def load(spec: str | os.PathLike[str], path: str = "<string>", *,
         params: Mapping[str, Any] | ParamValues | None = None,
         max_statements: int = DEFAULT_MAX_STATEMENTS) -> Expansion:
    """Read, parse, expand (for a template) and check a spec given as a file path or as text.

    A ``PathLike`` is always a file; a ``str`` is spec text when it holds a newline, else a path.
    ``params`` are the values of the template's parameters (a mapping, or :class:`ParamValues`
    with their origins). Raises SpecSyntaxError, SpecError or ParamError; OSError if the file
    cannot be read.
    """
    if isinstance(spec, os.PathLike) or "\n" not in spec:
        file = parser.decode(parser.read_file(spec), os.fspath(spec))
    else:
        file = SourceFile(path, spec)
    return expand_file(file, params, max_statements)


def expand_file(file: SourceFile, params: Mapping[str, Any] | ParamValues | None = None,
                max_statements: int = DEFAULT_MAX_STATEMENTS) -> Expansion:
    """:func:`load` of a :class:`SourceFile` already read."""
    given = _given(params) if params else None  # before parsing: a bad value is told first
    statements = StatementChecks()
    parsed = parse_any(file, statements)
    if isinstance(parsed, syntax.Spec):
        if given:
            from graphdsl.lang.params import bind

            bind([], given)  # a plain spec has no parameter: any value given is unknown
        return Expansion(check(parsed, statements), {}, {}, template=False)
    from graphdsl.lang.expander import expand

    return expand(parsed, given or _given({}), max_statements)


def _given(params: Mapping[str, Any] | ParamValues) -> ParamValues:
    from graphdsl.lang.params import ParamValues

    return params if isinstance(params, ParamValues) else ParamValues.from_mapping(params)


def parse_any(file: SourceFile, statements: StatementChecks | None = None) -> syntax.Spec | ts.Template:
    """The tree of any spec, a plain one or a template, as
    :func:`graphdsl.lang.template_parser.parse_any` gives it, without importing the template parser
    (nor lark) for a text that has no template line and parses as a plain spec. ``statements``
    checks each statement of a plain spec as it is made (see :func:`graphdsl.lang.check.check`)."""
    if parser.has_template_line(file.text):
        from graphdsl.lang.template_parser import parse_any

        return parse_any(file)
    try:
        return parser.parse_source(file, statements)
    except SpecSyntaxError as plain_error:
        from graphdsl.lang.template_parser import template_instead

        return template_instead(file, plain_error)


def __getattr__(name: str) -> Any:
    # The expander's classes, here since before it had a module of its own.
    if name in ("Expander", "Frame", "GeneratedSpan"):
        from graphdsl.lang import expander

        return getattr(expander, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
