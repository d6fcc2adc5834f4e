"""The one informative line of a TensorFlow exception, for graphdsl's own error messages.

TensorFlow messages wrap the reason in boilerplate ("Graph execution error:", "Detected at node ...",
"Original stack trace ...", "[[{{node ...}}]]"); a user needs the reason alone, e.g.
"Key b not found in checkpoint".
"""

from __future__ import annotations

import re

_BOILERPLATE = re.compile(
    r"^(Graph execution error:|Detected at node|Node: |Original stack trace|\[\[\{\{node|"
    r"Restoring from checkpoint failed\.|\(most recent call last\)|File \"|Instructions for updating)"
)


def reason(error: BaseException) -> str:
    """The first line of ``error``'s message that says what went wrong."""
    text = getattr(error, "message", None) or str(error)
    for line in text.splitlines():
        line = line.strip()
        if line and not _BOILERPLATE.match(line):
            return line
    return type(error).__name__
