"""WrapperCommand templating: Skeema's escaping and placeholder rules, schemad's masking."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from schemad.errors import ConfigError
from schemad.plan.shellout import (
    DEFAULTSFILE,
    MASK,
    WRAPPER_VARIABLES,
    WrapperCommand,
    WrapperTemplateError,
    escape_value,
    passes_mysql_pwd,
    password_on_command_line,
    password_variables,
    template_names,
    uses_defaults_file,
    wrapper_variables,
)

# The variables of Skeema's TestWithVariables.
VARS = {
    "HOST": "ahost",
    "SCHEMA": "aschema",
    "USER": "someone",
    "PASSWORD": "",
    "PORT": "3306",
    "CONNOPTS": "sql_mode='STRICT_ALL_TABLES,ALLOW_INVALID_DATES'",
    "DIRNAME": "someschema",
    "DIRPATH": "/var/schemas/somehost/someschema",
}
SECRET_VARS = {**VARS, "PASSWORD": "SuPeRsEcReT"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ""),
        ("just-words", "just-words"),
        ("this@that,1=1:no_spaces-so/we.r+ok", "this@that,1=1:no_spaces-so/we.r+ok"),
        ("100%", "100%"),
        ("has space", "'has space'"),
        ('has "double quote"', "'has \"double quote\"'"),
        ("\\", "'\\'"),
        ("/etc/*", "'/etc/*'"),
        ("has 'single quoted'", "'has '\"'\"'single quoted'\"'\"''"),
        ("$HOME", "'$HOME'"),
        ("a`id`b", "'a`id`b'"),
        ("semi;colon", "'semi;colon'"),
        ("new\nline", "'new\nline'"),
        ("tab\there", "'tab\there'"),
        ("café", "'café'"),  # Go's \w is ASCII-only
        ("ADD COLUMN `c` int(11) DEFAULT NULL", "'ADD COLUMN `c` int(11) DEFAULT NULL'"),
    ],
)
def test_escape_value(value: str, expected: str) -> None:
    assert escape_value(value) == expected


@pytest.mark.parametrize(
    "value",
    ["plain", "has space", "it's", "'''", '"\'"', "$(rm -rf /)", "a\\nb", "x\ny", "`ls`", "*?[]", "café"],
)
def test_escaped_values_split_back_to_themselves(value: str) -> None:
    assert shlex.split(escape_value(value)) == [value]


@pytest.mark.parametrize(
    ("template", "real", "display"),
    [
        (
            "/bin/echo {HOST} {SCHEMA} {user} {PASSWORD} {DirName} {DIRPATH}",
            "/bin/echo ahost aschema someone  someschema /var/schemas/somehost/someschema",
            f"/bin/echo ahost aschema someone {MASK} someschema /var/schemas/somehost/someschema",
        ),
        (
            "/bin/echo {connopts}",
            "/bin/echo 'sql_mode='\"'\"'STRICT_ALL_TABLES,ALLOW_INVALID_DATES'\"'\"''",
            "/bin/echo 'sql_mode='\"'\"'STRICT_ALL_TABLES,ALLOW_INVALID_DATES'\"'\"''",
        ),
        ("{HOSTX}{USERX}{PORTX}", "ahostsomeone3306", MASK * 3),
        ("/bin/echo ${THIS_IS_OK} {HOST}", "/bin/echo ${THIS_IS_OK} ahost", "/bin/echo ${THIS_IS_OK} ahost"),
        # As in Skeema, a known name after `$` is still substituted.
        ("echo ${HOST}", "echo $ahost", "echo $ahost"),
        ("no placeholders at all", "no placeholders at all", "no placeholders at all"),
    ],
)
def test_interpolation(template: str, real: str, display: str) -> None:
    cmd = WrapperCommand.from_template(template, VARS)
    assert cmd.argv_for_exec() == ["/bin/sh", "-c", real]
    assert cmd.display == display
    assert str(cmd) == display


@pytest.mark.parametrize(
    ("template", "real", "display"),
    [
        (
            "mysql -h {HOST} -u {USER} -p{PASSWORD} -P {PORT} {SCHEMA}",
            "mysql -h ahost -u someone -pSuPeRsEcReT -P 3306 aschema",
            f"mysql -h ahost -u someone -p{MASK} -P 3306 aschema",
        ),
        (
            "mysql -h {HOST} -u {USER} -p{PASSWORDX} -P {PORT} {SCHEMA}",
            "mysql -h ahost -u someone -pSuPeRsEcReT -P 3306 aschema",
            f"mysql -h ahost -u someone -p{MASK} -P 3306 aschema",
        ),
        (
            'MYSQLPWD={passwordx} docker inspect --type container --format="{{json .NetworkSettings}}" '
            "{HOST}",
            'MYSQLPWD=SuPeRsEcReT docker inspect --type container --format="{{json .NetworkSettings}}" ahost',
            f'MYSQLPWD={MASK} docker inspect --type container --format="{{{{json .NetworkSettings}}}}" ahost',
        ),
    ],
)
def test_password_masked_in_display(template: str, real: str, display: str) -> None:
    cmd = WrapperCommand.from_template(template, SECRET_VARS)
    assert cmd.argv_for_exec()[2] == real
    assert cmd.display == display
    for shown in (cmd.display, str(cmd), repr(cmd)):
        assert "SuPeRsEcReT" not in shown


def test_secret_reaching_display_through_another_variable_is_masked() -> None:
    variables = {**SECRET_VARS, "DDL": "CREATE USER x IDENTIFIED BY 'SuPeRsEcReT'"}
    cmd = WrapperCommand.from_template("audit {DDL} {PASSWORDX}", variables)
    assert "SuPeRsEcReT" in cmd.argv_for_exec()[2]
    assert "SuPeRsEcReT" not in cmd.display
    assert cmd.display == f"audit 'CREATE USER x IDENTIFIED BY '\"'\"'{MASK}'\"'\"'' {MASK}"


def test_x_form_makes_any_variable_secret() -> None:
    cmd = WrapperCommand.from_template("connect {HOSTX}:{PORT}", VARS)
    assert cmd.argv_for_exec()[2] == "connect ahost:3306"
    assert cmd.display == f"connect {MASK}:3306"
    assert cmd.mask("resolved ahost to 10.0.0.1") == f"resolved {MASK} to 10.0.0.1"


@pytest.mark.parametrize(
    ("template", "variable"),
    [
        ("/bin/echo {HOST} {iNvAlId} {SCHEMA}", "INVALID"),
        ("/bin/echo {HOST} {INVALIDX} {SCHEMA}", "INVALIDX"),
        ("/bin/echo {HOST} {X} {SCHEMA}", "X"),
        ("/bin/echo {HOST}{SCHEMA}{}", ""),
        ("/bin/echo {HOST} {PORT {SCHEMA}", "PORT {SCHEMA"),
    ],
)
def test_unknown_variable_is_a_config_error_naming_it(template: str, variable: str) -> None:
    with pytest.raises(WrapperTemplateError) as info:
        WrapperCommand.from_template(template, VARS)
    assert isinstance(info.value, ConfigError)
    assert info.value.variable == variable
    assert f"{{{variable}}}" in str(info.value)
    assert info.value.position is not None
    assert template[info.value.position] == "{"


def test_unknown_variable_position_points_at_its_brace() -> None:
    with pytest.raises(WrapperTemplateError) as info:
        WrapperCommand.from_template("/bin/echo {HOST} {nope}", VARS)
    assert info.value.position == len("/bin/echo {HOST} ")


def test_unclosed_brace_is_an_error() -> None:
    with pytest.raises(WrapperTemplateError) as info:
        WrapperCommand.from_template("/bin/echo {HOST} {PORT} {SCHEMA", VARS)
    assert info.value.variable is None
    assert info.value.position == len("/bin/echo {HOST} {PORT} ")
    assert "closing brace" in str(info.value)


@pytest.mark.parametrize("template", ["", "   ", "\n"])
def test_empty_template_is_an_error(template: str) -> None:
    with pytest.raises(ConfigError, match="empty"):
        WrapperCommand.from_template(template, VARS)


def test_variable_names_given_twice_in_different_case_are_rejected() -> None:
    with pytest.raises(ValueError, match="HOST"):
        WrapperCommand.from_template("{HOST}", {"HOST": "a", "host": "b"})


def test_lowercase_variable_keys_are_accepted() -> None:
    cmd = WrapperCommand.from_template("{Host}:{PORT}", {"host": "h", "Port": "1"})
    assert cmd.argv_for_exec()[2] == "h:1"


def test_mask_covers_raw_quoted_and_per_line_forms_longest_first() -> None:
    variables = {"PASSWORD": "pw 'x", "TOKEN": "pw", "MULTI": "line one\nline two"}
    cmd = WrapperCommand.from_template("t {TOKENX} {MULTIX}", variables)
    assert cmd.secrets == ("line one\nline two", "pw 'x", "pw")
    assert cmd.mask("a pw 'x b") == f"a {MASK} b"
    assert cmd.mask("argv: 'pw '\"'\"'x'") == f"argv: {MASK}"
    assert cmd.mask("pwned") == f"{MASK}ned"
    assert cmd.mask("got line two only") == f"got {MASK} only"
    assert cmd.mask("nothing here") == "nothing here"
    assert set(cmd.secret_forms) >= {"pw 'x", "'pw '\"'\"'x'", "pw", "line one", "line two"}


def test_empty_password_masks_nothing() -> None:
    cmd = WrapperCommand.from_template("x -p{PASSWORDX}", VARS)
    assert cmd.secrets == ()
    assert cmd.mask("anything at all") == "anything at all"
    assert cmd.display == f"x -p{MASK}"


def test_password_is_secret_even_when_the_template_does_not_use_it() -> None:
    cmd = WrapperCommand.from_template("tool --host {HOST}", SECRET_VARS)
    assert cmd.mask("echoed SuPeRsEcReT") == f"echoed {MASK}"


def test_command_repr_hides_the_real_text() -> None:
    cmd = WrapperCommand.from_template("x -p{PASSWORDX}", SECRET_VARS)
    assert "SuPeRsEcReT" not in repr(cmd)
    assert cmd == WrapperCommand.from_template("x -p{PASSWORDX}", SECRET_VARS)


# ///// wrapper_variables /////


def test_wrapper_variables_for_an_alter_table_over_tcp(tmp_path: Path) -> None:
    d = tmp_path / "prod" / "shop"
    v = wrapper_variables(
        host="db1.example.com",
        port=3307,
        user="deploy",
        password="pw",
        schema="shop",
        environment="production",
        ddl="ALTER TABLE `orders` ADD COLUMN `note` varchar(20) DEFAULT NULL, ALGORITHM=INPLACE",
        stmt_type="alter",
        object_class="table",
        name="orders",
        size=1 << 30,
        connect_options="charset=utf8mb4,sql_mode='A,B',readTimeout=5s,wait_timeout=60",
        dir_path=d,
    )
    assert tuple(v) == WRAPPER_VARIABLES
    assert v == {
        "HOST": "db1.example.com",
        "PORT": "3307",
        "SOCKET": "",
        "SCHEMA": "shop",
        "USER": "deploy",
        "PASSWORD": "pw",
        "ENVIRONMENT": "production",
        "DDL": "ALTER TABLE `orders` ADD COLUMN `note` varchar(20) DEFAULT NULL, ALGORITHM=INPLACE",
        "CLAUSES": "ADD COLUMN `note` varchar(20) DEFAULT NULL, ALGORITHM=INPLACE",
        "NAME": "orders",
        "TABLE": "orders",
        "SIZE": str(1 << 30),
        "TYPE": "ALTER",
        "CLASS": "TABLE",
        "CONNOPTS": "sql_mode='A,B',wait_timeout=60",
        "DIRNAME": "shop",
        "DIRPATH": str(d),
    }


def test_wrapper_variables_socket_leaves_port_empty() -> None:
    v = wrapper_variables(
        host="localhost",
        port=3306,
        socket="/run/mysqld/mysqld.sock",
        stmt_type="DROP",
        object_class="TABLE",
        name="t",
        ddl="DROP TABLE `t`",
    )
    assert (v["PORT"], v["SOCKET"]) == ("", "/run/mysqld/mysqld.sock")
    assert (v["TABLE"], v["CLAUSES"]) == ("t", "")


@pytest.mark.parametrize(
    ("ddl", "clauses"),
    [
        ("ALTER TABLE `t` ADD COLUMN `c` int", "ADD COLUMN `c` int"),
        ("alter table `we``ird` DROP KEY `k`;", "DROP KEY `k`"),
        ("ALTER TABLE `db`.`t` ENGINE=InnoDB", "ENGINE=InnoDB"),
        ("ALTER TABLE plain_name ROW_FORMAT=DYNAMIC", "ROW_FORMAT=DYNAMIC"),
        (
            "CREATE TABLE `t` (\n  `id` int NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB",
            "(\n  `id` int NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB",
        ),
    ],
)
def test_clauses_are_the_text_after_the_table_name(ddl: str, clauses: str) -> None:
    kind = ddl.split()[0]
    v = wrapper_variables(host="h", port=1, stmt_type=kind, object_class="TABLE", name="t", ddl=ddl)
    assert v["CLAUSES"] == clauses


def test_clauses_of_an_alter_of_a_system_versioned_table() -> None:
    """Run as `SET STATEMENT .. KEEP FOR ALTER TABLE ..` (issue 12.7): {DDL} says so, not {CLAUSES}."""
    ddl = "SET STATEMENT system_versioning_alter_history=KEEP FOR ALTER TABLE `t` ADD COLUMN `c` int"
    v = wrapper_variables(host="h", port=1, stmt_type="ALTER", object_class="TABLE", name="t", ddl=ddl)
    assert (v["DDL"], v["CLAUSES"]) == (ddl, "ADD COLUMN `c` int")


def test_explicit_clauses_win_over_the_statement_text() -> None:
    v = wrapper_variables(
        host="h",
        port=1,
        stmt_type="ALTER",
        object_class="TABLE",
        name="t",
        ddl="ALTER TABLE `t` ADD COLUMN `c` int, ALGORITHM=INPLACE",
        clauses="ADD COLUMN `c` int",
    )
    assert v["CLAUSES"] == "ADD COLUMN `c` int"


@pytest.mark.parametrize(
    ("object_class", "schema", "table"),
    [("DATABASE", "", ""), ("PROCEDURE", "shop", ""), ("function", "shop", "")],
)
def test_non_tables_have_no_table_or_clauses(object_class: str, schema: str, table: str) -> None:
    v = wrapper_variables(
        host="h",
        port=1,
        schema="shop",
        stmt_type="CREATE",
        object_class=object_class,
        name="x",
        ddl="CREATE something",
    )
    assert (v["SCHEMA"], v["TABLE"], v["CLAUSES"], v["NAME"]) == (schema, table, "", "x")
    assert v["CLASS"] == object_class.upper()


def test_wrapper_variables_reject_bad_arguments() -> None:
    with pytest.raises(ValueError, match="stmt_type"):
        wrapper_variables(host="h", port=1, stmt_type="RENAME", object_class="TABLE", name="t")
    with pytest.raises(ValueError, match="port or socket"):
        wrapper_variables(host="h", stmt_type="DROP", object_class="TABLE", name="t")
    with pytest.raises(ValueError, match="CLAUSES"):
        wrapper_variables(host="h", port=1, stmt_type="ALTER", object_class="TABLE", name="t", ddl="OPTIMIZE")
    with pytest.raises(ConfigError, match="quote"):
        wrapper_variables(
            host="h", port=1, stmt_type="DROP", object_class="TABLE", name="t", connect_options="a='x"
        )


def test_connect_options_may_be_given_as_pairs() -> None:
    v = wrapper_variables(
        host="h",
        port=1,
        stmt_type="DROP",
        object_class="TABLE",
        name="t",
        connect_options=(("TLS", "true"), ("lock_wait_timeout", "5"), ("innodb_lock_wait_timeout", "2")),
    )
    assert v["CONNOPTS"] == "lock_wait_timeout=5,innodb_lock_wait_timeout=2"


def test_documented_pt_osc_pattern() -> None:
    template = (
        "/usr/local/bin/pt-online-schema-change --execute --alter {CLAUSES} "
        "D={SCHEMA},t={TABLE},h={HOST},P={PORT},u={USER},p={PASSWORDX}"
    )
    v = wrapper_variables(
        host="10.0.0.5",
        port=3306,
        user="osc",
        password="s3 cr'et",
        schema="shop",
        ddl="ALTER TABLE `orders` ADD COLUMN `note` text",
        stmt_type="ALTER",
        object_class="TABLE",
        name="orders",
    )
    cmd = WrapperCommand.from_template(template, v)
    head = "/usr/local/bin/pt-online-schema-change --execute --alter 'ADD COLUMN `note` text' "
    assert cmd.argv_for_exec()[2] == head + "D=shop,t=orders,h=10.0.0.5,P=3306,u=osc,p='s3 cr'\"'\"'et'"
    assert cmd.display == head + f"D=shop,t=orders,h=10.0.0.5,P=3306,u=osc,p={MASK}"
    assert shlex.split(cmd.argv_for_exec()[2])[-1] == "D=shop,t=orders,h=10.0.0.5,P=3306,u=osc,p=s3 cr'et"


# ///// schemad's {DEFAULTSFILE} and what a template asks for /////


@pytest.mark.parametrize(
    ("template", "names"),
    [
        ("echo {HOST} {passwordx} {DefaultsFile}", {"HOST", "PASSWORDX", "DEFAULTSFILE"}),
        ("echo ${PASSWORD}", {"PASSWORD"}),  # a known name after `$` is still substituted
        ("echo {{PASSWORD}}", {"{PASSWORD"}),  # left for a template engine: no variable
        ("echo $MYSQL_PWD", set()),
        ("echo {HOST} {unclosed", {"HOST"}),
    ],
)
def test_template_names(template: str, names: set[str]) -> None:
    assert template_names(template) == names


@pytest.mark.parametrize(
    ("template", "on_command_line"),
    [
        ("pt-online-schema-change D={SCHEMA},t={TABLE},p={PASSWORDX}", True),
        ("gh-ost --password={password}", True),
        ("echo ${PASSWORD}", True),
        ("pt-online-schema-change D={SCHEMA},t={TABLE},F={DEFAULTSFILE}", False),
        ("echo {{PASSWORD}}", False),
        ("echo $PASSWORD {PASSWORDS}", False),
    ],
)
def test_password_on_command_line(template: str, on_command_line: bool) -> None:
    assert password_on_command_line(template) is on_command_line


@pytest.mark.parametrize(
    ("template", "uses"),
    [
        ("x F={DEFAULTSFILE}", True),
        ("x --conf={defaultsfile}", True),
        ("x --conf={DEFAULTSFILEX}", True),
        ("x {{DEFAULTSFILE}}", False),
        ("x {PASSWORD}", False),
    ],
)
def test_uses_defaults_file(template: str, uses: bool) -> None:
    assert uses_defaults_file(template) is uses


@pytest.mark.parametrize(
    ("template", "passes"),
    [
        ('tool --password="$MYSQL_PWD"', True),
        ("tool --password=${MYSQL_PWD}", True),
        ("test -n $MYSQL_PWD; tool", True),
        ("tool $MYSQL_PWDX", False),
        ("tool $MYSQL_PWD_FILE", False),
        ("tool MYSQL_PWD", False),
        ("tool $mysql_pwd", False),  # shell variables are case-sensitive
        ("tool {PASSWORD}", False),
    ],
)
def test_passes_mysql_pwd(template: str, passes: bool) -> None:
    assert passes_mysql_pwd(template) is passes


def test_pending_defaults_file_is_shown_and_cannot_run() -> None:
    template = "pt-online-schema-change --alter {CLAUSES} D={SCHEMA},t={TABLE},F={DEFAULTSFILE}"
    v = wrapper_variables(
        host="h",
        port=1,
        password="s3cr3t pw",
        schema="shop",
        ddl="ALTER TABLE `t` ADD COLUMN `c` int",
        stmt_type="ALTER",
        object_class="TABLE",
        name="t",
    )
    cmd = WrapperCommand.from_template(template, v, pending=(DEFAULTSFILE,))
    assert cmd.display == "pt-online-schema-change --alter 'ADD COLUMN `c` int' D=shop,t=t,F={DEFAULTSFILE}"
    assert cmd.pending == (DEFAULTSFILE,)
    with pytest.raises(ValueError, match=r"\{DEFAULTSFILE\}"):
        cmd.argv_for_exec()
    # A template that does not use it runs as before.
    plain = WrapperCommand.from_template("echo {TABLE}", v, pending=(DEFAULTSFILE,))
    assert plain.pending == () and plain.argv_for_exec() == ["/bin/sh", "-c", "echo t"]


def test_defaults_file_value_is_substituted_and_not_secret() -> None:
    v = {**VARS, "PASSWORD": "s3cr3t", DEFAULTSFILE: "/tmp/schemad-cnf-ab_1/client.cnf"}
    cmd = WrapperCommand.from_template("gh-ost --conf={DEFAULTSFILE} --user={USER}", v)
    assert cmd.argv_for_exec()[2] == "gh-ost --conf=/tmp/schemad-cnf-ab_1/client.cnf --user=someone"
    assert cmd.display == cmd.argv_for_exec()[2]
    assert "s3cr3t" not in cmd.argv_for_exec()[2]


def test_password_variables_are_those_holding_the_password_unless_the_template_reads_them() -> None:
    env = {"DB_SECRET": "pw", "MYSQL_PWD": "pw", "OTHER": "x", "PATH": "/bin"}
    assert password_variables("pt-osc D={DEFAULTSFILE}", "pw", env) == ("DB_SECRET", "MYSQL_PWD")
    assert password_variables('tool --password="$DB_SECRET"', "pw", env) == ("MYSQL_PWD",)
    assert password_variables("tool ${MYSQL_PWD}", "pw", env) == ("DB_SECRET",)
    assert password_variables("tool $DB_SECRETS", "pw", env) == ("DB_SECRET", "MYSQL_PWD")  # another name
    assert password_variables("tool", "", env) == ("MYSQL_PWD",)  # no password: nothing else matches
