#!/usr/bin/env python3
"""Where the time of one whole-graph copy goes, stage by stage, in CPU time.

Builds the training graph of bench_copy.py (about --ops ops) in this process, then copies it whole
into a fresh graph --repeat times (the source's index dropped before each copy, so each pays for it
as a first copy does) with a CPU timer around each stage of the copier. Prints the median of each
stage in milliseconds and in µs per op; stages nest (``import_nodes`` holds ``wrap``, the Python
``Operation`` wrappers), so the column does not add up to the total. TensorFlow's own calls in a
copy have rows of their own (its serialization of the source, its C++ import), and the last row is
the total without them: what graphdsl adds to them. The minor page faults of
each stage count the fresh memory it touched (a page of 4 KiB each), which costs time of its own
at 200k ops.

    python benchmarks/profile_copy.py [--ops 20000] [--repeat 5] [--source FILE] [--cold]

--source FILE copies a source MetaGraphDef kept by ``bench_copy.py --workdir DIR``
(``DIR/source_20000.meta``) instead of building the graph here (minutes at 200k ops).
--cold skips the copy that first warms the process up (one-time costs, and memory that later
copies reuse), so that --repeat 1 measures the first copy of a fresh process, as bench_copy.py
does: run it several times for a median.
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib
import os
import resource
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

_C_API = "tensorflow.python.client.pywrap_tf_session"
SERIALIZE = "  of which as_graph_def (TensorFlow's serialization, and the parse)"
IMPORT = "  of which TensorFlow's C++ import"
# The total less TensorFlow's serialization of the source (with the parse of its bytes) and its
# C++ import, the two calls any copy into a live graph makes: graphdsl's own part, with the
# Python ``Operation`` objects every op of a graph needs.
OWN = "total less as_graph_def and the C++ import"
STAGES = [  # (module, class or "", function, label)
    ("graphdsl.tf.copier", "", "index_and_bytes", "index (as_graph_def, nodes by name)"),
    ("graphdsl.tf.internals", "", "graph_def_and_bytes", SERIALIZE),
    (_C_API, "", "TF_GraphToGraphDef", "    of which TensorFlow's C++ serialization"),
    (_C_API, "", "TF_GetBuffer", "    of which the bytes copied into Python (the rest: their parse)"),
    ("graphdsl.tf.index", "", "colocation_names", "  of which the colocation entries"),
    ("graphdsl.tf.copier", "Copier", "walk", "walk"),
    ("graphdsl.tf.copier", "Copier", "_copy_nodes", "copy nodes, rewrite the few"),
    ("graphdsl.tf.copier", "Copier", "_check_names", "name clash check"),
    ("graphdsl.tf.internals", "", "import_nodes", "import_nodes (C++ import + wrappers)"),
    ("graphdsl.tf.internals", "", "import_serialized", "import_serialized (the source's bytes)"),
    (_C_API, "", "TF_GraphImportGraphDefWithResults", IMPORT),
    (_C_API, "", "TF_ImportGraphDefResultsReturnOperations", "  of which the list of new C ops"),
    ("graphdsl.tf.internals", "", "_wrap", "  of which wrap (Python Operations)"),
    ("graphdsl.tf.copier", "Copier", "_record", "record"),
    ("graphdsl.tf.variables", "VariableCopies", "make_variables", "variables as tf.Variables"),
    ("graphdsl.tf.copier", "Copier", "_fill_collections", "collections"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--source", help="a MetaGraphDef written by bench_copy.py --workdir")
    parser.add_argument("--cold", action="store_true", help="no warm-up copy first")
    args = parser.parse_args()

    import tensorflow as tf
    from bench_copy import _build_graph
    from bench_leaks import _layers_for

    from graphdsl import copy_to_graph
    from graphdsl.tf import index

    spent: dict[str, float] = {}
    faults: dict[str, int] = {}
    for module, cls, attr, label in STAGES:
        holder = importlib.import_module(module)
        holder = getattr(holder, cls) if cls else holder
        original = getattr(holder, attr)

        def timed(*a, _f=original, _label=label, **k):
            c0, f0 = time.process_time(), _faults()
            try:
                return _f(*a, **k)
            finally:
                spent[_label] = spent.get(_label, 0.0) + time.process_time() - c0
                faults[_label] = faults.get(_label, 0) + _faults() - f0

        setattr(holder, attr, functools.wraps(original)(timed))

    if args.source:
        source, top = _load(args.source)
    else:
        source, top = _build_graph(_layers_for(args.ops))
    ops = len(source.get_operations())
    runs, fault_runs = [], []
    if not args.cold:
        copy_to_graph(top, tf.Graph(), namespace="warm")  # one-time costs (the fast import's trial)
    for _ in range(args.repeat):
        target = tf.Graph()
        index.release_index(source)
        spent.clear()
        faults.clear()
        gc.collect()
        c0, f0 = time.process_time(), _faults()
        copy_to_graph(top, target, namespace="copy")
        spent["total"] = time.process_time() - c0
        faults["total"] = _faults() - f0
        runs.append(dict(spent))
        fault_runs.append(dict(faults))
        del target
    print(f"{ops} ops; median of {args.repeat}{'; cold' if args.cold else ''}; "
          f"load average {os.getloadavg()}")
    print("| stage | CPU ms | µs/op | minor page faults |\n|---|---:|---:|---:|")
    for run, fault_run in zip(runs, fault_runs):  # what TensorFlow's own calls leave
        run[OWN] = run["total"] - run.get(SERIALIZE, 0.0) - run.get(IMPORT, 0.0)
        fault_run[OWN] = fault_run["total"] - fault_run.get(SERIALIZE, 0) - fault_run.get(IMPORT, 0)
    for label in [stage[-1] for stage in STAGES] + ["total", OWN]:
        ms = statistics.median(run.get(label, 0.0) for run in runs) * 1e3
        flt = statistics.median(run.get(label, 0) for run in fault_runs)
        print(f"| {label} | {ms:.1f} | {ms * 1e3 / ops:.2f} | {flt:.0f} |")


def _faults() -> int:
    """Minor page faults of this process so far: each is a fresh page of memory touched."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _load(path: str):
    """The source graph of a MetaGraphDef bench_copy.py wrote, loaded as bench_copy.py loads it."""
    from bench_copy import TOP_NAME, load_source

    source = load_source(path)
    return source, source.get_tensor_by_name(TOP_NAME)


if __name__ == "__main__":
    main()
