"""The zoo's version: the single source read by pyproject.toml and written into every checkpoint."""

__version__ = "0.1.0"
