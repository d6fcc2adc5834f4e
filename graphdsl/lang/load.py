"""The front end in one call: read, parse, expand (a template) and check a spec (no TensorFlow).

``load_spec`` = :func:`graphdsl.lang.expand.load`: a plain spec is
:func:`graphdsl.lang.parser.parse_file` + :func:`graphdsl.lang.check.check`; a template is expanded
for its parameters' values first.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from graphdsl.lang.syntax import Spec
from graphdsl.lang.check import check
from graphdsl.lang.expand import DEFAULT_MAX_STATEMENTS, load
from graphdsl.lang.params import ParamValues
from graphdsl.lang.parser import parse, parse_file

__all__ = ["Spec", "check", "load_spec", "parse", "parse_file"]


def load_spec(spec: str | os.PathLike[str], path: str = "<string>", *,
              params: Mapping[str, Any] | ParamValues | None = None,
              max_statements: int = DEFAULT_MAX_STATEMENTS) -> Spec:
    """Parse and check a spec given as a file path or as text; raise SpecSyntaxError or SpecError.

    A ``PathLike`` is always a file. A ``str`` is spec text when it holds a newline (a spec has
    at least a version line and a copy), otherwise a file path. ``path`` names text in messages.
    A template is expanded for ``params`` (its parameters' values; the defaults for the others)
    into the plain spec returned; ``max_statements`` bounds what it makes (ParamError for a bad
    value).
    """
    return load(spec, path, params=params, max_statements=max_statements).spec
