"""Do copies of a resource variable share state with the original? One line per copying method.

Copies `src/v` into namespace `copy` of the same graph, assigns 5.0 to the copy, then reads the
original (initialized to 1.0). "shares state" means the original changed too.

    .venv/bin/python benchmarks/aliasing.py
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf  # noqa: E402
from tensorflow.python.framework import meta_graph  # noqa: E402

from graphdsl import copy_to_graph  # noqa: E402

tf1 = tf.compat.v1


def copy_handle(method: str, graph: tf.Graph, variable) -> tf.Tensor:
    if method == "import_graph_def":
        tf1.import_graph_def(graph.as_graph_def(), name="copy")
        return graph.get_tensor_by_name("copy/src/v:0")
    if method == "copy_scoped_meta_graph":
        meta_graph.copy_scoped_meta_graph("src", "copy", graph, graph)
        return graph.get_tensor_by_name("copy/v:0")
    return copy_to_graph(variable, graph, namespace="copy").handle


def main() -> None:
    print(f"TensorFlow {tf.__version__}")
    for method in ("import_graph_def", "copy_scoped_meta_graph", "graphdsl"):
        graph = tf.Graph()
        with graph.as_default():
            with tf1.variable_scope("src"):
                original = tf1.get_variable("v", initializer=1.0, use_resource=True)
            handle = copy_handle(method, graph, original)
            assign = tf1.raw_ops.AssignVariableOp(resource=handle, value=5.0)
            with tf1.Session() as sess:
                sess.run(original.initializer)
                sess.run(assign)
                value = sess.run(original)
        verdict = "shares state" if value == 5.0 else "independent"
        print(f"{method:<24} original after assigning 5.0 to the copy: {value}  ({verdict})")


if __name__ == "__main__":
    main()
