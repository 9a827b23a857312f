"""Root-logger setup for the daemon: human-readable text or one JSON object per line.

JSON is for log shippers (journald -> Loki, Elasticsearch): each record is one
line with `ts` (ISO 8601 UTC, milliseconds), `level`, `logger`, `msg`, `exc`
when there is a traceback, and every `extra={...}` field (such as `repo`) as
a key of its own, so fields can be filtered without parsing messages.

`setup_logging` may be called again (on reload, in tests): it replaces only the
handler it installed earlier and leaves other handlers alone.  This module does
not rotate files, ship logs or mask secrets; callers log masked text.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

__all__ = ["TEXT_FORMAT", "JsonFormatter", "setup_logging"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Attributes every LogRecord has (plus the ones formatters add); anything else came from `extra`.
_STANDARD_ATTRS = frozenset(
    {
        "args",
        "asctime",
        "created",
        "exc_info",
        "exc_text",
        "filename",
        "funcName",
        "levelname",
        "levelno",
        "lineno",
        "message",
        "module",
        "msecs",
        "msg",
        "name",
        "pathname",
        "process",
        "processName",
        "relativeCreated",
        "stack_info",
        "taskName",
        "thread",
        "threadName",
    }
) | frozenset(vars(logging.LogRecord("", 0, "", 0, None, None, None)))


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON; values JSON cannot hold are written as `str(value)`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for key, value in vars(record).items():
            if key in _STANDARD_ATTRS:
                continue
            # An extra named like one of ours is kept, under a prefixed name.
            entry[f"extra_{key}" if key in entry else key] = value
        return json.dumps(entry, default=str)


class _Handler(logging.StreamHandler[TextIO]):
    """The handler `setup_logging` installs; its class marks it for replacement."""


def setup_logging(
    fmt: Literal["json", "text"], *, level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """Send the root logger's records at `level` and above to `stream` (stderr by default) as `fmt`."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
        old.close()  # flushes; a StreamHandler never closes its stream
    handler = _Handler(sys.stderr if stream is None else stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
