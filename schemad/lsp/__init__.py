"""`schemad lsp`: a Language Server for *.sql files (lint diagnostics and canonical formatting).

`engine` computes findings and edits from a document's text (its dir's
workspace on a live server, or the daemon's POST /v1/lint); `server` wires
them to the Language Server Protocol with pygls.
"""
