"""`schemad <command> --help` / `schemad help <command>`: a command's description and its options.

The options come from the registry (`schemad.fs.registry.SKEEMA_OPTIONS`):
which commands take them, their group, short flag, default and description,
so help can't drift from what the parser accepts.  They are grouped as
Skeema's --help groups them: the command's own options first, then the
other groups by name, global options last.  What each command does, and its
exit codes, is written here.
"""

from __future__ import annotations

import textwrap

from schemad.fs.registry import SKEEMA_OPTIONS, HelpEntry, OptionRegistry, OptionType

__all__ = ["DESCRIPTIONS", "command_help"]

_ENVIRONMENT = (
    'The environment argument (default "production") selects the [environment] section of every '
    ".skeema file; sectionless lines always apply."
)

# What each command does and what its exit codes mean (Skeema's codes: 0 ok, 1 differences/warnings,
# 2 errors, 73 cannot create, 78 bad configuration).
DESCRIPTIONS: dict[str, str] = {
    "init": (
        "Export the schemas of a live server into a new host dir: a .skeema holding the connection "
        "settings in the environment's section (host, port or socket, flavor; never a password), one "
        "subdir per schema with its own .skeema (schema name, default character set and collation), and "
        "one <name>.sql file per object holding the server's SHOW CREATE. --host is required on the "
        "command line. System schemas, the temp schema and ignore-schema matches are left out; --schema "
        "exports a single schema into the host dir itself.\n\n"
        + _ENVIRONMENT
        + "\n\nExit codes: 0 done; 2 the server could not be reached or read; 73 a dir or file could not "
        "be created; 78 bad options, no --host, or a dir that already holds a .skeema or *.sql files."
    ),
    "add-environment": (
        "Add an [environment] section to an existing host dir's .skeema (--dir, default the current dir): "
        "the --host given on the command line (required), its port or socket, and the server's flavor "
        "when it can be reached. Only that file is edited.\n\n"
        "Exit codes: 0 done; 78 bad options, no environment name or --host, a dir that is not a host dir, "
        "or a section that already exists."
    ),
    "pull": (
        "Rewrite the *.sql files of every schema dir below the current dir from the live database: "
        "changed objects in place, new objects in new files, dropped objects removed (a dir whose schema "
        "no longer exists is emptied). Files of unchanged objects keep their bytes. With new-schemas "
        "(default on) a host dir also gets a subdir for each schema of its server that no dir maps.\n\n"
        + _ENVIRONMENT
        + "\n\nExit codes: 0 done; 2 a dir failed (connection or server error); 78 bad options. A dir "
        "whose .skeema can't be read is skipped (78) and the other dirs are still pulled."
    ),
    "format": (
        "Run each schema dir's CREATE statements in a temporary schema on its server and rewrite every "
        "statement the server prints differently, so the files hold its canonical SHOW CREATE form. "
        "--skip-write only reports the statements that would change.\n\n"
        + _ENVIRONMENT
        + "\n\nExit codes: 0 every statement canonical; 1 a file was rewritten (or would be, with "
        "--skip-write), or a statement failed in the workspace; 2 a dir could not be processed; 78 bad "
        "options."
    ),
    "diff": (
        "Print on STDOUT the DDL that push would run to make the live schemas match the *.sql files "
        "(-- instance: once per server, USE per schema, then the statements); logs go to STDERR. "
        "Statements that can lose data are refused unless --allow-unsafe or --safe-below-size; the "
        "objects being changed are linted (--skip-lint to turn off). --brief prints only the servers "
        "that differ.\n\n"
        + _ENVIRONMENT
        + "\n\nExit codes: 0 no differences; 1 differences; 2 a target was skipped (unsafe statements, "
        "lint errors, statements the server rejects, a dir whose .skeema can't be read, a server that "
        "can't be reached); 78 bad options on the command line or in the current dir's .skeema."
    ),
    "push": (
        "Run on each server and schema the DDL that diff prints, making the live schemas match the *.sql "
        "files. Statements that can lose data skip their whole target unless --allow-unsafe or "
        "--safe-below-size. A push holds a lock per schema: a second push to it waits up to "
        "--push-lock-timeout seconds.\n\n"
        + _ENVIRONMENT
        + "\n\nExit codes: 0 done; 1 a table using features schemad cannot alter was skipped; 2 a target "
        "was skipped or a statement failed; 78 bad options on the command line or in the current dir's "
        ".skeema."
    ),
    "lint": (
        "Run every schema dir's CREATE statements in a temporary schema on its server and check the result "
        "against the lint rules; each lint-* option sets its rule to ignore, warning or error, and a "
        "statement the server rejects is always an error. Like format, lint also rewrites statements into "
        "canonical form unless --skip-format. --output json, sarif or github prints one report on STDOUT "
        "instead of log lines.\n\n"
        + _ENVIRONMENT
        + "\n\nExit codes: 0 clean; 1 warnings only, or files reformatted; 2 errors; 78 bad options (a "
        "lint-* value other than ignore, warning or error), or a dir with no host to run its statements "
        "on."
    ),
}


def _title(group: str, command: str) -> str:
    """`SQL generation` -> `SQL Generation Options`; a command's own: `Add-Environment Options`."""
    words = (group or command).split()
    return " ".join("-".join(p[:1].upper() + p[1:] for p in w.split("-")) for w in words) + " Options"


def _usage_name(entry: HelpEntry) -> str:
    opt = entry.option
    if opt.type is OptionType.BOOL:
        return f"[skip-]{opt.name}" if entry.default else opt.name
    if opt.value_optional:
        return f"{opt.name}[=value]"
    return f"{opt.name} value"


def _text(entry: HelpEntry) -> str:
    opt = entry.option
    parts = [entry.description]
    if opt.type is OptionType.ENUM and opt.choices:
        parts.append("(valid values: " + ", ".join(f'"{c}"' for c in opt.choices) + ")")
    if opt.type is OptionType.BOOL and entry.default:
        parts.append(f"(enabled by default; disable with --skip-{opt.name})")
    elif opt.type is not OptionType.BOOL and entry.default:
        parts.append(f'(default "{entry.default}")')
    if opt.deprecated:
        parts.append("(deprecated)")
    return " ".join(p for p in parts if p)


def command_help(command: str, summary: str, registry: OptionRegistry = SKEEMA_OPTIONS) -> str:
    """The --help text of one of Skeema's commands."""
    arg = "<environment>" if command == "add-environment" else "[<environment>]"
    out = [f"Usage:  schemad {command} [<options>] {arg}", "", summary[:1].upper() + summary[1:] + "."]
    for paragraph in DESCRIPTIONS[command].split("\n\n"):
        out += ["", textwrap.fill(paragraph, 80, break_on_hyphens=False)]
    groups = registry.help_groups(command)
    width = max((len(_usage_name(e)) for _, entries in groups for e in entries), default=0)
    for group, entries in groups:
        out += ["", f"{_title(group, command)}:"]
        for e in entries:
            short = f"-{e.option.short}," if e.option.short else ""
            out.append(f"  {short:>3} --{_usage_name(e):<{width}}  {_text(e)}")
    return "\n".join(out) + "\n"
