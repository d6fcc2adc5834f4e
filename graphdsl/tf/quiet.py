"""Import TensorFlow without its start-up notices and deprecation warnings, for the command line.

TensorFlow 2.21 writes absl and oneDNN notices to file descriptor 2 while it loads, whatever
``TF_CPP_MIN_LOG_LEVEL`` says; at a terminal they bury graphdsl's own messages. The command line
silences descriptor 2 for the import only. Library users import TensorFlow themselves, as usual.
"""

from __future__ import annotations

import os
import sys


def import_tensorflow() -> None:
    """Imports TensorFlow with stderr silenced at the descriptor level during the import."""
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # graphdsl reports failures itself
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                import tensorflow  # noqa: F401  (imported here for its side effect: loading it silenced)
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)
    # The TF1 APIs graph mode needs warn of their deprecation on every use; not the user's concern.
    from graphdsl.tf import internals

    internals.silence_deprecation_warnings()
