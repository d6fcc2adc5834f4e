"""The facts of the .gcomp language, written once.

The grammar (``grammar/graphdsl.lark``) says how a spec is written; this module says what its words
mean: which source kinds exist and which options each takes (with their types and defaults), which
file suffixes a source path must have, which entries a copy, an export and a signature take, the
variable modes, the glob characters and the SavedModel defaults. The checker (:mod:`graphdsl.lang.rules`,
:mod:`graphdsl.lang.scope`) is driven by it, and the graph half reads its constants from here
(source loading, the copier's modes, globbing, exports, ``graphdsl run``), so that a fact changes
in one place. The keywords come from the grammar itself: :func:`keywords`.

No TensorFlow, and no Lark at import time.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

SUPPORTED_VERSIONS = (1,)

# SavedModels: the tag set a savedmodel source loads and a savedmodel export writes unless the
# spec says otherwise; the signature a savedmodel source reads, the one run, inspect and graph
# show first, and the one TensorFlow Serving answers a request naming none with.
DEFAULT_TAG = "serve"
DEFAULT_TAGS = (DEFAULT_TAG,)
DEFAULT_SIGNATURE = "serving_default"

# File suffixes: a GraphDef is binary protobuf (".pb") or its text format (".pbtxt"), a source's
# and a frozen graphdef export's alike; a MetaGraph file ends in ".meta" (binary or text).
TEXT_SUFFIX = ".pbtxt"
GRAPHDEF_SUFFIXES = (".pb", TEXT_SUFFIX)
METAGRAPH_SUFFIX = ".meta"
PYTHON_SUFFIX = ".py"
SPEC_SUFFIX = ".gcomp"  # a spec's own file

# Variable modes: "init" gives a copied variable its own initializer, "value" starts it from the
# source's current value.
INIT_MODE = "init"
VALUE_MODE = "value"
VARIABLE_MODES = (INIT_MODE, VALUE_MODE)
DEFAULT_MODE = INIT_MODE

# Characters that make a `take` item (or a `variable "PATTERN"`) a glob rather than a name.
GLOB_CHARS = frozenset("*?[")

# A `take`, `stop_at` or `bind` item starting with this names a tensor by its signature key
# ("@features") in a savedmodel source.
SIGNATURE_KEY_PREFIX = "@"


class ValueType(enum.Enum):
    """What the value of an entry may be; :mod:`graphdsl.lang.rules` knows how to check each."""

    STRING = "a string"
    STRING_LIST = "a list of strings"
    ELEMENT_PATTERNS = "op names, tensor names or globs: a string or a list of strings"
    TENSOR_NAMES = "tensor names: a string or a list of strings"
    MODE = "a variable mode"
    REFERENCES = "a reference or alias, or a list of them"
    REFERENCE_MAP = "a map from names to references or aliases"
    BOOL = "true or false"
    LITERAL = "any literal: string, number, boolean, list or map"
    INPUT_VALUES = "a map from the signature's input keys to literal values (numbers, strings, booleans, lists)"


@dataclass(frozen=True)
class Entry:
    """One ``key = value`` a source, copy, export or signature takes.

    ``example`` is the whole entry as a hint shows it; ``noun`` names one item of the value in
    messages ("element name", "a graphdef output", "input"); ``missing`` is the hint when a
    ``required`` entry is not there. ``path``: the value is a file path
    relative to the spec's file (a template's expansion moves it when the spec is included).
    """

    key: str
    type: ValueType
    example: str
    default: object = None
    required: bool = False
    missing: str = ""
    allow_empty: bool = True
    noun: str = ""
    path: bool = False


@dataclass(frozen=True)
class SourceKind:
    """A kind of source: ``source NAME = KIND("PATH", OPTIONS)``.

    ``options`` is None when the kind takes any literal keyword argument (a python builder).
    ``suffixes`` are the file suffixes a path of this kind ends in (none for a directory);
    ``path_pattern``, when set, is the form the whole path must have instead.
    """

    name: str
    options: tuple[Entry, ...] | None
    suffixes: tuple[str, ...] = ()
    path_pattern: re.Pattern[str] | None = None

    @property
    def option_names(self) -> tuple[str, ...]:
        """The option keys this kind takes (empty for a kind that takes any)."""
        return tuple(o.key for o in self.options or ())

    def option(self, key: str) -> Entry | None:
        """The option ``key``, or None when this kind does not know it."""
        for option in self.options or ():  # a loop, not next(generator): checked for every option
            if option.key == key:
                return option
        return None


@dataclass(frozen=True)
class ExportKind:
    """A kind of export: ``export KIND "PATH" { ENTRIES }``; only savedmodel takes signatures.

    ``suffixes``: the file suffixes its path must end in (none for a directory or a file stem).
    """

    name: str
    entries: tuple[Entry, ...]
    signatures: bool = False
    suffixes: tuple[str, ...] = ()

    @property
    def entry_names(self) -> tuple[str, ...]:
        """The ``key = value`` entries this kind takes."""
        return tuple(e.key for e in self.entries)

    def entry(self, key: str) -> Entry | None:
        """The entry ``key``, or None when this kind does not take it."""
        for entry in self.entries:  # a loop, not next(generator): checked for every entry
            if entry.key == key:
                return entry
        return None


@dataclass(frozen=True)
class Labelled:
    """A body entry that puts a label before '=': ``KEYWORD "LABEL" = VALUE``."""

    keyword: str
    label: str
    value: str

    def __str__(self) -> str:
        return f"{self.keyword} {self.label} = {self.value}"


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------

_TAGS = Entry("tags", ValueType.STRING_LIST, 'tags = ["serve"]', default=DEFAULT_TAGS)
# Loading, restoring and initializing run only ops whose effects stay in the session, unless the
# spec trusts the source (python builders are code the spec names, so they are trusted).
_SIDE_EFFECTS = Entry("allow_side_effects", ValueType.BOOL, "allow_side_effects = true", default=False)

SOURCE_KINDS: dict[str, SourceKind] = {
    kind.name: kind
    for kind in (
        SourceKind("graphdef", (_SIDE_EFFECTS,), suffixes=GRAPHDEF_SUFFIXES),
        SourceKind(
            "metagraph",
            (Entry("checkpoint", ValueType.STRING, 'checkpoint = "models/lin.ckpt"', path=True), _SIDE_EFFECTS),
            suffixes=(METAGRAPH_SUFFIX,),
        ),
        SourceKind(
            "savedmodel",
            (
                _TAGS,
                Entry("signature", ValueType.STRING, 'signature = "serving_default"',
                      default=DEFAULT_SIGNATURE),
                _SIDE_EFFECTS,
                # Inline the signatures' function calls, so every op inside can be named.
                Entry("inline", ValueType.BOOL, "inline = true", default=False),
            ),
        ),
        # FILE.py:FUNCTION; the function builds the graph, the options are its keyword arguments.
        SourceKind(
            "python", None, suffixes=(PYTHON_SUFFIX,),
            path_pattern=re.compile(r"^(?P<file>.+\.py):(?P<function>[A-Za-z_][A-Za-z0-9_]*)$"),
        ),
    )
}


def kind_for_suffix(suffix: str) -> str | None:
    """The source kind whose files end in ``suffix`` (".pb" -> "graphdef"), or None."""
    return next((k.name for k in SOURCE_KINDS.values() if suffix in k.suffixes), None)


# ---------------------------------------------------------------------------------------------
# Copies
# ---------------------------------------------------------------------------------------------

COPY_ENTRIES: tuple[Entry, ...] = (
    Entry("take", ValueType.ELEMENT_PATTERNS, 'take = ["encoder/out"]', required=True,
          missing='say what to copy, e.g. take = ["encoder/out"]', allow_empty=False, noun="element name"),
    Entry("variables", ValueType.MODE, "variables = value", default=DEFAULT_MODE),
    Entry("stop_at", ValueType.TENSOR_NAMES, 'stop_at = ["input:0"]', noun="stop_at entry"),
)
COPY_LABELLED = (Labelled("variable", '"PATTERN"', "MODE"), Labelled("bind", '"INPUT"', "REF"))
_COPY_ENTRIES = {e.key: e for e in reversed(COPY_ENTRIES)}  # by key (the first, were one repeated)


def copy_entry(key: str) -> Entry | None:
    """The copy entry ``key``, or None."""
    return _COPY_ENTRIES.get(key)


# ---------------------------------------------------------------------------------------------
# Exports and their signatures
# ---------------------------------------------------------------------------------------------

EXPORT_KINDS: dict[str, ExportKind] = {
    kind.name: kind
    for kind in (
        # serving = false: not for TensorFlow Serving (see graphdsl.lang.serving)
        ExportKind("savedmodel", (_TAGS, Entry("serving", ValueType.BOOL, "serving = false", default=True)),
                   signatures=True),
        ExportKind("metagraph", ()),
        ExportKind(
            "graphdef",
            (Entry("outputs", ValueType.REFERENCES, "outputs = [REF, ...]", required=True,
                   missing="say what the frozen graph keeps: outputs = [REF, ...]", allow_empty=False,
                   noun="a graphdef output"),),
            suffixes=GRAPHDEF_SUFFIXES,
        ),
    )
}

SIGNATURE_ENTRIES: tuple[Entry, ...] = (
    Entry("inputs", ValueType.REFERENCE_MAP, 'inputs = { name: NS["element:0"] }', noun="input"),
    Entry("outputs", ValueType.REFERENCE_MAP, 'outputs = { name: NS["element:0"] }', required=True,
          missing='add outputs = { name: NS["element:0"] }', allow_empty=False, noun="output"),
    # sample inputs: the build writes them as TensorFlow Serving's warmup requests and runs them once
    Entry("warmup", ValueType.INPUT_VALUES, "warmup = { x: [[1.0, 2.0]] }", noun="warmup input"),
)
_SIGNATURE_ENTRIES = {e.key: e for e in reversed(SIGNATURE_ENTRIES)}


def export_file(kind: str, path: str) -> str:
    """The file (or directory) holding the graph of an export of ``kind`` written to ``path``.

    A metagraph export's path is a stem: it writes PATH.meta beside its checkpoint.
    """
    return path + METAGRAPH_SUFFIX if kind == "metagraph" else path


def signature_entry(key: str) -> Entry | None:
    """The signature entry ``key``, or None."""
    return _SIGNATURE_ENTRIES.get(key)


# ---------------------------------------------------------------------------------------------
# Words of the grammar
# ---------------------------------------------------------------------------------------------


def keywords() -> tuple[str, ...]:
    """The keywords of the language (``graphdsl``, ``source``, ``copy`` ...), read from the grammar."""
    from graphdsl.lang.grammar import words  # loads the grammar: keep it off the import path

    return words().keywords
