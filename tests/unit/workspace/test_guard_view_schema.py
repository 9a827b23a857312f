"""Issue 12.3: a view's SELECT that names the view's own schema reads the workspace's temp schema.

The guard cuts the own-schema qualifiers out of the file's text (sqlglot only
finds them); names of any other schema are sent as written, as before.
"""

from __future__ import annotations

import pytest

from schemad.model.keys import ObjectKey, ObjectType
from schemad.sqltext.references import schema_qualifiers
from schemad.workspace.guard import Admitted, Refusal, admit

HOME = ("app",)


def _admit(body: str, home: tuple[str, ...] = HOME) -> Admitted | Refusal:
    return admit(key=ObjectKey(ObjectType.VIEW, "v"), body=body, file="app/v.sql", line=3, home=home)


@pytest.mark.parametrize(
    ("body", "sent"),
    [
        (
            "CREATE VIEW v AS SELECT u.name, p.title FROM app.users u JOIN app.posts p ON p.user_id = u.id",
            "CREATE VIEW v AS SELECT u.name, p.title FROM users u JOIN posts p ON p.user_id = u.id",
        ),
        (
            "CREATE VIEW v AS SELECT `app`.`users`.`id`, app . f(id) AS d FROM `app` . `users`",
            "CREATE VIEW v AS SELECT `users`.`id`, f(id) AS d FROM `users`",
        ),
        (  # subqueries, CTEs, a qualified view name, and a WITH CHECK OPTION after the SELECT
            "CREATE VIEW app.v AS WITH x AS (SELECT id FROM app.t) SELECT id FROM x"
            " WHERE id IN (SELECT id FROM app.u) WITH CHECK OPTION",
            "CREATE VIEW `v` AS WITH x AS (SELECT id FROM t) SELECT id FROM x"
            " WHERE id IN (SELECT id FROM u) WITH CHECK OPTION",
        ),
        (  # mysqldump's versioned comments: offsets stay those of the file
            "/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50001 VIEW `v` AS select `app`.`t`.`id` AS `id`"
            " from `app`.`t` */",
            "/*!50001 CREATE ALGORITHM=UNDEFINED */\n"
            "/*!50001 VIEW `v` AS select `t`.`id` AS `id` from `t` */",
        ),
    ],
)
def test_own_schema_qualifiers_are_cut_out(body: str, sent: str) -> None:
    r = _admit(body)
    assert isinstance(r, Admitted), r
    assert r.body == sent


def test_line_numbers_survive_the_rewrite() -> None:
    body = "CREATE VIEW v AS SELECT id\nFROM app\n.\nusers\nWHERE nope = 1"
    r = _admit(body)
    assert isinstance(r, Admitted), r
    assert r.body == "CREATE VIEW v AS SELECT id\nFROM \n\nusers\nWHERE nope = 1"


@pytest.mark.parametrize(
    "body",
    [
        "CREATE VIEW v AS SELECT * FROM shop.orders",  # another schema: read as written
        "CREATE VIEW v AS SELECT * FROM App.orders",  # names compare exactly, as for the view's own name
        "CREATE VIEW v AS SELECT app.id FROM users app",  # `app` is an alias here
        "CREATE VIEW v AS SELECT 'app.users' AS s, `app.users`.x FROM `app.users` -- app.users",
        "CREATE VIEW v AS SELECT id FROM xapp.users",
    ],
)
def test_other_names_are_sent_as_written(body: str) -> None:
    r = _admit(body)
    assert isinstance(r, Admitted), r
    assert r.body == body


def test_no_home_means_no_rewrite() -> None:
    """A dir whose schema is `*` or a command has no own names: the view runs as written, as before."""
    body = "CREATE VIEW v AS SELECT * FROM app.t"
    r = _admit(body, home=())
    assert isinstance(r, Admitted) and r.body == body


def test_an_unreadable_select_naming_its_own_schema_is_refused() -> None:
    """Rather than let it read the live schema of the same name."""
    r = _admit("CREATE VIEW v AS SELECT id FROM app.t WHERE id = ((")
    assert isinstance(r, Refusal)
    assert "own schema `app`" in r.reason and (r.file, r.line) == ("app/v.sql", 3)
    ok = _admit("CREATE VIEW v AS SELECT id FROM shop.t WHERE id = ((")  # the server will say what's wrong
    assert isinstance(ok, Admitted)


def test_schema_qualifiers_spans() -> None:
    body = "CREATE VIEW v AS SELECT app.t.a FROM app.t"
    assert schema_qualifiers(body, frozenset({"app"})) == ((24, 28), (37, 41))
    assert schema_qualifiers(body, frozenset({"other"})) == ()
    assert schema_qualifiers("CREATE TABLE t (id int)", frozenset({"app"})) is None
