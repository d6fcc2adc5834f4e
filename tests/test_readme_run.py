"""The README's section on the `graphdsl` command runs as written.

Every `graphdsl` line of its ```sh blocks runs, in order, through the real command line (in this
process, to spare a TensorFlow start per line), in a scratch directory that sees the repository's
specs/; each `# ` line right under a command is a line that command must print. The synopsis,
with its placeholders, is left out.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np

from graphdsl.cli import EXIT_OK, main

REPO = Path(__file__).resolve().parents[1]


def commands() -> list[tuple[str, list[str]]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## The `graphdsl` command\n", 1)[1].split("\n## ", 1)[0]
    found: list[tuple[str, list[str]]] = []
    for block in re.findall(r"^```sh\n(.*?)^```", section, re.S | re.M):
        for line in block.splitlines():
            if line.startswith("graphdsl "):
                found.append((line, []))
            elif line.startswith("# ") and found:
                found[-1][1].append(line[2:])
    return [(line, expected) for line, expected in found
            if not {"SPEC", "OUTDIR_OR_SPEC", "SOURCE", "SPEC_OR_OUTDIR", "ARTIFACT", "A", "B"} & set(shlex.split(line, comments=True))]


def test_the_section_shows_runs_with_files_and_training() -> None:
    lines = " ".join(line for line, _ in commands())
    for option in ("=@batch.npy", "--feed @batch.npz", "--save out/", "--save-variables", "--precision full"):
        assert option in lines


def test_the_command_section_runs_as_written(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "specs").symlink_to(REPO / "specs")
    (tmp_path / "tests").symlink_to(REPO / "tests")
    monkeypatch.chdir(tmp_path)
    batch = np.random.RandomState(0).normal(size=(3, 4)).astype(np.float32)
    np.save("batch.npy", batch)  # as the README says the user made them
    np.savez("batch.npz", x=batch)
    for line, expected in commands():
        code = main(shlex.split(line, comments=True)[1:])
        printed = capsys.readouterr()
        exits = re.search(r"# exits (\d+)", line)  # a line showing a failure says how it exits
        assert code == (int(exits.group(1)) if exits else EXIT_OK), f"{line}\n{printed.err}"
        for wanted in expected:
            assert wanted in printed.out.splitlines(), f"{line} printed:\n{printed.out}"
    saved = np.load("out/probs/probs.npy")
    assert saved.shape == (3, 2)
    np.testing.assert_allclose(saved.sum(axis=1), 1.0, rtol=1e-6)  # softmax probabilities
    with np.load("out/batch.npz") as archive:
        assert archive.files == ["features"] and archive["features"].shape == (3, 3)
