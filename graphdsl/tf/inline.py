"""Open up a TF2 SavedModel: inline its signatures' function calls into the graph.

A TF2 SavedModel computes each signature inside one function call op (``StatefulPartitionedCall``
of ``__inference_signature_wrapper_...``), which calls the traced body, which may call more
functions (a Keras model calls one per layer block). Only the call's outputs are graph tensors.
Inlining replaces, for the copier, each such call by the ops of its body, through TensorFlow's own
conversion (``function_def_to_graph_def``), recursively through nested calls: every layer becomes
an op of the graph that ``take``, ``bind`` and ``stop_at`` can name, reading the same variables.

Names: the body of signature ``S`` lands under ``S/``, and the bodies of the calls it makes land
there too, so a Keras layer's ops are ``serving_default/functional/dense/MatMul``; a name already
taken gets a suffix, as TensorFlow names a second op (``serving_default/Identity_1``). A call op's
own name becomes an ``IdentityN`` of the body's results, which also waits for the body's stateful
ops, so an op that waited for the call still waits for all of it.
Loops and conditionals (``While``, ``If``) stay function calls: their bodies run per iteration or
branch. The original call ops stay in the graph, unused; a copy takes only what it needs.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import tensorflow as tf
from tensorflow.core.framework import function_pb2, graph_pb2, node_def_pb2

from graphdsl.errors import SourceError
from graphdsl.tf import internals

CALL_OPS = ("StatefulPartitionedCall", "PartitionedCall")


def inline_signatures(graph: tf.Graph, signatures: Mapping[str, dict[str, dict[str, str]]]
                      ) -> dict[str, dict[str, dict[str, str]]]:
    """Inlines the calls that compute each signature's outputs; returns the signatures, updated.

    ``signatures`` maps a signature name to ``{"inputs": {key: tensor}, "outputs": {key: tensor}}``
    (tensor names of ``graph``); in the result, outputs name the inlined tensors.
    """
    graph_def = graph.as_graph_def()
    library = {f.signature.name: f for f in graph_def.library.function}
    nodes = {node.name: node for node in graph_def.node}
    inliner = _Inliner(graph, library, set(nodes))
    result = {}
    for name, signature in signatures.items():
        outputs = dict(signature["outputs"])
        calls = {t.partition(":")[0] for t in outputs.values()}
        scope = name + "/"
        for call in sorted(calls):
            node = nodes.get(call)
            if node is None or not _inlinable(node, library):
                continue
            results = inliner.expand_call(node, scope)
            for key, tensor in outputs.items():
                op_name, _, index = tensor.partition(":")
                if op_name == call:
                    outputs[key] = results[int(index or 0)]
        result[name] = {"inputs": dict(signature["inputs"]), "outputs": outputs}
    inliner.import_into(graph, graph_def.versions)
    return result


def _inlinable(node: node_def_pb2.NodeDef, library: Mapping[str, function_pb2.FunctionDef]) -> bool:
    return node.op in CALL_OPS and node.attr["f"].func.name in library


class _Inliner:
    """Collects the NodeDefs of inlined bodies, named in the graph's namespace."""

    def __init__(self, graph: tf.Graph, library: Mapping[str, function_pb2.FunctionDef],
                 taken: set[str]) -> None:
        self.graph = graph
        self.library = library
        self.taken = taken  # every name in the graph or given to an inlined node
        self.nodes: list[node_def_pb2.NodeDef] = []

    def _free(self, name: str) -> str:
        """``name``, or ``name_N`` when it is taken (as TensorFlow names a second op); now taken."""
        candidate, n = name, 1
        while candidate in self.taken:
            candidate, n = f"{name}_{n}", n + 1
        self.taken.add(candidate)
        return candidate

    def expand_call(self, call: node_def_pb2.NodeDef, scope: str) -> list[str]:
        """Inlines the function ``call`` calls, with the call's inputs; returns its output tensors."""
        return self._expand_call(call, scope)[0]

    def _expand_call(self, call: node_def_pb2.NodeDef, scope: str) -> tuple[list[str], list[str]]:
        """The inlined call's output tensors, and the ops that must run for it to be done."""
        fdef = self.library[call.attr["f"].func.name]
        data = [i for i in call.input if not i.startswith("^")]
        controls = [i for i in call.input if i.startswith("^")]
        return self._expand(fdef, data, controls, scope)

    def _expand(self, fdef: function_pb2.FunctionDef, inputs: list[str], controls: list[str],
                scope: str) -> tuple[list[str], list[str]]:
        with self.graph.as_default():  # the conversion looks functions up in the default graph
            try:
                body, flat = internals.function_def_to_graph_def(fdef)
            except NotImplementedError as e:
                raise SourceError(f"cannot inline the signatures' functions: {e}",
                                  hint="load the source without inline") from e
        args = {arg.name: inputs[i] for i, arg in enumerate(fdef.signature.input_arg)}
        own = [node for node in body.node if node.name not in args]
        names = {node.name: self._free(scope + node.name) for node in own}

        def rename(inp: str) -> str:
            control = inp.startswith("^")
            op_name, _, index = inp.lstrip("^").partition(":")
            if op_name in args:
                outer = args[op_name]
                return "^" + outer.lstrip("^").partition(":")[0] if control else outer
            return "^" + names[op_name] if control else f"{names[op_name]}:{index or 0}"

        for node in own:
            node.name = names[node.name]
            new_inputs = [rename(i) for i in node.input]
            if not any(i.lstrip("^").partition(":")[0] in names.values() for i in new_inputs):
                new_inputs.extend(controls)  # an entry op of the body waits for what the call waited for
            del node.input[:]
            node.input.extend(new_inputs)
            node.device = ""
            if "_class" in node.attr:
                entries = node.attr["_class"].list.s
                fixed = [b"loc:@" + names[e[5:].decode()].encode() if e.startswith(b"loc:@")
                         and e[5:].decode() in names else e for e in entries]
                del entries[:]
                entries.extend(fixed)
            if _inlinable(node, self.library):
                self._replace_call(node, scope)
            else:
                self.nodes.append(node)
        outputs = [rename(flat.get(fdef.ret[arg.name], fdef.ret[arg.name]))
                   for arg in fdef.signature.output_arg]
        return outputs, [names[n] for n in fdef.control_ret.values() if n in names]

    def _replace_call(self, call: node_def_pb2.NodeDef, scope: str) -> None:
        """Inlines a nested call into ``scope``; an IdentityN under the call's name stands for its
        results."""
        outputs, stateful = self._expand_call(call, scope)
        done = ["^" + n for n in stateful]
        stand_in = node_def_pb2.NodeDef(name=call.name, device="")
        if outputs:
            stand_in.op = "IdentityN"
            stand_in.input.extend([*outputs, *done])
            stand_in.attr["T"].list.type.extend(call.attr["Tout"].list.type)
        else:
            stand_in.op = "NoOp"
            stand_in.input.extend(done)
        self.nodes.append(stand_in)

    def import_into(self, graph: tf.Graph, versions) -> None:
        """Adds the collected nodes to ``graph``, wired to the tensors and ops they read there."""
        if not self.nodes:
            return
        sub = graph_pb2.GraphDef()
        sub.versions.CopyFrom(versions)
        sub.node.extend(self.nodes)
        inside = {node.name for node in self.nodes}
        input_map, control_map = {}, {}
        for name in _external(self.nodes, inside):
            if name.startswith("^"):
                control_map[name[1:]] = graph.get_operation_by_name(name[1:])
            else:
                input_map[name] = graph.get_tensor_by_name(name)
        try:
            internals.import_nodes(graph, sub, "", input_map, control_map)
        except ValueError as e:
            raise SourceError(f"cannot inline the signatures' functions: {e}",
                              hint="load the source without inline") from e


def _external(nodes: Iterable[node_def_pb2.NodeDef], inside: set[str]) -> set[str]:
    """Inputs of ``nodes`` produced outside them: "op:i" tensors and "^op" controls."""
    found = set()
    for node in nodes:
        for inp in node.input:
            op_name = inp.lstrip("^").partition(":")[0]
            if op_name not in inside:
                found.add(inp if inp.startswith("^") or ":" in inp else inp + ":0")
    return found
