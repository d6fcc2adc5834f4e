"""Small graphs for the interpreter's tests, built by `python(...)` sources."""

import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1


def encoder(trained=False):
    """out = x @ W (2 -> 2), W = [[1, 2], [3, 4]]; with a session whose W is doubled if trained."""
    graph = tf1.get_default_graph()
    x = tf1.placeholder(tf.float32, [None, 2], name="x")
    W = tf1.get_variable("W", initializer=tf.constant([[1.0, 2.0], [3.0, 4.0]]), use_resource=True)
    tf.matmul(x, W, name="out")
    tf.identity(x, name="unused")
    if not trained:
        return graph
    session = tf1.Session(graph=graph)
    session.run(tf1.global_variables_initializer())
    session.run(W.assign(W * 2.0))
    return graph, session


def head():
    """logits = features @ [[1], [1]] + bias (bias = 0.5); also an int input and a wider one."""
    graph = tf1.get_default_graph()
    features = tf1.placeholder(tf.float32, [None, 2], name="features")
    tf1.placeholder(tf.int32, [None, 2], name="ids")
    wide = tf1.placeholder(tf.float32, [None, 3], name="wide")
    bias = tf1.get_variable("bias", initializer=tf.constant([0.5]), use_resource=True)
    tf.add(tf.matmul(features, np.ones((2, 1), np.float32)), bias, name="logits")
    tf.reduce_sum(wide, axis=1, name="wide_sum")
    return graph


def failing():
    raise ValueError("the builder could not find its training data")


def scaled():
    """y = x * w where w starts at mean(x) * [1, 1]: w's initial value depends on the input x."""
    graph = tf1.get_default_graph()
    x = tf1.placeholder(tf.float32, [2], name="x")
    scale = tf.reduce_mean(tf.abs(x) + 1.0, name="scale")
    w = tf1.get_variable("w", initializer=tf.ones([2]) * scale, use_resource=True)
    tf.multiply(x, w, name="y")
    return graph


def exits(code=0):
    """A builder that ends the process instead of returning a graph."""
    import sys

    sys.exit(code)


def interrupted():
    raise KeyboardInterrupt


def process_exit(code=0):
    """A builder that ends the process at once, as a forked child would."""
    import os

    os._exit(code)


def base_exception():
    raise GeneratorExit


def forks():
    """A builder whose forked child leaves through os._exit (the child must still exit)."""
    import os

    pid = os.fork()
    if pid == 0:
        os._exit(7)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 7
    tf.constant(1.0, name="x")
    return tf1.get_default_graph()


def unsettling():
    """A builder that closes stdout, replaces stderr and removes the working directory it moved to."""
    import io
    import os
    import shutil
    import sys
    import tempfile

    sys.stdout.close()
    sys.stderr = io.StringIO()
    gone = tempfile.mkdtemp()
    os.chdir(gone)
    shutil.rmtree(gone)
    tf.constant(1.0, name="x")
    return tf1.get_default_graph()


def forever(step=0.05):
    """A builder that never returns."""
    import time

    while True:
        time.sleep(step)


def fed_initial_value():
    """out = 2 v, where v's initial value is fed through placeholder 'initial' at initialization."""
    graph = tf1.get_default_graph()
    initial = tf1.placeholder(tf.float32, [2], name="initial")
    v = tf1.Variable(initial, name="v", use_resource=True)
    tf.multiply(v, 2.0, name="out")
    return graph


def images():
    """mean: the mean of each image of a batch of 64x64 RGB images."""
    graph = tf1.get_default_graph()
    batch = tf1.placeholder(tf.float32, [None, 64, 64, 3], name="images")
    tf.reduce_mean(batch, axis=[1, 2, 3], name="mean")
    return graph


def parser():
    """number = the float a string holds (fails on a string that holds none)."""
    graph = tf1.get_default_graph()
    text = tf1.placeholder(tf.string, [None], name="text")
    tf.strings.to_number(text, tf.float32, name="number")
    return graph
