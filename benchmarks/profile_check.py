#!/usr/bin/env python3
"""Where the time of `graphdsl check` goes on one generated spec, stage by stage (no TensorFlow).

Each stage is timed alone, in this process, with the cyclic GC off (as the parser runs), CPU
seconds (time.process_time), the best of --repeat runs:

  lex          the whole text cut into tokens (graphdsl.lang.pieces.Pieces.cut)
  parse        the parse with builders that make nothing (lexing included; the statements'
               programs are compiled by the warm-up run)
  parse+build  the parse loop building the syntax tree (graphdsl.lang.builder)
  parse_source the whole parse: the tree, its comments and the checks of literals
  check        both checker passes (graphdsl.lang.check.check) of the parsed tree

The spec is one of bench_check.py's shapes.

    python benchmarks/profile_check.py [--shape copy_bodies] [--statements 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from bench_check import SHAPES, spec_text  # noqa: E402

from graphdsl.errors import SourceFile  # noqa: E402
from graphdsl.lang import check, parser  # noqa: E402
from graphdsl.lang.builder import Builder  # noqa: E402


def _nothing(children: list[Any]) -> None:
    return None


class _NoBuilders(dict):  # type: ignore[type-arg]
    """Builders that make nothing: what the parse loop costs alone. Each rule gets the one no-op,
    stored at its first lookup, as the Builder's rules are looked up (a function made at every
    lookup would be counted as parsing)."""

    def __missing__(self, rule: str) -> Callable[[list[Any]], None]:
        self[rule] = _nothing
        return _nothing


def _best(function: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        function()
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args.add_argument("--shape", default="copy_bodies", choices=sorted(SHAPES))
    args.add_argument("--statements", type=int, default=10000)
    args.add_argument("--repeat", type=int, default=3)
    options = args.parse_args()
    text = spec_text(options.shape, options.statements)
    file = SourceFile("<bench>", text)
    driver = parser._driver()
    pieces = driver.pieces
    assert pieces is not None, "the grammar does not allow the whole-text lexer"

    def lex() -> None:
        pieces.cut(text)

    spec = parser.parse_source(file)  # warms everything up
    stages: list[tuple[str, Callable[[], object]]] = [
        ("lex", lex),
        ("parse", lambda: driver.parse(text, _NoBuilders())),
        ("parse+build", lambda: driver.parse(text, Builder(file).rules)),
        ("parse_source", lambda: parser.parse_source(file)),
        ("check", lambda: check.check(spec)),
    ]
    print(f"# {options.shape}, {len(spec.statements)} statements, {text.count(chr(10))} lines; "
          f"load average {os.getloadavg()[0]:.2f}; CPU seconds, best of {options.repeat}")
    gc.disable()
    for name, function in stages:
        print(f"{name:12} {_best(function, options.repeat):.3f}")
    gc.enable()


if __name__ == "__main__":
    main()
