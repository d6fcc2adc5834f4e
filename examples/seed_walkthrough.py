"""The blog post's walkthrough, through graphdsl's API, on TensorFlow 2 (graph mode).

Builds the linear model of TensorFlow's old Get Started page, copies its `train` op into a new
graph under the namespace "CopiedOps", and trains the copy: it learns W = [0.1, 0.2], b = 0.3.
"""

import numpy as np
import tensorflow as tf

from graphdsl import copy_to_graph, copy_variable_to_graph, get_copied

tf1 = tf.compat.v1

# The source graph: 100 phony data points and a linear model fitted to them.
graph = tf.Graph()
with graph.as_default():
    x_data = np.float32(np.random.rand(2, 100))
    y_data = np.dot([0.100, 0.200], x_data) + 0.300
    b = tf1.Variable(tf.zeros([1]))
    W = tf1.Variable(tf1.random_uniform([1, 2], -1.0, 1.0))
    y = tf.matmul(W, x_data) + b
    loss = tf.reduce_mean(tf.square(y - y_data))
    optimizer = tf1.train.GradientDescentOptimizer(0.5)
    train = optimizer.minimize(loss)

# Copy the variables, then the topmost node: everything it needs follows.
to_graph = tf.Graph()
namespace = "CopiedOps"
copied_variables = {}
b1 = copy_variable_to_graph(b, to_graph, namespace, copied_variables)
W1 = copy_variable_to_graph(W, to_graph, namespace, copied_variables)
train_copy = copy_to_graph(train, to_graph, copied_variables, namespace)
# On TensorFlow 2 the gradient no longer reads `loss` itself, so `train` does not need it:
# copy it too (only the ops `train` did not already bring are added), then look it up.
copy_to_graph(loss, to_graph, copied_variables, namespace)
loss_copy = get_copied(loss, to_graph, copied_variables, namespace)

# Train the copy in its own graph and session.
with to_graph.as_default():
    init1 = tf1.global_variables_initializer()
    sess1 = tf1.Session()
    sess1.run(init1)
    for step in range(0, 201):
        sess1.run(train_copy)
        if step % 20 == 0:
            print(step, sess1.run(W1).ravel(), sess1.run(b1), sess1.run(loss_copy))
