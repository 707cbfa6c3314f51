"""The reliability scenarios as tests: each must pass every one of its checks."""

from __future__ import annotations

import pytest

from tests.reliability.crash import crash_safety
from tests.reliability.data import cache_races, isolation
from tests.reliability.freeze import frozen_database
from tests.reliability.harness import Env, Outcome
from tests.reliability.hostile import hostile_input
from tests.reliability.hostile_files import document_bombs, giant_text, log_injection
from tests.reliability.llm import llm_faults
from tests.reliability.load import overload, sigterm_under_load, soak
from tests.reliability.outage import database_outage
from tests.reliability.report import table
from tests.reliability.requests import session_flood, staff_scope, webhook_down
from tests.reliability.slow_clients import slow_clients

pytestmark = pytest.mark.integration


def assert_passed(outcome: Outcome) -> None:
    assert outcome.checks, "the scenario checked nothing"
    assert outcome.passed, f"{outcome.failures()}\n{table([outcome])}"


async def test_isolation_between_look_alike_properties(env: Env) -> None:
    assert_passed(await isolation(env, properties=20, questions=600))


@pytest.mark.reliability
async def test_cache_races_during_content_changes(env: Env) -> None:
    assert_passed(await cache_races(env, asks=4000, changes=8))


@pytest.mark.reliability
async def test_hostile_input_fuzzing(env: Env) -> None:
    assert_passed(await hostile_input(env, examples=2000))


@pytest.mark.reliability
async def test_overload_sheds_and_recovers(env: Env) -> None:
    assert_passed(await overload(env))


@pytest.mark.reliability
async def test_soak_has_no_growth(env: Env) -> None:
    assert_passed(await soak(env, duration=20))


@pytest.mark.reliability
async def test_sigterm_under_load_loses_nothing(env: Env) -> None:
    assert_passed(await sigterm_under_load(env))


@pytest.mark.reliability
async def test_sigkill_mid_write_and_mid_switch_leaves_a_sound_index(env: Env) -> None:
    assert_passed(await crash_safety(env))


@pytest.mark.reliability
async def test_llm_faults_fall_back_within_budget(env: Env) -> None:
    assert_passed(await llm_faults(env))


@pytest.mark.reliability
async def test_database_outage_fails_fast_and_recovers(env: Env) -> None:
    assert_passed(await database_outage(env))


@pytest.mark.reliability
async def test_slow_and_idle_clients_are_cut_off_and_descriptors_stay_bounded(env: Env) -> None:
    assert_passed(await slow_clients(env))


@pytest.mark.reliability
async def test_a_frozen_database_gives_fast_503s_and_recovers(env: Env) -> None:
    assert_passed(await frozen_database(env))


@pytest.mark.reliability
async def test_giant_unbroken_text_gives_small_answers_and_bounded_memory(env: Env) -> None:
    assert_passed(await giant_text(env))


@pytest.mark.reliability
async def test_document_bombs_are_skipped_in_bounded_time(env: Env) -> None:
    assert_passed(await document_bombs(env))


@pytest.mark.reliability
async def test_values_cannot_forge_log_lines(env: Env) -> None:
    assert_passed(await log_injection(env))


async def test_webhook_target_down_keeps_tasks_and_bounds_retries(env: Env) -> None:
    assert_passed(await webhook_down(env))


async def test_a_flood_from_one_session_is_bounded_and_makes_one_task(env: Env) -> None:
    assert_passed(await session_flood(env))


async def test_a_staff_token_of_one_property_cannot_see_another(env: Env) -> None:
    assert_passed(await staff_scope(env))
