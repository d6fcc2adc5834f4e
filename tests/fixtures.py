"""Spec texts that several test files build: an encoder feeding a head, from tests/data/builders.

``ENCODER_HEAD`` copies a trained encoder with its values, binds its output into a fresh head and
serves the pair as a savedmodel; ``ASSEMBLY`` is the same composition with every export kind and
an alias of the encoder's weights. Tests write them to a file, or edit a copy of the text first.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUILDERS = (REPO / "tests" / "data" / "builders").as_posix()

_COMPOSITION = f"""graphdsl 1
source enc  = python("{BUILDERS}/pieces.py:encoder", trained = true)
source head = python("{BUILDERS}/pieces.py:head")
copy Enc from enc {{
    take = "out"
    variables = value
}}
copy Head from head {{
    take = "logits"
    bind "features:0" = Enc["out:0"]
}}
let x      = Enc["x:0"]
let logits = Head["logits:0"]
"""

_SERVED = """export savedmodel "model" {
    signature serving_default {
        inputs  = { x: x }
        outputs = { logits: logits }
    }
}
"""

ENCODER_HEAD = _COMPOSITION + _SERVED

ASSEMBLY = (_COMPOSITION + 'let W      = Enc["W"]\n' + _SERVED
            + 'export metagraph "graph"\n'
            + 'export graphdef "frozen.pb" { outputs = [logits] }\n')
