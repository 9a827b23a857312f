"""The command-line front end: Skeema-compatible commands."""
