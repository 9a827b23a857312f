"""The throwaway local server, under its older name: schemad.workspace.local_server has the code.

`serve --embedded`, the tests and the benchmarks start the same server class
as `workspace=local`; this module only keeps `schemad.embedded.server`
importable.
"""

from schemad.workspace.local_server import EmbeddedServer, ServerBinaries, find_server_binaries

__all__ = ["EmbeddedServer", "ServerBinaries", "find_server_binaries"]
