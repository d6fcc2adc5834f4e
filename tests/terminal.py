"""Run the command line with stderr on a pseudo-terminal, as a user at a terminal sees it."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path


def run_at_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, bytes, str]:
    """``python -m graphdsl ARGS`` with stderr on a terminal: (exit code, what the terminal got, stdout)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "graphdsl", *args], cwd=cwd, env=env,
                               stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    seen = b""
    try:
        while True:  # read as it comes, so that the child never blocks on a full terminal
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
    stdout = process.stdout.read().decode() if process.stdout else ""
    return process.wait(timeout=300), seen, stdout
