"""The CLI's log handler writes to the sys.stderr of the moment, so in-process callers may swap it."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from schemad.cli.common import setup_logging


def test_records_follow_sys_stderr_after_it_is_swapped_and_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        first = io.StringIO()
        monkeypatch.setattr(sys, "stderr", first)
        setup_logging()
        logging.getLogger("schemad").info("one")
        first.close()  # a test's capture ends; the CLI's handler is still installed
        second = io.StringIO()
        monkeypatch.setattr(sys, "stderr", second)
        logging.getLogger("schemad").info("two")  # would fail on the closed stream
        assert "[INFO]  two" in second.getvalue()
        assert [h.get_name() for h in root.handlers].count("schemad-cli") == 1
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
