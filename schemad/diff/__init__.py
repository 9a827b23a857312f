"""Diff engine: compare two models and emit the DDL that turns one into the other.

Pure code.  `before` is the live server and `after` the desired state from the
repository files, both introspected into `schemad.model` values; everything
that changes the emitted DDL arrives in one `StatementModifiers` value.  No I/O,
no config or environment reading, and no guessed renames (a renamed column
or table is a drop plus an add, as in Skeema, unless the files say
`@renamed from=`: see renames.py).
"""
