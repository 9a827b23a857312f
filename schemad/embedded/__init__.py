"""A throwaway local MariaDB server (tests, benchmarks and `make run`): schemad.workspace.local_server."""

from schemad.workspace.local_server import EmbeddedServer, find_server_binaries

__all__ = ["EmbeddedServer", "find_server_binaries"]
