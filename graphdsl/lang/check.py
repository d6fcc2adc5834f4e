"""Stage 2: static checks of a parsed spec, without loading any graph (and without TensorFlow).

:func:`check` runs two passes over the syntax tree: the scope pass (:mod:`graphdsl.lang.scope`:
names defined once and above their use, references, aliases, namespaces) and the schema pass
(:mod:`graphdsl.lang.rules`: kinds, options, entries and the types of values, as
:mod:`graphdsl.lang.schema` says). Each stops at its first error; the one reported is the first in
source order, as a build would meet it (see :mod:`graphdsl.lang.passes`), with a span, a hint and
"did you mean" where a name is close to a known one. Both passes are linear in the spec's size.

Both passes may run over each statement as the parser (or a template's expansion) makes it
(:class:`StatementChecks`), while its nodes are still in the processor's caches: walking a large
tree afterwards costs about twice as much, most of it in fetching each node from memory again.
What takes the whole spec is checked afterwards (the version line, a copy at all, an alias named as
a namespace defined below it); a statement with a mistake (or a parse the checks did not follow
throughout) leaves the whole check to the end, so that the error reported is the one the passes
find over the whole spec.
"""

from __future__ import annotations

from operator import is_
from typing import TypeVar, cast

from graphdsl.lang import syntax
from graphdsl.collector import paused
from graphdsl.lang.passes import Finding, Pass
from graphdsl.lang.rules import SchemaPass
from graphdsl.lang.scope import ScopePass

PASSES: tuple[type[Pass], ...] = (ScopePass, SchemaPass)
N = TypeVar("N", bound=syntax.Node)


class StatementChecks:
    """Both passes over each statement as it is made (the ``statement`` of
    :func:`graphdsl.lang.parser.parse_source` and of :class:`graphdsl.lang.expander.Expander`);
    :func:`check` then leaves out what they found to hold (see the module)."""

    def __init__(self) -> None:
        nothing = cast(syntax.Spec, None)  # passes handed statements one by one: no spec yet
        self.passes = [each(nothing) for each in PASSES]
        self.seen: list[syntax.Node] = []
        self.clean = True  # no finding so far

    def __call__(self, statement: N) -> N:
        self.seen.append(statement)
        if self.clean:
            try:
                for each in self.passes:
                    each.visit(statement)
            except Finding:
                self.clean = False  # check() finds it again, with the rest of the spec
        return statement

    def passed(self, spec: syntax.Spec) -> bool:
        """Whether every statement of ``spec``, and only those, passed here, in its order, and
        no alias has the name of a namespace (the scope pass's one check of a good spec that
        takes what is defined below)."""
        statements = spec.statements
        return (self.clean and len(self.seen) == len(statements) and all(map(is_, self.seen, statements))
                and not {let.name.name for let in spec.lets} & {copy.namespace.name for copy in spec.copies})


def check(spec: syntax.Spec, statements: StatementChecks | None = None) -> syntax.Spec:
    """Check a parsed spec; return it unchanged, or raise the first SpecError in source order.
    ``statements``: the checks made as the statements of ``spec`` were made, if any."""
    early = statements is not None and statements.passed(spec)
    with paused():
        findings = [f for f in (each(spec, statements=not early).run() for each in PASSES) if f is not None]
    if findings:
        first: Finding = min(findings, key=lambda f: f.key)
        raise first.error
    return spec
