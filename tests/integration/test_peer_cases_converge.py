"""Issue 12, points 2, 3 and 7 (part): cases from a peer tool's suite that schemad did not converge on.

Each case loads a live schema, writes a Skeema-layout repo, and runs the CLI as
a user would: `push --allow-unsafe`, then `diff` must exit 0 (nothing left to
do), and every object's live SHOW CREATE must equal what the workspace makes
of the files (the canonical form the diff compared against).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemad.cli.main import main
from schemad.connection.instance import Instance
from schemad.introspect.introspector import introspect_schema
from schemad.model.tabletext import strip_auto_increment
from schemad.sqltext.splitter import StatementKind, split
from schemad.workspace.tempschema import exec_statements
from tests.conftest import DBServer
from tests.helpers import load_sql

pytestmark = pytest.mark.db

SCHEMA = "peer_app"
OTHER = "peer_other"  # another schema a view may read (left as written)
CHARSET = ("utf8mb4", "utf8mb4_general_ci")


def _files(schema_dir: Path) -> list:  # type: ignore[type-arg]
    return [
        s
        for f in sorted(schema_dir.glob("*.sql"))
        for s in split(f.read_text(), str(f))
        if s.kind is StatementKind.CREATE
    ]


def _texts(schema_objects: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {str(k): strip_auto_increment(o.show_create) for k, o in schema_objects.items()}


async def _live_and_workspace(server: DBServer, schema_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    async with Instance(server.params) as inst:
        live = await introspect_schema(inst, SCHEMA)
    ws = await exec_statements(
        server.params,
        _files(schema_dir),
        schema_name=SCHEMA,
        char_set=CHARSET[0],
        collation=CHARSET[1],
        home=(SCHEMA,),
    )
    assert not ws.failures, ws.failures
    assert not any(o.unsupported for o in ws.schema.objects().values() if hasattr(o, "unsupported"))
    return _texts(live.objects()), _texts(ws.schema.objects())


@contextlib.contextmanager
def repo(
    server: DBServer, root: Path, monkeypatch: pytest.MonkeyPatch, before: str, files: dict[str, str]
) -> Iterator[Path]:
    """The live schema loaded with `before`; a repo at `root` (the cwd) with `files`; its schema dir."""
    drop = f"DROP DATABASE IF EXISTS {SCHEMA}; DROP DATABASE IF EXISTS {OTHER}"
    asyncio.run(
        load_sql(
            server.params,
            None,
            f"{drop}; CREATE DATABASE {SCHEMA} CHARACTER SET {CHARSET[0]} COLLATE {CHARSET[1]};"
            f" CREATE DATABASE {OTHER}; CREATE TABLE {OTHER}.ref (id int NOT NULL PRIMARY KEY, label text)",
        )
    )
    try:
        asyncio.run(load_sql(server.params, SCHEMA, before))
        p = server.params
        (root / ".skeema").write_text(f"[production]\nhost={p.host}\nport={p.port}\nuser={p.user}\n")
        schema_dir = root / SCHEMA
        schema_dir.mkdir()
        (schema_dir / ".skeema").write_text(
            f"schema={SCHEMA}\ndefault-character-set={CHARSET[0]}\ndefault-collation={CHARSET[1]}\n"
        )
        for name, text in files.items():
            (schema_dir / f"{name}.sql").write_text(text)
        monkeypatch.chdir(root)
        yield schema_dir
    finally:
        asyncio.run(load_sql(server.params, None, drop))


def converges(server: DBServer, schema_dir: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """push, then a clean diff, then live == workspace; the pushed SQL."""
    assert main(["push", "--allow-unsafe"]) == 0
    pushed = capsys.readouterr().out
    assert main(["diff"]) == 0, capsys.readouterr()
    live, workspace = asyncio.run(_live_and_workspace(server, schema_dir))
    assert live == workspace
    return pushed


# ///// 2. HASH and KEY partitioning without a partition list ////////////////////////////////////

KEY = "(id int NOT NULL PRIMARY KEY)"
PARTITIONED = {
    "hash_implicit": "CREATE TABLE hash_implicit (id int NOT NULL, user_id int NOT NULL,"
    " PRIMARY KEY (id, user_id)) PARTITION BY HASH (user_id);\n",
    "linear_hash": f"CREATE TABLE linear_hash {KEY} PARTITION BY LINEAR HASH (id);\n",
    "key_implicit": f"CREATE TABLE key_implicit {KEY} PARTITION BY KEY ();\n",
    "linear_key": f"CREATE TABLE linear_key {KEY} PARTITION BY LINEAR KEY (id);\n",
    "hash_count": f"CREATE TABLE hash_count {KEY} PARTITION BY HASH (id) PARTITIONS 4;\n",
    "key_count": f"CREATE TABLE key_count {KEY} PARTITION BY LINEAR KEY (id) PARTITIONS 3;\n",
    "hash_one": f"CREATE TABLE hash_one {KEY} PARTITION BY HASH (id) PARTITIONS 1;\n",
    "sub_implicit": f"CREATE TABLE sub_implicit {KEY} PARTITION BY RANGE (id)"
    " SUBPARTITION BY HASH (id)"
    " (PARTITION p0 VALUES LESS THAN (10), PARTITION p1 VALUES LESS THAN MAXVALUE);\n",
    # an existing unpartitioned table gets partitioned (an ALTER, partitioning=keep allows it)
    "existing": f"CREATE TABLE existing {KEY} PARTITION BY KEY (id);\n",
}


def test_hash_and_key_partitioning_without_a_list_converges(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = f"CREATE TABLE existing {KEY};\n"
    with repo(server, tmp_path, monkeypatch, before, PARTITIONED) as schema_dir:
        pushed = converges(server, schema_dir, capsys)
        # Each table was created as the file declared it: no partition list added.
        assert "(PARTITION `p0` ENGINE" not in pushed
        assert " PARTITION BY HASH (`user_id`);" in pushed
        assert " PARTITION BY KEY ();" in pushed
        assert "ALTER TABLE `existing` PARTITION BY KEY (`id`);" in pushed
        assert "\nPARTITIONS 1;" in pushed


# ///// 3. Views whose SELECT names their own schema /////////////////////////////////////////////

USERS = "CREATE TABLE users (id int NOT NULL PRIMARY KEY, name varchar(20) NOT NULL DEFAULT '');\n"
POSTS = "CREATE TABLE posts (id int NOT NULL PRIMARY KEY, user_id int NOT NULL, title varchar(50));\n"
FUNC = "CREATE FUNCTION twice(a int) RETURNS int DETERMINISTIC RETURN a * 2;\n"
VIEWS = {
    "users": USERS,
    "posts": POSTS,
    "twice": FUNC,
    "user_posts": f"CREATE VIEW user_posts AS SELECT u.name, p.title FROM {SCHEMA}.users u"
    f" JOIN {SCHEMA}.posts p ON p.user_id = u.id;\n",
    "busy": f"CREATE VIEW busy AS\nSELECT {SCHEMA}.users.id, `{SCHEMA}`.twice({SCHEMA}.users.id) AS d\n"
    f"FROM `{SCHEMA}` . users\nWHERE {SCHEMA}.users.id IN (SELECT user_id FROM {SCHEMA}.posts);\n",
    "on_view": f"CREATE VIEW on_view AS SELECT name FROM {SCHEMA}.user_posts;\n",
    "elsewhere": f"CREATE VIEW elsewhere AS SELECT r.label FROM {OTHER}.ref r"
    f" JOIN {SCHEMA}.users u ON u.id = r.id;\n",
    # reads another schema with its own tables unqualified: the server qualifies them all
    "elsewhere_bare": f"CREATE VIEW elsewhere_bare AS SELECT u.name FROM {OTHER}.ref r"
    " JOIN users u USING (id);\n",
}


def test_view_naming_its_own_schema_converges_and_reads_the_workspace(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The live `users` has no `name` yet: a workspace view reading the live schema would fail on it.
    before = "CREATE TABLE users (id int NOT NULL PRIMARY KEY);\n"
    with repo(server, tmp_path, monkeypatch, before, VIEWS) as schema_dir:
        pushed = converges(server, schema_dir, capsys)
        mixed = [line for line in pushed.splitlines() if f"`{OTHER}`" in line]
        # The canonical form: own-schema names bare, unless the view also reads another schema
        # (then the server qualifies every table, with the live schema's name, never the temp one's).
        assert len(mixed) == 2 and all(f"`{OTHER}`.`ref` `r` join `{SCHEMA}`.`users` `u`" in m for m in mixed)
        assert f"`{SCHEMA}`" not in pushed.replace(f"USE `{SCHEMA}`;", "").replace(mixed[0], "").replace(
            mixed[1], ""
        )
        assert "_skeema_tmp" not in pushed
        live, _ = asyncio.run(_live_and_workspace(server, schema_dir))
        assert "from (`users` `u` join `posts` `p`" in live["view `user_posts`"]


def test_own_schema_view_diffs_clean_against_a_live_view_created_from_the_file(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The live view was made by running the file itself (qualified names): nothing to do."""
    files = {k: VIEWS[k] for k in ("users", "posts", "user_posts")}
    with repo(server, tmp_path, monkeypatch, "".join(files.values()), files) as schema_dir:
        assert main(["diff"]) == 0, capsys.readouterr()
        live, workspace = asyncio.run(_live_and_workspace(server, schema_dir))
        assert live == workspace


# ///// 7 (part). CHECK names that differ in case; the index of an unnamed FK ////////////////////

CHECKED = "CREATE TABLE checked (id int NOT NULL PRIMARY KEY, qty int, {} CHECK (qty > 0));\n"


def test_check_renamed_in_letter_case_converges(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = CHECKED.format("CONSTRAINT chk_qty")
    files = {"checked": CHECKED.format("CONSTRAINT Chk_Qty")}
    with repo(server, tmp_path, monkeypatch, before, files) as schema_dir:
        pushed = converges(server, schema_dir, capsys)
        assert "DROP CONSTRAINT `chk_qty`, ADD CONSTRAINT `Chk_Qty` CHECK (`qty` > 0);" in pushed


PARENTS = (
    "CREATE TABLE users (id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY);\n"
    "CREATE TABLE admins (id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY);\n"
)
POSTS_FK = (
    "CREATE TABLE posts (id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, author_id bigint unsigned,"
    " editor_id bigint unsigned, FOREIGN KEY (author_id) REFERENCES {}(id),"
    " FOREIGN KEY (editor_id) REFERENCES users(id) ON DELETE {});\n"
)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (("users", "RESTRICT"), ("admins", "RESTRICT")),  # the parent changes
        (("users", "RESTRICT"), ("users", "CASCADE")),  # an action changes
        (("users", "RESTRICT"), ("admins", "SET NULL")),  # both FKs
    ],
)
def test_unnamed_fk_keeps_the_index_name_a_fresh_table_gets(
    before: tuple[str, str],
    after: tuple[str, str],
    server: DBServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """MariaDB names an unnamed FK's index after its column; re-adding the FK must not rename it."""
    files = {"users": PARENTS.splitlines()[0] + "\n", "admins": PARENTS.splitlines()[1] + "\n"}
    files["posts"] = POSTS_FK.format(*after)
    with repo(server, tmp_path, monkeypatch, PARENTS + POSTS_FK.format(*before), files) as schema_dir:
        converges(server, schema_dir, capsys)
        live, _ = asyncio.run(_live_and_workspace(server, schema_dir))
        assert "  KEY `author_id` (`author_id`),\n  KEY `editor_id` (`editor_id`),\n" in live["table `posts`"]
