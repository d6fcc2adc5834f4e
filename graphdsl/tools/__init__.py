"""Tools around compositions: ``graphdsl inspect`` (what a source holds), ``graphdsl graph`` (a
picture of a composition, and TensorBoard) and progress on a terminal.

Importing this package imports no TensorFlow (the command line registers these commands without
loading it); its modules that read graphs import it themselves.
"""
