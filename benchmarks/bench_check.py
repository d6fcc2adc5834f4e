#!/usr/bin/env python3
"""Benchmark: `graphdsl check` (parse + static checks) on large generated specs, several shapes.

For each shape and size, the same spec text is read two ways, interleaved, in this process:

  lark      the anchor: a plain Lark parse of the text with graphdsl's grammar as lark ships it
            (Lark(grammar, parser="lalr"): contextual lexer, parse tree, no syntax tree, no check)
  graphdsl  graphdsl.load_spec_text(text): lexing, parsing, the syntax tree with spans and
            comments, and both checker passes

Times are CPU seconds (time.process_time), the median of --repeat runs. The table prints
statements per second and the ratio graphdsl / lark: below 1 means graphdsl does all of its work
in less time than lark's plain parse alone.

    python benchmarks/bench_check.py [--sizes 10000,20000] [--repeat 5] [--shapes copies,...]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from typing import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from lark import Lark  # noqa: E402

from graphdsl.lang import grammar  # noqa: E402
from graphdsl.lang.load import load_spec_text  # noqa: E402

HEAD = ['graphdsl 1', 'source s = graphdef("models/s.pb")', 'copy A from s { take = "x" }']


def _copies(n: int) -> list[str]:
    return [f'copy N{i} from s {{ take = "op{i}" }}' for i in range(n)]


def _bodies(n: int) -> list[str]:
    return [
        f'copy B{i} from s {{\n    take = ["layer{i}/out", "layer{i}/*"]\n    variables = value\n'
        f'    variable "layer{i}/bias*" = init\n    stop_at = ["in{i}:0"]\n    bind "x{i}:0" = A["x:0"]\n}}'
        for i in range(n)
    ]


def _lets(n: int) -> list[str]:
    return [f'let t{i} = A["t{i}:0"]' for i in range(n)]


def _alias_chain(n: int) -> list[str]:
    return ['let a0 = A["x:0"]'] + [f"let a{i} = a{i - 1}" for i in range(1, n)]


def _exports(n: int) -> list[str]:
    return ['let y = A["y:0"]'] + [
        f'export savedmodel "model{i}" {{\n    tags = ["serve"]\n    signature serving_default {{\n'
        f'        inputs = {{ x: A["x:0"] }}\n        outputs = {{ y: y, "raw": A["raw{i}:0"] }}\n    }}\n}}'
        for i in range(n - 1)
    ]


def _commented(n: int) -> list[str]:
    return [f'# copy number {i}\ncopy C{i} from s {{ take = "op{i}" }}  # the op it takes' for i in range(n)]


def _builders(n: int) -> list[str]:
    return [
        f'source p{i} = python("builders/b.py:build", seed = {i}, rate = 1.5e-3, on = true,\n'
        f'    sizes = [[1, 2], [3, 4]], opts = {{ name: "n{i}", depth: 3 }})'
        for i in range(n)
    ]


def _mixed(n: int) -> list[str]:
    """A spec as people write them: groups of a source, two copies, two aliases and an export."""
    out: list[str] = []
    for g in range(n // 6 + 1):
        out += [
            f'# group {g}',
            f'source enc{g} = savedmodel("models/enc{g}", tags = ["serve"], signature = "serving_default")',
            f'copy E{g} from enc{g} {{\n    take = ["encoder/out"]\n    variables = value  # trained\n}}',
            f'copy H{g} from s {{ take = "logits" bind "x:0" = E{g}["encoder/out:0"] }}',
            f'let logits{g} = H{g}["logits:0"]',
            f'let scores{g} = logits{g}',
            f'export graphdef "frozen{g}.pb" {{ outputs = [scores{g}, E{g}["encoder/out:0"]] }}',
        ]
    return out[: n + n // 6 + 1]  # the comment lines are not statements


SHAPES: dict[str, Callable[[int], list[str]]] = {
    "copies": _copies,
    "copy_bodies": _bodies,
    "lets": _lets,
    "alias_chain": _alias_chain,
    "exports": _exports,
    "commented": _commented,
    "builders": _builders,
    "mixed": _mixed,
}


def spec_text(shape: str, n: int) -> str:
    """A valid spec of about ``n`` statements (plus three header statements) of one shape."""
    return "\n".join(HEAD + SHAPES[shape](n)) + "\n"


def _cpu(function: Callable[[], object]) -> float:
    start = time.process_time()
    function()
    return time.process_time() - start


def measure(text: str, repeat: int, anchor: Lark) -> tuple[float, float, int]:
    """Median CPU seconds of the anchor parse and of load_spec_text, and the statement count."""
    statements = len(load_spec_text(text).statements)  # also warms both up
    anchor.parse(text)
    lark_times, graphdsl_times = [], []
    for _ in range(repeat):
        gc.collect()
        lark_times.append(_cpu(lambda: anchor.parse(text)))
        gc.collect()
        graphdsl_times.append(_cpu(lambda: load_spec_text(text)))
    return statistics.median(lark_times), statistics.median(graphdsl_times), statements


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,20000", help="statements per spec, comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="which shapes, comma-separated")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    shapes = args.shapes.split(",")
    anchor = Lark(grammar.text(), parser="lalr")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load:.2f} at start; "
          f"CPU seconds, median of {args.repeat}")
    print("| shape | statements | lines | lark s | graphdsl s | statements/s | graphdsl / lark |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for shape in shapes:
        for n in sizes:
            text = spec_text(shape, n)
            lark_s, ours_s, statements = measure(text, args.repeat, anchor)
            print(f"| {shape} | {statements} | {text.count(chr(10))} | {lark_s:.3f} | {ours_s:.3f} | "
                  f"{statements / ours_s:,.0f} | {ours_s / lark_s:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
