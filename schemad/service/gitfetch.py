"""Keep a repo checkout current: `git fetch`, then fast-forward, as managed subprocesses.

schemad reads the schema files from a local checkout.  For a repo configured
with `fetch`, a `RepoFetcher` runs `fetch_and_fast_forward` every `interval`
seconds and calls `on_updated` when HEAD moved, so the daemon re-reads the
files.  Every git command goes through `run_managed` (own process group,
timeout, cancel event, nothing left running) with GIT_TERMINAL_PROMPT=0, no
stdin and no controlling terminal, so a missing credential fails fast instead
of hanging the loop.

This module will not: merge, rebase, reset or stash (a checkout that cannot be
fast-forwarded is reported and left as it is), clone, switch branches, or
manage credentials.  git echoes remote URLs, which may carry a token, so every
error text has URL userinfo masked (`://***@`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from schemad import lazyre
from schemad.apply.runner import RunResult, WrapperFailed, run_managed
from schemad.daemon_config import FetchConfig
from schemad.plan.shellout import WrapperCommand
from schemad.records import dataclass

__all__ = ["FetchResult", "RepoFetcher", "fetch_and_fast_forward", "mask_url_credentials"]

logger = logging.getLogger("schemad.service.gitfetch")

#: Lines of git's stderr quoted in `FetchResult.error`.
ERROR_TAIL_LINES = 5
#: Longest `FetchResult.error`; longer texts keep their end, where git says what went wrong.
MAX_ERROR_CHARS = 500

_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0"}
# git, its hooks and credential helpers have no use for the database password the daemon may hold.
_GIT_UNSET = ("MYSQL_PWD",)
_GRACE = 5.0  # seconds between SIGTERM and SIGKILL for a git that overstays
_USERINFO = lazyre.compile(r"://[^/\s]+@")


def mask_url_credentials(text: str) -> str:
    """`text` with the userinfo of every URL (`://user:pass@`, `://token@`) replaced by `://***@`."""
    return _USERINFO.sub("://***@", text)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """How one fetch + fast-forward ended."""

    ok: bool
    before: str | None  # HEAD sha before the fetch; None if unborn or not known
    after: str | None  # HEAD sha after the fast-forward; None when it failed
    changed: bool  # HEAD moved (ok and before != after)
    error: str | None = None  # short, credential-masked reason when not ok


class _GitFailed(Exception):
    """One git step failed; the message is what ends up in `FetchResult.error`."""


@dataclass(frozen=True, slots=True)
class _Git:
    """Runs `git -C <path> ...` steps against one shared deadline."""

    path: Path
    deadline: float  # loop time by which every step must be done
    timeout: float  # the whole budget, for messages
    cancel: asyncio.Event | None

    async def run(self, args: str, what: str, variables: dict[str, str] | None = None) -> RunResult:
        remaining = self.deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise _GitFailed(f"{what}: timed out after {self.timeout:g}s")
        # from_template shell-quotes every variable value.
        cmd = WrapperCommand.from_template(
            "git -C {DIR} " + args, {"DIR": str(self.path), **(variables or {})}, secret_names=()
        )
        try:
            result = await run_managed(
                cmd, timeout=remaining, grace=_GRACE, cancel=self.cancel, env=_GIT_ENV, unset_env=_GIT_UNSET
            )
        except WrapperFailed as exc:  # /bin/sh could not be started
            raise _GitFailed(f"{what}: {exc}") from exc
        if result.timed_out:
            raise _GitFailed(f"{what}: timed out after {self.timeout:g}s")
        if result.cancelled:
            raise _GitFailed(f"{what}: cancelled")
        return result

    async def head(self) -> str | None:
        """HEAD's sha, or None on an unborn branch."""
        result = await self.run("rev-parse --verify --quiet HEAD", "git rev-parse HEAD")
        if result.exit_code == 1:  # a repo, but HEAD points at no commit yet
            return None
        if not result.ok:
            raise _GitFailed(_failure("git rev-parse HEAD", result))
        out = [line.text.strip() for line in result.lines if line.stream == "stdout"]
        return out[0] if out and out[0] else None


def _failure(what: str, result: RunResult) -> str:
    errs = [line.text.strip() for line in result.lines if line.stream == "stderr" and line.text.strip()]
    tail = "; ".join(errs[-ERROR_TAIL_LINES:]) or "no output"
    return f"{what} failed (exit {result.exit_code}): {tail}"


def _short_error(text: str) -> str:
    text = mask_url_credentials(text)
    return text if len(text) <= MAX_ERROR_CHARS else "..." + text[-(MAX_ERROR_CHARS - 3) :]


async def fetch_and_fast_forward(
    path: Path, ref: str, *, timeout: float = 120.0, cancel: asyncio.Event | None = None
) -> FetchResult:
    """`git fetch --prune`, then `git merge --ff-only <ref>`, in the checkout at `path`.

    `timeout` bounds all steps together; setting `cancel` stops the running
    step.  Never raises for git's failures (not a repo, network, diverged
    history, timeout, cancel): those give `ok=False` with a short `error`.
    """
    if not ref or ref.startswith("-"):
        return FetchResult(ok=False, before=None, after=None, changed=False, error=f"invalid ref {ref!r}")
    git = _Git(path, asyncio.get_running_loop().time() + timeout, timeout, cancel)
    before: str | None = None
    try:
        before = await git.head()
        fetched = await git.run("fetch --quiet --prune", "git fetch")
        if not fetched.ok:
            raise _GitFailed(_failure("git fetch", fetched))
        what = f"fast-forward to {ref}"
        merged = await git.run("merge --ff-only --quiet {REF}", what, {"REF": ref})
        if not merged.ok:
            raise _GitFailed(_failure(what, merged))
        after = await git.head()
    except _GitFailed as exc:
        return FetchResult(ok=False, before=before, after=None, changed=False, error=_short_error(str(exc)))
    return FetchResult(ok=True, before=before, after=after, changed=after != before)


class RepoFetcher:
    """Fetches one repo every `config.interval` seconds; calls `on_updated` when HEAD moved.

    Failures are logged and counted, never raised out of `run`.  Times come
    from `clock` (`time.time` by default).
    """

    def __init__(
        self,
        name: str,
        path: Path,
        config: FetchConfig,
        on_updated: Callable[[], Awaitable[None]],
        *,
        timeout: float = 120.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.path = path
        self.config = config
        self.on_updated = on_updated
        self.timeout = timeout  # per round, all git steps together
        self._clock = clock
        self.failures = 0  # failed rounds (git or on_updated) since start
        self.last_error: str | None = None  # why the last round failed; None after a success
        self.last_success: float | None = None  # clock time of the last successful fetch
        self.last_result: FetchResult | None = None

    async def fetch_once(self, cancel: asyncio.Event | None = None) -> FetchResult:
        """One round: fetch, fast-forward, call `on_updated` if HEAD moved.  Never raises."""
        extra = {"repo": self.name}
        try:
            result = await fetch_and_fast_forward(
                self.path, self.config.ref, timeout=self.timeout, cancel=cancel
            )
        except Exception as exc:  # a bug, not git failing: keep the loop alive
            logger.exception("git fetch of repo %s crashed", self.name, extra=extra)
            result = FetchResult(
                ok=False, before=None, after=None, changed=False, error=_short_error(f"crashed: {exc!r}")
            )
        self.last_result = result
        if not result.ok:
            if cancel is not None and cancel.is_set():
                return result  # stopped on purpose: not a failure
            self._failed(result.error or "unknown error")
            logger.warning("git fetch of repo %s failed: %s", self.name, result.error, extra=extra)
            return result
        self.last_success = self._clock()
        self.last_error = None
        if result.changed:
            logger.info(
                "repo %s fast-forwarded %s -> %s",
                self.name,
                (result.before or "(none)")[:12],
                (result.after or "(none)")[:12],
                extra=extra,
            )
            try:
                await self.on_updated()
            except Exception as exc:
                self._failed(_short_error(f"on_updated failed: {exc}"))
                logger.exception("on_updated of repo %s failed", self.name, extra=extra)
        return result

    async def run(self, stop: asyncio.Event) -> None:
        """Fetch now and then every `config.interval` seconds until `stop` is set."""
        while not stop.is_set():
            await self.fetch_once(stop)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.config.interval)

    def _failed(self, error: str) -> None:
        self.failures += 1
        self.last_error = error
