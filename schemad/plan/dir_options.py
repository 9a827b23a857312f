"""A dir's connection and filter options: the light part of plan/targets.py.

Kept apart so that commands which only read texts (init, pull) get their
connection parameters without importing the planner, sqlglot and the
workspace (~90 ms of start-up).
"""

from __future__ import annotations

import re

from schemad.connection.params import ConnParams, parse_connect_options
from schemad.fs.cascade import Config
from schemad.fs.dir import Dir, HostPort
from schemad.introspect.filters import Filters
from schemad.model.keys import ObjectType

__all__ = ["conn_params", "filters", "ignore_patterns"]


def conn_params(d: Dir, host: HostPort, password_cache: dict[str, str]) -> ConnParams:
    cfg = d.config
    return ConnParams(
        host=host.host,
        port=host.port,
        socket=host.socket or None,
        user=d.user(host),
        password=d.password(host, cache=password_cache),
        connect_options=tuple(parse_connect_options(cfg.get("connect-options")).items()),
    )


def filters(cfg: Config) -> Filters:
    return Filters(
        table=cfg.get_regex("ignore-table"),
        proc=cfg.get_regex("ignore-proc"),
        func=cfg.get_regex("ignore-func"),
    )


def ignore_patterns(cfg: Config) -> dict[ObjectType, re.Pattern[str]]:
    f = filters(cfg)
    out: dict[ObjectType, re.Pattern[str]] = {}
    if f.table is not None:
        out[ObjectType.TABLE] = f.table
    if f.proc is not None:
        out[ObjectType.PROCEDURE] = f.proc
    if f.func is not None:
        out[ObjectType.FUNCTION] = f.func
    return out
