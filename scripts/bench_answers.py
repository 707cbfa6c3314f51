"""Time to first token and total answer time of a running API, streamed, per question.

Usage: .venv/bin/python scripts/bench_answers.py [BASE_URL] [ROUNDS]

Asks each sample question once per round (new wording each round, so no answer comes from
the cache) and reports, as the guest's widget sees them: time to the ``sources`` event, time to
the first ``delta``, and time to ``done``; with the answer source of each reply.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import httpx

QUESTIONS = [
    ("harbour-grand", "What time is check-out?"),
    ("harbour-grand", "When is breakfast served?"),
    ("sunset-cove", "Is there a kids club?"),
    ("alpine-lodge", "How much is parking?"),
    ("alpine-lodge", "When does the sauna open?"),
]


def ask(client: httpx.Client, property_id: str, question: str) -> dict[str, object]:
    started = time.perf_counter()
    marks: dict[str, float] = {}
    event = ""
    done: dict[str, object] = {}
    with client.stream(
        "POST", "/ask", json={"property_id": property_id, "question": question, "stream": True}
    ) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
                marks.setdefault(event, time.perf_counter() - started)
            elif line.startswith("data: ") and event == "done":
                done = json.loads(line[6:])
    return {"marks": marks, "done": done}


def main() -> None:
    base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    first: list[float] = []
    total: list[float] = []
    sources: dict[str, int] = {}
    with httpx.Client(base_url=base, timeout=60) as client:
        for r in range(rounds):
            for property_id, question in QUESTIONS:
                worded = question if r == 0 else f"{question} ({r})"
                result = ask(client, property_id, worded)
                marks = result["marks"]
                done = result["done"]
                assert isinstance(marks, dict)
                assert isinstance(done, dict)
                first.append(marks["delta"] * 1000)
                total.append(marks["done"] * 1000)
                source = str(done.get("answer_source"))
                sources[source] = sources.get(source, 0) + 1
                print(
                    f"{marks['delta'] * 1000:8.0f} ms first text {marks['done'] * 1000:8.0f} ms "
                    f"done  {source:20} {property_id}: {worded} -> {str(done['answer'])[:70]!r}"
                )
    print(
        f"median: first text {statistics.median(first):.0f} ms, done "
        f"{statistics.median(total):.0f} ms; max done {max(total):.0f} ms; "
        f"{len(total)} answers {sources}"
    )


if __name__ == "__main__":
    main()
