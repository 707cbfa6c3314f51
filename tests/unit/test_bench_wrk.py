"""The wrk driver sends every distinct request it is given, counts cached answers and stage
timings, and reports its own CPU use."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from benchlib import cli, wrk
from benchlib.loadgen import get, post_json


def test_request_line_keeps_method_path_and_body() -> None:
    raw = post_json("/ask", orjson.dumps({"property_id": "p", "question": "Is there a gym?"}))
    assert wrk.request_line(raw) == 'POST /ask {"property_id":"p","question":"Is there a gym?"}'
    assert wrk.request_line(get("/healthz")) == "GET /healthz"
    with pytest.raises(ValueError, match="one line"):
        wrk.request_line(post_json("/ask", b'{"a":\n1}'))


@pytest.mark.skipif(not wrk.available(), reason="wrk is not installed")
async def test_wrk_drives_distinct_requests_and_reads_timings() -> None:
    seen: set[bytes] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                cached = body in seen
                seen.add(body)
                answer = orjson.dumps(
                    {
                        "cached": cached,
                        "timings_ms": {"embed": 1.5, "search": 2.0, "answer": 0.5, "total": 4.0},
                    }
                )
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(answer), answer)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    requests = [
        post_json("/ask", orjson.dumps({"property_id": "p", "question": f"q{i}"})) for i in range(5)
    ]
    try:
        result = await wrk.closed_loop(port, requests, clients=2, seconds=1, collect="timings")
    finally:
        server.close()
    assert len(seen) == 5
    assert result["ok"] > 5
    assert result["errors"] == 0
    # Five first answers computed, every later one a repeat the server calls cached.
    assert result["cached_answers"] == result["ok"] - 5
    assert result["stages"]["search"] == {"p50": 2.0, "p99": 2.0}
    assert result["generator_cpu"]["cpu_s"] >= 0
    assert 0 <= result["generator_cpu"]["core_share"] < 2


def test_markdown_none_writes_no_report() -> None:
    assert cli.report_path(cli.parse_args(["--markdown", "none"])) is None
    assert cli.report_path(cli.parse_args(["--smoke"])) is None
    assert cli.report_path(cli.parse_args(["--markdown", "out.md"])).name == "out.md"
    assert cli.report_path(cli.parse_args([])).name == "BENCHMARKS.md"
