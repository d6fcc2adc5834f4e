"""The Python API of the copier: ``copy_variable_to_graph``, ``copy_to_graph`` and ``get_copied``,
and ``initialize``, which initializes a target session the fast way.

Names and positional order follow the blog post graphdsl grew from, so its walkthrough runs as
written; the options it lacked are keyword-only. ``copy_elements`` is ``copy_to_graph`` for
callers that want to know what a copy added (the build's report).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import tensorflow as tf

from graphdsl.tf import initial_values
from graphdsl.tf.copier import Copier, CopyResult
from graphdsl.errors import CopyError, NotCopiedError, did_you_mean
from graphdsl.lang import schema
from graphdsl.tf.registry import is_variable, registry_of, variable_named
from graphdsl.tf.variables import ModeRule, mode_rule


def copy_variable_to_graph(
    org_instance,
    to_graph: tf.Graph,
    namespace: str,
    copied_variables: dict | None = None,
    *,
    mode: str = schema.DEFAULT_MODE,
    session=None,
):
    """Copies the variable ``org_instance`` into ``to_graph`` under ``namespace``.

    ``mode="init"`` copies its initializer, so initializing the target draws a fresh value;
    ``mode="value"`` makes its current value (read through ``session``) the copy's initial value.
    The copy is a ``tf.Variable`` of the target, in the same variable collections as the original.
    ``copied_variables``, if given, gets the entry ``{copy.name: copy}``. Returns the copy.
    """
    if not is_variable(org_instance):
        raise CopyError(f"{org_instance!r} is not a Variable", hint="use copy_to_graph for ops and tensors")
    copier = _copier(org_instance.graph, to_graph, namespace, mode_rule(mode), session, None, None,
                     copied_variables)
    copier.copy([org_instance.op.name])
    return copier.record.find(org_instance)


def copy_to_graph(
    org_instance,
    to_graph: tf.Graph,
    copied_variables: dict | str | None = None,
    namespace: str = "",
    *,
    variables: str | Mapping[str, str] | ModeRule = schema.DEFAULT_MODE,
    session=None,
    replacements: Mapping | None = None,
    stop_at: Iterable | None = None,
):
    """Copies ``org_instance`` and everything it needs into ``to_graph`` under ``namespace``.

    ``org_instance`` is an Operation, Tensor or Variable of the source graph, or a list of them
    (copied in one pass); the copy (or list of copies) is returned. Inputs, control inputs,
    variables read, functions called and placeholders follow; elements already copied into this
    namespace are reused, so copying twice adds nothing.

    - ``variables``: how variables reached are copied: "init", "value", a mapping from glob
      patterns on variable names to modes (last match wins), or a function of the name.
    - ``session``: the source's session, to read values for mode "value".
    - ``replacements``: ``{source_tensor: target_tensor}`` wires the copy to tensors already in the
      target instead of copying what produces them (control inputs follow).
    - ``stop_at``: source tensors where the walk stops; a placeholder of the same dtype and shape
      takes each one's place (find it with ``get_copied``).
    - ``copied_variables``: variables copied so far, by name in the target, as the seed's API kept
      them; entries are honoured and new copies are added. A string in this position is taken as
      the namespace (the seed's feeding example passes it there).
    """
    copied_variables, namespace = _seed_positional(copied_variables, namespace)
    elements = list(org_instance) if isinstance(org_instance, (list, tuple)) else [org_instance]
    if not elements:
        return []
    copies, _ = copy_elements(elements, to_graph, namespace, variables=variables, session=session,
                              replacements=replacements, stop_at=stop_at,
                              copied_variables=copied_variables)
    return copies if isinstance(org_instance, (list, tuple)) else copies[0]


def copy_elements(
    elements: Sequence,
    to_graph: tf.Graph,
    namespace: str = "",
    *,
    variables: str | Mapping[str, str] | ModeRule = schema.DEFAULT_MODE,
    session=None,
    replacements: Mapping | None = None,
    stop_at: Iterable | None = None,
    copied_variables: dict | None = None,
) -> tuple[list, CopyResult]:
    """Copies ``elements`` (of one source graph) as :func:`copy_to_graph` does, in one pass.

    Returns the copies, in the order of ``elements``, and the :class:`CopyResult` saying what the
    copy added to ``to_graph``: ops, variables with their modes, renamed functions, placeholders
    made where the walk stopped, replacements wired. Nothing is reported twice: what earlier
    copies brought is reused, not added.
    """
    if not isinstance(namespace, str):
        raise CopyError(f"the namespace must be a string, not {namespace!r}")
    elements = list(elements)
    if not elements:
        return [], CopyResult(namespace.strip("/"))
    source = _graph_of(elements[0])
    for element in elements[1:]:
        if _graph_of(element) is not source:
            raise CopyError("copy_to_graph copies from one source graph per call; "
                            f"{element!r} is in another graph than {elements[0]!r}")
    copier = _copier(source, to_graph, namespace, mode_rule(variables), session, replacements,
                     stop_at, copied_variables)
    result = copier.copy(copier.roots_of(elements))
    return [copier.copy_of(e) for e in elements], result


def get_copied(original, graph: tf.Graph, copied_variables: dict | str | None = None,
               namespace: str = "", *, complete: bool = True):
    """The copy of ``original`` (an Operation, Tensor or Variable) in ``graph`` under ``namespace``.

    A Variable gives the copied Variable. An Operation or Tensor that no copy needed, but that
    computes only from what was copied into ``namespace`` (the loss, when only the training op
    was copied), is copied now unless ``complete`` is False; completing never copies a variable,
    an op holding state or a placeholder. Raises :class:`~graphdsl.errors.NotCopiedError`, naming
    what was not found and what is close, when there is no such copy.
    """
    copied_variables, namespace = _seed_positional(copied_variables, namespace)
    namespace = namespace.strip("/")
    prefix = namespace + "/" if namespace else ""
    if is_variable(original) and copied_variables:
        found = copied_variables.get(prefix + original.op.name + ":0")
        if found is not None:
            return found
    registry = registry_of(graph)
    source = _graph_of(original)
    record = registry.record(source, namespace)
    refused = None
    if record is not None:
        found = record.find(original)
        if found is not None:
            return found
        if complete:
            found, refused = _complete(original, source, graph, namespace, copied_variables)
            if found is not None:
                return found
    elif not registry.namespace_known(namespace):
        found = _by_name(graph, prefix, original)  # a graph copied in another process, then loaded
        if found is not None:
            return found
    known = record.names() if record is not None else []
    raise NotCopiedError(
        f"no copy of '{_name(original)}' in namespace '{namespace}' of the target graph"
        + (f": {refused}" if refused else ""),
        hint=did_you_mean(_name(original), known)
        or ("nothing from this source graph was copied into that namespace" if record is None
            else "what was copied does not need it; copy it with copy_to_graph (what it shares "
            "with earlier copies is reused)"),
    )


def initialize(session) -> None:
    """Initializes every variable and table of ``session``'s graph, as the three TF initializers do.

    Running ``tf.compat.v1.global_variables_initializer()`` works too; this does the same but
    feeds the values of variables copied in mode "value" straight to their initializers, a chunk
    at a time, instead of handing them over through a Python callback each, and shows progress on
    a terminal while large values move.
    """
    initial_values.initialize(session)


def _complete(original, source, graph, namespace, copied_variables) -> tuple[Any, str | None]:
    """Completes the copy of ``original`` when it only computes from what was copied.

    Returns (the copy, None), or (None, why it was not completed).
    """
    if not isinstance(original, (tf.Tensor, tf.Operation)) or graph.finalized:
        return None, None
    # The walk stops before any variable it would need, so the mode is never used.
    copier = _copier(source, graph, namespace, mode_rule(schema.VALUE_MODE), None, None, None,
                     copied_variables)
    outcome = copier.complete(original.op.name if isinstance(original, tf.Tensor) else original.name)
    if isinstance(outcome, str):
        return None, outcome
    return copier.record.find(original), None


# -- helpers -------------------------------------------------------------------------------------


def _copier(source, target, namespace, modes, session, replacements, stop_at, copied_variables):
    if not isinstance(target, tf.Graph):
        raise CopyError(f"the target must be a tf.Graph, not {target!r}")
    if not isinstance(namespace, str):
        raise CopyError(f"the namespace must be a string, not {namespace!r}")
    if target.finalized:
        raise CopyError("the target graph is finalized; no op can be added to it")
    return Copier(source, target, namespace, modes=modes, session=session,
                  replacements=replacements, stop_at=stop_at, copied_variables=copied_variables)


def _seed_positional(copied_variables: object, namespace: object) -> tuple[dict | None, str]:
    """The variables dict and the namespace, from the seed's positional order (a string third is the namespace)."""
    if isinstance(copied_variables, str):
        if namespace:
            raise CopyError("namespace given twice: as the third argument and as namespace=")
        copied_variables, namespace = None, copied_variables
    if not isinstance(namespace, str):
        raise CopyError(f"the namespace must be a string, not {namespace!r}")
    if copied_variables is not None and not isinstance(copied_variables, dict):
        raise CopyError(f"copied_variables must be a dict of the variables copied so far, not {copied_variables!r}",
                        hint="pass {} to collect them, or leave it out")
    return copied_variables, namespace


def _graph_of(element) -> tf.Graph:
    graph = getattr(element, "graph", None)
    if graph is None:
        raise CopyError(f"could not copy {element!r}: expected an Operation, Tensor or Variable "
                        "of a graph")
    return graph


def _by_name(graph: tf.Graph, prefix: str, original) -> Any:
    """The element named like the copy of ``original``, if it is of the same kind.

    For target graphs copied into by another process (loaded from a file), where no record says
    what is a copy of what. An element of another op type or dtype is not a copy, whatever its name.
    """
    if is_variable(original):
        found = variable_named(graph, prefix + original.name.rpartition(":")[0])
        return found if found is not None and found.dtype == original.dtype else None
    try:
        found = graph.as_graph_element(prefix + _name(original), allow_tensor=True,
                                       allow_operation=True)
    except (KeyError, ValueError):
        return None
    if isinstance(original, tf.Tensor):
        same = found.op.type == original.op.type and found.dtype == original.dtype
    else:
        same = found.type == original.type
    return found if same else None


def _name(original) -> str:
    name = getattr(original, "name", None)
    if name is None:
        raise CopyError(f"{original!r} is not an element of a graph")
    return name
