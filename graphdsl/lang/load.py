"""The front end in one call: read, parse, expand (a template) and check a spec (no TensorFlow).

``load_spec`` reads a file and ``load_spec_text`` takes text held in memory; both go through
:func:`graphdsl.lang.expand.expand_file`: a plain spec is parsed (:mod:`graphdsl.lang.parser`) and
checked (:func:`graphdsl.lang.check.check`); a template is expanded for its parameters' values first.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Mapping

from graphdsl.errors import SourceFile
from graphdsl.lang.check import check
from graphdsl.lang.expand import DEFAULT_MAX_STATEMENTS, expand_file
from graphdsl.lang.parser import decode, parse, parse_file, read_file
from graphdsl.lang.syntax import Spec

if TYPE_CHECKING:  # a plain spec's load imports nothing of parameters
    from graphdsl.lang.params import ParamValues

__all__ = ["Spec", "check", "load_spec", "load_spec_text", "parse", "parse_file"]


def load_spec(path: str | os.PathLike[str], *,
              params: Mapping[str, Any] | ParamValues | None = None,
              max_statements: int = DEFAULT_MAX_STATEMENTS) -> Spec:
    """Read, parse and check the spec file at ``path``; raise SpecSyntaxError or SpecError.

    A ``str`` is always a path (spec text goes to :func:`load_spec_text`). Relative source paths
    in the spec are relative to its file. A template is expanded for ``params`` (its parameters'
    values; the defaults for the others) into the plain spec returned; ``max_statements`` bounds
    what it makes (ParamError for a bad value). OSError if the file cannot be read.
    """
    if isinstance(path, str) and "\n" in path and not os.path.exists(path):
        # Text passed by mistake: say so rather than report a missing file named like a spec.
        raise TypeError("load_spec takes a file path; give spec text to load_spec_text")
    file = decode(read_file(path), os.fspath(path))
    return expand_file(file, params, max_statements).spec


def load_spec_text(text: str, name: str = "<string>", *,
                   params: Mapping[str, Any] | ParamValues | None = None,
                   max_statements: int = DEFAULT_MAX_STATEMENTS) -> Spec:
    """Parse and check spec ``text`` (a template is expanded); ``name`` names it in error messages.

    Relative source paths in the spec are relative to the working directory.
    """
    return expand_file(SourceFile(name, text), params, max_statements).spec
