"""A Pygments lexer for .gcomp specs: ``pygmentize -l gcomp``, Sphinx, MkDocs, Jupyter ...

Registered through the ``pygments.lexers`` entry point of the package (``pip install
graphdsl[highlight]``). Its words and patterns come from :mod:`graphdsl.lang.words`, which reads them
from the grammar, the schema and the template modules. Keywords are contextual in the grammar; the
lexer follows the common cases: a name before ``=`` is a key (``signature = "serving_default"`` in a
source's options), one before ``[`` the namespace of a reference, one before ``:`` a map key, one
before ``(`` a function, and the name after ``source``, ``let``, ``copy``, ``signature``, ``param``,
``set``, ``block``, ``use``, ``output`` or ``for`` the name it defines. Templates: the types of
parameters (``param n: int``, ``block b(x: list[ref])``), the operators of expressions, and the
``{...}`` a string interpolates, lexed as an expression.
"""

from __future__ import annotations

import re

from pygments.lexer import RegexLexer, bygroups, default, include, words
from pygments.token import (Comment, Error, Keyword, Name, Number, Operator, Punctuation, String,
                            Whitespace)

from graphdsl.lang.words import words as language_words

_WORDS = language_words()
_NAME = re.sub(r"(?<!\\)\((?!\?)", "(?:", _WORDS.name)  # its groups would shift those of bygroups
_ESCAPES = "[" + re.escape(_WORDS.escapes) + "]"
_OPEN, _CLOSE = (re.escape(c) for c in _WORDS.interpolation)
# A number's sign is its own only where no operand ends just before it (`i-1` is a subtraction).
_SIGNED = r"(?<![\w)\]])"

# How the name a definition keyword is followed by shows.
_DEFINED = {"source": Name.Variable, "alias": Name.Variable, "namespace": Name.Namespace,
            "signature": Name.Function, "parameter": Name.Variable, "variable": Name.Variable,
            "block": Name.Function, "output": Name.Variable}
# Definitions whose name is followed by a type: `param NAME: TYPE`; `block NAME(NAME: TYPE, ...)`.
_TYPED = {"param": ":", "block": "("}

__all__ = ["GcompLexer"]


def _definitions() -> list[tuple[str, object, str] | tuple[str, object]]:
    rules: list[tuple[str, object, str] | tuple[str, object]] = []
    for keyword, what in _WORDS.definitions.items():
        if keyword in _TYPED:
            mark = re.escape(_TYPED[keyword])
            state = "type" if keyword == "param" else "parameters"
            rules.append((rf"\b({keyword})(\s+)({_NAME})(\s*)({mark})",
                          bygroups(Keyword, Whitespace, _DEFINED[what], Whitespace, Punctuation), state))
        rules.append((rf"\b({keyword})(\s+)({_NAME})",
                      bygroups(Keyword, Whitespace, _DEFINED[what])))
    return rules


class GcompLexer(RegexLexer):
    """Highlights graphdsl's .gcomp specs, templates included."""

    name = "graphdsl"
    aliases = ["gcomp", "graphdsl"]
    filenames = ["*.gcomp"]
    mimetypes = ["text/x-gcomp"]

    tokens = {
        "root": [
            include("blank"),
            *_definitions(),
            include("expression"),
        ],
        "blank": [
            (r"[ \t\r\n\f]+", Whitespace),
            (_WORDS.comment, Comment.Single),
        ],
        "expression": [
            ('"', String.Double, "string"),
            (_SIGNED + _WORDS.float, Number.Float),
            (_SIGNED + _WORDS.integer, Number.Integer),
            (rf"{_NAME}(?=\s*\[)", Name.Namespace),
            (rf"{_NAME}(?=\s*=(?![=>]))", Name.Attribute),
            (rf"{_NAME}(?=\s*:)", Name.Label),
            (words(_WORDS.functions, prefix=r"\b", suffix=r"(?=\s*\()"), Name.Builtin),
            (words(_WORDS.keywords, prefix=r"\b", suffix=r"\b"), Keyword),
            (words(_WORDS.operator_words, prefix=r"\b", suffix=r"\b"), Operator.Word),
            (words(_WORDS.constants, prefix=r"\b", suffix=r"\b"), Keyword.Constant),
            (words(_WORDS.kinds, prefix=r"\b", suffix=r"\b"), Name.Builtin),
            (words(_WORDS.modes, prefix=r"\b", suffix=r"\b"), Name.Constant),
            (rf"{_NAME}(?=\s*\()", Name.Function),
            (_NAME, Name),
            (words(_WORDS.operators), Operator),
            ("=", Operator),
            (r"[:,(){}\[\]]", Punctuation),
        ],
        # A type: int, list[ref] ...
        "type": [
            (r"[ \t]+", Whitespace),
            (words(_WORDS.types, prefix=r"\b", suffix=r"\b"), Keyword.Type),
            (r"\[", Punctuation, "#push"),
            (r"\]", Punctuation, "#pop"),
            default("#pop"),
        ],
        # A block's parameters: NAME: TYPE = DEFAULT, ... up to the closing ')'.
        "parameters": [
            include("blank"),
            (rf"({_NAME})(\s*)(:)", bygroups(Name.Variable, Whitespace, Punctuation), "type"),
            (r"\)", Punctuation, "#pop"),
            (r"[(\[{]", Punctuation, "nested"),
            include("expression"),
        ],
        "nested": [
            include("blank"),
            (r"[)\]}]", Punctuation, "#pop"),
            (r"[(\[{]", Punctuation, "#push"),
            include("expression"),
        ],
        "string": [
            (rf"\\{_ESCAPES}", String.Escape),
            (r"\\.?", Error),  # an escape the language does not know
            (_OPEN * 2 + "|" + _CLOSE * 2, String.Escape),  # a brace
            (_OPEN, String.Interpol, "interpolation"),
            (rf'[^"\\\n{_OPEN}{_CLOSE}]+', String.Double),
            (_CLOSE, String.Double),  # alone: a brace in a plain spec (in a template, an error)
            ('"', String.Double, "#pop"),
            (r"\n", Error, "#pop"),  # a string ends on its line
        ],
        # The expression of a template's string, in {...} (maps nest; no strings inside).
        "interpolation": [
            (r"[ \t\f]+", Whitespace),
            (_CLOSE, String.Interpol, "#pop"),
            (_OPEN, Punctuation, "braces"),
            ('"', Error, "#pop:2"),  # the string ends before its '}'
            (r"\n", Error, "#pop:2"),
            include("expression"),
        ],
        "braces": [
            (r"[ \t\f]+", Whitespace),
            (_CLOSE, Punctuation, "#pop"),
            (_OPEN, Punctuation, "#push"),
            ('["\n]', Error, "#pop"),
            include("expression"),
        ],
    }
