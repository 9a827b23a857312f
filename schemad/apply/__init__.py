"""Running DDL: directly, or through Skeema's alter-wrapper and ddl-wrapper, under supervision.

`shellout` (in plan) turns a wrapper template plus the statement's variables
into an immutable, shell-quoted command whose secrets are masked wherever it
is shown; `runner` executes such a command in its own process group with a
timeout, cancellation and streamed, masked output; `wrapped` runs a plan's
wrapped steps with a 0600 credentials file (`clientcnf`).  For the online
schema change tools it knows (`osc.tool_of`: pt-online-schema-change, gh-ost,
Spirit) it also runs pre-flight checks (`preflight`), reads their output into
normalized progress records (`progress`), holds a cut-over when asked
(`osc` gates) and inventories what they leave on the table (`leftovers`).

This package does not decide *whether* a statement goes through a wrapper
(alter-wrapper-min-size, table sizes: that is the planner's job), keeps no
job state, and never drops a tool's tables on its own: only the pt-osc
triggers of a run schemad stopped, and what an operator's clean-up names.
"""
