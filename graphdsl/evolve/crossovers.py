"""Crossover: a child is one parent with a subtree of the other grafted in at a cut point.

The cut point (a tensor of the recipient's tree) and the grafted piece (a subtree of the donor: a
tensor of its tree, the output and the inputs included) are drawn with the given seeded
``random.Random`` among compatible pairs only: the same dtype and compatible shapes. Candidates
are drawn in the order of their names, so the same generator state always makes the same child.
The child is a :class:`~graphdsl.evolve.childspec.ChildSpec`; nothing is built here.
"""

from __future__ import annotations

import random
from typing import Callable

import tensorflow as tf

from graphdsl.evolve import genome
from graphdsl.evolve.childspec import ChildSpec, Graft
from graphdsl.evolve.individual import Loaded


def crossover(recipient: Loaded, donor: Loaded, rng: random.Random, *, max_size: int | None = None,
              notes: list[str] | None = None) -> ChildSpec | None:
    """A child of ``recipient`` with a subtree of ``donor`` in place of one of its own; None if no
    compatible pair gives a child of at most ``max_size`` ops."""
    assert recipient.output is not None and donor.output is not None
    pieces = [t for t in genome.subtrees(donor.output, donor.inputs.values())
              if usable(t, donor)]
    return graft(recipient, rng, lambda slot: [(donor, p) for p in pieces if genome.compatible(slot, p)],
                 max_size=max_size, notes=notes)


Pieces = list[tuple[Loaded, tf.Tensor]]  # (the graph a piece is in, the piece)


def graft(recipient: Loaded, rng: random.Random, pieces_for: Callable[[tf.Tensor], Pieces], *, max_size: int | None = None,
          notes: list[str] | None = None) -> ChildSpec | None:
    """A child of ``recipient`` with one cut point replaced by a piece ``pieces_for(slot)`` offers.

    ``pieces_for(slot)`` lists ``(loaded graph, tensor)`` pairs that may stand at ``slot``. Cut
    points are tried in a random order, and the first that has a piece fitting ``max_size`` wins.
    """
    assert recipient.output is not None
    inputs = list(recipient.inputs.values())
    slots = genome.cut_points(recipient.output, inputs)
    rng.shuffle(slots)
    whole = genome.size(recipient.output, inputs)
    for slot in slots:
        candidates = pieces_for(slot)
        if slot.name == recipient.output.name:  # the whole: an input alone is no individual
            candidates = [(owner, piece) for owner, piece in candidates
                          if piece.op.type not in genome.PLACEHOLDERS]
        if max_size is not None:
            left = whole - genome.size(slot, inputs)
            candidates = [(owner, piece) for owner, piece in candidates
                          if left + genome.size(piece, owner.inputs.values()) <= max_size]
        if candidates:
            owner, piece = candidates[rng.randrange(len(candidates))]
            return child_spec(recipient, slot, owner, piece, notes)
    return None


def child_spec(recipient: Loaded, slot: tf.Tensor, owner: Loaded, piece: tf.Tensor,
               notes: list[str] | None = None) -> ChildSpec:
    """The spec that puts ``piece`` (a tensor of ``owner``) at ``slot`` of ``recipient``."""
    assert recipient.output is not None
    values = frozenset(loaded.source for loaded in (recipient, owner) if loaded.values)
    if slot.name == recipient.output.name:  # the piece replaces the whole: the child is the piece
        return ChildSpec(owner.source, {k: t.name for k, t in owner.inputs.items()}, piece.name, None,
                         tuple(reached(piece, owner.inputs)), values, list(notes or []))
    own = {t.name: key for key, t in owner.inputs.items()}
    if piece.name in own:  # an input: bind the cut to the child's own input of that key
        graft_ = Graft(slot.name, own[piece.name])
    else:
        reads = reached(piece, owner.inputs)
        graft_ = Graft(slot.name, piece.name, owner.source,
                       tuple((key, owner.inputs[key].name) for key in reads))
    rest = genome.tree_ops(recipient.output, [*recipient.inputs.values(), slot])
    names = {op.name for op in rest if op.name != slot.op.name}
    kept = tuple(key for key, t in recipient.inputs.items() if t.op.name in names)
    return ChildSpec(recipient.source, {k: t.name for k, t in recipient.inputs.items()},
                     recipient.output.name, graft_, kept, values, list(notes or []))


def reached(tensor: tf.Tensor, inputs: dict[str, tf.Tensor]) -> list[str]:
    """The keys of the inputs the subtree at ``tensor`` reads."""
    names = {op.name for op in genome.tree_ops(tensor, inputs.values())}
    return [key for key, t in inputs.items() if t.op.name in names]


def usable(tensor: tf.Tensor, owner: Loaded) -> bool:
    """Whether a subtree can be grafted: every placeholder it reads is one of ``owner``'s inputs."""
    inputs = {t.op.name for t in owner.inputs.values()}
    return all(op.name in inputs for op in genome.tree_ops(tensor, owner.inputs.values())
               if op.type in genome.PLACEHOLDERS)
