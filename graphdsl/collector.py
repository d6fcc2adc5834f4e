"""Python's cyclic garbage collector, paused while graphdsl makes many long-lived objects.

Parsing a large spec, indexing or copying a large graph and exporting it each allocate a Python
object per token or node, hundreds of thousands of them, and make almost no garbage cycles. Each
allocation threshold would start a collection that examines them all again: seconds at 200,000
ops, and most of a large spec's parse. :func:`paused` holds the collector off meanwhile. No
TensorFlow here.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator


@contextlib.contextmanager
def paused(kept: bool = True) -> Iterator[None]:
    """No cyclic collection inside the block; the collector resumes after it if it was enabled.

    ``kept``: the objects made inside live on (a syntax tree, a copy, an index). They then join the
    oldest generation at once (``gc.freeze()`` then ``gc.unfreeze()`` moves them there without a
    collection) instead of being examined by each younger collection on their way there: that
    cost as much again as the work itself. Garbage among them goes at the next full collection.
    Skipped when the program keeps objects frozen itself, and inside an outer pause (the outer
    one does it). With ``kept=False`` (what the block makes is garbage once it is done) the
    collector only resumes.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if kept and not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()
