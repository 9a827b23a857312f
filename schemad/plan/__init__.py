"""Targets and plans: which schema on which server, and the ordered, checked statements for it."""
