#!/usr/bin/env python3
"""Benchmark: memory kept after copies into target graphs that are then dropped.

Each method runs in its own subprocess: it builds the training graph of bench_copy.py (about
--ops ops), then for --rounds rounds copies the whole graph into a fresh tf.Graph, drops the target
and collects garbage, and records the process's resident set size (RSS) after each round, with
free heap memory handed back to the system first (glibc ``malloc_trim``, the same for every
method). Printed per round: the RSS kept since just before the first round; then what each round
keeps on average after the first, and the ratio against import_graph_def measured in the same run.

  graphdsl          graphdsl.copy_to_graph(top, target, namespace="copy"); the source's index
                    stays on the source for the next copy, by design
  graphdsl+release  the same, then graphdsl.tf.index.release_index(source) each round
  import_graph_def  source.as_graph_def() + tf.graph_util.import_graph_def(gd, name="copy")

    python benchmarks/bench_leaks.py [--ops 20000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
METHODS = ("import_graph_def", "graphdsl", "graphdsl+release")
MARK = "@@LEAKS@@ "


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def _settle() -> float:
    """RSS once garbage is collected and free heap memory is returned to the system."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    return _rss_mib()


def _layers_for(ops: int) -> int:
    from bench_copy import _build_graph

    n8 = len(_build_graph(8)[0].get_operations())
    n16 = len(_build_graph(16)[0].get_operations())
    per_layer = (n16 - n8) / 8.0
    return max(1, round((ops - (n8 - 8 * per_layer)) / per_layer))


def child(method: str, ops: int, rounds: int) -> dict:
    sys.path[:0] = [HERE, REPO]
    import tensorflow as tf
    from bench_copy import _build_graph

    from graphdsl import copy_to_graph
    from graphdsl.tf.index import release_index

    source, top = _build_graph(_layers_for(ops))

    def one_round() -> None:
        target = tf.Graph()
        if method == "import_graph_def":
            graph_def = source.as_graph_def()
            with target.as_default():
                tf.graph_util.import_graph_def(graph_def, name="copy")
            del graph_def
        else:
            copy_to_graph(top, target, namespace="copy")
            if method == "graphdsl+release":
                release_index(source)
        del target

    before = _settle()
    kept, seconds = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        one_round()
        seconds.append(time.perf_counter() - t0)
        kept.append(_settle() - before)
    return {"ops": len(source.get_operations()), "kept_mib": kept, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--methods", default=",".join(METHODS),
                        help="a subset of " + ",".join(METHODS) + " (import_graph_def always runs)")
    parser.add_argument("--_child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._child:
        method, ops, rounds = args._child
        print(MARK + json.dumps(child(method, int(ops), int(rounds))), flush=True)
        return

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"))
    methods = ["import_graph_def"] + [m for m in args.methods.split(",")
                                      if m in METHODS and m != "import_graph_def"]
    results = {}
    for method in methods:
        print(f"running {method} ...", file=sys.stderr, flush=True)
        proc = subprocess.run(
            [sys.executable, __file__, "--_child", method, str(args.ops), str(args.rounds)],
            capture_output=True, text=True, env=env)
        lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
        if not lines:
            sys.exit(f"{method} failed:\n{proc.stderr[-3000:]}")
        results[method] = json.loads(lines[-1][len(MARK):])

    ops = results["import_graph_def"]["ops"]
    print(f"{ops} ops per copy, {args.rounds} rounds; RSS kept since before round 1 (MiB):\n")
    print("| round | " + " | ".join(methods) + " |")
    print("|---:|" + "---:|" * len(methods))
    for i in range(args.rounds):
        print(f"| {i + 1} | " + " | ".join(f"{results[m]['kept_mib'][i]:.1f}" for m in methods) + " |")
    print("\n| method | kept per round after the first, MiB | vs import_graph_def | "
          "median seconds per copy |")
    print("|---|---:|---:|---:|")
    anchor = _per_round(results["import_graph_def"]["kept_mib"])
    for method in methods:
        per_round = _per_round(results[method]["kept_mib"])
        diff = per_round - anchor
        seconds = sorted(results[method]["seconds"])[len(results[method]["seconds"]) // 2]
        print(f"| {method} | {per_round:.2f} | {diff:+.2f} MiB | {seconds:.3f} |")


def _per_round(kept: list[float]) -> float:
    """Average growth per round from round 1 to the last (round 1 also fills one-time caches)."""
    return (kept[-1] - kept[0]) / (len(kept) - 1) if len(kept) > 1 else kept[0]


if __name__ == "__main__":
    main()
