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

With --baseline DIR (another checkout, e.g. `git archive REV | tar -x -C DIR`), the same texts are
also checked by DIR's graphdsl, in a child process per shape and size run between the
measurements of this one; the child measures its own lark anchor, and the table adds its time and
its ratio to that anchor.

Those runs parse each text once before measuring (what a long-lived process sees). With --fresh,
each measurement is instead one load_spec_text in a fresh process, after a tiny spec has loaded
the parser (what `graphdsl check` sees: nothing learnt from an earlier parse), the median of
--repeat processes, alternating with DIR's when --baseline is given; no lark anchor. The tree is
kept, not freed inside the measurement: `graphdsl check` exits without freeing it. With --command,
each measurement is the whole command as a user runs it, `python -m graphdsl check FILE` (CPU
seconds of the child, user and system, start-up and imports included), with the bare
interpreter's start printed above the table as an anchor.

    python benchmarks/bench_check.py [--sizes 10000,20000] [--repeat 5] [--shapes copies,...] [--baseline DIR]
                                     [--fresh | --command]
"""

from __future__ import annotations

import argparse
import compileall
import gc
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
# The graphdsl measured: this checkout's, or (in the child of --baseline) the baseline's.
sys.path.insert(0, os.environ.get("GRAPHDSL_BENCH_CHECKOUT") or os.path.dirname(HERE))

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


def _variety(n: int) -> list[str]:
    """No two statements alike in their terminals (up to 8,192): python sources taking a list of
    13 items, each a string or a list of one string, by the bits of the statement's number."""
    return [f'source p{i} = python("b.py:build", arg = [{", ".join(chr(34) + "s" + chr(34) if (i >> b) & 1 else "[" + chr(34) + "s" + chr(34) + "]" for b in range(13))}])'
            for i in range(n)]


def _one_list(n: int) -> list[str]:
    """One statement of n tokens and more: a copy taking a list of n names (4 statements)."""
    return ["copy B from s { take = [" + ", ".join(f'"op{i}"' for i in range(n)) + "] }"]


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


def _random(n: int) -> list[str]:
    """Statements drawn at random (seeded, so every run checks the same text), all valid: python
    sources with up to three arguments of nested lists, maps and scalars; copies with one to
    three names to take and up to four other entries; aliases; savedmodel exports. Most
    statements have a sequence of terminals of their own, as a spec written by hand or by a
    program may."""
    rng = random.Random(0)

    def name() -> str:
        return rng.choice(["a", "b", "enc", "head", "x1", "layer_2"]) + str(rng.randrange(1000))

    def op() -> str:
        return f'"{rng.choice(["a", "layer/out", "enc/x", "b"])}{rng.randrange(100)}"'

    def tensor() -> str:
        return op()[:-1] + ':0"'

    def value(depth: int = 0) -> str:
        pick = rng.random()
        if depth < 3 and pick < 0.2:
            return "[" + ", ".join(value(depth + 1) for _ in range(rng.randint(0, 4))) + "]"
        if depth < 3 and pick < 0.3:
            return "{ " + ", ".join(f"{name()}: {value(depth + 1)}" for _ in range(rng.randint(0, 3))) + " }"
        return rng.choice([op(), str(rng.randrange(-5, 1000)), "1.5e-3", rng.choice(["true", "false"])])

    def entries() -> str:
        out: list[str] = []
        for k in range(rng.randint(0, 4)):
            pick = rng.random()
            if pick < 0.2 and not any(e.startswith("variables") for e in out):
                out.append(f"variables = {rng.choice(['value', 'init'])}")
            elif pick < 0.4:
                out.append(f'variable "v{k}/*" = {rng.choice(["value", "init"])}')
            elif pick < 0.6 and not any(e.startswith("stop_at") for e in out):
                out.append(f"stop_at = [{tensor()}]")
            else:
                out.append(f'bind "in{k}:0" = A[{tensor()}]')
        return " ".join(out)

    def statement(i: int) -> str:
        pick = rng.random()
        if pick < 0.25:
            return f'source s{i} = python("b.py:build"' + "".join(
                f", {name()}{k} = {value()}" for k in range(rng.randint(0, 3))) + ")"
        if pick < 0.6:
            take = rng.choice([op(), "[" + ", ".join(op() for _ in range(rng.randint(1, 3))) + "]"])
            return f"copy C{i} from s {{ take = {take} {entries()} }}"
        if pick < 0.85:
            return f"let l{i} = A[{tensor()}]"
        return (f'export savedmodel "m{i}" {{ tags = ["serve"] signature serving_default {{ '
                f'inputs = {{ x: A["x:0"] }} outputs = {{ y: A[{tensor()}] }} }} }}')

    return [statement(i) for i in range(n)]


SHAPES: dict[str, Callable[[int], list[str]]] = {
    "copies": _copies,
    "copy_bodies": _bodies,
    "lets": _lets,
    "alias_chain": _alias_chain,
    "exports": _exports,
    "commented": _commented,
    "builders": _builders,
    "mixed": _mixed,
    "variety": _variety,
    "random": _random,
    "one_list": _one_list,
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


def baseline(checkout: str, text: str, repeat: int) -> tuple[float, float]:
    """The lark anchor and load_spec_text of ``checkout``'s graphdsl, measured in a child process."""
    with tempfile.NamedTemporaryFile("w", suffix=".gcomp", encoding="utf-8", delete=False) as spec:
        spec.write(text)
    try:
        env = dict(os.environ, GRAPHDSL_BENCH_CHECKOUT=os.path.abspath(checkout))
        child = subprocess.run([sys.executable, os.path.abspath(__file__), "--measure-file", spec.name,
                                "--repeat", str(repeat)], env=env, capture_output=True, text=True, check=True)
    finally:
        os.unlink(spec.name)
    lark_s, ours_s = json.loads(child.stdout)
    return lark_s, ours_s


_FRESH = """
import sys, time, gc
sys.path.insert(0, sys.argv[1])
from graphdsl.lang.load import load_spec_text
load_spec_text('graphdsl 1\\nsource s = graphdef("s.pb")\\ncopy A from s { take = "x" }\\n')
text = open(sys.argv[2], encoding="utf-8").read()
gc.collect()
start = time.process_time()
spec = load_spec_text(text)  # kept, as graphdsl check keeps it until it exits
print(time.process_time() - start)
"""


def fresh(checkout: str, text: str) -> float:
    """CPU seconds of one load_spec_text of ``text`` by ``checkout``'s graphdsl, in a fresh process."""
    with tempfile.NamedTemporaryFile("w", suffix=".gcomp", encoding="utf-8", delete=False) as spec:
        spec.write(text)
    try:
        child = subprocess.run([sys.executable, "-c", _FRESH, os.path.abspath(checkout), spec.name],
                               capture_output=True, text=True, check=True)
    finally:
        os.unlink(spec.name)
    return float(child.stdout)


def _bare_start() -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def command(checkout: str, text: str) -> float:
    """CPU seconds (user and system) of the whole command ``python -m graphdsl check FILE`` run
    with ``checkout``'s graphdsl on ``text``, as a user runs it: start-up included."""
    with tempfile.TemporaryDirectory() as folder:  # the working directory too: `-m` imports from it first
        path = os.path.join(folder, "spec.gcomp")
        with open(path, "w", encoding="utf-8") as spec:
            spec.write(text)
        env = dict(os.environ, PYTHONPATH=os.path.abspath(checkout))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-m", "graphdsl", "check", path], env=env, cwd=folder,
                       capture_output=True, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main_fresh(shapes: list[str], sizes: list[int], repeat: int, checkout_base: str | None,
               measure_one: Callable[[str, str], float] = fresh, what: str = "fresh process") -> None:
    print(f"| shape | statements | graphdsl s ({what}) |"
          + (f" baseline s ({what}) | graphdsl / baseline |" if checkout_base else ""))
    print("|---|---:|---:|" + ("---:|---:|" if checkout_base else ""))
    for shape in shapes:
        for n in sizes:
            text = spec_text(shape, n)
            ours, base = [], []
            for _ in range(repeat):
                ours.append(measure_one(os.path.dirname(HERE), text))
                if checkout_base:
                    base.append(measure_one(checkout_base, text))
            row = ""
            if checkout_base:
                row = f" {statistics.median(base):.3f} | {statistics.median(ours) / statistics.median(base):.2f} |"
            statements = len(load_spec_text(text).statements)
            print(f"| {shape} | {statements} | {statistics.median(ours):.3f} |{row}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,20000", help="statements per spec, comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--shapes", default=",".join(s for s in SHAPES if s != "one_list"),
                        help="which shapes, comma-separated (one_list, one statement of SIZE list items, "
                             "only when named)")
    parser.add_argument("--baseline", metavar="DIR", help="also measure the graphdsl of the checkout DIR")
    parser.add_argument("--fresh", action="store_true", help="one parse per fresh process (see above)")
    parser.add_argument("--command", action="store_true",
                        help="the whole `python -m graphdsl check FILE` per measurement, start-up included")
    parser.add_argument("--measure-file", help=argparse.SUPPRESS)  # the child of --baseline
    args = parser.parse_args(argv)
    anchor = Lark(grammar.text(), parser="lalr")
    if args.measure_file:
        with open(args.measure_file, encoding="utf-8") as spec:
            lark_s, ours_s, _ = measure(spec.read(), args.repeat, anchor)
        print(json.dumps([lark_s, ours_s]))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    shapes = args.shapes.split(",")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load:.2f} at start; "
          f"CPU seconds, median of {args.repeat}")
    if args.command:
        # Both versions start from bytecode caches, as an installed graphdsl does.
        for checkout in filter(None, [os.path.dirname(HERE), args.baseline]):
            compileall.compile_dir(os.path.join(checkout, "graphdsl"), quiet=1)
        anchor_s = statistics.median(_bare_start() for _ in range(args.repeat))
        print(f"# the bare interpreter's start (python -c pass): {anchor_s:.3f} CPU s")
        main_fresh(shapes, sizes, args.repeat, args.baseline, command, "whole command")
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"# load average {load:.2f} at the end")
        return 0
    if args.fresh:
        main_fresh(shapes, sizes, args.repeat, args.baseline)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"# load average {load:.2f} at the end")
        return 0
    extra = " baseline s | baseline / its lark |" if args.baseline else ""
    print(f"| shape | statements | lines | lark s | graphdsl s | statements/s | graphdsl / lark |{extra}")
    print("|---|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if args.baseline else ""))
    for shape in shapes:
        for n in sizes:
            text = spec_text(shape, n)
            row = ""
            if args.baseline:  # half of the repeats before this checkout's, half after
                first = baseline(args.baseline, text, max(1, args.repeat // 2))
            lark_s, ours_s, statements = measure(text, args.repeat, anchor)
            if args.baseline:
                second = baseline(args.baseline, text, max(1, args.repeat - args.repeat // 2))
                base_lark = statistics.mean([first[0], second[0]])
                base_s = statistics.mean([first[1], second[1]])
                row = f" {base_s:.3f} | {base_s / base_lark:.2f} |"
            print(f"| {shape} | {statements} | {text.count(chr(10))} | {lark_s:.3f} | {ours_s:.3f} | "
                  f"{statements / ours_s:,.0f} | {ours_s / lark_s:.2f} |{row}", flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# load average {load:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
