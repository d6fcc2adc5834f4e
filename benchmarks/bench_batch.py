"""Batch builds against one `graphdsl build` process per member; one evolve generation, split.

    TF_CPP_MIN_LOG_LEVEL=3 .venv/bin/python benchmarks/bench_batch.py [--members 500] [--sample 20]
        [--jobs 2] [--population 100]

1. **Batch.** ``specs/linear.gcomp`` with ``--sweep linear.seed=0..N-1``: N small members (each
   runs the linear builder with its own seed, composes, and writes a MetaGraph + checkpoint and a
   SavedModel), built by ``graphdsl batch -j JOBS`` in a subprocess, timed from start to exit
   (worker start-up included). The anchor, measured in the same run: ``graphdsl build`` in a fresh
   process per member, for a sample of the members (the same specs, the seed written into a copy
   of the spec), one after the other; its mean seconds per member is extrapolated to N.
2. **Evolve.** ``specs/regression.yaml`` with a population of P for one generation after
   generation 0 (P children by crossover, mutation or carried over); the seconds of that
   generation spent building the children's specs and scoring them, from ``timings.csv``.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPECS = REPO / "specs"
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "GRAPHDSL_PROGRESS": "0"}


def graphdsl(*args: str) -> float:
    """Runs ``python -m graphdsl ARGS`` in a fresh process; its wall-clock seconds."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "graphdsl", *args], check=True, env=ENV, cwd=REPO,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def bench_batch(members: int, sample: int, jobs: int, work: Path) -> None:
    specs = work / "specs"
    specs.mkdir()
    text = (SPECS / "linear.gcomp").read_text()
    builder = (SPECS / "builders" / "linear.py").as_posix()
    singles = []
    for seed in range(sample):
        spec = specs / f"linear_{seed}.gcomp"
        spec.write_text(text.replace('python("builders/linear.py:build", seed = 0)',
                                     f'python("{builder}:build", seed = {seed})'))
        singles.append(graphdsl("build", str(spec), "-o", str(work / "single" / str(seed))))
    per_member = statistics.mean(singles)
    batch = graphdsl("batch", "specs/linear.gcomp", "-o", str(work / "batch"),
                     "--sweep", f"linear.seed=0..{members - 1}", "-j", str(jobs))
    sequential = per_member * members
    print(f"\n## batch: {members} members of specs/linear.gcomp (--sweep linear.seed=0..{members - 1})\n")
    print("| how | members | seconds | members/s | s/member | vs one process per member |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| one `graphdsl build` process per member (sample of {sample}, extrapolated) | {members} | "
          f"{sequential:.1f} | {1 / per_member:.2f} | {per_member:.3f} | 1.0x |")
    print(f"| `graphdsl batch -j {jobs}` (worker start-up included) | {members} | {batch:.1f} | "
          f"{members / batch:.2f} | {batch / members:.3f} | {sequential / batch:.1f}x |")
    print(f"\nsample of single builds: min {min(singles):.2f} s, median {statistics.median(singles):.2f} s, "
          f"max {max(singles):.2f} s")


def bench_evolve(population: int, work: Path) -> None:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "graphdsl", "evolve", "specs/regression.yaml", "-o",
                    str(work / "evolve"), "--population", str(population), "--generations", "1"],
                   check=True, env=ENV, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    total = time.perf_counter() - started
    with open(work / "evolve" / "timings.csv") as file:
        rows = list(csv.DictReader(file))
    print(f"\n## evolve: specs/regression.yaml, population {population}, one generation\n")
    print("| generation | building s | scoring s | building + scoring s | ms per individual |")
    print("|---:|---:|---:|---:|---:|")
    for row in rows:
        build, score = float(row["build_seconds"]), float(row["fitness_seconds"])
        print(f"| {row['generation']} | {build:.2f} | {score:.2f} | {build + score:.2f} | "
              f"{1000 * (build + score) / population:.0f} |")
    print(f"\nthe whole command (TensorFlow start, both generations, best/ and the plot): {total:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--sample", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--population", type=int, default=100)
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load[0]:.2f} at start")
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        bench_batch(args.members, args.sample, args.jobs, work)
        bench_evolve(args.population, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
