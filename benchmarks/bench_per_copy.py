#!/usr/bin/env python3
"""Benchmark: the time of one small copy as copies pile up in one target.

A spec with many copy statements from one big source makes many small copies into one target.
Each should cost what one small copy costs, whatever the size of the source and of the target.
Here, in one process per graphdsl version: the training graph of bench_copy.py (about --ops ops) is
the source; copy k takes layer k's activation (cycling over the layers) with ``stop_at`` its
input, so each copy brings about 20 ops (a dense layer, its two variables and their initializers)
into namespace "c<k>" of one target. Printed: the median milliseconds per copy over each stretch
of copies (the first 10, copies 91-100, 991-1000, ...), in CPU time, and its ratio to the first stretch: 1.0
means flat.

    python benchmarks/bench_per_copy.py [--ops 20000] [--copies 10,100,1000] [--baseline DIR]

--baseline DIR also runs the graphdsl package of another checkout, in the same run.
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


def child(home: str, ops: int, counts: list[int]) -> dict:
    sys.path[:0] = [home, HERE]
    import tensorflow as tf

    import graphdsl
    from bench_copy import _build_graph
    from bench_leaks import _layers_for
    from graphdsl import copy_to_graph

    assert os.path.abspath(graphdsl.__file__).startswith(os.path.abspath(home) + os.sep)
    source, _ = _build_graph(_layers_for(ops))
    pieces = []
    for op in source.get_operations():
        if op.type in ("Relu", "Tanh", "Sigmoid") and "/dense_" in op.name and "gradients" not in op.name:
            matmul = op.inputs[0].op.inputs[0].op  # activation(MatMul + b)
            pieces.append((op.outputs[0], matmul.inputs[0]))
    target = tf.Graph()
    seconds = []
    for k in range(max(counts)):
        top, cut = pieces[k % len(pieces)]
        t0 = time.process_time()  # CPU time: steadier than wall time on a shared machine
        copy_to_graph(top, target, namespace=f"c{k}", stop_at=[cut])
        seconds.append(time.process_time() - t0)
    stretches = {n: statistics.median(seconds[max(0, n - STRETCH):n]) for n in counts}
    return {"source_ops": len(source.get_operations()), "target_ops": len(target.get_operations()),
            "ms": {str(n): s * 1e3 for n, s in stretches.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=20000)
    parser.add_argument("--copies", default="10,100,1000")
    parser.add_argument("--baseline", metavar="DIR")
    parser.add_argument("--_child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._child:
        home, ops, counts = args._child
        out = child(home, int(ops), [int(c) for c in counts.split(",")])
        print(MARK + json.dumps(out), flush=True)
        return
    counts = sorted(int(c) for c in args.copies.split(","))
    versions = {"graphdsl": REPO}
    if args.baseline:
        versions["graphdsl_baseline"] = os.path.abspath(args.baseline)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"))
    results = {}
    for name, home in versions.items():
        print(f"running {name} ...", file=sys.stderr, flush=True)
        proc = subprocess.run([sys.executable, __file__, "--_child", home, str(args.ops),
                               ",".join(map(str, counts))], capture_output=True, text=True, env=env)
        lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
        if not lines:
            sys.exit(f"{name} failed:\n{proc.stderr[-3000:]}")
        results[name] = json.loads(lines[-1][len(MARK):])
    first = next(iter(results.values()))
    print(f"source {first['source_ops']} ops; after {counts[-1]} copies the target has "
          f"{first['target_ops']} ops; median CPU ms per copy over copies n-{STRETCH - 1}..n\n")
    print("| version | " + " | ".join(f"n={n}" for n in counts) + f" | n={counts[-1]} / n={counts[0]} |")
    print("|---|" + "---:|" * (len(counts) + 1))
    for name, res in results.items():
        ms = [res["ms"][str(n)] for n in counts]
        print(f"| {name} | " + " | ".join(f"{m:.2f}" for m in ms) + f" | {ms[-1] / ms[0]:.2f} |")


if __name__ == "__main__":
    main()
