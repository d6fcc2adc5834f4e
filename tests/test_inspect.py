"""`graphdsl inspect`: what a source holds, in the words a spec uses; its JSON and the README's examples."""

from __future__ import annotations

import hashlib

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tensorflow as tf

from graphdsl import copy_to_graph
from graphdsl.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, main
from graphdsl.tf.sources import load_source

from jsonshape import conforms, inspect_shape
from terminal import run_at_a_terminal

REPO = Path(__file__).resolve().parents[1]
MLP = ["specs/models/mlp_a.meta", "--checkpoint", "specs/models/mlp_a.ckpt"]
PIECES = "tests/data/builders/pieces.py"


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["inspect", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def inspect_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, *argv, "--json")
    assert code == EXIT_OK, err
    return json.loads(out)


# -- what a source holds ----------------------------------------------------------------------------


def test_a_savedmodel_shows_its_signature_keys_and_value_only_variables(capsys) -> None:
    code, out, err = run(capsys, "specs/models/encoder")
    assert code == EXIT_OK and err == ""
    assert re.search(r"in\s+x\s+@x\s+float32\s+\[\?, 4\]\s+serving_default_x:0", out)
    assert re.search(r"out\s+features\s+@features\s+float32\s+\[\?, 3\]\s+StatefulPartitionedCall:0", out)
    # A TF2 SavedModel keeps no initializers: only `value` is possible, and the table says so.
    assert re.search(r"\n  w\s+float32\s+\[4, 3\]\s+no\s+value\n", out)


def test_signature_keys_are_the_ones_a_spec_resolves(capsys, tmp_path: Path) -> None:
    """Each "@KEY" inspect offers names, in a spec, the tensor inspect says."""
    from graphdsl.assemble.compose import compose

    report = inspect_json(capsys, "specs/models/encoder")["graphs"][0]
    (signature,) = report["signatures"]
    assert signature["option"] is None  # serving_default needs no option
    spec = tmp_path / "enc.gcomp"
    spec.write_text(f'graphdsl 1\nsource e = savedmodel("{REPO}/specs/models/encoder")\n'
                    'copy Enc from e { take = "@features" variables = value }\n')
    with compose(spec) as composition:
        for entry in signature["inputs"] + signature["outputs"]:
            copied = composition.copy_of("Enc", entry["ref"])
            assert copied.name == "Enc/" + entry["tensor"]
            assert copied.dtype.name == entry["dtype"] and copied.shape.as_list() == entry["shape"]


def test_a_signature_other_than_serving_default_says_which_option_it_needs(capsys, tmp_path: Path) -> None:
    from models import save_tf2_savedmodel

    save_tf2_savedmodel(tmp_path / "two")
    report = inspect_json(capsys, str(tmp_path / "two"))["graphs"][0]
    by_name = {s["name"]: s for s in report["signatures"]}
    assert list(by_name) == ["serving_default", "double"]
    assert by_name["double"]["option"] == 'signature = "double"'
    assert [o["ref"] for o in by_name["double"]["outputs"]] == ["@z"]


def test_variables_say_which_modes_a_copy_can_take(capsys) -> None:
    with_values = inspect_json(capsys, *MLP)["graphs"][0]
    without = inspect_json(capsys, "specs/models/mlp_a.meta")["graphs"][0]
    assert {v["name"]: v["modes"] for v in with_values["variables"]}["layer1/w"] == ["init", "value"]
    assert {v["name"]: v["modes"] for v in without["variables"]}["layer1/w"] == ["init"]
    assert {v["name"]: (v["dtype"], v["shape"]) for v in without["variables"]}["layer2/w"] == ("float32", [8, 8])


def test_a_builder_gets_its_arguments(capsys) -> None:
    untrained = inspect_json(capsys, f"{PIECES}:encoder")["graphs"][0]
    trained = inspect_json(capsys, f"{PIECES}:encoder", "--arg", "trained=true")["graphs"][0]
    assert untrained["options"] == {} and trained["options"] == {"trained": True}
    # The trained builder returns a session: its variables can be copied by value too.
    assert untrained["variables"][0]["modes"] == ["init"]
    assert trained["variables"][0]["modes"] == ["init", "value"]
    assert [p["tensor"] for p in trained["placeholders"]] == ["x:0"]


def test_ops_are_counted_per_name_scope_to_a_depth_and_filtered(capsys) -> None:
    graph = load_source("metagraph", "specs/models/mlp_a.meta", {}, REPO).graph
    names = [op.name for op in graph.get_operations()]
    top = inspect_json(capsys, "specs/models/mlp_a.meta")["graphs"][0]["scopes"]
    groups = {g["name"]: g for g in top["groups"]}
    assert top["ops"] == len(names) and all(g["level"] == 1 for g in top["groups"])
    assert groups["layer1"]["ops"] == sum(n.startswith("layer1/") for n in names)
    assert groups["x"] == {"name": "x", "level": 1, "ops": 1, "type": "Placeholder"}
    deep = inspect_json(capsys, "specs/models/mlp_a.meta", "--depth", "2", "--match", "layer2/*")["graphs"][0]
    names2 = [g["name"] for g in deep["scopes"]["groups"]]
    assert names2[0] == "layer2" and all(n.startswith("layer2") for n in names2)
    assert {g["name"]: g["ops"] for g in deep["scopes"]["groups"]}["layer2/w"] == sum(
        n == "layer2/w" or n.startswith("layer2/w/") for n in names)
    assert [v["name"] for v in deep["variables"]] == ["layer2/w", "layer2/b"]
    code, out, _ = run(capsys, "specs/models/mlp_a.meta", "--depth", "2", "--match", "layer2/*")
    assert re.search(r"\n\s+1    out\s+Identity\n", out)


def test_op_shows_its_neighbours_and_what_a_copy_of_it_brings(capsys) -> None:
    op = inspect_json(capsys, *MLP, "--op", "layer2/out")["graphs"][0]["op"]
    assert op["type"] == "Identity"
    assert [(i["tensor"], i["op_type"]) for i in op["inputs"]] == [("layer2/Tanh:0", "Tanh")]
    assert "layer3/MatMul" in op["outputs"][0]["consumers"]
    init = op["brings"]["init"]
    assert init["possible"] and init["placeholders"] == ["x"]
    assert sorted(init["variables"]) == ["layer1/b", "layer1/w", "layer2/b", "layer2/w"]
    # What inspect announces is what the copier then copies.
    source = load_source("metagraph", MLP[0], {"checkpoint": MLP[2]}, REPO)
    target = tf.Graph()
    copy_to_graph(source.graph.get_operation_by_name("layer2/out"), target, namespace="N")
    assert len(target.get_operations()) == init["ops"]
    value = op["brings"]["value"]
    assert value["possible"] and sorted(value["variables"]) == sorted(init["variables"])
    assert value["ops"] < init["ops"]  # no initializer subgraphs
    source.close()


def test_op_takes_tensors_and_signature_keys_and_says_when_init_is_impossible(capsys) -> None:
    op = inspect_json(capsys, "specs/models/encoder", "--op", "@features")["graphs"][0]["op"]
    assert (op["name"], op["asked"]) == ("StatefulPartitionedCall", "@features")
    # A key of a named signature, written as in a spec.
    named = inspect_json(capsys, "specs/models/encoder", "--op", "@serving_default/features")
    assert named["graphs"][0]["op"]["name"] == "StatefulPartitionedCall"
    assert not op["brings"]["init"]["possible"]
    assert "no initializer" in op["brings"]["init"]["reason"]
    assert op["brings"]["value"]["possible"] and sorted(op["brings"]["value"]["variables"]) == ["b", "w"]
    assert op["brings"]["value"]["functions"] == 2  # the signature wrapper and the traced body
    code, out, _ = run(capsys, "specs/models/mlp_a.meta", "--op", "layer2/out:0")
    assert code == EXIT_OK and "init:  impossible" not in out
    assert "value: 21 ops (+ an initializer per variable)" in out and "impossible: the source holds no variable values" in out


def test_a_build_output_shows_its_exports_and_aliases(capsys, tmp_path: Path) -> None:
    assert main(["build", "specs/linear.gcomp", "-o", str(tmp_path / "out")]) == EXIT_OK
    capsys.readouterr()
    result = inspect_json(capsys, str(tmp_path / "out"))
    spec_sha256 = hashlib.sha256(Path("specs/linear.gcomp").read_bytes()).hexdigest()
    assert result["outdir"]["spec_sha256"] == spec_sha256
    assert result["outdir"]["aliases"]["train"] == {"kind": "operation", "name": "CopiedOps/train"}
    assert [(g["kind"], g["export"]) for g in result["graphs"]] == [("metagraph", "linear"), ("savedmodel", "model")]
    model = inspect_json(capsys, str(tmp_path / "out"), "--export", "model")["graphs"]
    assert [o["key"] for o in model[0]["signatures"][0]["outputs"]] == ["W", "b", "loss"]
    code, _, err = run(capsys, str(tmp_path / "out"), "--export", "modle")
    assert code == EXIT_FAILURE and "no export named 'modle'" in err and "did you mean 'model'?" in err


def test_a_hand_edited_manifest_is_a_clear_error_in_inspect_and_graph(capsys, tmp_path: Path) -> None:
    """The tools read graphdsl-build.yaml through the build's own validating reader."""
    assert main(["build", "specs/linear.gcomp", "-o", str(tmp_path / "out")]) == EXIT_OK
    manifest = tmp_path / "out" / "graphdsl-build.yaml"
    manifest.write_text(manifest.read_text().replace("aliases:\n", "aliases:\n  broken: 5\n"))
    capsys.readouterr()
    for argv in (["inspect", str(tmp_path / "out")], ["graph", str(tmp_path / "out"), "-o", str(tmp_path / "g.dot")]):
        assert main(argv) == EXIT_FAILURE
        err = capsys.readouterr().err
        assert f"{manifest}: not a graphdsl build manifest: alias 'broken' must be a mapping" in err, err
        assert "Traceback" not in err and not (tmp_path / "g.dot").exists()


# -- mistakes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "message", "hint"), [
    (["specs/models/mlp_a.meta", "--op", "layer2/outt"], "specs/models/mlp_a.meta: no op 'layer2/outt'",
     "did you mean 'layer2/out'?"),
    (["specs/models/mlp_a.meta", "--op", "layer2/out:1"], "op 'layer2/out' has 1 output(s)", "below 1"),
    (["specs/models/encoder", "--op", "@feature"], "has no input or output 'feature'", "did you mean 'features'?"),
    (["specs/models/missing.pb"], "specs/models/missing.pb: no such file", "check the path"),
    (["specs/linear.gcomp"], "not a source graphdsl can inspect", "graphdsl graph"),
    (["specs/builders/mlp.py"], "names no function", "specs/builders/mlp.py:FUNCTION"),
    (["specs/builders/mlp.py:buid"], "defines no function 'buid'", "did you mean function 'build'?"),
    (["specs/models/p1.pbtxt", "--checkpoint", "x"], "--checkpoint does not apply to a graphdef source",
     "a .meta file"),
    (["specs/models/encoder", "--tags", "gpu"], "no MetaGraph tagged ['gpu']", "--tags one of: serve"),
    (["specs/models/head.meta", "--checkpoint", "nope"], "checkpoint 'nope' not found", "prefix"),
    (["specs/models", "--depth", "1"], "neither a SavedModel directory nor a build's output directory", ""),
    (["specs/models/mlp_a.meta", "--op", "layer*"], "--op takes one name", "--match"),
])
def test_mistakes_are_clear_errors(capsys, argv: list[str], message: str, hint: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == EXIT_FAILURE and out == ""
    assert err.startswith("error: ") and message in err and hint in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["x.pb", "--arg", "seed"], ["x.py:f", "--arg", "k=[1,"], ["x.pb", "--depth", "two"]])
def test_bad_command_lines_exit_64(capsys, argv: list[str]) -> None:
    assert run(capsys, *argv)[0] == EXIT_USAGE


# -- JSON, as documented ----------------------------------------------------------------------------


def test_the_documented_shape_catches_departures() -> None:
    shape = {"a": "int", "b?": {"c": "list[int|null]|null"}, "d": [{"*": "str"}]}
    assert conforms({"a": 1, "b": None, "d": [{"x": "y"}]}, shape) == []
    assert conforms({"a": 1, "b": {"c": [1, None]}, "d": []}, shape) == []
    assert conforms({"a": True, "b": {"c": ["1"]}, "d": [{"x": 2}], "e": 0}, shape) == [
        "$.a: True is not int", "$.b.c: ['1'] is not list[int|null]|null", "$.d[0].x: 2 is not str",
        "$: unexpected key 'e'"]


@pytest.mark.parametrize("argv", [
    ["specs/models/encoder", "--op", "@features"],
    [*MLP, "--depth", "3", "--op", "layer2/out"],
    [f"{PIECES}:encoder", "--arg", "trained=true"],
    ["specs/models/p1.pbtxt"],
])
def test_json_output_has_the_documented_shape(capsys, argv: list[str]) -> None:
    result = inspect_json(capsys, *argv)
    assert conforms(result, inspect_shape()) == []


def test_json_of_a_build_output_has_the_documented_shape(capsys, tmp_path: Path) -> None:
    assert main(["build", "specs/assembly.gcomp", "-o", str(tmp_path / "out")]) == EXIT_OK
    capsys.readouterr()
    result = inspect_json(capsys, str(tmp_path / "out"), "--op", "Enc/StatefulPartitionedCall")
    assert result["outdir"] is not None and conforms(result, inspect_shape()) == []


# -- the README's examples, and the terminal ----------------------------------------------------------


def readme_commands(command: str) -> list[list[str]]:
    """The `graphdsl` lines of the README's sh blocks in the section about ``command``, as argv."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split(f"### `graphdsl {command}`", 1)[1].split("\n### ", 1)[0]
    return [shlex.split(line.split(" # ")[0])[1:]
            for block in re.findall(r"^```sh\n(.*?)^```", section, re.S | re.M)
            for line in block.splitlines() if line.startswith("graphdsl ")]


def test_the_readme_inspect_examples_run(capsys, tmp_path: Path) -> None:
    commands = readme_commands("inspect")
    assert len(commands) >= 5 and any(argv[0] == "build" for argv in commands)
    for argv in commands:
        argv = [a.replace("out/", f"{tmp_path}/out/") for a in argv]
        assert main(argv) == EXIT_OK, argv
        assert "Traceback" not in capsys.readouterr().err


def test_the_readme_inspect_transcripts_are_true(capsys) -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    transcripts = re.findall(r"^```text\n\$ graphdsl (inspect .*?)\n(.*?)^```", text, re.S | re.M)
    assert len(transcripts) >= 2
    for command, shown in transcripts:
        assert main(shlex.split(command)) == EXIT_OK
        assert capsys.readouterr().out == shown, command


def cli(*argv: str, **kwargs: Any) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "GRAPHDSL_PROGRESS"))}
    env.update(kwargs.pop("env", {}))
    return subprocess.run([sys.executable, "-m", "graphdsl", *argv], cwd=REPO, env=env, timeout=300, **kwargs)


def test_piped_inspect_writes_nothing_on_stderr() -> None:
    result = cli("inspect", *MLP, "--op", "layer2/out", capture_output=True, text=True,
                 env={"GRAPHDSL_PROGRESS_DELAY": "0"})
    assert result.returncode == EXIT_OK and "copying it" in result.stdout
    assert result.stderr == ""


def test_at_a_terminal_inspect_shows_progress_and_erases_it() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "GRAPHDSL_PROGRESS"))}
    env["GRAPHDSL_PROGRESS_DELAY"] = "0"
    code, seen, stdout = run_at_a_terminal(["inspect", *MLP], REPO, env)
    assert code == EXIT_OK
    assert b"\rloading metagraph specs/models/mlp_a.meta" in seen
    assert seen.endswith(b"\r\x1b[K")  # erased: the terminal is left as it was
    assert stdout.startswith("metagraph specs/models/mlp_a.meta") and "loading" not in stdout
