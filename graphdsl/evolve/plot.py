"""The picture of a run: best and mean fitness over generations, as a PNG (matplotlib)."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from graphdsl.evolve.population import GenerationStats


def plot(table: Sequence["GenerationStats"], path: Path) -> Path | None:
    """Draws ``table`` into ``path``; without matplotlib says how to get it and returns None."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"warning: {path} not drawn: it needs matplotlib (pip install 'graphdsl[evolve]')",
              file=sys.stderr)
        return None
    generations = [s.generation for s in table]
    figure, axes = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    try:
        for name, values in (("best", [s.best for s in table]), ("mean", [s.mean for s in table])):
            shown = [v if math.isfinite(v) else math.nan for v in values]
            axes.plot(generations, shown, marker="o", label=name)
        axes.set_yscale("symlog", linthresh=0.01)  # a few very bad individuals drag the mean far down
        axes.set_xlabel("generation")
        axes.set_ylabel("fitness (higher is better)")
        axes.set_title("fitness over generations")
        axes.grid(True, alpha=0.3)
        axes.legend()
        figure.tight_layout()
        figure.savefig(path, metadata={"Software": None})  # no version stamp: runs compare equal
    finally:
        plt.close(figure)
    return path
