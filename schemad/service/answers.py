"""The API's answers, rendered once per state of an environment.

An answer that depends only on what an environment holds (its diff as JSON
or as SQL) is kept, per environment and name, with the environment's
`version` and `snapshot_at` it was rendered under, and rendered again once
either has moved: `version` moves whenever a served diff may have changed,
and an unchanged poll moves only the snapshot time, which is part of the
answer too.  Answers go with their environment: the new `RepoEnvironment`
of a reload starts with none.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

from schemad.records import dataclass
from schemad.service.environment import RepoEnvironment

__all__ = ["Answer", "AnswerCache"]


@dataclass(frozen=True, slots=True)
class Answer:
    """A rendered answer: the body and how to label it."""

    body: bytes
    content_type: str
    headers: dict[str, str]


class AnswerCache:
    """Rendered answers per environment and name, kept while the environment's state stands."""

    def __init__(self) -> None:
        self._kept: weakref.WeakKeyDictionary[
            RepoEnvironment, dict[str, tuple[tuple[int, float | None], Answer]]
        ] = weakref.WeakKeyDictionary()

    def answer(self, env: RepoEnvironment, name: str, render: Callable[[], Answer]) -> Answer:
        """The answer `name` of `env` as it stands now: the one kept, else `render()`'s, kept from now on."""
        state = (env.version, env.snapshot_at)
        kept = self._kept.setdefault(env, {})
        hit = kept.get(name)
        if hit is not None and hit[0] == state:
            return hit[1]
        answer = render()
        kept[name] = (state, answer)
        return answer
