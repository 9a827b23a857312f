"""The types of what the service hands its front ends, named here so the API imports only the service.

The API renders a plan's steps, a wrapper's leftovers and lint findings as
JSON; it never builds or runs them, so it needs their types and nothing else
of plan, apply or lint (tests/unit/test_layering.py holds it to that).
"""

from __future__ import annotations

from schemad.apply.leftovers import Leftover, role_of
from schemad.lint.engine import Note
from schemad.plan.planner import PlannedStep

__all__ = ["Leftover", "Note", "PlannedStep", "role_of"]
