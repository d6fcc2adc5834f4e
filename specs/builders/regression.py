"""The fitness of the symbolic regression example: how close an individual is to x**2 + sin(x).

``score(graph, session, inputs, output)`` runs the individual on 41 points of [-3, 3] and returns
minus the mean squared error against ``x**2 + sin(x)``: 0 is a perfect fit, higher is better.
"""

import numpy as np

X = np.linspace(-3.0, 3.0, 41, dtype=np.float32)
TARGET = X.astype(np.float64) ** 2 + np.sin(X.astype(np.float64))


def score(graph, session, inputs, output) -> float:
    y = session.run(output, {inputs["x"]: X})
    return -float(np.mean((np.broadcast_to(y, X.shape) - TARGET) ** 2))
