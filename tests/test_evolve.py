"""Populations: crossover and mutation make plain specs that compute the grafted expression; evolve
runs generations reproducibly, improves the example's fitness, and writes its tables and plot."""

from __future__ import annotations

import random
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from graphdsl.assemble.compose import build, compose
from graphdsl.cli import EXIT_FAILURE, EXIT_OK, main
from graphdsl.errors import GraphDslError
from graphdsl.evolve import genome
from graphdsl.evolve.childspec import ChildSpec, SourceRef
from graphdsl.evolve.config import load_config
from graphdsl.evolve.crossovers import crossover
from graphdsl.evolve.fitness import Evaluation, score
from graphdsl.evolve.individual import Loaded, load
from graphdsl.evolve.mutations import FRESH, Library, mutate, random_expression
from graphdsl.evolve.population import Parent, Settings, evolve
from graphdsl.tf.cache import SourceCache

tf1 = tf.compat.v1
REPO = Path(__file__).resolve().parents[1]
SPECS = REPO / "specs"
XS = np.linspace(-2.0, 2.0, 9, dtype=np.float32)


def run(graph: tf.Graph, fetch: tf.Tensor, feed: dict) -> np.ndarray:
    with tf1.Session(graph=graph) as session:
        return session.run(fetch, feed)


NUMPY: dict[str, Callable[..., np.ndarray]] = {
    "Sin": np.sin, "Cos": np.cos, "Mul": np.multiply, "AddV2": np.add, "Add": np.add, "Sub": np.subtract,
    "Identity": lambda v: v}


def evaluate(tensor: tf.Tensor, known: dict[str, np.ndarray]) -> np.ndarray:
    """What ``tensor`` computes, by numpy, with the tensors named in ``known`` given those values.

    (TensorFlow 2.21's session ignores a feed of an intermediate tensor when the placeholders it is
    computed from are fed too, so the expected values are computed here, independently.)
    """
    if tensor.name in known:
        return known[tensor.name]
    op = tensor.op
    if op.type == "Const":
        return tf.make_ndarray(op.get_attr("value"))
    return NUMPY[op.type](*(evaluate(t, known) for t in op.inputs))


def parent(cache: SourceCache, name: str):
    ref = SourceRef.of("graphdef", SPECS / "models" / f"{name}.pbtxt")
    return load(ref, {"x": "x:0"}, "y:0", cache)


def crossed(recipient: Loaded, donor: Loaded, seed: int) -> ChildSpec:
    """The child crossover makes with ``random.Random(seed)`` (with no size limit, there is one)."""
    child = crossover(recipient, donor, random.Random(seed))
    assert child is not None
    return child


def built_output(spec: Path, directory: Path) -> np.ndarray:
    """What the child built from ``spec`` computes on XS, read back from its artifact."""
    build(spec, directory)
    graph = tf.Graph()
    graph_def = tf1.GraphDef.FromString((directory / "child.pb").read_bytes())
    with graph.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    return run(graph, graph.get_tensor_by_name("R/y:0"), {graph.get_tensor_by_name("In/x:0"): XS})


# -- crossover and mutation ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_crossover_child_computes_the_recipient_with_the_donors_subtree(seed: int, tmp_path: Path) -> None:
    with SourceCache() as cache:
        p1, p2 = parent(cache, "p1"), parent(cache, "p2")
        child = crossover(p1, p2, random.Random(seed))
        assert child is not None
        spec = child.write(tmp_path)
        graft = child.graft
        got = built_output(spec, tmp_path)
    if graft is None:  # the donor's piece replaced the whole recipient
        expected = evaluate(p2.graph.get_tensor_by_name(child.output), {"x:0": XS})
    else:
        slot = p1.graph.get_tensor_by_name(graft.slot)
        piece = p2.graph.get_tensor_by_name(graft.piece) if graft.donor else p2.inputs[graft.piece]
        assert genome.compatible(slot, piece)
        expected = evaluate(p1.output, {"x:0": XS, slot.name: evaluate(piece, {"x:0": XS})})
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_crossover_draws_cut_points_among_compatible_tensors_only(tmp_path: Path) -> None:
    with SourceCache() as cache:
        p1, p2 = parent(cache, "p1"), parent(cache, "p2")
        seen = set()
        for seed in range(40):
            child = crossed(p1, p2, seed)
            if child.graft is not None and child.graft.donor is not None:
                slot = p1.graph.get_tensor_by_name(child.graft.slot)
                piece = p2.graph.get_tensor_by_name(child.graft.piece)
                assert slot.dtype == piece.dtype and slot.shape.is_compatible_with(piece.shape)
                seen.add((child.graft.slot, child.graft.piece))
        # the scalar constant 3.0 of P1 is swapped only for P2's scalars; [None] tensors for [None]
        assert len(seen) > 5
        again = [crossed(p1, p2, 7).text(tmp_path) for _ in range(2)]
        assert again[0] == again[1]  # the same generator state, the same child


def test_crossover_takes_parents_of_any_kind_with_their_values(tmp_path: Path) -> None:
    """A MetaGraph with a checkpoint (trained values) crossed with a GraphDef: the child keeps the values."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None], name="x")
        w = tf1.get_variable("w", initializer=2.0, use_resource=True)
        tf.multiply(w, tf.sin(x, name="s"), name="y")
        saver = tf1.train.Saver()
        with tf1.Session() as session:
            session.run(tf1.global_variables_initializer())
            session.run(w.assign(5.0))  # "trained"
            saver.save(session, str(tmp_path / "m.ckpt"))
        tf1.train.export_meta_graph(str(tmp_path / "m.meta"))
    with SourceCache() as cache:
        meta = load(SourceRef.of("metagraph", "m.meta", {"checkpoint": "m.ckpt"}, tmp_path),
                    {"x": "x:0"}, "y:0", cache)
        p2 = parent(cache, "p2")
        for seed in range(30):
            child = crossed(p2, meta, seed)
            if child.graft is not None and child.graft.piece == "y:0":
                break
        else:
            pytest.fail("no seed grafted the metagraph's whole expression")
        assert child.graft is not None
        assert "variables = value" in child.text(tmp_path)
        got = built_output(child.write(tmp_path / "child"), tmp_path / "child")
    expected = evaluate(p2.output, {"x:0": XS, child.graft.slot: 5.0 * np.sin(XS)})
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_mutation_grafts_a_fresh_random_piece_written_as_data(tmp_path: Path) -> None:
    with SourceCache() as cache:
        p2 = parent(cache, "p2")
        library = Library([parent(cache, "p1")], fresh_rate=1.0)
        child = mutate(p2, library, random.Random(3), tmp_path)
        assert child is not None
        assert child.graft is not None or child.recipient.path.endswith(FRESH)
        text = child.text(tmp_path)
        assert 'graphdef("fresh.pbtxt")' in text and (tmp_path / FRESH).is_file()
        got = built_output(child.write(tmp_path), tmp_path)
        assert got.shape == XS.shape and np.all(np.isfinite(got))


def test_a_fresh_piece_draws_no_more_functions_than_a_child_may_hold() -> None:
    # Binary functions double an expression with each level: at depth 40 one draw made millions
    # of ops (a run of 3 individuals grew past 1 GB) before max_size refused the child.
    with SourceCache() as cache:
        p2 = parent(cache, "p2")
        assert p2.output is not None
        for seed in range(4):
            graph, _, _ = random_expression(random.Random(seed), p2.output, p2.inputs, ("add", "mul"), 12,
                                            max_size=10)
            assert sum(op.type in ("AddV2", "Add", "Mul") for op in graph.get_operations()) <= 10


def test_settings_that_bound_nothing_are_refused() -> None:
    for settings, message in ((Settings(max_size=0), "max_size must be at least 1, not 0"),
                              (Settings(depth=-1), "depth must be between 0 and 100, not -1"),
                              (Settings(depth=5000), "depth must be between 0 and 100, not 5000")):
        with pytest.raises(GraphDslError, match=message):
            settings.check()


def test_mutation_from_the_library_takes_a_piece_of_the_same_type(tmp_path: Path) -> None:
    with SourceCache() as cache:
        p2, p1 = parent(cache, "p2"), parent(cache, "p1")
        library = Library([p1], fresh_rate=0.0)
        pieces = {t.name for _, t in library.pieces()}
        for seed in range(10):
            child = mutate(p2, library, random.Random(seed), tmp_path / str(seed))
            assert child is not None and not (tmp_path / str(seed) / FRESH).exists()
            if child.graft is not None and child.graft.donor is not None:
                assert child.graft.piece in pieces
                slot = p2.graph.get_tensor_by_name(child.graft.slot)
                assert genome.compatible(slot, p1.graph.get_tensor_by_name(child.graft.piece))


def test_formula_reads_like_the_expression() -> None:
    with SourceCache() as cache:
        p1 = parent(cache, "p1")
        assert genome.formula(p1.output, p1.inputs) == "(3 * Sin(x)) + (x * x)"
        assert genome.size(p1.output, p1.inputs.values()) == 5


# -- fitness ---------------------------------------------------------------------------------------


def test_fitness_that_is_not_a_number_is_an_error_naming_it_and_nan_scores_worst() -> None:
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None], name="x")
        y = tf.math.log(x - 10.0)  # nan on every x below 10
    with tf1.Session(graph=graph) as session:
        with pytest.raises(GraphDslError, match="returned 'bad', not a number"):
            # A fitness function that returns no number, as a user's might: the wrong type is the test.
            score(lambda *args: "bad", graph, session, {"x": x}, y)  # type: ignore[arg-type]
        evaluation = Evaluation({"x": XS}, XS)
        assert score(evaluation, graph, session, {"x": x}, y) == -np.inf
        assert score(evaluation, graph, session, {"x": x}, x) == 0.0


@pytest.mark.parametrize("returned, message", [
    ("1.5", "returned '1.5', not a number"),  # text that reads as a number is still text
    (True, "returned True, not a number"),
    (np.bool_(True), "returned np.True_, not a number"),
    (np.array([1.0, 2.0]), r"returned array\(\[1\., 2\.\]\), not a number"),
    (10**400, "a number too large for a float"),
], ids=["text", "bool", "numpy bool", "array", "huge int"])
def test_fitness_of_the_wrong_type_is_an_error_naming_it(returned: object, message: str) -> None:
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None], name="x")
    with tf1.Session(graph=graph) as session:
        with pytest.raises(GraphDslError, match=message):
            # The wrong type is the test.
            score(lambda *args: returned, graph, session, {"x": x}, x)  # type: ignore[arg-type,return-value]
        for good in (2, 2.0, np.float32(2.0), np.int64(2), np.array(2.0)):
            assert score(lambda *args: good, graph, session, {"x": x}, x) == 2.0  # type: ignore[arg-type,return-value]


def test_a_fitness_function_calling_sys_exit_fails_its_individual_not_the_run(tmp_path: Path) -> None:
    def leaves(graph, session, inputs, output):
        sys.exit(0)  # ended the run with status 0, as if it had succeeded, and wrote no table

    parents = [Parent("graphdef", "models/p1.pbtxt", {"x": "x:0"}, "y:0")]
    with pytest.raises(GraphDslError, match=r"the first: error: the fitness function called sys.exit\(0\)"):
        evolve(parents, leaves, tmp_path, Settings(population=2, generations=1), base_dir=SPECS)


# -- evolve ----------------------------------------------------------------------------------------


SMALL = Settings(population=10, generations=3, seed=4)


def small_run(outdir: Path):
    config = load_config(SPECS / "regression.yaml")
    return evolve(config.parents, config.fitness, outdir, SMALL, base_dir=config.base_dir)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory):
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    return small_run(first), small_run(second)


def test_the_example_improves_over_generations(two_runs) -> None:
    result, _ = two_runs
    bests = [row.best for row in result.generations]
    assert len(bests) == SMALL.generations + 1
    assert bests == sorted(bests)  # the elite is kept: the best never gets worse
    assert bests[-1] > bests[0] + 0.1  # and it gets measurably better
    target = XS.astype(np.float64) ** 2 + np.sin(XS.astype(np.float64))
    first_error = np.mean((built_best(result.outdir) - target) ** 2)
    assert first_error < 1.0  # the best individual's artifact really computes something close


def built_best(outdir: Path) -> np.ndarray:
    from graphdsl.run import open_runnable

    runnable = open_runnable(str(outdir / "best"), export="model")
    try:
        return runnable.run({"x": XS}, ["y"])[0]
    finally:
        runnable.close()


def test_the_same_seed_gives_the_same_run(two_runs) -> None:
    first, second = two_runs
    files = ["generations.csv", "best/best.gcomp", *(f"g{g:03d}/population.csv" for g in range(4))]
    for name in files:
        assert (first.outdir / name).read_bytes() == (second.outdir / name).read_bytes(), name
    for row in (first.outdir / "g003" / "population.csv").read_text().splitlines()[1:]:
        spec = row.split(",")[-2]
        assert (first.outdir / spec).read_bytes() == (second.outdir / spec).read_bytes()
    assert first.best.key == second.best.key and first.best.fitness == second.best.fitness


def test_the_run_writes_tables_specs_and_a_plot(two_runs) -> None:
    result, _ = two_runs
    header = (result.outdir / "generations.csv").read_text().splitlines()[0]
    assert header == "generation,best,mean,diversity,best_key,best_formula"
    assert (result.outdir / "fitness.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (result.outdir / "timings.csv").is_file()
    for individual in result.population:
        assert individual.spec.is_file() and individual.artifact.is_file()
        with compose(individual.spec) as composition:  # every individual is a plain spec
            assert composition.tensor("out") is not None


def test_a_different_seed_gives_a_different_run(two_runs, tmp_path: Path) -> None:
    config = load_config(SPECS / "regression.yaml")
    other = evolve(config.parents, config.fitness, tmp_path, Settings(population=10, generations=1, seed=5),
                   base_dir=config.base_dir)
    first, _ = two_runs
    assert ((other.outdir / "g001/population.csv").read_text()
            != (first.outdir / "g001/population.csv").read_text())


# -- the command line ------------------------------------------------------------------------------


EVALUATE = """\
parents:
  - {source: graphdef, path: p1.pbtxt, inputs: {x: "x:0"}, output: "y:0"}
  - {source: graphdef, path: p2.pbtxt, inputs: {x: "x:0"}, output: "y:0"}
evaluate:
  feed: {x: [-1.0, 0.0, 1.0, 2.0]}
  target: [0.16, 0.0, 1.84, 4.91]
population: 6
generations: 1
"""


def test_cli_evolves_with_an_evaluation_and_prints_each_generation(tmp_path: Path, capsys) -> None:
    for name in ("p1", "p2"):
        shutil.copy(SPECS / "models" / f"{name}.pbtxt", tmp_path)
    (tmp_path / "evolve.yaml").write_text(EVALUATE)
    code = main(["evolve", str(tmp_path / "evolve.yaml"), "-o", str(tmp_path / "out"), "--seed", "2"])
    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert out.startswith("generation 0: best ") and "\ngeneration 1: best " in out
    assert f"wrote {tmp_path / 'out' / 'best' / 'best.gcomp'}" in out
    # an earlier run's folder is reused, anything else refused
    assert main(["evolve", str(tmp_path / "evolve.yaml"), "-o", str(tmp_path / "out")]) == EXIT_OK
    assert main(["evolve", str(tmp_path / "evolve.yaml"), "-o", str(tmp_path)]) == EXIT_FAILURE
    assert "not empty, and not the folder of an earlier run" in capsys.readouterr().err


def test_a_run_stopped_in_its_first_generation_leaves_a_folder_the_next_run_takes(tmp_path: Path) -> None:
    # Ctrl-C before generation 0 was done left g000/ and no generations.csv: the next run into it
    # was refused as "not the folder of an earlier run".
    stopped = tmp_path / "g000" / "i000"
    stopped.mkdir(parents=True)
    (stopped / "child.gcomp").write_text("graphdsl 1\n")
    parents = [Parent("graphdef", "models/p1.pbtxt", {"x": "x:0"}, "y:0")]
    result = evolve(parents, Evaluation({"x": XS}, XS), tmp_path, Settings(population=1, generations=0), base_dir=SPECS)
    assert result.best.fitness > -np.inf and (tmp_path / "generations.csv").is_file()
    assert (stopped / "child.gcomp").read_text() != "graphdsl 1\n"
    (tmp_path / "notes.txt").write_text("someone else's\n")
    (tmp_path / "generations.csv").unlink()
    with pytest.raises(GraphDslError, match="not empty, and not the folder of an earlier run"):
        evolve(parents, Evaluation({"x": XS}, XS), tmp_path, Settings(population=1, generations=0), base_dir=SPECS)


def test_an_outdir_that_cannot_be_a_folder_is_named_as_the_output(tmp_path: Path, capsys) -> None:
    for name in ("p1", "p2"):
        shutil.copy(SPECS / "models" / f"{name}.pbtxt", tmp_path)
    (tmp_path / "evolve.yaml").write_text(EVALUATE)
    (tmp_path / "taken").write_text("a file\n")
    for outdir, message in (("taken", "is a file, not a folder"), ("taken/sub", "cannot be made a folder: ")):
        assert main(["evolve", str(tmp_path / "evolve.yaml"), "-o", str(tmp_path / outdir)]) == EXIT_FAILURE
        assert capsys.readouterr().err.startswith(f"error: {tmp_path / outdir}: {message}")  # was "cannot read"


@pytest.mark.parametrize("original, broken, message, where", [
    ("population: 6", "populaton: 6", "unknown setting 'populaton'", "7:1"),
    ("source: graphdef, path: p2", "source: graphdf, path: p2", "unknown source kind 'graphdf'", "3:14"),
    ("generations: 1", "generations: many", "'generations' must be an integer, not 'many'", "8:14"),
    ("target: [0.16", "targit: [0.16", "unknown setting 'targit'", "6:3"),
    ("population: 6", "? [population]\n: 6", "a setting's name must be a word, not a list or a mapping", "7:3"),
    ("population: 6", "population: 6  # \0", "not YAML: it holds the character U+0000", "7:18"),
])
def test_bad_settings_are_reported_at_their_line(tmp_path: Path, capsys, original: str, broken: str,
                                                  message: str, where: str) -> None:
    (tmp_path / "evolve.yaml").write_text(EVALUATE.replace(original, broken, 1), encoding="utf-8")
    assert main(["evolve", str(tmp_path / "evolve.yaml"), "-o", str(tmp_path / "out")]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert f"evolve.yaml:{where}: error: {message}" in err and "Traceback" not in err


@pytest.mark.parametrize("broken, message, where", [
    ("generations: [1", "not YAML: expected ',' or ']', but got '<stream end>'", "9:1"),
    ("generations: many", "'generations' must be an integer, not 'many'", "8:14"),
])
def test_places_in_settings_are_the_files_lines_after_a_yaml_line_break(tmp_path: Path, capsys, broken: str,
                                                                          message: str, where: str) -> None:
    """YAML ends a line at U+2028 too (here inside a string of line 2), where the file and an editor
    do not: places come from offsets into the text."""
    text = EVALUATE.replace('x: "x:0"', 'x: "x\u2028:0"', 1).replace("generations: 1", broken, 1)
    (tmp_path / "evolve.yaml").write_text(text, encoding="utf-8")
    assert main(["evolve", str(tmp_path / "evolve.yaml"), "-o", str(tmp_path / "out")]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert f"evolve.yaml:{where}: error: {message}" in err and "Traceback" not in err


def test_a_settings_file_that_is_not_utf8_is_reported_at_its_byte(tmp_path: Path, capsys) -> None:
    text = EVALUATE.replace("population: 6", "population: 6  # caf\u00e9", 1)
    (tmp_path / "evolve.yaml").write_bytes(text.encode("latin-1"))
    assert main(["evolve", str(tmp_path / "evolve.yaml"), "-o", str(tmp_path / "out")]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert "evolve.yaml:7:21: error: the settings file is not UTF-8 text: byte 0xe9" in err
    assert "Traceback" not in err


def test_a_fitness_that_fails_for_everyone_stops_the_run_and_says_why(tmp_path: Path) -> None:
    def broken(graph, session, inputs, output):
        raise KeyError("y")

    parents = [Parent("graphdef", "models/p1.pbtxt", {"x": "x:0"}, "y:0")]
    with pytest.raises(GraphDslError, match="no individual of generation 0 could be built and scored; "
                       "the first: error: the fitness function raised KeyError"):
        evolve(parents, broken, tmp_path, Settings(population=2, generations=1), base_dir=SPECS)


def test_a_parents_signature_keys_are_written_as_in_a_spec() -> None:
    with SourceCache() as cache:
        ref = SourceRef.of("savedmodel", "models/encoder", {}, SPECS)
        short = load(ref, {"x": "@x"}, "@features", cache)
        named = load(ref, {"x": "@serving_default/x"}, "@serving_default/features", cache)
        assert named.output is not None and short.output is not None
        assert (named.inputs["x"].name, named.output.name) == (short.inputs["x"].name, short.output.name)
        with pytest.raises(GraphDslError, match="has no input or output 'feature'"):
            load(ref, {"x": "@x"}, "@feature", cache)
