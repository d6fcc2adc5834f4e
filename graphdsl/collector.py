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


# What the pauses moved into the oldest generation since a pause last collected it, and how
# many objects it held after that collection. Python's own collector goes through its
# oldest generation only once a quarter as many objects again have reached it by its younger
# collections; objects a pause moves there are not counted in that, so without this a program
# that parses, copies or builds again and again (a batch, an evolution, a service) would never
# collect the cycles it drops (a dropped graph, a syntax error's traceback).
_moved = 0
_old = 0
_full = 0  # Python's own count of full collections when the pauses last looked
# Below this many objects moved, no pause collects: a single command (a check of 20,000
# statements moves about a million) never pays for a collection that would free nothing.
FLOOR = 2_000_000


@contextlib.contextmanager
def paused(kept: bool = True) -> Iterator[None]:
    """No cyclic collection inside the block; the collector resumes after it if it was enabled.

    ``kept``: the objects made inside live on (a syntax tree, a copy, an index). They then join the
    oldest generation at once (``gc.freeze()`` then ``gc.unfreeze()`` moves them there without a
    collection) instead of being examined by each younger collection on their way there: that
    cost as much again as the work itself. Garbage among them goes at the next full collection:
    where Python's collector makes none (a program that only parses, say), a pause starts with one
    once more objects have been moved there since the last than it then held (and at least
    :data:`FLOOR`), as Python's collector does with the objects its younger collections move there.
    Skipped when the program keeps objects frozen itself, and inside an outer pause (the outer one
    does it). With ``kept=False`` (what the block makes is garbage once it is done) the collector
    only resumes.
    """
    global _moved, _old, _full
    enabled = gc.isenabled()
    if enabled and _moved >= FLOOR:
        full = gc.get_stats()[2]["collections"]
        if full != _full:  # Python's collector went through it meanwhile (a program that does more)
            _full, _moved = full, 0
        elif _moved >= _old:
            gc.collect()
            # Counted, not estimated from what was moved and found: what the pauses moved and the
            # program then dropped by reference counting was never found, and an estimate would
            # only grow, each collection coming later than the one before.
            _old, _moved, _full = len(gc.get_objects(2)), 0, full + 1
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if kept and not gc.get_freeze_count():
                _moved += gc.get_count()[0]  # what the block made (the collector was off)
                gc.freeze()
                gc.unfreeze()
            gc.enable()
