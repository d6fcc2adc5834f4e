"""Every spec in specs/ is checked, built, exported, loaded back and run.

The model files the specs read are regenerated into a temporary copy of specs/ by
``specs/models/make_models.py`` and the composition tests use that copy, so these tests prove that
the generator and the specs agree; the CLI tests build the repository's specs with the committed
model files (through ``graphdsl.cli.main``, in this process). Nothing is ever written into the repository's specs/ directory.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from graphdsl.assemble.compose import compose
from graphdsl.cli import main
from graphdsl.lang.load import load_spec

tf1 = tf.compat.v1

REPO = Path(__file__).resolve().parents[1]
SPECS = REPO / "specs"
SPEC_NAMES = sorted(p.stem for p in SPECS.glob("*.gcomp"))
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
X4 = np.random.RandomState(11).normal(size=(5, 4)).astype(np.float32)  # inputs of 4 features


# -- fixtures and helpers ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of specs/ without the model files, then filled by running the generator on it."""
    root = tmp_path_factory.mktemp("specs") / "specs"
    root.mkdir()
    for spec in SPECS.glob("*.gcomp"):
        shutil.copy(spec, root)
    shutil.copytree(SPECS / "builders", root / "builders",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(SPECS / "lib", root / "lib")  # what the templates include
    (root / "models").mkdir()
    shutil.copy(SPECS / "models" / "make_models.py", root / "models")
    generator = root / "models" / "make_models.py"
    subprocess.run([sys.executable, str(generator), str(root / "models")], check=True, env=ENV,
                   capture_output=True)
    return root


@pytest.fixture(scope="module")
def built(specs: Path, tmp_path_factory: pytest.TempPathFactory):
    """``built(name)``: (composition, outdir) of spec ``name``, composed and saved once per module."""
    done = {}

    def build(name: str):
        if name not in done:
            composition = compose(specs / f"{name}.gcomp")
            outdir = tmp_path_factory.mktemp(f"out_{name}")
            composition.save(outdir)
            done[name] = composition, outdir
        return done[name]

    yield build
    for composition, _ in done.values():
        composition.close()


def builder(specs: Path, name: str):
    """The module ``specs/builders/NAME.py``."""
    file = specs / "builders" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"test_specs_builder_{name}", file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def initial_values(graph: tf.Graph) -> dict[str, np.ndarray]:
    """Each global variable of ``graph`` (by op name) after running its initializer."""
    with graph.as_default(), tf1.Session(graph=graph) as session:
        session.run(tf1.global_variables_initializer())
        return _values(graph, session)


def variable_values(composition, prefix: str) -> dict[str, np.ndarray]:
    """The composed graph's variables under ``prefix/``, by op name without the prefix."""
    values = _values(composition.graph, composition.session)
    return {name[len(prefix) + 1:]: v for name, v in values.items() if name.startswith(prefix + "/")}


def _values(graph: tf.Graph, session: tf.compat.v1.Session) -> dict[str, np.ndarray]:
    variables = graph.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES)
    return dict(zip([v.op.name for v in variables], session.run(variables)))


def run_graph(graph_def_or_graph, fetch: str, feed: dict[str, np.ndarray]) -> np.ndarray:
    graph = graph_def_or_graph
    if not isinstance(graph, tf.Graph):
        graph = tf.Graph()
        with graph.as_default():
            tf1.import_graph_def(graph_def_or_graph, name="")
    with tf1.Session(graph=graph) as session:
        return session.run(fetch, feed)


def read_graphdef(path: Path) -> tf.compat.v1.GraphDef:
    from google.protobuf import text_format

    graph_def = tf1.GraphDef()
    if path.suffix == ".pbtxt":
        text_format.Parse(path.read_text(), graph_def)
    else:
        graph_def.ParseFromString(path.read_bytes())
    return graph_def


# -- every spec ---------------------------------------------------------------------------------------


def test_there_are_example_specs() -> None:
    assert {"linear", "assembly", "transfer", "crossover"} <= set(SPEC_NAMES)


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_spec_parses_and_checks(name: str) -> None:
    spec = load_spec(SPECS / f"{name}.gcomp")
    assert spec.copies and spec.exports


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_spec_builds_and_every_export_loads_and_runs(name: str, built) -> None:
    """Generic: each export of the spec loads back; each signature runs on zeros of its input shapes."""
    composition, outdir = built(name)
    for export in composition.spec.exports:
        path = outdir / export.path.value
        kind = export.kind.name
        if kind == "savedmodel":
            loaded = tf.saved_model.load(str(path))
            for signature in export.signatures:
                function = loaded.signatures[signature.name.value]
                inputs = function.structured_input_signature[1]
                feeds = {k: tf.zeros([d or 1 for d in s.shape], s.dtype) for k, s in inputs.items()}
                results = function(**feeds)
                assert set(results) == {e.key.value for e in signature.outputs.entries}
        elif kind == "metagraph":
            graph = tf.Graph()
            with graph.as_default(), tf1.Session(graph=graph) as session:
                saver = tf1.train.import_meta_graph(f"{path}.meta")
                if saver is not None:
                    saver.restore(session, f"{path}.ckpt")
                for element in composition.aliases.values():  # every alias is in the export
                    graph.as_graph_element(element.name, allow_tensor=True, allow_operation=True)
        else:
            graph_def = read_graphdef(path)
            assert not [n.name for n in graph_def.node if n.op in ("VarHandleOp", "VariableV2")]
    assert (outdir / "graphdsl-build.yaml").is_file()


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_cli_builds_the_committed_spec(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """`graphdsl build` on the repository's spec, with the committed model files, exits with 0.

    The command line runs in this process (a TensorFlow start per spec is what made this slow);
    what a separate process shows on stderr is tested in test_cli_build and test_build_progress."""
    monkeypatch.chdir(REPO)
    before = sorted(p.relative_to(SPECS) for p in SPECS.rglob("*"))
    code = main(["build", str(SPECS / f"{name}.gcomp"), "-o", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    for export in load_spec(SPECS / f"{name}.gcomp").exports:
        suffix = ".meta" if export.kind.name == "metagraph" else ""
        assert (tmp_path / "out" / (export.path.value + suffix)).exists()
    assert sorted(p.relative_to(SPECS) for p in SPECS.rglob("*")) == before  # nothing written into specs/


# -- the model files ------------------------------------------------------------------------------------


def _files(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*")
                  if p.is_file() and p.name != "fingerprint.pb" and "__pycache__" not in p.parts)


def test_committed_models_are_what_the_generator_writes(specs: Path) -> None:
    committed, generated = SPECS / "models", specs / "models"
    assert _files(committed) == _files(generated)
    for name in ("p1.pbtxt", "p2.pbtxt"):
        assert (committed / name).read_text() == (generated / name).read_text()
    for prefix in ("mlp_a.ckpt", "encoder/variables/variables"):
        old = tf.train.load_checkpoint(str(committed / prefix))
        new = tf.train.load_checkpoint(str(generated / prefix))
        keys = [k for k, dtype in old.get_variable_to_dtype_map().items() if dtype.is_floating]
        assert sorted(keys) == sorted(k for k, d in new.get_variable_to_dtype_map().items() if d.is_floating)
        assert keys
        for key in keys:
            np.testing.assert_allclose(old.get_tensor(key), new.get_tensor(key), atol=1e-5, err_msg=key)


def test_committed_models_are_small() -> None:
    size = sum(p.stat().st_size for p in (SPECS / "models").rglob("*") if p.is_file())
    assert size < 1_000_000


# -- linear: the seed's walkthrough ----------------------------------------------------------------------


def test_linear_starts_from_the_builders_draw_and_learns_the_plane(specs: Path, built) -> None:
    composition, _ = built("linear")
    session = composition.session
    original = initial_values(builder(specs, "linear").build(seed=0))
    W, b, train, loss = (composition.tensor(n) for n in ("W", "b", "train", "loss"))
    # variables = init: the copy draws what the seeded original draws, not trained values.
    np.testing.assert_allclose(session.run(W), original["W"])
    np.testing.assert_allclose(session.run(b), [0.0])
    first_loss = session.run(loss)
    for _ in range(201):
        session.run(train)
    np.testing.assert_allclose(session.run(W), [[0.1, 0.2]], atol=1e-2)
    np.testing.assert_allclose(session.run(b), [0.3], atol=1e-2)
    assert session.run(loss) < 1e-4 < first_loss


def test_linear_exports_train_after_loading(specs: Path, built) -> None:
    composition, outdir = built("linear")  # saved before any training step
    start = initial_values(builder(specs, "linear").build(seed=0))["W"]
    graph = tf.Graph()
    with graph.as_default(), tf1.Session(graph=graph) as session:
        tf1.train.import_meta_graph(str(outdir / "linear.meta")).restore(session, str(outdir / "linear.ckpt"))
        np.testing.assert_allclose(session.run("CopiedOps/W/Read/ReadVariableOp:0"), start)
        for _ in range(201):
            session.run("CopiedOps/train")
        np.testing.assert_allclose(session.run("CopiedOps/W/Read/ReadVariableOp:0"), [[0.1, 0.2]], atol=1e-2)
        np.testing.assert_allclose(session.run("CopiedOps/b/Read/ReadVariableOp:0"), [0.3], atol=1e-2)
    served = tf.saved_model.load(str(outdir / "model")).signatures["serving_default"]()
    np.testing.assert_allclose(served["W"].numpy(), start)
    assert served["loss"].numpy() > 1e-2  # the untrained loss


def test_linear_cli_run_trains_to_the_plane(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """What `make demo` does: build, then run train 201 times and print W and b (in this process)."""
    monkeypatch.chdir(REPO)
    assert main(["build", "specs/linear.gcomp", "-o", str(tmp_path / "linear")]) == 0, capsys.readouterr().err
    capsys.readouterr()
    code = main(["run", str(tmp_path / "linear"), "--fetch", "train", "--fetch", "W", "--fetch", "b",
                 "--repeat", "201"])
    result = capsys.readouterr()
    assert code == 0, result.err
    W = re.search(r"^W = \[\[(\S+)\s+(\S+)\]\]$", result.out, re.M)
    b = re.search(r"^b = \[(\S+)\]$", result.out, re.M)
    assert W and b, result.out
    np.testing.assert_allclose([float(W[1]), float(W[2]), float(b[1])], [0.1, 0.2, 0.3], atol=1e-2)


# -- assembly: a SavedModel encoder under a MetaGraph head --------------------------------------------


def _encoder_then_head(models: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    """The two originals one after the other: the encoder SavedModel, then the head with its initializers."""
    features = tf.saved_model.load(str(models / "encoder")).signatures["serving_default"](
        x=tf.constant(x))["features"].numpy()
    graph = tf.Graph()
    with graph.as_default(), tf1.Session(graph=graph) as session:
        tf1.train.import_meta_graph(str(models / "head.meta"))
        session.run(tf1.global_variables_initializer())
        probs, logits = session.run(["probs:0", "logits:0"], {"features:0": features})
    return {"features": features, "probs": probs, "logits": logits}


def test_assembly_serves_what_the_encoder_then_the_head_compute(specs: Path, built) -> None:
    _, outdir = built("assembly")
    expected = _encoder_then_head(specs / "models", X4)
    served = tf.saved_model.load(str(outdir / "model"))
    result = served.signatures["serving_default"](x=tf.constant(X4))
    np.testing.assert_allclose(result["probs"].numpy(), expected["probs"], atol=1e-6)
    np.testing.assert_allclose(result["logits"].numpy(), expected["logits"], atol=1e-5)
    features = served.signatures["features"](x=tf.constant(X4))["features"].numpy()
    np.testing.assert_allclose(features, expected["features"], atol=1e-6)


def test_assembly_carries_the_encoders_values_and_draws_the_heads(specs: Path, built) -> None:
    composition, _ = built("assembly")
    encoder = tf.saved_model.load(str(specs / "models" / "encoder"))
    enc = variable_values(composition, "Enc")
    np.testing.assert_allclose(enc["w"], encoder.w.numpy())
    np.testing.assert_allclose(enc["b"], encoder.b.numpy())
    assert np.abs(encoder.b.numpy()).max() > 1e-3  # trained: the zeros it started from moved
    graph = tf.Graph()
    with graph.as_default():
        tf1.train.import_meta_graph(str(specs / "models" / "head.meta"))
    head = initial_values(graph)
    drawn = variable_values(composition, "Head")
    assert set(drawn) == {"head/w", "head/b"}
    for name in drawn:
        np.testing.assert_allclose(drawn[name], head[name])


# -- transfer: trained layers of A under a fresh head of B ------------------------------------------------


def test_transfer_keeps_as_trained_layers_and_bs_fresh_head(specs: Path, built) -> None:
    composition, _ = built("transfer")
    trained = tf.train.load_checkpoint(str(specs / "models" / "mlp_a.ckpt"))
    mlp = builder(specs, "mlp")
    a_initial, b_initial = initial_values(mlp.build(seed=1)), initial_values(mlp.build(seed=2))
    base, top = variable_values(composition, "Base"), variable_values(composition, "Top")
    # The bind stops the walk at layer 2: B's first layers are not copied.
    assert set(base) == {"layer1/w", "layer1/b", "layer2/w", "layer2/b"}
    assert set(top) == {"layer3/w", "layer3/b"}
    for name, value in base.items():
        np.testing.assert_allclose(value, trained.get_tensor(name), err_msg=name)
        assert not np.allclose(value, a_initial[name]), f"{name}: training did not move it"
        assert not np.allclose(value, b_initial[name]), name
    for name, value in top.items():
        np.testing.assert_allclose(value, b_initial[name], err_msg=name)
        assert not np.allclose(value, trained.get_tensor(name)), f"{name} holds A's trained value"


def test_transfer_serves_as_layers_then_bs_head(specs: Path, built) -> None:
    _, outdir = built("transfer")
    a = tf.train.load_checkpoint(str(specs / "models" / "mlp_a.ckpt")).get_tensor
    b = initial_values(builder(specs, "mlp").build(seed=2))
    hidden = np.tanh(np.tanh(X4 @ a("layer1/w") + a("layer1/b")) @ a("layer2/w") + a("layer2/b"))
    logits = hidden @ b["layer3/w"] + b["layer3/b"]
    result = tf.saved_model.load(str(outdir / "model")).signatures["serving_default"](x=tf.constant(X4))
    np.testing.assert_allclose(result["hidden"].numpy(), hidden, atol=1e-5)
    np.testing.assert_allclose(result["logits"].numpy(), logits, atol=1e-5)


# -- crossover: subtrees of two parents ---------------------------------------------------------------------


def test_crossover_child_combines_the_parents_subtrees(specs: Path, built) -> None:
    composition, outdir = built("crossover")
    x = np.linspace(-3.0, 3.0, 13).astype(np.float32)
    a = run_graph(read_graphdef(specs / "models" / "p1.pbtxt"), "a:0", {"x:0": x})
    d = run_graph(read_graphdef(specs / "models" / "p2.pbtxt"), "d:0", {"x:0": x})
    np.testing.assert_allclose(a + d, 3 * np.sin(x) + np.cos(x) - 0.5, atol=1e-5)  # the parents themselves
    served = tf.saved_model.load(str(outdir / "child")).signatures["serving_default"](x=tf.constant(x))
    np.testing.assert_allclose(served["y"].numpy(), a + d, atol=1e-6)
    frozen = run_graph(read_graphdef(outdir / "child.pb"), "Child/out:0", {"Left/x:0": x})
    np.testing.assert_allclose(frozen, a + d, atol=1e-6)
    # Only the chosen subtrees came along, on one input.
    names = {op.name for op in composition.graph.get_operations()}
    assert {"Left/a", "Right/d", "Child/out", "Left/x"} <= names
    assert not names & {"Left/b", "Left/y", "Right/c", "Right/y", "Right/x", "Child/left", "Child/right"}


def test_the_readme_shows_the_linear_spec_as_it_is() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "```gcomp\n" + (SPECS / "linear.gcomp").read_text(encoding="utf-8") + "```" in readme
