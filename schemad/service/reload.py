"""A configuration reload (SIGHUP): re-read the file the daemon was started with, then apply it.

`ConfigReloader` holds the configuration in force: the start-up one until a
reload replaces it.  A file that can't be read, or is not a valid
configuration, changes nothing: the running configuration stays.  What the
command line set at start (listen address, embedded server, state dir)
stays as well, and so do the listeners: a TLS listener only reads its
certificate and key again (from the paths the new file gives its address) and
serves them from the next handshake on.  In-flight requests and jobs keep the
objects they already hold, so nothing is dropped; new requests see the new
configuration.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

from schemad.daemon_config import DaemonConfig
from schemad.errors import SchemadError
from schemad.listen_tls import ServerTls, reload_all
from schemad.service.daemon import Daemon
from schemad.service.systemd import Notifier

__all__ = ["ConfigReloader"]

log = logging.getLogger(__name__)


class ConfigReloader:
    """The configuration in force, and how a reload replaces it; see the module docstring."""

    def __init__(self, config: DaemonConfig) -> None:
        self.config = config
        self.reloads = 0  # successful reloads since start

    def reread(self) -> bool:
        """Re-read the configuration file; False (keeping the one in force) if there is none or it is bad."""
        old = self.config
        if old.source is None:
            log.info("SIGHUP: no configuration file to reload")
            return False
        try:
            new = DaemonConfig.load(old.source)
        except SchemadError as exc:
            log.error("SIGHUP: configuration not reloaded, keeping the running one: %s", exc)
            return False
        self.config = replace(
            new,
            listen_host=old.listen_host,
            listen_port=old.listen_port,
            embedded=old.embedded,
            state_dir=old.state_dir,
            state=old.state,  # the store is opened once, at start
        )
        self.reloads += 1
        log.info("SIGHUP: configuration reloaded from %s", old.source)
        return True

    async def reload(
        self, daemon: Daemon | None, notifier: Notifier, listeners: Mapping[str, ServerTls] | None = None
    ) -> None:
        """Re-read the file and apply it to `daemon` and the TLS `listeners` (by address).

        systemd hears RELOADING, then READY in any case.
        """
        notifier.reloading()
        try:
            if not self.reread():
                return
            if listeners:
                reload_all(listeners, {str(a): a.tls for a in self.config.listen})
            if daemon is not None:
                await daemon.reload(self.config)
        except Exception:
            log.exception("SIGHUP: reload failed; the daemon keeps running")
        finally:
            notifier.ready()
