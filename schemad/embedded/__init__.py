"""A throwaway local MariaDB server (tests, benchmarks and `make run`)."""

from schemad.embedded.server import EmbeddedServer, find_server_binaries

__all__ = ["EmbeddedServer", "find_server_binaries"]
