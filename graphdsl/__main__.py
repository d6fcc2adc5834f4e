"""``python -m graphdsl``: the command line of :mod:`graphdsl.cli`."""

import sys

from graphdsl.cli import main

sys.exit(main())
