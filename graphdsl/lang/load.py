"""The front end in one call: read, parse and check a spec (no TensorFlow).

``load_spec`` = :func:`graphdsl.lang.parser.parse_file` + :func:`graphdsl.lang.check.check`;
``load_spec_text`` does the same for text held in memory.
"""

from __future__ import annotations

import os

from graphdsl.lang.check import check
from graphdsl.lang.parser import parse, parse_file
from graphdsl.lang.syntax import Spec

__all__ = ["Spec", "check", "load_spec", "load_spec_text", "parse", "parse_file"]


def load_spec(path: str | os.PathLike[str]) -> Spec:
    """Read, parse and check the spec file at ``path``; raise SpecSyntaxError or SpecError.

    A ``str`` is always a path (spec text goes to :func:`load_spec_text`). Relative source paths
    in the spec are relative to its file. OSError if the file cannot be read.
    """
    if isinstance(path, str) and "\n" in path and not os.path.exists(path):
        # Text passed by mistake: say so rather than report a missing file named like a spec.
        raise TypeError("load_spec takes a file path; give spec text to load_spec_text")
    return check(parse_file(path))


def load_spec_text(text: str, name: str = "<string>") -> Spec:
    """Parse and check spec ``text``; ``name`` names it in error messages.

    Relative source paths in the spec are relative to the working directory.
    """
    return check(parse(text, name))
