"""A Pygments lexer for .gcomp specs: ``pygmentize -l gcomp``, Sphinx, MkDocs, Jupyter ...

Registered through the ``pygments.lexers`` entry point of the package (``pip install
graphdsl[highlight]``). Its words and patterns come from :mod:`graphdsl.lang.words`, which reads them
from the grammar and the schema. Keywords are contextual in the grammar; the lexer follows the common
cases: a name before ``=`` is a key (``signature = "serving_default"`` in a source's options), one
before ``[`` the namespace of a reference, one before ``:`` a map key, and the name after
``source``, ``let``, ``copy`` or ``signature`` the name it defines.
"""

from __future__ import annotations

import re

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import (Comment, Error, Keyword, Name, Number, Operator, Punctuation, String,
                            Whitespace)

from graphdsl.lang.words import words as language_words

_WORDS = language_words()
_NAME = _WORDS.name
_ESCAPES = "[" + re.escape(_WORDS.escapes) + "]"

# How the name a definition keyword is followed by shows.
_DEFINED = {"source": Name.Variable, "alias": Name.Variable, "namespace": Name.Namespace,
            "signature": Name.Function}

__all__ = ["GcompLexer"]


class GcompLexer(RegexLexer):
    """Highlights graphdsl's .gcomp specs."""

    name = "graphdsl"
    aliases = ["gcomp", "graphdsl"]
    filenames = ["*.gcomp"]
    mimetypes = ["text/x-gcomp"]

    tokens = {
        "root": [
            (r"[ \t\r\n\f]+", Whitespace),
            (_WORDS.comment, Comment.Single),
            ('"', String.Double, "string"),
            (_WORDS.float, Number.Float),
            (_WORDS.integer, Number.Integer),
            *[(rf"({keyword})(\s+)({_NAME})", bygroups(Keyword, Whitespace, _DEFINED[what]))
              for keyword, what in _WORDS.definitions.items()],
            (rf"{_NAME}(?=\s*\[)", Name.Namespace),
            (rf"{_NAME}(?=\s*=)", Name.Attribute),
            (rf"{_NAME}(?=\s*:)", Name.Label),
            (words(_WORDS.keywords, prefix=r"\b", suffix=r"\b"), Keyword),
            (words(_WORDS.constants, prefix=r"\b", suffix=r"\b"), Keyword.Constant),
            (words(_WORDS.kinds, prefix=r"\b", suffix=r"\b"), Name.Builtin),
            (words(_WORDS.modes, prefix=r"\b", suffix=r"\b"), Name.Constant),
            (_NAME, Name),
            ("=", Operator),
            (r"[:,(){}\[\]]", Punctuation),
        ],
        "string": [
            (rf"\\{_ESCAPES}", String.Escape),
            (r"\\.?", Error),  # an escape the language does not know
            (r'[^"\\\n]+', String.Double),
            ('"', String.Double, "#pop"),
            (r"\n", Error, "#pop"),  # a string ends on its line
        ],
    }
