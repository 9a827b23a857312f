"""Workspaces: learn what *.sql files mean by running them on a real server."""
