"""The front end in one call: read, parse and check a spec (no TensorFlow).

``load_spec`` = :func:`graphdsl.lang.parser.parse_file` + :func:`graphdsl.lang.check.check`.
"""

from __future__ import annotations

import os

from graphdsl.lang.syntax import Spec
from graphdsl.lang.check import check
from graphdsl.lang.parser import parse, parse_file

__all__ = ["Spec", "check", "load_spec", "parse", "parse_file"]


def load_spec(spec: str | os.PathLike[str], path: str = "<string>") -> Spec:
    """Parse and check a spec given as a file path or as text; raise SpecSyntaxError or SpecError.

    A ``PathLike`` is always a file. A ``str`` is spec text when it holds a newline (a spec has
    at least a version line and a copy), otherwise a file path. ``path`` names text in messages.
    """
    if isinstance(spec, os.PathLike) or "\n" not in spec:
        return check(parse_file(spec))
    return check(parse(spec, path))
