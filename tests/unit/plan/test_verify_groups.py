"""verify replays tables linked by a foreign key one after the other (FKs added to each other deadlock)."""

from __future__ import annotations

from schemad.model.constraint import ForeignKey
from schemad.model.table import Table
from schemad.plan.verify import _fk_groups


def _t(name: str, *refs: str, schema: str = "") -> Table:
    fks = tuple(ForeignKey(f"fk_{name}_{r}", ("x",), schema, r, ("id",)) for r in refs)
    return Table(name=name, columns=(), foreign_keys=fks)


def _names(groups: list[list[tuple[Table, Table]]]) -> list[set[str]]:
    return sorted(({b.name for b, _ in g} for g in groups), key=sorted)


def test_circular_foreign_keys_added_by_the_diff_share_a_group() -> None:
    pairs = [
        (_t("departments"), _t("departments", "employees")),
        (_t("employees"), _t("employees", "departments")),
        (_t("audit"), _t("audit")),
    ]
    assert _names(_fk_groups(pairs)) == [{"audit"}, {"departments", "employees"}]


def test_links_of_the_live_side_count_and_other_schemas_and_tables_do_not() -> None:
    pairs = [
        (_t("a", "b"), _t("a")),  # the live table's FK: its CREATE in the workspace names b
        (_t("b"), _t("b")),
        (_t("c", "elsewhere"), _t("c", "ref", schema="other")),
    ]
    assert _names(_fk_groups(pairs)) == [{"a", "b"}, {"c"}]
