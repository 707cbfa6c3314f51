"""Request ids: random, well-formed, never repeated, not shared with a forked worker."""

from __future__ import annotations

import os
import re

from app.api.middleware import new_request_id

_HEX32 = re.compile(r"^[0-9a-f]{32}$")


def test_ids_are_32_hex_digits_and_distinct_across_draws() -> None:
    ids = [new_request_id() for _ in range(1000)]  # several batches drawn
    assert all(_HEX32.match(i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_a_forked_child_does_not_reuse_the_ids_its_parent_drew() -> None:
    new_request_id()  # the parent holds undrawn ids now
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report its next ids and leave at once
        os.close(reader)
        os.write(writer, "".join(new_request_id() for _ in range(4)).encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        child = pipe.read().decode()
    os.waitpid(pid, 0)
    child_ids = {child[i : i + 32] for i in range(0, len(child), 32)}
    parent_ids = {new_request_id() for _ in range(4)}
    assert len(child_ids) == 4
    assert child_ids.isdisjoint(parent_ids)
