"""Render lint findings for people, scripts, code scanning and GitHub Actions.

One :class:`Annotation` per finding (a rule's note, a workspace SQL error, a
statement that could not be parsed), rendered as Skeema-style text lines, a
JSON document, a SARIF 2.1.0 log, or GitHub workflow commands
(``::error file=…,line=…::…``).

Pure: values in, strings and dicts out.  It does not decide which findings
exist, make paths relative, or print anything; the caller hands over paths
already relative to the repository root (any OS separator) and writes the
result where it belongs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from schemad.lint.options import Severity
from schemad.records import dataclass

__all__ = [
    "INFORMATION_URI",
    "SARIF_SCHEMA_URI",
    "SARIF_VERSION",
    "SQL_ERROR",
    "UNPARSED",
    "Annotation",
    "OutputFormat",
    "github_commands",
    "render",
    "sarif_log",
    "text_line",
    "to_json",
]

#: Rule name of a statement the server rejected in the workspace (always an error).
SQL_ERROR = "sql-error"
#: Rule name of a statement the splitter could not classify (Skeema: "Unable to parse statement").
UNPARSED = "unparsed"

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/os/schemas/sarif-schema-2.1.0.json"
#: Where code-scanning UIs link the tool name; a placeholder until schemad has a public home page.
INFORMATION_URI = "https://pypi.org/project/schemad/"

# Descriptions of the findings that are not lint rules (the rules' own come from the caller).
_BUILTIN_DESCRIPTIONS = {
    SQL_ERROR: "SQL error from the workspace: the server rejected the statement",
    UNPARSED: "statement that could not be parsed; left as is",
}


class OutputFormat(StrEnum):
    """The values of the `output` option."""

    TEXT = "text"  #: `file:line:col: [severity] rule: message`, logged (STDERR)
    JSON = "json"  #: one JSON document on STDOUT
    SARIF = "sarif"  #: a SARIF 2.1.0 log on STDOUT (code scanning)
    GITHUB = "github"  #: GitHub Actions workflow commands on STDOUT (inline PR annotations)


@dataclass(frozen=True, slots=True)
class Annotation:
    """One finding, placed in a file."""

    file: str  # relative to the repository root; a dir when the finding has no statement
    line: int | None  # 1-based; None: the whole file or dir
    column: int | None  # 1-based; None: unknown (SQL errors only know the line)
    rule: str  # rule name without `lint-`, or SQL_ERROR / UNPARSED
    severity: Severity  # WARNING or ERROR (ignored rules never make findings)
    message: str

    @property
    def rule_id(self) -> str:
        """The rule's option name, `lint-<rule>`: the id in SARIF and the title of a GitHub annotation."""
        return f"lint-{self.rule}"

    @property
    def where(self) -> str:
        """`file:line:col`, dropping what is unknown."""
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


def _posix(path: str) -> str:
    return path.replace("\\", "/")


def _counts(annotations: Sequence[Annotation]) -> tuple[int, int]:
    errors = sum(1 for a in annotations if a.severity is Severity.ERROR)
    return errors, len(annotations) - errors


# --------------------------------------------------------------------------- text


def text_line(a: Annotation) -> str:
    """`file:line:col: [severity] rule: message`, the line `schemad lint` logs (Skeema's layout)."""
    return f"{a.where}: [{a.severity}] {a.rule}: {a.message}"


# --------------------------------------------------------------------------- json


def to_json(
    annotations: Sequence[Annotation], *, version: str, reformatted: Sequence[str] = ()
) -> dict[str, Any]:
    """The JSON document: every finding, the counts, and the files lint reformatted."""
    errors, warnings = _counts(annotations)
    return {
        "tool": "schemad",
        "version": version,
        "errors": errors,
        "warnings": warnings,
        "findings": [
            {
                "file": _posix(a.file),
                "line": a.line,
                "column": a.column,
                "rule": a.rule,
                "severity": str(a.severity),
                "message": a.message,
            }
            for a in annotations
        ],
        "reformatted": [_posix(p) for p in reformatted],
    }


# --------------------------------------------------------------------------- sarif


def _uri(path: str) -> str:
    # A relative URI reference: forward slashes, everything else that is not URI-safe escaped.
    return quote(_posix(path), safe="/-._~!$&'()*+,;=@")


def sarif_log(
    annotations: Sequence[Annotation],
    *,
    version: str,
    descriptions: Mapping[str, str] | None = None,
    information_uri: str = INFORMATION_URI,
) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run of the `schemad` driver.

    `descriptions` maps a rule name (without `lint-`) to its one-line summary;
    only the rules that fired are described, in order of first appearance.
    Locations are relative to ``%SRCROOT%`` (the checkout), as code scanning expects.
    """
    given = {**_BUILTIN_DESCRIPTIONS, **(descriptions or {})}
    rule_index: dict[str, int] = {}
    rules: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for a in annotations:
        if a.rule not in rule_index:
            rule_index[a.rule] = len(rules)
            rules.append(
                {
                    "id": a.rule_id,
                    "name": a.rule,
                    "shortDescription": {"text": given.get(a.rule) or a.rule_id},
                }
            )
        physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(a.file), "uriBaseId": "%SRCROOT%"}}
        if a.line is not None:
            region: dict[str, int] = {"startLine": a.line}
            if a.column is not None:
                region["startColumn"] = a.column
            physical["region"] = region
        results.append(
            {
                "ruleId": a.rule_id,
                "ruleIndex": rule_index[a.rule],
                "level": "error" if a.severity is Severity.ERROR else "warning",
                "message": {"text": a.message},
                "locations": [{"physicalLocation": physical}],
            }
        )
    driver = {"name": "schemad", "version": version, "informationUri": information_uri, "rules": rules}
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [{"tool": {"driver": driver}, "results": results}],
    }


# --------------------------------------------------------------------------- github


def _escape_data(text: str) -> str:
    # actions/toolkit command.ts escapeData: the message may not hold a raw newline.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    # escapeProperty: as escapeData, plus the separators of the property list.
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_commands(annotations: Iterable[Annotation]) -> list[str]:
    """One `::error …::message` / `::warning …::message` workflow command per finding."""
    out: list[str] = []
    for a in annotations:
        props = [f"file={_escape_property(_posix(a.file))}"]
        if a.line is not None:
            props.append(f"line={a.line}")
            if a.column is not None:
                props.append(f"col={a.column}")
        props.append(f"title={_escape_property(a.rule_id)}")
        command = "error" if a.severity is Severity.ERROR else "warning"
        out.append(f"::{command} {','.join(props)}::{_escape_data(a.message)}")
    return out


# --------------------------------------------------------------------------- dispatch


def render(
    fmt: OutputFormat,
    annotations: Sequence[Annotation],
    *,
    version: str,
    descriptions: Mapping[str, str] | None = None,
    reformatted: Sequence[str] = (),
) -> str:
    """The whole output of `fmt` as one string ending in a newline ("" for text with no findings)."""
    if fmt is OutputFormat.TEXT:
        lines = [text_line(a) for a in annotations]
    elif fmt is OutputFormat.JSON:
        lines = [json.dumps(to_json(annotations, version=version, reformatted=reformatted), indent=2)]
    elif fmt is OutputFormat.SARIF:
        lines = [json.dumps(sarif_log(annotations, version=version, descriptions=descriptions), indent=2)]
    else:
        lines = github_commands(annotations)
    return "".join(line + "\n" for line in lines)
