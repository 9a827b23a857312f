"""An event whose file gives no STARTS: the time the server fills in is no difference.

A recurring event created without STARTS gets its creation time, so the
workspace's copy and the live one never agree and each run differs from the
last (found by sqldef's event cases: every diff after a push showed a CREATE OR
REPLACE).  The desired event keeps no STARTS, the diff ignores the live one,
and a STARTS the file does give is still compared.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from schemad.cli.main import main
from schemad.connection.instance import Instance
from tests.conftest import DBServer
from tests.integration.test_peer_cases_converge import SCHEMA, repo

pytestmark = pytest.mark.db

NO_STARTS = "CREATE EVENT tick ON SCHEDULE EVERY 1 DAY DO SELECT 1;\n"
WITH_STARTS = "CREATE EVENT tock ON SCHEDULE EVERY 1 HOUR STARTS '2031-01-01 00:00:00' DO SELECT 2;\n"


def _live_starts(server: DBServer) -> dict[str, str]:
    async def read() -> dict[str, str]:
        async with Instance(server.params) as inst:
            rows = await inst.query(
                "SELECT event_name AS n, starts AS s FROM information_schema.events WHERE event_schema = %s",
                (SCHEMA,),
            )
        return {str(r["n"]): str(r["s"]) for r in rows}

    return asyncio.run(read())


def test_event_without_starts_diffs_clean_after_push(
    server: DBServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with repo(server, tmp_path, monkeypatch, "", {"tick": NO_STARTS, "tock": WITH_STARTS}) as schema_dir:
        assert main(["push"]) == 0
        pushed = capsys.readouterr().out
        assert "EVERY 1 DAY ON COMPLETION" in pushed, pushed  # created without STARTS: the server's to fill
        assert "STARTS '2031-01-01 00:00:00'" in pushed
        first = _live_starts(server)
        time.sleep(1.1)  # the next run's workspace gets another creation time
        assert main(["diff"]) == 0, capsys.readouterr().out
        assert _live_starts(server) == first

        # format keeps the file's form: no STARTS written into it
        assert main(["format"]) in (0, 1)  # 1: files were rewritten in canonical form
        assert "STARTS" not in (schema_dir / "tick.sql").read_text()

        # a change elsewhere in the event is still a difference, and is pushed without STARTS
        (schema_dir / "tick.sql").write_text(NO_STARTS.replace("SELECT 1", "SELECT 10"))
        assert main(["diff"]) == 1
        out = capsys.readouterr().out
        assert "SELECT 10" in out and "EVENT `tick` ON SCHEDULE EVERY 1 DAY ON COMPLETION" in out, out

        # a STARTS the file gives is compared
        (schema_dir / "tick.sql").write_text(NO_STARTS)
        (schema_dir / "tock.sql").write_text(WITH_STARTS.replace("2031", "2032"))
        assert main(["diff"]) == 1
        assert "STARTS '2032-01-01 00:00:00'" in capsys.readouterr().out
