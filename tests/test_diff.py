"""`graphdsl diff A B`: specs composed in memory, built outputs, or one of each.

Pairs of specs that differ in one thing each (a copy, a variable mode, a bind, a signature) and
builds that do not differ at all, through the command line: the report, --json and the exit code.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path

from graphdsl.cli import main

from fixtures import ENCODER_HEAD as BASE  # tests/fixtures.py

REPO = Path(__file__).resolve().parents[1]


def _spec(tmp_path: Path, name: str, old: str = "", new: str = "") -> str:
    assert old in BASE
    path = tmp_path / f"{name}.gcomp"
    path.write_text(BASE.replace(old, new, 1))
    return str(path)


def _diff(capsys, *args: str) -> tuple[int, list[str]]:
    code = main(["diff", *args])
    captured = capsys.readouterr()
    return code, captured.out.splitlines()[2:] if code != 2 else captured.err.splitlines()


def test_a_spec_does_not_differ_from_itself_nor_from_its_build(tmp_path: Path, capsys) -> None:
    base = _spec(tmp_path, "base")
    assert _diff(capsys, base, base) == (0, ["no differences in namespaces, ops, variables, "
                                             "functions or signatures"])
    assert main(["build", base, "-o", str(tmp_path / "out")]) == 0
    assert _diff(capsys, base, str(tmp_path / "out"))[0] == 0


def test_identical_builds_do_not_differ(tmp_path: Path, capsys) -> None:
    base = _spec(tmp_path, "base")
    for out in ("one", "two"):
        assert main(["build", base, "-o", str(tmp_path / out)]) == 0
    capsys.readouterr()
    code = main(["diff", str(tmp_path / "one"), str(tmp_path / "two")])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out == [f"--- {tmp_path / 'one' / 'model'} (SavedModel)",
                   f"+++ {tmp_path / 'two' / 'model'} (SavedModel)",
                   "no differences in namespaces, ops, variables, functions or signatures"]


def test_names_that_differ_only_by_tensorflows_counters_are_not_differences(capsys) -> None:
    # composed twice in one process, its functions carry other counters the second time
    spec = str(REPO / "tests" / "data" / "repro" / "counters.gcomp")
    assert _diff(capsys, spec, spec)[0] == 0


def test_one_more_copy(tmp_path: Path, capsys) -> None:
    a = _spec(tmp_path, "a")
    b = _spec(tmp_path, "b", "let x", 'copy Wide from head {\n    take = "wide_sum"\n}\nlet x')
    code, lines = _diff(capsys, a, b)
    assert code == 1
    assert lines == ["namespaces (1 added):", "  + Wide",
                     "ops (3 added):", "  + Wide/wide  Placeholder", "  + Wide/wide_sum  Sum",
                     "  + Wide/wide_sum/reduction_indices  Const"]


def test_one_variable_mode(tmp_path: Path, capsys) -> None:
    a = _spec(tmp_path, "a")
    b = _spec(tmp_path, "b", "variables = value", "variables = init")
    code, lines = _diff(capsys, a, b)
    assert code == 1
    assert lines[lines.index("variables (1 changed):") + 1] == \
        "  ~ Enc/W: mode value -> init; values differ"  # the trained W was doubled
    assert not any(line.startswith(("namespaces", "signatures")) for line in lines)


def test_one_bind(tmp_path: Path, capsys) -> None:
    a = _spec(tmp_path, "a")
    b = _spec(tmp_path, "b", 'bind "features:0" = Enc["out:0"]', 'bind "features:0" = Enc["x:0"]')
    code, lines = _diff(capsys, a, b)
    assert code == 1
    assert lines == ["ops (1 changed):",
                     "  ~ Head/MatMul: inputs Enc/out, Head/MatMul/b -> Enc/x, Head/MatMul/b"]


def test_one_signature(tmp_path: Path, capsys) -> None:
    a = _spec(tmp_path, "a")
    b = _spec(tmp_path, "b", "outputs = {{ logits: logits }}".replace("{{", "{").replace("}}", "}"),
              'outputs = { logits: logits, features: Enc["out:0"] }')
    code, lines = _diff(capsys, a, b)
    assert code == 1
    assert lines == ["signatures (1 changed):",
                     "  ~ serving_default: output 'features' added: Enc/out:0 float32 [?, 2]"]


def test_json_for_tools(tmp_path: Path, capsys) -> None:
    a = _spec(tmp_path, "a")
    b = _spec(tmp_path, "b", "variables = value", "variables = init")
    assert main(["diff", "--json", a, b]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["equal"] is False
    assert result["a"] == f"{a} (spec, composed in memory)"
    assert result["variables"]["changed"] == {"Enc/W": ["mode value -> init", "values differ"]}
    assert result["namespaces"] == {"added": [], "removed": [], "changed": {}}
    assert main(["diff", "--json", a, a]) == 0
    assert json.loads(capsys.readouterr().out)["equal"] is True


def test_trouble_exits_with_2(tmp_path: Path, capsys) -> None:
    a = _spec(tmp_path, "a")
    code, err = _diff(capsys, a, str(tmp_path / "missing"))
    assert code == 2
    assert err[0] == f"error: {tmp_path / 'missing'}: no such file or directory"
    bad = tmp_path / "bad.gcomp"
    bad.write_text("graphdsl 1\nsource s = graphdef(\"nowhere.pb\")\ncopy S from s { take = \"y\" }\n")
    code, err = _diff(capsys, a, str(bad))
    assert code == 2
    assert "nowhere.pb: no such file" in err[0]
    (tmp_path / "junk.meta").write_bytes(b"\xff\xff not a proto")
    code, err = _diff(capsys, a, str(tmp_path / "junk.meta"))
    assert code == 2
    assert f"{tmp_path / 'junk.meta'}: not a MetaGraphDef" in err[0]


def test_a_directory_that_is_no_model_and_a_build_missing_its_export_are_named(tmp_path: Path, capsys) -> None:
    # diff said "DIR/saved_model.pb: cannot read it: No such file or directory" for any folder,
    # and "OUT/model: no such file or directory" for a build whose export was removed.
    a = _spec(tmp_path, "a")
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "readme.txt").write_text("not a model\n")
    for argv, code in ((["diff", a, str(folder)], 2), (["explain", str(folder)], 1)):
        assert main(argv) == code
        assert capsys.readouterr().err.startswith(f"error: {folder}: neither a SavedModel nor a build's output directory")
    assert main(["build", a, "-o", str(tmp_path / "out")]) == 0
    (tmp_path / "out" / "model" / "saved_model.pb").unlink()
    capsys.readouterr()
    for argv, code in ((["diff", a, str(tmp_path / "out")], 2), (["explain", str(tmp_path / "out")], 1)):
        assert main(argv) == code
        err = capsys.readouterr().err
        assert err.startswith(f"error: {tmp_path / 'out'}: the build's savedmodel export 'model' is missing")
        assert "help: build the spec into it again" in err


def test_a_spec_that_cannot_be_read_is_trouble_with_a_hint(tmp_path: Path, capsys, monkeypatch) -> None:
    # Made up: the tests may run as root, who reads any file.
    from graphdsl.lang import load

    def refused(path: object) -> bytes:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    a = _spec(tmp_path, "a")
    monkeypatch.setattr(load, "read_file", refused)
    assert _diff(capsys, a, a) == (2, [f"error: cannot read {a}: Permission denied",
                                       "  help: check the file's permissions: you need to be allowed to read it"])


def test_builds_of_one_template_with_other_parameters_show_the_parameters(tmp_path: Path, capsys) -> None:
    """towers.gcomp with one trained layer against two drawn afresh: the parameters lead the
    report, and the modes of variables in the block uses' namespaces (layer0/Dense) are known."""
    towers = (REPO / "specs" / "towers.gcomp").as_posix()
    one, two = str(tmp_path / "one"), str(tmp_path / "two")
    assert main(["build", towers, "--param", "layers=1", "-o", one]) == 0
    assert main(["build", towers, "--param", "layers=2", "--param", "mode=init", "-o", two]) == 0
    capsys.readouterr()
    code, lines = _diff(capsys, one, two)
    assert code == 1
    assert lines[:3] == ["parameters (2 changed):", "  ~ layers: 1 -> 2", '  ~ mode: "value" -> "init"']
    assert "  ~ layer0/Dense/layer2/w: mode value -> init; values differ" in lines
    assert main(["diff", "--json", one, two]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["params"] == {"added": {}, "removed": {},
                                "changed": {"layers": ["1 -> 2"], "mode": ['"value" -> "init"']}}
    # the template itself is expanded with its defaults (layers = 3, mode = "value")
    code, lines = _diff(capsys, one, towers)
    assert code == 1 and lines[:2] == ["parameters (1 changed):", "  ~ layers: 1 -> 3"]
    # ... or with the parameters given: --param for each side that is a spec, --a-param / --b-param for one
    assert _diff(capsys, one, towers, "--param", "layers=1")[0] == 0
    code, lines = _diff(capsys, towers, towers, "--param", "layers=2", "--b-param", "layers=1")
    assert code == 1 and lines[:2] == ["parameters (1 changed):", "  ~ layers: 2 -> 1"]
    assert _diff(capsys, towers, two, "--a-param", "layers=2", "--a-param", "mode=init")[0] == 0


def test_parameters_for_a_side_that_is_not_a_spec_are_trouble(tmp_path: Path, capsys) -> None:
    a = _spec(tmp_path, "a")
    out = str(tmp_path / "out")
    assert main(["build", a, "-o", out]) == 0
    capsys.readouterr()
    code, err = _diff(capsys, a, out, "--b-param", "layers=1")
    assert code == 2 and f"B ({out}) is not a .gcomp spec, so it takes no parameters" in err[0]
    code, err = _diff(capsys, a, out, "--a-param", "layers")
    assert code == 2 and "--a-param takes NAME=VALUE, not 'layers'" in err[0]
    code, err = _diff(capsys, out, out, "--param", "layers=1")
    assert code == 2 and "neither A nor B is a .gcomp spec" in err[0]


def test_diff_and_explain_read_a_build_through_its_manifest(tmp_path: Path, capsys) -> None:
    a = _spec(tmp_path, "a")
    out = tmp_path / "out"
    out.mkdir()
    (out / "graphdsl-build.yaml").write_text("format: 1\nexports: 3\n")
    for argv, code in ((["diff", a, str(out)], 2), (["explain", str(out)], 1)):
        assert main(argv) == code
        err = capsys.readouterr().err
        assert f"{out / 'graphdsl-build.yaml'}: not a graphdsl build manifest: 'exports' must be a list" in err
    (out / "graphdsl-build.yaml").write_text("format: 1\nexports: []\n")
    assert main(["explain", str(out)]) == 1
    assert f"{out}: the build has no export" in capsys.readouterr().err


def test_a_build_damaged_after_it_was_made_is_trouble_not_a_traceback(tmp_path: Path, capsys) -> None:
    base = _spec(tmp_path, "base")
    assert main(["build", base, "-o", str(tmp_path / "one")]) == 0
    model = tmp_path / "one" / "model"
    record = model / "assets.extra" / "graphdsl" / "provenance.yaml"
    record.write_bytes(record.read_bytes().replace(b"graphdsl:", b"graphdsl\xff:", 1))
    # Without a record it can read, the build is compared as one graphdsl did not make; explain,
    # which reads nothing but the record, says what is wrong with it.
    assert main(["diff", base, str(tmp_path / "one")]) == 0
    capsys.readouterr()
    assert main(["explain", str(tmp_path / "one")]) == 1
    assert f"{record}: the provenance record is not UTF-8 text (byte 8)" in capsys.readouterr().err
    data = next((model / "variables").glob("variables.data-*"))
    data.write_bytes(data.read_bytes()[:10])  # truncated
    record.write_bytes(record.read_bytes().replace(b"graphdsl\xff:", b"graphdsl:", 1))
    code, err = _diff(capsys, base, str(tmp_path / "one"))
    assert code == 2 and err[0].startswith(f"error: {model / 'variables' / 'variables'}: the checkpoint cannot be read (")
