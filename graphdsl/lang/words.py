"""The words and token patterns of the .gcomp language by class, for highlighters.

The Pygments lexer (:mod:`graphdsl.lang.highlight`) and the TextMate grammar (``editors/generate.py``)
take their word lists and patterns from here, and this module reads them from the grammar
(:mod:`graphdsl.lang.grammar`: keywords of plain specs and of templates, operators, the patterns of
names, numbers, strings and comments), the schema (:mod:`graphdsl.lang.schema`: source and export
kinds, entry keys, variable modes) and the template modules (:mod:`graphdsl.lang.params`: parameter
types and constraints; :mod:`graphdsl.lang.functions`: the functions of expressions), so that no
highlighter holds a copy that could drift from the language. No TensorFlow, no Pygments.
"""

from __future__ import annotations

import functools
import re
import string
from dataclasses import dataclass

from lark.lexer import PatternStr

from graphdsl.lang import grammar, schema


@dataclass(frozen=True)
class Words:
    """What a highlighter tells apart. Word lists are in a stable order; patterns are Python
    regular expressions (also valid in the Oniguruma dialect TextMate grammars use)."""

    keywords: tuple[str, ...]  # start a statement or an entry, or join one: graphdsl, source, from, param, for ...
    operator_words: tuple[str, ...]  # keywords that join expressions: and, or, not, in
    constants: tuple[str, ...]  # keywords that are values: true, false
    kinds: tuple[str, ...]  # source and export kinds: graphdef, savedmodel, python ...
    entries: tuple[str, ...]  # keys of source options and of copy, export and signature entries
    modes: tuple[str, ...]  # variable modes: init, value
    types: tuple[str, ...]  # a template's parameter types: int, float, ..., ref (list[T], map[T])
    functions: tuple[str, ...]  # the functions of a template's expressions: range, len, ...
    operators: tuple[str, ...]  # the operators of expressions, longest first: '==', '=>', '//', '+' ...
    name: str  # a name
    integer: str
    float: str
    comment: str  # from '#' to the end of the line
    escapes: str  # the characters a backslash escapes inside a string: '"', '\\', 'n', 't'
    interpolation: tuple[str, str]  # what opens and closes an expression in a template's string: '{', '}'
    # Keywords followed by the name they define, and what that name is: "source", "alias",
    # "namespace" or "signature".
    definitions: dict[str, str]


# What the name after each of these keywords is (a keyword the grammar no longer has is left out).
_DEFINITIONS = {"source": "source", "let": "alias", "copy": "namespace", "signature": "signature",
                "param": "parameter", "set": "variable", "block": "block", "use": "namespace",
                "output": "output", "for": "variable"}
# Punctuation that is not an operator: brackets, separators and the '=' of an entry.
_PUNCTUATION = frozenset("()[]{},:=")


@functools.cache
def words() -> Words:
    """The words of the language, read once from the grammar and the schema."""
    from graphdsl.lang import functions, params, template_parser  # template modules: off the import path of plain specs

    plain, template = grammar.words(), grammar.words("template")
    values = {k for k in template.keywords if k in template.value_keywords}
    # Keywords of expressions alone (never starting a statement or an entry): and, or, not, in.
    expression = {template.keyword_terminals[t] for t in grammar.expression_terminals()
                  if t in template.keyword_terminals}
    starting = {template.keyword_terminals[t] for t in template.statement_start if t in template.keyword_terminals}
    operator_words = {k for k in expression - starting - values if k not in plain.keywords}
    keywords = _unique([*plain.keywords, *template.keywords])
    terminals = {t.name: t.pattern.to_regexp() for t in grammar.load().terminals}
    literal = [t.pattern.value for t in grammar.load("template").terminals
               if isinstance(t.pattern, PatternStr) and not t.pattern.value.isidentifier()]
    entries: list[str] = []
    for kind in schema.SOURCE_KINDS.values():
        entries.extend(kind.option_names)
    entries.extend(e.key for e in schema.COPY_ENTRIES)
    for export in schema.EXPORT_KINDS.values():
        entries.extend(export.entry_names)
    entries.extend(e.key for e in schema.SIGNATURE_ENTRIES)
    entries.extend(params.CONSTRAINTS)
    return Words(
        keywords=tuple(k for k in keywords if k not in values and k not in operator_words),
        operator_words=tuple(k for k in keywords if k in operator_words),
        constants=tuple(k for k in keywords if k in values),
        kinds=_unique([*schema.SOURCE_KINDS, *schema.EXPORT_KINDS]),
        entries=_unique(entries),
        modes=tuple(schema.VARIABLE_MODES),
        types=tuple(params.BLOCK_PARAM_TYPES),
        functions=tuple(functions.FUNCTIONS),
        operators=tuple(sorted((o for o in literal if o not in _PUNCTUATION), key=lambda o: (-len(o), o))),
        name=terminals["NAME"],
        integer=terminals["INT"],
        float=terminals["FLOAT"],
        comment=terminals["COMMENT"],
        escapes=_escapes(terminals["STRING"]),
        interpolation=template_parser.INTERPOLATION,
        definitions={k: v for k, v in _DEFINITIONS.items() if k in keywords},
    )


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _escapes(string_pattern: str) -> str:
    """The characters that may follow a backslash in a string, asked of the string pattern itself."""
    pattern = re.compile(string_pattern)
    return "".join(c for c in string.printable if pattern.fullmatch(f'"\\{c}"'))
