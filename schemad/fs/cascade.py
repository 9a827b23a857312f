"""The resolved option values for one environment: Skeema's layered cascade.

Layers, lowest to highest precedence:

1. option defaults (the registry);
2. `$MYSQL_PWD`, as the default of `password`;
3. global files `/etc/skeema`, `/usr/local/etc/skeema` (injectable);
4. `~/.my.cnf`: `[mysql]` < `[client]` < `[skeema]`; the first two only give
   user/password/port/socket and the ssl-* options, `[skeema]` any option; unknown names are
   ignored and `host` is never taken from this file (it is the mysql client's);
5. `~/.skeema`;
6. each ancestor directory's `.skeema`, outermost first, down to the start dir
   (the upward climb stops at a dir containing `.git`, at `$HOME`, or at `/`);
7. each subdirectory's `.skeema` while walking down (`Config.child`);
8. the command line (`Config.with_cli`).

Within one file the sectionless lines apply and the `[<environment>]` section
overrides them; other sections are ignored.  `host` and `schema` may not come
from a global file, nor from the command line unless the command allows it.

A `Config` is immutable: `child` and `with_cli` return new ones.  It does not
expand `$VAR` in anything but `expand()`, run backtick commands or prompt for
passwords: that is `dir.Dir`'s job.
"""

from __future__ import annotations

import enum
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import field
from pathlib import Path
from types import MappingProxyType

from schemad.errors import ConfigError, OptionFileError
from schemad.fs.optionfile import QUOTES, OptionFile, OptionValue, unquote
from schemad.fs.registry import (
    SKEEMA_OPTIONS,
    OptionRegistry,
    OptionType,
    normalize_token,
    parse_bool,
    parse_enum,
    parse_int,
    parse_regex,
    parse_size,
)
from schemad.records import dataclass

__all__ = [
    "DEFAULT_GLOBAL_FILES",
    "Config",
    "ConfigSources",
    "Layer",
    "LayerKind",
    "Setting",
    "read_dir_option_file",
    "split_list",
]

log = logging.getLogger(__name__)

DEFAULT_GLOBAL_FILES: tuple[Path, ...] = (Path("/etc/skeema"), Path("/usr/local/etc/skeema"))

# What ~/.my.cnf's [client] and [mysql] sections may contribute.
_MY_CNF_CLIENT_OPTIONS = frozenset(
    {
        "user",
        "password",
        "port",
        "socket",
        "ssl-mode",
        # the TLS files, as the mysql/mariadb clients read them from [client] (relative: to ~)
        "ssl-ca",
        "ssl-cert",
        "ssl-key",
        "ssl-verify-server-cert",
        "server-public-key-path",
    }
)
# Options only a directory's .skeema may set (or the CLI of commands that allow it).
_DIR_ONLY = ("host", "schema")


class LayerKind(enum.Enum):
    DEFAULT = "default"
    MYSQL_PWD = "MYSQL_PWD"
    GLOBAL_FILE = "global file"
    MY_CNF = "~/.my.cnf"
    DIR_FILE = "dir file"
    CLI = "command line"


@dataclass(frozen=True, slots=True)
class Setting:
    """One option's value and where it came from.  The value is kept out of repr."""

    name: str
    value: str = field(repr=False)
    kind: LayerKind
    source: str  # "path:line", "command line", "default" or "$MYSQL_PWD"
    quote: str = ""  # the quote that wrapped the value in its file
    bare: bool = False  # given without a value (`password` alone = prompt)

    @property
    def env_var(self) -> str | None:
        """The variable name when the whole value is `$NAME` and may be expanded.

        As in Skeema: not for command-line values (the shell already did it) or
        `$MYSQL_PWD` (already a value), not for single-quoted or backtick values.
        """
        if self.kind in (LayerKind.CLI, LayerKind.DEFAULT, LayerKind.MYSQL_PWD) or self.quote in ("'", "`"):
            return None
        if len(self.value) >= 2 and self.value[0] == "$":
            return self.value[1:]
        return None


@dataclass(frozen=True, slots=True)
class Layer:
    """One source of values, already reduced to the selected environment."""

    kind: LayerKind
    label: str
    settings: Mapping[str, Setting]
    path: Path | None = None
    # An option file's layer keeps its file, to be reduced again for another environment.
    option_file: OptionFile | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ConfigSources:
    """Where `Config.load` looks, and what the command allows.  Injectable for tests."""

    home: Path | None = None  # None: $HOME from `environ`, else the user's home
    global_files: tuple[Path, ...] = DEFAULT_GLOBAL_FILES
    environ: Mapping[str, str] | None = None  # None: os.environ
    cli: Mapping[str, str | None] = field(default_factory=dict)  # None value = given bare
    allow_cli_host: bool = False  # init, add-environment
    allow_cli_schema: bool = False  # init
    registry: OptionRegistry = SKEEMA_OPTIONS


class Config:
    """Read-only resolved view of the cascade for one environment."""

    __slots__ = (
        "_allow_cli_host",
        "_allow_cli_schema",
        "_cli",
        "_environ",
        "_environment",
        "_layers",
        "_merged",
        "_registry",
        "_repo_base",
    )

    def __init__(
        self,
        environment: str = "production",
        *,
        layers: Sequence[Layer] = (),
        cli: Layer | None = None,
        registry: OptionRegistry = SKEEMA_OPTIONS,
        environ: Mapping[str, str] | None = None,
        repo_base: Path | None = None,
        allow_cli_host: bool = False,
        allow_cli_schema: bool = False,
    ) -> None:
        self._environment = environment
        self._layers = tuple(layers)
        self._cli = cli
        self._registry = registry
        self._environ: Mapping[str, str] = environ if environ is not None else os.environ
        self._repo_base = repo_base
        self._allow_cli_host = allow_cli_host
        self._allow_cli_schema = allow_cli_schema
        self._check_placement()
        merged: dict[str, Setting] = {}
        for opt in registry:
            if not opt.alias_of:
                merged[opt.name] = Setting(opt.name, opt.default, LayerKind.DEFAULT, "default")
        for layer in (*self._layers, *((cli,) if cli else ())):
            merged.update(layer.settings)
        self._merged: Mapping[str, Setting] = MappingProxyType(merged)

    def __repr__(self) -> str:
        return f"Config(environment={self._environment!r}, layers={len(self._layers)})"

    # ------------------------------------------------------------------ construction

    @classmethod
    def load(
        cls,
        start_dir: str | os.PathLike[str] | None,
        environment: str = "production",
        sources: ConfigSources | None = None,
        *,
        include_start_dir: bool = True,
    ) -> Config:
        """Build the cascade for `start_dir` (None: global files and CLI only)."""
        src = sources or ConfigSources()
        registry = src.registry
        environ: Mapping[str, str] = src.environ if src.environ is not None else os.environ
        cli = _cli_layer(src.cli, registry)
        layers: list[Layer] = []

        pwd = environ.get("MYSQL_PWD", "")
        if pwd:
            setting = Setting("password", pwd, LayerKind.MYSQL_PWD, "$MYSQL_PWD")
            layers.append(Layer(LayerKind.MYSQL_PWD, "$MYSQL_PWD", MappingProxyType({"password": setting})))

        for path in src.global_files:
            if path.is_file():
                of = OptionFile.read(path, registry)
                layers.append(_file_layer(of, LayerKind.GLOBAL_FILE, [(environment, None)]))

        home = _home_dir(src.home, environ)
        if home is not None:
            my_cnf = home / ".my.cnf"
            if my_cnf.is_file() and _my_cnf_enabled(layers, cli, registry):
                try:
                    of = OptionFile.read(my_cnf, registry, ignore_unknown=True)
                except OptionFileError as exc:
                    # The file belongs to the mysql client; Skeema skips it rather than failing.
                    log.warning("ignoring %s: %s", my_cnf, exc)
                else:
                    sections = [
                        ("mysql", _MY_CNF_CLIENT_OPTIONS),
                        ("client", _MY_CNF_CLIENT_OPTIONS),
                        ("skeema", None),
                    ]
                    layers.append(_file_layer(of, LayerKind.MY_CNF, sections, with_sectionless=False))
            home_skeema = home / ".skeema"
            if home_skeema.is_file():
                of = OptionFile.read(home_skeema, registry)
                layers.append(_file_layer(of, LayerKind.GLOBAL_FILE, [(environment, None)]))

        repo_base: Path | None = None
        if start_dir is not None:
            start = Path(os.path.abspath(start_dir))
            ancestors, repo_base = _climb(start, home)
            paths = [*ancestors, start] if include_start_dir else ancestors
            for d in paths:
                of_or_none = read_dir_option_file(d, repo_base, registry)
                if of_or_none is not None:
                    layers.append(_file_layer(of_or_none, LayerKind.DIR_FILE, [(environment, None)]))

        return cls(
            environment,
            layers=layers,
            cli=cli,
            registry=registry,
            environ=environ,
            repo_base=repo_base,
            allow_cli_host=src.allow_cli_host,
            allow_cli_schema=src.allow_cli_schema,
        )

    def child(self, option_file: OptionFile) -> Config:
        """This config plus a subdirectory's `.skeema` (still below the command line)."""
        layer = _file_layer(option_file, LayerKind.DIR_FILE, [(self._environment, None)])
        return self._replace(layers=(*self._layers, layer))

    def for_environment(self, environment: str) -> Config:
        """The same files and command line read for `environment` (its `[environment]` sections).

        Each `.skeema` layer (global, `~/.skeema`, the dirs') is reduced again
        from its file as read; `~/.my.cnf`, `$MYSQL_PWD` and the command line
        do not depend on the environment and stay as they are.
        """
        if environment == self._environment:
            return self
        layers = [
            _file_layer(layer.option_file, layer.kind, [(environment, None)])
            if layer.option_file is not None and layer.kind in (LayerKind.GLOBAL_FILE, LayerKind.DIR_FILE)
            else layer
            for layer in self._layers
        ]
        return Config(
            environment,
            layers=layers,
            cli=self._cli,
            registry=self._registry,
            environ=self._environ,
            repo_base=self._repo_base,
            allow_cli_host=self._allow_cli_host,
            allow_cli_schema=self._allow_cli_schema,
        )

    def with_cli(self, options: Mapping[str, str | None]) -> Config:
        """This config with command-line options added (a None value = given without value)."""
        new = _cli_layer(options, self._registry)
        if self._cli is not None:
            merged = {**self._cli.settings, **new.settings}
            new = Layer(LayerKind.CLI, "command line", MappingProxyType(merged))
        return self._replace(cli=new)

    def _replace(self, *, layers: Sequence[Layer] | None = None, cli: Layer | None = None) -> Config:
        return Config(
            self._environment,
            layers=self._layers if layers is None else layers,
            cli=cli if cli is not None else self._cli,
            registry=self._registry,
            environ=self._environ,
            repo_base=self._repo_base,
            allow_cli_host=self._allow_cli_host,
            allow_cli_schema=self._allow_cli_schema,
        )

    def _check_placement(self) -> None:
        for layer in self._layers:
            if layer.kind in (LayerKind.GLOBAL_FILE, LayerKind.MY_CNF):
                for name in _DIR_ONLY:
                    s = layer.settings.get(name)
                    if s is not None and s.value:
                        raise ConfigError(
                            f"option {name} cannot be set in global option file {s.source}; "
                            "put it in a directory's .skeema file"
                        )
        if self._cli is not None:
            allowed = {"host": self._allow_cli_host, "schema": self._allow_cli_schema}
            for name in _DIR_ONLY:
                s = self._cli.settings.get(name)
                if s is not None and s.value and not allowed[name]:
                    raise ConfigError(f"option {name} cannot be set on the command line for this command")

    # ------------------------------------------------------------------ lookups

    @property
    def environment(self) -> str:
        return self._environment

    @property
    def registry(self) -> OptionRegistry:
        return self._registry

    @property
    def environ(self) -> Mapping[str, str]:
        return self._environ

    @property
    def repo_base(self) -> Path | None:
        """The `.git` dir, else the outermost dir with a `.skeema`, else the start dir."""
        return self._repo_base

    def setting(self, name: str) -> Setting:
        """The winning value of `name` with its provenance.  KeyError for unknown names."""
        return self._merged[self._registry.canonical(name)]

    def get(self, name: str) -> str:
        return self.setting(name).value

    def is_set(self, name: str) -> bool:
        """True if any layer above the defaults (incl. `$MYSQL_PWD`) sets `name`."""
        return self.setting(name).kind is not LayerKind.DEFAULT

    def source(self, name: str) -> str:
        return self.setting(name).source

    def get_bool(self, name: str) -> bool:
        return parse_bool(self.get(name))

    def get_int(self, name: str) -> int:
        s = self.setting(name)
        return parse_int(s.value, name=s.name, source=s.source)

    def get_size(self, name: str) -> int:
        s = self.setting(name)
        return parse_size(s.value, name=s.name, source=s.source)

    def get_enum(self, name: str) -> str:
        s = self.setting(name)
        opt = self._registry[s.name]
        if opt.type is not OptionType.ENUM:
            raise TypeError(f"option {s.name} is not an enum")
        return parse_enum(s.value, opt, source=s.source)

    def get_regex(self, name: str) -> re.Pattern[str] | None:
        s = self.setting(name)
        return parse_regex(s.value, name=s.name, source=s.source)

    def get_list(self, name: str) -> list[str]:
        """Comma-separated value as a list (quote-aware, tokens trimmed, empties dropped)."""
        return split_list(self.get(name))

    def check_values(self) -> None:
        """Raise ConfigError for the first set value its option's type refuses (int, size, enum, regex).

        Checks the winning value of every option set above the defaults, so a
        mistake is reported with its source (`file:line` or the command line)
        before any work starts; the CLI runs it on the dir a command starts
        from.  `$VAR` values are left to the getters, which see the expansion.
        """
        for name, s in self._merged.items():
            if s.kind is LayerKind.DEFAULT or s.env_var is not None:
                continue
            opt = self._registry[name]
            if opt.type is OptionType.INT:
                if s.value.strip():
                    parse_int(s.value, name=name, source=s.source)
            elif opt.type is OptionType.SIZE:
                parse_size(s.value, name=name, source=s.source)
            elif opt.type is OptionType.ENUM:
                parse_enum(s.value, opt, source=s.source)
            elif opt.type is OptionType.REGEX:
                parse_regex(s.value, name=name, source=s.source)

    def expand(self, name: str) -> str:
        """The value, with a whole-value `$VAR` replaced from the environment ("" if unset)."""
        s = self.setting(name)
        var = s.env_var
        return s.value if var is None else self._environ.get(var, "")


# --------------------------------------------------------------------------- helpers


def split_list(value: str, delimiter: str = ",") -> list[str]:
    """Split on `delimiter` outside quotes and after no backslash; unquote and trim tokens."""
    tokens: list[str] = []
    buf: list[str] = []
    quote = ""
    escape = False
    for ch in value:
        if escape:
            escape = False
        elif ch == "\\":
            escape = True
        elif quote:
            if ch == quote:
                quote = ""
        elif ch in QUOTES:
            quote = ch
        elif ch == delimiter:
            tokens.append("".join(buf))
            buf = []
            continue
        buf.append(ch)
    tokens.append("".join(buf))
    out = []
    for tok in tokens:
        text = unquote(tok)[0].strip()
        if text:
            out.append(text)
    return out


def _file_layer(
    of: OptionFile,
    kind: LayerKind,
    sections: Iterable[tuple[str, frozenset[str] | None]],
    *,
    with_sectionless: bool = True,
) -> Layer:
    """Reduce a file to one layer: sectionless values, then each section (later wins).

    Each section entry carries an optional allow-list of canonical names.
    Within one section a canonical name beats its deprecated alias.
    """
    registry = of.registry
    order: list[tuple[str, frozenset[str] | None]] = [("", None)] if with_sectionless else []
    order.extend((s, allowed) for s, allowed in sections if s)
    settings: dict[str, Setting] = {}
    for section, allowed in order:
        values = of.values(section)
        # aliases first so the canonical spelling in the same section overrides them
        for name in sorted(values, key=lambda n: registry[n].alias_of == ""):
            canon = registry.canonical(name)
            if allowed is not None and canon not in allowed:
                continue
            if kind is LayerKind.MY_CNF and canon == "host":
                continue  # [client] host= is for the mysql client, never for Skeema
            settings[canon] = _setting(canon, values[name], kind, of.path)
    return Layer(kind, str(of.path), MappingProxyType(settings), of.path, of)


def _setting(name: str, ov: OptionValue, kind: LayerKind, path: Path) -> Setting:
    source = f"{path}:{ov.line}" if ov.line else str(path)
    return Setting(name, ov.value, kind, source, ov.quote, ov.bare)


def _cli_layer(options: Mapping[str, str | None], registry: OptionRegistry) -> Layer:
    settings: dict[str, Setting] = {}
    for key, raw in options.items():
        token = normalize_token(key)
        opt = registry.find(token.name)
        if opt is None:
            if token.loose:
                continue
            raise ConfigError(f'unknown option "{key}" on the command line')
        bare = False
        if token.negated:
            value = "" if raw is None or parse_bool(raw) else "1"
        elif raw is not None:
            value = raw
        elif opt.type is OptionType.BOOL:
            value = "1"
        elif opt.value_optional:
            value, bare = "", True
        else:
            raise ConfigError(f"option {opt.name} requires a value")
        canon = opt.alias_of or opt.name
        settings[canon] = Setting(canon, value, LayerKind.CLI, "command line", bare=bare)
    return Layer(LayerKind.CLI, "command line", MappingProxyType(settings))


def _my_cnf_enabled(layers: Sequence[Layer], cli: Layer, registry: OptionRegistry) -> bool:
    for layer in (cli, *reversed(layers)):
        s = layer.settings.get("my-cnf")
        if s is not None:
            return parse_bool(s.value)
    return parse_bool(registry["my-cnf"].default)


def _home_dir(home: Path | None, environ: Mapping[str, str]) -> Path | None:
    if home is not None:
        return Path(os.path.abspath(home))
    if environ.get("HOME"):
        return Path(os.path.abspath(environ["HOME"]))
    try:
        return Path.home()
    except RuntimeError:
        return None


def _climb(start: Path, home: Path | None) -> tuple[list[Path], Path]:
    """Ancestors of `start` holding a `.skeema` (outermost first) and the repo base.

    The climb stops at a dir containing `.git` (its `.skeema` still counts),
    before `$HOME` (whose `.skeema` is a global file) and at `/`.
    """
    found: list[Path] = []
    repo_base = start
    home_real = os.path.realpath(home) if home is not None else None
    for n, cur in enumerate((start, *start.parents)):
        if home_real is not None and os.path.realpath(cur) == home_real:
            break
        try:
            names = set(os.listdir(cur))
        except OSError:
            break  # unreadable: stop quietly, as Skeema does
        if n > 0 and ".skeema" in names:
            found.append(cur)
            repo_base = cur
        if ".git" in names:
            repo_base = cur
            break
    found.reverse()
    return found, repo_base


def read_dir_option_file(
    directory: Path, repo_base: Path | None, registry: OptionRegistry = SKEEMA_OPTIONS
) -> OptionFile | None:
    """`directory/.skeema` parsed, or None.  A symlink must resolve inside `repo_base`."""
    path = directory / ".skeema"
    if not os.path.lexists(path):
        return None
    if path.is_symlink():
        target = Path(os.path.realpath(path))
        base = os.path.realpath(repo_base) if repo_base is not None else None
        if base is not None and os.path.commonpath([base, target]) != base:
            raise OptionFileError("symlink points outside of its repository", file=path)
        if not target.is_file():
            raise OptionFileError("symlink does not point to a regular file", file=path)
    elif not path.is_file():
        raise OptionFileError("not a regular file", file=path)
    return OptionFile.read(path, registry)
