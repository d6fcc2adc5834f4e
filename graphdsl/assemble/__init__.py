"""The build half: compose a checked spec through the copier, resolve names, export, manifest.

One module per stage: ``compose`` (run the statements), ``resolve`` (what a name means), ``save``
(write a spec's exports), ``export`` (the three kinds), ``outdir`` (OUTDIR, all or nothing),
``manifest`` (what a build says about itself), ``plan`` (the report of a composition). The public
entry points are ``graphdsl.compose`` and ``graphdsl.build``. Importing the package imports no
TensorFlow; ``outdir``, ``manifest`` and ``files`` never do.
"""
