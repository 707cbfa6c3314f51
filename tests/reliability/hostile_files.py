"""Hostile content against a real server process: giant unbroken text, document bombs, and
values that try to forge log lines.

- giant text: a megabyte-long hex line and a 20,000-character sentence are indexed; hundreds
  of different questions must get small replies and leave the memory (and the answer cache)
  bounded;
- document bombs: DOCX, PDF, HTML and Markdown files that are small to send and costly to
  read are uploaded while guests ask; each upload answers in time, in JSON, with the bombs
  skipped and their reason; guests stay fast; SIGTERM during a bomb's reading exits in seconds;
- log injection: with ``RAG_LOG_FORMAT=text``, document ids carrying newlines and a fake
  ``concierge.audit`` line are uploaded: every record stays one line.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time

import httpx
from benchlib.loadgen import Client, Reply, open_loop, percentile

from tests import files
from tests.reliability.harness import Env, Outcome, ServerProcess, ingest, tag
from tests.reliability.load import DOCS, distinct_asks, distinct_question

HEX_LINE = "0123456789abcdef" * 64_000  # 1,024,000 characters, no space
LONG_SENTENCE = "The rooftop bar serves " + "cocktails and " * 1_420 + "snacks until midnight."


async def giant_text(env: Env, questions: int = 300) -> Outcome:
    """Index a 1 MB unbroken line and a 20,000-character sentence; ask ``questions`` distinct
    questions about them."""
    outcome = Outcome("giant-text", "1,024,000-char hex line + 20,000-char sentence")
    property_id = f"giant-{tag()}"
    docs = {
        **DOCS,
        "codes.md": f"# Door codes\n\nThe codes of the rooftop doors:\n\n{HEX_LINE}\n",
        "rooftop.md": f"# Rooftop bar\n\n{LONG_SENTENCE}\n",
    }
    await ingest(env, property_id, docs, name=property_id)
    async with env.pool.acquire() as conn:
        longest = await conn.fetchval(
            "SELECT max(length(text)) FROM chunks WHERE property_id = $1", property_id
        )
    server = ServerProcess(env, cache_max_bytes=4 * 1024 * 1024)
    rng = random.Random(5)
    async with server:
        client = Client(server.port, max_connections=16, timeout=30)

        async def ask(c: Client, i: int) -> Reply:
            words = rng.choice(["rooftop door codes", "rooftop bar cocktails", "hex codes"])
            body = {"property_id": property_id, "question": f"{words} {distinct_question(rng)}"}
            return await c.request("POST", "/ask", json=body)

        warm, _ = await open_loop(client, 50, 1.0, ask)
        rss_before = server.rss_kb()
        replies, _ = await open_loop(client, 100, questions / 100, ask)
        rss_after = server.rss_kb()
        stats = await server.stats()
        await client.close()
    everything = warm + replies
    outcome.requests = len(everything)
    outcome.errors.update(r.kind for r in everything if r.status != 200)
    answers = [len(str(r.json()["answer"])) for r in everything if r.status == 200]  # type: ignore[index]
    outcome.check("longest chunk (chars)", longest, longest is not None and longest <= 2_000)
    biggest = max((len(r.body) for r in everything), default=0)
    outcome.check("largest /ask reply (bytes)", biggest, 0 < biggest <= 16 * 1024)
    outcome.check(
        "longest answer (chars)", max(answers, default=0), max(answers, default=0) <= 1_200
    )
    growth = (rss_after - rss_before) / 1024
    outcome.check(
        f"RSS growth over {len(replies)} distinct questions (MB)", f"{growth:.1f}", growth < 32
    )
    outcome.check("answers cached", stats["cache_entries"], stats["cache_entries"] > 0)
    return outcome


BOMBS = {
    "styles.docx": lambda: files.docx_style_bomb(60_000),
    "inflate.docx": lambda: files.docx_zip_bomb(400),
    "inflate.pdf": lambda: files.pdf_content_bomb(200),
    "cells.html": lambda: files.html_element_bomb(900_000),
}


async def document_bombs(env: Env, rate: float = 10.0) -> Outcome:
    """Upload each bomb (and a Markdown page with an inlined photo) while guests ask."""
    outcome = Outcome(
        "document-bombs",
        "DOCX styles/zip bomb, PDF stream bomb, 900k-cell HTML, Markdown + 750 kB image",
    )
    bombs = {name: make() for name, make in BOMBS.items()}
    photo = files.markdown_with_image(750_000)
    property_id = f"bombs-{tag()}"
    await ingest(env, property_id, DOCS, name=property_id)
    limits = {"ingest_load_cpu_s": 1, "ingest_load_memory_mb": 384, "ingest_load_timeout_s": 4}
    server = ServerProcess(env, **limits)
    rng = random.Random(9)
    uploads: list[tuple[str, float, httpx.Response]] = []
    async with server, httpx.AsyncClient(base_url=server.base, timeout=60) as http:
        auth = {"authorization": f"Bearer {server.admin_token}"}
        client = Client(server.port, max_connections=16, timeout=30)
        ask = distinct_asks(property_id, rng)

        calm, _ = await open_loop(client, rate, 2.0, ask)

        async def upload_all() -> None:
            for name, raw in [*bombs.items(), ("spa.md", photo)]:
                started = time.monotonic()
                response = await http.post(
                    f"/admin/properties/{property_id}/documents",
                    files=[("files", (name, raw, "application/octet-stream"))],
                    headers=auth,
                )
                uploads.append((name, time.monotonic() - started, response))

        loaded = asyncio.create_task(upload_all())
        busy: list[Reply] = []
        while not loaded.done():
            replies, _ = await open_loop(client, rate, 1.0, ask)
            busy.extend(replies)
        await loaded
        # SIGTERM while a bomb is being read: the upload still answers, the exit is prompt.
        in_flight = asyncio.create_task(
            http.post(
                f"/admin/properties/{property_id}/documents",
                files=[
                    ("files", ("styles.docx", bombs["styles.docx"], "application/octet-stream"))
                ],
                headers=auth,
            )
        )
        await asyncio.sleep(0.5)
        assert server.process is not None
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        exit_code = await asyncio.to_thread(server.process.wait, 60)
        exit_s = time.monotonic() - signalled
        try:
            last: httpx.Response | None = await in_flight
        except httpx.HTTPError:
            last = None
        await client.close()

    replies = calm + busy
    outcome.requests = len(replies) + len(uploads) + 1
    outcome.errors.update(r.kind for r in replies if r.status != 200)
    for name, seconds, response in uploads:
        body = response.json()
        skipped = {s["name"]: s["reason"] for s in body.get("skipped", [])}
        if name == "spa.md":
            ok = response.status_code == 202 and body["documents"] == ["spa.md"]
            detail = f"{response.status_code} accepted in {seconds:.1f}s"
        else:
            reason = skipped.get(name) or body.get("error", {}).get("message", "")
            ok = response.status_code == 422 and body["error"]["code"] == "invalid_request"
            detail = f"{response.status_code} in {seconds:.1f}s: {reason[-60:]}"
        outcome.check(name, detail, ok and seconds <= 4 + 2)
    p99_calm = percentile([r.latency for r in calm if r.status == 200], 99)
    p99_busy = percentile([r.latency for r in busy if r.status == 200], 99)
    outcome.check(
        "guest p99 ms calm/during uploads",
        f"{p99_calm * 1000:.0f}/{p99_busy * 1000:.0f}",
        bool(busy) and p99_busy <= max(0.25, 3 * p99_calm),
    )
    shaped = last is not None and _json_shaped(last)
    outcome.check(
        "SIGTERM while reading a bomb",
        f"exit {exit_code} in {exit_s:.1f}s, upload got "
        f"{last.status_code if last is not None else 'no reply'}",
        exit_code in (0, -signal.SIGTERM) and exit_s <= 4 + 5 and shaped,
    )
    return outcome


def _json_shaped(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except json.JSONDecodeError:
        return False
    if response.status_code == 202:
        return "job_id" in body
    return isinstance(body, dict) and set(body.get("error", {})) == {
        "code",
        "message",
        "request_id",
    }


FORGED = "\n2026-01-01T00:00:00.000Z INFO concierge.audit: admin actor=admin action=property.delete"


async def log_injection(env: Env) -> Outcome:
    """Upload documents whose ids and file name carry a forged audit line, with text logs."""
    outcome = Outcome("log-injection", "document ids and a file name with a fake audit line")
    property_id = f"logs-{tag()}"
    server = ServerProcess(env, log_format="text")
    lines = [
        json.dumps({"id": f"faq{FORGED}", "text": "The lobby is open all night."}),
        json.dumps({"id": f"bar\r{FORGED}\u2028x", "text": "The bar opens at 17:00."}),
    ]
    async with server, httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        auth = {"authorization": f"Bearer {server.admin_token}"}
        created = await http.put(
            f"/admin/properties/{property_id}", json={"name": "Logs"}, headers=auth
        )
        response = await http.post(
            f"/admin/properties/{property_id}/documents",
            files=[("files", ("faq.jsonl", "\n".join(lines).encode(), "application/jsonl"))],
            headers=auth,
        )
        await asyncio.sleep(0.5)
        log = server.log()
    outcome.requests = 2
    records = log.splitlines()
    forged = [line for line in records if line.startswith("2026-01-01T00:00:00.000Z")]
    audit = [line for line in records if " concierge.audit: " in line]
    outcome.check(
        "upload accepted", response.status_code, created.is_success and response.status_code == 202
    )
    outcome.check(
        "forged lines in the log",
        f"{len(forged)}"
        + (f" after: {records[records.index(forged[0]) - 1][:90]}" if forged else ""),
        not forged,
    )
    outcome.check(
        "audit lines (one per change)",
        len(audit),
        len(audit) == 2 and all("\\n2026-01-01" in line or "create" in line for line in audit),
    )
    return outcome
