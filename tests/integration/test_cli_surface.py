"""The CLI as a user meets it, run as a subprocess against the real test server.

A bad `.skeema` in one schema dir skips that dir only; the command line and
the start dir stay fatal (78).  `--help` lists each command's options.
Skeema's INFO lines on STDERR say what happened, STDOUT holds only DDL.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from schemad.cli.args import parse_args
from schemad.fs.registry import SKEEMA_OPTIONS, OptionType
from tests.conftest import DBServer
from tests.helpers import load_sql

SCHEMAS = ("surf_a", "surf_b", "surf_c")
EXTRA = "CREATE TABLE extra (id int NOT NULL, PRIMARY KEY (id));\n"


def cli(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`schemad ARGS` in `cwd`, stdin not a terminal, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "schemad", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=300,
    )


@dataclass
class Repo:
    server: DBServer
    host: Path  # the host dir written by init; one subdir per schema
    init: subprocess.CompletedProcess[str] | None = None

    @property
    def address(self) -> str:
        return f"{self.server.params.host}:{self.server.params.port}"

    @property
    def env(self) -> dict[str, str]:
        pw = self.server.params.password
        return {"MYSQL_PWD": pw} if pw else {}

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return cli(cwd or self.host, *args, env=self.env)

    def dir(self, schema: str) -> Path:
        return self.host / schema

    def sql(self, text: str) -> None:
        asyncio.run(load_sql(self.server.params, None, text))


@pytest.fixture
def repo(server: DBServer, tmp_path: Path) -> Iterator[Repo]:
    """Three schemas with one table each, exported by `schemad init` into tmp_path/host."""
    r = Repo(server, tmp_path / "host")
    drop = "".join(f"DROP DATABASE IF EXISTS {s};" for s in SCHEMAS)
    r.sql(drop + "".join(f"CREATE DATABASE {s}; CREATE TABLE {s}.t (id int PRIMARY KEY);" for s in SCHEMAS))
    p = server.params
    init = cli(
        tmp_path,
        *("init", "-h", p.host, "-P", str(p.port), "-u", p.user, "--dir", "host"),
        "--ignore-schema=^(?!surf_)",
        env=r.env,
    )
    assert init.returncode == 0, init.stderr
    assert sorted(d.name for d in r.host.iterdir() if d.is_dir()) == list(SCHEMAS)
    r.init = init
    yield r
    r.sql(drop)


def break_option_file(d: Path, line: str) -> str:
    """Append `line` to d/.skeema; return `path:lineno` of it."""
    f = d / ".skeema"
    text = f.read_text()
    f.write_text(text + line + "\n")
    return f"{f}:{text.count(chr(10)) + 1}"


# ------------------------------------------------------------------ 1. a bad subdir .skeema


@pytest.mark.parametrize("bad", ["alow-unsafe=1", "port=notanumber"])
def test_bad_subdir_option_file_skips_that_dir_only_in_diff(repo: Repo, bad: str) -> None:
    for s in SCHEMAS:
        (repo.dir(s) / "extra.sql").write_text(EXTRA)
    where = break_option_file(repo.dir("surf_b"), bad)
    run = repo.run("diff")
    assert run.returncode == 2, run.stderr
    # The other dirs' diff is printed in full; the broken dir's is not.
    assert "USE `surf_a`;\nCREATE TABLE `extra`" in run.stdout
    assert "USE `surf_c`;\nCREATE TABLE `extra`" in run.stdout
    assert "surf_b" not in run.stdout
    errors = [line for line in run.stderr.splitlines() if "[ERROR]" in line]
    assert len(errors) >= 1 and any(f"{where}: " in line for line in errors), run.stderr
    assert any(f"Skipping {repo.dir('surf_b')}: " in line for line in errors)


def test_bad_subdir_option_file_skips_that_dir_only_in_push(repo: Repo) -> None:
    for s in SCHEMAS:
        (repo.dir(s) / "extra.sql").write_text(EXTRA)
    where = break_option_file(repo.dir("surf_b"), "alow-unsafe=1")
    run = repo.run("push")
    assert run.returncode == 2, run.stderr
    assert f'{where}: unknown option "alow-unsafe"' in run.stderr
    # pushed to the others, not to the broken one
    assert repo.run("diff", cwd=repo.dir("surf_a")).returncode == 0
    assert repo.run("diff", cwd=repo.dir("surf_c")).returncode == 0
    (repo.dir("surf_b") / ".skeema").write_text("schema=surf_b\n")
    assert repo.run("diff", cwd=repo.dir("surf_b")).returncode == 1


def test_bad_subdir_option_file_skips_that_dir_only_in_lint_format_pull(repo: Repo) -> None:
    """lint, format and pull go on with the other dirs; the exit code is Skeema's for these (78)."""
    nopk = "CREATE TABLE nopk (a int);\n"
    for s in SCHEMAS:
        (repo.dir(s) / "nopk.sql").write_text(nopk)
    where = break_option_file(repo.dir("surf_b"), "alow-unsafe=1")

    lint = repo.run("lint", "--skip-format")
    assert lint.returncode == 78, lint.stderr
    assert f'{where}: unknown option "alow-unsafe"' in lint.stderr
    for s, linted in (("surf_a", True), ("surf_b", False), ("surf_c", True)):
        assert (f"{repo.dir(s) / 'nopk.sql'}:1:1: [warning] pk:" in lint.stderr) is linted, lint.stderr

    fmt = repo.run("format")
    assert fmt.returncode == 78, fmt.stderr
    assert (repo.dir("surf_a") / "nopk.sql").read_text() != nopk  # rewritten to the server's form
    assert (repo.dir("surf_c") / "nopk.sql").read_text() != nopk
    assert (repo.dir("surf_b") / "nopk.sql").read_text() == nopk

    pull = repo.run("pull")
    assert pull.returncode == 78, pull.stderr
    assert not (repo.dir("surf_a") / "nopk.sql").exists()  # not on the server: removed by pull
    assert not (repo.dir("surf_c") / "nopk.sql").exists()
    assert (repo.dir("surf_b") / "nopk.sql").read_text() == nopk
    assert "alow-unsafe=1" in (repo.dir("surf_b") / ".skeema").read_text()  # new-schemas never overwrote it


@pytest.mark.parametrize("command", ["diff", "push", "lint", "format", "pull"])
@pytest.mark.parametrize(
    ("where", "bad", "message"),
    [
        ("top", "alow-unsafe=1", 'unknown option "alow-unsafe"'),
        ("top", "port=notanumber", "option port: 'notanumber' is not an integer"),
        ("cli", "--alow-unsafe", "unknown option --alow-unsafe"),
        ("cli", "--port=notanumber", "command line: option port: 'notanumber' is not an integer"),
    ],
)
def test_bad_top_dir_or_command_line_option_is_fatal(
    repo: Repo, command: str, where: str, bad: str, message: str
) -> None:
    for s in SCHEMAS:
        (repo.dir(s) / "extra.sql").write_text(EXTRA)
    args = [command]
    if where == "top":
        loc = break_option_file(repo.host, bad)
        message = f"{loc}: {message}"
    else:
        args.append(bad)
    run = repo.run(*args)
    assert run.returncode == 78, run.stderr
    assert run.stdout == ""
    assert message in run.stderr
    assert all((repo.dir(s) / "extra.sql").read_text() == EXTRA for s in SCHEMAS)  # nothing rewritten


# ------------------------------------------------------------------ 2. help


def option_lines(text: str) -> dict[str, list[str]]:
    """Options listed by a --help text, by group title: `--name` of each option line."""
    groups: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if line.endswith(" Options:"):
            current = line[: -len(" Options:")]
            groups[current] = []
        elif current and line.startswith("  ") and "--" in line:
            name = line.split("--", 1)[1].split()[0].replace("[skip-]", "").replace("[=value]", "")
            groups[current].append(name)
    return groups


# What each command's --help must list (as Skeema lists it) and must not.
HELP = {
    "init": (
        {"host", "port", "socket", "dir", "schema", "include-auto-inc", "user", "password"},
        {"temp-schema"},
    ),
    "add-environment": ({"host", "port", "socket", "dir", "user"}, {"schema", "temp-schema"}),
    "pull": ({"format", "new-schemas", "update-partitioning", "no-cache", "temp-schema"}, {"host", "port"}),
    "format": ({"write", "strip-partitioning", "no-cache", "workspace"}, {"format", "host"}),
    "diff": (
        {"allow-unsafe", "brief", "safe-below-size", "no-cache", "alter-wrapper", "lint-pk", "verify"},
        {"dry-run", "foreign-key-checks", "push-lock-timeout", "host", "port"},
    ),
    "push": (
        {"allow-unsafe", "safe-below-size", "dry-run", "push-lock-timeout", "no-cache", "lint"},
        {"brief", "host"},
    ),
    "lint": ({"output", "format", "lint-pk", "allow-engine", "no-cache"}, {"allow-unsafe", "lint", "host"}),
}


@pytest.mark.parametrize("command", sorted(HELP))
def test_help_lists_the_commands_options_grouped(tmp_path: Path, command: str) -> None:
    flag = cli(tmp_path, command, "--help")
    named = cli(tmp_path, "help", command)
    assert flag.returncode == named.returncode == 0, flag.stderr + named.stderr
    assert flag.stdout == named.stdout and flag.stderr == ""
    text = flag.stdout
    arg = "<environment>" if command == "add-environment" else "[<environment>]"
    assert text.startswith(f"Usage:  schemad {command} [<options>] {arg}\n")
    assert "Exit codes: 0 " in text
    groups = option_lines(text)
    listed = [name for names in groups.values() for name in names]
    must, must_not = HELP[command]
    assert must <= set(listed), must - set(listed)
    assert not must_not & set(listed), must_not & set(listed)
    assert len(listed) == len(set(listed))
    # Skeema's order: the command's own options first (if any), global options last.
    titles = list(groups)
    assert titles[-1] == "Global" and "user" in groups["Global"]
    own = "Add-Environment" if command == "add-environment" else command.title()
    assert own not in titles[1:]
    # Every option listed is one the command's parser accepts.
    for name in listed:
        value = [] if SKEEMA_OPTIONS[name].type is OptionType.BOOL else ["x"]
        parsed = parse_args(command, [f"--{name}", *value], SKEEMA_OPTIONS)
        assert name in parsed.options


def test_diff_and_push_help_groups_and_defaults(tmp_path: Path) -> None:
    diff = cli(tmp_path, "diff", "--help").stdout
    groups = option_lines(diff)
    assert list(groups) == [
        "External Tool",
        "SQL Generation",
        "Linter Rule",
        "Safety",
        "Sharding",
        "Workspace",
        "Global",
    ]
    assert {"allow-unsafe", "safe-below-size", "verify"} <= set(groups["Safety"])
    assert "brief" in groups["Sharding"] and "no-cache" in groups["Workspace"]
    lines = {line.split("--", 1)[1].split()[0]: line for line in diff.splitlines() if line.startswith("  ")}
    assert "-q, --brief " in diff and "-x, --alter-wrapper value " in diff
    assert "(enabled by default; disable with --skip-verify)" in lines["[skip-]verify"]
    assert '(default "0")' in lines["safe-below-size"]
    push = cli(tmp_path, "push", "--help").stdout
    assert "--push-lock-timeout value " in push and '(default "30")' in push
    fmt = cli(tmp_path, "format", "--help").stdout
    assert "disable with --skip-write" in fmt
    lint = cli(tmp_path, "lint", "--help").stdout
    assert '"text", "json", "sarif", "github"' in lint and "Format Options:" in lint
    init = cli(tmp_path, "init", "--help").stdout
    assert '(default "<hostname>")' in init and "-h, --host value " in init


@pytest.mark.parametrize(
    ("command", "options"), [("serve", ["--listen", "--embedded"]), ("lsp", ["--daemon"])]
)
def test_serve_and_lsp_help(tmp_path: Path, command: str, options: list[str]) -> None:
    flag = cli(tmp_path, command, "--help")
    named = cli(tmp_path, "help", command)
    assert flag.returncode == named.returncode == 0
    assert flag.stdout == named.stdout
    assert all(o in flag.stdout for o in options)


def test_help_of_an_unknown_command_is_78(tmp_path: Path) -> None:
    run = cli(tmp_path, "help", "pusj")
    assert run.returncode == 78 and "unknown command 'pusj'" in run.stderr and run.stdout == ""
    top = cli(tmp_path, "help")
    assert top.returncode == 0 and "help [command]" in top.stdout and "--help" in top.stdout


# ------------------------------------------------------------------ 3. what happened, on STDERR


def info(run: subprocess.CompletedProcess[str]) -> list[str]:
    """The messages of the INFO lines on STDERR (without time stamp and level)."""
    return [line.split("[INFO]  ", 1)[1] for line in run.stderr.splitlines() if "[INFO]  " in line]


def test_clean_diff_says_so(repo: Repo) -> None:
    run = repo.run("diff")
    assert run.returncode == 0 and run.stdout == "", run.stderr
    expected: list[str] = []
    for s in SCHEMAS:
        expected += [
            f"Generating diff of {repo.address} {s} vs {repo.dir(s)}/*.sql",
            f"{repo.address} {s}: No differences found",
        ]
    assert info(run) == expected
    assert "[WARNING]" not in run.stderr and "[ERROR]" not in run.stderr


def test_diff_prints_the_instance_once_and_logs_the_rest(repo: Repo) -> None:
    for s in ("surf_a", "surf_c"):
        (repo.dir(s) / "extra.sql").write_text(EXTRA)
    run = repo.run("diff")
    assert run.returncode == 1, run.stderr
    assert run.stdout.count("-- instance: ") == 1  # one server, two schemas
    assert run.stdout.startswith(f"-- instance: {repo.address}\nUSE `surf_a`;\nCREATE TABLE `extra`")
    assert "\nUSE `surf_c`;\nCREATE TABLE `extra`" in run.stdout
    assert "[INFO]" not in run.stdout and "Generating" not in run.stdout  # STDOUT: DDL only
    lines = info(run)
    assert f"{repo.address} surf_a: diff complete" in lines
    assert f"{repo.address} surf_b: No differences found" in lines
    brief = repo.run("diff", "--brief")
    assert brief.returncode == 1 and brief.stdout == f"{repo.address}\n"
    assert info(brief) == []  # as Skeema: --brief shows the server list, no progress


def test_push_says_what_it_pushed(repo: Repo) -> None:
    (repo.dir("surf_b") / "extra.sql").write_text(EXTRA)
    run = repo.run("push")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"-- instance: {repo.address}\nUSE `surf_b`;\nCREATE TABLE `extra`")
    lines = info(run)
    assert f"Pushing changes from {repo.dir('surf_b')}/*.sql to {repo.address} surf_b" in lines
    assert f"{repo.address} surf_b: push complete" in lines
    assert f"{repo.address} surf_a: No differences found" in lines
    assert lines.index(f"{repo.address} surf_b: push complete") > lines.index(
        f"Pushing changes from {repo.dir('surf_b')}/*.sql to {repo.address} surf_b"
    )
    again = repo.run("diff")
    assert again.returncode == 0 and f"{repo.address} surf_b: No differences found" in info(again)


def test_lint_names_each_dir_and_sums_up(repo: Repo) -> None:
    clean = repo.run("lint")
    assert clean.returncode == 0, clean.stderr
    assert info(clean) == [f"Linting {repo.host}", *(f"Linting {repo.dir(s)}" for s in SCHEMAS)]
    assert "Found" not in clean.stderr  # Skeema says nothing more when all is clean

    (repo.dir("surf_a") / "nopk.sql").write_text("CREATE TABLE nopk (a int);\n")
    (repo.dir("surf_c") / "nopk.sql").write_text("CREATE TABLE nopk (a int);\n")
    warned = repo.run("lint", "--skip-format")
    assert warned.returncode == 1
    assert warned.stderr.rstrip().endswith("[WARNING]  Found 2 warnings")
    errors = repo.run("lint", "--skip-format", "--lint-pk=error")
    assert errors.returncode == 2
    assert errors.stderr.rstrip().endswith("[ERROR]  Found 2 errors")
    (repo.dir("surf_c") / "nopk.sql").write_text("CREATE TABLE nopk (a int PRIMARY KEY) ENGINE=MyISAM;\n")
    both = repo.run("lint", "--skip-format", "--lint-pk=error")
    assert both.returncode == 2
    assert both.stderr.rstrip().endswith("[ERROR]  Found 1 error and 1 warning")


def test_file_writes_are_logged_with_their_size(repo: Repo) -> None:
    assert repo.init is not None
    created = [line for line in info(repo.init) if line.startswith("Created ")]
    files = sorted(repo.host.glob("*/*.sql"))
    assert len(files) == 3
    assert sorted(created) == sorted(f"Created {f} ({f.stat().st_size} bytes)" for f in files)

    hand = repo.dir("surf_a") / "extra.sql"
    hand.write_text("create table   extra (id int not null, primary key (id));\n")
    fmt = repo.run("format")
    assert fmt.returncode == 1, fmt.stderr
    assert f"Reformatting {repo.dir('surf_a')}" in info(fmt)
    assert f"Wrote {hand} ({hand.stat().st_size} bytes)" in info(fmt)
    assert hand.read_text().startswith("CREATE TABLE `extra`")

    pull = repo.run("pull")  # extra is not on the server: pull removes its file
    assert pull.returncode == 0, pull.stderr
    assert f"Updating {repo.dir('surf_a')} to reflect {repo.address} surf_a" in info(pull)
    assert f"Deleted {hand}" in info(pull)


# ------------------------------------------------------------------ 5. exit codes

NOPK = "CREATE TABLE nopk (a int);\n"


def _write(rel: str, text: str) -> Callable[[Repo], None]:
    def setup(r: Repo) -> None:
        p = r.host / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)

    return setup


def _append(rel: str, line: str) -> Callable[[Repo], None]:
    def setup(r: Repo) -> None:
        break_option_file(r.host / rel, line)

    return setup


def _unreachable(r: Repo) -> None:
    f = r.host / ".skeema"
    f.write_text(f.read_text().replace(f"port={r.server.params.port}", "port=1"))


def _no_host(r: Repo) -> None:
    """A schema dir outside any host dir: files, a schema name, no host for the environment."""
    d = r.host.parent / "nohost"
    d.mkdir()
    (d / ".skeema").write_text("schema=surf_a\n")
    (d / "t.sql").write_text("CREATE TABLE t (id int PRIMARY KEY);\n")


def _nothing(r: Repo) -> None:
    pass


def _both(*setups: Callable[[Repo], None]) -> Callable[[Repo], None]:
    def setup(r: Repo) -> None:
        for s in setups:
            s(r)

    return setup


# (command line, setup, dir it runs in relative to the host dir, expected exit code): Skeema's rules from
# ../shared/reference/skeema.md (0 ok, 1 differences/warnings/reformatted, 2 fatal or anything skipped,
# 73 cannot create, 78 bad configuration), per command.
EXIT_CODES: list[tuple[str, str, Callable[[Repo], None], str, int]] = [
    # init
    ("init ok", "init -h {host} -P {port} -u {user} --dir new --ignore-schema=^(?!surf_)", _nothing, "..", 0),
    ("init without --host", "init --dir new", _nothing, "..", 78),
    ("init bad environment name", "init -h {host} -P {port} --dir new bad]env", _nothing, "..", 78),
    ("init into a dir with .skeema", "init -h {host} -P {port} -u {user} --dir host", _nothing, "..", 78),
    (
        "init --schema absent",
        "init -h {host} -P {port} -u {user} --dir new --schema nope",
        _nothing,
        "..",
        78,
    ),
    (
        "init cannot create dir",
        "init -h {host} -P {port} -u {user} --dir afile/new",
        _write("../afile", ""),
        "..",
        73,
    ),
    ("init unreachable", "init -h 127.0.0.1 -P 1 --dir new", _nothing, "..", 2),
    ("init unknown option", "init -h {host} --bogus", _nothing, "..", 78),
    # add-environment
    ("add-environment ok", "add-environment staging -h {host} -P {port}", _nothing, ".", 0),
    ("add-environment no name", "add-environment -h {host} -P {port}", _nothing, ".", 78),
    ("add-environment no --host", "add-environment staging", _nothing, ".", 78),
    ("add-environment not a host dir", "add-environment staging -h {host}", _nothing, "surf_a", 78),
    ("add-environment section exists", "add-environment production -h {host}", _nothing, ".", 78),
    # pull
    ("pull ok", "pull", _nothing, ".", 0),
    ("pull unreachable", "pull", _unreachable, ".", 2),
    ("pull bad subdir .skeema", "pull", _append("surf_b", "alow-unsafe=1"), ".", 78),
    ("pull schema dir without host", "pull", _no_host, "../nohost", 78),
    ("pull unknown option", "pull --bogus", _nothing, ".", 78),
    # format
    ("format canonical", "format", _nothing, ".", 0),
    ("format rewrote", "format", _write("surf_a/x.sql", "create table x (id int primary key);\n"), ".", 1),
    (
        "format --skip-write",
        "format --skip-write",
        _write("surf_a/x.sql", "create table x (id int);\n"),
        ".",
        1,
    ),
    ("format SQL error", "format", _write("surf_a/bad.sql", "CREATE TABLE bad (id int,, x int);\n"), ".", 1),
    ("format no host", "format", _no_host, "../nohost", 78),
    ("format bad value", "format --temp-schema-mode=fast", _nothing, ".", 78),
    # lint
    ("lint clean", "lint", _nothing, ".", 0),
    ("lint warning", "lint", _write("surf_a/nopk.sql", NOPK), ".", 1),
    ("lint reformatted", "lint", _write("surf_a/x.sql", "create table x (id int primary key);\n"), ".", 1),
    ("lint error", "lint --lint-pk=error", _write("surf_a/nopk.sql", NOPK), ".", 2),
    ("lint SQL error", "lint", _write("surf_a/bad.sql", "CREATE TABLE bad (id int,, x int);\n"), ".", 2),
    ("lint no host", "lint", _no_host, "../nohost", 78),
    ("lint bad lint-* on the command line", "lint --lint-pk=loud", _nothing, ".", 78),
    ("lint bad lint-* in the top .skeema", "lint", _append(".", "lint-pk=loud"), ".", 78),
    (
        "lint bad lint-* in a subdir .skeema",
        "lint",
        _both(_append("surf_b", "lint-engine=loud"), _write("surf_a/nopk.sql", NOPK)),
        ".",
        78,
    ),
    ("lint bad subdir .skeema", "lint", _append("surf_b", "alow-unsafe=1"), ".", 78),
    # diff
    ("diff none", "diff", _nothing, ".", 0),
    ("diff differences", "diff", _write("surf_a/x.sql", EXTRA), ".", 1),
    ("diff unsafe skipped", "diff", lambda r: (r.host / "surf_a" / "t.sql").unlink(), ".", 2),
    ("diff unsafe allowed", "diff --allow-unsafe", lambda r: (r.host / "surf_a" / "t.sql").unlink(), ".", 1),
    ("diff SQL error", "diff", _write("surf_a/bad.sql", "CREATE TABLE bad (id int,, x int);\n"), ".", 2),
    ("diff lint error", "diff --lint-pk=error", _write("surf_a/nopk.sql", NOPK), ".", 2),
    ("diff bad subdir .skeema", "diff", _append("surf_b", "alow-unsafe=1"), ".", 2),
    ("diff bad subdir value", "diff", _append("surf_b", "port=notanumber"), ".", 2),
    ("diff bad top .skeema", "diff", _append(".", "alow-unsafe=1"), ".", 78),
    ("diff bad top value", "diff", _append(".", "alter-lock=fast"), ".", 78),
    ("diff unreachable", "diff", _unreachable, ".", 2),
    ("diff unknown option", "diff --bogus", _nothing, ".", 78),
    ("diff host on the command line", "diff -h {host}", _nothing, ".", 78),
    ("diff schema dir without host", "diff", _no_host, "../nohost", 0),  # a warning, as Skeema
    # push
    ("push ok", "push", _write("surf_a/x.sql", EXTRA), ".", 0),
    ("push unsafe skipped", "push", lambda r: (r.host / "surf_a" / "t.sql").unlink(), ".", 2),
    ("push bad subdir .skeema", "push", _append("surf_b", "alow-unsafe=1"), ".", 2),
    ("push bad value", "push --safe-below-size=big", _nothing, ".", 78),
    ("push unreachable", "push", _unreachable, ".", 2),
    # the command itself
    ("unknown command", "pusj", _nothing, ".", 78),
    ("help", "help", _nothing, ".", 0),
    ("version", "version", _nothing, ".", 0),
]


@pytest.mark.parametrize(
    ("command", "setup", "where", "code"), [row[1:] for row in EXIT_CODES], ids=[row[0] for row in EXIT_CODES]
)
def test_exit_codes(repo: Repo, command: str, setup: Callable[[Repo], None], where: str, code: int) -> None:
    setup(repo)
    p = repo.server.params
    args = [a.format(host=p.host, port=p.port, user=p.user) for a in command.split()]
    run = repo.run(*args, cwd=(repo.host / where).resolve())
    assert run.returncode == code, f"{command}: {run.returncode}\n{run.stderr}"
    if code == 78:
        assert "[ERROR]" in run.stderr  # a config error is always said
    assert "Traceback" not in run.stderr


# ------------------------------------------------------------------ 6. messages


def test_a_skipped_dir_is_named_once(repo: Repo) -> None:
    nohost = repo.host.parent / "nohost"
    _no_host(repo)
    for command in ("lint", "format", "pull"):
        run = repo.run(command, cwd=nohost)
        assert run.returncode == 78, run.stderr
        (line,) = [x for x in run.stderr.splitlines() if "no host configured" in x]
        reason = f"no host configured for environment production; {command} needs a server"
        assert line.endswith(f"[ERROR]  Skipping {nohost}: {reason}")
        assert line.count(str(nohost)) == 1
    run = repo.run("diff", cwd=nohost)
    assert run.returncode == 0 and run.stdout == ""
    assert run.stderr.rstrip().endswith(
        f"[WARNING]  Skipping {nohost}: no host configured for environment production"
    )

    f = repo.host / ".skeema"
    text = f.read_text()
    f.write_text(text.replace(f"host={repo.server.params.host}", "host=`echo nope >&2; exit 3`"))
    where = f"{f}:{text.splitlines().index(f'host={repo.server.params.host}') + 1}"
    run = repo.run("diff")
    assert run.returncode == 2, run.stderr
    lines = [x for x in run.stderr.splitlines() if "host command exited" in x]
    assert len(lines) == len(SCHEMAS)  # each schema dir inherits the host; each is skipped, named once
    for s, line in zip(SCHEMAS, lines, strict=True):
        assert line.endswith(f"Skipping {repo.dir(s)}: {where}: host command exited with status 3: nope")


@pytest.mark.parametrize(
    "args",
    [
        ["init", "-h", "{host}", "-P", "{port}", "-p", "s3cret word"],
        ["init", "-h", "{host}", "-P", "{port}", "-p", "s3cret", "staging"],
        ["init", "-h", "{host}", "--password", "s3cr]et"],
        ["add-environment", "-h", "{host}", "-p", "s3cret"],
        ["diff", "-p", "s3cret"],
        ["lint", "--password", "s3cret word"],
    ],
)
def test_password_after_p_with_a_space_is_never_shown(repo: Repo, args: list[str]) -> None:
    p = repo.server.params
    run = repo.run(*(a.format(host=p.host, port=p.port) for a in args))
    assert "s3cr" not in run.stdout + run.stderr
    assert run.returncode == 78, run.stderr
    assert "-pSECRET or --password=SECRET" in run.stderr
    assert not (repo.host.parent / p.host).exists()  # init wrote nothing
    assert "[staging]" not in (repo.host / ".skeema").read_text()


def test_bare_p_without_a_terminal(repo: Repo) -> None:
    run = repo.run("diff", "-p")
    assert run.returncode == 2, run.stderr  # each target needs the prompt; stdin is not a terminal
    assert "password prompt needed but stdin is not a terminal" in run.stderr
