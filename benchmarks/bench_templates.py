#!/usr/bin/env python3
"""Benchmark: expanding and checking templates, against plain specs of the same statements.

1. A template whose loop uses a block N times; each use makes a copy (3 entries) and a let, so the
   template makes 2N statements (N = 5000: 10,000 statements). Timed stage by stage: parse
   (template grammar), structure and type checks, parameter binding and expansion, the static
   checks of the plain spec it makes. The anchor, measured in the same run: the plain spec of the
   same statements (the template's expansion, printed) parsed and checked as a plain spec.
2. A template of 2N statements written out one by one (no loop: copies whose entries are
   expressions, names computed in strings): graphdsl's parse of it and its whole load, against
   the anchor measured in the same run, lark's own parse of the same text with the template
   grammar (its contextual lexer and LALR parser, building lark's tree).
3. ``graphdsl check`` of every example in specs/, as a user runs it: a fresh
   ``python -m graphdsl check SPEC`` process (Python's start and the imports included), its CPU
   time (user + system) and its wall time.
4. ``graphdsl check`` of templates of 2N statements of four shapes, in a fresh process each (CPU
   seconds, the median of --repeat): copies whose names and entries interpolate a distinct
   expression each (``copy "C{k}_7" from s { take = "x{k + 7}" }``), copies whose ``variables`` is
   a conditional, the written-out template of 2, and sources whose argument is a list of 13
   strings and one-string lists, of a shape of its own each. The anchor, in the same run: the
   plain spec each template makes (its expansion, printed), checked the same way.

No TensorFlow is imported. Times are CPU seconds of this process (``time.process_time``), the best
of --repeat runs: other work on the machine slows wall time down far more than CPU time. The
header shows the load average all the same.

    .venv/bin/python benchmarks/bench_templates.py [--uses 5000] [--repeat 5] [--shapes-only]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, TypeVar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from graphdsl.errors import SourceFile  # noqa: E402
from graphdsl.lang import check as plain_check  # noqa: E402
from graphdsl.lang import grammar  # noqa: E402
from graphdsl.lang import parser  # noqa: E402
from graphdsl.lang.expand import Expander, expand_file  # noqa: E402
from graphdsl.lang.includes import load_program  # noqa: E402
from graphdsl.lang.params import ParamValues, bind  # noqa: E402
from graphdsl.lang.template_parser import parse_template  # noqa: E402
from graphdsl.lang.typecheck import check_types  # noqa: E402
from graphdsl.lang.unparse import unparse  # noqa: E402

TEMPLATE = """graphdsl 1
param uses: int = 100 { min = 1 }
source m = python("builders/layer.py:build", width = 8)
copy Input from m { take = "x" }

block layer(input: ref, index: int) {
    copy Dense from m {
        take      = ["out", "w"]
        variables = index % 2 == 0 ? init : value
        bind "x:0" = input
    }
    output out = Dense["out:0"]
}

for i in range(uses) {
    use "L{i}" = layer(input = i == 0 ? Input["x:0"] : name("L{i - 1}").out, index = i)
}
"""

T = TypeVar("T")


def best(function: Callable[[], T], repeat: int) -> tuple[float, T]:
    times: list[float] = []
    for _ in range(repeat):
        start = time.process_time()
        result = function()
        times.append(time.process_time() - start)
    return min(times), result


def template_stages(uses: int, repeat: int) -> tuple[list[tuple[str, float]], str, int]:
    file = SourceFile("bench.gcomp", TEMPLATE)
    values = ParamValues.from_mapping({"uses": uses})
    parse_time, template = best(lambda: parse_template(file), repeat)
    program = load_program(template)
    structure_time, _ = best(lambda: check_types(load_program(template)), repeat)
    declared = program.params
    expand_time, spec = best(lambda: Expander(program, bind(declared, values)[0], 10 * uses + 100).run(), repeat)
    check_time, _ = best(lambda: plain_check.check(spec), repeat)
    total_time, expansion = best(lambda: expand_file(file, values, 10 * uses + 100), repeat)
    statements = len(expansion.spec.statements) - 2  # the version line and the source
    stages = [("parse the template", parse_time), ("includes, structure and types", structure_time),
              ("bind parameters and expand", expand_time), ("check the plain spec it makes", check_time),
              ("all of it (graphdsl.lang.expand.load)", total_time)]
    return stages, unparse(expansion.spec), statements


def written_out(statements: int) -> str:
    """A template of about ``statements`` statements written one by one (no loop): copies whose
    entries are expressions, names computed in strings, and values set from parameters."""
    lines = ["graphdsl 1", "param k: int = 3", 'source s = graphdef("s.pb")']
    for i in range(statements // 2):
        lines.append(f'copy "C{i}" from s {{ take = "x{i}" variables = k > 2 ? "value" : "init" }}')
        lines.append(f"set v{i} = {i} * k + {i % 7}")
    return "\n".join(lines) + "\n"


def written_out_stages(statements: int, repeat: int) -> list[tuple[str, float]]:
    """The stages of loading a written-out template, and the anchor: lark's own parse of it (the
    contextual lexer and LALR parser the template grammar is made for, building lark's tree)."""
    text = written_out(statements)
    file = SourceFile("written.gcomp", text)
    lark_parser = grammar.load("template")
    gc.disable()  # as graphdsl parses (lark's parse alone would spend a third of its time in the GC)
    try:
        lark_time, _ = best(lambda: lark_parser.parse(text, start="template"), repeat)
    finally:
        gc.enable()
    parse_time, _ = best(lambda: parse_template(file), repeat)
    total_time, _ = best(lambda: expand_file(file, ParamValues.from_mapping({}), 10 * statements), repeat)
    return [("lark's parse (the anchor)", lark_time), ("graphdsl: parse the template", parse_time),
            ("graphdsl: all of it (graphdsl.lang.expand.load)", total_time)]


def shapes(statements: int) -> dict[str, str]:
    """Templates of ``statements`` statements of the shapes that cost the most to read, by name."""
    head = ["graphdsl 1", "param k: int = 3", 'source s = graphdef("s.pb")']
    interpolated = [f'copy "C{{k}}_{i}" from s {{ take = "x{{k + {i}}}" }}' for i in range(statements)]
    conditional = [f'copy A{i} from s {{ take = "x{i}" variables = k > 2 ? "value" : "init" }}'
                   for i in range(statements)]
    # Builders' arguments: lists of 13 items, each a string or a list of one string by the bits of i.
    lists = [f'source p{i} = python("b.py:build", arg = [{", ".join(_item(i >> bit & 1) for bit in range(13))}])'
             for i in range(statements)]
    return {"interpolated names and entries": "\n".join(head + interpolated) + "\n",
            "copies with a conditional": "\n".join(head + conditional) + "\n",
            "written out (as above)": written_out(statements),
            "lists that vary in shape": "\n".join([*head, 'copy A from s { take = "x" }', *lists]) + "\n"}


def _item(bit: int) -> str:
    return '"s"' if bit else '["s"]'


def check_cpu(path: Path, repeat: int) -> float:
    """The median CPU seconds (user + system) of ``python -m graphdsl check PATH``, a fresh process each."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    times = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = subprocess.run([sys.executable, "-m", "graphdsl", "check", str(path)], cwd=REPO, env=env,
                                capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if result.returncode != 0:
            raise SystemExit(result.stderr)
        times.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(times)


def shape_checks(statements: int, repeat: int) -> list[tuple[str, float, float]]:
    """(shape, CPU seconds of checking the template, of checking the plain spec it makes)."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for index, (name, text) in enumerate(shapes(statements).items()):
            template = Path(folder, f"shape{index}.gcomp")
            template.write_text(text, encoding="utf-8")
            expansion = expand_file(SourceFile(str(template), text), ParamValues.from_mapping({}), 10 * statements)
            spec = Path(folder, f"shape{index}_plain.gcomp")
            spec.write_text(unparse(expansion.spec), encoding="utf-8")
            rows.append((name, check_cpu(template, repeat), check_cpu(spec, repeat)))
    return rows


def print_shapes(statements: int, repeat: int) -> None:
    print(f"\n`graphdsl check` of templates of {statements} statements, a fresh process each (median of {repeat}), "
          "against the plain spec each makes:\n")
    print("| template | CPU seconds | its plain spec | x plain |")
    print("|---|--:|--:|--:|")
    for name, template, spec in shape_checks(statements, repeat):
        print(f"| {name} | {template:.3f} | {spec:.3f} | {template / spec:.2f} |")


def plain(text: str, repeat: int) -> list[tuple[str, float]]:
    file = SourceFile("plain.gcomp", text)
    parse_time, spec = best(lambda: parser.parse_source(file), repeat)
    check_time, _ = best(lambda: plain_check.check(spec), repeat)
    total_time, _ = best(lambda: plain_check.check(parser.parse_source(file)), repeat)
    return [("parse", parse_time), ("check", check_time), ("both", total_time)]


def cli_checks(repeat: int) -> list[tuple[str, str, float, float]]:
    """(spec, kind, CPU seconds, wall seconds) of ``graphdsl check`` in a fresh process, best of ``repeat``."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    rows = []
    for spec in sorted((REPO / "specs").glob("*.gcomp")):
        command = [sys.executable, "-m", "graphdsl", "check", str(spec.relative_to(REPO))]
        cpu, wall, out = [], [], ""
        for _ in range(repeat):
            before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
            wall.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            if result.returncode != 0:
                raise SystemExit(result.stderr)
            out = result.stdout
        rows.append((spec.name, "template" if "from a template" in out else "plain", min(cpu), min(wall)))
    return rows


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--uses", type=int, default=5000, help="block uses (2 statements each)")
    options.add_argument("--repeat", type=int, default=5, help="runs per measurement (the best is kept)")
    options.add_argument("--shapes-only", action="store_true", help="only the templates of four shapes (4.)")
    args = options.parse_args(argv)
    load = os.getloadavg()
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; best of {args.repeat} runs\n")
    if args.shapes_only:
        print_shapes(2 * args.uses, args.repeat)
        return 0

    stages, text, statements = template_stages(args.uses, args.repeat)
    anchor = plain(text, args.repeat)
    anchor_total = anchor[-1][1]
    print(f"A template making {statements} statements ({args.uses} block uses in a loop, each a copy and an alias, "
          f"and the input's copy), against the plain "
          f"spec of the same statements ({len(text.splitlines())} lines):\n")
    print("| stage | CPU seconds | x plain parse + check |")
    print("|---|--:|--:|")
    for name, seconds in stages:
        print(f"| template: {name} | {seconds:.3f} | {seconds / anchor_total:.2f} |")
    for name, seconds in anchor:
        print(f"| plain spec: {name} | {seconds:.3f} | {seconds / anchor_total:.2f} |")

    written = written_out_stages(2 * args.uses, args.repeat)
    print(f"\nA template of {2 * args.uses} statements written out (copies with expressions, computed names, "
          "values set from a parameter), against lark's own parse of it:\n")
    print("| stage | CPU seconds | x lark's parse |")
    print("|---|--:|--:|")
    for name, seconds in written:
        print(f"| {name} | {seconds:.3f} | {seconds / written[0][1]:.2f} |")

    print("\n`graphdsl check SPEC` of every example, a fresh process each:\n")
    print("| spec | kind | CPU seconds | wall seconds |")
    print("|---|---|--:|--:|")
    for name, kind, cpu, wall in cli_checks(args.repeat):
        print(f"| {name} | {kind} | {cpu:.3f} | {wall:.3f} |")
    print_shapes(2 * args.uses, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
