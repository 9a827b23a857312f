"""Offline SQL text handling: split *.sql files into statements; no I/O beyond reading."""
