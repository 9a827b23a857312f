"""Running DDL through external commands: Skeema's alter-wrapper and ddl-wrapper.

`shellout` turns a wrapper template plus the statement's variables into an
immutable, shell-quoted command whose secrets are masked wherever it is shown;
`runner` executes such a command in its own process group with a timeout,
cancellation and streamed, masked output; `progress` reads the progress lines
of pt-online-schema-change and gh-ost.

This package does not decide *whether* a statement goes through a wrapper
(alter-wrapper-min-size, table sizes: that is the planner's job), does not talk
to the database, and does not clean up what an interrupted tool leaves behind
(pt-osc triggers, gh-ost ghost tables).
"""
