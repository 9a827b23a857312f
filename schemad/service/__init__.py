"""The daemon: the only layer that owns state, time and concurrency.

`state` keeps push-job records and the audit log so that jobs survive a
daemon restart.  Nothing here renders DDL or talks to a target server
directly; the service wires the lower layers (plan, apply) together.
"""
