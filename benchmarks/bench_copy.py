#!/usr/bin/env python3
"""Benchmark: copying a whole TensorFlow graph into a fresh tf.Graph, several ways.

Methods (each measured in its own subprocess, so that peak memory is per method):

  graphdsl          graphdsl.copy_to_graph(top, target, namespace="copy")
  import_graph_def  source.as_graph_def() + tf.graph_util.import_graph_def(gd, name="copy")
  meta_graph        meta_graph.copy_scoped_meta_graph("", "copy", source, target)
                    (export_scoped_meta_graph + import_scoped_meta_graph; an empty from_scope
                    copies the whole graph, names become copy/src/...)
  meta_graph_scoped the same with from_scope "src" (names become copy/...); the exporter then
                    rebuilds the GraphDef node by node in Python to strip the scope
  opbyop            benchmarks/opbyop.py: one Graph.create_op call per op (classic blog-post style)
  tf_floor          source.as_graph_def() + TensorFlow's C++ import of it (TF_GraphImportGraphDef),
                    without a Python wrapper per op: what any copy into a live graph costs at least

The source graph (a training graph: a deep stack of small dense layers with resource variables,
gradients and a GradientDescent update, initializer, readiness report) is built once per size in its
own subprocess and saved as a MetaGraphDef; each measuring subprocess loads it (not timed) and times
only the copy. See benchmarks/README.md for the columns.

    python benchmarks/bench_copy.py [--sizes 2000,20000,200000] [--repeat N] [--json FILE]
                                    [--baseline DIR] [--workdir DIR]

--baseline DIR adds a row "graphdsl_baseline": the graphdsl package of another checkout (DIR), to
compare two versions of the copier in one run. Repetitions are interleaved (method 1, 2, ..., then
again), so that a change in the machine's load falls on every method alike. --workdir DIR keeps the
source MetaGraphDefs (and their build info) in DIR, and a later run with the same DIR reuses them
rather than building them again (the 200k-op source takes minutes to build).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

METHODS = ("graphdsl", "import_graph_def", "meta_graph", "meta_graph_scoped", "opbyop", "tf_floor")
BASELINE = "graphdsl_baseline"  # only with --baseline DIR
BASELINE_ENV = "GRAPHDSL_BENCH_BASELINE"
DEFAULT_SIZES = (2000, 20000, 200000)
# meta_graph_scoped's export is superlinear: ~10 s at 20k ops, still running after 9 minutes at
# 200k ops (2-core machine), so by default it is not run on sources over 50k ops.
DEFAULT_CUTOFFS = "meta_graph_scoped=50000"
RESULT_MARK = "@@BENCH_RESULT@@ "
SCOPE = "src"
NAMESPACE = "copy"
TOP_NAME = SCOPE + "/top:0"
WIDTH = 8  # units per dense layer: the graph, not the arithmetic, is what is measured


# --------------------------------------------------------------------------------------------
# Source graph (runs in the "build" subprocess)
# --------------------------------------------------------------------------------------------

def _build_graph(layers: int):
    """A training graph with ``layers`` dense layers; returns (graph, top tensor)."""
    import tensorflow as tf

    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default(), tf1.variable_scope(SCOPE):
        x = tf1.placeholder(tf.float32, [None, WIDTH], name="x")
        y = tf1.placeholder(tf.float32, [None, WIDTH], name="y")
        activations = (tf.nn.relu, tf.nn.tanh, tf.nn.relu, tf.sigmoid)
        h = x
        for i in range(layers):
            with tf1.variable_scope(f"dense_{i}"):
                w = tf1.get_variable("kernel", [WIDTH, WIDTH], use_resource=True)
                b = tf1.get_variable(
                    "bias", [WIDTH], initializer=tf1.zeros_initializer(), use_resource=True
                )
                a = activations[i % len(activations)](tf.matmul(h, w) + b)
                h = a + h if i % 2 else a  # a residual connection every other layer
        loss = tf.reduce_mean(tf.square(h - y), name="loss")
        train_op = tf1.train.GradientDescentOptimizer(0.01).minimize(loss)
        init_op = tf1.global_variables_initializer()
        ready = tf1.report_uninitialized_variables()
        if hasattr(ready, "mark_used"):
            ready.mark_used()
        tf1.add_to_collection(tf1.GraphKeys.TRAIN_OP, train_op)
        tf1.add_to_collection(tf1.GraphKeys.INIT_OP, init_op)
        tf1.add_to_collection(tf1.GraphKeys.READY_OP, ready)

        # Ops nothing consumes (train op, init op, readiness report, the per-variable
        # VarIsInitializedOp / ReadVariableOp that ResourceVariable creates, ...) are tied to the
        # top tensor through a tree of tf.group NoOps (fan-in 64), so that a walk from `top`
        # reaches every op of the graph.
        consumed: set[tf.Operation] = set()
        all_ops = graph.get_operations()
        for op in all_ops:
            consumed.update(t.op for t in op.inputs)
            consumed.update(op.control_inputs)
        sinks = [op for op in all_ops if op not in consumed and op is not loss.op]
        level = 0
        with tf.name_scope("keep"):
            while len(sinks) > 1:
                sinks = [
                    tf.group(*sinks[i:i + 64], name=f"l{level}_{i // 64}")
                    for i in range(0, len(sinks), 64)
                ]
                level += 1
        with tf.control_dependencies(sinks):
            top = tf.identity(loss, name="top")
    assert top.name == TOP_NAME, top.name
    return graph, top


def child_build(target_ops: int, path: str) -> dict:
    import tensorflow as tf

    # ops(layers) is linear in layers; fit it on two small graphs, then build the real one.
    n8 = len(_build_graph(8)[0].get_operations())
    n16 = len(_build_graph(16)[0].get_operations())
    per_layer = (n16 - n8) / 8.0
    fixed = n8 - 8 * per_layer
    layers = max(1, round((target_ops - fixed) / per_layer))
    t0 = time.perf_counter()
    graph, _ = _build_graph(layers)
    build_s = time.perf_counter() - t0
    ops = graph.get_operations()
    t0 = time.perf_counter()
    with graph.as_default():
        meta = tf.compat.v1.train.export_meta_graph(graph=graph)
    with open(path, "wb") as f:
        f.write(meta.SerializeToString())
    return {
        "tf_version": tf.__version__,
        "target_ops": target_ops,
        "layers": layers,
        "ops": len(ops),
        "op_types": len({op.type for op in ops}),
        "variables": len(graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)),
        "build_s": build_s,
        "save_s": time.perf_counter() - t0,
        "meta_graph_bytes": os.path.getsize(path),
    }


# --------------------------------------------------------------------------------------------
# Measuring a copy (runs in one subprocess per method and repetition)
# --------------------------------------------------------------------------------------------

def _reset_peak_rss() -> bool:
    """Resets the kernel's peak-RSS counter to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _prepare(method: str):
    """Returns (copy function, ok-note); imports outside the timed region."""
    if method in ("graphdsl", BASELINE):
        home = os.environ[BASELINE_ENV] if method == BASELINE else REPO
        sys.path.insert(0, home)
        import graphdsl
        from graphdsl import copy_to_graph  # noqa: F401  (ImportError -> skipped)

        if not os.path.abspath(graphdsl.__file__).startswith(os.path.abspath(home) + os.sep):
            raise ImportError(f"graphdsl was imported from {graphdsl.__file__}, not from {home}")

        def run(src, top, target, parts):
            copy_to_graph(top, target, namespace=NAMESPACE)

    elif method == "import_graph_def":
        import tensorflow as tf

        def run(src, top, target, parts):
            t0 = time.perf_counter()
            graph_def = src.as_graph_def()
            t1 = time.perf_counter()
            with target.as_default():
                tf.graph_util.import_graph_def(graph_def, name=NAMESPACE)
            parts["as_graph_def_s"] = t1 - t0
            parts["import_s"] = time.perf_counter() - t1

    elif method in ("meta_graph", "meta_graph_scoped"):
        from tensorflow.python.framework import meta_graph

        from_scope = SCOPE if method == "meta_graph_scoped" else ""

        def run(src, top, target, parts):
            # Exactly the body of meta_graph.copy_scoped_meta_graph(from_scope, NAMESPACE, src,
            # target), split so that export and import are timed separately.
            # Both refuse to run eagerly, hence the as_default() blocks.
            t0 = time.perf_counter()
            with src.as_default():
                exported, _ = meta_graph.export_scoped_meta_graph(
                    export_scope=from_scope, graph=src
                )
            t1 = time.perf_counter()
            with target.as_default():
                meta_graph.import_scoped_meta_graph(exported, graph=target, import_scope=NAMESPACE)
            parts["export_s"] = t1 - t0
            parts["import_s"] = time.perf_counter() - t1

    elif method == "tf_floor":
        # pylint: disable=protected-access  # the C import API is not public: the floor is what it costs
        from tensorflow.python.client import pywrap_tf_session as c_api
        from tensorflow.python.framework import c_api_util

        def run(src, top, target, parts):
            t0 = time.perf_counter()
            graph_def = src.as_graph_def()
            t1 = time.perf_counter()
            options = c_api_util.ScopedTFImportGraphDefOptions()
            c_api.TF_ImportGraphDefOptionsSetPrefix(options.options, NAMESPACE)
            buffer = c_api.TF_NewBufferFromString(graph_def.SerializeToString())
            try:
                with target._c_graph.get() as c_graph:
                    results = c_api.TF_GraphImportGraphDefWithResults(c_graph, buffer, options.options)
                c_api_util.ScopedTFImportGraphDefResults(results)
            finally:
                c_api.TF_DeleteBuffer(buffer)
            parts["as_graph_def_s"] = t1 - t0
            parts["import_s"] = time.perf_counter() - t1

    elif method == "opbyop":
        sys.path.insert(0, HERE)
        from opbyop import copy_op_by_op

        def run(src, top, target, parts):
            copy_op_by_op(top, target, NAMESPACE)

    else:
        raise ValueError(f"unknown method {method!r}")
    return run


def load_source(path: str):
    """The source graph of a MetaGraphDef written by --workdir: its ops and collections."""
    import tensorflow as tf
    from tensorflow.core.protobuf import meta_graph_pb2
    from tensorflow.python.framework import meta_graph

    meta = meta_graph_pb2.MetaGraphDef()
    with open(path, "rb") as f:
        meta.ParseFromString(f.read())
    src = tf.Graph()
    # Not tf.compat.v1.train.import_meta_graph: with no SaverDef it adds a Saver (save/restore
    # ops) to the graph. This restores the ops and the collections (variables, train op) only.
    with src.as_default():
        meta_graph.import_scoped_meta_graph(meta, graph=src)
    return src


def child_copy(method: str, path: str, trace: bool, expected_ops: int | None) -> dict:
    try:
        run = _prepare(method)
    except ImportError as e:
        return {"skipped": f"cannot import: {e}"}

    import tensorflow as tf

    src = load_source(path)
    if expected_ops is not None and len(src.get_operations()) != expected_ops:
        raise RuntimeError(
            f"loaded source has {len(src.get_operations())} ops, the built one {expected_ops}"
        )
    top = src.get_tensor_by_name(TOP_NAME)
    target = tf.Graph()
    parts: dict = {}

    gc.collect()
    rss_before = _rss_kib()
    peak_reset = _reset_peak_rss()
    maxrss_before = _maxrss_kib()
    if trace:
        import tracemalloc

        tracemalloc.start()
    gc_spent = [0.0, 0]  # seconds in the cyclic garbage collector during the copy, collections

    def on_gc(phase, info, started=[0.0]):  # noqa: B006 (state between the two phases)
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            gc_spent[0] += time.perf_counter() - started[0]
            gc_spent[1] += 1

    gc.callbacks.append(on_gc)
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    c0, t0 = time.process_time(), time.perf_counter()
    run(src, top, target, parts)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0  # fresh 4 KiB pages touched
    gc.callbacks.remove(on_gc)
    if method == "tf_floor":  # Python wrappers for the check below, untimed
        target._add_new_tf_operations(compute_devices=False)  # pylint: disable=protected-access
    result = {"seconds": seconds, "cpu_seconds": cpu_seconds, "gc_s": gc_spent[0],
              "gc_collections": gc_spent[1], "minor_faults": faults, **parts}
    if trace:
        result["tracemalloc_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    maxrss_after = _maxrss_kib()
    result.update(
        peak_rss_mib=(maxrss_after - maxrss_before) / 1024.0,
        peak_reset=peak_reset,
        rss_before_mib=rss_before / 1024.0,
        rss_after_mib=_rss_kib() / 1024.0,
    )

    # Cheap correctness check (not timed): same number of ops, same op-type histogram.
    src_ops = src.get_operations()
    dst_ops = target.get_operations()
    src_types = Counter(op.type for op in src_ops)
    dst_types = Counter(op.type for op in dst_ops)
    extra = dst_types - src_types
    missing = src_types - dst_types
    result.update(src_ops=len(src_ops), dst_ops=len(dst_ops))
    result["check"] = "ok" if not extra and not missing else (
        f"extra {dict(extra)} missing {dict(missing)}"
    )
    return result


def _child_main(argv) -> None:
    kind = argv[0]
    if kind == "build":
        out = child_build(int(argv[1]), argv[2])
    else:
        out = child_copy(argv[1], argv[2], argv[3] == "1", int(argv[4]))
    sys.stdout.write("\n" + RESULT_MARK + json.dumps(out) + "\n")
    sys.stdout.flush()


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------

def _spawn(args, timeout: float) -> dict:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    cmd = [sys.executable, os.path.abspath(__file__), "--_child", *map(str, args)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    wall = time.perf_counter() - t0
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            out = json.loads(line[len(RESULT_MARK):])
            out["process_wall_s"] = wall
            return out
    tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
    return {"error": f"exit code {proc.returncode}", "stderr_tail": tail}


def _reused_source(path: str) -> dict | None:
    """The build info of a source MetaGraphDef kept at ``path`` by an earlier run, or None."""
    try:
        with open(path + ".json") as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    if not os.path.isfile(path) or os.path.getsize(path) != info.get("meta_graph_bytes"):
        return None
    return info


def _machine() -> dict:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = None
    try:
        mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu,
        "mem_gib": round(mem_gib, 1) if mem_gib else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def _parse_cutoffs(text: str) -> dict:
    cutoffs = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        name, _, value = item.partition("=")
        if name not in METHODS or not value:
            raise SystemExit(f"--max-ops-per-method: expected METHOD=OPS, got {item!r}")
        cutoffs[name] = int(value)
    return cutoffs


def _fmt(value, spec):
    return "n/a" if value is None else format(value, spec)


def _row_for(method, size_info, runs, cutoff_note):
    ops = size_info["ops"]
    row = {"method": method, "ops": ops}
    if cutoff_note:
        row["note"] = cutoff_note
        return row
    good = [r for r in runs if "seconds" in r]
    bad = [r for r in runs if "seconds" not in r]
    if not good:
        first = bad[0] if bad else {}
        row["note"] = first.get("skipped") or first.get("error") or "no result"
        return row
    secs = [r["seconds"] for r in good]
    row["seconds"] = statistics.median(secs)
    row["seconds_min"] = min(secs)
    row["cpu_seconds"] = statistics.median(r["cpu_seconds"] for r in good)
    row["cpu_range"] = (min(r["cpu_seconds"] for r in good), max(r["cpu_seconds"] for r in good))
    row["gc_s"] = statistics.median(r["gc_s"] for r in good)
    if all("minor_faults" in r for r in good):
        row["minor_faults"] = statistics.median(r["minor_faults"] for r in good)
    row["us_per_op"] = row["seconds"] / ops * 1e6
    row["peak_rss_mib"] = statistics.median(r["peak_rss_mib"] for r in good)
    for key in ("as_graph_def_s", "export_s", "import_s"):
        if key in good[0]:
            row[key] = statistics.median(r[key] for r in good)
    checks = {r["check"] for r in good}
    dst = {r["dst_ops"] for r in good}
    row["dst_ops"] = sorted(dst)
    row["check"] = "ok" if checks == {"ok"} else "; ".join(sorted(checks))
    if not all(r.get("peak_reset") for r in good):
        row["peak_note"] = "peak RSS not reset (no /proc/self/clear_refs): lower bound"
    if bad:
        row["note"] = f"{len(bad)} of {len(runs)} runs failed: " + (
            bad[0].get("error") or bad[0].get("skipped", "")
        )
    return row


def _table(rows, with_trace: bool) -> str:
    head = ["method", "ops", "seconds", "CPU s", "x import_graph_def (CPU)", "x tf_floor (CPU)",
            "µs/op", "peak RSS MiB"]
    if with_trace:
        head.append("tracemalloc peak MiB")
    head.append("notes")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(
        ["---"] + ["---:"] * (len(head) - 2) + ["---"]) + "|"]
    for row in rows:
        notes = []
        if "seconds" in row:
            if "import_s" in row and "as_graph_def_s" in row:
                notes.append(f"as_graph_def {row['as_graph_def_s']:.3f} s + "
                             f"import {row['import_s']:.3f} s")
            elif "import_s" in row and "export_s" in row:
                notes.append(f"export {row['export_s']:.3f} s + import {row['import_s']:.3f} s")
            if row.get("gc_s"):
                notes.append(f"cyclic GC {row['gc_s']:.3f} s")
            if row.get("minor_faults"):
                notes.append(f"{row['minor_faults']:.0f} minor page faults")
            if row["check"] != "ok":
                notes.append("CHECK FAILED: " + row["check"])
            if row.get("peak_note"):
                notes.append(row["peak_note"])
        if row.get("note"):
            notes.append(row["note"])
        cells = [
            row["method"],
            str(row["ops"]),
            _fmt(row.get("seconds"), ".3f"),
            _fmt(row.get("cpu_seconds"), ".3f"),
            _fmt(row.get("vs_import_graph_def"), ".2f"),
            _fmt(row.get("vs_tf_floor"), ".2f"),
            _fmt(row.get("us_per_op"), ".1f"),
            _fmt(row.get("peak_rss_mib"), ".1f"),
        ]
        if with_trace:
            cells.append(_fmt(row.get("tracemalloc_peak_mib"), ".1f"))
        cells.append("; ".join(notes))
        lines.append("| " + " | ".join(cells) + " |")
        # import_graph_def alone, from the same runs, as its own line.
        if "as_graph_def_s" in row and "seconds" in row:
            cells = [
                f"{row['method']} (import only)",
                str(row["ops"]),
                f"{row['import_s']:.3f}",
                "",
                "",
                "",
                f"{row['import_s'] / row['ops'] * 1e6:.1f}",
                "",
            ]
            if with_trace:
                cells.append("")
            cells.append("same runs; as_graph_def time left out")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _growth(rows) -> str:
    """How each method's CPU time grows from each size to the next, against the op counts: the
    ratio of the medians, and how far apart the runs' own times could put it (the fastest run of
    the larger size over the slowest of the smaller, and the other way round)."""
    lines = []
    for method in dict.fromkeys(row["method"] for row in rows):
        sized = [r for r in rows if r["method"] == method and r.get("cpu_seconds")]
        for small, large in zip(sized, sized[1:]):
            faults = (f"{large['minor_faults'] / small['minor_faults']:.1f}"
                      if small.get("minor_faults") and large.get("minor_faults") else "n/a")
            (small_low, small_high), (large_low, large_high) = small["cpu_range"], large["cpu_range"]
            lines.append(f"| {method} | {small['ops']} -> {large['ops']} | "
                         f"{large['ops'] / small['ops']:.1f} | "
                         f"{large['cpu_seconds'] / small['cpu_seconds']:.1f} | "
                         f"{large_low / small_high:.1f} to {large_high / small_low:.1f} | {faults} |")
    above = _above_floor(rows)
    if not lines:
        return ""
    return "\n".join(["| method | ops | ops ratio | CPU time ratio (linear: the ops ratio) "
                      "| between the runs | minor page faults ratio |",
                      "|---|---|---:|---:|---:|---:|", *lines, *above])


def _above_floor(rows) -> list[str]:
    """The growth of each graphdsl row's CPU time above tf_floor's, size to size: what the
    copier adds to TensorFlow's own work."""
    floors = {r["ops"]: r["cpu_seconds"] for r in rows if r["method"] == "tf_floor" and r.get("cpu_seconds")}
    lines = []
    for method in dict.fromkeys(r["method"] for r in rows if r["method"].startswith("graphdsl")):
        sized = [r for r in rows if r["method"] == method and r.get("cpu_seconds") and r["ops"] in floors]
        for small, large in zip(sized, sized[1:]):
            below, above = (small["cpu_seconds"] - floors[small["ops"]],
                            large["cpu_seconds"] - floors[large["ops"]])
            if below > 0:
                lines.append(f"| {method} above tf_floor | {small['ops']} -> {large['ops']} | "
                             f"{large['ops'] / small['ops']:.1f} | {above / below:.1f} | | |")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                        help="comma-separated op counts of the source graphs (default %(default)s)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="subprocesses per method and size; the table shows the median")
    parser.add_argument("--methods", default=",".join(METHODS),
                        help="comma-separated subset of " + ", ".join(METHODS))
    parser.add_argument("--max-ops-per-method", default=DEFAULT_CUTOFFS,
                        help="METHOD=OPS,...: skip METHOD on sources with more than OPS ops "
                        "(default %(default)s; pass '' to run everything everywhere)")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds before a measuring subprocess is killed (default %(default)s)")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also run each method once more under tracemalloc (Python peak)")
    parser.add_argument("--json", metavar="FILE", help="write raw results to FILE")
    parser.add_argument("--workdir", help="where to keep the source MetaGraphDefs (default: temp); "
                        "a source built there before (by this script) is reused")
    parser.add_argument("--baseline", metavar="DIR",
                        help="also time the graphdsl of another checkout DIR (row graphdsl_baseline)")
    args = parser.parse_args(argv)

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for m in methods:
        if m not in METHODS:
            parser.error(f"unknown method {m!r}")
    if args.baseline:
        if not os.path.isfile(os.path.join(args.baseline, "graphdsl", "__init__.py")):
            parser.error(f"--baseline {args.baseline}: no graphdsl package there")
        os.environ[BASELINE_ENV] = os.path.abspath(args.baseline)
        methods.insert(methods.index("graphdsl") + 1 if "graphdsl" in methods else 0, BASELINE)
    cutoffs = _parse_cutoffs(args.max_ops_per_method)
    machine = _machine()
    workdir = args.workdir or tempfile.mkdtemp(prefix="graphdsl-bench-")
    os.makedirs(workdir, exist_ok=True)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    measured: list[dict] = []  # per size
    raw: dict[str, Any] = {"machine": machine, "args": vars(args), "sizes": measured}
    rows = []
    tf_version = None
    for size in sizes:
        path = os.path.join(workdir, f"source_{size}.meta")
        info = _reused_source(path) if args.workdir else None
        if info is None:
            log(f"[bench] building source graph of ~{size} ops ...")
            info = _spawn(["build", size, path], args.timeout)
            if args.workdir and "ops" in info:
                with open(path + ".json", "w") as f:
                    json.dump(info, f)
        else:
            log(f"[bench] reusing the ~{size}-op source built before in {args.workdir}")
        if "ops" not in info:
            log(f"[bench] building the {size}-op source failed: {info}")
            measured.append({"target_ops": size, "build": info})
            continue
        tf_version = info["tf_version"]
        log(f"[bench]   {info['ops']} ops, {info['layers']} layers, built in "
            f"{info['build_s']:.1f} s, MetaGraphDef {info['meta_graph_bytes'] / 2**20:.1f} MiB")
        entry: dict[str, Any] = {"target_ops": size, "build": info, "methods": {}}
        runs_of: dict[str, list[dict]] = {m: [] for m in methods}
        cutoff_of = {}
        for method in methods:
            limit = cutoffs.get(method)
            if limit is not None and info["ops"] > limit:
                cutoff_of[method] = f"not run: over the --max-ops-per-method cutoff of {limit} ops"
        failed = set(cutoff_of)
        for r in range(args.repeat):  # interleaved: each method once per round
            for method in methods:
                if method in failed:
                    continue
                res = _spawn(["copy", method, path, 0, info["ops"]], args.timeout)
                runs_of[method].append(res)
                log(f"[bench]   {method} run {r + 1}/{args.repeat}: " + (
                    f"{res['seconds']:.3f} s, peak +{res['peak_rss_mib']:.1f} MiB, "
                    f"check {res['check']}" if "seconds" in res
                    else (res.get("skipped") or res.get("error", "?"))))
                if "seconds" not in res:
                    if res.get("stderr_tail"):
                        log(res["stderr_tail"])
                    failed.add(method)  # a skipped or failing method fails the same way every time
        anchor = floor = None
        for method in methods:
            runs, traces = runs_of[method], []
            cutoff_note = cutoff_of.get(method)
            if args.tracemalloc and any("seconds" in r for r in runs):
                traces.append(_spawn(["copy", method, path, 1, info["ops"]], args.timeout))
            row = _row_for(method, info, runs, cutoff_note)
            peaks = [t["tracemalloc_peak_mib"] for t in traces if "tracemalloc_peak_mib" in t]
            if peaks:
                row["tracemalloc_peak_mib"] = peaks[0]
            rows.append(row)
            entry["methods"][method] = {"runs": runs, "tracemalloc_runs": traces, "row": row}
            if method == "import_graph_def" and "seconds" in row:
                anchor = row["cpu_seconds"]
            if method == "tf_floor" and "seconds" in row:
                floor = row["cpu_seconds"]
        for row in rows[-len(methods):]:
            if anchor and "seconds" in row:
                row["vs_import_graph_def"] = row["cpu_seconds"] / anchor
            if floor and "seconds" in row:
                row["vs_tf_floor"] = row["cpu_seconds"] / floor
        measured.append(entry)
        if not args.workdir:
            os.remove(path)
    if not args.workdir:
        try:
            os.rmdir(workdir)
        except OSError:
            pass

    raw["tf_version"] = tf_version
    print(f"TensorFlow {tf_version}; Python {machine['python']}; nproc {machine['nproc']}; "
          f"{machine['cpu'] or 'unknown CPU'}; {machine['mem_gib']} GiB RAM; {machine['platform']}")
    print(f"load average at start: {machine['loadavg']}; repeat {args.repeat} "
          f"(median shown); each method in its own subprocess")
    print()
    print(_table(rows, args.tracemalloc))
    growth = _growth(rows)
    if growth:
        print()
        print(growth)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({**raw, "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--_child":
        _child_main(sys.argv[2:])
    else:
        sys.exit(main())
