"""``python -m graphdsl``: the command line of :mod:`graphdsl.cli`."""

from graphdsl.cli import run

run()
