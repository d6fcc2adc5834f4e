"""How well an individual does: a Python hook, or an evaluation against a target. Higher is better.

- A **hook**, named like a builder (``"fitness.py:score"``, relative to the file that names it):
  ``score(graph, session, inputs, output) -> float`` receives the built child's graph, a session
  with its variables initialized, its inputs (placeholders, by key) and its output tensor.
- An **evaluation**: a feed (an array per input key) and a target; the score is minus the mean
  squared error of the output against the target.

A score that is not a finite number (an individual dividing by zero) counts as ``-inf``, the worst.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Union

import numpy as np
import tensorflow as tf

from graphdsl.errors import GraphDslError, SourceError, clipped
from graphdsl.lang import schema
from graphdsl.tf.messages import reason
from graphdsl.tf.sources import _import_file  # the builders' import: by path, no __pycache__

Hook = Callable[[tf.Graph, Any, dict[str, tf.Tensor], tf.Tensor], float]


@dataclass
class Evaluation:
    """Minus the mean squared error of the output on ``feed`` (arrays by input key) against ``target``."""

    feed: dict[str, np.ndarray]
    target: np.ndarray

    def __call__(self, graph: tf.Graph, session: Any, inputs: dict[str, tf.Tensor], output: tf.Tensor) -> float:
        missing = sorted(set(inputs) - set(self.feed))
        if missing:
            raise GraphDslError(f"the evaluation feeds no value for input '{missing[0]}'",
                                hint="give a feed for every input key")
        feed = {inputs[key]: np.asarray(self.feed[key], inputs[key].dtype.as_numpy_dtype) for key in inputs}
        value = np.asarray(session.run(output, feed), dtype=np.float64)
        target = np.asarray(self.target, dtype=np.float64)
        try:
            error = np.mean(np.square(np.broadcast_to(value, target.shape) - target))
        except ValueError:
            raise GraphDslError(f"the output's shape {list(value.shape)} does not fit the target's "
                                f"{list(target.shape)}", hint="give a target of the output's shape") from None
        return -float(error)


Fitness = Union[Hook, Evaluation]


def load_hook(path: str, base_dir: Path = Path(".")) -> Hook:
    """The function ``"FILE.py:FUNCTION"`` names, the file relative to ``base_dir``."""
    file_part, sep, name = path.rpartition(":")
    if not sep or not file_part.endswith(schema.PYTHON_SUFFIX) or not name.isidentifier():
        raise GraphDslError(f"fitness '{path}' does not name a function", hint="write it as 'file.py:function'")
    file = Path(file_part) if Path(file_part).is_absolute() else base_dir / file_part
    if not file.is_file():
        raise SourceError(f"{file}: no such file", hint="check the fitness path (relative to the file naming it)")
    function = getattr(_import_file(file), name, None)
    if not callable(function):
        raise SourceError(f"{file}: defines no function '{name}'", hint="define it, or name another function")
    return function


def score(fitness: Fitness, graph: tf.Graph, session: Any, inputs: dict[str, tf.Tensor],
          output: tf.Tensor) -> float:
    """The individual's score; ``-inf`` when it is not a finite number or running the graph fails."""
    try:
        value = fitness(graph, session, inputs, output)
    except tf.errors.OpError as e:
        raise GraphDslError(f"running the individual failed: {reason(e)}") from None
    except GraphDslError:
        raise
    except Exception as e:  # the user's hook: say which one failed and how
        raise GraphDslError(f"the fitness function raised {type(e).__name__}: {e}",
                            hint="fix the fitness function") from e
    except SystemExit as e:  # a hook's exit must not end the run (exit 0 would fake success)
        called = "sys.exit()" if e.code is None else f"sys.exit({e.code!r})"
        raise GraphDslError(f"the fitness function called {called}",
                            hint="return a float: higher is better; to fail, raise an exception that says why") from None
    return number(value)


def number(value: Any) -> float:
    """A fitness function's result as a float: a real number (Python's or NumPy's, or a NumPy array
    of one), ``-inf`` when not finite. Text, a boolean or anything else is a GraphDslError."""
    real = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        real = True
    if not real:
        raise GraphDslError(f"the fitness function returned {_shown(value)}, not a number",
                            hint="return a float: higher is better")
    try:
        result = float(value)
    except OverflowError:
        raise GraphDslError(f"the fitness function returned {_shown(value)}, a number too large for a float",
                            hint="return a float: higher is better") from None
    return result if math.isfinite(result) else -math.inf


def _shown(value: Any) -> str:
    try:
        return clipped(repr(value), 80)
    except ValueError:  # an integer of more digits than Python prints
        return f"an {type(value).__name__} of about 10^{int(math.log10(abs(value)))}"
