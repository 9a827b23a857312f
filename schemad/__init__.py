"""schemad: declarative schema management for MySQL and MariaDB (Skeema-compatible CLI and daemon)."""

__version__ = "0.1.0"  # kept equal to pyproject.toml's version (tests/unit/test_version.py)
