"""Parse and write one Skeema option file (`.skeema`, `/etc/skeema`, `~/.my.cnf`).

The syntax is mybase's my.cnf dialect:

* `name=value`, whitespace around `=` and the value trimmed; `_` in names is `-`;
* bare `name`: true for bools; "no value given" for value-optional options
  (`password` = prompt); an error for options that need a value;
* `skip-name` / `disable-name` = false ("" for strings), `skip-name=0` = true;
  `enable-name` = `name`; `loose-` prefix: unknown names are silently ignored;
* `# comment` at line start or inline outside quotes (`\\#` is a literal `#`),
  `; comment` at line start; `[section]` headers;
* a value wrapped whole in `'`, `"` or `` ` `` is unquoted and backslash-unescaped;
  the quote character is kept (`OptionValue.quote`) because it changes meaning:
  backticks mean "run this command", single quotes and backticks disable `$VAR`;
* a UTF-8 BOM at the start is dropped.

`OptionFile.render()` produces Skeema's rewrite form: comments dropped,
sectionless keys first, then each section in file order, keys sorted, one
blank line between sections, false bools and empty strings as `skip-name`.

This module knows nothing about environments' precedence across files or
`$VAR` expansion (see `config`), and does not interpret values beyond
bool normalisation.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import field
from pathlib import Path

from schemad.errors import CannotCreateError, ConfigError, OptionFileError
from schemad.fs.registry import SKEEMA_OPTIONS, OptionRegistry, OptionType, normalize_token, parse_bool
from schemad.records import dataclass

__all__ = ["QUOTES", "OptionFile", "OptionValue", "unquote"]

QUOTES = "'\"`"
_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class OptionValue:
    """One value as written in a file.  `value` is kept out of repr (it may be a password)."""

    value: str = field(repr=False)
    line: int = 0  # 0 = set programmatically
    quote: str = ""  # the quote that wrapped the whole value, if any
    bare: bool = False  # written as `name` with no `=`

    @property
    def is_command(self) -> bool:
        """Backtick-wrapped: the value is a shell command whose output is the real value."""
        return self.quote == "`"


def unquote(text: str) -> tuple[str, str]:
    """Strip one pair of quotes wrapping all of `text` and unescape `\\x` inside.

    Returns (value, quote); quote is "" when `text` is not wholly quoted (then
    the text is returned stripped but otherwise unchanged).
    """
    text = text.strip()
    if len(text) < 2 or text[0] not in QUOTES or text[-1] != text[0]:
        return text, ""
    quote = text[0]
    out: list[str] = []
    escape = False
    for ch in text[1:-1]:
        if escape:
            out.append(ch)
            escape = False
        elif ch == "\\":
            escape = True
        elif ch == quote:
            return text, ""  # closes early: `'a'b'` is not one quoted value
        else:
            out.append(ch)
    if escape:  # the closing quote was escaped
        return text, ""
    return "".join(out), quote


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    value: OptionValue
    loose: bool


@dataclass(frozen=True, slots=True)
class _Header:
    section: str


class _LineError(Exception):
    """A malformed line; turned into OptionFileError with file and line by the caller."""


def _strip_comment(line: str) -> str:
    """Cut an inline `#` comment, honouring quotes and backslash escapes in the value."""
    in_value = False
    quote = ""
    escape = False
    for i, ch in enumerate(line):
        if escape:
            escape = False
            continue
        if ch == "#" and not quote:
            return line[:i]
        if not in_value:
            if ch == "=":
                in_value = True
            elif ch in QUOTES or ch == "\\":
                raise _LineError(f"illegal character {ch} in option name")
            continue
        if ch in QUOTES:
            if ch == quote:
                quote = ""
            elif not quote:
                quote = ch
        elif ch == "\\":
            escape = True
    if quote:
        raise _LineError("quoted value has no terminating quote")
    if escape:
        raise _LineError("value ends in a single backslash")
    return line


def _parse_line(line: str, lineno: int) -> _Entry | _Header | None:
    text = line.lstrip()
    if not text or text[0] in "#;":
        return None
    if text[0] == "[":
        end = text.find("]")
        hash_at = text.find("#")
        if end == -1 or -1 < hash_at < end:
            raise _LineError("unterminated section header")
        rest = text[end + 1 : hash_at] if hash_at != -1 else text[end + 1 :]
        if rest.strip():
            raise _LineError("extra characters after section header")
        return _Header(text[1:end])
    text = _strip_comment(text)
    key, sep, raw = text.partition("=")
    token = normalize_token(key)
    if not token.name:
        raise _LineError("missing option name")
    if not sep:
        # No "=": a negation is an explicit false/empty value, otherwise "bare".
        ov = OptionValue("", lineno) if token.negated else OptionValue("", lineno, bare=True)
    elif token.negated:
        # `skip-x=0` is a double negative, i.e. true.
        ov = OptionValue("" if parse_bool(unquote(raw)[0]) else "1", lineno)
    else:
        value, quote = unquote(raw)
        if not quote:
            value = value.replace("\\#", "#")  # the one escape unquoted values have
        ov = OptionValue(value, lineno, quote)
    return _Entry(token.name, ov, token.loose)


class OptionFile:
    """The sections and values of one option file (mutable, for rewriting)."""

    __slots__ = ("_registry", "_sections", "path")

    def __init__(self, path: str | os.PathLike[str], registry: OptionRegistry = SKEEMA_OPTIONS) -> None:
        self.path = Path(path)
        self._registry = registry
        # "" = the sectionless part, always first; dicts keep file order.
        self._sections: dict[str, dict[str, OptionValue]] = {"": {}}

    def __repr__(self) -> str:
        return f"OptionFile({str(self.path)!r})"

    # ------------------------------------------------------------------ reading

    @classmethod
    def parse(
        cls,
        text: str,
        path: str | os.PathLike[str],
        registry: OptionRegistry = SKEEMA_OPTIONS,
        *,
        ignore_unknown: bool = False,
    ) -> OptionFile:
        """Parse `text`; `path` is only used in messages and as the default write target.

        `ignore_unknown` is for `~/.my.cnf`: unknown names and `!include`
        directives are skipped instead of being errors.
        """
        of = cls(path, registry)
        text = text.removeprefix(_BOM)
        section = of._sections[""]
        for lineno, line in enumerate(text.split("\n"), start=1):
            line = line.removesuffix("\r")
            if ignore_unknown and line.lstrip().startswith("!"):
                continue
            try:
                item = _parse_line(line, lineno)
            except _LineError as exc:
                raise OptionFileError(str(exc), file=of.path, line=lineno) from None
            if item is None:
                continue
            if isinstance(item, _Header):
                section = of._sections.setdefault(item.section, {})
                continue
            opt = registry.find(item.name)
            if opt is None:
                if item.loose or ignore_unknown:
                    continue
                raise OptionFileError(f'unknown option "{item.name}"', file=of.path, line=lineno)
            value = item.value
            if value.bare:
                if opt.requires_value:
                    raise OptionFileError(f"option {opt.name} requires a value", file=of.path, line=lineno)
                if opt.type is OptionType.BOOL:
                    value = OptionValue("1", lineno, bare=True)
            section.pop(opt.name, None)  # a repeated key moves to its latest position
            section[opt.name] = value
        return of

    @classmethod
    def read(
        cls,
        path: str | os.PathLike[str],
        registry: OptionRegistry = SKEEMA_OPTIONS,
        *,
        ignore_unknown: bool = False,
    ) -> OptionFile:
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise OptionFileError(f"cannot read option file: {exc.strerror or exc}", file=p) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            # Where, never which byte: the line may hold a password.
            line = data.count(b"\n", 0, exc.start) + 1
            column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            message = f"not valid UTF-8 (at byte {column} of the line)"
            raise OptionFileError(message, file=p, line=line) from None
        return cls.parse(text, p, registry, ignore_unknown=ignore_unknown)

    # ------------------------------------------------------------------ queries

    @property
    def registry(self) -> OptionRegistry:
        return self._registry

    def get(self, name: str, section: str | None = None) -> OptionValue | None:
        """The value written in exactly `section` ("" / None = sectionless)."""
        values = self._sections.get(section or "")
        return None if values is None else values.get(self._key(name))

    def lookup(self, name: str, environment: str) -> OptionValue | None:
        """The value in effect for `environment`: its section overrides the sectionless part."""
        env_value = self.get(name, environment) if environment else None
        return env_value if env_value is not None else self.get(name)

    def values(self, section: str | None = None) -> dict[str, OptionValue]:
        """A copy of one section's values (empty if the section does not exist)."""
        return dict(self._sections.get(section or "", {}))

    def has_section(self, name: str) -> bool:
        return bool(name) and name in self._sections

    def sections(self) -> list[str]:
        """Named sections in file order."""
        return [s for s in self._sections if s]

    def sections_with(self, name: str) -> list[str]:
        """Sections ("" = sectionless) that set `name`."""
        key = self._key(name)
        return [s for s, values in self._sections.items() if key in values]

    # ------------------------------------------------------------------ editing

    def set(self, name: str, value: str | bool | int, section: str | None = None, *, quote: str = "") -> None:
        """Set `name` in `section` (created if missing).  Bools become "1" / ""."""
        key = self._key(name)
        text = ("1" if value else "") if isinstance(value, bool) else str(value)
        if "\n" in text or "\r" in text:
            raise ConfigError(f"option {key}: value must be a single line")
        if quote not in ("", *QUOTES):
            raise ValueError(f"invalid quote {quote!r}")
        sec = section or ""
        if any(c in sec for c in "[]\n\r"):
            raise ConfigError(f"invalid section name {sec!r}")
        values = self._sections.setdefault(sec, {})
        values[key] = OptionValue(text, 0, quote)

    def unset(self, name: str, section: str | None = None) -> bool:
        """Remove `name` from `section`; True if it was there."""
        values = self._sections.get(section or "")
        return values is not None and values.pop(self._key(name), None) is not None

    def _key(self, name: str) -> str:
        opt = self._registry.find(name)
        if opt is None:
            raise ConfigError(f'unknown option "{name}"')
        return opt.name

    # ------------------------------------------------------------------ writing

    def render(self) -> str:
        """The file as Skeema rewrites it (see module docstring)."""
        groups: list[str] = []
        for section, values in self._sections.items():
            if not section and not values:
                continue
            lines = [f"[{section}]"] if section else []
            lines.extend(self._render_entry(name, values[name]) for name in sorted(values))
            groups.append("\n".join(lines))
        return "\n\n".join(groups) + "\n" if groups else ""

    def _render_entry(self, name: str, ov: OptionValue) -> str:
        opt = self._registry.find(name)
        if opt is not None and opt.type is OptionType.BOOL:
            return name if parse_bool(ov.value) else f"skip-{name}"
        if ov.bare:
            return name
        if ov.value == "" and not ov.quote:
            return f"skip-{name}"
        return f"{name}={_render_value(ov)}"

    def write(self, path: str | os.PathLike[str] | None = None) -> None:
        """Write `render()` atomically (temp file in the same dir, then rename)."""
        target = Path(path) if path is not None else self.path
        content = self.render().encode("utf-8")
        replacing = True
        try:
            mode = target.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode, replacing = 0o644, False
        except OSError as exc:
            raise CannotCreateError(f"cannot write {target}: {exc.strerror or exc}") from None
        tmp_name = ""
        try:
            import tempfile  # only writers need it (and its random/hashlib imports)

            fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
                if replacing:
                    # The old file must survive a crash whole or be replaced whole.  A new
                    # file (init, add-environment's new dir) has nothing to lose: no fsync,
                    # which costs more than writing every .sql file of a small schema.
                    fh.flush()
                    os.fsync(fh.fileno())
            os.chmod(tmp_name, mode)
            os.replace(tmp_name, target)
            tmp_name = ""
        except OSError as exc:
            raise CannotCreateError(f"cannot write {target}: {exc.strerror or exc}") from None
        finally:
            if tmp_name:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name)


def _render_value(ov: OptionValue) -> str:
    """Quote only when needed for the value to read back identically."""
    if ov.quote:
        return _quoted(ov.value, ov.quote)
    text = ov.value
    try:
        parsed = _parse_line(f"x={text}", 1)
    except _LineError:
        parsed = None
    if isinstance(parsed, _Entry) and parsed.value.value == text and not parsed.value.quote:
        return text
    # Double quotes keep the meaning of an unquoted value (`$VAR` still expands).
    return _quoted(text, '"')


def _quoted(value: str, quote: str) -> str:
    return quote + value.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote
