"""The README's "Editors" section runs as written: its `pygmentize` and `python editors/generate.py`
lines run in a shell with the environment's tools first on PATH, in a scratch directory that sees
the repository's specs/ and editors/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n### Editors: highlighting `.gcomp`\n", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    return [line for block in re.findall(r"^```sh\n(.*?)^```", section, re.S | re.M)
            for line in block.splitlines() if line.startswith(("pygmentize ", "python editors/generate.py"))]


def test_the_editors_section_runs_as_written(tmp_path: Path) -> None:
    lines = commands()
    assert len(lines) >= 3
    for name in ("specs", "editors"):
        (tmp_path / name).symlink_to(REPO / name)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    for line in lines:
        done = subprocess.run(line, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{line}\n{done.stderr}"
    page = (tmp_path / "linear.html").read_text(encoding="utf-8")
    assert '<span class="k">copy</span>' in page and "<html>" in page
