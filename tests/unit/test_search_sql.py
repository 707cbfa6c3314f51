"""The search statements' text: row counts written in, parameters numbered without gaps."""

from __future__ import annotations

import re

import pytest

from app.search.hybrid import hybrid_sql
from app.search.retriever import nearest_sql


def _parameters(sql: str) -> set[int]:
    return {int(n) for n in re.findall(r"\$(\d+)", sql)}


@pytest.mark.parametrize("exact", [False, True])
def test_limits_are_written_into_the_statements(exact: bool) -> None:
    # A limit passed as a parameter makes PostgreSQL cost the generic plan for a tenth of the
    # rows, so it plans every call anew instead of keeping the generic plan.
    hybrid = hybrid_sql(exact, '"chunks_x"', 7, 40, 60)
    nearest = nearest_sql(exact, '"chunks_x"', 7)
    assert sorted(re.findall(r"LIMIT ([^\s)]+)", hybrid)) == ["40", "40", "60", "7"]
    assert re.findall(r"LIMIT ([^\s)]+)", nearest) == ["7"]
    assert _parameters(hybrid) == set(range(1, 8))
    assert _parameters(nearest) == {1, 2, 3}
    assert '"chunks_x"' in hybrid
    assert "{" not in hybrid + nearest


def test_row_counts_out_of_order_are_refused() -> None:
    with pytest.raises(ValueError, match="depth"):
        hybrid_sql(False, "chunks", 50, 40, 60)
    with pytest.raises(ValueError, match="depth"):
        hybrid_sql(False, "chunks", 5, 40, 30)
    with pytest.raises(ValueError, match="k must"):
        nearest_sql(False, "chunks", 0)
