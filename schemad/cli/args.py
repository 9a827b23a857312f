"""Command-line parsing with Skeema's rules (mybase style).

`--name=value`, `--name value`, `--skip-name`, `--loose-name`, `-x value`,
`-xvalue`, stacked boolean short flags (`-1q`), and value-optional options
(`-p` alone means "prompt"; a password must be attached: `-pX`,
`--password=X`).  Unknown options are a ConfigError (exit 78).  The result is a
plain mapping handed to `Config.with_cli`; no validation of values here.

`-p secret` (with a space) is Skeema's trap: `-p` prompts and `secret`
becomes the environment name.  `ParsedArgs.password_then_positional` marks
it so the command can refuse it without ever showing that argument.
"""

from __future__ import annotations

from dataclasses import field

from schemad.errors import ConfigError
from schemad.fs.registry import OptionDef, OptionRegistry, OptionType, normalize_token
from schemad.records import dataclass


@dataclass(slots=True)
class ParsedArgs:
    options: dict[str, str | None] = field(default_factory=dict)  # canonical name -> value (None: bare)
    positionals: list[str] = field(default_factory=list)
    help: bool = False
    password_then_positional: bool = False  # a bare -p/--password directly followed by a positional


def _lookup(registry: OptionRegistry, command: str, name: str) -> OptionDef | None:
    opt = registry.find(name)
    if opt is None or command not in opt.commands:
        return None
    return registry.find(opt.alias_of) if opt.alias_of else opt


def parse_args(command: str, argv: list[str], registry: OptionRegistry) -> ParsedArgs:
    out = ParsedArgs()
    i = 0
    bare_password = False  # the previous argument was -p / --password without a value
    while i < len(argv):
        arg = argv[i]
        i += 1
        after_bare_password, bare_password = bare_password, False
        if arg == "--":
            out.positionals += argv[i:]
            break
        if arg in ("--help", "-?"):
            out.help = True
            continue
        if arg.startswith("--"):
            token, eq, value = arg[2:].partition("=")
            norm = normalize_token(token)
            opt = _lookup(registry, command, norm.name)
            if opt is None:
                if norm.loose:
                    continue
                raise ConfigError(f"unknown option --{token} for command {command}")
            if norm.negated:
                if eq:
                    raise ConfigError(f"option --{token} does not take a value")
                out.options[opt.name] = "0" if opt.type is OptionType.BOOL else ""
            elif eq:
                out.options[opt.name] = value
            elif opt.type is OptionType.BOOL:
                out.options[opt.name] = "1"
            elif opt.value_optional:
                out.options[opt.name] = None
                bare_password = opt.name == "password"
            else:
                if i >= len(argv):
                    raise ConfigError(f"option --{token} requires a value")
                out.options[opt.name] = argv[i]
                i += 1
            continue
        if arg.startswith("-") and len(arg) > 1:
            j = 1
            while j < len(arg):
                short = arg[j]
                opt = registry.by_short(command, short)
                if opt is None:
                    raise ConfigError(f"unknown option -{short} for command {command}")
                opt = registry.find(opt.alias_of) if opt.alias_of else opt
                assert opt is not None
                rest = arg[j + 1 :]
                if opt.type is OptionType.BOOL:
                    out.options[opt.name] = "1"
                    j += 1
                    continue
                if rest:
                    out.options[opt.name] = rest
                elif opt.value_optional:
                    out.options[opt.name] = None
                    bare_password = opt.name == "password"
                else:
                    if i >= len(argv):
                        raise ConfigError(f"option -{short} requires a value")
                    out.options[opt.name] = argv[i]
                    i += 1
                break
            continue
        out.positionals.append(arg)
        out.password_then_positional |= after_bare_password
    return out
