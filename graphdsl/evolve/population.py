"""Generations of a population: selection, crossover, mutation, each child a spec built and scored.

:func:`evolve` is the whole run. Generation 0 holds the parents (each copied through a spec of its
own, so that every individual is a built artifact with the same shape) and, up to the population
size, mutants of them. Each later generation keeps the best ``elite`` individuals unchanged, then
fills up: with probability ``crossover_rate`` a child of two tournament winners, with
``mutation_rate`` a mutant of one, otherwise a winner carried over as it is. Every new child is a
``.gcomp`` spec written into its own folder (``gNNN/iMMM/child.gcomp``), built there by
:func:`graphdsl.assemble.compose.build`'s pipeline and scored.

One ``random.Random(seed)`` makes every choice, in an order that nothing else changes, and building
and scoring are deterministic: the same seed gives the same populations, scores and best
individual, run after run. The run writes, into OUTDIR:

- ``generations.csv``: per generation, the best and mean fitness, the diversity (distinct formulas
  over population size), the best individual and its formula;
- ``gNNN/population.csv``: every individual of generation NNN, with its fitness, size, formula,
  origin and spec;
- ``best/``: the best individual of the run as ``best.gcomp``, built (``best.pb``, and a SavedModel
  ``model`` whose signature takes the inputs by key and gives ``y``);
- ``timings.csv``: seconds spent building and scoring per generation (the only file that differs
  between two runs);
- ``fitness.png``: best and mean fitness over generations (needs matplotlib: ``graphdsl[evolve]``).
"""

from __future__ import annotations

import csv
import math
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from graphdsl.errors import GraphDslError
from graphdsl.evolve import genome
from graphdsl.evolve.childspec import ChildSpec, SourceRef, literal
from graphdsl.evolve.crossovers import crossover
from graphdsl.evolve.fitness import Fitness, score
from graphdsl.evolve.individual import Individual, Loaded, child_names, load
from graphdsl.evolve.mutations import Library, mutate
from graphdsl.lang import schema
from graphdsl.tf.cache import SourceCache
from graphdsl.tools import progress

TABLE = "generations.csv"
TIMINGS = "timings.csv"
POPULATION = "population.csv"
BEST = "best"
PLOT = "fitness.png"


@dataclass
class Parent:
    """A parent graph of the population: a source of any kind, with its inputs (by key) and output.

    ``path`` is relative to the ``base_dir`` given to :func:`evolve`; tensor names may be a
    SavedModel's ``"@KEY"``; ``options`` are the source's options (a builder's arguments ...).
    """

    kind: str
    path: str
    inputs: dict[str, str]
    output: str
    options: dict = field(default_factory=dict)
    name: str = ""


@dataclass
class Settings:
    """How a population evolves; the defaults suit a small regression."""

    population: int = 20
    generations: int = 10
    seed: int = 0
    tournament: int = 3  # contenders per selection
    crossover_rate: float = 0.7
    mutation_rate: float = 0.2  # the rest of the children are winners carried over
    elite: int = 1  # the best ones carried over unchanged
    max_size: int = 40  # ops an individual may have
    fresh_rate: float = 0.5  # share of mutations that draw a fresh random piece
    functions: tuple[str, ...] = ("add", "sub", "mul", "sin", "cos")
    depth: int = 2  # of fresh random pieces

    def check(self) -> None:
        """Raises GraphDslError for settings no run can use."""
        for name in ("population", "generations", "tournament"):
            if getattr(self, name) < (0 if name == "generations" else 1):
                raise GraphDslError(f"{name} must be at least {0 if name == 'generations' else 1}, "
                                    f"not {getattr(self, name)}")
        for name in ("crossover_rate", "mutation_rate", "fresh_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise GraphDslError(f"{name} must be between 0 and 1, not {getattr(self, name)}")
        if self.crossover_rate + self.mutation_rate > 1:
            raise GraphDslError("crossover_rate and mutation_rate add up to more than 1",
                                hint="the rest of the children are carried over; give rates that sum to 1 or less")
        from graphdsl.evolve.mutations import FUNCTIONS, MAX_DEPTH

        unknown = sorted(set(self.functions) - set(FUNCTIONS))
        if unknown:
            raise GraphDslError(f"unknown function '{unknown[0]}' for fresh pieces",
                                hint=f"use some of: {', '.join(FUNCTIONS)}")
        if self.max_size < 1:
            raise GraphDslError(f"max_size must be at least 1, not {self.max_size}",
                                hint="max_size bounds the ops of a child")
        if not 0 <= self.depth <= MAX_DEPTH:
            raise GraphDslError(f"depth must be between 0 and {MAX_DEPTH}, not {self.depth}",
                                hint="depth bounds the levels of a fresh random expression")
        if not 0 <= self.elite <= self.population:
            raise GraphDslError(f"elite must be between 0 and the population size, not {self.elite}")


@dataclass
class GenerationStats:
    """One row of ``generations.csv`` (and of ``timings.csv``)."""

    generation: int
    best: float
    mean: float
    diversity: float
    best_key: str
    best_formula: str
    build_seconds: float = 0.0
    fitness_seconds: float = 0.0


@dataclass
class Result:
    """What :func:`evolve` did: the table, the last population, the best individual, the files."""

    outdir: Path
    generations: list[GenerationStats]
    population: list[Individual]
    best: Individual
    plot: Path | None


def evolve(parents: Sequence[Parent], fitness: Fitness, outdir: str | Path, settings: Settings | None = None,
           *, library: Sequence[Parent] = (), base_dir: str | Path = ".",
           on_generation: Callable[[GenerationStats], None] | None = None) -> Result:
    """Evolves a population from ``parents`` into ``outdir``; see the module's docstring.

    ``fitness`` is a hook or an :class:`~graphdsl.evolve.fitness.Evaluation` (higher is better);
    ``library`` adds pieces for mutation (any subtree of them; the parents are pieces too);
    ``on_generation`` is called with each generation's row as soon as it is done.
    """
    settings = settings or Settings()
    settings.check()
    if not parents:
        raise GraphDslError("a population needs at least one parent", hint="give parent graphs")
    if len(parents) > settings.population:
        raise GraphDslError(f"{len(parents)} parents do not fit a population of {settings.population}",
                            hint="make the population at least as large as the number of parents")
    run = _Run(parents, fitness, Path(outdir), settings, library, Path(base_dir))
    with run.cache:
        return run.go(on_generation)


class _Run:
    def __init__(self, parents: Sequence[Parent], fitness: Fitness, outdir: Path, settings: Settings,
                 library: Sequence[Parent], base_dir: Path) -> None:
        self.parents, self.fitness, self.outdir, self.settings = parents, fitness, outdir, settings
        self.base_dir = base_dir
        self.rng = random.Random(settings.seed)
        self.cache = SourceCache(limit=2 * settings.population + len(parents) + len(library) + 8)
        self.keys = sorted(parents[0].inputs)
        self.raw = [self._load_parent(p) for p in [*parents, *library]]
        self.library = Library(self.raw, settings.functions, settings.depth, settings.fresh_rate)
        self.timing = [0.0, 0.0]  # building, scoring: of the generation running

    # -- the run -----------------------------------------------------------------------------------

    def go(self, on_generation: Callable[[GenerationStats], None] | None) -> Result:
        _clear(self.outdir)
        table: list[GenerationStats] = []
        population: list[Individual] = []
        everyone: list[Individual] = []
        for generation in range(self.settings.generations + 1):
            self.timing = [0.0, 0.0]
            with progress.task(f"generation {generation}", total=self.settings.population) as step:
                population = (self._first(step) if generation == 0 else self._next(generation, population, step))
            if generation == 0 and all(i.error for i in population):
                raise GraphDslError(f"no individual of generation 0 could be built and scored; the first: "
                                    f"{population[0].error}", hint="fix the parents or the fitness, "
                                    f"then run again (the specs are in {self.outdir / 'g000'})")
            everyone += population
            table.append(self._stats(generation, population))
            self._write_population(generation, population)
            _write_table(self.outdir, table)
            if on_generation is not None:
                on_generation(table[-1])
        best = max(everyone, key=lambda i: (i.fitness, -everyone.index(i)))
        self._write_best(best)
        from graphdsl.evolve.plot import plot

        return Result(self.outdir, table, population, best, plot(table, self.outdir / PLOT))

    def _first(self, step: progress.Task) -> list[Individual]:
        population = []
        for index, (parent, loaded) in enumerate(zip(self.parents, self.raw)):
            child = ChildSpec(loaded.source, {k: t.name for k, t in loaded.inputs.items()},
                              loaded.output.name if loaded.output is not None else "",
                              reached=tuple(self.keys),
                              values=frozenset([loaded.source]) if loaded.values else frozenset(),
                              notes=[f"parent {parent.name or index}: {parent.kind} {parent.path}"])
            population.append(self._realize(child, 0, index, f"parent {parent.name or index}"))
            step.advance()
        while len(population) < self.settings.population:
            index = len(population)
            mother = population[self.rng.randrange(len(self.parents))]
            population.append(self._mutant(mother, 0, index))
            step.advance()
        return population

    def _next(self, generation: int, previous: list[Individual], step: progress.Task) -> list[Individual]:
        ranked = sorted(range(len(previous)), key=lambda i: (-previous[i].fitness, i))
        population = [self._carry(previous[i], generation, n, "elite") for n, i in enumerate(ranked[:self.settings.elite])]
        step.advance(len(population))
        while len(population) < self.settings.population:
            index, draw = len(population), self.rng.random()
            if draw < self.settings.crossover_rate:
                mother, father = self._select(previous), self._select(previous)
                notes = [(f"g{generation:03d}/i{index:03d}: crossover, recipient {mother.key} ({mother.formula}), "
                          f"donor {father.key} ({father.formula})")]
                child = crossover(self._load(mother), self._load(father), self.rng,
                                  max_size=self.settings.max_size, notes=notes)
                population.append(self._realize(child, generation, index, f"crossover {mother.key} x {father.key}")
                                  if child is not None else self._carry(mother, generation, index, "copy"))
            elif draw < self.settings.crossover_rate + self.settings.mutation_rate:
                population.append(self._mutant(self._select(previous), generation, index))
            else:
                population.append(self._carry(self._select(previous), generation, index, "copy"))
            step.advance()
        return population

    def _select(self, population: list[Individual]) -> Individual:
        """Tournament selection: the fittest of ``tournament`` drawn at random (the first on a tie)."""
        drawn = [self.rng.randrange(len(population)) for _ in range(self.settings.tournament)]
        return population[max(drawn, key=lambda i: (population[i].fitness, -i))]

    def _mutant(self, mother: Individual, generation: int, index: int) -> Individual:
        directory = self._directory(generation, index)
        notes = [f"g{generation:03d}/i{index:03d}: mutation of {mother.key} ({mother.formula})"]
        child = mutate(self._load(mother), self.library, self.rng, directory,
                       max_size=self.settings.max_size, notes=notes)
        if child is None:
            return self._carry(mother, generation, index, "copy")
        return self._realize(child, generation, index, f"mutation of {mother.key}")

    def _carry(self, individual: Individual, generation: int, index: int, how: str) -> Individual:
        """``individual`` in the next generation, unchanged: its folder, spec and score are kept."""
        return Individual(f"g{generation:03d}/i{index:03d}", individual.directory, individual.inputs,
                          individual.output, f"{how} of {individual.key}", individual.fitness,
                          individual.formula, individual.size, individual.error)

    # -- building and scoring --------------------------------------------------------------------

    def _realize(self, child: ChildSpec, generation: int, index: int, origin: str) -> Individual:
        """Writes ``child``'s spec, builds it in place and scores it; a failure scores -inf."""
        from graphdsl.assemble.compose import compose

        directory = self._directory(generation, index)
        inputs, output = child_names(child.inputs, child.output)
        individual = Individual(f"g{generation:03d}/i{index:03d}", directory, inputs, output, origin)
        started = time.perf_counter()
        try:
            with compose(child.write(directory), source_cache=self.cache) as composition:
                composition.save(directory)
                built = time.perf_counter()
                self.timing[0] += built - started
                tensors = {key: composition.tensor(key) for key in child.inputs}
                out = composition.tensor("out")
                individual.formula = genome.formula(out, tensors)
                individual.size = genome.size(out, tensors.values())
                try:
                    individual.fitness = score(self.fitness, composition.graph, composition.session, tensors, out)
                finally:
                    self.timing[1] += time.perf_counter() - built
        except GraphDslError as error:
            individual.error = error.render().splitlines()[0]
        except Exception as error:  # noqa: BLE001 - one child's failure is its score, not the run's end
            individual.error = f"error: {type(error).__name__}: {error}"
        return individual

    def _load(self, individual: Individual) -> Loaded:
        return load(individual.source, individual.inputs, individual.output, self.cache)

    def _load_parent(self, parent: Parent) -> Loaded:
        if sorted(parent.inputs) != self.keys:
            raise GraphDslError(f"parent {parent.name or parent.path} has inputs {sorted(parent.inputs)}, "
                                f"the first parent {self.keys}", hint="give every parent the same input keys")
        return load(SourceRef.of(parent.kind, parent.path, parent.options, self.base_dir), parent.inputs,
                    parent.output or None, self.cache)

    def _directory(self, generation: int, index: int) -> Path:
        return self.outdir / f"g{generation:03d}" / f"i{index:03d}"

    # -- what the run writes -----------------------------------------------------------------------

    def _stats(self, generation: int, population: list[Individual]) -> GenerationStats:
        scores = [i.fitness for i in population]
        finite = [s for s in scores if math.isfinite(s)]
        best = max(population, key=lambda i: (i.fitness, -population.index(i)))
        return GenerationStats(generation, best.fitness, sum(finite) / len(finite) if finite else -math.inf,
                               len({i.formula for i in population}) / len(population), best.key,
                               best.formula, *self.timing)

    def _write_population(self, generation: int, population: list[Individual]) -> None:
        folder = self.outdir / f"g{generation:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        rows = [individual.row() for individual in population]
        for row in rows:
            row["spec"] = Path(row["spec"]).relative_to(self.outdir).as_posix()
        _write_csv(folder / POPULATION, rows)

    def _write_best(self, best: Individual) -> None:
        """``best/best.gcomp``: the best individual copied whole, exported as a GraphDef and a SavedModel."""
        from graphdsl.assemble.compose import build

        folder = self.outdir / BEST
        folder.mkdir(parents=True, exist_ok=True)
        spec = folder / "best.gcomp"
        source = best.source.statement("best", folder)
        inputs = ", ".join(f"{key}: {key}" for key in best.inputs)
        spec.write_text("\n".join([
            f"# The best individual of the run: {best.key}, fitness {best.fitness!r}",
            f"#   y = {best.formula}",
            f"# built from {best.spec.relative_to(self.outdir).as_posix()}",
            "graphdsl 1", "", source, "",
            f"copy Best from best {{ take = {literal(best.output.rpartition(':')[0])} }}", "",
            *[f"let {key} = Best[{literal(tensor)}]" for key, tensor in best.inputs.items()],
            f"let y = Best[{literal(best.output)}]", "",
            'export graphdef "best.pb" { outputs = [y] }',
            "export savedmodel \"model\" {",
            f"    signature {schema.DEFAULT_SIGNATURE} {{ inputs = {{ {inputs} }} outputs = {{ y: y }} }}",
            "}", ""]), encoding="utf-8")
        build(spec, folder, source_cache=self.cache)


def _clear(outdir: Path) -> None:
    """Makes ``outdir`` ready for a run: new, empty, or the folder of an earlier run (whose files go)."""
    if outdir.exists() and not outdir.is_dir():
        raise GraphDslError(f"{outdir}: is a file, not a folder", hint="give a new or empty folder")
    if outdir.exists() and any(outdir.iterdir()):
        items = list(outdir.iterdir())
        # A run stopped in its first generation has written no table yet, only its generations' folders.
        if not (outdir / TABLE).is_file() and not all(_ran(item) for item in items):
            raise GraphDslError(f"{outdir}: not empty, and not the folder of an earlier run (no {TABLE})",
                                hint="give a new or empty folder")
        for item in filter(_ran, items):
            if item.is_dir():
                shutil.rmtree(item)
            else:
                item.unlink()
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # a file above it
        raise GraphDslError(f"{outdir}: cannot be made a folder: {e.strerror or e}",
                            hint="give a new or empty folder") from None


def _ran(item: Path) -> bool:
    """Whether ``item`` is something a run writes into its OUTDIR."""
    if item.is_dir():
        return item.name == BEST or (item.name[:1] == "g" and item.name[1:].isdigit())
    return item.name in (TABLE, TIMINGS, PLOT)


def _write_table(outdir: Path, table: list[GenerationStats]) -> None:
    _write_csv(outdir / TABLE, [{"generation": s.generation, "best": repr(s.best), "mean": repr(s.mean),
                                 "diversity": f"{s.diversity:.4f}", "best_key": s.best_key,
                                 "best_formula": s.best_formula} for s in table])
    _write_csv(outdir / TIMINGS, [{"generation": s.generation, "build_seconds": f"{s.build_seconds:.3f}",
                                   "fitness_seconds": f"{s.fitness_seconds:.3f}"} for s in table])


def _write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
