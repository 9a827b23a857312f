"""Store writes handed over by synchronous code on the event loop, run in order in a worker thread.

A state store on a remote control server (`[state] backend = "mysql"`) can
take up to its connect timeout per call; code running on the event loop (a
job's run hooks, the drift book after a poll, the webhook outbox) must not
wait for it there.  It hands each write to a `WriteBehind`, which runs them
one at a time in a thread, in the order handed over.  A write given a `key`
replaces a pending, not yet started write with the same key (a job's record:
every version is the whole row, only the newest one matters).

`flush()` waits until every write handed over so far has run and returns the
errors of the writes that failed (by key) and were not superseded by a later
successful write with the same key: a job flushes before each statement runs,
so the statement's record is durable, or the statement does not run.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from schemad.errors import SchemadError
from schemad.records import dataclass

__all__ = ["WriteBehind"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Write:
    what: str  # for the log: "record job X", "audit entry"
    run: Callable[[], Any]
    key: str | None
    after: Callable[[Any], None] | None = None  # gets run()'s result, on the event loop


class WriteBehind:
    """Ordered writes off the event loop; see the module docstring.  Create and use on one event loop."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._queue: deque[_Write] = deque()
        self._task: asyncio.Task[None] | None = None
        self._failed: dict[str, str] = {}  # key (or what) -> error of its last attempt

    def put(
        self,
        what: str,
        run: Callable[[], Any],
        *,
        key: str | None = None,
        after: Callable[[Any], None] | None = None,
    ) -> None:
        """Run `run()` in a thread after every write handed over before it (no event loop: right here).

        `after`, if given, gets what `run()` returned once it succeeded (on the event loop).
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called outside the daemon's loop (start-up, a tool): nothing to stall
            self._run_now(_Write(what, run, key, after))
            return
        queued = next((w for w in self._queue if key is not None and w.key == key), None)
        if queued is not None:  # the newer version takes the queued one's place
            queued.what, queued.run, queued.after = what, run, after
        else:
            self._queue.append(_Write(what, run, key, after))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain(), name=f"{self.name} writes")

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def flush(self) -> dict[str, str]:
        """Wait for every write handed over so far; the failures still standing (key -> error)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)  # a cancelled caller never cancels the writes
        return dict(self._failed)

    async def _drain(self) -> None:
        while self._queue:
            w = self._queue.popleft()
            try:
                result = await asyncio.to_thread(w.run)
            except Exception as exc:
                self._failure(w, exc)
            else:
                self._done(w, result)

    def _run_now(self, w: _Write) -> None:
        try:
            result = w.run()
        except Exception as exc:
            self._failure(w, exc)
        else:
            self._done(w, result)

    def _done(self, w: _Write, result: Any) -> None:
        self._failed.pop(w.key or w.what, None)
        if w.after is not None:
            try:
                w.after(result)
            except Exception:
                log.exception("%s: after %s", self.name, w.what)

    def _failure(self, w: _Write, exc: Exception) -> None:
        # A store error says what failed without secrets; anything else only by its type.
        text = str(exc) if isinstance(exc, SchemadError) else type(exc).__name__
        self._failed[w.key or w.what] = text
        log.error("%s: cannot %s: %s", self.name, w.what, text)
