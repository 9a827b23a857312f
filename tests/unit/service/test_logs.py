"""setup_logging: JSON lines and text format, captured through the `stream` parameter."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from schemad.service.logs import setup_logging

log = logging.getLogger("schemad.test.logs")


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    """Put the root logger's handlers and level back as they were."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in root.handlers:
        if h not in handlers:
            root.removeHandler(h)
            h.close()
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_core_fields() -> None:
    out = io.StringIO()
    setup_logging("json", stream=out)

    log.warning("hello %s", "world")

    [entry] = lines(out)
    assert entry["level"] == "warning"
    assert entry["logger"] == "schemad.test.logs"
    assert entry["msg"] == "hello world"
    assert "exc" not in entry
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["ts"])
    assert abs(datetime.fromisoformat(entry["ts"]).timestamp() - datetime.now().timestamp()) < 60


def test_json_extra_fields_and_no_standard_attributes() -> None:
    out = io.StringIO()
    setup_logging("json", stream=out)

    log.info("polled", extra={"repo": "app", "attempt": 3, "path": object(), "ts": "mine"})

    [entry] = lines(out)
    assert entry["repo"] == "app"
    assert entry["attempt"] == 3
    assert entry["path"].startswith("<object object")  # not JSON: written as str()
    assert entry["extra_ts"] == "mine"  # a clash keeps ours and renames theirs
    assert not {"args", "levelno", "pathname", "lineno", "funcName", "created", "msecs"} & set(entry)


def test_json_exception_and_one_line_per_record() -> None:
    out = io.StringIO()
    setup_logging("json", stream=out)

    try:
        raise ValueError("bad\nthing")
    except ValueError:
        log.exception("it broke")
    log.info("next")

    first, second = lines(out)
    assert first["level"] == "error"
    assert first["msg"] == "it broke"
    assert first["exc"].startswith("Traceback (most recent call last):")
    assert "ValueError: bad\nthing" in first["exc"]
    assert second["msg"] == "next"


def test_level_filters_records() -> None:
    out = io.StringIO()
    setup_logging("json", level=logging.WARNING, stream=out)

    log.info("quiet")
    log.error("loud")

    assert [e["msg"] for e in lines(out)] == ["loud"]


def test_text_format() -> None:
    out = io.StringIO()
    setup_logging("text", stream=out)

    log.info("started on %d", 7480)

    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO schemad\.test\.logs: started on 7480\n", out.getvalue()
    )


def test_idempotent_and_leaves_other_handlers_alone() -> None:
    root = logging.getLogger()
    foreign = logging.NullHandler()
    root.addHandler(foreign)
    first, second = io.StringIO(), io.StringIO()

    setup_logging("text", stream=first)
    count = len(root.handlers)
    setup_logging("json", stream=second)
    log.info("once")

    assert len(root.handlers) == count
    assert foreign in root.handlers
    assert first.getvalue() == ""
    assert [e["msg"] for e in lines(second)] == ["once"]
