"""The graph half: loading sources, the recursive copier and its parts, TensorFlow's internals."""
