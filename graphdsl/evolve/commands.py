"""``graphdsl evolve SETTINGS -o OUTDIR`` (registered by ``graphdsl.cli``; TensorFlow inside ``run``)."""

from __future__ import annotations

import argparse
import math

EXIT_OK = 0

# Settings a command line option may override: option -> (field of Settings, type).
_OVERRIDES = {
    "population": int, "generations": int, "seed": int, "tournament": int, "crossover_rate": float,
    "mutation_rate": float, "elite": int, "max_size": int,
}


def add_evolve(subparsers: argparse._SubParsersAction) -> None:
    """Registers ``graphdsl evolve``."""
    parser = subparsers.add_parser(
        "evolve",
        help="evolve a population of graphs by crossover and mutation (genetic programming)",
        description="Start from the parent graphs of SETTINGS (a YAML file: parents, fitness, and how "
        "to evolve) and run generations: tournament selection, crossover, mutation, each child a "
        ".gcomp spec built into OUTDIR/gNNN/iMMM and scored. Writes OUTDIR/generations.csv (best, mean, "
        "diversity), each generation's population.csv, the best individual in OUTDIR/best and a plot "
        "OUTDIR/fitness.png. The same seed gives the same run.",
    )
    from graphdsl.cli import path_argument  # already imported: the command line calls this

    parser.add_argument("settings", type=path_argument, metavar="SETTINGS", help="the evolve settings file (.yaml)")
    parser.add_argument("-o", "--out", type=path_argument, metavar="OUTDIR", required=True,
                        help="where the generations go (new, empty, or an earlier run's)")
    for name, kind in _OVERRIDES.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=None,
                            metavar="N" if kind is int else "P", help=f"overrides '{name}' of SETTINGS")
    parser.set_defaults(run=_run_evolve)


def _run_evolve(args: argparse.Namespace) -> int:
    from graphdsl.tf.quiet import import_tensorflow

    import_tensorflow()
    import dataclasses

    from graphdsl.evolve.config import load_config
    from graphdsl.evolve.population import BEST, TABLE, GenerationStats, evolve

    config = load_config(args.settings)
    overrides = {name: getattr(args, name) for name in _OVERRIDES if getattr(args, name) is not None}
    settings = dataclasses.replace(config.settings, **overrides)

    def report(row: GenerationStats) -> None:
        print(f"generation {row.generation}: best {_number(row.best)}  mean {_number(row.mean)}  "
              f"diversity {row.diversity:.2f}  {row.best_key}: y = {row.best_formula}", flush=True)

    result = evolve(config.parents, config.fitness, args.out, settings, library=config.library,
                    base_dir=config.base_dir, on_generation=report)
    print(f"best: {result.best.key}, fitness {_number(result.best.fitness)}: y = {result.best.formula}")
    print(f"wrote {result.outdir / TABLE}")
    print(f"wrote {result.outdir / BEST / 'best.gcomp'}")
    if result.plot is not None:
        print(f"wrote {result.plot}")
    return EXIT_OK


def _number(value: float) -> str:
    return f"{value:.6g}" if math.isfinite(value) else str(value)
