"""Reproducing the papers' tables: the table registry, the ``reproduce`` campaign runner and the renderer
that writes RESULTS.md's measured cells from the result files."""
