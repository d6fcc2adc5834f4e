"""`graphdsl plan`, `build` and `run` as a user runs them: output, exit codes, no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from graphdsl.cli import EXIT_FAILURE, EXIT_OK, EXIT_SPEC_ERROR, EXIT_USAGE, main

REPO = Path(__file__).resolve().parents[1]
BUILDERS = (REPO / "tests" / "data" / "builders").as_posix()

SPEC = f"""graphdsl 1
source enc = python("{BUILDERS}/pieces.py:encoder")
copy Enc from enc {{ take = "out" }}
let x   = Enc["x:0"]
let out = Enc["out:0"]
export metagraph "graph"
"""


def graphdsl(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a user runs it
    return subprocess.run([sys.executable, "-m", "graphdsl", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_plan_build_and_run_a_spec(tmp_path: Path) -> None:
    spec = tmp_path / "enc.gcomp"
    spec.write_text(SPEC)
    plan = graphdsl("plan", str(spec))
    assert plan.returncode == EXIT_OK, plan.stderr
    assert "Enc        enc     python    7  1 (1 init)" in plan.stdout
    out = tmp_path / "out"
    built = graphdsl("build", str(spec), "-o", str(out))
    assert built.returncode == EXIT_OK, built.stderr
    assert built.stdout.splitlines() == [f"wrote {out / 'graph'}"]
    ran = graphdsl("run", str(out), "--feed", "x=[[1, 1]]", "--fetch", "out")
    assert ran.returncode == EXIT_OK, ran.stderr
    assert ran.stdout.strip() == "out = [[4. 6.]]"
    # TensorFlow's start-up notices and deprecation warnings do not reach the user.
    assert plan.stderr == built.stderr == ran.stderr == ""


def test_a_build_error_is_rendered_without_a_traceback(capfd: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # In this process (a TensorFlow start spared); the file descriptors are captured, so anything
    # written to stderr below Python shows too. A fresh process's quiet stderr is the test above.
    monkeypatch.chdir(REPO)
    code = main(["build", "tests/data/build_bad/take_unknown_op.gcomp", "-o", "unused-out"])
    assert code == EXIT_FAILURE
    expected = (REPO / "tests/data/build_bad/take_unknown_op.err").read_text()
    assert capfd.readouterr().err == expected
    assert not (REPO / "unused-out").exists()


def test_a_spec_error_stops_before_loading_anything() -> None:
    result = graphdsl("build", "tests/data/bad/alias_below.gcomp", "-o", "unused-out")
    assert result.returncode == EXIT_SPEC_ERROR
    assert result.stderr == (REPO / "tests/data/bad/alias_below.err").read_text()


def test_run_reports_bad_names_and_bad_command_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "enc.gcomp"
    spec.write_text(SPEC)
    code = main(["run", str(spec), "--feed", "x=[[1, 1]]", "--fetch", "outt"])  # in this process
    unknown = capsys.readouterr().err
    assert code == EXIT_FAILURE
    assert "no input, output, alias or element named 'outt'" in unknown and "did you mean 'out'" in unknown
    assert "Traceback" not in unknown
    code = main(["run", str(spec), "--feed", "x", "--fetch", "out"])
    assert code == EXIT_USAGE and "NAME=VALUE" in capsys.readouterr().err


# `graphdsl build` whose process dies at its second rename, that is while it swaps its outputs in.
KILLED_MID_SWAP = """import os, sys
from graphdsl.cli import main
rename, renames = os.rename, []
def dying_rename(src, dst):
    renames.append(src)
    if len(renames) == 2:
        os._exit(86)
    return rename(src, dst)
os.rename = dying_rename
sys.exit(main(sys.argv[1:]))
"""


def test_a_build_killed_mid_swap_is_finished_by_the_next_command(tmp_path: Path) -> None:
    from graphdsl.assemble.compose import build
    from graphdsl.assemble.manifest import read_outputs
    from graphdsl.run import open_runnable

    spec = tmp_path / "enc.gcomp"
    spec.write_text(SPEC.replace('export metagraph "graph"', 'export metagraph "old"'))
    out = tmp_path / "out"
    build(spec, out)
    spec.write_text(SPEC)
    killed = subprocess.run([sys.executable, "-c", KILLED_MID_SWAP, "build", str(spec), "-o", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert killed.returncode == 86, killed.stderr
    assert (out / ".graphdsl-journal").exists()  # half swapped: the old build is partly moved aside
    runnable = open_runnable(out)  # what `graphdsl run` does first: finish the swap
    try:
        assert runnable.run({"x": "[[1, 1]]"}, ["out"])[0].tolist() == [[4.0, 6.0]]
    finally:
        runnable.close()
    assert sorted(p.name for p in out.iterdir()) == [
        ".graphdsl-outputs", "graph.ckpt.data-00000-of-00001", "graph.ckpt.index", "graph.meta",
        "graphdsl-build.yaml"]
    assert read_outputs(out) == ["graph.ckpt.data-00000-of-00001", "graph.ckpt.index", "graph.meta",
                                 "graphdsl-build.yaml"]
    assert sorted(os.listdir(tmp_path)) == ["enc.gcomp", "out"]
