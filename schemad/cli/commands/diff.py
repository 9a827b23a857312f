"""`schemad diff [env]`: exactly `push --dry-run` (see push.py)."""

from __future__ import annotations

from schemad.cli.args import ParsedArgs
from schemad.cli.commands import push


def run(args: ParsedArgs) -> int:
    return push.run(args, diff=True)
