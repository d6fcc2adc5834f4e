#!/usr/bin/env python3
"""Benchmark: `graphdsl check SPEC` as a user runs it, a fresh process per run, for each spec.

Each run is `python -m graphdsl check SPEC` in a new process (the interpreter's start, the imports,
reading the grammar's parsers, parsing and checking). The anchor, in the same run and interleaved
with it: `python -c pass`, the bare interpreter's start. The table gives, for each spec, the
median CPU seconds of the child (user + system, from getrusage) and its median wall seconds, and
the ratio of the CPU time to the anchor's.

With --baseline DIR (another checkout, e.g. `git archive REV | tar -x -C DIR`), the same command
is also run with DIR's graphdsl first on the module path, interleaved with this checkout's.

Python writes no bytecode cache when PYTHONDONTWRITEBYTECODE is set, and then compiles every
module of graphdsl that has none at each start (an editable install); `python -m compileall
graphdsl` writes them as a wheel's install does. The header says whether the variable is set.

    python benchmarks/bench_startup.py [--repeat 5] [--baseline DIR] [SPEC ...]
"""

from __future__ import annotations

import argparse
import glob
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(HERE)


def run(command: list[str], checkout: str | None) -> tuple[float, float]:
    """CPU and wall seconds of one child process running ``command`` (from an unrelated folder, so
    that the module path is the checkout's alone)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if checkout is not None:
        env["PYTHONPATH"] = os.path.abspath(checkout)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd="/", capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("specs", nargs="*", help="spec files (default: specs/*.gcomp)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per spec and checkout (median)")
    parser.add_argument("--baseline", metavar="DIR", help="also run the graphdsl of the checkout DIR")
    args = parser.parse_args(argv)
    specs = [os.path.abspath(s) for s in args.specs] or sorted(glob.glob(os.path.join(CHECKOUT, "specs", "*.gcomp")))
    checkouts = {"this": CHECKOUT} | ({"baseline": args.baseline} if args.baseline else {})
    load = os.getloadavg()[0]
    cache = "PYTHONDONTWRITEBYTECODE set (bytecode caches are read, never written)" \
        if os.environ.get("PYTHONDONTWRITEBYTECODE") else "bytecode caches written and read"
    print(f"# Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load:.2f} at start; {cache}; "
          f"median of {args.repeat}")
    anchor: list[float] = []
    rows = []
    for spec in specs:
        cpu: dict[str, list[float]] = {name: [] for name in checkouts}
        wall: dict[str, list[float]] = {name: [] for name in checkouts}
        for _ in range(args.repeat):
            anchor.append(run([sys.executable, "-c", "pass"], None)[0])
            for name, checkout in checkouts.items():
                c, w = run([sys.executable, "-m", "graphdsl", "check", spec], checkout)
                cpu[name].append(c)
                wall[name].append(w)
        rows.append((os.path.basename(spec), {n: statistics.median(v) for n, v in cpu.items()},
                     {n: statistics.median(v) for n, v in wall.items()}))
    python = statistics.median(anchor)
    names = list(checkouts)
    print(f"# the anchor, `python -c pass`: {python:.3f} CPU seconds")
    print("| spec | " + " | ".join(f"{n} CPU s | {n} wall s | {n} CPU / anchor" for n in names) + " |")
    print("|---|" + "---:|---:|---:|" * len(names))
    for spec, cpu_s, wall_s in rows:
        print(f"| {spec} | " + " | ".join(f"{cpu_s[n]:.3f} | {wall_s[n]:.3f} | {cpu_s[n] / python:.1f}"
                                          for n in names) + " |")
    print(f"# load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
