"""Bad input met by build and run: a clear error naming what is wrong, never a traceback.

Errors a spec can show are golden files in tests/data/build_bad; these are the ones a spec file
cannot carry (a NUL byte, a timeout, a damaged output directory) or that concern the command line.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graphdsl.assemble.compose import build, compose
from graphdsl.assemble.manifest import BUILD_MANIFEST
from graphdsl.cli import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, main
from graphdsl.errors import SpecError, BuildError, GraphDslError
from graphdsl.lang.load import load_spec_text

REPO = Path(__file__).resolve().parents[1]
BUILDERS = (REPO / "tests" / "data" / "builders").as_posix()

HEAD = f"""graphdsl 1
source head = python("{BUILDERS}/pieces.py:head")
copy Head from head {{ take = "logits" }}
"""

ALL_KINDS = f"""graphdsl 1
source enc = python("{BUILDERS}/pieces.py:encoder", trained = true)
copy Enc from enc {{
    take = "out"
    variables = value
}}
let x   = Enc["x:0"]
let out = Enc["out:0"]
export savedmodel "model" {{
    signature serving_default {{
        inputs  = {{ x: x }}
        outputs = {{ out: out }}
    }}
}}
export metagraph "graph"
export graphdef "frozen.pb" {{ outputs = [out] }}
"""


def builder_spec(tmp_path: Path, function: str) -> Path:
    spec = tmp_path / f"{function}.gcomp"
    spec.write_text(f'graphdsl 1\nsource s = python("{BUILDERS}/pieces.py:{function}")\n'
                    'copy S from s { take = "x" }\n')
    return spec


# -- exports --------------------------------------------------------------------------------------


def test_an_export_path_with_a_nul_byte_is_refused_at_its_position(tmp_path: Path) -> None:
    spec = tmp_path / "nul.gcomp"
    spec.write_text(HEAD + 'export graphdef "a\0b.pb" { outputs = [Head["logits:0"]] }\n')
    with pytest.raises(SpecError, match=r"NUL") as info:  # refused by the checks, before any build
        build(spec, tmp_path / "out")
    assert info.value.span is not None
    assert (info.value.span.line, info.value.span.column) == (4, 17)
    assert not (tmp_path / "out").exists()


def test_every_output_gets_the_usual_permissions(tmp_path: Path) -> None:
    spec = tmp_path / "all.gcomp"
    spec.write_text(ALL_KINDS)
    previous = os.umask(0o027)
    try:
        build(spec, tmp_path / "out")
    finally:
        os.umask(previous)
    modes = {str(p.relative_to(tmp_path)): p.stat().st_mode & 0o777 for p in (tmp_path / "out").rglob("*")}
    assert {"out/frozen.pb", "out/.graphdsl-outputs", "out/graphdsl-build.yaml", "out/graph.meta",
            "out/model/saved_model.pb"} <= set(modes)
    wrong = {path: oct(mode) for path, mode in modes.items()
             if mode != (0o750 if (tmp_path / path).is_dir() else 0o640)}
    assert wrong == {}


# -- run on damaged builds -----------------------------------------------------------------------------


def _without_savedmodel(out: Path) -> Path:
    """``out``, its manifest left without the savedmodel export (so that the metagraph is loaded)."""
    manifest = (out / BUILD_MANIFEST).read_text()
    (out / BUILD_MANIFEST).write_text(manifest.replace("- kind: savedmodel\n  path: model\n  tags:\n  - serve\n", ""))
    return out


DAMAGES = {
    "manifest not YAML": (lambda o: (o / BUILD_MANIFEST).write_text("exports: [\n"),
                          r"graphdsl-build.yaml: not a graphdsl build manifest: line 2, column 1: not valid YAML"),
    "manifest with a Python tag": (
        lambda o: (o / BUILD_MANIFEST).write_text("!!python/object/apply:os.system ['echo hi']\n"),
        r"line 1, column 1: not valid YAML \(could not determine a constructor"),
    "manifest a list": (lambda o: (o / BUILD_MANIFEST).write_text("- a\n- b\n"),
                        r"the manifest must be a mapping, not a list"),
    "manifest export without path": (lambda o: (o / BUILD_MANIFEST).write_text("exports:\n- kind: savedmodel\n"),
                                     r"export 1: path None is not the name of an item"),
    "manifest export outside": (lambda o: (o / BUILD_MANIFEST).write_text(
        "exports:\n- {kind: graphdef, path: ../../etc/passwd}\n"), r"is not the name of an item in the directory"),
    "manifest alias not a mapping": (lambda o: (o / BUILD_MANIFEST).write_text(
        "exports:\n- {kind: metagraph, path: graph}\naliases:\n  out: 5\n"),
        r"alias 'out' must be a mapping, not a int"),
    "manifest of a future format": (lambda o: (o / BUILD_MANIFEST).write_text("format: 2\n"),
                                    r"format 2 is not one this graphdsl reads"),
    "manifest not text": (lambda o: (o / BUILD_MANIFEST).write_bytes(b"\xff\xfe\x00"), r"cannot be read"),
    "savedmodel truncated": (lambda o: (o / "model" / "saved_model.pb").write_bytes(b"\x0a\xff"),
                             r"model: cannot load this savedmodel export"),
    "savedmodel without variables": (lambda o: shutil.rmtree(o / "model" / "variables"),
                                     r"model: cannot load this savedmodel export"),
    "savedmodel removed": (lambda o: shutil.rmtree(o / "model"), r"model: cannot load this savedmodel export"),
    "metagraph truncated": (lambda o: (_without_savedmodel(o) / "graph.meta").write_bytes(b"\x0a\xff"),
                            r"graph: cannot load this metagraph export"),
    "checkpoint damaged": (lambda o: (_without_savedmodel(o) / "graph.ckpt.data-00000-of-00001").write_bytes(b"x"),
                           r"graph: cannot load this metagraph export"),
    "alias of an element the graph lacks": (lambda o: (o / BUILD_MANIFEST).write_text(
        "exports:\n- {kind: metagraph, path: graph}\naliases:\n  x: {kind: tensor, name: Enc/x:0}\n"
        "  out: {kind: tensor, name: Nope/out:0}\n"),
        r"'out' stands for 'Nope/out:0', which the graph does not hold"),
}


@pytest.fixture(scope="module")
def a_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("built")
    spec = root / "all.gcomp"
    spec.write_text(ALL_KINDS)
    build(spec, root / "out")
    return root / "out"


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda d: d.replace(" ", "_"))
def test_run_on_a_damaged_build_says_what_is_wrong(damage: str, a_build: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    shutil.copytree(a_build, out)
    harm, expected = DAMAGES[damage]
    harm(out)
    code = main(["run", str(out), "--feed", "x=[[1, 1]]", "--fetch", "out"])
    err = capsys.readouterr().err
    assert code == EXIT_FAILURE, err
    assert "Traceback" not in err
    assert len(err.splitlines()) <= 3
    assert re.search(expected, err), err


def test_run_on_an_undamaged_copy_works(a_build: Path, tmp_path: Path, capsys) -> None:
    shutil.copytree(a_build, tmp_path / "out")
    assert main(["run", str(tmp_path / "out"), "--feed", "x=[[1, 1]]", "--fetch", "out"]) == EXIT_OK
    assert capsys.readouterr().out == "out = [[ 8. 12.]]\n"


# -- Python builders ------------------------------------------------------------------------------------


def test_a_builder_that_never_returns_is_stopped_after_its_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(BuildError, match=r"pieces.py:forever: the builder did not return within 1 s") as info:
        compose(builder_spec(tmp_path, "forever"), builder_timeout=1)
    assert time.monotonic() - started < 30
    assert info.value.hint is not None and "--builder-timeout" in info.value.hint
    assert info.value.span is not None
    assert (info.value.span.line, info.value.span.column) == (2, 19)


def test_the_builder_timeout_is_set_on_the_command_line(tmp_path: Path, capsys) -> None:
    assert main(["plan", str(builder_spec(tmp_path, "forever")), "--builder-timeout", "0.5"]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert "the builder did not return within 0.5 s" in err and "Traceback" not in err
    for command in (["plan", "x.gcomp"], ["batch", "x.gcomp", "-o", str(tmp_path / "out")]):
        for bad in ("soon", "nan", "-1"):
            assert main([*command, "--builder-timeout", bad]) == 64
            assert f"not a number of seconds: '{bad}'" in capsys.readouterr().err


def test_no_timeout_means_the_builder_runs_to_its_end(tmp_path: Path) -> None:
    with compose(load_spec_text(HEAD), builder_timeout=0) as composition:
        assert composition.tensor('Head["logits:0"]').name == "Head/logits:0"


def test_a_timeout_longer_than_the_timer_holds_sets_no_limit(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "head.gcomp"
    spec.write_text(HEAD)
    assert main(["plan", str(spec), "--builder-timeout", "1e10"]) == EXIT_OK
    assert "Traceback" not in capsys.readouterr().err
    with compose(load_spec_text(HEAD), builder_timeout=float("inf")) as composition:
        assert composition.tensor('Head["logits:0"]').name == "Head/logits:0"


def test_a_builder_exiting_does_not_end_graphdsl(tmp_path: Path, capsys) -> None:
    assert main(["plan", str(builder_spec(tmp_path, "exits"))]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert "pieces.py:exits: the builder called sys.exit(0)" in err and "Traceback" not in err


def test_a_builder_ending_the_process_fails_the_build(tmp_path: Path) -> None:
    """os._exit(0) in a builder ended graphdsl with exit 0 and no output: a fake success. (In a
    process of its own: were it to come back, it would end the test run as well.)"""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}  # this checkout's graphdsl
    done = subprocess.run([sys.executable, "-m", "graphdsl", "build", str(builder_spec(tmp_path, "process_exit")),
                           "-o", str(tmp_path / "out")], env=env, capture_output=True, text=True)
    assert done.returncode == EXIT_FAILURE, done.stderr[-3000:]
    assert "pieces.py:process_exit: the builder called os._exit(0)" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()


def test_a_builder_raising_a_base_exception_fails_the_build(tmp_path: Path, capsys) -> None:
    """A GeneratorExit (no Exception, no SystemExit) printed a traceback."""
    try:
        code = main(["build", str(builder_spec(tmp_path, "base_exception")), "-o", str(tmp_path / "out")])
    except BaseException as escaped:  # noqa: BLE001 - what would have ended the process
        pytest.fail(f"the builder's {escaped!r} left graphdsl")
    assert code == EXIT_FAILURE
    err = capsys.readouterr().err
    assert "pieces.py:base_exception: the builder raised GeneratorExit\n" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_builder_leaves_graphdsl_its_streams_and_directory(tmp_path: Path) -> None:
    """A builder's forked child still exits; a closed stdout, a replaced stderr and a removed
    working directory are put back, so graphdsl reports and finds the sources after it."""
    (tmp_path / "two.gcomp").write_text(
        f'graphdsl 1\nsource f = python("{BUILDERS}/pieces.py:forks")\n'
        f'source u = python("{BUILDERS}/pieces.py:unsettling")\nsource h = python("pieces.py:head")\n'
        'copy F from f { take = "x" }\ncopy U from u { take = "x" }\ncopy H from h { take = "logits" }\n'
        'copy M from h { take = "missing" }\n')
    shutil.copy(Path(BUILDERS) / "pieces.py", tmp_path / "pieces.py")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}  # this checkout's graphdsl
    done = subprocess.run([sys.executable, "-m", "graphdsl", "plan", "two.gcomp"], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == EXIT_FAILURE, done.stderr[-3000:]
    assert "two.gcomp:8:24: error: source 'h' has no op 'missing'" in done.stderr  # on stderr, found by name
    assert "Traceback" not in done.stderr
    (tmp_path / "two.gcomp").write_text((tmp_path / "two.gcomp").read_text().replace(
        'copy M from h { take = "missing" }\n', ""))
    done = subprocess.run([sys.executable, "-m", "graphdsl", "plan", "two.gcomp"], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == EXIT_OK, done.stderr[-3000:]
    assert "H          h       python" in done.stdout


def test_a_builder_interrupted_ends_graphdsl_as_an_interrupt(tmp_path: Path, capsys) -> None:
    assert main(["build", str(builder_spec(tmp_path, "interrupted")), "-o", str(tmp_path / "out")]) \
        == EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert err.startswith("error: interrupted while running the builder ") and "pieces.py:interrupted" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_builder_that_changes_directory_does_not_move_the_other_sources(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "wander.py").write_text(
        "import os\nimport tensorflow as tf\n\ndef build():\n    os.chdir('/')\n"
        "    tf.constant(1.0, name='x')\n    return tf.compat.v1.get_default_graph()\n")
    shutil.copy(Path(BUILDERS) / "pieces.py", tmp_path / "pieces.py")
    (tmp_path / "two.gcomp").write_text(
        'graphdsl 1\nsource w = python("wander.py:build")\nsource h = python("pieces.py:head")\n'
        'copy W from w { take = "x" }\ncopy H from h { take = "logits" }\n')
    monkeypatch.chdir(tmp_path)
    with compose("two.gcomp") as composition:
        assert composition.tensor("H/logits").name == "H/logits"
    assert Path.cwd() == tmp_path


def test_build_errors_never_fall_back_to_a_traceback(tmp_path: Path, capsys) -> None:
    """A stop the walk never reaches failed in the report with a KeyError; it is now a spec error."""
    spec = tmp_path / "stop.gcomp"
    spec.write_text(HEAD.replace('{ take = "logits" }', '{ take = "logits"  stop_at = ["wide:0"] }'))
    assert main(["plan", str(spec)]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert "stop_at 'wide:0': the walk never reaches it" in err and "Traceback" not in err


def test_graphdsl_error_is_the_root_of_each(tmp_path: Path) -> None:
    with pytest.raises(GraphDslError):
        compose(builder_spec(tmp_path, "exits"))


def test_a_build_never_replaces_or_removes_its_own_sources(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("first.gcomp").write_text(HEAD + 'export graphdef "head.pb" { outputs = [Head["logits:0"]] }\n')
    build("first.gcomp", "out")
    chained = ('graphdsl 1\nsource h = graphdef("out/head.pb")\ncopy H from h { take = "Head/logits" }\n'
               'export graphdef "NAME" { outputs = [H["Head/logits:0"]] }\n')
    Path("second.gcomp").write_text(chained.replace("NAME", "head.pb"))
    before = Path("out/head.pb").read_bytes()
    with pytest.raises(BuildError, match=r"export path 'head.pb' would replace 'out/head.pb', which "
                                         r"source 'h' was read from") as info:
        build("second.gcomp", "out")
    assert info.value.span is not None and info.value.span.line == 4
    Path("second.gcomp").write_text(chained.replace("NAME", "next.pb"))  # head.pb would go as stale
    with pytest.raises(BuildError, match=r"the previous build into out wrote 'head.pb', which this "
                                         r"build would remove, but source 'h' was read from it"):
        build("second.gcomp", "out")
    assert Path("out/head.pb").read_bytes() == before
    build("second.gcomp", "elsewhere")  # into another directory: fine


@pytest.mark.parametrize("outdir", ["models/encoder", "models/encoder/variables", "models/encoder/new"])
def test_a_build_never_writes_into_the_directory_of_a_savedmodel_source(tmp_path: Path, monkeypatch,
                                                                       outdir: str) -> None:
    """Every file under a SavedModel's directory is the source (its lock hashes them all)."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(REPO / "specs" / "models" / "encoder", "models/encoder")
    before = sorted(str(p) for p in Path("models").rglob("*"))
    Path("enc.gcomp").write_text('graphdsl 1\nsource enc = savedmodel("models/encoder")\n'
                                 'copy E from enc { take = "@features" variables = value }\n'
                                 'export graphdef "enc.pb" { outputs = [E["@features"]] }\n')
    with pytest.raises(BuildError, match=r"the output directory .* is inside the directory of source 'enc' "
                                         r"\(models/encoder\): the build would add its files to the source") as info:
        build("enc.gcomp", outdir)
    assert info.value.span is not None and (info.value.span.line, info.value.span.column) == (2, 25)
    assert sorted(str(p) for p in Path("models").rglob("*")) == before
    build("enc.gcomp", "out")  # beside it: fine
