"""Staff check a knowledge base with a batch of questions: over the admin API and with
``scripts/ingest check``; answers, sources and hand-overs, and no staff task created."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from app.answering.types import Answer, AnswerEvents, AnswerWriter, Source
from app.config import PROJECT_ROOT, Settings
from app.embedding.encoder import Encoder
from app.main import create_app
from app.services import Services
from ingestion.cli import main as ingest_main
from tests.fakes import HashingEncoder
from tests.integration.test_admin import AUTH, admin_settings
from tests.integration.test_reindex_kill import command_env
from tests.integration.test_streaming import writer_in_place
from tests.serving import app_client

pytestmark = pytest.mark.integration

QUESTIONS = [
    "What time is check-out?",
    "Is there a helipad on the roof?",
    "Please bring two extra towels to room 412",
]


def test_check_command_prints_one_table(
    settings: Settings, db_url: str, sample_loaded: list[str], tmp_path: Path
) -> None:
    (tmp_path / "questions.txt").write_text("# most asked\n" + "\n".join(QUESTIONS) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "ingestion", "-C", str(tmp_path), "check",
         "--property", "harbour-grand", "questions.txt"],
        cwd=PROJECT_ROOT, env=command_env(settings), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["#", "question", "answer", "source", "hand-over"]
    rows = lines[2:5]
    assert rows[0].startswith("1  ")
    assert "check-out" in rows[0].lower()
    assert rows[0].endswith("no")
    assert rows[1].endswith("no answer found")
    assert rows[2].rstrip().endswith("service_request")
    assert lines[5] == "3 questions: 1 answered, 2 handed over to staff, 0 failed"


# --- in process: the admin endpoint and the command -----------------------------------------

BATCH_MAX = 4


@pytest_asyncio.fixture
async def staff(
    settings: Settings, encoder: Encoder, db_url: str, sample_loaded: list[str]
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(
        admin_settings(settings, admin_batch_max_questions=BATCH_MAX),
        encoder=encoder,
        job_encoder=HashingEncoder,
    )
    async with app_client(app) as client:
        yield app, client


def batch_url(property_id: str = "harbour-grand") -> str:
    return f"/admin/properties/{property_id}/ask-batch"


def check_results(results: list[dict[str, Any]]) -> None:
    """The three questions of QUESTIONS: an answer, a hand-over, a front-desk request."""
    assert [r["question"] for r in results] == QUESTIONS
    answered, unknown, request = results
    assert "11:00" in answered["answer"]
    assert answered["sources"]
    assert any(s["cited"] for s in answered["sources"])
    assert (answered["escalate"], answered["handover"], answered["error"]) == (False, None, None)
    assert unknown["escalate"] is True
    assert unknown["handover"] == "no answer found"
    assert unknown["error"] is None
    assert request["escalate"] is True
    assert request["handover"] == "service_request"
    assert request["answer_source"] == "front_desk"
    assert request["sources"] == []


async def test_ask_batch_answers_each_question_with_sources_and_hand_overs(
    staff: tuple[FastAPI, httpx.AsyncClient], pool: asyncpg.Pool
) -> None:
    app, client = staff
    tasks_before = await pool.fetchval("SELECT count(*) FROM tasks")
    started = await pool.fetchval("SELECT clock_timestamp()")
    reply = await client.post(batch_url(), json={"questions": QUESTIONS}, headers=AUTH)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["property_id"] == "harbour-grand"
    check_results(body["results"])
    # A front-desk request in a check creates no staff task, and a question the knowledge base
    # lacks is no guest's knowledge gap.
    assert await pool.fetchval("SELECT count(*) FROM tasks") == tasks_before
    services: Services = app.state.services
    assert services.tasks is not None
    await asyncio.wait_for(services.tasks.recorder.drain(), 20)
    recorded = await pool.fetchval(
        "SELECT count(*) FROM guest_signals WHERE question = $1 AND created_at >= $2",
        QUESTIONS[1],
        started,
    )
    assert recorded == 0


@pytest.mark.parametrize(
    ("url", "body", "headers", "status", "code"),
    [
        (batch_url(), {"questions": ["Check-out?"] * (BATCH_MAX + 1)}, AUTH, 422,
         "invalid_request"),
        (batch_url(), {"questions": ["Check-out?", "   "]}, AUTH, 422, "invalid_request"),
        (batch_url(), {"questions": []}, AUTH, 422, "invalid_request"),
        (batch_url(), {"questions": ["Check-out?"]}, {}, 401, "unauthorized"),
        (batch_url("no-such-hotel"), {"questions": ["Check-out?"]}, AUTH, 404,
         "property_not_found"),
    ],
)  # fmt: skip
async def test_ask_batch_refusals_have_the_error_shape(
    staff: tuple[FastAPI, httpx.AsyncClient],
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    _, client = staff
    reply = await client.post(url, json=body, headers=headers)
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert error["code"] == code
    assert error["request_id"] == reply.headers["x-request-id"]
    if len(body["questions"]) > BATCH_MAX:
        assert f"at most {BATCH_MAX}" in error["message"]


class StuckOnPools:
    """The usual writer, except that a question about the pool never gets its answer."""

    name = "stuck-on-pools"

    def __init__(self, writer: AnswerWriter) -> None:
        self.writer = writer

    async def write(self, question: str, sources: Sequence[Source], language: str = "en") -> Answer:
        if "pool" in question.lower():
            await asyncio.Event().wait()
        return await self.writer.write(question, sources, language)

    def stream(
        self, question: str, sources: Sequence[Source], language: str = "en"
    ) -> AnswerEvents:
        return self.writer.stream(question, sources, language)


async def test_ask_batch_reports_the_questions_it_had_no_time_for(
    staff: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = staff
    services: Services = app.state.services
    bound_s = 2.0
    questions = ["What time is check-out?", "Is there a pool?", "Is there a gym?"]
    previous = services.settings
    services.settings = previous.model_copy(update={"admin_batch_timeout_s": bound_s})
    try:
        with writer_in_place(app, StuckOnPools(services.rag.writer)):
            started = time.monotonic()
            reply = await client.post(batch_url(), json={"questions": questions}, headers=AUTH)
            took = time.monotonic() - started
    finally:
        services.settings = previous
    assert reply.status_code == 200, reply.text
    first, stuck, never = reply.json()["results"]
    assert "11:00" in first["answer"]
    assert first["error"] is None
    for late in (stuck, never):
        assert late["answer"] == ""
        assert late["error"] == f"not answered in time: the batch may take {bound_s:g} s"
    # The request-wide bound, not the per-question one (RAG_REQUEST_TIMEOUT_S), ended it.
    assert took < previous.request_timeout_s
    assert took >= bound_s


@pytest.fixture
def command_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's settings come from the environment: the test database's."""
    for name, value in command_env(settings).items():
        if name.startswith("RAG_"):
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("RAG_DATABASE_URL", raising=False)
    monkeypatch.setenv("RAG_ADMIN_BATCH_MAX_QUESTIONS", str(BATCH_MAX))


def test_check_in_process_skips_blank_lines_and_answers_each_question(
    command_settings: None,
    sample_loaded: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = "\n# most asked\n   \n" + "\n\t\n".join(QUESTIONS) + "\n\n  \n"
    (tmp_path / "questions.txt").write_text(text)
    code = ingest_main(
        ["-C", str(tmp_path), "check", "--property", "harbour-grand", "--json", "questions.txt"]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    check_results(json.loads(out.out))


@pytest.mark.parametrize(
    ("text", "property_id", "code", "message"),
    [
        ("Check-out?\n" * (BATCH_MAX + 1), "harbour-grand", 2, f"at most {BATCH_MAX}"),
        ("\n  \n# nothing asked\n", "harbour-grand", 2, "no questions"),
        ("Check-out?\n", "no-such-hotel", 1, "no-such-hotel"),
    ],
)
def test_check_in_process_refuses_with_a_one_line_error(
    command_settings: None,
    sample_loaded: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    property_id: str,
    code: int,
    message: str,
) -> None:
    (tmp_path / "questions.txt").write_text(text)
    argv = ["-C", str(tmp_path), "check", "--property", property_id, "questions.txt"]
    assert ingest_main(argv) == code
    out = capsys.readouterr()
    assert out.out == ""
    (line,) = out.err.strip().splitlines()
    assert line.startswith("error: ")
    assert message in line
