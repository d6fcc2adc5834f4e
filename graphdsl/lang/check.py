"""Stage 2: static checks of a parsed spec, without loading any graph (and without TensorFlow).

:func:`check` runs two passes over the syntax tree: the scope pass (:mod:`graphdsl.lang.scope`:
names defined once and above their use, references, aliases, namespaces) and the schema pass
(:mod:`graphdsl.lang.rules`: kinds, options, entries and the types of values, as
:mod:`graphdsl.lang.schema` says). Each stops at its first error; the one reported is the first in
source order, as a build would meet it (see :mod:`graphdsl.lang.passes`), with a span, a hint and
"did you mean" where a name is close to a known one. Both passes are linear in the spec's size.
"""

from __future__ import annotations

from graphdsl.lang import syntax
from graphdsl.collector import paused
from graphdsl.lang.passes import Finding, Pass
from graphdsl.lang.rules import SchemaPass
from graphdsl.lang.scope import ScopePass

PASSES: tuple[type[Pass], ...] = (ScopePass, SchemaPass)


def check(spec: syntax.Spec) -> syntax.Spec:
    """Check a parsed spec; return it unchanged, or raise the first SpecError in source order."""
    with paused():
        findings = [f for f in (p(spec).run() for p in PASSES) if f is not None]
    if findings:
        first: Finding = min(findings, key=lambda f: f.key)
        raise first.error
    return spec
