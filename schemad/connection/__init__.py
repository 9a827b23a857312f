"""The connection to a server: ConnParams (what to connect to, how) and Instance (pooled asyncmy sessions).

Used by every layer that talks to a server (introspection, the workspace,
apply, the daemon); it knows nothing of schemas or files.
"""
