"""The build half: compose a checked spec through the copier, resolve names, export, manifest."""

from graphdsl.assemble.compose import Composition, build, compose

__all__ = ["Composition", "build", "compose"]
