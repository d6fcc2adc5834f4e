"""The spec of an individual: the recipient copied whole, one subtree grafted in from a donor.

Every individual of a population is a plain ``.gcomp`` spec written next to its artifact, built by
the ordinary pipeline (:func:`graphdsl.assemble.compose.build`), so any one of them can be read,
rebuilt and changed by hand. Its shape never varies::

    graphdsl 1
    source recipient = graphdef("../../g001/i003/child.pb")
    source donor     = graphdef("../../g001/i005/child.pb")

    copy In from recipient { take = ["In/x"] }           # the inputs, shared by both pieces
    copy D from donor {                                  # the grafted subtree
        take = "R/Sin"
        bind "In/x:0" = In["In/x:0"]
    }
    copy R from recipient {                              # the rest of the recipient
        take = "R/y"
        bind "R/a:0"  = D["R/Sin:0"]                     # the cut
        bind "In/x:0" = In["In/x:0"]
    }
    let x   = In["In/x:0"]
    let out = R["R/y:0"]
    export graphdef "child.pb" { outputs = [out] }

Without a graft it copies the recipient alone (how a parent enters the population); a graft whose
piece is one of the inputs binds the cut to that input directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ARTIFACT = "child.pb"  # the artifact every individual's spec exports: a frozen GraphDef
SPEC = "child.gcomp"
INPUTS, DONOR, RECIPIENT, OUTPUT = "In", "D", "R", "out"  # namespaces and the output's alias
RESERVED = (INPUTS, DONOR, RECIPIENT, OUTPUT)


@dataclass(frozen=True)
class SourceRef:
    """A source as a spec names it: its kind, its path (absolute) and its options."""

    kind: str
    path: str
    options: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, kind: str, path: str | Path, options: dict[str, Any] | None = None,
           base_dir: str | Path = ".") -> "SourceRef":
        """The source at ``path`` (a python source's ``FILE.py:FUNCTION``) relative to ``base_dir``.

        Paths are kept absolute (a metagraph's ``checkpoint`` option too), so that a spec anywhere
        can name the source relative to itself.
        """
        options = dict(options or {})
        file, sep, function = str(path).rpartition(":") if kind == "python" else (str(path), "", "")
        absolute = os.path.abspath(os.path.join(base_dir, os.path.expanduser(file)))
        if kind == "metagraph" and isinstance(options.get("checkpoint"), str):
            options["checkpoint"] = os.path.abspath(os.path.join(base_dir, options["checkpoint"]))
        return cls(kind, absolute + sep + function, tuple(sorted(options.items())))

    def statement(self, name: str, spec_dir: Path) -> str:
        """``source NAME = KIND("PATH", key = value)``, the paths relative to ``spec_dir``."""
        file, sep, function = self.path.rpartition(":") if self.kind == "python" else (self.path, "", "")
        relative = os.path.relpath(file, spec_dir) + (sep + function if sep else "")
        options = [(key, os.path.relpath(value, spec_dir) if self.kind == "metagraph" and key == "checkpoint"
                    else value) for key, value in self.options]
        arguments = [literal(relative)] + [f"{key} = {literal(value)}" for key, value in options]
        return f"source {name} = {self.kind}({', '.join(arguments)})"


@dataclass(frozen=True)
class Graft:
    """Put ``piece`` (a tensor of ``donor``, or with no donor the input called ``piece``) at ``slot``.

    ``donor_inputs`` are the donor's inputs the piece reads, by key: they are bound to the
    individual's own inputs of that key.
    """

    slot: str
    piece: str
    donor: SourceRef | None = None
    donor_inputs: tuple[tuple[str, str], ...] = ()


@dataclass
class ChildSpec:
    """What an individual's spec says; :meth:`text` writes it."""

    recipient: SourceRef
    inputs: dict[str, str]  # key -> the recipient's input tensor
    output: str  # the recipient's output tensor
    graft: Graft | None = None
    reached: tuple[str, ...] = ()  # keys of the inputs the recipient's rest still reads
    values: frozenset[SourceRef] = frozenset()  # sources whose variables are copied with their values
    notes: list[str] = field(default_factory=list)  # comment lines at the top

    def text(self, spec_dir: Path) -> str:
        """The spec, its source paths relative to ``spec_dir`` (where it is written)."""
        lines = [f"# {note}" for note in self.notes] + ["graphdsl 1", ""]
        lines.append(self.recipient.statement("recipient", spec_dir))
        graft, donor = self.graft, self.graft.donor if self.graft else None
        if donor is not None:
            lines.append(donor.statement("donor", spec_dir))
        lines.append("")
        lines.append(f"copy {INPUTS} from recipient {{ take = {literal([_op(t) for t in self.inputs.values()])} }}")
        if graft is not None and donor is not None:
            binds = [(tensor, f"{INPUTS}[{literal(self.inputs[key])}]") for key, tensor in graft.donor_inputs]
            lines += _copy(DONOR, "donor", _op(graft.piece), binds, donor in self.values)
        binds = []
        if graft is not None:
            piece = (f'{DONOR}[{literal(graft.piece)}]' if donor is not None
                     else f'{INPUTS}[{literal(self.inputs[graft.piece])}]')
            binds.append((graft.slot, piece))
        binds += [(self.inputs[key], f"{INPUTS}[{literal(self.inputs[key])}]") for key in self.reached]
        lines += _copy(RECIPIENT, "recipient", _op(self.output), binds, self.recipient in self.values)
        lines.append("")
        lines += [f"let {key} = {INPUTS}[{literal(tensor)}]" for key, tensor in self.inputs.items()]
        lines.append(f"let {OUTPUT} = {RECIPIENT}[{literal(self.output)}]")
        lines.append("")
        lines.append(f"export graphdef {literal(ARTIFACT)} {{ outputs = [{OUTPUT}] }}")
        return "\n".join(lines) + "\n"

    def write(self, directory: Path) -> Path:
        """Writes the spec as ``directory/child.gcomp``; returns its path."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / SPEC
        path.write_text(self.text(directory), encoding="utf-8")
        return path


def _copy(namespace: str, source: str, take: str, binds: list[tuple[str, str]], values: bool) -> list[str]:
    """A copy statement, with its binds as ``(input of the source, reference)``."""
    entries = [f"take = {literal(take)}"]
    if values:
        entries.append("variables = value")
    entries += [f"bind {literal(slot)} = {reference}" for slot, reference in binds]
    if len(entries) == 1:
        return [f"copy {namespace} from {source} {{ {entries[0]} }}"]
    return [f"copy {namespace} from {source} {{", *(f"    {e}" for e in entries), "}"]


def _op(tensor: str) -> str:
    """The op of a tensor name; a ``@KEY`` stays as it is."""
    return tensor if tensor.startswith("@") else tensor.rpartition(":")[0] or tensor


def literal(value: Any) -> str:
    """``value`` written as a literal of the language."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = (value.replace("\\", "\\\\").replace('"', '\\"')
                   .replace("\n", "\\n").replace("\t", "\\t"))
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{literal(str(k))}: {literal(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no literal for {value!r}")
