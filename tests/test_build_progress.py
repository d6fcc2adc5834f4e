"""Progress in `plan` and `build`: one task per source loaded, value read and export; quiet when piped."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator, TextIO

import pytest

from graphdsl.cli import EXIT_OK, main
from graphdsl.tools import progress
from terminal import run_at_a_terminal

REPO = Path(__file__).resolve().parents[1]
PIECES = (REPO / "tests" / "data" / "builders" / "pieces.py").as_posix()
SPEC = f"""graphdsl 1
source enc  = python("{PIECES}:encoder", trained = true)
source head = python("{PIECES}:head")
copy Enc from enc {{ take = "out"  variables = value }}
copy Head from head {{ take = "logits"  bind "features:0" = Enc["out:0"] }}
export savedmodel "model" {{
    signature serving_default {{ inputs = {{ x: Enc["x:0"] }} outputs = {{ logits: Head["logits:0"] }} }}
}}
export graphdef "frozen.pb" {{ outputs = [Head["logits:0"]] }}
"""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "spec.gcomp"
    path.write_text(SPEC)
    return path


@pytest.fixture
def tasks(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every task opened, as the labels of the tasks open at that moment (outermost first)."""
    opened: list[list[str]] = []
    open_now: list[str] = []
    real = progress.task

    @contextlib.contextmanager
    def recording(label: str, total: int | None = None, *, stream: TextIO | None = None) -> Iterator[progress.Task]:
        open_now.append(label)
        opened.append(list(open_now))
        try:
            with real(label, total, stream=stream) as task:
                yield task
        finally:
            open_now.pop()

    monkeypatch.setattr(progress, "task", recording)
    return opened


def test_build_shows_each_source_value_read_and_export(capsys, spec: Path, tmp_path: Path, tasks) -> None:
    assert main(["build", str(spec), "-o", str(tmp_path / "out")]) == EXIT_OK
    building = f"building {spec}"
    assert tasks == [
        [building],
        [building, "loading source enc"],
        [building, "reading the values of 1 variable"],
        [building, "loading source head"],
        [building, "initializing the composed graph: values"],  # the values fed to their copies
        [building, "exporting savedmodel model"],
        [building, "exporting graphdef frozen.pb"],
    ]


def test_plan_shows_the_sources_it_loads(capsys, spec: Path, tasks) -> None:
    assert main(["plan", str(spec)]) == EXIT_OK
    assert [t[-1] for t in tasks] == [f"planning {spec}", "loading source enc", "reading the values of 1 variable",
                                      "loading source head"]


def cli_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "GRAPHDSL_PROGRESS"))}
    return {**env, "GRAPHDSL_PROGRESS_DELAY": "0", **settings}


def test_a_piped_build_writes_nothing_on_stderr(spec: Path, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "graphdsl", "build", str(spec), "-o", str(tmp_path / "out")],
                            cwd=REPO, env=cli_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == EXIT_OK, result.stderr
    assert result.stdout.splitlines() == [f"wrote {tmp_path / 'out' / 'model'}", f"wrote {tmp_path / 'out' / 'frozen.pb'}"]
    assert result.stderr == ""
    warmed = subprocess.run([sys.executable, "-m", "graphdsl", "build", "specs/assembly.gcomp", "-o",
                             str(tmp_path / "assembly")], cwd=REPO, env=cli_env(), capture_output=True, text=True,
                            timeout=300)  # loads the export again to run its warmup request
    assert (warmed.returncode, warmed.stderr) == (EXIT_OK, "")


def test_at_a_terminal_a_build_shows_progress_and_erases_it(spec: Path, tmp_path: Path) -> None:
    code, seen, stdout = run_at_a_terminal(["build", str(spec), "-o", str(tmp_path / "out")], REPO, cli_env())
    assert code == EXIT_OK
    assert b"\rbuilding " in seen
    assert seen.endswith(b"\r\x1b[K")  # erased: the terminal is left as it was
    assert stdout.startswith("wrote ") and "building" not in stdout
