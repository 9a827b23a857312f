"""Entry point of the `schemad` command.

Dispatches Skeema's subcommands, maps every SchemadError to Skeema's exit
codes and prints one clear line (never a traceback) for expected failures.
Command modules are imported lazily so start-up stays fast.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import sys
from collections.abc import Callable
from typing import NoReturn

from schemad.errors import EXIT_CONFIG, EXIT_FATAL, EXIT_OK, ConfigError, SchemadError

_COMMANDS = {
    "init": ("schemad.cli.commands.init", "export a live server's schemas into a new host dir"),
    "add-environment": ("schemad.cli.commands.add_environment", "add an environment to a host dir's .skeema"),
    "pull": ("schemad.cli.commands.pull", "update files from the live database"),
    "format": ("schemad.cli.commands.format", "rewrite *.sql files into canonical form"),
    "diff": ("schemad.cli.commands.diff", "print the DDL that would make the database match the files"),
    "push": ("schemad.cli.commands.push", "run the DDL that diff prints"),
    "lint": ("schemad.cli.commands.lint", "check the files against the lint rules"),
}
_SERVE_HELP = (
    "  serve            run the daemon (HTTP API); --embedded for a throwaway server\n"
    "  lsp              language server on stdio for editors (lint diagnostics, formatting)\n"
)

USAGE = (
    "usage: schemad <command> [options] [environment]\n\ncommands:\n"
    + "".join(f"  {name:<16} {summary}\n" for name, (_, summary) in _COMMANDS.items())
    + _SERVE_HELP
    + "  version          print the version\n"
    + "  help [command]   this text, or a command's description and options\n"
    + "\n`schemad <command> --help` lists the command's options.\n"
)


def main(argv: list[str] | None = None) -> int:
    """Run one command; `argv` None: the command line of a process of its own, which then ends here."""
    args = sys.argv[1:] if argv is None else argv
    try:
        code = _run(args)
    except BrokenPipeError:
        code = _stdout_closed()
    if argv is None and args[:1] not in (["serve"], ["lsp"]):
        _end_process(code)
    return code


_SIGPIPE_STATUS = 141  # what a shell reports for a program that SIGPIPE ended, as it ends Skeema


def _stdout_closed() -> int:
    """The reader of stdout went away (`schemad diff | head`): end quietly, with SIGPIPE's status.

    stdout is pointed at /dev/null first, so that nothing later fails writing or
    flushing what is left in its buffer.
    """
    import os

    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return _SIGPIPE_STATUS


def _end_process(code: int) -> NoReturn:
    """Exit without the interpreter's teardown, which frees every object one by one (~20 ms a command).

    What that teardown does that matters still happens, in its order:
    non-daemon threads are joined, atexit handlers run (logging.shutdown
    flushes log files; SSH tunnels and Docker workspaces end), and the
    standard streams are flushed.
    """
    import atexit
    import os
    import threading

    for t in threading.enumerate():
        if t is not threading.main_thread() and not t.daemon:
            t.join()
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = _stdout_closed()
    except (OSError, ValueError):
        code = code or 1  # stdout unwritable: what it held is lost, so not a success
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)


def _run(args: list[str]) -> int:
    from schemad.cli.common import VERSION, setup_logging

    if args[:1] == ["help"] and len(args) > 1:
        return _help(args[1], args[2:])
    if not args or args[0] in ("help", "--help", "-?"):
        sys.stdout.write(USAGE)
        return 0
    if args[0] in ("version", "--version"):
        sys.stdout.write(f"schemad {VERSION} (Skeema-compatible)\n")
        return 0
    command = args[0]
    setup_logging(debug="--debug" in args)
    if command == "serve":  # the daemon has its own options, not Skeema's
        from schemad.cli.commands.serve import run_serve

        try:
            return run_serve(args[1:])
        except SchemadError as exc:
            logging.getLogger("schemad").error("%s", exc)
            return exc.exit_code
    if command == "lsp":  # stdin/stdout carry the protocol; its own options too
        from schemad.cli.commands.lsp import run_lsp

        try:
            return run_lsp(args[1:])
        except SchemadError as exc:
            logging.getLogger("schemad").error("%s", exc)
            return exc.exit_code
    log = logging.getLogger("schemad")
    if command not in _COMMANDS:
        log.error("unknown command %r; see `schemad help`", command)
        return EXIT_CONFIG
    try:
        from schemad.cli.args import parse_args
        from schemad.fs.registry import SKEEMA_OPTIONS

        parsed = parse_args(command, args[1:], SKEEMA_OPTIONS)
        if parsed.help:
            return _help(command, [])
        if parsed.password_then_positional:
            # Never shown: `-p secret` would make the password the environment name.
            raise ConfigError(
                "-p/--password has no value attached, so the argument after it would be taken as the "
                "environment name (not shown: it may be a password). A password on the command line must "
                "be attached: -pSECRET or --password=SECRET; to be prompted, give the environment before -p"
            )
        run: Callable[..., int] = importlib.import_module(_COMMANDS[command][0]).run
        return run(parsed)
    except SchemadError as exc:
        log.error("%s", exc)
        return exc.exit_code
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except BrokenPipeError:
        raise  # stdout's reader went away: main() ends quietly
    except OSError as exc:
        log.error("%s", exc)
        return EXIT_FATAL
    finally:
        _close_tunnels()


def _close_tunnels() -> None:
    # A command that went through `ssh` leaves SSH connections on a background thread: they end with it.
    tunnel = sys.modules.get("schemad.connection.tunnel")
    if tunnel is not None:
        tunnel.close_all_sync()


def _help(command: str, extra: list[str]) -> int:
    """`schemad help COMMAND`: the command's description and options (serve and lsp: their own parsers')."""
    from schemad.cli.common import setup_logging

    setup_logging()
    if extra:
        logging.getLogger("schemad").error("help takes one command name; see `schemad help`")
        return EXIT_CONFIG
    if command in ("serve", "lsp"):
        try:
            return main([command, "--help"])
        except SystemExit as exc:  # argparse's --help
            return exc.code if isinstance(exc.code, int) else EXIT_OK
    if command not in _COMMANDS:
        logging.getLogger("schemad").error("unknown command %r; see `schemad help`", command)
        return EXIT_CONFIG
    from schemad.cli.help import command_help

    sys.stdout.write(command_help(command, _COMMANDS[command][1]))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
