"""Skeema-format repository trees: `.skeema` option files, directories, *.sql files."""
