#!/usr/bin/env python3
"""Benchmark: the time of one small copy as copies pile up in one target.

A spec with many copy statements from one big source makes many small copies into one target.
Each should cost what one small copy costs, whatever the size of the source and of the target.
Here, in one process per graphdsl version: the training graph of bench_copy.py (about --ops ops) is
the source; copy k takes layer k's activation (cycling over the layers) with ``stop_at`` its
input, so each copy brings about 20 ops (a dense layer, its two variables and their initializers)
into namespace "c<k>" of one target. Three ways (--modes, spec and api by default):

- ``spec``: ``compose`` of a spec of N such copy statements (the source saved as a MetaGraph, loaded
  once through a ``SourceCache`` before the timed runs), for each N of --copies; printed: its CPU
  time divided by N, the milliseconds per copy, and the ratio to the smallest N (1.0 means flat);
  then the time of rendering the plan report (``graphdsl plan``) of the largest spec.
- ``chain``: the same, with each copy after the first wired (``bind``) to the output of the copy
  before it instead of cut there, as a stack of layers is: no two copies can share an import.
- ``api``: ``copy_to_graph`` called once per copy, max(--copies) times into one target; printed: the
  median milliseconds per copy over each stretch of copies (the first 10, copies 91-100, 991-1000,
  ...), and its ratio to the first stretch.
- ``paths`` (this checkout only): the two ways a copy can enter its target, side by side as the
  target grows: each piece copied twice in turn, once through TensorFlow's import and once created
  op by op (``graphdsl.tf.copier.CREATE_RATIO`` forced either way); printed: the median ms per
  copy of each over each stretch, with the target's size in ops. Where creating wins sets
  ``CREATE_RATIO``.

    python benchmarks/bench_per_copy.py [--ops 20000] [--copies 10,100,1000] [--modes spec,api]
                                        [--repeat 3] [--baseline DIR]

--baseline DIR also runs the graphdsl package of another checkout, in the same run. CPU time
(``time.process_time``), steadier than wall time on a shared machine; the spec times are the median
of --repeat compositions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MARK = "@@PER_COPY@@ "
STRETCH = 10  # copies per measured stretch


def _pieces(source) -> list:
    """(activation, its layer's input) per dense layer of the source, in graph order."""
    pieces = []
    for op in source.get_operations():
        if op.type in ("Relu", "Tanh", "Sigmoid") and "/dense_" in op.name and "gradients" not in op.name:
            matmul = op.inputs[0].op.inputs[0].op  # activation(MatMul + b)
            pieces.append((op.outputs[0], matmul.inputs[0]))
    return pieces


def api_child(source, counts: list[int]) -> dict:
    import tensorflow as tf

    from graphdsl import copy_to_graph

    pieces = _pieces(source)
    target = tf.Graph()
    seconds = []
    for k in range(max(counts)):
        top, cut = pieces[k % len(pieces)]
        t0 = time.process_time()  # CPU time: steadier than wall time on a shared machine
        copy_to_graph(top, target, namespace=f"c{k}", stop_at=[cut])
        seconds.append(time.process_time() - t0)
    stretches = {n: statistics.median(seconds[max(0, n - STRETCH):n]) for n in counts}
    return {"target_ops": len(target.get_operations()),
            "ms": {str(n): s * 1e3 for n, s in stretches.items()}}


def paths_child(source, counts: list[int]) -> dict:
    import tensorflow as tf

    from graphdsl import copy_to_graph
    from graphdsl.tf import copier

    pieces = _pieces(source)
    target = tf.Graph()
    seconds: dict[str, list[float]] = {"import": [], "create": []}
    sizes = []
    for k in range(max(counts)):
        top, cut = pieces[k % len(pieces)]
        for way, ratio in (("import", 10**9), ("create", 0)):
            copier.CREATE_RATIO = ratio
            t0 = time.process_time()
            copy_to_graph(top, target, namespace=f"{way}{k}", stop_at=[cut])
            seconds[way].append(time.process_time() - t0)
        sizes.append(len(target.get_operations()))
    return {"target_ops": sizes[-1],
            "sizes": {str(n): sizes[n - 1] for n in counts},
            "ms": {way: {str(n): statistics.median(s[max(0, n - STRETCH):n]) * 1e3 for n in counts}
                   for way, s in seconds.items()}}


def spec_text(path: str, pieces: list, copies: int, chain: bool = False) -> str:
    """N copy statements; with ``chain``, each wired (bind) to the output of the one before it."""
    lines = ["graphdsl 1", f"source s = metagraph({json.dumps(path)})"]
    for k in range(copies):
        top, cut = pieces[k % len(pieces)]
        if chain and k:
            before = pieces[(k - 1) % len(pieces)][0]
            lines.append(f'copy c{k} from s {{ take = "{top.op.name}"  '
                         f'bind "{cut.name}" = c{k - 1}["{before.name}"] }}')
        else:
            lines.append(f'copy c{k} from s {{ take = "{top.op.name}"  stop_at = "{cut.name}" }}')
    return "\n".join(lines) + "\n"


def spec_child(source, counts: list[int], repeat: int, chain: bool = False) -> dict:
    import tempfile

    import tensorflow as tf

    from graphdsl import compose, load_spec_text
    from graphdsl.assemble.plan import render
    from graphdsl.tf.cache import SourceCache

    pieces = _pieces(source)
    with tempfile.TemporaryDirectory() as tmp, SourceCache() as cache:
        path = os.path.join(tmp, "source.meta")
        with source.as_default():
            tf.compat.v1.train.export_meta_graph(path)
        compose(load_spec_text(spec_text(path, pieces, 1)), source_cache=cache).close()  # load, index
        specs = {n: load_spec_text(spec_text(path, pieces, n, chain)) for n in counts}
        seconds: dict[int, list[float]] = {n: [] for n in counts}
        plan: list[float] = []  # rendering the plan report of the largest spec
        target_ops = 0
        for _ in range(repeat):
            for n in counts:
                t0 = time.process_time()
                composition = compose(specs[n], source_cache=cache)
                seconds[n].append(time.process_time() - t0)
                target_ops = len(composition.graph.get_operations())
                if n == counts[-1]:
                    t0 = time.process_time()
                    render(composition)
                    plan.append(time.process_time() - t0)
                composition.close()
                del composition
    return {"target_ops": target_ops, "plan_ms": statistics.median(plan) * 1e3,
            "ms": {str(n): statistics.median(seconds[n]) / n * 1e3 for n in counts}}


def child(home: str, ops: int, counts: list[int], mode: str, repeat: int) -> dict:
    sys.path[:0] = [home, HERE]
    import graphdsl
    from bench_copy import _build_graph
    from bench_leaks import _layers_for

    assert os.path.abspath(graphdsl.__file__).startswith(os.path.abspath(home) + os.sep)
    source, _ = _build_graph(_layers_for(ops))
    if mode == "api":
        out = api_child(source, counts)
    elif mode == "paths":
        out = paths_child(source, counts)
    else:
        out = spec_child(source, counts, repeat, chain=mode == "chain")
    return {"source_ops": len(source.get_operations()), **out}


def _print_paths(res: dict, counts: list[int]) -> None:
    print(f"paths: copy_to_graph of one piece twice per step, imported and created op by op; source "
          f"{res['source_ops']} ops; median CPU ms per copy over steps n-{STRETCH - 1}..n\n")
    print("| step | target ops | import | create | create / import |")
    print("|---:|---:|---:|---:|---:|")
    for n in counts:
        imported, created = res["ms"]["import"][str(n)], res["ms"]["create"][str(n)]
        print(f"| {n} | {res['sizes'][str(n)]} | {imported:.2f} | {created:.2f} | {created / imported:.2f} |")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=20000)
    parser.add_argument("--copies", default="10,100,1000")
    parser.add_argument("--modes", default="spec,api")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", metavar="DIR")
    parser.add_argument("--_child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._child:
        home, ops, counts, mode, repeat = args._child
        out = child(home, int(ops), [int(c) for c in counts.split(",")], mode, int(repeat))
        print(MARK + json.dumps(out), flush=True)
        return
    counts = sorted(int(c) for c in args.copies.split(","))
    versions = {"graphdsl": REPO}
    if args.baseline:
        versions["graphdsl_baseline"] = os.path.abspath(args.baseline)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"))
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{os.cpu_count()} CPUs\n")
    for mode in args.modes.split(","):
        results = {}
        for name, home in versions.items():
            if mode == "paths" and name != "graphdsl":
                continue
            print(f"running {name} ({mode}) ...", file=sys.stderr, flush=True)
            proc = subprocess.run([sys.executable, __file__, "--_child", home, str(args.ops),
                                   ",".join(map(str, counts)), mode, str(args.repeat)],
                                  capture_output=True, text=True, env=env)
            lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
            if not lines:
                sys.exit(f"{name} failed:\n{proc.stderr[-3000:]}")
            results[name] = json.loads(lines[-1][len(MARK):])
        first = next(iter(results.values()))
        if mode == "paths":
            _print_paths(first, counts)
            continue
        if mode in ("spec", "chain"):
            wired = ", each wired to the one before it" if mode == "chain" else ""
            print(f"{mode}: compose of a spec of N copy statements{wired}; source {first['source_ops']} ops; "
                  f"with N={counts[-1]} the target has {first['target_ops']} ops; CPU ms per copy "
                  f"(compose time / N, median of {args.repeat})\n")
        else:
            print(f"api: copy_to_graph once per copy; source {first['source_ops']} ops; after "
                  f"{counts[-1]} copies the target has {first['target_ops']} ops; median CPU ms per "
                  f"copy over copies n-{STRETCH - 1}..n\n")
        print("| version | " + " | ".join(f"n={n}" for n in counts) + f" | n={counts[-1]} / n={counts[0]} |")
        print("|---|" + "---:|" * (len(counts) + 1))
        for name, res in results.items():
            ms = [res["ms"][str(n)] for n in counts]
            print(f"| {name} | " + " | ".join(f"{m:.2f}" for m in ms) + f" | {ms[-1] / ms[0]:.2f} |")
        if mode in ("spec", "chain"):
            print("\nthe plan report of the N=" + str(counts[-1]) + " spec (graphdsl.assemble.plan.render), "
                  "CPU ms: " + ", ".join(f"{name} {res['plan_ms']:.1f}" for name, res in results.items()))
        print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n", flush=True)


if __name__ == "__main__":
    main()
