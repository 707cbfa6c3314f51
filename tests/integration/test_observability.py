"""``/metrics`` after real questions, the widget and demo page."""

from __future__ import annotations

import json
import logging
import threading

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.config import Settings
from app.main import create_app
from app.observability.logs import BackgroundHandler
from tests.fakes import HashingEncoder
from tests.recording import ThreadRecordingStream

pytestmark = pytest.mark.integration


Samples = dict[str, dict[tuple[tuple[str, str], ...], float]]


async def _metrics(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    out: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def _ask_count(metrics: Samples, status: str) -> float:
    key = (("method", "POST"), ("route", "/ask"), ("status", status))
    return metrics.get("concierge_http_request_duration_seconds_count", {}).get(key, 0.0)


async def test_metrics_show_requests_stages_cache_batcher_and_pool(
    client: httpx.AsyncClient,
) -> None:
    before = await _metrics(client)
    question = {"property_id": "harbour-grand", "question": "Is there a gym at the hotel?"}
    assert (await client.post("/ask", json=question)).status_code == 200
    assert (await client.post("/ask", json=question)).json()["cached"] is True
    assert (
        await client.post("/ask", json={**question, "property_id": "nowhere"})
    ).status_code == 404
    await client.get("/wp-admin/setup.php")
    after = await _metrics(client)

    assert _ask_count(after, "200") - _ask_count(before, "200") == 2
    assert _ask_count(after, "404") - _ask_count(before, "404") == 1
    routes = {dict(k)["route"] for k in after["concierge_http_request_duration_seconds_count"]}
    assert "unmatched" in routes
    assert not any("wp-admin" in r for r in routes)

    def delta(name: str, labels: tuple[tuple[str, str], ...] = ()) -> float:
        return after[name].get(labels, 0.0) - before.get(name, {}).get(labels, 0.0)

    assert delta("concierge_stage_duration_seconds_count", (("stage", "embed"),)) == 1
    assert delta("concierge_stage_duration_seconds_count", (("stage", "search"),)) == 1
    assert delta("concierge_answer_cache_lookups_total", (("result", "hit"),)) == 1
    assert delta("concierge_answer_cache_lookups_total", (("result", "miss"),)) == 1
    assert delta("concierge_embedding_batch_size_count") >= 1
    assert after["concierge_embedding_queue_depth"][()] >= 0
    assert ((("quantile", "0.5"),)) in after["concierge_embedding_batch_size"]
    assert "concierge_overload_rejections_total" in after
    pool = after["concierge_db_pool_connections"]
    assert pool[(("state", "open"),)] >= 1
    assert pool[(("state", "in_use"),)] + pool[(("state", "idle"),)] == pool[(("state", "open"),)]
    turns = after["concierge_search_turns"]
    assert turns[(("state", "held"),)] == 0
    assert turns[(("state", "waiting"),)] == 0
    pool_max = after["concierge_db_pool_max_connections"][()]
    assert turns[(("state", "limit"),)] == min(Settings().searches_at_once, pool_max)


async def test_widget_is_served_with_an_etag_and_revalidates(client: httpx.AsyncClient) -> None:
    response = await client.get("/widget.js", headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-type"].startswith("text/javascript")
    assert "max-age=" in response.headers["cache-control"]
    assert "attachShadow" in response.text
    etag = response.headers["etag"]
    again = await client.get("/widget.js", headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    other = await client.get("/widget.js", headers={"if-none-match": '"stale"'})
    assert other.status_code == 200
    plain = await client.get("/widget.js", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.text == response.text  # httpx decoded the gzipped first response


async def test_demo_page_embeds_the_widget(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script src="/widget.js" data-property="harbour-grand"' in response.text


async def test_the_lines_after_the_application_shut_down_are_written_at_once(
    settings: Settings, db_url: str
) -> None:
    stream = ThreadRecordingStream()
    writers = stream.writers
    app = create_app(settings, encoder=HashingEncoder())
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, BackgroundHandler))
    assert isinstance(handler.target, logging.StreamHandler)
    handler.target.setStream(stream)
    async with app.router.lifespan_context(app):
        logging.getLogger("concierge.test").info("serving")
    # uvicorn logs "Application shutdown complete." and then re-raises SIGTERM: run directly
    # (not through ``python -m app serve``), the process ends with no exit handler run. (A
    # project logger: an in-process uvicorn started by another test may have raised the level
    # of uvicorn's own.)
    logging.getLogger("concierge.test").info("shut down")
    messages = [json.loads(line)["msg"] for line in stream.getvalue().splitlines()]
    assert "serving" in messages
    assert messages[-1] == "shut down"
    assert writers[-1] == threading.current_thread().name


async def test_a_streamed_answer_feeds_the_stage_histograms_once_computed(
    client: httpx.AsyncClient,
) -> None:
    question = {"property_id": "harbour-grand", "question": "Is the sauna open to guests?"}
    before = await _metrics(client)
    for _ in range(2):  # computed, then cached
        response = await client.post("/ask", json={**question, "stream": True})
        assert response.status_code == 200
        assert "event: done" in response.text
    after = await _metrics(client)

    def delta(stage: str) -> float:
        key = (("stage", stage),)
        name = "concierge_stage_duration_seconds_count"
        return after[name].get(key, 0.0) - before.get(name, {}).get(key, 0.0)

    assert delta("embed") == 1
    assert delta("search") == 1
    assert delta("answer") == 1
