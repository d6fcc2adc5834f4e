"""The blog post's two examples, run as written through graphdsl's API."""

import numpy as np
import pytest
import tensorflow as tf

from graphdsl import copy_to_graph, copy_variable_to_graph, get_copied
from graphdsl.errors import NotCopiedError

tf1 = tf.compat.v1


def _linear_model():
    graph = tf.Graph()
    with graph.as_default():
        tf1.set_random_seed(7)
        rng = np.random.RandomState(0)
        x_data = np.float32(rng.rand(2, 100))
        y_data = np.dot([0.100, 0.200], x_data) + 0.300
        b = tf1.Variable(tf.zeros([1]))
        W = tf1.Variable(tf1.random_uniform([1, 2], -1.0, 1.0))
        y = tf.matmul(W, x_data) + b
        loss = tf.reduce_mean(tf.square(y - y_data))
        optimizer = tf1.train.GradientDescentOptimizer(0.5)
        train = optimizer.minimize(loss)
    return graph, b, W, loss, train


def test_walkthrough_trains_the_copy_to_the_plane(copy_path):
    graph, b, W, loss, train = _linear_model()
    to_graph = tf.Graph()
    namespace = "CopiedOps"
    copied_variables: dict[str, tf.Variable] = {}
    b1 = copy_variable_to_graph(b, to_graph, namespace, copied_variables)
    W1 = copy_variable_to_graph(W, to_graph, namespace, copied_variables)
    train_copy = copy_to_graph(train, to_graph, copied_variables, namespace)
    copy_to_graph(loss, to_graph, copied_variables, namespace)
    loss_copy = get_copied(loss, to_graph, copied_variables, namespace)

    assert sorted(copied_variables) == ["CopiedOps/Variable:0", "CopiedOps/Variable_1:0"]
    assert train_copy.graph is to_graph and train_copy.name == "CopiedOps/" + train.name
    with to_graph.as_default():
        init1 = tf1.global_variables_initializer()
        sess1 = tf1.Session()
        sess1.run(init1)
        first_loss = sess1.run(loss_copy)
        for _ in range(201):
            sess1.run(train_copy)
        np.testing.assert_allclose(sess1.run(W1), [[0.1, 0.2]], atol=1e-3)
        np.testing.assert_allclose(sess1.run(b1), [0.3], atol=1e-3)
        assert sess1.run(loss_copy) < first_loss * 1e-4


def test_walkthrough_leaves_the_source_untouched():
    graph, b, W, loss, train = _linear_model()
    before = graph.as_graph_def().SerializeToString(deterministic=True)
    to_graph = tf.Graph()
    copy_to_graph(train, to_graph, {}, "CopiedOps")
    assert graph.as_graph_def().SerializeToString(deterministic=True) == before


def test_feeding_example_as_written(copy_path):
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder("float")
        a = tf.constant(3, "float")
        y = tf.add(x, a)
    namespace = "CopiedOps"
    to_graph = tf.Graph()
    y1 = copy_to_graph(y, to_graph, namespace)
    x1 = get_copied(x, to_graph, namespace)
    assert x1.name == "CopiedOps/Placeholder:0"
    with to_graph.as_default():
        sess = tf1.Session()
        assert sess.run(y1, feed_dict={x1: 5}) == 8.0


def test_the_blog_walkthrough_runs_as_printed(capsys, copy_path):
    """The post's code, as printed, with only what TensorFlow 2 forces changed (marked "TF2").

    TF2: ``import tensorflow.compat.v1 as tf`` (the TF1 names), an explicit default graph
    (TF2 runs eagerly otherwise), ``range`` and ``print()`` (Python 3). The post's text lost the
    lines with ``sess.run(...)`` calls; they are restored from TensorFlow's Get Started example it
    quotes. Seeds are set before the printed code so that the two runs can be compared.
    """
    import tensorflow.compat.v1 as tf  # TF2
    from graphdsl import copy_to_graph, copy_variable_to_graph, get_copied

    np.random.seed(0)
    with tf.Graph().as_default():  # TF2
        tf.set_random_seed(7)

        # Make 100 phony data points in NumPy.
        x_data = np.float32(np.random.rand(2, 100))  # Random input
        y_data = np.dot([0.100, 0.200], x_data) + 0.300

        # Construct a linear model.
        b = tf.Variable(tf.zeros([1]))
        W = tf.Variable(tf.random_uniform([1, 2], -1.0, 1.0))
        y = tf.matmul(W, x_data) + b

        # Minimize the squared errors.
        loss = tf.reduce_mean(tf.square(y - y_data))
        optimizer = tf.train.GradientDescentOptimizer(0.5)
        train = optimizer.minimize(loss)

        # For initializing the variables.
        init = tf.initialize_all_variables()

        # Launch the graph
        sess = tf.Session()
        sess.run(init)

        # Fit the plane.
        for step in range(0, 201):  # TF2 (Python 3)
            sess.run(train)
            if step % 20 == 0:
                print(step, sess.run(W), sess.run(b))  # TF2 (Python 3)

        to_graph = tf.Graph()
        namespace = "CopiedOps"
        copied_variables: dict[str, tf.Variable] = {}
        b1 = copy_variable_to_graph(b, to_graph, namespace, copied_variables)
        W1 = copy_variable_to_graph(W, to_graph, namespace, copied_variables)
        train_copy = copy_to_graph(train, to_graph, copied_variables, namespace)
        loss_copy = get_copied(loss, to_graph, copied_variables, namespace)

    original = capsys.readouterr().out
    with to_graph.as_default():
        init1 = tf.initialize_all_variables()
        sess1 = tf.Session()
        sess1.run(init1)

        for step in range(0, 201):  # TF2 (Python 3)
            sess1.run(train_copy)
            if step % 20 == 0:
                print(step, sess1.run(W1), sess1.run(b1))  # TF2 (Python 3)
    copied = capsys.readouterr().out

    assert copied == original and len(original.splitlines()) == 11
    np.testing.assert_allclose(sess1.run(W1), [[0.1, 0.2]], atol=1e-2)
    assert loss_copy.graph is to_graph and loss_copy.name == "CopiedOps/" + loss.name
    assert sess1.run(loss_copy) == pytest.approx(sess.run(loss), abs=1e-9)
    assert sess1.run(loss_copy) < 1e-4


def test_get_copied_completes_a_copy_without_copying_state_again():
    graph, b, W, loss, train = _linear_model()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [2, 100], name="x")
        counter = tf1.get_variable("counter", initializer=0, use_resource=True)
        counted = tf.add(loss, tf.cast(counter.read_value(), tf.float32), name="counted")
        fed = tf.add(loss, tf.reduce_sum(x), name="fed")
        scaled = tf.multiply(loss, 2.0, name="scaled")
        lone = tf.constant(1.0, name="lone")
    target = tf.Graph()
    copy_to_graph(train, target, {}, "N")
    before = {op.name for op in target.get_operations()}

    with pytest.raises(NotCopiedError):
        get_copied(loss, target, namespace="N", complete=False)  # a pure lookup
    assert {op.name for op in target.get_operations()} == before
    loss_copy = get_copied(loss, target, namespace="N")  # the gradient reads Square, not Mean
    assert loss_copy.name == "N/" + loss.name
    added = {op.name for op in target.get_operations()} - before
    assert added == {"N/Mean", "N/Square", "N/Const"}  # the loss and what only it reads
    assert get_copied(loss, target, namespace="N") is loss_copy
    assert get_copied(scaled.op, target, namespace="N").name == "N/scaled"
    with pytest.raises(NotCopiedError, match="needs variable 'counter', which was not copied"):
        get_copied(counted, target, namespace="N")
    with pytest.raises(NotCopiedError, match="needs input 'x'"):
        get_copied(fed, target, namespace="N")
    with pytest.raises(NotCopiedError, match="computes nothing from what was copied"):
        get_copied(lone, target, namespace="N")
    with pytest.raises(NotCopiedError, match="no copy of 'counter:0'"):
        get_copied(counter, target, namespace="N")  # a variable is copied, never looked up into being
    assert not any(op.name.startswith("N/counter") or op.name in ("N/x", "N/fed", "N/lone")
                   for op in target.get_operations())
    with tf1.Session(graph=target) as sess, target.as_default():
        sess.run(tf1.global_variables_initializer())
        first = sess.run(loss_copy)
        sess.run(get_copied(train, target, namespace="N"))
        assert sess.run(loss_copy) < first
