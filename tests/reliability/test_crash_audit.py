"""The crash scenario's audit of a live index finds every kind of damage it looks for."""

from __future__ import annotations

import pytest

from tests.fakes import word_count
from tests.reliability.crash import audit_live, knowledge
from tests.reliability.harness import Env, ingest, tag

pytestmark = pytest.mark.integration


async def test_audit_passes_a_sound_index_and_names_each_damaged_document(env: Env) -> None:
    property_id = f"audit-{tag()}"
    docs = knowledge(1, [0, 1, 2, 3, 4])
    await ingest(env, property_id, {d.doc_key: d.text for d in docs})
    sound = await audit_live(env.pool, property_id, word_count)
    assert sound.problems == []
    assert len(sound.hashes) == 5
    assert sound.chunks >= 5 * 4

    async with env.pool.acquire() as conn:
        ids = dict(
            await conn.fetch(
                "SELECT doc_key, id FROM documents WHERE version_id = $1", sound.version
            )
        )
        await conn.execute(
            "UPDATE documents SET body = body || ' x' WHERE id = $1", ids["item-0000"]
        )
        await conn.execute(
            "UPDATE chunks SET text = text || ' x' WHERE document_id = $1 AND ord = 1",
            ids["item-0001"],
        )
        await conn.execute(
            "DELETE FROM chunks WHERE document_id = $1 AND ord = 0", ids["item-0002"]
        )
        await conn.execute(
            "UPDATE chunks SET embedding = (SELECT embedding FROM chunks WHERE document_id = $2 "
            "AND ord = 0) WHERE document_id = $1 AND ord = 0",
            ids["item-0003"],
            ids["item-0004"],
        )
    damaged = await audit_live(env.pool, property_id, word_count)
    assert sorted({p.split(":")[0] for p in damaged.problems}) == [
        "item-0000", "item-0001", "item-0002", "item-0003",
    ]  # fmt: skip
    assert "item-0000: stored text does not match its hash" in damaged.problems
    assert "item-0003: vectors differ from its chunks" in damaged.problems
