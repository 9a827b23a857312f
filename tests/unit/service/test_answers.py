"""The API's answer cache: one rendering per state of an environment, gone with the environment."""

from __future__ import annotations

import gc
from pathlib import Path

from schemad.service.answers import Answer, AnswerCache
from schemad.service.environment import RepoEnvironment
from schemad.workspace.cache import CanonicalCache


def test_an_answer_is_rendered_again_only_when_the_environment_moves(tmp_path: Path) -> None:
    env = RepoEnvironment("r", tmp_path, "test", CanonicalCache(tmp_path / "c.sqlite3"))
    cache, renders = AnswerCache(), []

    def render() -> Answer:
        renders.append(env.version)
        return Answer(str(len(renders)).encode(), "text/plain", {})

    assert cache.answer(env, "diff/sql", render).body == b"1"
    assert cache.answer(env, "diff/sql", render).body == b"1"  # kept
    assert cache.answer(env, "diff/json", render).body == b"2"  # another name, another answer
    env.version += 1
    assert cache.answer(env, "diff/sql", render).body == b"3"
    assert cache.answer(env, "diff/sql", render).body == b"3"
    assert renders == [0, 0, 1]


def test_answers_go_with_their_environment(tmp_path: Path) -> None:
    cache = AnswerCache()
    env = RepoEnvironment("r", tmp_path, "test", CanonicalCache(tmp_path / "c.sqlite3"))
    cache.answer(env, "diff/sql", lambda: Answer(b"x", "text/plain", {}))
    assert len(cache._kept) == 1
    del env
    gc.collect()
    assert len(cache._kept) == 0
