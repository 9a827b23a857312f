"""The single exception tree of schemad.

Every error schemad raises on purpose derives from :class:`SchemadError` and
carries structured fields (file/line, host/port, server error number) besides
its message, so the CLI can pick an exit code and the API an HTTP status
without parsing text.  Messages never contain passwords: connection errors are
built from host/port/user only.

    SchemadError                      exit 2 unless stated
    ├── ConfigError                   exit 78: bad option, bad .skeema, bad CLI use
    │   └── OptionFileError           a .skeema / option file line (file, line)
    ├── SQLFileError                  a *.sql file problem (file, line)
    │   ├── SplitError                unterminated quote/comment, bad DELIMITER
    │   └── DuplicateDefinitionError  one object defined twice
    ├── DatabaseError                 a server answered with an error (errno, sql)
    │   └── ConnectError              could not connect (host, port / socket)
    ├── CannotCreateError             exit 73: cannot create a dir or file
    ├── UnsupportedError              an object or feature schemad can't handle
    └── RateLimitError                the daemon refuses a request made too soon (retry_after)
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "EXIT_CANT_CREATE",
    "EXIT_CONFIG",
    "EXIT_DIFFERENCES",
    "EXIT_FATAL",
    "EXIT_OK",
    "CannotCreateError",
    "ConfigError",
    "ConnectError",
    "DatabaseError",
    "DuplicateDefinitionError",
    "OptionFileError",
    "RateLimitError",
    "SQLFileError",
    "SchemadError",
    "SplitError",
    "UnsupportedError",
]

# Skeema's exit codes (exit.go): 0 ok, 1 differences/warnings/partial,
# 2 fatal, 73 can't create output, 78 bad configuration.
EXIT_OK = 0
EXIT_DIFFERENCES = 1
EXIT_FATAL = 2
EXIT_CANT_CREATE = 73
EXIT_CONFIG = 78


class SchemadError(Exception):
    """Root of every error schemad raises deliberately."""

    exit_code: int = EXIT_FATAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(SchemadError):
    """Invalid configuration: options, option files, command-line usage."""

    exit_code = EXIT_CONFIG


def _where(file: str | Path | None, line: int | None) -> str:
    if file is None:
        return ""
    return f"{file}:{line}: " if line else f"{file}: "


class OptionFileError(ConfigError):
    """A problem in one line of an option file such as `.skeema`."""

    def __init__(self, message: str, *, file: str | Path | None = None, line: int | None = None) -> None:
        super().__init__(_where(file, line) + message)
        self.file = str(file) if file is not None else None
        self.line = line
        self.reason = message


class SQLFileError(SchemadError):
    """A problem in a *.sql file; always names the file and line."""

    def __init__(self, message: str, *, file: str | Path | None = None, line: int | None = None) -> None:
        super().__init__(_where(file, line) + message)
        self.file = str(file) if file is not None else None
        self.line = line
        self.reason = message


class SplitError(SQLFileError):
    """The file cannot be split into statements (unterminated quote, comment...)."""


class DuplicateDefinitionError(SQLFileError):
    """The same object (type + name) is defined twice in one directory."""


class DatabaseError(SchemadError):
    """The server returned an error for a statement."""

    def __init__(
        self,
        message: str,
        *,
        errno: int | None = None,
        sql: str | None = None,
        host: str | None = None,
    ) -> None:
        super().__init__(message)
        self.errno = errno
        self.sql = sql
        self.host = host


class ConnectError(DatabaseError):
    """Could not connect to (or authenticate with) a server."""


class CannotCreateError(SchemadError):
    """A directory or file could not be created."""

    exit_code = EXIT_CANT_CREATE


class UnsupportedError(SchemadError):
    """An object or feature that schemad deliberately does not handle."""


class RateLimitError(SchemadError):
    """A rate-limited request (a diff refresh) came too soon; retry after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
