"""The settings file of ``graphdsl evolve``: parents, pieces, fitness and how to evolve, in YAML.

::

    parents:                         # required: the graphs generation 0 starts from
      - {source: graphdef, path: models/p2.pbtxt, inputs: {x: "x:0"}, output: "y:0"}
      - {source: python, path: "builders/expression.py:build", options: {form: line},
         inputs: {x: "x:0"}, output: "y:0"}
    library:                         # optional: more pieces for mutation (outputs: optional)
      - {source: graphdef, path: models/pieces.pbtxt, inputs: {x: "x:0"}}
    fitness: builders/regression.py:score   # a hook, or an evaluation:
    # evaluate: {feed: {x: [0.0, 1.0, 2.0]}, target: [0.0, 1.84, 4.91]}   # or "@file.npy" values
    population: 30                   # and any other field of graphdsl.evolve.Settings
    generations: 10

Paths are relative to the settings file. A mistake is reported at its line and column.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from graphdsl import yaml_input
from graphdsl.errors import GraphDslError, SourceFile, Span, did_you_mean
from graphdsl.lang import schema
from graphdsl.lang.parser import decode, read_file

_SOURCE_KEYS = ("source", "path", "options", "inputs", "output", "name")
_LIBRARY_KEYS = ("source", "path", "options", "inputs", "outputs", "name")


@dataclass
class EvolveConfig:
    """A settings file, read: what :func:`graphdsl.evolve.evolve` takes, and where it came from."""

    path: Path
    parents: list[Any]  # Parent
    library: list[Any]  # Parent (output may be empty: every sink of the graph)
    fitness: Any  # a hook or an Evaluation
    settings: Any  # Settings

    @property
    def base_dir(self) -> Path:
        return self.path.parent


def load_config(path: str | Path) -> EvolveConfig:
    """Reads and checks an evolve settings file; raises GraphDslError at the place of a mistake."""
    from graphdsl.evolve.population import Settings

    path = Path(path)
    text = decode(read_file(path), str(path), "the settings file", GraphDslError).text
    reader = _Reader(path, text)
    try:
        root = yaml_input.compose(text)
    except yaml.reader.ReaderError as e:  # a character YAML does not take; its text names no file
        at = _Offset(e.position)
        raise reader.error(f"not YAML: {yaml_input.refused_character(e)}", at, at,
                           yaml_input.escape_hint(e)) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise reader.error(f"not YAML: {getattr(e, 'problem', e)}", mark, mark,
                           "fix the YAML syntax") from None
    if not isinstance(root, yaml.MappingNode):
        raise reader.error("the settings file must be a mapping of settings", root.start_mark if root else None,
                           root.end_mark if root else None, "start with 'parents:'")
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    known = ("parents", "library", "fitness", "evaluate", *fields)
    entries = reader.mapping(root, known)
    if "parents" not in entries:
        raise reader.error("no parents: a population needs graphs to start from", root.start_mark,
                           root.start_mark, "add 'parents:' with a list of sources")
    parents = [reader.parent(node, _SOURCE_KEYS) for node in reader.sequence(entries["parents"][1])]
    library = [reader.parent(node, _LIBRARY_KEYS) for node in
               (reader.sequence(entries["library"][1]) if "library" in entries else [])]
    if ("fitness" in entries) == ("evaluate" in entries):
        raise reader.error("give either 'fitness' (FILE.py:FUNCTION) or 'evaluate' (a feed and a target)",
                           root.start_mark, root.start_mark, "add one of them")
    fitness = reader.fitness(entries["fitness"][1]) if "fitness" in entries else reader.evaluation(entries["evaluate"][1])
    settings: dict[str, Any] = {}
    for name, (key, node) in entries.items():
        if name in fields:
            value = reader.value(node)
            wanted = type(getattr(Settings(), name))
            if wanted is tuple and isinstance(value, list):
                value = tuple(value)
            elif wanted is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, wanted) or isinstance(value, bool):
                what = {tuple: "a list", int: "an integer", float: "a number"}[wanted]
                raise reader.error(f"'{name}' must be {what}, not {value!r}", node.start_mark, node.end_mark)
            settings[name] = value
    return EvolveConfig(path, parents, library, fitness, Settings(**settings))


@dataclasses.dataclass(frozen=True)
class _Offset:
    """A place in the settings file's text, as a YAML mark gives it."""

    index: int


class _Reader:
    def __init__(self, path: Path, text: str) -> None:
        self.path, self.file = path, SourceFile(str(path), text)

    def error(self, message: str, start: Any, end: Any, hint: str | None = None) -> GraphDslError:
        if start is None:
            return GraphDslError(f"{self.path}: {message}", hint=hint)
        # By the marks' offsets: their lines and columns are YAML's, which also ends a line at U+0085,
        # U+2028 and U+2029, where the file (and an editor) does not.
        end = end or start
        (line, column), (end_line, end_column) = self.file.position(start.index), self.file.position(end.index)
        span = Span(str(self.path), line, column, end_line, max(end_column, column + 1) if end_line == line
                    else end_column, self.file)
        return GraphDslError(message, span=span, hint=hint)

    def at(self, node: yaml.Node, message: str, hint: str | None = None) -> GraphDslError:
        return self.error(message, node.start_mark, node.end_mark, hint)

    def value(self, node: yaml.Node) -> Any:
        """The value of ``node``; one YAML cannot make (``!!int x``, ``!!binary`` of no base64) is
        an error at its place."""
        try:
            return yaml_input.load(yaml.serialize(node))
        except yaml.YAMLError as e:
            raise self.at(node, f"not a value: {getattr(e, 'problem', None) or e}",
                          "write a plain YAML value here (a number, a string, a list or a map)") from None

    def mapping(self, node: yaml.Node, known: tuple[str, ...]) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.at(node, "expected a mapping", f"give {{{', '.join(known[:3])}, ...}}")
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise self.at(key, "a setting's name must be a word, not a list or a mapping",
                              f"use one of: {', '.join(known)}")
            name = key.value
            if name not in known:
                raise self.at(key, f"unknown setting '{name}'",
                              did_you_mean(name, known) or f"use one of: {', '.join(known)}")
            if name in entries:
                raise self.at(key, f"'{name}' is given twice", "keep one")
            entries[name] = (key, value)
        return entries

    def sequence(self, node: yaml.Node) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise self.at(node, "expected a list with at least one entry", "write '- {source: ..., path: ...}' lines")
        return node.value

    def string(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or not isinstance(self.value(node), str):
            raise self.at(node, f"{what} must be a string")
        return str(node.value)

    def parent(self, node: yaml.Node, keys: tuple[str, ...]) -> Any:
        from graphdsl.evolve.population import Parent

        entries = self.mapping(node, keys)
        for required in ("source", "path", "inputs", *(("output",) if "output" in keys else ())):
            if required not in entries:
                raise self.at(node, f"this source has no '{required}'", f"add '{required}:'")
        kind = self.string(entries["source"][1], "source")
        if kind not in schema.SOURCE_KINDS:
            raise self.at(entries["source"][1], f"unknown source kind '{kind}'",
                          did_you_mean(kind, schema.SOURCE_KINDS) or f"use one of: {', '.join(schema.SOURCE_KINDS)}")
        inputs_node = entries["inputs"][1]
        inputs = self.value(inputs_node)
        if (not isinstance(inputs, dict) or not inputs
                or not all(isinstance(k, str) and k.isidentifier() and isinstance(v, str) for k, v in inputs.items())):
            raise self.at(inputs_node, "inputs must map keys (names) to tensor names", 'write {x: "x:0"}')
        from graphdsl.evolve.childspec import RESERVED

        clash = sorted(set(inputs) & set(RESERVED))
        if clash:
            raise self.at(inputs_node, f"input key '{clash[0]}' is a name every individual's spec uses",
                          "name the input otherwise")
        options = self.value(entries["options"][1]) if "options" in entries else {}
        if not isinstance(options, dict):
            raise self.at(entries["options"][1], "options must be a mapping", "write {key: value}")
        output = self.string(entries["output"][1], "output") if "output" in entries else ""
        name = self.string(entries["name"][1], "name") if "name" in entries else ""
        return Parent(kind, self.string(entries["path"][1], "path"), inputs, output, options, name)

    def fitness(self, node: yaml.Node) -> Any:
        from graphdsl.evolve.fitness import load_hook

        text = self.string(node, "fitness")
        try:
            return load_hook(text, self.path.parent)
        except GraphDslError as e:
            raise self.at(node, e.message, e.hint) from None

    def evaluation(self, node: yaml.Node) -> Any:
        from graphdsl.evolve.fitness import Evaluation

        entries = self.mapping(node, ("feed", "target"))
        for required in ("feed", "target"):
            if required not in entries:
                raise self.at(node, f"the evaluation has no '{required}'", f"add '{required}:'")
        feed_node = entries["feed"][1]
        if not isinstance(feed_node, yaml.MappingNode):
            raise self.at(feed_node, "feed must map input keys to values", "write {x: [0.0, 1.0]}")
        for key, _ in feed_node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise self.at(key, "a feed's key must be an input key, not a list or a mapping", "write {x: [0.0, 1.0]}")
        feed = {key.value: self.array(value) for key, value in feed_node.value}
        return Evaluation(feed, self.array(entries["target"][1]))

    def array(self, node: yaml.Node) -> np.ndarray:
        value = self.value(node)
        if isinstance(value, str) and value.startswith("@"):
            from graphdsl.values import read_array

            file = self.path.parent / value[1:]
            try:
                return read_array(file.stem, file)
            except GraphDslError as e:
                raise self.at(node, e.message, e.hint) from None
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise self.at(node, f"not an array of numbers: {value!r}", "write a list of numbers or '@FILE.npy'") from None
        return array
