"""The template examples of specs/: towers.gcomp and ensemble.gcomp (both include specs/lib/blocks.gcomp),
built for several members of their families and run against what the hand-written graph computes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from graphdsl.assemble.compose import build, compose
from graphdsl.cli import main
from graphdsl.errors import GraphDslError
from graphdsl.lang.load import load_spec
from graphdsl.lang.params import ParamValues

tf1 = tf.compat.v1

REPO = Path(__file__).resolve().parents[1]
SPECS = REPO / "specs"
MODELS = SPECS / "models"
X4 = np.random.RandomState(7).normal(size=(6, 4)).astype(np.float32)


def run(composition, fetch: str, x: np.ndarray = X4) -> np.ndarray:
    return composition.session.run(composition.tensor(fetch), {composition.tensor("x"): x})


def trained_towers(x: np.ndarray, layers: int) -> np.ndarray:
    """The network towers.gcomp describes, computed with numpy from the trained checkpoint."""
    weight = tf.train.load_checkpoint(str(MODELS / "mlp_a.ckpt")).get_tensor
    hidden = np.tanh(x @ weight("layer1/w") + weight("layer1/b"))
    for _ in range(layers):
        hidden = np.tanh(hidden @ weight("layer2/w") + weight("layer2/b"))
    return hidden


# -- towers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layers, params", [(1, "towers-shallow.yaml"), (3, None), (12, "towers-deep.yaml")])
def test_towers_compute_their_layers_chained(layers: int, params: str | None) -> None:
    values = ParamValues.from_yaml_file(SPECS / "params" / params) if params else None
    with compose(SPECS / "towers.gcomp", params=values) as composition:
        assert [c.namespace.name for c in composition.spec.copies] == \
            ["Input", *(f"layer{i}/Dense" for i in range(layers))]
        np.testing.assert_allclose(run(composition, "top"), trained_towers(X4, layers), atol=1e-5)


@pytest.mark.parametrize("mode", ["value", "init"])
def test_towers_of_three_compute_what_the_hand_written_spec_computes(mode: str, tmp_path: Path) -> None:
    by_hand = (REPO / "tests/data/templates/towers_by_hand.gcomp").read_text().replace("= value", f"= {mode}")
    (tmp_path / "by_hand.gcomp").write_text(by_hand.replace("../../../specs/", f"{SPECS.as_posix()}/"))
    with compose(tmp_path / "by_hand.gcomp") as written, \
            compose(SPECS / "towers.gcomp", params={"layers": 3, "mode": mode}) as template:
        expected = run(written, "y")
        np.testing.assert_allclose(run(template, "top"), expected, atol=1e-6)
    if mode == "value":
        np.testing.assert_allclose(expected, trained_towers(X4, 3), atol=1e-5)


def test_towers_export_serves_the_chain(tmp_path: Path) -> None:
    build(SPECS / "towers.gcomp", tmp_path / "out", params={"layers": 2})
    served = tf.saved_model.load(str(tmp_path / "out" / "model")).signatures["serving_default"]
    np.testing.assert_allclose(served(x=tf.constant(X4))["y"].numpy(), trained_towers(X4, 2), atol=1e-5)


def test_fresh_towers_draw_the_initializers_not_the_trained_values() -> None:
    values = ParamValues.from_yaml_file(SPECS / "params" / "towers-fresh.yaml")
    with compose(SPECS / "towers.gcomp", params=values) as composition:
        trained = tf.train.load_checkpoint(str(MODELS / "mlp_a.ckpt")).get_tensor("layer2/w")
        drawn = [composition.session.run(composition.copy_of(f"layer{i}/Dense", "layer2/w")) for i in range(3)]
        assert not np.allclose(drawn[0], trained)
        np.testing.assert_allclose(drawn[1], drawn[0])  # one seeded initializer, copied three times


# -- ensemble ---------------------------------------------------------------------------------------------


def encoder(x: np.ndarray) -> np.ndarray:
    """One run of the original SavedModel."""
    return tf.saved_model.load(str(MODELS / "encoder")).signatures["serving_default"](x=tf.constant(x))["features"].numpy()


@pytest.mark.parametrize("members, params", [(2, "ensemble-pair.yaml"), (5, "ensemble-five.yaml")])
def test_ensemble_serves_the_mean_of_its_members(members: int, params: str, tmp_path: Path) -> None:
    build(SPECS / "ensemble.gcomp", tmp_path / "out", params=ParamValues.from_yaml_file(SPECS / "params" / params))
    served = tf.saved_model.load(str(tmp_path / "out" / "model"))
    runs = [encoder(X4) for _ in range(members)]
    mean = served.signatures["serving_default"](x=tf.constant(X4))["features"].numpy()
    np.testing.assert_allclose(mean, np.mean(runs, axis=0), atol=1e-6)
    each = served.signatures["members"](x=tf.constant(X4))
    assert sorted(each) == [f"member{k}" for k in range(members)]
    for k in range(members):
        np.testing.assert_allclose(each[f"member{k}"].numpy(), runs[k], atol=1e-6)


def test_ensemble_members_are_independent_copies() -> None:
    with compose(SPECS / "ensemble.gcomp") as composition:
        session = composition.session
        variables = {v.op.name: v for v in composition.graph.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES)}
        assert {f"member{k}/Net/{name}" for k in range(3) for name in ("w", "b")} <= set(variables)
        x = composition.tensor('Input["@x"]')
        before = session.run([composition.tensor(f"member{k}/features") for k in range(3)], {x: X4})
        with composition.graph.as_default():
            member1_w = variables["member1/Net/w"]
            session.run(member1_w.assign(tf.zeros_like(member1_w)))  # "train" one member only
        after = session.run([composition.tensor(f"member{k}/features") for k in range(3)], {x: X4})
        np.testing.assert_allclose(after[0], before[0])
        np.testing.assert_allclose(after[2], before[2])
        assert not np.allclose(after[1], before[1])
        assert composition.tensor('member1/Net["@features"]') is composition.tensor("member1/features")
        mean = session.run(composition.tensor("average/out"), {x: X4})
        np.testing.assert_allclose(mean, np.mean(after, axis=0), atol=1e-6)


# -- the command line ---------------------------------------------------------------------------------------


def test_cli_builds_a_family_member_from_its_params_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # the command line in this process: a TensorFlow start spared
    code = main(["build", "specs/towers.gcomp", "-o", str(tmp_path / "out"), "--params",
                 "specs/params/towers-shallow.yaml", "--param", "mode=init"])
    assert code == 0, capsys.readouterr().err
    served = tf.saved_model.load(str(tmp_path / "out" / "model")).signatures["serving_default"]
    assert served(x=tf.constant(X4))["y"].shape == (6, 8)


def test_params_apply_to_a_spec_given_as_a_path_or_text() -> None:
    spec = load_spec(SPECS / "towers.gcomp", params={"layers": 2})
    with pytest.raises(GraphDslError, match="params apply to a spec given as a path"):
        compose(spec, params={"layers": 3})
