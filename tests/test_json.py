"""`--format json`: every command's output has the shape the README documents, errors included."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from graphdsl.cli import EXIT_FAILURE, EXIT_NO_INPUT, EXIT_OK, EXIT_SPEC_ERROR, EXIT_USAGE, main
from graphdsl.errors import GraphDslError, Span

from jsonshape import conforms, inspect_shape, readme_section, readme_shapes

REPO = Path(__file__).resolve().parents[1]
BUILDERS = (REPO / "tests" / "data" / "builders").as_posix()


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    """Runs ``graphdsl ARGV --format json``; stdout must be one JSON document and nothing else."""
    code = main([*argv, "--format", "json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def shape_errors(document: dict[str, Any], command: str) -> list[str]:
    shapes = readme_shapes()
    shapes["inspect"] = inspect_shape()
    return conforms(document, shapes[command if document["ok"] else "failure"], shapes)


def test_the_readme_documents_a_shape_per_command() -> None:
    assert {"ERROR", "failure", "check", "plan", "build"} <= readme_shapes().keys()


def test_the_readme_json_examples_run_and_have_their_shapes(capsys, tmp_path: Path) -> None:
    section = readme_section("`--format json`")
    lines = [line for block in section.split("```sh\n")[1:] for line in block.split("```")[0].splitlines()]
    assert len(lines) >= 4
    for line in lines:
        argv = [a.replace("out/", f"{tmp_path}/out/") for a in shlex.split(line.split(" # ")[0])[1:]]
        code = main(argv)
        captured = capsys.readouterr()
        document = json.loads(captured.out)
        assert shape_errors(document, argv[0]) == [], line
        assert (code == EXIT_OK) == document["ok"], line
        if "exits" in line:
            assert code == int(line.rsplit("exits", 1)[1])


def test_check_plan_and_build_reports(capsys, tmp_path: Path) -> None:
    code, check, _ = run_json(capsys, "check", "specs/transfer.gcomp")
    assert code == EXIT_OK and shape_errors(check, "check") == []
    assert [(c["namespace"], c["source"]) for c in check["copies"]] == [("Base", "a"), ("Top", "b")]
    code, plan, _ = run_json(capsys, "plan", "specs/transfer.gcomp")
    assert code == EXIT_OK and shape_errors(plan, "plan") == []
    top = plan["namespaces"][1]
    assert top["binds"] == [{"input": "layer2/out:0", "tensor": "Base/layer2/out:0"}]
    assert {v["mode"] for v in plan["namespaces"][0]["variables"]} == {"value"}
    assert {v["mode"] for v in top["variables"]} == {"init"}
    (signature,) = plan["exports"][0]["signatures"]
    assert signature["inputs"] == [{"key": "x", "tensor": "Base/x:0", "dtype": "float32", "shape": [None, 4]}]
    code, build, _ = run_json(capsys, "build", "specs/transfer.gcomp", "-o", str(tmp_path / "out"))
    assert code == EXIT_OK and shape_errors(build, "build") == []
    assert [e["written"] for e in build["exports"]] == [str(tmp_path / "out" / "model"),
                                                         str(tmp_path / "out" / "transfer")]
    assert build["namespaces"] == plan["namespaces"] and build["aliases"] == plan["aliases"]


def test_a_stop_is_reported_with_its_placeholder(capsys, tmp_path: Path) -> None:
    spec = tmp_path / "stop.gcomp"
    spec.write_text(f'graphdsl 1\nsource s = python("{BUILDERS}/pieces.py:encoder")\n'
                    'copy S from s { take = "out"  stop_at = ["x:0"] }\nexport metagraph "g"\n')
    code, plan, _ = run_json(capsys, "plan", str(spec))
    assert code == EXIT_OK and shape_errors(plan, "plan") == []
    assert plan["namespaces"][0]["stops"] == [{"tensor": "x:0", "placeholder": "S/x:0"}]


@pytest.mark.parametrize(("argv", "code", "where"), [
    (["check", "tests/data/bad/copy_unknown_source.gcomp"], EXIT_SPEC_ERROR,
     ("tests/data/bad/copy_unknown_source.gcomp", 3, 15, 3, 21)),
    (["check", "tests/data/bad/syntax_missing_equal.gcomp"], EXIT_SPEC_ERROR, None),
    (["plan", "tests/data/build_bad/bind_dtype_mismatch.gcomp"], EXIT_FAILURE,
     ("tests/data/build_bad/bind_dtype_mismatch.gcomp", 7, 5, 7, 32)),
    (["build", "tests/data/build_bad/source_missing_file.gcomp", "-o", "unused-out"], EXIT_FAILURE, None),
    (["check", "no/such.gcomp"], EXIT_NO_INPUT, None),
    (["inspect", "specs/models/missing.pb"], EXIT_FAILURE, None),
    (["check"], EXIT_USAGE, None),
    (["inspect", "x.py:f", "--arg", "k"], EXIT_USAGE, None),
])
def test_a_failure_is_json_with_the_text_runs_exit_code(capsys, argv: list[str], code: int, where: Any) -> None:
    assert main(argv) == code
    text = capsys.readouterr()
    assert text.out == "" and text.err
    got, document, _ = run_json(capsys, *argv)
    assert got == code and document["ok"] is False and shape_errors(document, argv[0]) == []
    (error,) = document["errors"]
    assert error["severity"] == "error" and error["message"] and "Traceback" not in error["message"]
    assert error["message"] in text.err  # the same error, as an object
    if where is not None:
        assert (error["file"], error["line"], error["column"], error["end_line"], error["end_column"]) == where
    assert not (REPO / "unused-out").exists()


@pytest.mark.parametrize(("spec", "hint"), [("no/such.gcomp", "check the path"),
                                             ("/dev/zero", "name a regular file, or a pipe (/dev/stdin, <(command))"),
                                             ("specs", "name a file, not a directory")])
def test_a_file_that_cannot_be_read_is_json_with_a_hint(capsys, spec: str, hint: str) -> None:
    code, document, _ = run_json(capsys, "check", spec)
    assert code == EXIT_NO_INPUT and shape_errors(document, "check") == []
    (error,) = document["errors"]
    assert (error["type"], error["subject"], error["hint"]) == ("OSError", spec, hint)
    assert error["message"].startswith(f"cannot read {spec}: ")


def test_an_error_without_a_span_names_its_path_or_element(capsys) -> None:
    code, document, _ = run_json(capsys, "inspect", "specs/models/missing.pb")
    (error,) = document["errors"]
    assert (error["type"], error["file"], error["line"]) == ("SourceError", None, None)
    assert error["subject"] == "specs/models/missing.pb" and error["hint"] == "check the path"
    element = GraphDslError("variable 'enc/w' has no initializer in the source graph").to_dict()
    assert element["subject"] == "enc/w"
    given = GraphDslError("running failed", subject="Head/logits:0").to_dict()
    assert given["subject"] == "Head/logits:0"
    spanned = GraphDslError("unknown source 'x'", Span("a.gcomp", 2, 3, 2, 4)).to_dict()
    assert spanned["subject"] is None and spanned["file"] == "a.gcomp"


def test_what_a_builder_prints_does_not_spoil_the_json(capsys, tmp_path: Path) -> None:
    (tmp_path / "noisy.py").write_text(
        "import tensorflow as tf\n\n"
        "def build():\n"
        "    print('building the graph')\n"
        "    graph = tf.Graph()\n"
        "    with graph.as_default():\n"
        "        x = tf.compat.v1.placeholder(tf.float32, [None, 2], name='x')\n"
        "        tf.identity(x * 2.0, name='y')\n"
        "    return graph\n")
    spec = tmp_path / "noisy.gcomp"
    spec.write_text('graphdsl 1\nsource s = python("noisy.py:build")\ncopy S from s { take = "y" }\n'
                    'export graphdef "y.pb" { outputs = [S["y:0"]] }\n')
    code, build, err = run_json(capsys, "build", str(spec), "-o", str(tmp_path / "out"))
    assert code == EXIT_OK and shape_errors(build, "build") == []
    assert build["exports"][0]["outputs"] == [{"tensor": "S/y:0", "dtype": "float32", "shape": [None, 2]}]
    assert "building the graph" in err


def test_inspect_json_is_an_alias_of_format_json(capsys) -> None:
    assert main(["inspect", "specs/models/p1.pbtxt", "--json"]) == EXIT_OK
    alias = json.loads(capsys.readouterr().out)
    code, document, _ = run_json(capsys, "inspect", "specs/models/p1.pbtxt")
    assert code == EXIT_OK and document == alias and document["ok"] is True


def test_check_format_json_imports_no_tensorflow() -> None:
    import subprocess
    import sys

    code = ("import sys\nfrom graphdsl.cli import main\n"
            "assert main(['check', 'specs/linear.gcomp', '--format', 'json']) == 0\n"
            "assert 'tensorflow' not in sys.modules, 'check --format json imported tensorflow'\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True
