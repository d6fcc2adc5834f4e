"""A template with the files it includes: a :class:`Program`, checked for what no value changes.

``include "PATH"`` names another spec file, relative to the including one. Each file is read once:
including it again (from anywhere) adds nothing, and a file that includes itself, even through
others, is an error that shows the chain. A file read by an include knows where it was included
from, so that an error in it shows that trail. The program gathers the parameters and blocks of
every file, in the order the includes reach them.

The checks here hold whatever the parameters are: the version line of each file; where ``param``,
``block``, ``include`` and ``output`` may stand; duplicate parameters, blocks and block
parameters; parameter types; a ``use`` of a block that does not exist; a block that uses itself.
No TensorFlow here.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from graphdsl.errors import SourceFile, Span, SpecError, did_you_mean
from graphdsl.lang import params as params_
from graphdsl.lang import parser, schema, syntax
from graphdsl.lang import template_syntax as ts
from graphdsl.lang.template_parser import parse_template


@dataclass
class Unit:
    """One file of a program, and the files its ``include`` statements read (None: read before)."""

    template: ts.Template
    includes: dict[int, Unit | None] = field(default_factory=dict)  # id(Include) -> unit

    @property
    def file(self) -> SourceFile:
        return self.template.file


@dataclass
class Program:
    """A template and everything it includes."""

    root: Unit
    params: list[ts.Param]
    blocks: dict[str, tuple[ts.Block, Unit]]

    def included_files(self) -> tuple[SourceFile, ...]:
        """Every file the root includes, directly or through others, each once, by path."""
        return tuple(sorted((u.file for u in _units(self.root) if u is not self.root), key=lambda f: f.path))


def load_program(template: ts.Template) -> Program:
    """The program of ``template``: its includes read, its structure checked."""
    loader = _Loader()
    root = loader.unit(template, [])
    program = Program(root, loader.params, loader.blocks)
    _check_uses(program)
    return program


def display_path(base: str, path: str) -> str:
    """``path`` relative to the directory of the file ``base`` (as the user named that file)."""
    if posixpath.isabs(path) or base.startswith("<"):
        return posixpath.normpath(path)
    return posixpath.normpath(posixpath.join(posixpath.dirname(base.replace(os.sep, "/")), path))


class _Loader:
    def __init__(self) -> None:
        self.loaded: dict[str, Unit] = {}
        self.params: list[ts.Param] = []
        self.param_names: dict[str, ts.Param] = {}
        self.blocks: dict[str, tuple[ts.Block, Unit]] = {}

    def unit(self, template: ts.Template, chain: list[tuple[str, Span | None]]) -> Unit:
        unit = Unit(template)
        _check_version(template)
        for statement in template.statements:
            if isinstance(statement, ts.Param):
                self.param(statement)
            elif isinstance(statement, ts.Block):
                self.block(statement, unit)
            elif isinstance(statement, ts.Include):
                unit.includes[id(statement)] = self.include(statement, template.file, chain)
            else:
                _check_body(statement, inside_block=False)
        return unit

    def param(self, param: ts.Param) -> None:
        name = param.name.name
        if name in self.param_names:
            raise SpecError(f"duplicate parameter '{name}'", param.name.span,
                            f"the first is declared at {self.param_names[name].name.span}")
        params_.check_type(param.type)
        self.param_names[name] = param
        self.params.append(param)

    def block(self, block: ts.Block, unit: Unit) -> None:
        name = block.name.name
        if name in self.blocks:
            raise SpecError(f"duplicate block '{name}'", block.name.span,
                            f"the first is defined at {self.blocks[name][0].name.span}")
        seen: dict[str, ts.BlockParam] = {}
        for param in block.params:
            if param.name.name in seen:
                raise SpecError(f"duplicate parameter '{param.name.name}' of block '{name}'", param.name.span)
            seen[param.name.name] = param
            if param.type is not None:
                params_.check_type(param.type, params_.BLOCK_PARAM_TYPES)
        for statement in block.body:
            _check_body(statement, inside_block=True)
        self.blocks[name] = (block, unit)

    def include(self, include: ts.Include, file: SourceFile, chain: list[tuple[str, Span | None]]) -> Unit | None:
        if "\0" in include.path.value:
            raise SpecError("a path cannot hold a NUL character", include.path.span, "no file name can; remove it")
        path = display_path(file.path, include.path.value)
        key = os.path.realpath(path)
        here = os.path.realpath(file.path) if not file.path.startswith("<") else file.path
        trail = [*chain, (here, None)]
        if any(key == k for k, _ in trail):
            names = [_shown(k) for k, _ in trail] + [_shown(key)]
            raise SpecError(f"include cycle: {' includes '.join(names)}", include.path.span,
                            "a file cannot include itself, even through others: move what both need "
                            "into a third file")
        if key in self.loaded:
            return None  # read once: a second include adds nothing
        if os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path):
            # Read to its end, a device or a pipe may never end (/dev/zero, a FIFO).
            raise SpecError(f"cannot include '{include.path.value}': not a regular file (a device, a pipe or "
                            f"a socket: {path})", include.path.span, "include a .gcomp file")
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            raise SpecError(f"cannot include '{include.path.value}': {error.strerror or error} ({path})",
                            include.path.span, "the path is relative to the including file") from None
        included = parser.decode(data, path, included_from=include.span)
        unit = self.unit(parse_template(included), trail)
        self.loaded[key] = unit
        return unit


def _shown(key: str) -> str:
    if key.startswith("<"):
        return key
    try:
        return os.path.relpath(key)
    except ValueError:
        return key


def _check_version(template: ts.Template) -> None:
    statements = template.statements
    versions = [s for s in statements if isinstance(s, syntax.Version)]
    if not versions:
        span = statements[0].span if statements else Span(template.path, 1, 1, 1, 1, template.file)
        raise SpecError("missing version line", span, "begin the spec with the line: graphdsl 1")
    first = versions[0]
    if statements[0] is not first:
        raise SpecError("the version line must be the first statement", first.span,
                        f"move it above line {statements[0].span.line}")
    if len(versions) > 1:
        raise SpecError("duplicate version line", versions[1].span, f"the version is given at line {first.span.line}")
    if first.number.value not in schema.SUPPORTED_VERSIONS:
        known = ", ".join(str(v) for v in schema.SUPPORTED_VERSIONS)
        raise SpecError(f"unsupported version {first.number.value}", first.number.span,
                        f"this graphdsl reads version {known}")


_TOP_LEVEL_ONLY = {ts.Param: "a param", ts.Block: "a block", ts.Include: "an include"}


def _check_body(statement: ts.Node, inside_block: bool) -> None:
    """What may stand where: declarations at the top level of a file, outputs in blocks."""
    for node in ts.walk_statements((statement,)):
        for kind, words in _TOP_LEVEL_ONLY.items():
            if isinstance(node, kind) and (inside_block or node is not statement):
                raise SpecError(f"{words} stands at the top level of a file", node.span,
                                "declare it outside blocks, loops and choices")
        if isinstance(node, ts.Output) and not inside_block:
            raise SpecError("an output stands in a block", node.span,
                            "outputs are what a block use exposes; at the top level, write let")
        if isinstance(node, syntax.Version) and node is not statement:
            raise SpecError("the version line must be the first statement", node.span)


def _check_uses(program: Program) -> None:
    """Every ``use`` names a block, and no block uses itself (even through others)."""
    blocks = program.blocks

    def uses(body: tuple[ts.Node, ...]) -> list[ts.Use]:
        return [s for s in ts.walk_statements(body) if isinstance(s, ts.Use)]

    def known(use: ts.Use) -> ts.Block:
        name = use.block.name
        if name not in blocks:
            raise SpecError(f"unknown block '{name}'", use.block.span,
                            did_you_mean(name, blocks) or ("define it: block NAME(PARAMS) { ... }" if not blocks
                                                           else f"the blocks: {', '.join(blocks)}"))
        return blocks[name][0]

    for unit in _units(program.root):
        for use in uses(unit.template.statements):
            known(use)
    # Depth-first over the blocks: a block met again while its own body is being walked uses itself.
    # The walk keeps its own stack (a chain of blocks may be longer than Python's recursion limit):
    # the blocks open, each with the uses of its body still to follow.
    state: dict[str, str] = {}
    for block, _ in blocks.values():
        if block.name.name in state:
            continue
        state[block.name.name] = "open"
        stack: list[tuple[str, Iterator[ts.Use]]] = [(block.name.name, iter(uses(block.body)))]
        while stack:
            name, pending = stack[-1]
            following = next(pending, None)
            if following is None:
                stack.pop()
                state[name] = "done"
                continue
            inner = known(following).name.name
            if state.get(inner) == "open":
                chain = [open_name for open_name, _ in stack]
                cycle = chain[chain.index(inner):] + [inner]
                raise SpecError(f"block '{inner}' uses itself: {' -> '.join(cycle)}", following.span,
                                "a block cannot use itself, even through others: repeat statements "
                                "with a for loop")
            if inner not in state:
                state[inner] = "open"
                stack.append((inner, iter(uses(blocks[inner][0].body))))


def _units(root: Unit) -> list[Unit]:
    found, todo = [], [root]
    while todo:
        unit = todo.pop()
        found.append(unit)
        todo.extend(u for u in unit.includes.values() if u is not None)
    return found
