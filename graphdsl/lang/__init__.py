"""The language half: grammar, syntax tree, parser, schema and checks. Never imports TensorFlow."""
