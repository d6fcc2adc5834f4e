#!/usr/bin/env python3
"""Benchmark: a whole ``graphdsl build`` against a well-written plain TensorFlow script.

The source is bench_copy.py's training graph (dense layers with resource variables, gradients,
initializers; about N ops), saved twice: as a MetaGraph + checkpoint and as a TF1 SavedModel. The
job, done both ways, each in its own subprocess:

  graphdsl  ``graphdsl build`` of a spec that copies the whole graph into namespace M with
            ``variables = value`` and exports a SavedModel (one signature) and a MetaGraph +
            checkpoint
  plain     the same in plain TensorFlow, written well: the source imported straight into the
            target under the scope M (``import_meta_graph(..., import_scope="M")`` and restore, or
            ``saved_model.loader.load(..., import_scope="M")``), then one Saver for both exports

Runs are interleaved; the table gives medians of wall and CPU time (user + system) of the whole
process (start, import, work and exit) and their ratios, with the load average (1 minute) seen
after each run. ``graphdsl plan`` is timed too (it composes and prints its report, without
exports), against a process that only imports graphdsl and composes the spec.

    python benchmarks/bench_build.py [--sizes 20000,200000] [--kinds metagraph,savedmodel] [--repeat 3]
                                     [--sources DIR] [--methods plain,build,plan,compose] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

MAKE = r"""
import sys, time
sys.path.insert(0, %(here)r)
import tensorflow as tf
import bench_copy
tf1 = tf.compat.v1
target, out = int(sys.argv[1]), sys.argv[2]
n8 = len(bench_copy._build_graph(8)[0].get_operations())
n16 = len(bench_copy._build_graph(16)[0].get_operations())
per_layer = (n16 - n8) / 8.0
layers = max(1, round((target - (n8 - 8 * per_layer)) / per_layer))
graph, top = bench_copy._build_graph(layers)
with graph.as_default(), tf1.Session() as session:
    session.run(tf1.global_variables_initializer())
    saver = tf1.train.Saver()
    saver.save(session, out + "/model.ckpt", write_meta_graph=False, write_state=False)
    tf1.train.export_meta_graph(out + "/model.meta", saver_def=saver.saver_def)
    signature = tf1.saved_model.predict_signature_def(
        {"x": graph.get_tensor_by_name("src/x:0"), "y": graph.get_tensor_by_name("src/y:0")},
        {"loss": graph.get_tensor_by_name("src/loss:0")})
    builder = tf1.saved_model.Builder(out + "/sm")
    builder.add_meta_graph_and_variables(session, ["serve"], {"serving_default": signature}, saver=saver)
    builder.save()
print(len(graph.get_operations()))
""" % {"here": str(HERE)}

PLAIN = r"""
import sys, tensorflow as tf
tf1 = tf.compat.v1
kind, source, out = sys.argv[1], sys.argv[2], sys.argv[3]
graph = tf.Graph()
with graph.as_default():
    session = tf1.Session(graph=graph)
    if kind == "metagraph":
        loaded = tf1.train.import_meta_graph(source + "/model.meta", import_scope="M", clear_devices=True)
        loaded.restore(session, source + "/model.ckpt")
    else:
        tf1.saved_model.loader.load(session, ["serve"], source + "/sm", import_scope="M")
    signature = tf1.saved_model.predict_signature_def(
        {"x": graph.get_tensor_by_name("M/src/x:0"), "y": graph.get_tensor_by_name("M/src/y:0")},
        {"loss": graph.get_tensor_by_name("M/src/loss:0")})
    saver = tf1.train.Saver(sharded=True, allow_empty=True)  # one Saver for both exports
    builder = tf1.saved_model.Builder(out + "/model")
    builder.add_meta_graph_and_variables(session, ["serve"], {"serving_default": signature},
                                         saver=saver, strip_default_attrs=True)
    builder.save()
    saver.save(session, out + "/graph.ckpt", write_meta_graph=False, write_state=False)
    tf1.train.export_meta_graph(out + "/graph.meta", graph=graph, saver_def=saver.saver_def)
"""

# compose alone, in a process like plan's: the anchor of "plan costs compose plus its report"
COMPOSE = r"""
import os, sys
from graphdsl.tf.quiet import import_tensorflow
import_tensorflow()
from graphdsl.assemble.compose import compose
composition = compose(sys.argv[1])
print(len(composition.graph.get_operations()))
sys.stdout.flush()
os._exit(0)
"""

METHODS = {"plain": "plain", "build": "graphdsl build", "plan": "graphdsl plan", "compose": "compose"}

SOURCES = {
    "metagraph": 'metagraph("{src}/model.meta", checkpoint = "{src}/model.ckpt")',
    "savedmodel": 'savedmodel("{src}/sm")',
}

SPEC = """graphdsl 1

source src = {source}

copy M from src {{
    take      = "src/top"
    variables = value
}}

export savedmodel "model" {{
    signature serving_default {{
        inputs  = {{ x: M["src/x:0"], y: M["src/y:0"] }}
        outputs = {{ loss: M["src/loss:0"] }}
    }}
}}
export metagraph "graph"
"""


def run(argv: list[str], env: dict[str, str], cwd: str | None = None) -> dict[str, float | str]:
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    usage = _child_usage(proc)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{out.decode()}\n{err.decode()[-3000:]}")
    return {"wall": wall, "cpu": usage, "out": out.decode()}


_last = [0.0]


def _child_usage(proc: subprocess.Popen) -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = usage.ru_utime + usage.ru_stime
    spent, _last[0] = total - _last[0], total
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="20000,200000")
    parser.add_argument("--kinds", default="metagraph,savedmodel")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--methods", default="plain,build,plan,compose",
                        help="a subset of plain,build,plan,compose (plain and build are needed for the ratio)")
    parser.add_argument("--baseline", metavar="DIR",
                        help="also time 'graphdsl build' with the graphdsl package of the checkout DIR "
                             "(e.g. `git archive REV | tar -x -C DIR`)")
    parser.add_argument("--sources", metavar="DIR",
                        help="keep the sources made in DIR and reuse those found there (a 200k-op source "
                             "takes minutes to make)")
    args = parser.parse_args()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", GRAPHDSL_PROGRESS="0")
    methods = args.methods.split(",")
    python = sys.executable
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_build_") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            src = Path(args.sources or tmp) / f"src{size}"
            if (src / "ops").is_file():
                ops = int((src / "ops").read_text())
                print(f"source: {ops} ops (kept in {src})", flush=True)
            else:
                shutil.rmtree(src, ignore_errors=True)
                src.mkdir(parents=True)
                made = run([python, "-c", MAKE, str(size), str(src)], env)
                ops = int(str(made["out"]).split()[-1])
                (src / "ops").write_text(str(ops))
                print(f"source: {ops} ops ({made['wall']:.1f} s to make)", flush=True)
            for kind in args.kinds.split(","):
                spec = Path(tmp) / f"spec_{kind}_{size}.gcomp"
                spec.write_text(SPEC.format(source=SOURCES[kind].format(src=src)))
                times: dict[str, list[dict]] = {name: [] for key, name in METHODS.items() if key in methods}
                if args.baseline:
                    times["baseline build"] = []
                for i in range(args.repeat):
                    for method in times:
                        out = Path(tmp) / "out"
                        shutil.rmtree(out, ignore_errors=True)
                        out.mkdir()
                        cwd = None
                        if method == "plain":
                            argv = [python, "-c", PLAIN, kind, str(src), str(out)]
                        elif method in ("graphdsl build", "baseline build"):
                            argv = [python, "-m", "graphdsl", "build", str(spec), "-o", str(out)]
                            # run in DIR: `python -m` puts the working directory first on sys.path
                            cwd = args.baseline if method == "baseline build" else None
                        elif method == "graphdsl plan":
                            argv = [python, "-m", "graphdsl", "plan", str(spec)]
                        else:
                            argv = [python, "-c", COMPOSE, str(spec)]
                        r = run(argv, env, cwd)
                        r["load"] = os.getloadavg()[0]
                        times[method].append(r)
                        print(f"  {kind} {ops} run {i + 1} {method:15s} wall {r['wall']:6.1f} s "
                              f"cpu {r['cpu']:6.1f} s  load average {r['load']:.1f}", flush=True)
                med = {m: {k: statistics.median(r[k] for r in rs) for k in ("wall", "cpu")}
                       for m, rs in times.items()}
                loads = [r["load"] for rs in times.values() for r in rs]
                rows.append((kind, ops, med, (min(loads), max(loads))))
    print()
    print(f"median of {args.repeat} interleaved runs on {os.cpu_count()} cores; build ratio = graphdsl build / "
          "plain (goal <= 1.1x); plan ratio = graphdsl plan / compose alone (both whole processes)"
          + ("; baseline = graphdsl build of the --baseline checkout" if args.baseline else ""))
    print()
    print("| source | ops | load average | plain wall s | plain CPU s | build wall s | build CPU s | "
          "build ratio CPU | plan CPU s | compose CPU s | plan ratio CPU |"
          + (" baseline CPU s | baseline ratio CPU |" if args.baseline else ""))
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if args.baseline else ""))
    for kind, ops, med, (low, high) in rows:
        p, b, pl, c = (med.get(m, _NONE) for m in ("plain", "graphdsl build", "graphdsl plan", "compose"))
        line = (f"| {kind} | {ops} | {low:.1f}-{high:.1f} | {p['wall']:.1f} | {p['cpu']:.1f} | {b['wall']:.1f} | "
                f"{b['cpu']:.1f} | {_ratio(b, p)} | {pl['cpu']:.1f} | {c['cpu']:.1f} | {_ratio(pl, c)} |")
        if args.baseline:
            base = med["baseline build"]
            line += f" {base['cpu']:.1f} | {_ratio(base, p)} |"
        print(line)


_NONE = {"wall": float("nan"), "cpu": float("nan")}


def _ratio(a: dict[str, float], b: dict[str, float]) -> str:
    return f"{a['cpu'] / b['cpu']:.2f}x" if b["cpu"] == b["cpu"] and a["cpu"] == a["cpu"] else "-"


if __name__ == "__main__":
    main()
