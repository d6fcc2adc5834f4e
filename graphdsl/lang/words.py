"""The words and token patterns of the .gcomp language by class, for highlighters.

The Pygments lexer (:mod:`graphdsl.lang.highlight`) and the TextMate grammar (``editors/generate.py``)
take their word lists and patterns from here, and this module reads them from the grammar
(:mod:`graphdsl.lang.grammar`: keywords, the patterns of names, numbers, strings and comments)
and the schema (:mod:`graphdsl.lang.schema`: source and export kinds, entry keys, variable modes),
so that no highlighter holds a copy that could drift from the language. No TensorFlow, no Pygments.
"""

from __future__ import annotations

import functools
import re
import string
from dataclasses import dataclass

from graphdsl.lang import grammar, schema


@dataclass(frozen=True)
class Words:
    """What a highlighter tells apart. Word lists are in a stable order; patterns are Python
    regular expressions (also valid in the Oniguruma dialect TextMate grammars use)."""

    keywords: tuple[str, ...]  # start a statement or an entry, or join one: graphdsl, source, from ...
    constants: tuple[str, ...]  # keywords that are values: true, false
    kinds: tuple[str, ...]  # source and export kinds: graphdef, savedmodel, python ...
    entries: tuple[str, ...]  # keys of source options and of copy, export and signature entries
    modes: tuple[str, ...]  # variable modes: init, value
    name: str  # a name
    integer: str
    float: str
    comment: str  # from '#' to the end of the line
    escapes: str  # the characters a backslash escapes inside a string: '"', '\\', 'n', 't'
    # Keywords followed by the name they define, and what that name is: "source", "alias",
    # "namespace" or "signature".
    definitions: dict[str, str]


# What the name after each of these keywords is (a keyword the grammar no longer has is left out).
_DEFINITIONS = {"source": "source", "let": "alias", "copy": "namespace", "signature": "signature"}


@functools.cache
def words() -> Words:
    """The words of the language, read once from the grammar and the schema."""
    found = grammar.words()
    values = {found.keyword_terminals[t] for t in found.value_start if t in found.keyword_terminals}
    terminals = {t.name: t.pattern.to_regexp() for t in grammar.load().terminals}
    entries: list[str] = []
    for kind in schema.SOURCE_KINDS.values():
        entries.extend(kind.option_names)
    entries.extend(e.key for e in schema.COPY_ENTRIES)
    for export in schema.EXPORT_KINDS.values():
        entries.extend(export.entry_names)
    entries.extend(e.key for e in schema.SIGNATURE_ENTRIES)
    return Words(
        keywords=tuple(k for k in found.keywords if k not in values),
        constants=tuple(k for k in found.keywords if k in values),
        kinds=_unique([*schema.SOURCE_KINDS, *schema.EXPORT_KINDS]),
        entries=_unique(entries),
        modes=tuple(schema.VARIABLE_MODES),
        name=terminals["NAME"],
        integer=terminals["INT"],
        float=terminals["FLOAT"],
        comment=terminals["COMMENT"],
        escapes=_escapes(terminals["STRING"]),
        definitions={k: v for k, v in _DEFINITIONS.items() if k in found.keywords},
    )


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _escapes(string_pattern: str) -> str:
    """The characters that may follow a backslash in a string, asked of the string pattern itself."""
    pattern = re.compile(string_pattern)
    return "".join(c for c in string.printable if pattern.fullmatch(f'"\\{c}"'))
