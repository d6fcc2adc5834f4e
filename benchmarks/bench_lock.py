#!/usr/bin/env python3
"""Benchmark: what hashing costs a build (`graphdsl lock`, `graphdsl build --locked`).

1. Hash throughput: graphdsl's streaming sha256 (``graphdsl.assemble.lock.sha256_file``) against
   ``sha256sum`` on the same files, a generated source of about 200 MB of variables (a MetaGraph
   and its checkpoint), both reading from the page cache (a warm-up read comes first).
2. ``graphdsl build`` against ``graphdsl build --locked`` (checks every source file against the
   lock, builds, hashes every export file) on the largest example spec (by the size of its source
   files) and on a spec copying the generated source in mode ``init`` (so its export writes a
   checkpoint of the same size). Measured twice: in this process, TensorFlow loaded and one build
   done first (the build alone), and as a user runs it, a fresh ``python -m graphdsl`` process
   each time (starting Python and importing TensorFlow included, which on a busy machine varies
   by more than the hashing costs).

Prints medians and the ratios; the anchors (``sha256sum``, the plain build) are measured in the
same run.

    TF_CPP_MIN_LOG_LEVEL=3 .venv/bin/python benchmarks/bench_lock.py [--mb 200] [--repeat 3]
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from graphdsl.tf.quiet import import_tensorflow  # noqa: E402

import_tensorflow()  # graphdsl.assemble imports it: without its start-up notices
from graphdsl.assemble.lock import sha256_file, source_files  # noqa: E402
from graphdsl.lang.syntax import literal  # noqa: E402
from graphdsl.lang.load import load_spec  # noqa: E402

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
VARIABLE_MB = 8  # each generated variable holds 8 MB of float32

_GENERATOR = """
import sys
import tensorflow as tf
tf1 = tf.compat.v1
directory, count = sys.argv[1], int(sys.argv[2])
graph = tf.Graph()
with graph.as_default():
    side = 1024
    total = None
    for i in range(count):
        v = tf1.get_variable(f"v{i}", initializer=tf1.random_uniform([2 * side, side], seed=i),
                             use_resource=True)
        s = tf.reduce_sum(v)
        total = s if total is None else total + s
    tf.identity(total, name="top")
    saver = tf1.train.Saver(save_relative_paths=True)
    with tf1.Session() as session:
        session.run(tf1.global_variables_initializer())
        saver.save(session, f"{directory}/big.ckpt", write_meta_graph=False, write_state=False)
    tf1.train.export_meta_graph(f"{directory}/big.meta", saver_def=saver.saver_def)
"""

_SPEC = """graphdsl 1
source big = metagraph("big.meta", checkpoint = "big.ckpt")
copy Big from big { take = "top" variables = init }
export metagraph "big"
"""


def _generate(directory: Path, megabytes: int) -> Path:
    count = max(1, round(megabytes / VARIABLE_MB))
    subprocess.run([sys.executable, "-c", _GENERATOR, str(directory), str(count)], check=True, env=ENV,
                   stderr=subprocess.DEVNULL)
    spec = directory / "big.gcomp"
    spec.write_text(_SPEC)
    return spec


def _spec_files(spec: Path) -> list[Path]:
    loaded = load_spec(spec)
    base = spec.resolve().parent
    return [f for s in loaded.sources
            for f in source_files(s.kind.name, s.path.value,
                                  {o.key.name: literal(o.value) for o in s.options}, base)]


def _size_mb(files: list[Path]) -> float:
    return sum(f.stat().st_size for f in files) / 1e6


def _timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def _hash_throughput(files: list[Path], repeat: int) -> None:
    size = _size_mb(files)
    sha256sum = shutil.which("sha256sum")
    for f in files:  # warm-up: both measurements read from the page cache
        sha256_file(f)
    ours = statistics.median(_timed(lambda: [sha256_file(f) for f in files]) for _ in range(repeat))
    print(f"hash {size:.0f} MB in {len(files)} files ({repeat} runs, median)")
    print(f"  graphdsl sha256_file  {ours:7.3f} s  {size / ours:7.0f} MB/s")
    if sha256sum is None:
        print("  sha256sum not found: no anchor")
        return
    theirs = statistics.median(
        _timed(lambda: subprocess.run([sha256sum, *map(str, files)], check=True,
                                      stdout=subprocess.DEVNULL)) for _ in range(repeat))
    print(f"  sha256sum             {theirs:7.3f} s  {size / theirs:7.0f} MB/s")
    print(f"  ratio graphdsl / sha256sum: {ours / theirs:.2f}")


def _graphdsl(*args: str, cwd: Path) -> None:
    subprocess.run([sys.executable, "-m", "graphdsl", *args], check=True, cwd=cwd, env=ENV,
                   stdout=subprocess.DEVNULL)


def _in_process(args: list[str], cwd: Path) -> float:
    from graphdsl.cli import main

    here = os.getcwd()
    os.chdir(cwd)
    try:
        with open(os.devnull, "w") as devnull:
            saved, sys.stdout = sys.stdout, devnull
            try:
                start = time.perf_counter()
                assert main(args) == 0, args
                return time.perf_counter() - start
            finally:
                sys.stdout = saved
    finally:
        os.chdir(here)


def _build_vs_locked(spec: Path, repeat: int, label: str) -> None:
    cwd, name = spec.parent, spec.name
    _graphdsl("lock", name, cwd=cwd)
    print(f"{label}: {name}, sources {_size_mb(_spec_files(spec)):.3f} MB ({repeat} runs, median)")
    # In this process, TensorFlow loaded and warmed up: the build itself.
    _in_process(["build", name, "-o", "out-warm"], cwd)
    plain, locked = [], []
    for _ in range(repeat):  # interleaved, so a change in the machine's load hits both alike
        plain.append(_in_process(["build", name, "-o", "out-plain"], cwd))
        locked.append(_in_process(["build", "--locked", name, "-o", "out-locked"], cwd))
    _report("in one process", plain, locked)
    # As a user runs it: a fresh process each time, starting Python and importing TensorFlow.
    plain, locked = [], []
    for _ in range(repeat):
        plain.append(_timed(lambda: _graphdsl("build", name, "-o", "out-plain", cwd=cwd)))
        locked.append(_timed(lambda: _graphdsl("build", "--locked", name, "-o", "out-locked", cwd=cwd)))
    _report("python -m graphdsl", plain, locked)


def _report(how: str, plain: list[float], locked: list[float]) -> None:
    p, q = statistics.median(plain), statistics.median(locked)
    print(f"  {how}: build {p:.3f} s, build --locked {q:.3f} s (+{q - p:.3f} s), "
          f"ratio locked / plain {q / p:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=200, help="size of the generated variables source")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-lock-") as tmp:
        root = Path(tmp)
        (root / "big").mkdir()
        big = _generate(root / "big", args.mb)
        _hash_throughput(_spec_files(big), args.repeat)
        examples = root / "specs"
        shutil.copytree(REPO / "specs", examples, ignore=shutil.ignore_patterns("__pycache__"))
        largest = max(examples.glob("*.gcomp"), key=lambda s: _size_mb(_spec_files(s)))
        _build_vs_locked(largest, args.repeat, "largest example")
        _build_vs_locked(big, args.repeat, "generated source")
    return 0


if __name__ == "__main__":
    sys.exit(main())
