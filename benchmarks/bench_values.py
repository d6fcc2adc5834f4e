#!/usr/bin/env python3
"""Benchmark: copying large variables by value and exporting them, against plain TensorFlow.

A source MetaGraph + checkpoint holds N float32 variables of M MiB each (random values) and a small
graph reading them. Two ways do the same job, each in its own subprocess (peak RSS is per process):

  graphdsl  ``graphdsl build`` of a spec that copies everything from the source with
            ``variables = value`` and exports a SavedModel and a MetaGraph + checkpoint
  plain     a hand-written TensorFlow script: import_meta_graph + restore, then a SavedModel
            (``saved_model.Builder``) and a MetaGraph + checkpoint (``Saver`` + export_meta_graph)

Runs are interleaved (plain, graphdsl, plain, graphdsl, ...); the table gives medians of wall time,
CPU time (user + system) and peak RSS, the ratios graphdsl / plain, peak RSS over the values' size,
and the size of the graph files written (``saved_model.pb``, ``.meta``), which must not grow with
the values. ``--check`` then loads graphdsl's exports back (the SavedModel with the TF1 loader, the
MetaGraph with import_meta_graph + restore) and compares every variable, bit for bit, with the
source's checkpoint.

    python benchmarks/bench_values.py [--variables 4] [--mib 256] [--repeat 3] [--check]
    python benchmarks/bench_values.py --variables 1 --mib 3072 --repeat 1 --check   # one 3 GB variable
    python benchmarks/bench_values.py --variables 5 --mib 1024 --repeat 1 --check   # a 5 GB model
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WIDTH = 256  # columns of each variable: rows = size / (4 * WIDTH)

MAKE_SOURCE = r"""
import sys, numpy as np, tensorflow as tf
tf1 = tf.compat.v1
out, n, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = mib * (1 << 20) // (4 * %(width)d)
graph = tf.Graph()
with graph.as_default():
    x = tf1.placeholder(tf.float32, [None, %(width)d], name="x")
    y = x
    variables = []
    for i in range(n):
        v = tf1.get_variable(f"w{i}", shape=[rows, %(width)d], initializer=tf1.zeros_initializer(),
                             use_resource=True)
        variables.append(v)
        y = y + tf.reduce_sum(v[:8], axis=0)
    tf.identity(y, name="y")
    value = tf1.placeholder(tf.float32, [None, %(width)d])
    start = tf1.placeholder(tf.int32, [])
    with tf1.Session() as session:
        session.run(tf1.global_variables_initializer())
        rng = np.random.default_rng(0)
        step = max(1, (64 << 20) // (4 * %(width)d))  # fill 64 MiB at a time
        for v in variables:
            assign = v[start:start + tf.shape(value)[0]].assign(value)
            for a in range(0, rows, step):
                chunk = rng.standard_normal((min(step, rows - a), %(width)d), dtype=np.float32)
                session.run(assign.op, {value: chunk, start: a})
        tf1.train.Saver(variables).save(session, out + "/model.ckpt", write_meta_graph=False)
    tf1.train.export_meta_graph(out + "/model.meta")
""" % {"width": WIDTH}

PLAIN = r"""
import sys, tensorflow as tf
tf1 = tf.compat.v1
source, out = sys.argv[1], sys.argv[2]
graph = tf.Graph()
with graph.as_default():
    saver = tf1.train.import_meta_graph(source + "/model.meta", clear_devices=True)
    session = tf1.Session(graph=graph)
    saver.restore(session, source + "/model.ckpt")
    signature = tf1.saved_model.predict_signature_def(
        {"x": graph.get_tensor_by_name("x:0")}, {"y": graph.get_tensor_by_name("y:0")})
    builder = tf1.saved_model.Builder(out + "/model")
    builder.add_meta_graph_and_variables(session, ["serve"], {"serving_default": signature},
                                         strip_default_attrs=True)
    builder.save()
    saver.save(session, out + "/model.ckpt", write_meta_graph=False, write_state=False)
    tf1.train.export_meta_graph(out + "/model.meta", graph=graph, saver_def=saver.saver_def)
"""

SPEC = """graphdsl 1

source src = metagraph("{meta}", checkpoint = "{ckpt}")

copy M from src {{
    take      = ["y"]
    variables = value
}}

export savedmodel "model" {{
    signature serving_default {{ inputs = {{ x: M["x:0"] }} outputs = {{ y: M["y:0"] }} }}
}}
export metagraph "graph"
"""

CHECK = r"""
import sys, numpy as np, tensorflow as tf
tf1 = tf.compat.v1
source, out, namespace = sys.argv[1], sys.argv[2], sys.argv[3]
reader = tf1.train.NewCheckpointReader(source + "/model.ckpt")
names = sorted(reader.get_variable_to_shape_map())

def same(session, graph, what):
    copies = {v.op.name: v for v in graph.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES)}
    if sorted(copies) != [f"{namespace}/{name}" for name in names]:
        sys.exit(f"{what}: variables {sorted(copies)}, expected copies of {names}")
    for name in names:
        copy, original = session.run(copies[f"{namespace}/{name}"]), reader.get_tensor(name)
        if copy.dtype != original.dtype or copy.shape != original.shape or \
                copy.tobytes() != original.tobytes():
            sys.exit(f"{what}: variable {name} differs from the source")
        del copy, original
    print(f"{what}: {len(names)} variables bit-identical")

graph = tf.Graph()
with tf1.Session(graph=graph) as session:
    tf1.saved_model.loader.load(session, ["serve"], out + "/model")
    same(session, graph, "savedmodel")
graph = tf.Graph()
with graph.as_default(), tf1.Session(graph=graph) as session:
    tf1.train.import_meta_graph(out + "/graph.meta").restore(session, out + "/graph.ckpt")
    same(session, graph, "metagraph")
"""


def run(argv: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Runs ``argv``; returns its wall time, CPU time and peak RSS (MiB). Fails loudly."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    proc.stdout.close(), proc.stderr.close()  # type: ignore[union-attr,func-returns-value]
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{out.decode()}\n{err.decode()[-3000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024,
            "out": out.decode()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variables", type=int, default=4)
    parser.add_argument("--mib", type=int, default=256, help="MiB per variable")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="load graphdsl's exports back and compare")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", GRAPHDSL_PROGRESS="0")
    python = sys.executable
    values_mib = args.variables * args.mib
    with tempfile.TemporaryDirectory(prefix="bench_values_") as tmp:
        work = Path(tmp)
        source = work / "source"
        source.mkdir()
        print(f"making the source: {args.variables} x {args.mib} MiB ...", flush=True)
        made = run([python, "-c", MAKE_SOURCE, str(source), str(args.variables), str(args.mib)], env)
        print(f"  {made['wall']:.1f} s", flush=True)
        spec = work / "spec.gcomp"
        spec.write_text(SPEC.format(meta=source / "model.meta", ckpt=source / "model.ckpt"))
        results: dict[str, list[dict[str, Any]]] = {"plain": [], "graphdsl": []}
        graph_files: dict[str, dict[str, int]] = {}
        for i in range(args.repeat):
            for method in ("plain", "graphdsl"):
                out = work / f"out_{method}"
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()
                if method == "plain":
                    r = run([python, "-c", PLAIN, str(source), str(out)], env)
                else:
                    r = run([python, "-m", "graphdsl", "build", str(spec), "-o", str(out)], env)
                results[method].append(r)
                meta = out / ("model.meta" if method == "plain" else "graph.meta")
                graph_files[method] = {"saved_model.pb": (out / "model" / "saved_model.pb").stat().st_size,
                                       "model.meta": meta.stat().st_size}
                r["load"] = os.getloadavg()[0]
                print(f"  run {i + 1} {method:8s} wall {r['wall']:6.1f} s  cpu {r['cpu']:6.1f} s  "
                      f"peak RSS {r['rss']:7.0f} MiB  load average {r['load']:.1f}", flush=True)
        checked = ""
        if args.check:
            r = run([python, "-c", CHECK, str(source), str(work / "out_graphdsl"), "M"], env)
            checked = r["out"].strip()
            print("  " + checked.replace("\n", "\n  "), flush=True)
    report(args, values_mib, results, graph_files, checked)


def report(args: argparse.Namespace, values_mib: int, results: dict, graph_files: dict, checked: str) -> None:
    med = {m: {k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu", "rss")}
           for m, runs in results.items()}
    loads = [r["load"] for runs in results.values() for r in runs]
    print()
    print(f"{args.variables} x {args.mib} MiB = {values_mib} MiB of values, median of {args.repeat} "
          f"interleaved runs; load average (1 min) {min(loads):.1f} to {max(loads):.1f} on "
          f"{os.cpu_count()} cores")
    print()
    print("| method | wall s | CPU s | peak RSS MiB | RSS / values | saved_model.pb bytes | .meta bytes |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for method in ("plain", "graphdsl"):
        m = med[method]
        print(f"| {method} | {m['wall']:.1f} | {m['cpu']:.1f} | {m['rss']:.0f} | "
              f"{m['rss'] / values_mib:.2f}x | {graph_files[method]['saved_model.pb']} | "
              f"{graph_files[method]['model.meta']} |")
    print()
    wall = med["graphdsl"]["wall"] / med["plain"]["wall"]
    cpu = med["graphdsl"]["cpu"] / med["plain"]["cpu"]
    rss = med["graphdsl"]["rss"] / values_mib
    print(f"graphdsl / plain: wall {wall:.2f}x, CPU {cpu:.2f}x (goal <= 1.5x); "
          f"graphdsl peak RSS / values {rss:.2f}x (goal < 2.5x)")
    if checked:
        print("load back: " + "; ".join(checked.splitlines()))
    if args.json:
        Path(args.json).write_text(json.dumps({"median": med, "graph_files": graph_files,
                                               "values_mib": values_mib, "checked": checked}, indent=2))


if __name__ == "__main__":
    main()
